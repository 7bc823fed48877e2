/**
 * Hostile input, continuously: fast-check generates random and mutated RESP for the client port
 * (valid commands with random arguments, inline commands, byte-level mutations of both, split
 * at random points, and plain noise) and random and mutated frames for the peer port (on
 * connections authenticated with the cluster secret, and without a handshake), sent to a live
 * 3-node cluster from several connections at once for a bounded time. Afterwards no node has
 * exited, every node answers, they agree on a leader, and a small concurrent workload is still
 * linearizable.
 *
 * The seed is printed; RAFT_KV_FUZZ_SEED=<seed> repeats the inputs (their interleaving across
 * connections depends on timing), RAFT_KV_FUZZ_SECONDS=<s> runs each phase longer (default 8).
 *
 * Peer frames that decode into well-formed messages carrying the connection's own proven
 * identity are not sent: such a frame is what an authenticated member says, and Raft trusts its
 * members (a member that lies can make the cluster diverge whatever the transport does). Every
 * other frame is sent: malformed ones, out-of-range numbers, and well-formed messages naming
 * another node than the one the connection proved to be.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeCommand } from "../../src/commands/CommandCodec.js"
import { commandTable } from "../../src/commands/table.js"
import { encodeFrame, FrameDecoder } from "../../src/node/PeerCodec.js"
import type { PeerMessage } from "../../src/node/PeerMessage.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import { EntryKind } from "../../src/raft/types.js"
import { checkLinearizable, type KvInput, type KvOperation } from "../support/linearizability.js"
import { PeerProbe } from "../support/peerProbe.js"
import { ProcessCluster } from "../support/processCluster.js"
import { redisCli } from "../support/redisCli.js"
import { RespClient, type RespValue } from "../support/respClient.js"
import { TEST_HOST } from "../support/testHost.js"

const SEED = Number(process.env.RAFT_KV_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const PHASE_MS = Number(process.env.RAFT_KV_FUZZ_SECONDS ?? 8) * 1000
const WORKERS = 6
const SECRET = "fuzzing-cluster-secret-0123456789abcdef"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-fuzz-"))
const secretFile = path.join(dir, "secret")
fs.writeFileSync(secretFile, SECRET, { mode: 0o600 })
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

// ---------------------------------------------------------------- client-port inputs

const COMMANDS = [...[...commandTable.values()].map((spec) => spec.name), "NOPE", "client", "config", "acl"]
const SUBCOMMANDS = ["GET", "SET", "LIST", "KILL", "ID", "INFO", "SETNAME", "WHOAMI", "CAT", "LOG", "HELP", "COUNT", "DOCS", "GETKEYS", "x"]

const argument: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom("k0", "k1", "k2", "k3", "*", "k*", "a*a*a*a*b", "[a-", "\\", "0", "1", "-1", "10", "1.5", "inf", "-inf", "nan",
    "9223372036854775807", "-9223372036854775808", "99999999999999999999", "EX", "PX", "NX", "XX", "GET", "KEEPTTL", "MATCH", "COUNT", "TYPE", "ASYNC", "").map((s) => Buffer.from(s)),
  fc.constantFrom(...SUBCOMMANDS).map((s) => Buffer.from(s)),
  fc.string({ maxLength: 12 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes))
)

const command: fc.Arbitrary<Array<Buffer>> = fc.tuple(fc.constantFrom(...COMMANDS), fc.array(argument, { maxLength: 7 })).map(([name, args]) => [Buffer.from(name), ...args])

const resp = (argv: ReadonlyArray<Buffer>): Buffer =>
  Buffer.concat([Buffer.from(`*${argv.length}\r\n`), ...argv.flatMap((arg) => [Buffer.from(`$${arg.length}\r\n`), arg, Buffer.from("\r\n")])])

const inline = (argv: ReadonlyArray<Buffer>): Buffer => Buffer.concat([Buffer.from(argv.map((arg) => arg.toString("latin1").replace(/[\r\n]/g, "")).join(" "), "latin1"), Buffer.from("\r\n")])

type Mutation = readonly [kind: "flip" | "insert" | "delete" | "truncate", position: number, byte: number]
const mutation: fc.Arbitrary<Mutation> = fc.tuple(fc.constantFrom("flip" as const, "insert" as const, "delete" as const, "truncate" as const), fc.nat(), fc.integer({ min: 0, max: 255 }))

const mutate = (bytes: Buffer, mutations: ReadonlyArray<Mutation>): Buffer => {
  let out = Buffer.from(bytes)
  for (const [kind, position, byte] of mutations) {
    if (out.length === 0) break
    const at = position % out.length
    if (kind === "flip") out[at] = byte
    else if (kind === "insert") out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)])
    else if (kind === "delete") out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)])
    else out = out.subarray(0, at)
  }
  return out
}

/** One client connection's bytes: a few requests, some mutated, then cut into writes at random points. */
const clientSession = fc.record({
  node: fc.integer({ min: 1, max: 3 }),
  requests: fc.array(
    fc.oneof(
      { weight: 4, arbitrary: command.map(resp) },
      { weight: 1, arbitrary: command.map(inline) },
      { weight: 3, arbitrary: fc.tuple(command.map(resp), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([bytes, m]) => mutate(bytes, m)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) }
    ),
    { minLength: 1, maxLength: 8 }
  ),
  cuts: fc.array(fc.nat(), { maxLength: 3 })
})

