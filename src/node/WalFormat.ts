/**
 * The WAL's on-disk records, pure encode/decode (no I/O).
 *
 *   record  = u32 payload length | u32 CRC-32C(payload) | payload
 *   payload = u8 1 (hard state) | f64 term | u32 vote | f64 commit
 *           | u8 2 (entries)    | f64 first index | u32 count | count × (f64 term | u8 kind | u32 length | bytes)
 *           | u8 3 (log reset)  | f64 index | f64 term   — a received snapshot replaced the log up to index
 */
import { isEntryKind, type Entry, type HardState } from "../raft/types.js"

export const RECORD_HEADER = 8
const HARD_STATE = 1
const ENTRIES = 2
const LOG_RESET = 3

// CRC-32C (Castagnoli), table-driven.
const CRC_TABLE = (() => {
  const table = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  return table
})()

export const crc32c = (bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let crc = -1
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}

const sealRecord = (out: Buffer, start: number, payloadEnd: number): void => {
  out.writeUInt32BE(payloadEnd - start - RECORD_HEADER, start)
  out.writeUInt32BE(crc32c(out, start + RECORD_HEADER, payloadEnd), start + 4)
}

/**
 * One buffer holding the batch's records: the log reset (if any), the hard state (if any), then
 * the entries (if any).
 */
export const encodeBatch = (
  hardState: HardState | undefined,
  entries: ReadonlyArray<Entry>,
  logReset?: { readonly index: number; readonly term: number }
): Buffer => {
  let size = logReset !== undefined ? RECORD_HEADER + 17 : 0
  if (hardState !== undefined) size += RECORD_HEADER + 1 + 8 + 4 + 8
  if (entries.length > 0) {
    size += RECORD_HEADER + 1 + 8 + 4
    for (const entry of entries) size += 8 + 1 + 4 + entry.data.length
  }
  const out = Buffer.allocUnsafe(size)
  let offset = 0
  if (logReset !== undefined) {
    const start = offset
    offset += RECORD_HEADER
    out.writeUInt8(LOG_RESET, offset)
    out.writeDoubleBE(logReset.index, offset + 1)
    out.writeDoubleBE(logReset.term, offset + 9)
    offset += 17
    sealRecord(out, start, offset)
  }
  if (hardState !== undefined) {
    const start = offset
    offset += RECORD_HEADER
    out.writeUInt8(HARD_STATE, offset)
    out.writeDoubleBE(hardState.term, offset + 1)
    out.writeUInt32BE(hardState.vote, offset + 9)
    out.writeDoubleBE(hardState.commit, offset + 13)
    offset += 21
    sealRecord(out, start, offset)
  }
  if (entries.length > 0) {
    const start = offset
    offset += RECORD_HEADER
    out.writeUInt8(ENTRIES, offset)
    out.writeDoubleBE(entries[0].index, offset + 1)
    out.writeUInt32BE(entries.length, offset + 9)
    offset += 13
    for (const entry of entries) {
      out.writeDoubleBE(entry.term, offset)
      out.writeUInt8(entry.kind, offset + 8)
      out.writeUInt32BE(entry.data.length, offset + 9)
      out.set(entry.data, offset + 13)
      offset += 13 + entry.data.length
    }
    sealRecord(out, start, offset)
  }
  return out
}

export type WalRecord =
  | { readonly type: "hardState"; readonly hardState: HardState }
  | { readonly type: "entries"; readonly entries: ReadonlyArray<Entry> }
  | { readonly type: "logReset"; readonly index: number; readonly term: number }

export type ReadResult =
  | { readonly _tag: "record"; readonly record: WalRecord; readonly next: number }
  /** The bytes from `offset` on cannot be a complete record (end of data, or a partial one). */
  | { readonly _tag: "incomplete" }
  | { readonly _tag: "bad"; readonly reason: string; readonly next: number }

const isNonNegativeInteger = (n: number) => Number.isSafeInteger(n) && n >= 0

const decodePayload = (p: Buffer): WalRecord | string => {
  if (p.length < 1) return "empty record"
  const type = p[0]
  if (type === HARD_STATE) {
    if (p.length !== 21) return "hard state record of wrong size"
    const hardState = { term: p.readDoubleBE(1), vote: p.readUInt32BE(9), commit: p.readDoubleBE(13) }
    if (!isNonNegativeInteger(hardState.term) || !isNonNegativeInteger(hardState.commit)) return "invalid hard state"
    return { type: "hardState", hardState }
  }
  if (type === ENTRIES) {
    if (p.length < 13) return "entries record too short"
    const first = p.readDoubleBE(1)
    const count = p.readUInt32BE(9)
    if (!isNonNegativeInteger(first) || first < 1) return "invalid first index"
    const entries: Array<Entry> = []
    let offset = 13
    for (let i = 0; i < count; i++) {
      if (offset + 13 > p.length) return "entries record truncated"
      const term = p.readDoubleBE(offset)
      const kind = p[offset + 8]
      const length = p.readUInt32BE(offset + 9)
      offset += 13
      if (offset + length > p.length || !isNonNegativeInteger(term) || !isEntryKind(kind)) {
        return "invalid entry"
      }
      entries.push({ index: first + i, term, kind, data: p.subarray(offset, offset + length) })
      offset += length
    }
    if (offset !== p.length) return "trailing bytes in entries record"
    return { type: "entries", entries }
  }
  if (type === LOG_RESET) {
    if (p.length !== 17) return "log reset record of wrong size"
    const index = p.readDoubleBE(1)
    const term = p.readDoubleBE(9)
    if (!isNonNegativeInteger(index) || !isNonNegativeInteger(term)) return "invalid log reset"
    return { type: "logReset", index, term }
  }
  return `unknown record type ${type}`
}

/** Read the record at `offset` of `data`. */
export const readRecord = (data: Buffer, offset: number): ReadResult => {
  if (offset + RECORD_HEADER > data.length) return { _tag: "incomplete" }
  const length = data.readUInt32BE(offset)
  const end = offset + RECORD_HEADER + length
  if (end > data.length) return { _tag: "incomplete" }
  if (length === 0) return { _tag: "bad", reason: "zero-length record", next: end }
  if (crc32c(data, offset + RECORD_HEADER, end) !== data.readUInt32BE(offset + 4)) {
    return { _tag: "bad", reason: "checksum mismatch", next: end }
  }
  const record = decodePayload(data.subarray(offset + RECORD_HEADER, end))
  return typeof record === "string" ? { _tag: "bad", reason: record, next: end } : { _tag: "record", record, next: end }
}
