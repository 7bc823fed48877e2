/**
 * The peer port in real processes. Unauthenticated, a forged Append from a raw TCP client makes a
 * follower's data diverge (the control, which also proves the forged frame is well-formed). With
 * a cluster secret or mutual TLS the cluster works, and the same frame (without a handshake, with
 * a wrong secret, with a certificate from another CA) is refused, logged, and changes nothing; an
 * authenticated frame with a term near 2^53 is refused and the cluster stays available.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeCommand } from "../../src/commands/CommandCodec.js"
import { encodeFrame } from "../../src/node/PeerCodec.js"
import type { PeerMessage } from "../../src/node/PeerMessage.js"
import { makeCa, makeCert } from "../support/peerCerts.js"
import { PeerProbe } from "../support/peerProbe.js"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { TEST_HOST } from "../support/testHost.js"
import { waitFor } from "../support/waitFor.js"

const SECRET = "a-shared-secret-of-the-test-cluster-0123456789"
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-peer-security-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A follower whose log is level with the leader's, and what it reports. */
const quietFollower = async (cluster: ProcessCluster, leader: number) => {
  const follower = cluster.ids.find((id) => id !== leader)!
  let state: Record<string, string> = {}
  await waitFor(
    async () => {
      state = await info(cluster.clientPort(follower))
      const leaderState = await info(cluster.clientPort(leader))
      return state.raft_last_log_index === leaderState.raft_last_log_index && state.raft_applied_index === state.raft_last_log_index
    },
    { timeoutMs: 10_000, description: "a follower level with the leader" }
  )
  return { follower, term: Number(state.raft_term), last: Number(state.raft_last_log_index) }
}

/** An Append "from the leader" that, if the follower took it, would apply SET forged yes there. */
const forgedAppend = (leader: number, follower: number, term: number, last: number): Buffer =>
  encodeFrame([
    {
      type: "Append", from: leader, to: follower, term, prevIndex: last, prevTerm: term, commit: last + 1,
      entries: [{ index: last + 1, term, kind: 0, data: encodeCommand({ origin: leader, seq: 2 ** 52, time: Date.now(), payload: { kind: "command", db: 0, argv: ["SET", "forged", "yes"].map((s) => Buffer.from(s)) } }) }]
    }
  ])

const exists = (cluster: ProcessCluster, id: number, key: string) => redisCli(cluster.clientPort(id), "EXISTS", key)

/** The node logged one line refusing a connection, with the remote address and `reason`. */
const refusalLogged = (cluster: ProcessCluster, id: number, reason: RegExp) =>
  waitFor(
    () => new RegExp(`WARN.*(refused|dropped) peer connection from \\d+\\.\\d+\\.\\d+\\.\\d+:\\d+: ${reason.source}`).test(cluster.logs(id)),
    { timeoutMs: 10_000, description: () => `node ${id} to log a refusal matching ${reason}\n${cluster.logs(id)}` }
  )

describe("an unauthenticated peer port (the control)", () => {
  const cluster = new ProcessCluster({ basePort: 26000 })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("warns at start, and a forged Append from anyone makes a follower's data diverge", async () => {
    for (const id of cluster.ids) expect(cluster.logs(id)).toMatch(/WARN.*the peer port .* is unauthenticated/)
    const leader = await cluster.waitForLeader()
    expect(await redisCli(cluster.clientPort(leader), "SET", "k", "v")).toBe("OK")
    const { follower, term, last } = await quietFollower(cluster, leader)

    const probe = await PeerProbe.tcp(cluster.peerPort(follower))
    expect(await probe.handshake(leader, follower, undefined)).toBe("accepted") // an id is claimed, not proven
    probe.write(forgedAppend(leader, follower, term, last))
    await waitFor(async () => (await exists(cluster, follower, "forged")) === "1", { timeoutMs: 10_000, description: "the forged write applied" })
    expect(await exists(cluster, leader, "forged")).toBe("0")
    probe.close()
  }, 60_000)
})

