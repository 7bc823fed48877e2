/**
 * The default engine: keys and values in memory. Not durable: after a restart the node restores
 * it from the newest snapshot and re-applies the committed log after it (applied index starts at 0).
 *
 * Memory: keys, and values up to SMALL_VALUE_BYTES, are held as latin1 strings (one char per
 * byte), which V8 stores as a 16-byte header plus the bytes; a Buffer per value costs a ~100-byte
 * typed-array object on top of its bytes. Larger values stay Buffer copies: as heap strings they
 * would be copied by every young-generation GC (writes of 1 KB values measured 2.5x slower), and
 * a GET of one would copy it.
 *
 * Order: the keys are also kept in a B+ tree (sorted-btree, keys only), so a range read costs
 * O(log n) plus what it returns, and a write of a new key O(log n); overwrites touch only the map.
 * Iteration reads lazily, a page at a time, over an O(1) clone of the key order.
 *
 * Event loop: the map is split in 256 (runtime/ShardedMap.ts), so no rehash of a growing or
 * shrinking map copies more than a 256th of the keys (one Map of a million keys held the event
 * loop for ~0.3 s each time it doubled). A snapshot takes the map's keys and values as two arrays (a fast native copy of
 * references, ~50 ms for 1M keys) and encodes them lazily, a bounded slice at a time, yielding to
 * the event loop between slices, so heartbeats keep flowing while a big state is written out.
 */
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { EngineError, keyAfterPrefix, KvEngine, type KeyRange, type WriteOp } from "./KvEngine.js"
import { IoYield } from "../runtime/IoYield.js"
import { fromSnapshotChunks, SNAPSHOT_CHUNK_BYTES } from "./SnapshotFormat.js"
import { ShardedMap } from "../runtime/ShardedMap.js"
import { BTree } from "../runtime/SortedKeys.js"

/** A stored value: latin1 string when small, else a Buffer the engine owns. */
type Stored = string | Buffer

/**
 * Values up to this size are stored as latin1 strings. A GET then allocates a fresh Buffer, which
 * is cheaper than the stored one's memory only while the value is small.
 */
export const SMALL_VALUE_BYTES = 64
/** At most this many entries, and about this many bytes, are encoded between two event-loop yields. */
const SLICE_ENTRIES = 4096
const SLICE_BYTES = 1024 * 1024

/** Bytes as a latin1 string (one char per byte, any byte value round-trips). */
const latin1 = (bytes: Uint8Array): string =>
  Buffer.isBuffer(bytes) ? bytes.toString("latin1") : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1")

const toKey = latin1
const fromKey = (key: string): Buffer => Buffer.from(key, "latin1")

/** Copy: the value may be a view into a large network frame or WAL buffer. */
const toStored = (value: Uint8Array): Stored => (value.length <= SMALL_VALUE_BYTES ? latin1(value) : Buffer.from(value))
/** A fresh Buffer for a small value; the engine's own (never mutated) copy for a large one. */
const fromStored = (value: Stored): Buffer => (typeof value === "string" ? Buffer.from(value, "latin1") : value)

/** Whether `key` lies in `range` (bytewise). */
export const inRange = (key: Uint8Array, range: KeyRange): boolean => inStringRange(toKey(key), stringRange(range))

/** A KeyRange with its bounds as latin1 strings: JS string order is then unsigned bytewise order. */
interface StringRange {
  readonly prefix: string | undefined
  readonly gte: string | undefined
  readonly lt: string | undefined
}
const stringRange = (range: KeyRange): StringRange => ({
  prefix: range.prefix === undefined ? undefined : latin1(range.prefix),
  gte: range.gte === undefined ? undefined : latin1(range.gte),
  lt: range.lt === undefined ? undefined : latin1(range.lt)
})
const inStringRange = (key: string, range: StringRange): boolean =>
  (range.prefix === undefined || key.startsWith(range.prefix)) &&
  (range.gte === undefined || key >= range.gte) &&
  (range.lt === undefined || key < range.lt)

