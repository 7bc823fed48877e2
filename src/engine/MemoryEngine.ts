/**
 * The default engine: keys and values in memory. Not durable: after a restart the node rebuilds
 * it by re-applying the committed log (applied index starts at 0).
 */
import { Effect, Layer, Stream } from "effect"
import { compareBytes, KvEngine, type KeyRange, type WriteOp } from "./KvEngine.js"
import { fromSnapshotChunks, toSnapshotChunks } from "./SnapshotFormat.js"

/** Keys are held as latin1 strings (one char per byte), which V8 stores compactly. */
const toKey = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1")
const fromKey = (key: string): Buffer => Buffer.from(key, "latin1")

/** Whether `key` lies in `range` (bytewise). */
export const inRange = (key: Uint8Array, range: KeyRange): boolean => {
  if (range.prefix !== undefined) {
    if (key.length < range.prefix.length) return false
    if (compareBytes(key.subarray(0, range.prefix.length), range.prefix) !== 0) return false
  }
  if (range.gte !== undefined && compareBytes(key, range.gte) < 0) return false
  if (range.lt !== undefined && compareBytes(key, range.lt) >= 0) return false
  return true
}

/** Every pair of `data` in `range`, sorted bytewise. */
const sortedPairs = (data: ReadonlyMap<string, Uint8Array>, range: KeyRange) => {
  const matches: Array<readonly [Uint8Array, Uint8Array]> = []
  for (const [key, value] of data) {
    const bytes = fromKey(key)
    if (inRange(bytes, range)) matches.push([bytes, value])
  }
  matches.sort((a, b) => compareBytes(a[0], b[0]))
  return range.limit === undefined ? matches : matches.slice(0, range.limit)
}

export const makeMemoryEngine = () => {
  let data = new Map<string, Uint8Array>()
  let appliedIndex = 0

  return KvEngine.of({
    name: "memory",
    durable: false,
    get: (key) => Effect.sync(() => data.get(toKey(key))),
    iterate: (range) =>
      // A sorted copy of the matching pairs taken when the stream starts: one consistent state.
      Stream.suspend(() => Stream.fromIterable(sortedPairs(data, range))),
    write: (ops: ReadonlyArray<WriteOp>, index: number) =>
      Effect.sync(() => {
        for (const op of ops) {
          // Copy: the value may be a view into a large network frame or WAL buffer.
          if (op.type === "put") data.set(toKey(op.key), Buffer.from(op.value))
          else if (op.type === "del") data.delete(toKey(op.key))
          else data.clear()
        }
        appliedIndex = index
      }),
    appliedIndex: Effect.sync(() => appliedIndex),
    size: Effect.sync(() => data.size),
    // Values are never mutated in place, so a shallow copy of the map is a consistent view.
    snapshot: Effect.sync(() => {
      const view = new Map(data)
      return { appliedIndex, chunks: Stream.suspend(() => toSnapshotChunks(Stream.fromIterable(sortedPairs(view, {})))) }
    }),
    restore: (chunks, index) =>
      Effect.gen(function* () {
        const restored = new Map<string, Uint8Array>()
        yield* fromSnapshotChunks(chunks).pipe(
          Stream.runForEach(([key, value]) => Effect.sync(() => restored.set(toKey(key), Buffer.from(value))))
        )
        // Swapped in only when complete: a failed restore leaves the old state untouched.
        data = restored
        appliedIndex = index
      })
  })
}

export const MemoryEngine = {
  layer: Layer.sync(KvEngine, makeMemoryEngine)
}
