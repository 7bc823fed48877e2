/**
 * The peer wire format. A frame is a u32 payload length followed by every message a node sends
 * one peer in one turn. Numbers that can grow (terms, indexes) are f64 (exact to 2^53), node ids
 * u16, flags u8. Decoding validates every field before a message reaches the Raft core.
 */
import { Data } from "effect"
import { decodeConfiguration } from "../raft/Configuration.js"
import { EntryKind, isEntryKind, type Entry } from "../raft/types.js"
import { decodeAdminCommand, decodeAdminOutcome, encodeAdminCommand, encodeAdminOutcome } from "./Admin.js"
import type { PeerMessage as Message } from "./PeerMessage.js"
import { peerMessageProblem } from "./PeerValidation.js"

export class PeerDecodeError extends Data.TaggedError("PeerDecodeError")<{ readonly message: string }> {}

export const MAX_FRAME_BYTES = 64 * 1024 * 1024
/**
 * What a sender puts in one frame before starting another. The Raft core keeps each Append and
 * Propose under this too (one entry excepted), and a command is at most 32 MiB
 * (RequestParser.MAX_COMMAND_BYTES), so no frame reaches MAX_FRAME_BYTES.
 */
export const FRAME_TARGET_BYTES = 4 * 1024 * 1024

const TAGS = ["PreVote", "Vote", "PreVoteResp", "VoteResp", "Append", "AppendResp", "Heartbeat", "HeartbeatResp", "Propose", "ReadIndex", "ReadIndexResp", "SnapshotChunk", "SnapshotAck", "TimeoutNow"] as const
const TAG_OF = new Map<string, number>(TAGS.map((type, i) => [type, i + 1]))
/** Cluster administration (Admin.ts): body f64 request id | u32 length | JSON payload. */
const ADMIN_REQUEST_TAG = TAGS.length + 2
const ADMIN_RESPONSE_TAG = TAGS.length + 3

/**
 * Leader transfer on the wire. A Vote request with `transfer` set (the candidate was told to
 * campaign by the leader, so voters ignore their check-quorum lease) has a tag of its own and the
 * body of a Vote, so a plain Vote is encoded exactly as before. TimeoutNow has an empty body.
 */
const TRANSFER_VOTE_TAG = TAGS.length + 1
/** A ReadIndex asking for a lease read: its own tag, the body of a ReadIndex (plain ones unchanged). */
const LEASE_READ_TAG = TAGS.length + 4
const tagOf = (m: Message): number =>
  m.type === "Vote" && m.transfer === true
    ? TRANSFER_VOTE_TAG
    : m.type === "ReadIndex" && m.lease === true
      ? LEASE_READ_TAG
      : m.type === "AdminRequest"
        ? ADMIN_REQUEST_TAG
        : m.type === "AdminResponse"
          ? ADMIN_RESPONSE_TAG
          : TAG_OF.get(m.type)!

/** The JSON payload of an admin message, encoded once per message (they are rare). */
const adminPayloads = new WeakMap<Message, Uint8Array>()
const adminPayload = (m: Extract<Message, { type: "AdminRequest" | "AdminResponse" }>): Uint8Array => {
  let payload = adminPayloads.get(m)
  if (payload === undefined) {
    payload = m.type === "AdminRequest" ? encodeAdminCommand(m.command) : encodeAdminOutcome(m.outcome)
    adminPayloads.set(m, payload)
  }
  return payload
}

const readAdmin = (r: Reader, type: "AdminRequest" | "AdminResponse"): Message => {
  const from = r.id()
  const to = r.id()
  const term = r.num()
  const requestId = r.num()
  const payload = r.bytes(r.u32())
  if (type === "AdminRequest") {
    const command = decodeAdminCommand(payload)
    if (command === undefined) throw new PeerDecodeError({ message: "malformed admin request" })
    return { type, from, to, term, requestId, command }
  }
  const outcome = decodeAdminOutcome(payload)
  if (outcome === undefined) throw new PeerDecodeError({ message: "malformed admin response" })
  return { type, from, to, term, requestId, outcome }
}
const readTransferVote = (r: Reader): Message => {
  const from = r.id()
  const to = r.id()
  const term = r.num()
  return { type: "Vote", from, to, term, lastLogIndex: r.num(), lastLogTerm: r.num(), transfer: true }
}

