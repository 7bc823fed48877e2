/**
 * The node layer's membership pieces, one by one: which configuration a node starts from and how
 * it knows it was removed (Membership.ts), its address book, snapshot files carrying the
 * configuration (and reading files written before they did), the discovery answer and admin
 * messages on the wire, the handshake's discovery mode, and the --join flags.
 */
import { Effect, Either, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { parseArgs } from "../../src/cli/Config.js"
import { decodeAdminCommand, decodeAdminOutcome, encodeAdminCommand } from "../../src/node/Admin.js"
import {
  addressBook,
  decodeCommittedConfiguration,
  encodeCommittedConfiguration,
  formatHostPort,
  initialConfiguration,
  memberAsOfAtStart,
  parseHostPort,
  provesRemoval
} from "../../src/node/Membership.js"
import { clientHandshake, serverHandshake, type HandshakeChannel } from "../../src/node/PeerHandshake.js"
import { decodePayload, encodeHeader, FRAME_HEADER, readFrameHeader } from "../../src/node/SnapshotFile.js"
import { SocketClosed } from "../../src/node/SocketInput.js"
import { crc32c } from "../../src/node/WalFormat.js"
import { EMPTY_CONFIGURATION, encodeConfiguration, makeConfiguration, votersConfiguration } from "../../src/raft/Configuration.js"
import { EntryKind } from "../../src/raft/types.js"
import { configFor } from "../support/inProcessCluster.js"

const voters = (...ids: Array<number>) => votersConfiguration(ids, (id) => `10.0.0.${id}:12379`)
const configEntry = (index: number, configuration: ReturnType<typeof voters>) => ({ index, term: 1, kind: EntryKind.Config, data: encodeConfiguration(configuration) })
const normalEntry = (index: number) => ({ index, term: 1, kind: EntryKind.Normal, data: new Uint8Array(0) })

describe("addresses", () => {
  it("parses host:port, http://host:port and [v6]:port, and formats them back", () => {
    expect(parseHostPort("10.0.0.1:12379")).toEqual({ host: "10.0.0.1", port: 12379 })
    expect(parseHostPort("http://node-1.example:12379/")).toEqual({ host: "node-1.example", port: 12379 })
    expect(parseHostPort("[::1]:7")).toEqual({ host: "::1", port: 7 })
    for (const bad of ["", "host", "host:", "host:0", "host:65536", "::1:7", "a:b:c"]) expect(parseHostPort(bad)).toBeUndefined()
    expect(formatHostPort({ host: "::1", port: 7 })).toBe("[::1]:7")
    expect(formatHostPort({ host: "h", port: 7 })).toBe("h:7")
  })
})

describe("the configuration a node starts from", () => {
  it("is the --cluster list, every node a voter, or nothing for a node started with --join", () => {
    const config = configFor(2, 3, "/tmp/x")
    expect(initialConfiguration(config)).toEqual(votersConfiguration([1, 2, 3], (id) => `127.0.0.1:${id}`))
    expect(initialConfiguration({ ...config, peers: [], join: { host: "h", port: 1 }, peerAddress: { host: "h", port: 2 } })).toEqual(EMPTY_CONFIGURATION)
  })
})

describe("knowing that this node was removed", () => {
  it("memberAsOfAtStart: the highest committed index at which the recovered state has this node as a member", () => {
    // A bootstrapped member with an empty log: a member as of index 0.
    expect(memberAsOfAtStart(2, voters(1, 2, 3), 0, [], 0)).toBe(0)
    // Still a member at the commit index.
    expect(memberAsOfAtStart(2, voters(1, 2, 3), 0, [normalEntry(1), normalEntry(2)], 2)).toBe(2)
    // Removed at index 3 (committed): a member as of index 2.
    const removed = [normalEntry(1), normalEntry(2), configEntry(3, voters(1, 3)), normalEntry(4)]
    expect(memberAsOfAtStart(2, voters(1, 2, 3), 0, removed, 4)).toBe(2)
    // The removal is in the log but not committed: still a member as of the commit index.
    expect(memberAsOfAtStart(2, voters(1, 2, 3), 0, removed, 2)).toBe(2)
    // Started with --join and never added: never a member.
    expect(memberAsOfAtStart(4, EMPTY_CONFIGURATION, 0, [normalEntry(1), configEntry(2, voters(1, 2, 3, 5))], 2)).toBeUndefined()
    // Added at 5 (a snapshot at 4 as base).
    expect(memberAsOfAtStart(4, voters(1, 2, 3), 4, [configEntry(5, voters(1, 2, 3, 4)), normalEntry(6)], 6)).toBe(6)
  })

  it("provesRemoval: a later committed configuration without this node, once it was a member", () => {
    expect(provesRemoval(2, 10, { index: 11, configuration: voters(1, 3) })).toBe(true)
    // Not later: a member lagging behind the change that added this node says nothing.
    expect(provesRemoval(2, 10, { index: 10, configuration: voters(1, 3) })).toBe(false)
    expect(provesRemoval(2, 10, { index: 5, configuration: voters(1, 3) })).toBe(false)
    // Still a member there.
    expect(provesRemoval(2, 10, { index: 20, configuration: voters(1, 2, 3) })).toBe(false)
    // Never a member (waiting to be added): nothing it sees removes it.
    expect(provesRemoval(4, undefined, { index: 20, configuration: voters(1, 2, 3) })).toBe(false)
  })
})

describe("the address book", () => {
  it("holds the members in effect and committed, and those of a newer configuration a member reported", () => {
    const ids = (book: ReturnType<typeof addressBook>) => book.map((m) => m.id)
    expect(ids(addressBook(1, voters(1, 2, 3), voters(1, 2, 3), undefined))).toEqual([1, 2, 3])
    // A leader removing itself: in effect {2, 3}, committed {1, 2, 3}: the followers still hear it.
    expect(ids(addressBook(2, voters(2, 3), voters(1, 2, 3), undefined))).toEqual([1, 2, 3])
    // Node 4 joining: what a member reported (the caller passes it while its log is behind it).
    expect(ids(addressBook(4, EMPTY_CONFIGURATION, EMPTY_CONFIGURATION, voters(1, 2, 3)))).toEqual([1, 2, 3])
    // Node 3, back after an outage during which 5 was added and became leader: it must reach 5.
    expect(ids(addressBook(3, voters(1, 2, 3), voters(1, 2, 3), voters(2, 3, 5)))).toEqual([1, 2, 3, 5])
  })
})

describe("the discovery answer", () => {
  it("round-trips the committed index and configuration, and refuses anything else", () => {
    const committed = { index: 123, configuration: makeConfiguration([{ id: 1, role: "voter", address: "h:1" }, { id: 4, role: "learner", address: "[::1]:9" }]) }
    const wire = encodeCommittedConfiguration(committed)
    expect(wire.readUInt32BE(0)).toBe(wire.length - 4)
    expect(decodeCommittedConfiguration(wire.subarray(4))).toEqual(committed)
    expect(decodeCommittedConfiguration(wire.subarray(4, 10))).toBeUndefined()
    expect(decodeCommittedConfiguration(Buffer.concat([wire.subarray(4), Buffer.of(0)]))).toBeUndefined()
    const negative = Buffer.from(wire.subarray(4))
    negative.writeDoubleBE(-1, 0)
    expect(decodeCommittedConfiguration(negative)).toBeUndefined()
  })
})

describe("admin messages", () => {
  it("decode only what their Schema allows", () => {
    expect(decodeAdminCommand(encodeAdminCommand({ kind: "transfer", target: 3 }))).toEqual({ kind: "transfer", target: 3 })
    const json = (value: unknown) => Buffer.from(JSON.stringify(value))
    expect(decodeAdminCommand(json({ kind: "change", change: { type: "remove", id: 0 } }))).toBeUndefined()
    expect(decodeAdminCommand(json({ kind: "change", change: { type: "explode", id: 2 } }))).toBeUndefined()
    expect(decodeAdminCommand(Buffer.from("{not json"))).toBeUndefined()
    expect(decodeAdminOutcome(json({ kind: "error", message: "ERR x" }))).toEqual({ kind: "error", message: "ERR x" })
    expect(decodeAdminOutcome(json({ kind: "nodes", leader: 1, rows: [{ id: 1, suffrage: "boss", peerAddress: "h:1", match: 1, lastContactMs: 1 }] }))).toBeUndefined()
  })
})

describe("snapshot files", () => {
  const decodeHeader = (frame: Buffer) => {
    const { length, crc } = readFrameHeader(frame.subarray(0, FRAME_HEADER))
    return decodePayload(frame.subarray(FRAME_HEADER, FRAME_HEADER + length), crc)
  }

  it("carry the configuration as of their index", () => {
    const configuration = makeConfiguration([{ id: 1, role: "voter", address: "h:1" }, { id: 5, role: "learner", address: "h:5" }])
    const meta = { index: 77, term: 3, sessions: [[1, 2 ** 40] as const, [5, 9] as const], configuration }
    expect(decodeHeader(encodeHeader(meta))).toEqual({ type: "header", meta: { ...meta, sessions: [[1, 2 ** 40], [5, 9]] } })
  })

  it("written before they carried it still read, with no configuration (the node falls back on --cluster)", () => {
    const old = encodeHeader({ index: 77, term: 3, sessions: [[1, 4]] })
    expect(decodeHeader(old)).toEqual({ type: "header", meta: { index: 77, term: 3, sessions: [[1, 4]] } })
  })

  it("refuse a header whose configuration is malformed", () => {
    const good = encodeHeader({ index: 7, term: 1, sessions: [], configuration: voters(1) })
    const payload = Buffer.from(good.subarray(FRAME_HEADER))
    // The member's role byte (u16 id | u8 role | u16 length | address): 9 is no role.
    payload[payload.length - "10.0.0.1:12379".length - 3] = 9
    expect(decodePayload(payload, crc32c(payload))).toBe("invalid configuration in the header")
    const truncated = payload.subarray(0, payload.length - 3)
    expect(decodePayload(truncated, crc32c(truncated))).toBe("invalid header")
  })
})

describe("the handshake's discovery mode", () => {
  /** Two channels joined back to back. */
  const pipe = () => {
    const make = () => {
      let buffered = Buffer.alloc(0)
      let wake: (() => void) | undefined
      const channel = (peer: { push: (b: Buffer) => void }): HandshakeChannel => ({
        readExactly: (n) =>
          Effect.async<Buffer, SocketClosed>((resume) => {
            const attempt = () => {
              if (buffered.length < n) return false
              const out = buffered.subarray(0, n)
              buffered = buffered.subarray(n)
              resume(Effect.succeed(Buffer.from(out)))
              return true
            }
            if (!attempt()) wake = () => void attempt()
          }),
        drainBuffered: () => {
          const out = buffered
          buffered = Buffer.alloc(0)
          return out.length > 0 ? [out] : []
        },
        write: (bytes) => peer.push(bytes)
      })
      return {
        push: (bytes: Buffer) => {
          buffered = Buffer.concat([buffered, bytes])
          wake?.()
        },
        channel
      }
    }
    const a = make()
    const b = make()
    return { client: a.channel(b), server: b.channel(a) }
  }

  it("lets a node that knows no member ids ask any member, with the secret proven both ways", async () => {
    const secret = Buffer.from("a cluster secret of enough bytes")
    const { client, server } = pipe()
    const [serverId, accepted] = await Effect.runPromise(
      Effect.all([clientHandshake(client, { self: 4, peer: 0, secret }), serverHandshake(server, { self: 2, peers: new Set([1, 3]), secret })], { concurrency: 2 })
    )
    expect(serverId).toBe(2)
    expect(accepted).toEqual({ peer: 4, discovery: true })
  })

  it("still refuses frame connections from ids outside the address book", async () => {
    const { client, server } = pipe()
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        // The client waits for an answer that never comes (a real server closes the socket).
        const dialer = yield* Effect.fork(clientHandshake(client, { self: 4, peer: 2, secret: undefined }))
        const outcome = yield* Effect.either(serverHandshake(server, { self: 2, peers: (id) => id === 1, secret: undefined }))
        yield* Fiber.interrupt(dialer)
        return outcome
      })
    )
    expect(Either.isLeft(result) && result.left.message).toBe("node id 4 is not another member of the cluster")
  })
})

