/**
 * Record ids kept in key order for the memory engine's CompactStore: a two-level B-tree whose
 * leaves are blocks of up to BLOCK ids in Int32Arrays (outside the V8 heap) under one array of
 * blocks. The order is the owner's: `compareTo(id, key)` orders an id's key against a key; every
 * id stands for a distinct key.
 *
 * Why not sorted-btree (a general B+ tree of JS arrays): for a million keys its arrays held
 * ~16 MB of the V8 heap, which every full collection marks and whose pages V8 keeps committed;
 * these blocks hold ~12 bytes per key outside the heap (an id and its abbreviation, below), and
 * the heap only sees a few small objects per block. A search is a binary search over the blocks'
 * bounds, then one inside a block; an insert or delete moves at most a block's ids (a memmove),
 * and a block split or merge moves the block array's references (a few thousand for a million
 * keys).
 *
 * Searches avoid reading stored records, which are spread over tens of MiB for a million keys, so
 * each read is a cache miss (inserts cost 7 µs at a million keys against 2 at 100,000):
 * - each block keeps a copy of its last key as its bound (after a delete of that key, the deleted
 *   key stays the bound: still at or after the block's keys and before the next block's), so the
 *   search over the blocks reads a few thousand small arrays that stay in the CPU's cache;
 * - every key of a block shares its first `prefix` bytes with the block's bound, and the block
 *   keeps, beside each id, the next 4 bytes of its key as a number (its abbreviation). Inside a
 *   block a comparison reads a stored key only when the abbreviations are equal. A split raises
 *   a half's prefix when its keys share two more bytes (members of one collection share at least
 *   their collection's 9-byte prefix, and more as its blocks narrow), reading its keys again; a
 *   key that does not share the prefix, or a merge, lowers it, usually by shifting the shared
 *   bytes into the abbreviations without reading any key.
 * A delete first looks where the previous one was: deleting keys in order (the reaper removing a
 * deleted collection's members) finds each without a comparison.
 */

/** Ids per block. */
const BLOCK = 512
/** A block with fewer ids than this is merged with its successor when both fit in 3/4 of a block. */
const MERGE_BELOW = BLOCK / 4