/** An entry kind byte, and a Config entry's payload, checked before the entry reaches the core. */
const checkEntry = (kind: number, data: Uint8Array): void => {
  if (!isEntryKind(kind)) throw new PeerDecodeError({ message: `invalid entry kind ${kind}` })
  if (kind === EntryKind.Config && decodeConfiguration(data) === undefined) {
    throw new PeerDecodeError({ message: "malformed configuration entry" })
  }
}

// Envelope: u8 tag | u16 from | u16 to | f64 term
const ENVELOPE = 1 + 2 + 2 + 8

const bodySize = (m: Message): number => {
  switch (m.type) {
    case "PreVote":
    case "Vote":
      return 16
    case "PreVoteResp":
    case "VoteResp":
      return 1
    case "Append": {
      let size = 8 * 3 + 4
      for (const entry of m.entries) size += 8 + 8 + 1 + 4 + entry.data.length
      return size
    }
    case "AppendResp":
      return 8 + 1 + 8
    case "Heartbeat":
      return 16
    case "HeartbeatResp":
      return 8
    case "Propose": {
      let size = 4
      for (const data of m.entries) size += 4 + data.length
      return size
    }
    case "ReadIndex":
      return 8
    case "ReadIndexResp":
      return 8 + 8 + 1
    case "SnapshotChunk":
      return 8 * 3 + 1 + 4 + m.data.length
    case "SnapshotAck":
      return 8 + 8 + 1
    case "TimeoutNow":
      return 0
    case "AdminRequest":
    case "AdminResponse":
      return 8 + 4 + adminPayload(m).length
  }
}

const writeBody = (m: Message, out: Buffer, o: number): number => {
  switch (m.type) {
    case "PreVote":
    case "Vote":
      out.writeDoubleBE(m.lastLogIndex, o)
      out.writeDoubleBE(m.lastLogTerm, o + 8)
      return o + 16
    case "PreVoteResp":
    case "VoteResp":
      out[o] = m.reject ? 1 : 0
      return o + 1
    case "Append":
      out.writeDoubleBE(m.prevIndex, o)
      out.writeDoubleBE(m.prevTerm, o + 8)
      out.writeDoubleBE(m.commit, o + 16)
      out.writeUInt32BE(m.entries.length, o + 24)
      o += 28
      for (const entry of m.entries) {
        out.writeDoubleBE(entry.index, o)
        out.writeDoubleBE(entry.term, o + 8)
        out[o + 16] = entry.kind
        out.writeUInt32BE(entry.data.length, o + 17)
        out.set(entry.data, o + 21)
        o += 21 + entry.data.length
      }
      return o
    case "AppendResp":
      out.writeDoubleBE(m.index, o)
      out[o + 8] = m.reject ? 1 : 0
      out.writeDoubleBE(m.hint, o + 9)
      return o + 17
    case "Heartbeat":
      out.writeDoubleBE(m.commit, o)
      out.writeDoubleBE(m.context, o + 8)
      return o + 16
    case "HeartbeatResp":
      out.writeDoubleBE(m.context, o)
      return o + 8
    case "Propose":
      out.writeUInt32BE(m.entries.length, o)
      o += 4
      for (const data of m.entries) {
        out.writeUInt32BE(data.length, o)
        out.set(data, o + 4)
        o += 4 + data.length
      }
      return o
    case "ReadIndex":
      out.writeDoubleBE(m.requestId, o)
      return o + 8
    case "ReadIndexResp":
      out.writeDoubleBE(m.requestId, o)
      out.writeDoubleBE(m.index, o + 8)
      out[o + 16] = m.reject ? 1 : 0
      return o + 17
    case "SnapshotChunk":
      out.writeDoubleBE(m.index, o)
      out.writeDoubleBE(m.snapshotTerm, o + 8)
      out.writeDoubleBE(m.offset, o + 16)
      out[o + 24] = m.last ? 1 : 0
      out.writeUInt32BE(m.data.length, o + 25)
      out.set(m.data, o + 29)
      return o + 29 + m.data.length
    case "SnapshotAck":
      out.writeDoubleBE(m.index, o)
      out.writeDoubleBE(m.received, o + 8)
      out[o + 16] = m.done ? 1 : 0
      return o + 17
    case "TimeoutNow":
      return o
    case "AdminRequest":
    case "AdminResponse": {
      const payload = adminPayload(m)
      out.writeDoubleBE(m.requestId, o)
      out.writeUInt32BE(payload.length, o + 8)
      out.set(payload, o + 12)
      return o + 12 + payload.length
    }
  }
}

