/**
 * The default engine: keys and values in memory. Not durable: after a restart the node restores
 * it from the newest snapshot and re-applies the committed log after it (applied index starts at 0).
 *
 * Memory: the pairs live in a CompactStore (CompactStore.ts): records packed into 1 MiB buffers
 * outside the V8 heap, a hash index and a two-level B-tree of record ids for key order: ~72 bytes
 * for a 12-byte string key and value, where JS strings in a Map and a B+ tree took ~121 and two
 * heap objects per key (which every full garbage collection then had to mark).
 *
 * Order: a range read costs O(log n) plus what it returns. Iteration reads lazily, a page at a
 * time, each page continuing after the last key of the previous one (the node never writes while
 * one of its reads iterates, KvEngine.ts).
 *
 * Event loop: the hash index is split in 256 tables, so no rehash copies more than a 256th of the
 * keys. A snapshot copies the live records' addresses (a typed array, a few ms for 1M keys; the
 * records themselves are never rewritten) and encodes them lazily, a bounded slice at a time,
 * yielding to the event loop between slices, so heartbeats keep flowing while a big state is
 * written out.
 */
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { EngineError, keyAfterPrefix, KvEngine, type KeyRange, type WriteOp } from "./KvEngine.js"
import { IoYield } from "../runtime/IoYield.js"
import { fromSnapshotChunks, SNAPSHOT_CHUNK_BYTES } from "./SnapshotFormat.js"
import { CompactStore, Record, readRecord, type StoreView } from "./CompactStore.js"

export { SMALL_VALUE_BYTES } from "./CompactStore.js"

/** At most this many entries, and about this many bytes, are encoded between two event-loop yields. */
const SLICE_ENTRIES = 4096
const SLICE_BYTES = 1024 * 1024

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)

/** Whether `key` lies in `range` (bytewise). */
export const inRange = (key: Uint8Array, range: KeyRange): boolean => {
  const k = asBuffer(key)
  return (
    (range.prefix === undefined || (k.length >= range.prefix.length && Buffer.compare(k.subarray(0, range.prefix.length), range.prefix) === 0)) &&
    (range.gte === undefined || Buffer.compare(k, range.gte) >= 0) &&
    (range.lt === undefined || Buffer.compare(k, range.lt) < 0)
  )
}

/** The range's bounds as one [low, high) pair (undefined: unbounded). */
const rangeBounds = (range: KeyRange): { readonly low: Uint8Array | undefined; readonly high: Uint8Array | undefined } => {
  let low = range.gte
  let high = range.lt
  if (range.prefix !== undefined) {
    if (low === undefined || Buffer.compare(range.prefix, low) > 0) low = range.prefix
    const after = keyAfterPrefix(range.prefix)
    if (after !== undefined && (high === undefined || Buffer.compare(after, high) < 0)) high = after
  }
  return { low, high }
}

/** Keys of one page of a lazy iteration: at most this many pairs are built per pull. */
const PAGE = 1024

/**
 * Encode the view's records from `start` on as SnapshotFormat chunks (records `u32 key length |
 * key | u32 value length | value`, whole records, each chunk up to SNAPSHOT_CHUNK_BYTES or one
 * record), stopping at the first chunk boundary after SLICE_ENTRIES entries or SLICE_BYTES bytes:
 * the synchronous work between two event-loop yields. Returns the chunks and the next start.
 */
