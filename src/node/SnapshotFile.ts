/**
 * The snapshot file's records, pure encode/decode (no I/O). A snapshot file is a sequence of
 * CRC-checked frames, so a torn or bit-flipped file is recognised before it is trusted:
 *
 *   frame   = u32 payload length | u32 CRC-32C(payload) | payload
 *   header  = u8 0 | "RKVSNAP1" | f64 index | f64 term | u32 n | n × (u16 node | f64 sequence)
 *             [ | u32 length | configuration (Configuration.ts's encoding) ]
 *   chunk   = u8 1 | engine snapshot chunk (SnapshotFormat)
 *   end     = u8 2 | f64 chunk count | f64 chunk bytes
 *
 * The header carries what the state machine holds besides the engine: the index and term the
 * state includes, the highest write sequence number applied per node (the duplicate filter), and
 * the cluster configuration in effect at the index (membership changes are log entries, so a
 * snapshot that replaces them must carry their result). Files written before membership changes
 * end the header after the sessions: they decode with no configuration, and the node falls back
 * to its `--cluster` list, which is what such a cluster ran with.
 */
import { type Configuration, decodeConfiguration, encodeConfiguration } from "../raft/Configuration.js"
import { crc32c } from "./WalFormat.js"

export const FRAME_HEADER = 8
const HEADER = 0
const CHUNK = 1
const END = 2
const MAGIC = Buffer.from("RKVSNAP1")

export interface SnapshotMeta {
  readonly index: number
  readonly term: number
  /** Highest applied write sequence number per proposing node, as of `index`. */
  readonly sessions: ReadonlyArray<readonly [node: number, seq: number]>
  /** The configuration in effect at `index` (absent only in files written before it was recorded). */
  readonly configuration?: Configuration
}

const frame = (payload: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length)
  out.writeUInt32BE(payload.length, 0)
  out.writeUInt32BE(crc32c(payload), 4)
  payload.copy(out, FRAME_HEADER)
  return out
}

export const encodeHeader = (meta: SnapshotMeta): Buffer => {
  const configuration = meta.configuration === undefined ? undefined : encodeConfiguration(meta.configuration)
  const trailer = configuration === undefined ? 0 : 4 + configuration.length
  const payload = Buffer.allocUnsafe(1 + MAGIC.length + 8 + 8 + 4 + meta.sessions.length * 10 + trailer)
  payload[0] = HEADER
  MAGIC.copy(payload, 1)
  let o = 1 + MAGIC.length
  payload.writeDoubleBE(meta.index, o)
  payload.writeDoubleBE(meta.term, o + 8)
  payload.writeUInt32BE(meta.sessions.length, o + 16)
  o += 20
  for (const [node, seq] of meta.sessions) {
    payload.writeUInt16BE(node, o)
    payload.writeDoubleBE(seq, o + 2)
    o += 10
  }
  if (configuration !== undefined) {
    payload.writeUInt32BE(configuration.length, o)
    payload.set(configuration, o + 4)
  }
  return frame(payload)
}

export const encodeChunk = (chunk: Uint8Array): Buffer => {
  const payload = Buffer.allocUnsafe(1 + chunk.length)
  payload[0] = CHUNK
  payload.set(chunk, 1)
  return frame(payload)
}

export const encodeEnd = (chunks: number, bytes: number): Buffer => {
  const payload = Buffer.allocUnsafe(17)
  payload[0] = END
  payload.writeDoubleBE(chunks, 1)
  payload.writeDoubleBE(bytes, 9)
  return frame(payload)
}

export type SnapshotRecord =
  | { readonly type: "header"; readonly meta: SnapshotMeta }
  | { readonly type: "chunk"; readonly chunk: Uint8Array }
  | { readonly type: "end"; readonly chunks: number; readonly bytes: number }

const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0

/** Parse a frame's 8-byte header: the payload length and its expected checksum. */
export const readFrameHeader = (header: Uint8Array) => {
  const view = Buffer.from(header.buffer, header.byteOffset, header.length)
  return { length: view.readUInt32BE(0), crc: view.readUInt32BE(4) }
}

/** Check and decode one frame's payload; a string explains why it is invalid. */
export const decodePayload = (payload: Uint8Array, crc: number): SnapshotRecord | string => {
  if (crc32c(payload) !== crc) return "checksum mismatch"
  const p = Buffer.from(payload.buffer, payload.byteOffset, payload.length)
  if (p.length < 1) return "empty frame"
  switch (p[0]) {
    case HEADER: {
      if (p.length < 1 + MAGIC.length + 20 || !p.subarray(1, 1 + MAGIC.length).equals(MAGIC)) return "not a raft-kv snapshot"
      let o = 1 + MAGIC.length
      const index = p.readDoubleBE(o)
      const term = p.readDoubleBE(o + 8)
      const count = p.readUInt32BE(o + 16)
      o += 20
      if (!isCount(index) || !isCount(term) || p.length < o + count * 10) return "invalid header"
      const sessions: Array<readonly [number, number]> = []
      for (let i = 0; i < count; i++, o += 10) {
        const seq = p.readDoubleBE(o + 2)
        if (!isCount(seq)) return "invalid header"
        sessions.push([p.readUInt16BE(o), seq])
      }
      if (o === p.length) return { type: "header", meta: { index, term, sessions } }
      if (p.length < o + 4 || p.length !== o + 4 + p.readUInt32BE(o)) return "invalid header"
      const configuration = decodeConfiguration(p.subarray(o + 4))
      if (configuration === undefined) return "invalid configuration in the header"
      return { type: "header", meta: { index, term, sessions, configuration } }
    }
    case CHUNK:
      return { type: "chunk", chunk: p.subarray(1) }
    case END: {
      if (p.length !== 17) return "invalid end record"
      const chunks = p.readDoubleBE(1)
      const bytes = p.readDoubleBE(9)
      return isCount(chunks) && isCount(bytes) ? { type: "end", chunks, bytes } : "invalid end record"
    }
    default:
      return `unknown record type ${p[0]}`
  }
}
