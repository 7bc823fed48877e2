/**
 * The memory engine's store: every key and value packed as bytes into large buffers ("slabs")
 * outside the V8 heap, with an open-addressing hash index and a two-level B-tree of record ids
 * for key order (SortedIds.ts). Synchronous and single-owner; the engine (MemoryEngine.ts) wraps
 * it in the KvEngine contract.
 *
 * Why: a million keys held as JS strings in a Map and a B+ tree cost ~121 bytes per key (a
 * 12-byte key's meta record with a 12-byte value, measured with `--expose-gc`) and two heap
 * objects per key, which every full collection marks: 0.8-1 s for a million keys on the busy
 * 2-core test machine, most of an election timeout. Here a key costs its record (two length
 * bytes, key, value), 8 bytes of address, 4 of hash, its hash-index slot (~8) and its place in
 * the key order (~12, id and abbreviation): ~72 bytes for the same key, 1.6 of them in the V8
 * heap, and a full collection of the store alone takes 15-30 ms on the same machine.
 *
 * - Records are `varint key length | varint value length | key | value`, appended to the current
 *   1 MiB slab; a record of 256 KiB or more gets a buffer of its own. Bytes once written are
 *   never changed: an overwrite appends a new record and a delete leaves the old one dead. So a
 *   snapshot is a copy of the live records' addresses plus the slab list, read while writes go
 *   on, and a large value can be handed out as a view.
 * - A slab whose records are all dead is dropped at once; one that is more than half dead is
 *   compacted (its live records copied to the current slab) a slab per write batch, so dead bytes
 *   stay below about half of what is held.
 * - A key has a stable id (reused after a delete): the hash index and the key order (SortedIds.ts,
 *   blocks of ids in Int32Arrays) hold ids, a Float64Array maps an id to its record's address
 *   (slab · 2^20 + offset), so moving a record rewrites one number. The order compares a record's
 *   key bytes against the key being inserted, deleted or sought.
 * - The hash index is split in 256 tables (by hash), so a table that grows or shrinks rehashes a
 *   256th of the keys (one table of a million keys would hold the event loop while it doubled).
 */
import { abbreviate, SortedIds } from "./SortedIds.js"

const SLAB_SHIFT = 20
const SLAB_BYTES = 1 << SLAB_SHIFT
const SLAB_SPAN = SLAB_BYTES
const INV_SPAN = 1 / SLAB_SPAN
/** A record at least this large gets a buffer of its own (released as soon as it is dead). */
const OWN_SLAB_BYTES = SLAB_BYTES / 4
const SHARDS = 256
const MIN_TABLE = 8
/** `addrs` entry of an unused id. */
const FREE = -1
/** Values up to this size are returned as copies; larger ones as read-only views of their slab. */
export const SMALL_VALUE_BYTES = 64

const EMPTY = Buffer.alloc(0)

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5)

const writeVarint = (out: Buffer, offset: number, n: number): number => {
  while (n >= 0x80) {
    out[offset++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 0x80)
  }
  out[offset++] = n
  return offset
}

/** FNV-1a over `length` bytes from `start`. */
const hashBytes = (bytes: Uint8Array, start: number, length: number): number => {
  let hash = 0x811c9dc5
  for (let i = start, end = start + length; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193)
  return (hash ^ (hash >>> 15)) >>> 0
}

const compareRanges = (a: Uint8Array, aStart: number, aLength: number, b: Uint8Array, bStart: number, bLength: number): number => {
  const n = aLength < bLength ? aLength : bLength
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i] - b[bStart + i]
    if (d !== 0) return d
  }
  return aLength - bLength
}

/** A consistent view of the live records at one instant: their addresses and the slabs they are in. */
export interface StoreView {
  readonly addrs: Float64Array
  readonly slabs: ReadonlyArray<Buffer | undefined>
}

/** Where a record's key and value lie; filled by `Record.at` (one reusable instance, no allocation per read). */
export class Record {
  buf: Buffer = EMPTY
  keyStart = 0
  keyLength = 0
  valueStart = 0
  valueLength = 0