const encodeSlice = (view: StoreView, start: number) => {
  const chunks: Array<Uint8Array> = []
  const total = view.addrs.length
  const r = new Record()
  let i = start
  let sliceBytes = 0
  while (i < total && i - start < SLICE_ENTRIES && sliceBytes < SLICE_BYTES) {
    // Size the next chunk: whole records while they fit (one record at least, however large).
    let chunkEnd = i
    let size = 0
    while (chunkEnd < total) {
      readRecord(r, view, chunkEnd)
      const record = 8 + r.keyLength + r.valueLength
      if (chunkEnd > i && size + record > SNAPSHOT_CHUNK_BYTES) break
      size += record
      chunkEnd++
    }
    const chunk = Buffer.allocUnsafe(size)
    let offset = 0
    for (; i < chunkEnd; i++) {
      readRecord(r, view, i)
      offset = chunk.writeUInt32BE(r.keyLength, offset)
      offset += r.buf.copy(chunk, offset, r.keyStart, r.keyStart + r.keyLength)
      offset = chunk.writeUInt32BE(r.valueLength, offset)
      offset += r.buf.copy(chunk, offset, r.valueStart, r.valueStart + r.valueLength)
    }
    chunks.push(chunk)
    sliceBytes += size
  }
  return [chunks, i] as const
}

/** The chunks of a snapshot view, a slice at a time with event-loop yields in between. */
const snapshotChunks = (view: () => StoreView | undefined) =>
  Stream.unfoldChunkEffect(0, (start) => {
    const step = Effect.suspend(() => {
      const current = view()
      if (current === undefined) {
        return Effect.fail(new EngineError({ operation: "snapshot", message: "snapshot read after its scope was closed" }))
      }
      if (start >= current.addrs.length) return Effect.succeed(Option.none())
      const [chunks, next] = encodeSlice(current, start)
      return Effect.succeed(Option.some([Chunk.unsafeFromArray(chunks), next] as const))
    })
    // Let timers and I/O (Raft heartbeats, client sockets) run between slices.
    return start === 0 ? step : Effect.zipRight(Effect.flatMap(IoYield, (ioYield) => ioYield), step)
  })

export const makeMemoryEngine = () => {
  let store = new CompactStore()
  let appliedIndex = 0

  const getNow = (key: Uint8Array) => store.get(key)

  /** The pairs of a range, a page at a time, each page read from the store when it is pulled. */
  const iterate = (range: KeyRange) =>
    Stream.suspend(() => {
      const { low, high } = rangeBounds(range)
      const reverse = range.reverse === true
      let remaining = range.limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, range.limit)
      /** The last key returned (the next page starts after it). */
      let cursor: Uint8Array | undefined
      let done = remaining === 0 || (low !== undefined && high !== undefined && Buffer.compare(low, high) >= 0)
      const nextPage = (): Array<readonly [Uint8Array, Uint8Array]> => {
        const page: Array<readonly [Buffer, Buffer]> = []
        const size = Math.min(PAGE, remaining)
        done = store.scan(low, high, cursor, reverse, size, page)
        remaining -= page.length
        if (remaining === 0) done = true
        if (page.length > 0) cursor = page[page.length - 1][0]
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
          if (op.type === "put") store.put(op.key, op.value)
          else if (op.type === "del") store.delete(op.key)
          else store = new CompactStore()
        }
        store.compact()
        appliedIndex = index
      }),
    appliedIndex: Effect.sync(() => appliedIndex),
    size: Effect.sync(() => store.size),
    // Records are never rewritten, so the live records' addresses and the slab list at this
    // instant are a consistent view, however the store changes while it is read.
    snapshot: Effect.gen(function* () {
      let view: StoreView | undefined = store.view()
      yield* Effect.addFinalizer(() => Effect.sync(() => (view = undefined)))
      return { appliedIndex, chunks: snapshotChunks(() => view) }
    }),
    restore: (chunks, index) =>
      Effect.gen(function* () {
        const restored = new CompactStore()
        yield* fromSnapshotChunks(chunks).pipe(
          Stream.runForEachChunk((pairs) =>
            Effect.sync(() => {
              for (const [key, value] of pairs) restored.put(key, value)
            })
          )
        )
        // Swapped in only when complete: a failed restore leaves the old state untouched.
        store = restored
        appliedIndex = index
      })
  })
}

export const MemoryEngine = {
  layer: Layer.sync(KvEngine, makeMemoryEngine)
}