/** Bytewise order (a loop: Buffer.compare's native call costs more than these short keys). */
const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = a.length < b.length ? a.length : b.length
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i]
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** How many leading bytes `a` and `b` share, at most `limit`. */
const sharedPrefix = (a: Uint8Array, b: Uint8Array, limit: number): number => {
  const n = Math.min(a.length, b.length, limit)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

/**
 * Bytes [offset, offset + 4) of `key` as a big-endian number, missing bytes as 0: when two keys
 * share their first `offset` bytes, different abbreviations order them as their bytes do.
 */
export const abbreviate = (key: Uint8Array, offset: number): number => {
  const n = key.length
  return (
    (((offset < n ? key[offset] : 0) << 24) |
      ((offset + 1 < n ? key[offset + 1] : 0) << 16) |
      ((offset + 2 < n ? key[offset + 2] : 0) << 8) |
      (offset + 3 < n ? key[offset + 3] : 0)) >>>
    0
  )
}

export class SortedIds {
  private blocks: Array<Int32Array> = []
  private counts: Array<number> = []
  /** Per block: a copy of its last id's key, or of a deleted key between that and the next block's first. */
  private lastKeys: Array<Uint8Array> = []
  /** Per block: how many leading bytes its keys share with its last key, and each id's abbreviation after them. */
  private prefixes: Array<number> = []
  private abbrevs: Array<Uint32Array> = []
  private total = 0
  /** Where the last delete was: the id after it is there now, unless the blocks changed since. */
  private hintBlock = 0
  private hintIndex = 0

  /**
   * `compareTo(id, key)` orders the key of `id` against `key`; `keyOf(id)` is a copy of the key
   * of `id` that owns its memory (kept as its block's bound); `abbreviationOf(id,
   * offset)` is `abbreviate` of the key of `id`.
   */
  constructor(
    private readonly compareTo: (id: number, key: Uint8Array) => number,
    private readonly keyOf: (id: number) => Uint8Array,
    private readonly abbreviationOf: (id: number, offset: number) => number
  ) {}

  get size(): number {
    return this.total
  }

  /** Add `id`, whose key is `key` (not in the set yet). */
  insert(id: number, key: Uint8Array): void {
    if (this.blocks.length === 0) {
      const block = new Int32Array(BLOCK)
      block[0] = id
      this.blocks.push(block)
      this.counts.push(1)
      this.lastKeys.push(new Uint8Array(key))
      this.prefixes.push(0)
      this.abbrevs.push(Uint32Array.of(abbreviate(key, 0), ...new Uint32Array(BLOCK - 1)))
      this.total = 1
      return
    }
    // The first block whose last key sorts after `key`, else the last block.
    let b = Math.min(this.blockOf(key), this.blocks.length - 1)
    if (this.counts[b] === BLOCK) {
      this.split(b)
      if (compareBytes(this.lastKeys[b], key) < 0) b++
    }
    const block = this.blocks[b]
    const abbrevs = this.abbrevs[b]
    const count = this.counts[b]
    // A key before the block's first or after its last may not share the block's prefix: lower it.
    // By 4 bytes or more (its keys re-read), lower it at once as far as any key between the
    // previous block's bound and this one's can need: a run of keys each sharing 4 bytes fewer
    // would otherwise re-read the block on every insert.
    const prefix = this.prefixes[b]
    const shared = sharedPrefix(key, this.lastKeys[b], prefix)
    if (shared < prefix) this.lower(b, prefix - shared < 4 ? shared : Math.min(shared, this.floorOf(b)))
    const i = this.indexIn(b, key)
    block.copyWithin(i + 1, i, count)
    block[i] = id
    abbrevs.copyWithin(i + 1, i, count)
    abbrevs[i] = abbreviate(key, this.prefixes[b])
    this.counts[b] = count + 1
    if (i === count) this.lastKeys[b] = new Uint8Array(key)
    this.total++
  }

  /** Remove `id`, whose key is `key`; returns whether it was there. */
  delete(id: number, key: Uint8Array): boolean {
    let b = this.hintBlock
    let i = this.hintIndex
    if (b < this.blocks.length && i < this.counts[b] && this.blocks[b][i] === id) {
      // Found where the previous delete left off.
    } else if (b + 1 < this.blocks.length && i >= this.counts[b] && this.blocks[b + 1][0] === id) {
      b++
      i = 0
    } else {
      b = this.blockOf(key)
      if (b === this.blocks.length) return false
      i = this.indexIn(b, key)
      if (i === this.counts[b] || this.blocks[b][i] !== id) return false
    }
    const block = this.blocks[b]
    const abbrevs = this.abbrevs[b]
    const count = this.counts[b]
    this.hintBlock = b
    this.hintIndex = i
    block.copyWithin(i, i + 1, count)
    abbrevs.copyWithin(i, i + 1, count)
    this.counts[b] = count - 1
    this.total--
    if (count === 1) {
      this.removeBlock(b)
    } else if (count - 1 < MERGE_BELOW && b + 1 < this.blocks.length && count - 1 + this.counts[b + 1] <= (BLOCK * 3) / 4) {
      // Every key of both blocks shares this many bytes with the successor's bound.
      const prefix = Math.min(this.prefixes[b], this.prefixes[b + 1], sharedPrefix(this.lastKeys[b], this.lastKeys[b + 1], Number.POSITIVE_INFINITY))
      this.lower(b, prefix)
      this.lower(b + 1, prefix)
      block.set(this.blocks[b + 1].subarray(0, this.counts[b + 1]), count - 1)
      abbrevs.set(this.abbrevs[b + 1].subarray(0, this.counts[b + 1]), count - 1)
      this.counts[b] = count - 1 + this.counts[b + 1]
      this.lastKeys[b] = this.lastKeys[b + 1]
      this.removeBlock(b + 1)
    }
    // A deleted last id leaves its key as the block's bound: still at or after every key of the
    // block and before the next block's, which is all the searches need.
    return true
  }

  /**
   * Visit ids in order from the first whose key is at or after `from` or from the first id, until
   * `visit` returns false. With `reverse`, visit downwards from the last id whose key is before
   * `from` (or from the last id).
   */
  walk(from: Uint8Array | undefined, reverse: boolean, visit: (id: number) => boolean): void {
    if (this.blocks.length === 0) return
    let b = 0
    let i = 0
    if (from !== undefined) {
      b = this.blockOf(from)
      i = b === this.blocks.length ? 0 : this.indexIn(b, from)
    } else if (reverse) {
      b = this.blocks.length
    }
    if (!reverse) {
      for (; b < this.blocks.length; b++, i = 0) {
        const block = this.blocks[b]
        for (const count = this.counts[b]; i < count; i++) if (!visit(block[i])) return
      }
      return
    }
    // Reverse: the position before (b, i).
    if (i === 0) {
      b--
      if (b < 0) return
      i = this.counts[b]
    }
    for (i--; b >= 0; b--, i = b >= 0 ? this.counts[b] - 1 : 0) {
      const block = this.blocks[b]
      for (; i >= 0; i--) if (!visit(block[i])) return
    }
  }

  /** Every id, in order (for tests). */
  toArray(): Array<number> {
    const out: Array<number> = []
    this.walk(undefined, false, (id) => {
      out.push(id)
      return true
    })
    return out
  }

  /** The first block whose last key is at or after `key`, or blocks.length. */
  private blockOf(key: Uint8Array): number {
    let lo = 0
    let hi = this.blocks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(this.lastKeys[mid], key) >= 0) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /**
   * The first index in block `b` whose key is at or after `key`, or its count. Abbreviations
   * decide where they differ, when `key` shares the block's prefix.
   */
  private indexIn(b: number, key: Uint8Array): number {
    const block = this.blocks[b]
    const abbrevs = this.abbrevs[b]
    const prefix = this.prefixes[b]
    const abbreviated = sharedPrefix(key, this.lastKeys[b], prefix) === prefix
    const probe = abbreviate(key, prefix)
    let lo = 0
    let hi = this.counts[b]
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const stored = abbrevs[mid]
      const order = abbreviated && stored !== probe ? stored - probe : this.compareTo(block[mid], key)
      if (order >= 0) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** Bytes every key that can fall in block `b` shares (between the bounds of `b - 1` and `b`; keys past the last block's bound excepted). */
  private floorOf(b: number): number {
    return b === 0 ? 0 : sharedPrefix(this.lastKeys[b - 1], this.lastKeys[b], Number.POSITIVE_INFINITY)
  }

  /** Split full block `b` in two halves. */
  private split(b: number): void {
    const block = this.blocks[b]
    const half = BLOCK >>> 1
    const upper = new Int32Array(BLOCK)
    upper.set(block.subarray(half, BLOCK))
    const upperAbbrevs = new Uint32Array(BLOCK)
    upperAbbrevs.set(this.abbrevs[b].subarray(half, BLOCK))
    this.blocks.splice(b + 1, 0, upper)
    this.abbrevs.splice(b + 1, 0, upperAbbrevs)
    this.counts.splice(b + 1, 0, BLOCK - half)
    this.lastKeys.splice(b + 1, 0, this.lastKeys[b])
    this.prefixes.splice(b + 1, 0, this.prefixes[b])
    this.counts[b] = half
    this.lastKeys[b] = this.keyOf(block[half - 1])
    this.sharpen(b)
    this.sharpen(b + 1)
  }

  /**
   * Raise block `b`'s prefix when its first and last keys (so all of them) share two more bytes:
   * the abbreviations would otherwise tell its keys apart by two bytes or fewer.
   */
  private sharpen(b: number): void {
    const abbrevs = this.abbrevs[b]
    if ((abbrevs[0] ^ abbrevs[this.counts[b] - 1]) >>> 16 !== 0) return
    this.measure(b, sharedPrefix(this.keyOf(this.blocks[b][0]), this.lastKeys[b], Number.POSITIVE_INFINITY))
  }

  /** Lower block `b`'s prefix to `prefix`: by less than 4 bytes, shifting the bound's bytes into each abbreviation. */
  private lower(b: number, prefix: number): void {
    const drop = this.prefixes[b] - prefix
    if (drop <= 0) return
    if (drop >= 4) return this.measure(b, prefix)
    const bound = this.lastKeys[b]
    let high = 0
    for (let i = prefix; i < this.prefixes[b]; i++) high = high * 256 + bound[i]
    high *= 2 ** (32 - 8 * drop)
    const shift = 8 * drop
    const abbrevs = this.abbrevs[b]
    for (let i = 0, count = this.counts[b]; i < count; i++) abbrevs[i] = high + (abbrevs[i] >>> shift)
    this.prefixes[b] = prefix
  }

  /** Set block `b`'s prefix (bytes every key of it shares with its bound) and recompute its abbreviations from the keys. */
  private measure(b: number, prefix: number): void {
    const block = this.blocks[b]
    const abbrevs = this.abbrevs[b]
    this.prefixes[b] = prefix
    for (let i = 0, count = this.counts[b]; i < count; i++) abbrevs[i] = this.abbreviationOf(block[i], prefix)
  }

  private removeBlock(b: number): void {
    this.blocks.splice(b, 1)
    this.abbrevs.splice(b, 1)
    this.counts.splice(b, 1)
    this.lastKeys.splice(b, 1)
    this.prefixes.splice(b, 1)
  }
}
