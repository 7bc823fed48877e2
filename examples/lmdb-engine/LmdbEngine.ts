/**
 * A durable engine on LMDB (the `lmdb` package), written from docs/engines.md alone as the
 * example to copy. User keys live under "d", the applied index under "m/applied", written in the
 * same LMDB transaction as the batch; a snapshot is an LMDB read transaction.
 */
import { Effect, Layer, Option, Stream } from "effect"
import { open, type RootDatabase } from "lmdb"
import { EngineError, fromSnapshotChunks, KvEngine, namespacedBounds, toSnapshotChunks, type KeyRange, type WriteOp } from "../../src/index.js"

const DATA = 0x64 // "d"
const APPLIED_KEY = Buffer.from("m/applied")
const RESTORING_KEY = Buffer.from("m/restoring")
const DATA_START = Buffer.from([DATA])
const DATA_END = Buffer.from([DATA + 1])
const RESTORE_BATCH = 1024

const dataKey = (key: Uint8Array) => Buffer.concat([DATA_START, key])
const encodeIndex = (index: number) => {
  const out = Buffer.allocUnsafe(8)
  out.writeDoubleBE(index)
  return out
}
const decodeIndex = (value: Buffer | undefined) => (value === undefined ? 0 : value.readDoubleBE(0))

const fail = (operation: string, directory: string) => (cause: unknown) =>
  new EngineError({ operation, message: `LMDB ${operation} in ${directory} failed: ${cause instanceof Error ? cause.message : String(cause)}`, cause })

/**
 * The LMDB bounds of a KeyRange over user keys (start inclusive, end exclusive). Descending,
 * LMDB starts at `start`: from the range's end (excluded) down to its start (included).
 */
const bounds = (range: KeyRange) => {
  const { start, end, reverse, limit } = namespacedBounds(range, DATA_START)
  const limited = limit !== undefined ? { limit } : {}
  return reverse ? { start: end, end: start, reverse, exclusiveStart: true, inclusiveEnd: true, ...limited } : { start, end, ...limited }
}

export const makeLmdbEngine = (directory: string) =>
  Effect.gen(function* () {
    const db: RootDatabase<Buffer, Buffer> = yield* Effect.acquireRelease(
      Effect.try({ try: () => open<Buffer, Buffer>({ path: directory, keyEncoding: "binary", encoding: "binary" }), catch: fail("open", directory) }),
      (db) => Effect.promise(() => db.close())
    )

    // A restore interrupted by a crash leaves partial data: discard it (applied index 0).
    if (db.get(RESTORING_KEY) !== undefined) {
      yield* Effect.try({
        try: () =>
          db.transactionSync(() => {
            for (const key of db.getKeys({ start: DATA_START, end: DATA_END })) db.removeSync(key)
            db.removeSync(RESTORING_KEY)
            db.putSync(APPLIED_KEY, encodeIndex(0))
          }),
        catch: fail("recover", directory)
      })
    }

    /** Pairs of a range; inside `transaction` when given (a snapshot), else the current state. */
    const pairs = (range: KeyRange, transaction?: ReturnType<typeof db.useReadTransaction>) =>
      Stream.suspend(() => {
        const iterator = db.getRange({ ...bounds(range), ...(transaction ? { transaction } : { snapshot: true }) })[Symbol.iterator]()
        return Stream.repeatEffectOption(
          Effect.try({ try: () => iterator.next(), catch: (e) => Option.some(fail("iterate", directory)(e)) }).pipe(
            Effect.flatMap((item) =>
              item.done ? Effect.fail(Option.none()) : Effect.succeed([item.value.key.subarray(1), item.value.value] as const)
            )
          )
        )
      })

    const applyOps = (ops: ReadonlyArray<WriteOp>) => {
      for (const op of ops) {
        if (op.type === "put") db.putSync(dataKey(op.key), Buffer.from(op.value))
        else if (op.type === "del") db.removeSync(dataKey(op.key))
        else for (const key of db.getKeys({ start: DATA_START, end: DATA_END })) db.removeSync(key)
      }
    }

    return KvEngine.of({
      name: "lmdb",
      durable: true,
      get: (key) => Effect.try({ try: () => db.get(dataKey(key)), catch: fail("get", directory) }),
      iterate: (range) => pairs(range),
      write: (ops, appliedIndex) =>
        Effect.try({
          try: () =>
            db.transactionSync(() => {
              applyOps(ops)
              db.putSync(APPLIED_KEY, encodeIndex(appliedIndex))
            }),
          catch: fail("write", directory)
        }),
      appliedIndex: Effect.try({ try: () => decodeIndex(db.get(APPLIED_KEY)), catch: fail("read applied index", directory) }),
      size: Effect.try({ try: () => db.getKeysCount({ start: DATA_START, end: DATA_END }), catch: fail("count", directory) }),
      snapshot: Effect.gen(function* () {
        const transaction = yield* Effect.acquireRelease(
          Effect.sync(() => db.useReadTransaction()),
          (txn) => Effect.sync(() => txn.done())
        )
        const appliedIndex = decodeIndex(db.get(APPLIED_KEY, { transaction }))
        return { appliedIndex, chunks: toSnapshotChunks(pairs({}, transaction)) }
      }),
      restore: (chunks, appliedIndex) =>
        Effect.gen(function* () {
          yield* Effect.try({
            try: () =>
              db.transactionSync(() => {
                db.putSync(RESTORING_KEY, Buffer.from([1]))
                applyOps([{ type: "clear" }])
              }),
            catch: fail("restore", directory)
          })
          yield* fromSnapshotChunks(chunks).pipe(
            Stream.grouped(RESTORE_BATCH),
            Stream.runForEach((group) =>
              Effect.try({
                try: () => db.transactionSync(() => applyOps([...group].map(([key, value]) => ({ type: "put" as const, key, value })))),
                catch: fail("restore", directory)
              })
            )
          )
          yield* Effect.try({
            try: () =>
              db.transactionSync(() => {
                db.putSync(APPLIED_KEY, encodeIndex(appliedIndex))
                db.removeSync(RESTORING_KEY)
              }),
            catch: fail("restore", directory)
          })
        })
    })
  })

export const LmdbEngine = {
  layer: (directory: string): Layer.Layer<KvEngine, EngineError> => Layer.scoped(KvEngine, makeLmdbEngine(directory))
}