describe("a cluster secret", () => {
  const secretFile = path.join(dir, "cluster-secret")
  fs.writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 })
  // Nodes 1 and 2 read it from a file, node 3 from the environment.
  let node3Secret = SECRET
  const cluster = new ProcessCluster({
    basePort: 26200,
    argsFor: (id) => (id < 3 ? ["--cluster-secret-file", secretFile] : []),
    envFor: (id): Record<string, string> => (id === 3 ? { RAFT_KV_CLUSTER_SECRET: node3Secret } : {})
  })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("replicates writes between nodes that prove the secret", async () => {
    for (const id of cluster.ids) {
      expect(cluster.logs(id)).toMatch(/INFO.*peer connections on .* are authenticated with a cluster secret \(HMAC-SHA256 handshake\)/)
      expect(cluster.logs(id)).not.toContain("unauthenticated")
    }
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!
    expect(await redisCli(cluster.clientPort(follower), "SET", "k", "v")).toBe("OK")
    for (const id of cluster.ids) expect(await redisCli(cluster.clientPort(id), "GET", "k")).toBe("v")
  })

  it("refuses a forged Append sent without a handshake, and with a wrong secret; the data does not change", async () => {
    const leader = await cluster.waitForLeader()
    const { follower, term, last } = await quietFollower(cluster, leader)
    const forged = forgedAppend(leader, follower, term, last)

    const raw = await PeerProbe.tcp(cluster.peerPort(follower))
    raw.write(forged)
    await raw.closed
    await refusalLogged(cluster, follower, /not a raft-kv peer handshake/)

    const wrong = await PeerProbe.tcp(cluster.peerPort(follower))
    expect(await wrong.handshake(leader, follower, Buffer.from("a-guessed-secret-that-is-wrong"))).toBe("refused")
    wrong.write(forged)
    await wrong.closed
    await refusalLogged(cluster, follower, new RegExp(`node ${leader}'s proof does not match: it has a different cluster secret`))

    const none = await PeerProbe.tcp(cluster.peerPort(follower))
    expect(await none.handshake(leader, follower, undefined)).toBe("refused")
    await refusalLogged(cluster, follower, /the peer has no cluster secret \(this node requires one\)/)

    for (const id of cluster.ids) expect(await exists(cluster, id, "forged")).toBe("0")
    expect(Number((await info(cluster.clientPort(follower))).raft_term)).toBe(term)
    expect(await redisCli(cluster.clientPort(follower), "SET", "after", "forgeries")).toBe("OK")
  })

  it("refuses an authenticated frame with a term near 2^53, or from another node than it proved to be; the cluster stays available", async () => {
    const leader = await cluster.waitForLeader()
    const { follower, term } = await quietFollower(cluster, leader)
    const other = cluster.ids.find((id) => id !== leader && id !== follower)!

    const huge = await PeerProbe.tcp(cluster.peerPort(follower))
    expect(await huge.handshake(leader, follower, Buffer.from(SECRET))).toBe("accepted")
    const poison: PeerMessage = { type: "Heartbeat", from: leader, to: follower, term: Number.MAX_SAFE_INTEGER, commit: 0, context: 0 }
    huge.write(encodeFrame([poison]))
    await huge.closed
    await refusalLogged(cluster, follower, new RegExp(`Heartbeat from node ${leader} refused: term 9007199254740991 is above 9007199254740989 \\(it could not be incremented safely\\)`))

    const spoof = await PeerProbe.tcp(cluster.peerPort(follower))
    expect(await spoof.handshake(other, follower, Buffer.from(SECRET))).toBe("accepted")
    spoof.write(encodeFrame([{ type: "Heartbeat", from: leader, to: follower, term, commit: 0, context: 0 }]))
    await spoof.closed
    await refusalLogged(cluster, follower, new RegExp(`a Heartbeat from node ${leader} to node ${follower} on node ${other}'s connection`))

    // No node adopted the term; the same leader serves writes and reads everywhere.
    expect(await cluster.waitForLeader()).toBe(leader)
    for (const id of cluster.ids) expect(Number((await info(cluster.clientPort(id))).raft_term)).toBe(term)
    expect(await redisCli(cluster.clientPort(follower), "SET", "still", "available")).toBe("OK")
    for (const id of cluster.ids) expect(await redisCli(cluster.clientPort(id), "GET", "still")).toBe("available")
  })

  it("keeps out a node restarted with a different secret (both sides log why) until it has the right one", async () => {
    await cluster.stop(3)
    node3Secret = "the-secret-of-some-other-cluster"
    await cluster.start(3)
    const others = [1, 2]
    // Each side's link checks the other's proof first: both log the reason, once.
    const why = (id: number, peer: number) =>
      waitFor(() => new RegExp(`WARN.*cannot connect to peer ${peer} at .*: the peer's proof does not match: it has a different cluster secret`).test(cluster.logs(id)), {
        timeoutMs: 10_000,
        description: () => `node ${id} to log why it cannot connect to node ${peer}\n${cluster.logs(id)}`
      })
    await why(3, 1)
    await why(1, 3)
    // Node 3 hangs up on node 1's listener before proving anything.
    await refusalLogged(cluster, 1, /connection closed by the other side during the handshake/)
    const leader = await waitForLeaderAmong(cluster, others)
    expect(await redisCli(cluster.clientPort(leader), "SET", "while", "locked-out")).toBe("OK")
    expect(Number((await info(cluster.clientPort(3))).raft_commit_index)).toBeLessThan(Number((await info(cluster.clientPort(leader))).raft_commit_index))

    await cluster.stop(3)
    node3Secret = SECRET
    await cluster.start(3)
    await waitFor(async () => (await redisCli(cluster.clientPort(3), "GET", "while")) === "locked-out", { timeoutMs: 15_000, description: "node 3 to catch up" })
    // Two restarts, each allowed 45 s to answer on a busy machine: a guard against a hang, not a measure.
  }, 120_000)
})