describe("--join flags", () => {
  const parse = (...argv: Array<string>) => {
    const result = parseArgs(argv, {})
    if (Either.isLeft(result)) return result.left.message
    return result.right._tag === "Run" ? result.right.config : "help"
  }

  it("start a node with no member list, its own peer address and what clients are told", () => {
    expect(parse("--id", "4", "--join", "10.0.0.1:12379", "--peer-address", "10.0.0.4:12379", "--port", "6379", "--advertise-host", "203.0.113.4", "--advertise-port", "16379")).toMatchObject({
      id: 4,
      peers: [],
      join: { host: "10.0.0.1", port: 12379 },
      peerAddress: { host: "10.0.0.4", port: 12379 },
      advertiseHost: "203.0.113.4",
      advertisePort: 16379
    })
  })

  it("explain what is missing or contradictory", () => {
    expect(parse("--id", "4", "--join", "10.0.0.1:12379")).toBe("--join needs --peer-address (where this node listens for peers)")
    expect(parse("--id", "4", "--join", "h:1", "--peer-address", "h:2", "--cluster", "h:1,h:3")).toMatch(/^--join and --cluster exclude each other/)
    expect(parse("--id", "1", "--peer-address", "h:2")).toMatch(/^--peer-address goes with --join/)
    expect(parse("--id", "4", "--join", "nope", "--peer-address", "h:2")).toBe("--join 'nope' is not host:port (port 1..65535)")
    expect(parse("--id", "4", "--join", "h:1", "--peer-address", "h:6379", "--host", "h", "--port", "6379")).toBe("--port 6379 is also node 4's peer port in --peer-address")
    expect(parse("--id", "1", "--advertise-port", "0")).toBe("--advertise-port must be between 1 and 65535")
    expect(parse("--id", "1", "--advertise-host", "a b")).toBe("--advertise-host 'a b' is not a host name or address")
  })
})
