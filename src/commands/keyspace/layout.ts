/**
 * How the Redis keyspace is laid out on a plain ordered byte store (every engine gets every type).
 * The first byte of every engine key names its family:
 *
 *   'm' u32 db · u32 hash(key) · key          → meta record of a key (type, expiry, and a string's
 *                                                value, or a collection's version and size)
 *   's' u64 version · member part             → one field / element / member of a collection
 *   'e' u64 expireAt · u32 db · key           → expiry index, in time order (what the reaper scans)
 *   'g' u64 version                           → a deleted collection whose members are still to be
 *                                                removed (in slices, through the log); the value is
 *                                                the last member part removed so far (empty: none)
 *   'f' u32 db                                → a flushed database whose keys are still to be removed;
 *                                                the value is the last meta key removed so far
 *   'w' u16 origin · u64 session              → a WATCH session (keys, dirty flag)
 *   0x00 …                                    → the state machine's own records (clock, databases, counts)
 *
 * - `db` is a physical database id: the 16 logical databases map to physical ids (a record of the
 *   state), so FLUSHDB/FLUSHALL/SWAPDB are O(1): a flush maps the logical database to a fresh id and
 *   leaves the old one to the reaper.
 * - Collections keep their members under a version, not under their name, so RENAME and MOVE are
 *   O(1), and DEL of a collection of any size is O(1): the meta record goes, the version is
 *   recorded as garbage and its members are removed later in bounded slices.
 * - Keys within a database are ordered by a 32-bit hash of the key: SCAN's cursor is the next hash
 *   to visit, so it is a plain integer, stateless and the same on every node, and every key present
 *   for the whole scan is returned once its hash is passed. Hash and set members are ordered the
 *   same way (HSCAN, SSCAN, and a random member is one seek from a random hash).
 *
 * Every multi-byte number is big-endian, so byte order is numeric order. This layout is persisted:
 * changing it (or the hash) changes the on-disk format.
 */

export const Family = {
  Meta: 0x6d, // 'm'
  Member: 0x73, // 's'
  Expiry: 0x65, // 'e'
  Garbage: 0x67, // 'g'
  FlushedDb: 0x66, // 'f'
  Watch: 0x77, // 'w'
  Internal: 0x00
} as const

/** FNV-1a, 32 bits: fast on short keys, and fixed forever (it orders keys on disk). */
export const hash32 = (bytes: Uint8Array): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i]
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

const writeU64 = (out: Buffer, value: number, offset: number): void => {
  // Values are non-negative safe integers (< 2^53).
  out.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset)
  out.writeUInt32BE(value >>> 0, offset + 4)
}

export const readU64 = (bytes: Uint8Array, offset: number): number => {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  return view.readUInt32BE(offset) * 0x1_0000_0000 + view.readUInt32BE(offset + 4)
}

// ---------------------------------------------------------------- meta records

export const META_HEADER = 9

export const metaKey = (db: number, key: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(META_HEADER + key.length)
  out[0] = Family.Meta
  out.writeUInt32BE(db, 1)
  out.writeUInt32BE(hash32(key), 5)
  out.set(key, META_HEADER)
  return out
}

/** The prefix of every meta key of a physical database. */
export const metaPrefix = (db: number): Buffer => {
  const out = Buffer.allocUnsafe(5)
  out[0] = Family.Meta
  out.writeUInt32BE(db, 1)
  return out
}

/** The first meta key of `db` whose key hash is at least `hash` (a SCAN cursor position). */
export const metaKeyAtHash = (db: number, hash: number): Buffer => {
  const out = Buffer.allocUnsafe(META_HEADER)
  out[0] = Family.Meta
  out.writeUInt32BE(db, 1)
  out.writeUInt32BE(hash, 5)
  return out
}

/** The user key and its hash from a meta key. */
export const parseMetaKey = (stored: Uint8Array): { readonly db: number; readonly hash: number; readonly key: Buffer } => {
  const view = Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  return { db: view.readUInt32BE(1), hash: view.readUInt32BE(5), key: view.subarray(META_HEADER) }
}