/** Unsigned bytewise order of latin1 keys: UTF-16 code unit order over chars 0-255 is exactly that. */
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The range's bounds as one [low, high) pair of latin1 strings (undefined: unbounded). */
const rangeBounds = (range: KeyRange): { readonly low: string | undefined; readonly high: string | undefined } => {
  const bounds = stringRange(range)
  let low = bounds.gte
  let high = bounds.lt
  if (bounds.prefix !== undefined) {
    if (low === undefined || bounds.prefix > low) low = bounds.prefix
    const after = range.prefix === undefined ? undefined : keyAfterPrefix(range.prefix)
    const afterText = after === undefined ? undefined : latin1(after)
    if (afterText !== undefined && (high === undefined || afterText < high)) high = afterText
  }
  return { low, high }
}

/** Keys of one page of a lazy iteration: at most this many pairs are built per pull. */
const PAGE = 1024

/**
 * Encode entries from `start` on as SnapshotFormat chunks (records `u32 key length | key | u32
 * value length | value`, whole records, each chunk up to SNAPSHOT_CHUNK_BYTES or one record),
 * stopping at the first chunk boundary after SLICE_ENTRIES entries or SLICE_BYTES bytes: the
 * synchronous work between two event-loop yields. Returns the chunks and the next start.
 */
const encodeSlice = (keys: ReadonlyArray<string>, values: ReadonlyArray<Stored>, start: number) => {
  const chunks: Array<Uint8Array> = []
  const total = keys.length
  let i = start
  let sliceBytes = 0
  while (i < total && i - start < SLICE_ENTRIES && sliceBytes < SLICE_BYTES) {
    // Size the next chunk: whole records while they fit (one record at least, however large).
    let chunkEnd = i
    let size = 0
    while (chunkEnd < total) {
      const record = 8 + keys[chunkEnd].length + values[chunkEnd].length // latin1: one char per byte
      if (chunkEnd > i && size + record > SNAPSHOT_CHUNK_BYTES) break
      size += record
      chunkEnd++
    }
    const chunk = Buffer.allocUnsafe(size)
    let offset = 0
    for (; i < chunkEnd; i++) {
      const key = keys[i]
      const value = values[i]
      offset = chunk.writeUInt32BE(key.length, offset)
      offset += chunk.write(key, offset, "latin1")
      offset = chunk.writeUInt32BE(value.length, offset)
      if (typeof value === "string") offset += chunk.write(value, offset, "latin1")
      else {
        chunk.set(value, offset)
        offset += value.length
      }
    }
    chunks.push(chunk)
    sliceBytes += size
  }
  return [chunks, i] as const
}

/** The chunks of a snapshot view, a slice at a time with event-loop yields in between. */
const snapshotChunks = (view: () => { readonly keys: ReadonlyArray<string>; readonly values: ReadonlyArray<Stored> } | undefined) =>
  Stream.unfoldChunkEffect(0, (start) => {
    const step = Effect.suspend(() => {
      const current = view()
      if (current === undefined) {
        return Effect.fail(new EngineError({ operation: "snapshot", message: "snapshot read after its scope was closed" }))
      }
      if (start >= current.keys.length) return Effect.succeed(Option.none())
      const [chunks, next] = encodeSlice(current.keys, current.values, start)
      return Effect.succeed(Option.some([Chunk.unsafeFromArray(chunks), next] as const))
    })
    // Let timers and I/O (Raft heartbeats, client sockets) run between slices.
    return start === 0 ? step : Effect.zipRight(Effect.flatMap(IoYield, (ioYield) => ioYield), step)
  })

