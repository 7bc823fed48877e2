/** Log-entry command codec, peer wire codec and WAL record format: round trips and rejection. */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import { decodeCommand, encodeCommand, type Payload, stampTime } from "../../src/commands/CommandCodec.js"
import { encodeFrame, encodeFrames, FrameDecoder, PeerDecodeError } from "../../src/node/PeerCodec.js"
import { encodeBatch, readRecord } from "../../src/node/WalFormat.js"
import type { PeerMessage as Message } from "../../src/node/PeerMessage.js"
import { encodeConfiguration, makeConfiguration } from "../../src/raft/Configuration.js"
import { EntryKind } from "../../src/raft/types.js"

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))

const everyMessage: Array<Message> = [
  { type: "PreVote", from: 1, to: 2, term: 3, lastLogIndex: 10, lastLogTerm: 2 },
  { type: "Vote", from: 1, to: 3, term: 2 ** 40, lastLogIndex: 2 ** 52, lastLogTerm: 7 },
  { type: "PreVoteResp", from: 2, to: 1, term: 3, reject: false },
  { type: "VoteResp", from: 3, to: 1, term: 3, reject: true },
  { type: "Append", from: 1, to: 2, term: 4, prevIndex: 9, prevTerm: 3, commit: 8, entries: [
    { index: 10, term: 4, kind: 1, data: new Uint8Array(0) },
    { index: 11, term: 4, kind: 0, data: bytes("\u0000\u00ff binary") }
  ] },
  { type: "Append", from: 1, to: 2, term: 4, prevIndex: 9, prevTerm: 3, commit: 8, entries: [] },
  { type: "AppendResp", from: 2, to: 1, term: 4, index: 11, reject: false, hint: 0 },
  { type: "Heartbeat", from: 1, to: 2, term: 4, commit: 11, context: 5 },
  { type: "HeartbeatResp", from: 2, to: 1, term: 4, context: 5 },
  { type: "Propose", from: 2, to: 1, term: 4, entries: [bytes("a"), new Uint8Array(0)] },
  { type: "ReadIndex", from: 2, to: 1, term: 4, requestId: 77 },
  { type: "ReadIndexResp", from: 1, to: 2, term: 4, requestId: 77, index: 11, reject: false },
  { type: "SnapshotChunk", from: 1, to: 3, term: 4, index: 900, snapshotTerm: 3, offset: 524288, last: true, data: bytes("chunk\u0000") },
  { type: "SnapshotAck", from: 3, to: 1, term: 4, index: 900, received: 524294, done: true },
  { type: "AdminRequest", from: 2, to: 1, term: 4, requestId: 3, command: { kind: "change", change: { type: "add-learner", id: 9, address: "[::1]:12379" } } },
  { type: "AdminResponse", from: 1, to: 2, term: 4, requestId: 3, outcome: { kind: "nodes", leader: 1, rows: [{ id: 1, suffrage: "voter", peerAddress: "h:1", match: 7, lastContactMs: null }] } }
]

/** Plain data for comparison: byte arrays (Uint8Array or Buffer) become number arrays. */
const normalize = (messages: ReadonlyArray<Message>) =>
  JSON.parse(
    JSON.stringify(messages, (_, v) => (v instanceof Uint8Array ? [...v] : v?.type === "Buffer" && Array.isArray(v.data) ? v.data : v))
  )