// ---------------------------------------------------------------- collection members

export const MEMBER_HEADER = 9

/** The smallest byte string after `bytes` (a range that resumes after it starts here). */
export const justAfter = (bytes: Uint8Array): Buffer => Buffer.concat([bytes, Buffer.from([0])])

/** The prefix of every member of the collection stored under `version`. */
export const memberPrefix = (version: number): Buffer => {
  const out = Buffer.allocUnsafe(MEMBER_HEADER)
  out[0] = Family.Member
  writeU64(out, version, 1)
  return out
}

/** A member key: the collection's prefix followed by `parts` (already encoded by the type). */
export const memberKey = (version: number, ...parts: ReadonlyArray<Uint8Array>): Buffer => {
  let length = MEMBER_HEADER
  for (const part of parts) length += part.length
  const out = Buffer.allocUnsafe(length)
  out[0] = Family.Member
  writeU64(out, version, 1)
  let offset = MEMBER_HEADER
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** A member part ordered by the member's hash (hash fields, set members): u32 hash · bytes. */
export const hashedPart = (member: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(4 + member.length)
  out.writeUInt32BE(hash32(member), 0)
  out.set(member, 4)
  return out
}

/** The start of the hashed members at or after `hash` (an HSCAN/SSCAN cursor, a random pick). */
export const hashPart = (hash: number): Buffer => {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(hash, 0)
  return out
}

// ---------------------------------------------------------------- expiry index

export const expiryKey = (expireAt: number, db: number, key: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(13 + key.length)
  out[0] = Family.Expiry
  writeU64(out, Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(expireAt))), 1)
  out.writeUInt32BE(db, 9)
  out.set(key, 13)
  return out
}

export const parseExpiryKey = (stored: Uint8Array) => {
  const view = Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  return { expireAt: readU64(view, 1), db: view.readUInt32BE(9), key: view.subarray(13) }
}

/** Every expiry index key for a time before `time` sorts before this. */
export const expiryBound = (time: number): Buffer => {
  const out = Buffer.allocUnsafe(9)
  out[0] = Family.Expiry
  writeU64(out, Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(time))), 1)
  return out
}

// ---------------------------------------------------------------- garbage, flushed databases

export const garbageKey = (version: number): Buffer => {
  const out = Buffer.allocUnsafe(9)
  out[0] = Family.Garbage
  writeU64(out, version, 1)
  return out
}

export const flushedDbKey = (db: number): Buffer => {
  const out = Buffer.allocUnsafe(5)
  out[0] = Family.FlushedDb
  out.writeUInt32BE(db, 1)
  return out
}

export const familyPrefix = (family: number): Buffer => Buffer.from([family])

// ---------------------------------------------------------------- watches

export const watchKey = (origin: number, session: number): Buffer => {
  const out = Buffer.allocUnsafe(11)
  out[0] = Family.Watch
  out.writeUInt16BE(origin, 1)
  writeU64(out, session, 3)
  return out
}

export const parseWatchKey = (stored: Uint8Array) => {
  const view = Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  return { origin: view.readUInt16BE(1), session: readU64(view, 3) }
}

// ---------------------------------------------------------------- the state machine's own records

export const STATE_KEY = Buffer.from("\x00state", "latin1")

export const COUNT_PREFIX = Buffer.from("\x00c", "latin1")

/** How many members of deleted collections are still to be removed (f64). */
export const GARBAGE_MEMBERS_KEY = Buffer.from("\x00garbage", "latin1")

/** Where each node serves clients, as it announced through the log: "\x00n" u16 id → "host:port". */
export const NODE_ADDRESS_PREFIX = Buffer.from("\x00n", "latin1")

export const nodeAddressKey = (node: number): Buffer => {
  const out = Buffer.allocUnsafe(4)
  out.write("\x00n", 0, "latin1")
  out.writeUInt16BE(node, 2)
  return out
}

export const countKey = (db: number): Buffer => {
  const out = Buffer.allocUnsafe(6)
  out.write("\x00c", 0, "latin1")
  out.writeUInt32BE(db, 2)
  return out
}

export { writeU64 }