// ---------------------------------------------------------------- peer-port inputs

const peerMessage = (from: number, to: number, term: number): fc.Arbitrary<PeerMessage> => {
  const n = fc.nat({ max: 1000 })
  const entry = fc.record({ index: n, term: n, kind: fc.constant(EntryKind.Normal), data: fc.constant(encodeCommand({ origin: from, seq: 1, time: 0, payload: { kind: "command", db: 0, argv: [Buffer.from("PING")] } })) })
  return fc.oneof(
    fc.record({ type: fc.constant("Heartbeat" as const), from: fc.constant(from), to: fc.constant(to), term: fc.constant(term), commit: n, context: n }),
    fc.record({ type: fc.constantFrom("Vote" as const, "PreVote" as const), from: fc.constant(from), to: fc.constant(to), term: fc.constant(term), lastLogIndex: n, lastLogTerm: n }),
    fc.record({ type: fc.constant("AppendResp" as const), from: fc.constant(from), to: fc.constant(to), term: fc.constant(term), index: n, reject: fc.boolean(), hint: n }),
    fc.record({ type: fc.constant("Append" as const), from: fc.constant(from), to: fc.constant(to), term: fc.constant(term), prevIndex: n, prevTerm: n, commit: n, entries: fc.array(entry, { maxLength: 3 }) }),
    fc.record({ type: fc.constant("ReadIndex" as const), from: fc.constant(from), to: fc.constant(to), term: fc.constant(term), requestId: n })
  )
}

/** A peer connection: as node `as` to node `target`, frames (mutated or not) after the handshake, or noise without one. */
const peerSession = fc.record({
  target: fc.integer({ min: 1, max: 3 }),
  as: fc.integer({ min: 1, max: 3 }),
  handshake: fc.boolean(),
  claimed: fc.constantFrom(1, 2, 3, 7),
  frames: fc.array(fc.tuple(fc.boolean(), fc.array(mutation, { maxLength: 5 })), { minLength: 1, maxLength: 4 }),
  noise: fc.uint8Array({ maxLength: 200 })
})

/**
 * Whether any complete frame in `stream` (everything a connection sends, in order) decodes into a
 * message with the connection's own proven identity: what a trusted member says. Frames are
 * checked one by one, as the node decodes them, up to the first malformed one (after which the
 * node closes the connection) or the incomplete tail (never decoded).
 */
const isTrustedSpeech = (stream: Buffer, from: number, to: number): boolean => {
  let offset = 0
  while (offset + 4 <= stream.length) {
    const end = offset + 4 + stream.readUInt32BE(offset)
    if (end > stream.length) return false
    try {
      if (new FrameDecoder().push(stream.subarray(offset, end)).some((m) => m.from === from && m.to === to)) return true
    } catch {
      return false
    }
    offset = end
  }
  return false
}

// ---------------------------------------------------------------- harness

const sendAndDrain = (port: number, writes: ReadonlyArray<Buffer>): Promise<number> =>
  new Promise((resolve) => {
    let received = 0
    const socket = net.connect({ host: TEST_HOST, port })
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(received)
    }
    const timer = setTimeout(done, 300)
    socket.on("error", done)
    socket.on("close", done)
    socket.on("data", (chunk) => (received += chunk.length))
    socket.on("connect", () => {
      for (const bytes of writes) socket.write(bytes)
    })
  })

const cutAt = (bytes: Buffer, cuts: ReadonlyArray<number>): Array<Buffer> => {
  const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % bytes.length)))].sort((a, b) => a - b)
  const pieces: Array<Buffer> = []
  let from = 0
  for (const point of points) {
    pieces.push(bytes.subarray(from, point))
    from = point
  }
  pieces.push(bytes.subarray(from))
  return pieces.filter((piece) => piece.length > 0)
}

/** Run `worker` on WORKERS connections at once until `ms` have passed; each gets fresh inputs from the seed. */
const forAWhile = async <T>(arbitrary: fc.Arbitrary<T>, seed: number, ms: number, worker: (input: T) => Promise<void>): Promise<number> => {
  const deadline = Date.now() + ms
  let batch = 0
  let runs = 0
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (Date.now() < deadline) {
        const inputs = fc.sample(arbitrary, { seed: seed + batch++, numRuns: 10 })
        for (const input of inputs) {
          if (Date.now() >= deadline) break
          await worker(input)
          runs++
        }
      }
    })
  )
  return runs
}