describe("CommandCodec", () => {
  const argv = [bytes("SET"), bytes(""), bytes("\u0000\r\n")]
  const payloads: ReadonlyArray<Payload> = [
    { kind: "command", db: 7, argv },
    { kind: "transaction", session: 2 ** 40 + 3, commands: [{ db: 0, argv }, { db: 15, argv: [bytes("GET"), bytes("k")] }] },
    { kind: "transaction", session: 0, commands: [] },
    { kind: "watch", session: 9, db: 3, keys: [bytes("a"), bytes("")] },
    { kind: "unwatch", session: 9 },
    { kind: "expire", keys: [{ db: 17, key: bytes("k\u0000"), expireAt: 1_700_000_000_123 }] },
    { kind: "collect", target: "version", id: 2 ** 45, limit: 1024 },
    { kind: "collect", target: "db", id: 99, limit: 1 },
    { kind: "announce", node: 4, address: "10.0.0.4:6379" }
  ]
  /** Plain data for comparison: byte arrays become number arrays. */
  const plain = (value: unknown) => JSON.parse(JSON.stringify(value, (_, v) => (v?.type === "Buffer" && Array.isArray(v.data) ? v.data : v instanceof Uint8Array ? [...v] : v)))

  it.each(payloads.map((payload) => [payload.kind, payload] as const))("round-trips a %s entry and rejects every truncation and trailing garbage", (_, payload) => {
    const encoded = encodeCommand({ origin: 3, seq: 2 ** 33 + 5, time: 1_700_000_000_000, payload })
    const decoded = decodeCommand(encoded)!
    expect(decoded.origin).toBe(3)
    expect(decoded.seq).toBe(2 ** 33 + 5)
    expect(decoded.time).toBe(1_700_000_000_000)
    expect(plain(decoded.payload)).toEqual(plain(payload))
    for (let cut = 0; cut < encoded.length; cut++) expect(decodeCommand(encoded.subarray(0, cut))).toBeUndefined()
    expect(decodeCommand(new Uint8Array([...encoded, 1]))).toBeUndefined()
  })

  it("rejects a collect entry of no members (it would have no last member to resume after)", () => {
    expect(decodeCommand(encodeCommand({ origin: 1, seq: 1, payload: { kind: "collect", target: "version", id: 7, limit: 0 } }))).toBeUndefined()
    expect(decodeCommand(encodeCommand({ origin: 1, seq: 1, payload: { kind: "collect", target: "db", id: 7, limit: 0 } }))).toBeUndefined()
  })

  it("lets the leader stamp its time into an entry in place", () => {
    const encoded = encodeCommand({ origin: 1, seq: 1, payload: { kind: "command", db: 0, argv } })
    expect(decodeCommand(encoded)!.time).toBe(0)
    stampTime(encoded, 1234.5)
    expect(decodeCommand(encoded)!.time).toBe(1234.5)
  })
})

describe("PeerCodec", () => {
  it("round-trips every message type in one frame", () => {
    expect(normalize(new FrameDecoder().push(encodeFrame(everyMessage)))).toEqual(normalize(everyMessage))
  })

  it("decodes frames split at every byte and several frames in one chunk", () => {
    const frames = Buffer.concat([encodeFrame(everyMessage.slice(0, 5)), encodeFrame(everyMessage.slice(5))])
    for (let cut = 1; cut < frames.length; cut++) {
      const decoder = new FrameDecoder()
      const out = [...decoder.push(frames.subarray(0, cut)), ...decoder.push(frames.subarray(cut))]
      expect(out).toHaveLength(everyMessage.length)
    }
  })

  it("assembles a large append that arrives in many small reads", () => {
    const entries = Array.from({ length: 2000 }, (_, i) => ({ index: i + 1, term: 1, kind: 0 as const, data: new Uint8Array(1024).fill(i & 0xff) }))
    const frame = encodeFrame([{ type: "Append", from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries }])
    const decoder = new FrameDecoder()
    const out: Array<Message> = []
    for (let offset = 0; offset < frame.length; offset += 65536) out.push(...decoder.push(frame.subarray(offset, offset + 65536)))
    expect(out).toHaveLength(1)
    const append = out[0] as Extract<Message, { type: "Append" }>
    expect(append.entries).toHaveLength(2000)
    expect([...append.entries[1999].data.subarray(0, 3)]).toEqual([1999 & 0xff, 1999 & 0xff, 1999 & 0xff])
  })

  it("splits a large batch into frames of at most the target size, in order, one large message alone", () => {
    const append = (first: number, bytes: number): Message => ({
      type: "Append", from: 1, to: 2, term: 1, prevIndex: first - 1, prevTerm: 1, commit: 0,
      entries: [{ index: first, term: 1, kind: 0, data: new Uint8Array(bytes).fill(first) }]
    })
    const messages = [append(1, 300), append(2, 300), append(3, 300), append(4, 2000), append(5, 10)]
    const frames = [...encodeFrames(messages, 1000)]
    expect(frames.map((frame) => frame.length <= 1000 || new FrameDecoder().push(frame).length === 1)).toEqual(frames.map(() => true))
    // Each 300-byte append is ~360 bytes framed: two fit in 1000, the 2000-byte one goes alone.
    const decoder = new FrameDecoder()
    const firstIndexes = frames.map((frame) => decoder.push(frame).map((m) => (m as Extract<Message, { type: "Append" }>).entries[0].index))
    expect(firstIndexes).toEqual([[1, 2], [3], [4], [5]])
    expect([...encodeFrames(messages.slice(0, 2), 1000)]).toEqual([encodeFrame(messages.slice(0, 2))])
  })

  it("skips an empty frame, also as the last bytes of a read", () => {
    const empty = Buffer.alloc(4)
    const decoder = new FrameDecoder()
    expect(decoder.push(empty)).toEqual([])
    expect(normalize(decoder.push(Buffer.concat([encodeFrame(everyMessage.slice(0, 1)), empty])))).toEqual(normalize(everyMessage.slice(0, 1)))
  })

  it("rejects oversized frames", () => {
    const header = Buffer.alloc(4)
    header.writeUInt32BE(1000)
    expect(() => new FrameDecoder(100).push(header)).toThrow(PeerDecodeError)
  })

  it("random bytes only ever raise PeerDecodeError", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.uint8Array({ minLength: 5, maxLength: 300 }), (random) => {
        const frame = Buffer.alloc(4 + random.length)
        frame.writeUInt32BE(random.length)
        frame.set(random, 4)
        try {
          new FrameDecoder().push(frame)
        } catch (error) {
          if (!(error instanceof PeerDecodeError)) throw error
        }
      }),
      { numRuns: 2000, seed: 42 }
    )
  })
})