export const makeMemoryEngine = () => {
  let data = new ShardedMap<Stored>()
  /** The same keys in bytewise order (values live in `data`): ordered ranges read only what they return. */
  let order = new BTree<string, undefined>(undefined, compareKeys)
  let appliedIndex = 0

  const getNow = (key: Uint8Array) => {
    const value = data.get(toKey(key))
    return value === undefined ? undefined : fromStored(value)
  }

  /**
   * The pairs of a range, a page at a time from the key order as it was when the stream started
   * (an O(1) copy-on-write clone), with each page's values read when the page is.
   */
  const iterate = (range: KeyRange) =>
    Stream.suspend(() => {
      const keys = order.clone()
      const { low, high } = rangeBounds(range)
      const reverse = range.reverse === true
      let remaining = range.limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, range.limit)
      /** Where the next page starts: the last key of the previous page (excluded). */
      let cursor: string | undefined
      let started = false
      let done = remaining === 0 || (low !== undefined && high !== undefined && low >= high)
      const nextPage = (): Array<readonly [Uint8Array, Uint8Array]> => {
        const page: Array<readonly [Uint8Array, Uint8Array]> = []
        const iterator = reverse
          ? keys.entriesReversed(started ? cursor : high, undefined, true)
          : keys.entries(started ? cursor : low)
        started = true
        for (let step = iterator.next(); !step.done; step = iterator.next()) {
          const key = step.value[0]
          if (!reverse && key === cursor) continue
          if (reverse ? low !== undefined && key < low : high !== undefined && key >= high) {
            done = true
            break
          }
          if (reverse && high !== undefined && key >= high) continue
          cursor = key
          const value = data.get(key)
          if (value !== undefined) {
            page.push([fromKey(key), fromStored(value)])
            if (--remaining === 0) {
              done = true
              break
            }
          }
          if (page.length >= PAGE) return page
        }
        done = true
        return page
      }
      return Stream.repeatEffectOption(
        Effect.suspend(() => {
          if (done) return Effect.fail(Option.none())
          const page = nextPage()
          return page.length === 0 && done ? Effect.fail(Option.none()) : Effect.succeed(page)
        })
      ).pipe(Stream.flattenIterables)
    })

  return KvEngine.of({
    name: "memory",
    durable: false,
    get: (key) => Effect.sync(() => getNow(key)),
    getNow,
    iterate,
    write: (ops: ReadonlyArray<WriteOp>, index: number) =>
      Effect.sync(() => {
        for (const op of ops) {
          if (op.type === "put") {
            const key = toKey(op.key)
            if (data.set(key, toStored(op.value))) order.set(key, undefined)
          } else if (op.type === "del") {
            const key = toKey(op.key)
            if (data.delete(key)) order.delete(key)
          } else {
            data = new ShardedMap()
            order = new BTree<string, undefined>(undefined, compareKeys)
          }
        }
        appliedIndex = index
      }),
    appliedIndex: Effect.sync(() => appliedIndex),
    size: Effect.sync(() => data.size),
    // Stored values are immutable (strings, or Buffers never written after the copy), so the
    // map's keys and values at this instant are a consistent view. Copying them into two arrays
    // is a fast loop; a copy of the maps would rehash every key (~10x slower).
    snapshot: Effect.gen(function* () {
      let view: { readonly keys: Array<string>; readonly values: Array<Stored> } | undefined = data.entries()
      yield* Effect.addFinalizer(() => Effect.sync(() => (view = undefined)))
      return { appliedIndex, chunks: snapshotChunks(() => view) }
    }),
    restore: (chunks, index) =>
      Effect.gen(function* () {
        const restored = new ShardedMap<Stored>()
        const restoredOrder = new BTree<string, undefined>(undefined, compareKeys)
        yield* fromSnapshotChunks(chunks).pipe(
          Stream.runForEachChunk((pairs) =>
            Effect.sync(() => {
              for (const [key, value] of pairs) {
                const stored = toKey(key)
                restored.set(stored, toStored(value))
                restoredOrder.set(stored, undefined)
              }
            })
          )
        )
        // Swapped in only when complete: a failed restore leaves the old state untouched.
        data = restored
        order = restoredOrder
        appliedIndex = index
      })
  })
}

export const MemoryEngine = {
  layer: Layer.sync(KvEngine, makeMemoryEngine)
}