  /** Decode the record at `addr` of `slabs`. */
  at(slabs: ReadonlyArray<Buffer | undefined>, addr: number): this {
    const slab = Math.floor(addr * INV_SPAN)
    const buf = slabs[slab]!
    let o = addr - slab * SLAB_SPAN
    let byte = buf[o++]
    let keyLength = byte & 0x7f
    for (let scale = 0x80; byte >= 0x80; scale *= 0x80) {
      byte = buf[o++]
      keyLength += (byte & 0x7f) * scale
    }
    byte = buf[o++]
    let valueLength = byte & 0x7f
    for (let scale = 0x80; byte >= 0x80; scale *= 0x80) {
      byte = buf[o++]
      valueLength += (byte & 0x7f) * scale
    }
    this.buf = buf
    this.keyStart = o
    this.keyLength = keyLength
    this.valueStart = o + keyLength
    this.valueLength = valueLength
    return this
  }

  /** The record's whole size in bytes (headers included). */
  get size(): number {
    return varintSize(this.keyLength) + varintSize(this.valueLength) + this.keyLength + this.valueLength
  }

  /** A copy of the key. */
  key(): Buffer {
    const out = Buffer.allocUnsafe(this.keyLength)
    this.buf.copy(out, 0, this.keyStart, this.keyStart + this.keyLength)
    return out
  }

  /** The value: a copy when small, else a view of the slab (never written again). */
  value(): Buffer {
    const start = this.valueStart
    const end = start + this.valueLength
    if (this.valueLength > SMALL_VALUE_BYTES) return this.buf.subarray(start, end)
    const out = Buffer.allocUnsafe(this.valueLength)
    this.buf.copy(out, 0, start, end)
    return out
  }
}

export class CompactStore {
  private slabs: Array<Buffer | undefined> = []
  private slabUsed: Array<number> = []
  private slabDead: Array<number> = []
  private freeSlabs: Array<number> = []
  /** Slabs more than half dead, compacted one per `compact()` call. */
  private fragmented = new Set<number>()
  /** The slab records are appended to (-1: none yet). */
  private current = -1

  /** Record address by id (FREE when unused), and the key's hash by id. */
  private addrs = new Float64Array(1024)
  private hashes = new Uint32Array(1024)
  private freeIds: Array<number> = []
  private nextId = 0

  /** Per shard: open addressing with linear probing, slots hold id + 1 (0: empty). */
  private readonly tables: Array<Int32Array> = Array.from({ length: SHARDS }, () => new Int32Array(MIN_TABLE))
  private readonly shardCounts = new Int32Array(SHARDS)
  private count = 0

  private readonly a = new Record()
  /** Every id in its key's bytewise order. */
  private readonly order = new SortedIds(
    (id, key) => {
      const r = this.a.at(this.slabs, this.addrs[id])
      return compareRanges(r.buf, r.keyStart, r.keyLength, key, 0, key.length)
    },
    (id) => {
      const r = this.a.at(this.slabs, this.addrs[id])
      return new Uint8Array(r.buf.buffer, r.buf.byteOffset + r.keyStart, r.keyLength).slice()
    },
    (id, offset) => {
      const r = this.a.at(this.slabs, this.addrs[id])
      return abbreviate(r.buf.subarray(r.keyStart, r.keyStart + r.keyLength), offset)
    }
  )
  /** The record read by `get` and `scan`. */
  private readonly record = new Record()

  get size(): number {
    return this.count
  }

  /** The value stored under `key`, undefined when there is none. */
  get(key: Uint8Array): Buffer | undefined {
    const id = this.find(key, 0, key.length, hashBytes(key, 0, key.length))
    return id < 0 ? undefined : this.record.at(this.slabs, this.addrs[id]).value()
  }

  put(key: Uint8Array, value: Uint8Array): void {
    const hash = hashBytes(key, 0, key.length)
    const existing = this.find(key, 0, key.length, hash)
    const addr = this.append(key, value)
    if (existing >= 0) {
      this.release(this.addrs[existing])
      this.addrs[existing] = addr
      return
    }
    const id = this.newId()
    this.addrs[id] = addr
    this.hashes[id] = hash
    this.insertSlot(id, hash)
    this.count++
    this.order.insert(id, key)
  }

  /** Remove `key`; returns whether it was there. */
  delete(key: Uint8Array): boolean {
    const hash = hashBytes(key, 0, key.length)
    const id = this.find(key, 0, key.length, hash)
    if (id < 0) return false
    this.order.delete(id, key)
    this.removeSlot(id, hash)
    this.release(this.addrs[id])
    this.addrs[id] = FREE
    this.freeIds.push(id)
    this.count--
    return true
  }