/**
 * `messages` in order, as frames of at most `targetBytes` each (a larger message alone in its
 * frame), each built only when the previous one has been taken (a backlog of appends is not
 * encoded all at once).
 */
export function* encodeFrames(messages: ReadonlyArray<Message>, targetBytes = FRAME_TARGET_BYTES): Generator<Buffer> {
  let start = 0
  let size = 4
  for (let i = 0; i < messages.length; i++) {
    const messageSize = ENVELOPE + bodySize(messages[i])
    if (i > start && size + messageSize > targetBytes) {
      yield writeFrame(messages, start, i, size)
      start = i
      size = 4
    }
    size += messageSize
  }
  if (start < messages.length) yield writeFrame(messages, start, messages.length, size)
}

/** One frame carrying `messages`, sized exactly and written into a single buffer. */
export const encodeFrame = (messages: ReadonlyArray<Message>): Buffer => {
  let size = 4
  for (const m of messages) size += ENVELOPE + bodySize(m)
  return writeFrame(messages, 0, messages.length, size)
}

/** Messages `start` to `end` (exclusive) as one frame of `size` bytes, length prefix included. */
const writeFrame = (messages: ReadonlyArray<Message>, start: number, end: number, size: number): Buffer => {
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32BE(size - 4, 0)
  let o = 4
  for (let i = start; i < end; i++) {
    const m = messages[i]
    out[o] = tagOf(m)
    out.writeUInt16BE(m.from, o + 1)
    out.writeUInt16BE(m.to, o + 3)
    out.writeDoubleBE(m.term, o + 5)
    o = writeBody(m, out, o + ENVELOPE)
  }
  return out
}

/** Bounds-checked reads over one frame's payload; any violation is a PeerDecodeError. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public o: number,
    private readonly end: number
  ) {}
  private need(n: number) {
    if (this.o + n > this.end) throw new PeerDecodeError({ message: "peer frame truncated" })
  }
  u8(): number {
    this.need(1)
    return this.buf[this.o++]
  }
  flag(): boolean {
    const v = this.u8()
    if (v > 1) throw new PeerDecodeError({ message: `invalid boolean ${v} in peer frame` })
    return v === 1
  }
  id(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.o)
    this.o += 2
    if (v === 0) throw new PeerDecodeError({ message: "node id 0 in peer frame" })
    return v
  }
  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.o)
    this.o += 4
    return v
  }
  /** A count of items of at least `minBytes` each: refused before use if the frame cannot hold them. */
  count(minBytes: number): number {
    const v = this.u32()
    if (v * minBytes > this.end - this.o) throw new PeerDecodeError({ message: `count ${v} exceeds what the peer frame holds` })
    return v
  }
  /** A non-negative safe integer (term, index, id of a request). */
  num(): number {
    this.need(8)
    const v = this.buf.readDoubleBE(this.o)
    this.o += 8
    if (!Number.isSafeInteger(v) || v < 0) throw new PeerDecodeError({ message: `invalid number ${v} in peer frame` })
    return v
  }
  bytes(length: number): Uint8Array {
    this.need(length)
    // A copy, so a retained entry never pins the whole frame in memory.
    const v = Uint8Array.prototype.slice.call(this.buf, this.o, this.o + length)
    this.o += length
    return v
  }
  /**
   * A view into the frame, not a copy: only for bytes nobody keeps beyond the message's turn
   * (an Append's entries, which the Raft log copies into its own buffers, RaftLog.ts). A copy per
   * entry was a small ArrayBuffer, and malloc, per replicated entry on every follower.
   */
  view(length: number): Uint8Array {
    this.need(length)
    const v = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.o, length)
    this.o += length
    return v
  }
}