describe("PeerCodec: membership and leader transfer", () => {
  const config = makeConfiguration([
    { id: 1, role: "voter", address: "127.0.0.1:7001" },
    { id: 4, role: "learner", address: "127.0.0.1:7004" }
  ])
  const messages: Array<Message> = [
    { type: "TimeoutNow", from: 1, to: 2, term: 7 },
    { type: "Vote", from: 2, to: 3, term: 8, lastLogIndex: 40, lastLogTerm: 7, transfer: true },
    { type: "Vote", from: 2, to: 1, term: 8, lastLogIndex: 40, lastLogTerm: 7 },
    { type: "Append", from: 1, to: 4, term: 7, prevIndex: 39, prevTerm: 7, commit: 39, entries: [
      { index: 40, term: 7, kind: EntryKind.Config, data: encodeConfiguration(config) }
    ] }
  ]

  it("round-trips TimeoutNow, a transfer Vote (a plain Vote unchanged) and an Append carrying a configuration", () => {
    expect(normalize(new FrameDecoder().push(encodeFrame(messages)))).toEqual(normalize(messages))
    // A plain Vote is encoded exactly as before the transfer flag existed.
    const plain = encodeFrame([messages[2]])
    expect(plain[4]).toBe(2) // the Vote tag
    expect(plain.length).toBe(4 + 13 + 16)
    expect(encodeFrame([messages[1]]).length).toBe(plain.length)
  })

  it("rejects an Append whose configuration entry is malformed, or of an unknown kind", () => {
    const bad = (kind: number, data: Uint8Array) =>
      encodeFrame([{ type: "Append", from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 1, term: 1, kind: kind as 0, data }] }])
    expect(() => new FrameDecoder().push(bad(EntryKind.Config, bytes("not a configuration")))).toThrow(/malformed configuration/)
    expect(() => new FrameDecoder().push(bad(3, new Uint8Array(0)))).toThrow(/invalid entry kind 3/)
    expect(new FrameDecoder().push(bad(EntryKind.Config, encodeConfiguration(config)))).toHaveLength(1)
  })
})

describe("WalFormat", () => {
  it("round-trips a batch and detects corruption and truncation", () => {
    const batch = encodeBatch({ term: 2, vote: 1, commit: 5 }, [{ index: 6, term: 2, kind: 0, data: bytes("x") }])
    const first = readRecord(batch, 0)
    expect(first).toMatchObject({ _tag: "record", record: { type: "hardState", hardState: { term: 2, vote: 1, commit: 5 } } })
    const second = readRecord(batch, first._tag === "record" ? first.next : 0)
    expect(second._tag === "record" && second.record.type === "entries" && second.record.entries[0].index).toBe(6)
    const corrupt = Buffer.from(batch)
    corrupt[12] ^= 1
    expect(readRecord(corrupt, 0)).toMatchObject({ _tag: "bad", reason: "checksum mismatch" })
    expect(readRecord(batch.subarray(0, 10), 0)).toEqual({ _tag: "incomplete" })
  })

  it("carries configuration entries as ordinary entries", () => {
    const data = encodeConfiguration(makeConfiguration([{ id: 2, role: "voter", address: "h:2" }]))
    const batch = encodeBatch(undefined, [{ index: 9, term: 3, kind: EntryKind.Config, data }])
    const read = readRecord(batch, 0)
    expect(read._tag === "record" && read.record.type === "entries" && read.record.entries.map((e) => [e.kind, [...e.data]])).toEqual([[EntryKind.Config, [...data]]])
  })
})
