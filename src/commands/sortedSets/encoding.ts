/**
 * How a sorted set's members are laid out under its version (after the `'s' u64 version` prefix
 * that every collection member shares, see keyspace/layout.ts). Two indexes, told apart by a
 * family byte, hold the same members:
 *
 *   0x01 · u32 hash(member) · member   → f64 score      the member index: ZSCORE, ZADD's lookup,
 *                                                       ZSCAN (its cursor is a hash position, as
 *                                                       SCAN's), ZRANDMEMBER (a seek from a random hash)
 *   0x02 · sortable(score) · member    → (empty)        the score index: every range by score, by
 *                                                       lex and by rank, ZPOPMIN/ZPOPMAX
 *
 * `sortable` is the IEEE-754 double as 8 big-endian bytes with the sign bit flipped for positive
 * numbers and every bit flipped for negative ones, so byte order is numeric order (-inf < ... <
 * -0 = +0 < ... < +inf); members of equal score follow in byte order, which is Redis's order. -0
 * is stored as +0 (redis-server stores a small sorted set's scores the same way), and NaN is never
 * stored (every command refuses it). A write costs one or two keys of each index: O(log n).
 *
 * This layout is persisted: changing it changes the on-disk format.
 */
import { hash32 } from "../keyspace/layout.js"

export const MEMBER_INDEX = 0x01
export const SCORE_INDEX = 0x02

/** Bounds of each index, as member parts (keys after the collection's version prefix). */
export const MEMBER_INDEX_START = Buffer.from([MEMBER_INDEX])
export const MEMBER_INDEX_END = Buffer.from([MEMBER_INDEX + 1])
export const SCORE_INDEX_START = Buffer.from([SCORE_INDEX])
export const SCORE_INDEX_END = Buffer.from([SCORE_INDEX + 1])

/** -0 becomes +0; every other score is kept as it is. */
export const storedScore = (score: number): number => (score === 0 ? 0 : score)

const writeSortable = (out: Buffer, score: number, offset: number): void => {
  out.writeDoubleBE(storedScore(score), offset)
  if ((out[offset] & 0x80) !== 0) {
    for (let i = offset; i < offset + 8; i++) out[i] = ~out[i] & 0xff
  } else out[offset] |= 0x80
}

/** The 8 bytes of `score` whose byte order is its numeric order. */
export const sortableScore = (score: number): Buffer => {
  const out = Buffer.allocUnsafe(8)
  writeSortable(out, score, 0)
  return out
}

/** The score whose sortable encoding starts at `offset` of `bytes`. */
export const scoreFromSortable = (bytes: Uint8Array, offset = 0): number => {
  const copy = Buffer.from(bytes.subarray(offset, offset + 8))
  if ((copy[0] & 0x80) !== 0) copy[0] &= 0x7f
  else for (let i = 0; i < 8; i++) copy[i] = ~copy[i] & 0xff
  return copy.readDoubleBE(0)
}

/** The member index key part of `member`. */
export const memberPart = (member: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(5 + member.length)
  out[0] = MEMBER_INDEX
  out.writeUInt32BE(hash32(member), 1)
  out.set(member, 5)
  return out
}

/** The first member index part at or after hash `hash` (a ZSCAN cursor, a random pick). */
export const memberPartAtHash = (hash: number): Buffer => {
  const out = Buffer.allocUnsafe(5)
  out[0] = MEMBER_INDEX
  out.writeUInt32BE(hash, 1)
  return out
}

export const MEMBER_PART_HEADER = 5

/** The hash and member of a member index part. */
export const parseMemberPart = (part: Uint8Array): { readonly hash: number; readonly member: Buffer } => {
  const view = Buffer.from(part.buffer, part.byteOffset, part.length)
  return { hash: view.readUInt32BE(1), member: view.subarray(MEMBER_PART_HEADER) }
}

/** The score index key part of (score, member); `member` may be a prefix or a bound. */
export const scorePart = (score: number, member: Uint8Array = new Uint8Array(0)): Buffer => {
  const out = Buffer.allocUnsafe(9 + member.length)
  out[0] = SCORE_INDEX
  writeSortable(out, score, 1)
  out.set(member, 9)
  return out
}

export const SCORE_PART_HEADER = 9

/** The score and member of a score index part. */
export const parseScorePart = (part: Uint8Array): { readonly score: number; readonly member: Buffer } => {
  const view = Buffer.from(part.buffer, part.byteOffset, part.length)
  return { score: scoreFromSortable(view, 1), member: view.subarray(SCORE_PART_HEADER) }
}

/** A member index value: the score as a plain big-endian double. */
export const encodeScore = (score: number): Buffer => {
  const out = Buffer.allocUnsafe(8)
  out.writeDoubleBE(storedScore(score), 0)
  return out
}

export const decodeScore = (value: Uint8Array): number => {
  if (value.length !== 8) throw new Error("corrupt sorted set member: its score is not 8 bytes")
  return Buffer.from(value.buffer, value.byteOffset, 8).readDoubleBE(0)
}