const readMessage = (r: Reader): Message => {
  const tag = r.u8()
  if (tag === TRANSFER_VOTE_TAG) return readTransferVote(r)
  if (tag === LEASE_READ_TAG) return { type: "ReadIndex", from: r.id(), to: r.id(), term: r.num(), requestId: r.num(), lease: true }
  if (tag === ADMIN_REQUEST_TAG) return readAdmin(r, "AdminRequest")
  if (tag === ADMIN_RESPONSE_TAG) return readAdmin(r, "AdminResponse")
  const type = TAGS[tag - 1]
  if (type === undefined) throw new PeerDecodeError({ message: `unknown peer message tag ${tag}` })
  const from = r.id()
  const to = r.id()
  const term = r.num()
  switch (type) {
    case "PreVote":
    case "Vote":
      return { type, from, to, term, lastLogIndex: r.num(), lastLogTerm: r.num() }
    case "PreVoteResp":
    case "VoteResp":
      return { type, from, to, term, reject: r.flag() }
    case "Append": {
      const prevIndex = r.num()
      const prevTerm = r.num()
      const commit = r.num()
      const count = r.count(21)
      const entries: Array<Entry> = []
      for (let i = 0; i < count; i++) {
        const index = r.num()
        const entryTerm = r.num()
        const kind = r.u8()
        if (index !== prevIndex + 1 + i) throw new PeerDecodeError({ message: "non-contiguous entries in append" })
        const data = r.view(r.u32())
        checkEntry(kind, data)
        entries.push({ index, term: entryTerm, kind: kind as Entry["kind"], data })
      }
      return { type, from, to, term, prevIndex, prevTerm, commit, entries }
    }
    case "AppendResp":
      return { type, from, to, term, index: r.num(), reject: r.flag(), hint: r.num() }
    case "Heartbeat":
      return { type, from, to, term, commit: r.num(), context: r.num() }
    case "HeartbeatResp":
      return { type, from, to, term, context: r.num() }
    case "Propose": {
      const count = r.count(4)
      const entries: Array<Uint8Array> = []
      for (let i = 0; i < count; i++) entries.push(r.bytes(r.u32()))
      return { type, from, to, term, entries }
    }
    case "ReadIndex":
      return { type, from, to, term, requestId: r.num() }
    case "ReadIndexResp":
      return { type, from, to, term, requestId: r.num(), index: r.num(), reject: r.flag() }
    case "SnapshotChunk":
      return { type, from, to, term, index: r.num(), snapshotTerm: r.num(), offset: r.num(), last: r.flag(), data: r.bytes(r.u32()) }
    case "SnapshotAck":
      return { type, from, to, term, index: r.num(), received: r.num(), done: r.flag() }
    case "TimeoutNow":
      return { type, from, to, term }
  }
}

/** Range checks (PeerValidation.ts) on every decoded message: a violation refuses the frame. */
const validated = (m: Message): Message => {
  const problem = peerMessageProblem(m)
  if (problem !== undefined) throw new PeerDecodeError({ message: `${m.type} from node ${m.from} refused: ${problem}` })
  return m
}

/**
 * Splits a byte stream into frames (chunks may cut frames anywhere) and decodes them. Partial
 * frames are kept as a list of chunks and joined once, when the whole frame has arrived, so a
 * large append arriving in many small reads is not copied over and over.
 */
export class FrameDecoder {
  private chunks: Array<Buffer> = []
  private buffered = 0
  /** Payload length of the frame being collected, once its 4-byte header is in. */
  private needed: number | undefined

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Array<Message> {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    const messages: Array<Message> = []
    for (;;) {
      if (this.needed === undefined) {
        if (this.buffered < 4) break
        const header = this.take(4)
        const length = header.readUInt32BE(0)
        if (length > this.maxFrameBytes) {
          throw new PeerDecodeError({ message: `peer frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit` })
        }
        this.needed = length
      }
      if (this.buffered < this.needed) break
      const payload = this.take(this.needed)
      this.needed = undefined
      const reader = new Reader(payload, 0, payload.length)
      while (reader.o < payload.length) messages.push(validated(readMessage(reader)))
    }
    return messages
  }

  /** Remove and return the next `n` buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0) // an empty frame; there may be no chunk left to view
    this.buffered -= n
    const first = this.chunks[0]
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let offset = 0
    while (offset < n) {
      const chunk = this.chunks[0]
      const used = Math.min(chunk.length, n - offset)
      chunk.copy(out, offset, 0, used)
      offset += used
      if (used === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(used)
    }
    return out
  }
}