/** A small concurrent workload on every node; its history must be linearizable. */
const linearizableWorkload = async (cluster: ProcessCluster, seed: number, prefix: string) => {
  const random = seededRandom(seed)
  const clients = await Promise.all(cluster.ids.flatMap((id) => [RespClient.connect(cluster.clientPort(id)), RespClient.connect(cluster.clientPort(id))]))
  const history: Array<KvOperation> = []
  try {
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < 40; i++) {
          // Fresh keys (the checker starts from absent keys).
          const key = `${prefix}:${Math.floor(random() * 2)}`
          const r = random()
          const input: KvInput = r < 0.4 ? { op: "get" } : r < 0.7 ? { op: "set", value: `${c}-${i}` } : r < 0.85 ? { op: "del" } : { op: "incr" }
          const argv = input.op === "get" ? ["GET", key] : input.op === "set" ? ["SET", key, input.value] : input.op === "del" ? ["DEL", key] : ["INCR", key]
          const called = performance.now()
          const reply: RespValue = await client.call(...argv)
          const returned = performance.now()
          if (reply instanceof Error) {
            if (input.op !== "get") history.push({ key, input, called, returned: Number.POSITIVE_INFINITY })
            continue
          }
          const output = input.op === "set" ? "OK" : reply === null ? null : typeof reply === "number" ? reply : String(reply)
          history.push({ key, input, output, called, returned })
        }
      })
    )
  } finally {
    for (const client of clients) client.close()
  }
  return history
}

describe(`hostile input (seed ${SEED})`, () => {
  const cluster = new ProcessCluster({ basePort: 32000, extraArgs: ["--cluster-secret-file", secretFile] })
  beforeAll(async () => {
    console.log(`fuzz seed ${SEED} (repeat with RAFT_KV_FUZZ_SEED=${SEED}); ${PHASE_MS / 1000}s per phase`)
    await cluster.startAll()
  }, 60_000)
  afterAll(() => cluster.shutdown())

  const healthy = async (phase: string) => {
    expect([...cluster.exits.entries()]).toEqual([])
    for (const id of cluster.ids) expect(await redisCli(cluster.clientPort(id), "PING")).toBe("PONG")
    await cluster.waitForLeader()
    const history = await linearizableWorkload(cluster, SEED, `lin:${phase}`)
    expect(history.filter((op) => op.returned !== Number.POSITIVE_INFINITY).length).toBeGreaterThan(100)
    expect(checkLinearizable(history)).toEqual({ linearizable: true })
  }

  it("random and mutated RESP on the client port: no node exits, every node answers, histories stay linearizable", async () => {
    await cluster.waitForLeader()
    let answered = 0
    const runs = await forAWhile(clientSession, SEED, PHASE_MS, async (session) => {
      const bytes = Buffer.concat(session.requests)
      if ((await sendAndDrain(cluster.clientPort(session.node), cutAt(bytes, session.cuts))) > 0) answered++
    })
    console.log(`client port: ${runs} connections, ${answered} answered`)
    // The inputs reached the command layer: most connections got some reply.
    expect(runs).toBeGreaterThan(50)
    expect(answered).toBeGreaterThan(runs / 2)
    await healthy("client")
  }, PHASE_MS + 90_000)

  it("random and mutated frames on the peer port, authenticated and not: no node exits, the cluster stays available and linearizable", async () => {
    await cluster.waitForLeader()
    let sent = 0
    let trusted = 0
    const runs = await forAWhile(peerSession, SEED + 1, PHASE_MS, async (session) => {
      const port = cluster.peerPort(session.target)
      const probe = await PeerProbe.tcp(port).catch(() => undefined)
      if (probe === undefined) return
      try {
        if (!session.handshake) {
          probe.write(Buffer.from(session.noise))
          sent++
          return
        }
        const as = session.as === session.target ? (session.target % 3) + 1 : session.as
        if ((await probe.handshake(as, session.target, Buffer.from(SECRET))) !== "accepted") return
        const bases = fc.sample(peerMessage(session.claimed, session.target, 1 + (session.noise[0] ?? 0)), { seed: SEED + session.noise.length, numRuns: session.frames.length })
        let stream = Buffer.alloc(0)
        for (let i = 0; i < session.frames.length; i++) {
          const [raw, mutations] = session.frames[i]
          const frame = raw ? Buffer.from(session.noise) : mutate(encodeFrame([bases[i]]), mutations)
          const next = Buffer.concat([stream, frame])
          if (isTrustedSpeech(next, as, session.target)) trusted++
          else stream = next
        }
        if (stream.length === 0) return
        probe.write(stream)
        sent++
        await Promise.race([probe.closed, new Promise((resolve) => setTimeout(resolve, 100))])
      } finally {
        probe.close()
      }
    })
    console.log(`peer port: ${runs} connections, ${sent} sent, ${trusted} skipped as a member's own well-formed messages`)
    expect(runs).toBeGreaterThan(50)
    expect(sent).toBeGreaterThan(trusted)
    await healthy("peer")
    // The nodes refused what they were sent, with log lines.
    expect(cluster.ids.some((id) => /WARN.*(refused|dropped) peer connection from/.test(cluster.logs(id)))).toBe(true)
  }, PHASE_MS + 90_000)
})
