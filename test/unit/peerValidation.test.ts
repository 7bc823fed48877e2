/**
 * Range validation of decoded peer messages (src/node/PeerValidation.ts): every numeric field of
 * every message type, at and just past its bound, both directly and through the frame decoder.
 */
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameDecoder, PeerDecodeError } from "../../src/node/PeerCodec.js"
import type { PeerMessage } from "../../src/node/PeerMessage.js"
import { MAX_COUNTER, MAX_INDEX, MAX_SNAPSHOT_BYTES, MAX_TERM, peerMessageProblem } from "../../src/node/PeerValidation.js"

const entry = (index: number, term: number) => ({ index, term, kind: 0 as const, data: new Uint8Array(0) })
const append = (fields: Partial<Extract<PeerMessage, { type: "Append" }>> = {}): PeerMessage => ({
  type: "Append", from: 1, to: 2, term: 5, prevIndex: 10, prevTerm: 4, commit: 9, entries: [entry(11, 4), entry(12, 5)], ...fields
})

/** A valid message of every type. */
const valid: Array<PeerMessage> = [
  { type: "PreVote", from: 1, to: 2, term: 6, lastLogIndex: 12, lastLogTerm: 5 },
  { type: "Vote", from: 1, to: 2, term: 6, lastLogIndex: 12, lastLogTerm: 6 },
  { type: "PreVoteResp", from: 2, to: 1, term: 6, reject: false },
  { type: "VoteResp", from: 2, to: 1, term: 6, reject: true },
  append(),
  append({ entries: [] }),
  { type: "AppendResp", from: 2, to: 1, term: 5, index: 12, reject: false, hint: 0 },
  { type: "Heartbeat", from: 1, to: 2, term: 5, commit: 12, context: 3 },
  { type: "HeartbeatResp", from: 2, to: 1, term: 5, context: 3 },
  { type: "Propose", from: 2, to: 1, term: 5, entries: [new Uint8Array(1)] },
  { type: "ReadIndex", from: 2, to: 1, term: 5, requestId: 7 },
  { type: "ReadIndexResp", from: 1, to: 2, term: 5, requestId: 7, index: 12, reject: false },
  { type: "SnapshotChunk", from: 1, to: 2, term: 5, index: 100, snapshotTerm: 4, offset: 0, last: false, data: new Uint8Array(8) },
  { type: "SnapshotAck", from: 2, to: 1, term: 5, index: 100, received: 8, done: false }
]

const problem = (m: PeerMessage) => peerMessageProblem(m)
const withField = (m: PeerMessage, field: string, value: number) => ({ ...m, [field]: value }) as PeerMessage

describe("peer message validation", () => {
  it("accepts a valid message of every type, with every number at its bound", () => {
    for (const m of valid) expect(problem(m)).toBeUndefined()
    expect(problem({ type: "Heartbeat", from: 1, to: 2, term: MAX_TERM, commit: MAX_INDEX, context: MAX_COUNTER })).toBeUndefined()
    expect(problem(append({ term: MAX_TERM, prevIndex: MAX_INDEX - 2, prevTerm: MAX_TERM, commit: MAX_INDEX, entries: [entry(MAX_INDEX - 1, MAX_TERM), entry(MAX_INDEX, MAX_TERM)] }))).toBeUndefined()
  })

  it("refuses a term that could not be incremented safely, on every message type", () => {
    for (const m of valid) {
      expect(problem(withField(m, "term", MAX_TERM + 1))).toMatch(/^term 9007199254740990 is above 9007199254740989 \(it could not be incremented safely\)$/)
      expect(problem(withField(m, "term", Number.MAX_SAFE_INTEGER))).toMatch(/could not be incremented safely/)
    }
  })

  it.each([
    ["PreVote", "lastLogIndex", MAX_INDEX + 1, /lastLogIndex/],
    ["Vote", "lastLogTerm", 7, /lastLogTerm 7 is above the message's term 6/],
    ["AppendResp", "index", MAX_INDEX + 1, /^index/],
    ["AppendResp", "hint", MAX_INDEX + 1, /^hint/],
    ["Heartbeat", "commit", MAX_INDEX + 1, /^commit/],
    ["Heartbeat", "context", MAX_COUNTER + 1, /^context/],
    ["HeartbeatResp", "context", MAX_COUNTER + 1, /^context/],
    ["ReadIndex", "requestId", MAX_COUNTER + 1, /^requestId/],
    ["ReadIndexResp", "requestId", MAX_COUNTER + 1, /^requestId/],
    ["ReadIndexResp", "index", MAX_INDEX + 1, /^index/],
    ["SnapshotChunk", "index", MAX_INDEX + 1, /snapshot index/],
    ["SnapshotChunk", "snapshotTerm", 6, /snapshot term 6 is above the sender's term 5/],
    ["SnapshotChunk", "offset", MAX_SNAPSHOT_BYTES, /snapshot offset/],
    ["SnapshotAck", "index", MAX_INDEX + 1, /snapshot index/],
    ["SnapshotAck", "received", MAX_SNAPSHOT_BYTES + 1, /^received/]
  ] as const)("%s: refuses %s = %d", (type, field, value, expected) => {
    const m = valid.find((candidate) => candidate.type === type)!
    expect(problem(withField(m, field, value))).toMatch(expected)
  })

  it("Append: refuses out-of-range indexes and entry terms that break the log's order", () => {
    expect(problem(append({ commit: MAX_INDEX + 1 }))).toMatch(/^commit/)
    expect(problem(append({ prevIndex: MAX_INDEX - 1, entries: [entry(MAX_INDEX, 4), entry(MAX_INDEX + 1, 5)] }))).toMatch(/reach above index/)
    expect(problem(append({ prevTerm: 6 }))).toMatch(/prevTerm 6 is above the leader's term 5/)
    expect(problem(append({ entries: [entry(11, 6)] }))).toMatch(/entry 11 has term 6, above the leader's term 5/)
    expect(problem(append({ entries: [entry(11, 5), entry(12, 4)] }))).toMatch(/entry 12 has term 4, below the term 5 before it/)
    expect(problem(append({ entries: [entry(11, 3)] }))).toMatch(/entry 11 has term 3, below the term 4 before it/)
    expect(problem(append({ prevIndex: 0, prevTerm: 0, entries: [entry(1, 0)] }))).toMatch(/entry 1 has term 0/)
  })

  it("is applied by the frame decoder: a refused message refuses the frame", () => {
    const frame = encodeFrame([valid[7], withField(valid[7], "term", Number.MAX_SAFE_INTEGER)])
    expect(() => new FrameDecoder().push(frame)).toThrow(PeerDecodeError)
    expect(() => new FrameDecoder().push(frame)).toThrow(/Heartbeat from node 1 refused: term 9007199254740991/)
    expect(new FrameDecoder().push(encodeFrame(valid))).toHaveLength(valid.length)
  })

  it("the decoder refuses a count the frame cannot hold before reading it", () => {
    const frame = encodeFrame([append({ entries: [] })])
    // The Append's entry count is its last 4 bytes: claim 2^32 - 1 entries.
    frame.writeUInt32BE(0xffffffff, frame.length - 4)
    expect(() => new FrameDecoder().push(frame)).toThrow(/count 4294967295 exceeds what the peer frame holds/)
    const propose = encodeFrame([{ type: "Propose", from: 2, to: 1, term: 5, entries: [] }])
    propose.writeUInt32BE(2, propose.length - 4)
    expect(() => new FrameDecoder().push(propose)).toThrow(/count 2 exceeds/)
  })
})