/** The leader that the nodes in `ids` agree on (others may be locked out). */
const waitForLeaderAmong = async (cluster: ProcessCluster, ids: ReadonlyArray<number>): Promise<number> => {
  let leader = 0
  await waitFor(
    async () => {
      const views = await Promise.all(ids.map(async (id) => Number((await info(cluster.clientPort(id))).raft_leader_id)))
      leader = views[0]
      return leader > 0 && views.every((view) => view === leader) && ids.includes(leader)
    },
    { timeoutMs: 15_000, description: `a leader among nodes ${ids.join(", ")}` }
  )
  return leader
}

describe.each([
  { name: "mutual TLS", basePort: 26400, secret: false },
  { name: "mutual TLS and a cluster secret", basePort: 26500, secret: true }
])("$name", ({ basePort, secret }) => {
  const certs = path.join(dir, `certs-${basePort}`)
  fs.mkdirSync(certs)
  makeCa(certs, "ca")
  for (const id of [1, 2, 3]) makeCert(certs, "ca", `node${id}`, TEST_HOST)
  makeCa(certs, "rogue-ca")
  makeCert(certs, "rogue-ca", "rogue", TEST_HOST)
  const file = (name: string) => path.join(certs, name)
  const read = (name: string) => fs.readFileSync(file(name))

  const cluster = new ProcessCluster({
    basePort,
    argsFor: (id) => ["--peer-tls-cert-file", file(`node${id}.crt`), "--peer-tls-key-file", file(`node${id}.key`), "--peer-tls-ca-cert-file", file("ca.crt")],
    envFor: (): Record<string, string> => (secret ? { RAFT_KV_CLUSTER_SECRET: SECRET } : {})
  })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("replicates writes between nodes with certificates from the cluster CA", async () => {
    const how = secret ? "a cluster secret \\(HMAC-SHA256 handshake\\) and mutual TLS" : "mutual TLS"
    for (const id of cluster.ids) expect(cluster.logs(id)).toMatch(new RegExp(`INFO.*peer connections on .* are authenticated with ${how}`))
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!
    expect(await redisCli(cluster.clientPort(follower), "SET", "k", "v")).toBe("OK")
    for (const id of cluster.ids) expect(await redisCli(cluster.clientPort(id), "GET", "k")).toBe("v")
  })

  it("refuses a peer with a certificate from another CA, without one, or without TLS; the data does not change", async () => {
    const leader = await cluster.waitForLeader()
    const { follower, term, last } = await quietFollower(cluster, leader)
    const forged = forgedAppend(leader, follower, term, last)
    const port = cluster.peerPort(follower)

    // TLS 1.3: the client finishes its side first, then the server refuses the certificate.
    const rogue = await PeerProbe.tls(port, { cert: read("rogue.crt"), key: read("rogue.key"), ca: read("ca.crt") }).catch(() => undefined)
    rogue?.write(forged)
    await rogue?.closed
    await refusalLogged(cluster, follower, /client certificate refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/)

    const anonymous = await PeerProbe.tls(port, { ca: read("ca.crt") }).catch(() => undefined)
    anonymous?.write(forged)
    await anonymous?.closed
    await refusalLogged(cluster, follower, /no client certificate/)

    const plain = await PeerProbe.tcp(port)
    plain.write(forged)
    await plain.closed
    await refusalLogged(cluster, follower, /TLS handshake failed: wrong version number/)

    if (secret) {
      // A member's certificate alone is not enough when the cluster also has a secret.
      const member = await PeerProbe.tls(port, { cert: read(`node${leader}.crt`), key: read(`node${leader}.key`), ca: read("ca.crt") })
      expect(await member.handshake(leader, follower, Buffer.from("not-the-secret-of-this-cluster"))).toBe("refused")
      await refusalLogged(cluster, follower, new RegExp(`node ${leader}'s proof does not match`))
    }

    for (const id of cluster.ids) expect(await exists(cluster, id, "forged")).toBe("0")
    expect(await redisCli(cluster.clientPort(follower), "SET", "after", "forgeries")).toBe("OK")
  })
})
