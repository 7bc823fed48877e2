/**
 * Record ids kept in key order for the memory engine's CompactStore: a two-level B-tree whose
 * leaves are blocks of up to BLOCK ids in Int32Arrays (outside the V8 heap) under one array of
 * blocks. The order is the store's comparator (the records' key bytes); every id stands for a
 * distinct key.
 *
 * Why not sorted-btree (a general B+ tree of JS arrays): for a million keys its arrays held
 * ~16 MB of the V8 heap, which every full collection marks and whose pages V8 keeps committed;
 * these blocks hold ~5 bytes per key outside the heap, and the heap only sees one small object
 * per block. A search is a binary search over the blocks' last ids, then one inside a block; an
 * insert or delete moves at most a block's ids (a memmove), and a block split or merge moves the
 * block array's references (a few thousand for a million keys).
 */

/** Ids per block. */
const BLOCK = 512
/** A block with fewer ids than this is merged with its successor when both fit in 3/4 of a block. */
const MERGE_BELOW = BLOCK / 4

export class SortedIds {
  private blocks: Array<Int32Array> = []
  private counts: Array<number> = []
  private total = 0

  /** `compare(a, b)` orders two ids (by their keys); `compareToProbe(id)` orders an id against the current probe key. */
  constructor(
    private readonly compare: (a: number, b: number) => number,
    private readonly compareToProbe: (id: number) => number
  ) {}

  get size(): number {
    return this.total
  }

  /** Add `id` (its key must not be in the set yet). */
  insert(id: number): void {
    if (this.blocks.length === 0) {
      const block = new Int32Array(BLOCK)
      block[0] = id
      this.blocks.push(block)
      this.counts.push(1)
      this.total = 1
      return
    }
    // The first block whose last id sorts after `id`, else the last block.
    let lo = 0
    let hi = this.blocks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compare(this.blocks[mid][this.counts[mid] - 1], id) > 0) hi = mid
      else lo = mid + 1
    }
    let b = lo
    if (this.counts[b] === BLOCK) {
      this.split(b)
      if (this.compare(this.blocks[b][this.counts[b] - 1], id) < 0) b++
    }
    const block = this.blocks[b]
    const count = this.counts[b]
    let i = 0
    let j = count
    while (i < j) {
      const mid = (i + j) >>> 1
      if (this.compare(block[mid], id) < 0) i = mid + 1
      else j = mid
    }
    block.copyWithin(i + 1, i, count)
    block[i] = id
    this.counts[b] = count + 1
    this.total++
  }

  /** Remove `id`; returns whether it was there. */
  delete(id: number): boolean {
    const b = this.blockOf((x) => this.compare(x, id))
    if (b === this.blocks.length) return false
    const block = this.blocks[b]
    const count = this.counts[b]
    const i = this.indexIn(block, count, (x) => this.compare(x, id))
    if (i === count || block[i] !== id) return false
    block.copyWithin(i, i + 1, count)
    this.counts[b] = count - 1
    this.total--
    if (count === 1) {
      this.blocks.splice(b, 1)
      this.counts.splice(b, 1)
    } else if (count - 1 < MERGE_BELOW && b + 1 < this.blocks.length && count - 1 + this.counts[b + 1] <= (BLOCK * 3) / 4) {
      block.set(this.blocks[b + 1].subarray(0, this.counts[b + 1]), count - 1)
      this.counts[b] = count - 1 + this.counts[b + 1]
      this.blocks.splice(b + 1, 1)
      this.counts.splice(b + 1, 1)
    }
    return true
  }

  /**
   * Visit ids in order from the first whose key is at or after the probe (`fromProbe`) or from
   * the first id, until `visit` returns false. With `reverse`, visit downwards from the last id
   * whose key is before the probe (or from the last id).
   */
  walk(fromProbe: boolean, reverse: boolean, visit: (id: number) => boolean): void {
    if (this.blocks.length === 0) return
    let b = 0
    let i = 0
    if (fromProbe) {
      b = this.blockOf(this.compareToProbe)
      i = b === this.blocks.length ? 0 : this.indexIn(this.blocks[b], this.counts[b], this.compareToProbe)
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
    this.walk(false, false, (id) => {
      out.push(id)
      return true
    })
    return out
  }

  /** The first block whose last id is at or after the target (`versus(id)` = id against the target), or blocks.length. */
  private blockOf(versus: (id: number) => number): number {
    let lo = 0
    let hi = this.blocks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (versus(this.blocks[mid][this.counts[mid] - 1]) >= 0) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** The first index in the block whose id is at or after the target, or count. */
  private indexIn(block: Int32Array, count: number, versus: (id: number) => number): number {
    let lo = 0
    let hi = count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (versus(block[mid]) >= 0) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** Split full block `b` in two halves. */
  private split(b: number): void {
    const block = this.blocks[b]
    const half = BLOCK >>> 1
    const upper = new Int32Array(BLOCK)
    upper.set(block.subarray(half, BLOCK))
    this.blocks.splice(b + 1, 0, upper)
    this.counts.splice(b + 1, 0, BLOCK - half)
    this.counts[b] = half
  }
}
