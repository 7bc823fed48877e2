/**
 * Recently read values by key, for an engine whose point reads cross into native code (LevelDB:
 * ~4 µs a read through N-API and its memtable and tables, where a hit here costs a Map lookup).
 * The state machine reads the same few keys again and again: the meta record of a hot key, the
 * members a command rewrites, the head of a list that LRANGE reads 100 elements of.
 *
 * The engine keeps it coherent (src/engine/LevelEngine.ts): a write's keys leave the cache before
 * LevelDB gets the batch and come back with their new values once LevelDB confirms it (a deleted
 * key only if it was cached: the reaper's thousands of deletes would push out the hot keys), only
 * a synchronous read made while no write is in flight fills it, and FLUSHDB and restore clear it.
 * Absent keys are cached too (null). Bounded in bytes; the oldest entries are dropped first (a
 * hit does not refresh an entry: FIFO, which costs a hot key a reread now and then, not more).
 */

/**
 * What an entry costs beyond its key and value: the Map slot, the key string, the Buffer and its
 * own ArrayBuffer with its backing store (measured on Node 20: ~340 bytes of heap for a 24-byte key
 * and a 10-byte value, and more outside the heap), so the bound is about the memory really held.
 */
const ENTRY_OVERHEAD = 512
/** Values larger than this are not kept (they would push out many small hot ones). */
export const ROW_CACHE_MAX_VALUE = 4096

const costOf = (id: string, value: Uint8Array | null): number => id.length + (value?.length ?? 0) + ENTRY_OVERHEAD

export class RowCache {
  private readonly entries = new Map<string, Uint8Array | null>()
  private bytes = 0
  /**
   * Walks the entries oldest first, kept from one eviction to the next: a new iterator per
   * eviction started over the slots the Map keeps for deleted entries until it rehashes, ~9 µs a
   * set once full. Everything before it is evicted or deleted, and a key set again moves to the end.
   */
  private oldest = this.entries.entries()

  constructor(private readonly capacityBytes: number) {}

  /** The cached value: null when the key is known absent, undefined when not cached. */
  get(id: string): Uint8Array | null | undefined {
    return this.entries.get(id)
  }

  /** Remember `value` (null: absent) for `id`; one too large is not kept. The value must not change afterwards. */
  set(id: string, value: Uint8Array | null): void {
    this.delete(id)
    if (value !== null && value.length > ROW_CACHE_MAX_VALUE) return
    this.entries.set(id, value)
    this.bytes += costOf(id, value)
    while (this.bytes > this.capacityBytes) {
      let oldest = this.oldest.next()
      if (oldest.done === true) {
        this.oldest = this.entries.entries()
        oldest = this.oldest.next()
        if (oldest.done === true) break
      }
      this.entries.delete(oldest.value[0])
      this.bytes -= costOf(oldest.value[0], oldest.value[1])
    }
  }

  /**
   * A copy of `value` with an ArrayBuffer of its own: the caller's bytes may be a view of a larger
   * buffer, or of Node's shared pool, which a cached view would keep alive. (Copies packed into
   * shared chunks cost ~1.5 µs less a put, but an entry left in a chunk kept the whole chunk
   * alive: a hot key rewritten between cold writes pinned ~100x the bound.)
   */
  copy(value: Uint8Array): Uint8Array {
    // Not Buffer.from(new Uint8Array(value).buffer): V8 keeps a small typed array's bytes on its
    // heap and `.buffer` then moves them out, 2-5% of a LevelDB LPUSH's apply in a CPU profile.
    const copy = Buffer.allocUnsafeSlow(value.length)
    copy.set(value)
    return copy
  }

  /** Forget `id`; returns whether it was cached. */
  delete(id: string): boolean {
    const old = this.entries.get(id)
    if (old === undefined) return false
    this.entries.delete(id)
    this.bytes -= costOf(id, old)
    return true
  }

  clear(): void {
    this.entries.clear()
    this.oldest = this.entries.entries()
    this.bytes = 0
  }

  get size(): number {
    return this.entries.size
  }
}