  /**
   * Up to `max` pairs in key order (descending when `reverse`) within [low, high), strictly after
   * `after` in that order when given, pushed to `out`. Returns whether the range is exhausted.
   * Synchronous: the tree is walked and left within the call.
   */
  scan(
    low: Uint8Array | undefined,
    high: Uint8Array | undefined,
    after: Uint8Array | undefined,
    reverse: boolean,
    max: number,
    out: Array<readonly [Buffer, Buffer]>
  ): boolean {
    const r = this.record
    const from = reverse ? (after ?? high) : (after ?? low)
    let exhausted = true
    this.order.walk(from, reverse, (id) => {
      r.at(this.slabs, this.addrs[id])
      if (!reverse) {
        if (after !== undefined && compareRanges(r.buf, r.keyStart, r.keyLength, after, 0, after.length) <= 0) return true
        if (high !== undefined && compareRanges(r.buf, r.keyStart, r.keyLength, high, 0, high.length) >= 0) return false
      } else {
        if (from !== undefined && compareRanges(r.buf, r.keyStart, r.keyLength, from, 0, from.length) >= 0) return true
        if (low !== undefined && compareRanges(r.buf, r.keyStart, r.keyLength, low, 0, low.length) < 0) return false
      }
      out.push([r.key(), r.value()])
      if (out.length < max) return true
      exhausted = false
      return false
    })
    return exhausted
  }

  /** The live records now: their addresses (a copy) and the slab list (a copy; slabs are never rewritten). */
  view(): StoreView {
    const addrs = new Float64Array(this.count)
    let n = 0
    for (let id = 0; id < this.nextId; id++) {
      const addr = this.addrs[id]
      if (addr !== FREE) addrs[n++] = addr
    }
    return { addrs, slabs: this.slabs.slice() }
  }

  /**
   * Copy the live records of at most one slab that is more than half dead to the current slab,
   * and drop it. Called after each write batch: bounded work (at most a slab, 1 MiB).
   */
  compact(): void {
    for (const slab of this.fragmented) {
      this.fragmented.delete(slab)
      if (slab === this.current || this.slabs[slab] === undefined) continue
      const buf = this.slabs[slab]
      const used = this.slabUsed[slab]
      const r = this.record
      for (let offset = 0; offset < used; ) {
        const addr = slab * SLAB_SPAN + offset
        r.at(this.slabs, addr)
        const size = r.size
        const id = this.find(r.buf, r.keyStart, r.keyLength, hashBytes(r.buf, r.keyStart, r.keyLength))
        if (id >= 0 && this.addrs[id] === addr) this.addrs[id] = this.appendRaw(buf!, offset, size)
        offset += size
      }
      this.dropSlab(slab)
      return
    }
  }

  // ------------------------------------------------------------------ records

  private append(key: Uint8Array, value: Uint8Array): number {
    const size = varintSize(key.length) + varintSize(value.length) + key.length + value.length
    const addr = this.reserve(size)
    const slab = Math.floor(addr * INV_SPAN)
    const buf = this.slabs[slab]!
    let o = writeVarint(buf, addr - slab * SLAB_SPAN, key.length)
    o = writeVarint(buf, o, value.length)
    buf.set(key, o)
    buf.set(value, o + key.length)
    return addr
  }

  private appendRaw(from: Buffer, offset: number, size: number): number {
    const addr = this.reserve(size)
    const slab = Math.floor(addr * INV_SPAN)
    from.copy(this.slabs[slab]!, addr - slab * SLAB_SPAN, offset, offset + size)
    return addr
  }

  /** Room for a record of `size` bytes: its address. */
  private reserve(size: number): number {
    if (size >= OWN_SLAB_BYTES) {
      const own = this.newSlab(size)
      this.slabUsed[own] = size
      return own * SLAB_SPAN
    }
    if (this.current < 0 || this.slabUsed[this.current] + size > SLAB_BYTES) {
      const done = this.current
      this.current = this.newSlab(SLAB_BYTES)
      if (done >= 0) this.settle(done)
    }
    const offset = this.slabUsed[this.current]
    this.slabUsed[this.current] = offset + size
    return this.current * SLAB_SPAN + offset
  }

