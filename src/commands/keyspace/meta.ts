/**
 * The meta record of a key: its type, its expiry, and either a string's value or a collection's
 * version (where its members live), size and (lists) the position of its first element.
 *
 *   u8 type | 0x80 when an expiry follows   [f64 expireAt (epoch ms)]
 *   string:      value bytes
 *   collection:  f64 version · f64 size     [f64 head (lists)]
 *
 * A plain string costs one byte over its value. The record is persisted (on-disk format).
 */
export const KeyType = { String: 0, Hash: 1, List: 2, Set: 3, ZSet: 4 } as const
export type KeyType = (typeof KeyType)[keyof typeof KeyType]
export type CollectionType = Exclude<KeyType, 0>

/** TYPE's answers, by KeyType. */
export const TYPE_NAMES: ReadonlyArray<string> = ["string", "hash", "list", "set", "zset"]

const HAS_EXPIRY = 0x80

export interface StringMeta {
  readonly type: 0
  /** Epoch milliseconds; 0: no expiry. */
  readonly expireAt: number
  readonly value: Uint8Array
}

export interface CollectionMeta {
  readonly type: CollectionType
  readonly expireAt: number
  /** Where the members live (layout.memberPrefix); unique for the life of the store. */
  readonly version: number
  /** Number of members (fields, elements). A collection that becomes empty is deleted. */
  readonly size: number
  /** Lists: the position of the first element (elements occupy head .. head + size - 1). */
  readonly head: number
}

export type Meta = StringMeta | CollectionMeta

export const isCollection = (meta: Meta): meta is CollectionMeta => meta.type !== KeyType.String

export const encodeMeta = (meta: Meta): Buffer => {
  const expiry = meta.expireAt !== 0 ? 8 : 0
  if (meta.type === KeyType.String) {
    const out = Buffer.allocUnsafe(1 + expiry + meta.value.length)
    out[0] = meta.type | (expiry !== 0 ? HAS_EXPIRY : 0)
    if (expiry !== 0) out.writeDoubleBE(meta.expireAt, 1)
    out.set(meta.value, 1 + expiry)
    return out
  }
  const list = meta.type === KeyType.List
  const out = Buffer.allocUnsafe(1 + expiry + 16 + (list ? 8 : 0))
  out[0] = meta.type | (expiry !== 0 ? HAS_EXPIRY : 0)
  if (expiry !== 0) out.writeDoubleBE(meta.expireAt, 1)
  out.writeDoubleBE(meta.version, 1 + expiry)
  out.writeDoubleBE(meta.size, 9 + expiry)
  if (list) out.writeDoubleBE(meta.head, 17 + expiry)
  return out
}

/** Decode a stored meta record; undefined when it is malformed (the caller treats it as corruption). */
export const decodeMeta = (bytes: Uint8Array): Meta | undefined => {
  if (bytes.length === 0) return undefined
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  const type = view[0] & 0x7f
  const expiry = (view[0] & HAS_EXPIRY) !== 0 ? 8 : 0
  if (view.length < 1 + expiry) return undefined
  const expireAt = expiry !== 0 ? view.readDoubleBE(1) : 0
  if (type === KeyType.String) return { type, expireAt, value: view.subarray(1 + expiry) }
  if (type > KeyType.ZSet) return undefined
  const list = type === KeyType.List
  if (view.length !== 1 + expiry + 16 + (list ? 8 : 0)) return undefined
  return {
    type: type as CollectionType,
    expireAt,
    version: view.readDoubleBE(1 + expiry),
    size: view.readDoubleBE(9 + expiry),
    head: list ? view.readDoubleBE(17 + expiry) : 0
  }
}

/** Whether a key with this expiry is gone at `now` (Redis: expired once now > when... at when). */
export const isExpired = (expireAt: number, now: number): boolean => expireAt !== 0 && expireAt <= now

/**
 * GET's fast path over a stored record without building a Meta: the string's value, undefined
 * when the key is absent or expired, or "wrongtype" for a collection.
 */
export const stringValueOf = (stored: Uint8Array | undefined, now: number): Uint8Array | undefined | "wrongtype" => {
  if (stored === undefined || stored.length === 0) return undefined
  const flags = stored[0]
  if ((flags & 0x7f) !== KeyType.String) return "wrongtype"
  if ((flags & HAS_EXPIRY) === 0) return stored.subarray(1)
  const view = Buffer.isBuffer(stored) ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  return isExpired(view.readDoubleBE(1), now) ? undefined : stored.subarray(9)
}