  private newSlab(bytes: number): number {
    const slab = this.freeSlabs.pop() ?? this.slabs.length
    this.slabs[slab] = Buffer.allocUnsafeSlow(bytes)
    this.slabUsed[slab] = 0
    this.slabDead[slab] = 0
    return slab
  }

  /** The record at `addr` is no longer live. */
  private release(addr: number): void {
    const slab = Math.floor(addr * INV_SPAN)
    this.slabDead[slab] += this.record.at(this.slabs, addr).size
    if (slab !== this.current) this.settle(slab)
  }

  /** A slab no longer appended to: dropped when all dead, queued for compaction when mostly dead. */
  private settle(slab: number): void {
    const dead = this.slabDead[slab]
    const used = this.slabUsed[slab]
    if (dead >= used) this.dropSlab(slab)
    else if (dead * 2 > used) this.fragmented.add(slab)
  }

  private dropSlab(slab: number): void {
    this.slabs[slab] = undefined
    this.slabUsed[slab] = 0
    this.slabDead[slab] = 0
    this.fragmented.delete(slab)
    this.freeSlabs.push(slab)
  }

  // ------------------------------------------------------------------ ids and the hash index

  private newId(): number {
    const reused = this.freeIds.pop()
    if (reused !== undefined) return reused
    if (this.nextId === this.addrs.length) {
      const addrs = new Float64Array(this.addrs.length * 2)
      addrs.set(this.addrs)
      this.addrs = addrs
      const hashes = new Uint32Array(this.hashes.length * 2)
      hashes.set(this.hashes)
      this.hashes = hashes
    }
    return this.nextId++
  }

  /** The id whose key equals the `length` bytes of `bytes` from `start`, or -1. */
  private find(bytes: Uint8Array, start: number, length: number, hash: number): number {
    const table = this.tables[hash & (SHARDS - 1)]
    const mask = table.length - 1
    const r = this.a
    for (let i = (hash >>> 8) & mask; ; i = (i + 1) & mask) {
      const slot = table[i]
      if (slot === 0) return -1
      const id = slot - 1
      if (this.hashes[id] === hash) {
        r.at(this.slabs, this.addrs[id])
        if (compareRanges(r.buf, r.keyStart, r.keyLength, bytes, start, length) === 0) return id
      }
    }
  }

  private insertSlot(id: number, hash: number): void {
    const shard = hash & (SHARDS - 1)
    let table = this.tables[shard]
    if ((this.shardCounts[shard] + 1) * 4 > table.length * 3) table = this.resize(shard, table.length * 2)
    const mask = table.length - 1
    let i = (hash >>> 8) & mask
    while (table[i] !== 0) i = (i + 1) & mask
    table[i] = id + 1
    this.shardCounts[shard]++
  }

  private removeSlot(id: number, hash: number): void {
    const shard = hash & (SHARDS - 1)
    const table = this.tables[shard]
    const mask = table.length - 1
    let i = (hash >>> 8) & mask
    while (table[i] !== id + 1) i = (i + 1) & mask
    // Backward-shift deletion: move later entries of the probe run into the hole when their home
    // slot is not in (hole, j], so every entry stays reachable from its home without tombstones.
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = (this.hashes[table[j] - 1] >>> 8) & mask
      const stays = i <= j ? i < home && home <= j : i < home || home <= j
      if (!stays) {
        table[i] = table[j]
        i = j
      }
    }
    table[i] = 0
    const count = --this.shardCounts[shard]
    if (table.length > MIN_TABLE && count * 8 < table.length) this.resize(shard, table.length / 2)
  }

  private resize(shard: number, size: number): Int32Array {
    const old = this.tables[shard]
    const table = new Int32Array(size)
    const mask = size - 1
    for (const slot of old) {
      if (slot === 0) continue
      let i = (this.hashes[slot - 1] >>> 8) & mask
      while (table[i] !== 0) i = (i + 1) & mask
      table[i] = slot
    }
    this.tables[shard] = table
    return table
  }
}

/** Read the records of a view: `Record.at` over the view's own slab list. */
export const readRecord = (record: Record, view: StoreView, index: number): Record => record.at(view.slabs, view.addrs[index])
