/**
 * A durable engine on LevelDB (`level`). User keys live under the prefix "d", the applied Raft
 * index under the meta key "m/applied", written in the same atomic batch as the data so that
 * after a crash the engine and its applied index always agree; the node then re-applies only
 * the entries after it.
 */
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { Level } from "level"
import { EngineError, KvEngine, namespacedBounds, type KeyRange, type WriteOp } from "./KvEngine.js"
import { RowCache, ROW_CACHE_MAX_VALUE } from "./RowCache.js"
import { fromSnapshotChunks, toSnapshotChunks } from "./SnapshotFormat.js"

const DATA = 0x64 // "d"
const DATA_PREFIX = Buffer.from([DATA])
const APPLIED_KEY = Buffer.from("m/applied")
/** Present while a restore is replacing the data: a crash then must not leave a mix behind. */
const RESTORING_KEY = Buffer.from("m/restoring")
const RESTORE_BATCH = 1024
/** The row cache's bound: hot keys, not a copy of the data (LevelDB's own block cache is 8 MiB). */
const ROW_CACHE_BYTES = 8 * 1024 * 1024

const idOf = (key: Uint8Array): string =>
  Buffer.isBuffer(key) ? key.toString("latin1") : Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1")

const dataKey = (key: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(key.length + 1)
  out[0] = DATA
  out.set(key, 1)
  return out
}
/** The smallest key after every data key. */
const DATA_END = Buffer.from([DATA + 1])

const encodeIndex = (index: number): Buffer => {
  const out = Buffer.allocUnsafe(8)
  out.writeDoubleBE(index)
  return out
}

const attempt = <A>(operation: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      new EngineError({ operation, message: `LevelDB ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, cause })
  })

/** LevelDB range options for a KeyRange over user keys. */
const levelRange = (range: KeyRange) => {
  const { start, end, ...rest } = namespacedBounds(range, DATA_PREFIX)
  return { gte: start, lt: end, ...rest }
}

/** `cache`: the row cache (a test passes its own to look inside). */
export const makeLevelEngine = (directory: string, cache: RowCache = new RowCache(ROW_CACHE_BYTES)) =>
  Effect.gen(function* () {
    const db = new Level<Uint8Array, Uint8Array>(directory, { keyEncoding: "view", valueEncoding: "view" })
    yield* Effect.acquireRelease(
      attempt("open", () => db.open()).pipe(
        Effect.mapError(
          (error) => new EngineError({ ...error, message: `cannot open LevelDB at ${directory}: ${error.message} (is another node using this --data-dir?)` })
        )
      ),
      () => Effect.promise(() => db.close())
    )

    type Db = typeof db
    type Snapshot = ReturnType<Db["snapshot"]>
    const ALL_DATA = { gte: dataKey(new Uint8Array(0)), lt: DATA_END }

    /** Key/value pairs of a range, optionally as of an explicit LevelDB snapshot. */
    const pairs = (range: KeyRange, snapshot?: Snapshot) =>
      Stream.suspend(() => {
        // Without an explicit snapshot an iterator still reads the state as of its creation.
        const iterator = db.iterator({ ...levelRange(range), ...(snapshot !== undefined ? { snapshot } : {}) })
        return Stream.repeatEffectOption(
          attempt("iterate", () => iterator.nextv(1024)).pipe(
            Effect.mapError(Option.some),
            Effect.flatMap((items) =>
              items.length === 0
                ? Effect.fail(Option.none())
                : Effect.succeed(items.map(([key, value]) => [Buffer.from(key).subarray(1), value] as const))
            )
          )
        ).pipe(Stream.flattenIterables, Stream.ensuring(Effect.promise(() => iterator.close())))
      })

    // A restore that a crash interrupted left partial data: drop it, the node rebuilds from 0.
    if ((yield* attempt("open", () => db.get(RESTORING_KEY))) !== undefined) {
      yield* Effect.logWarning(`LevelDB at ${directory}: an interrupted snapshot restore is discarded`)
      yield* attempt("clear", () => db.clear(ALL_DATA))
      yield* attempt("write", () => db.batch([{ type: "del", key: RESTORING_KEY }, { type: "put", key: APPLIED_KEY, value: encodeIndex(0) }], { sync: true }))
    }

    /** classic-level's getSync; an error (a corrupt table, a closed database) stops the node like any engine failure. */
    const syncGet = (key: Buffer): Uint8Array | undefined => {
      try {
        return db.getSync(key)
      } catch (cause) {
        throw new EngineError({ operation: "get", message: `LevelDB get failed: ${cause instanceof Error ? cause.message : String(cause)}`, cause })
      }
    }

    /** Batches submitted to LevelDB and not yet confirmed: while any is, reads do not fill the cache. */
    let writesInFlight = 0
    const cachedOrRead = (key: Uint8Array): Uint8Array | undefined => {
      const id = idOf(key)
      const cached = cache.get(id)
      if (cached !== undefined) return cached ?? undefined
      const value = syncGet(dataKey(key))
      // Read and remembered in one turn of the event loop, so never older than a confirmed write;
      // during a write LevelDB may hold the batch before its confirmation updates the cache.
      if (writesInFlight === 0) cache.set(id, value ?? null)
      return value
    }
    /** Asynchronous reads use the cache but never fill it: their value may predate a write that completed meanwhile. */
    const readMany = (keys: ReadonlyArray<Uint8Array>) =>
      Effect.suspend(() => {
        const values: Array<Uint8Array | undefined> = new Array(keys.length)
        const missing: Array<number> = []
        keys.forEach((key, i) => {
          const cached = cache.get(idOf(key))
          if (cached === undefined) missing.push(i)
          else values[i] = cached ?? undefined
        })
        if (missing.length === 0) return Effect.succeed(values)
        return Effect.map(attempt("get", () => db.getMany(missing.map((i) => dataKey(keys[i])))), (found) => {
          missing.forEach((position, i) => (values[position] = found[i]))
          return values
        })
      })
    /**
     * Apply `batch` and keep the cache equal to LevelDB throughout: the batch's keys leave the cache
     * before it is submitted (a read meanwhile goes to LevelDB itself, as it would without a cache)
     * and come back with their new values once LevelDB confirms it. Uninterruptible: LevelDB commits
     * a submitted batch whether or not anyone waits for it.
     */
    const writeThrough = (ops: ReadonlyArray<WriteOp>, submit: (clears: boolean) => Effect.Effect<void, EngineError>) =>
      Effect.uninterruptible(
        Effect.suspend(() => {
          const clears = ops.some((op) => op.type === "clear")
          if (clears) cache.clear()
          const ids = clears ? [] : ops.map((op) => (op.type === "clear" ? "" : idOf(op.key)))
          // Deleted keys come back (as absent) only where they were cached: the reaper's thousands
          // of deletes of keys nobody reads would push out the hot ones. Every put comes back (a
          // pushed list element is what the next pop reads).
          const deletedCached = new Set<string>()
          for (let i = 0; i < ids.length; i++) if (cache.delete(ids[i]) && ops[i].type === "del") deletedCached.add(ids[i])
          writesInFlight++
          return Effect.ensuring(submit(clears), Effect.sync(() => writesInFlight--)).pipe(
            Effect.tap(() => {
              // In batch order: a key may be put, then deleted, in one batch.
              for (let i = 0; i < ids.length; i++) {
                const op = ops[i]
                if (op.type === "put") cache.set(ids[i], op.value.length <= ROW_CACHE_MAX_VALUE ? cache.copy(op.value) : op.value)
                else if (op.type === "del" && (cache.delete(ids[i]) || deletedCached.has(ids[i]))) cache.set(ids[i], null)
              }
            })
          )
        })
      )

    const readApplied = (snapshot?: Snapshot) =>
      attempt("read applied index", () => db.get(APPLIED_KEY, snapshot !== undefined ? { snapshot } : {})).pipe(
        Effect.map((value) => (value === undefined ? 0 : Buffer.from(value).readDoubleBE(0)))
      )

    return KvEngine.of({
      name: "level",
      durable: true,
      // Range reads are asynchronous (libuv's thread pool): overlap those of one applier turn.
      readConcurrency: 64,
      get: (key) =>
        Effect.suspend(() => {
          const cached = cache.get(idOf(key))
          return cached !== undefined ? Effect.succeed(cached ?? undefined) : attempt("get", () => db.get(dataKey(key)))
        }),
      // A point read from LevelDB's memtable and caches takes ~4 µs synchronously against ~40 µs
      // through the thread pool; the state machine's read-modify-writes (LPOP reads the element
      // it removes) wait for each read in turn, so the synchronous one is what they need.
      getNow: cachedOrRead,
      // One thread-pool round trip for every key of an applier turn's reads.
      getMany: readMany,
      iterate: (range) => pairs(range),
      write: (ops: ReadonlyArray<WriteOp>, appliedIndex: number) =>
        writeThrough(ops, (clears) =>
          Effect.gen(function* () {
            const batch = db.batch()
            // Keys this batch has put so far, so a "clear" removes them as well as stored ones
            // (tracked only in a batch that has one: this is every write's path).
            const putInBatch = new Map<string, Buffer>()
            for (const op of ops) {
              if (op.type === "put") {
                const key = dataKey(op.key)
                batch.put(key, op.value)
                if (clears) putInBatch.set(key.toString("latin1"), key)
              } else if (op.type === "del") batch.del(dataKey(op.key))
              else {
                // FLUSHDB: delete every key present now, inside this same atomic batch.
                for (const key of yield* attempt("clear", () => db.keys(ALL_DATA).all())) batch.del(key)
                for (const key of putInBatch.values()) batch.del(key)
                putInBatch.clear()
              }
            }
            batch.put(APPLIED_KEY, encodeIndex(appliedIndex))
            yield* attempt("write", () => batch.write())
          })
        ),
      appliedIndex: readApplied(),
      size: attempt("count", async () => {
        let count = 0
        for await (const _ of db.keys(ALL_DATA)) count++
        return count
      }),
      snapshot: Effect.gen(function* () {
        const snapshot = yield* Effect.acquireRelease(
          Effect.sync(() => db.snapshot()),
          (s) => Effect.promise(() => s.close())
        )
        return { appliedIndex: yield* readApplied(snapshot), chunks: toSnapshotChunks(pairs({}, snapshot)) }
      }),
      restore: (chunks, appliedIndex) =>
        Effect.gen(function* () {
          cache.clear()
          yield* attempt("restore", () => db.put(RESTORING_KEY, new Uint8Array([1]), { sync: true }))
          yield* attempt("restore", () => db.clear(ALL_DATA))
          yield* fromSnapshotChunks(chunks).pipe(
            Stream.grouped(RESTORE_BATCH),
            Stream.runForEach((group) =>
              attempt("restore", () =>
                db.batch(Chunk.toReadonlyArray(group).map(([key, value]) => ({ type: "put" as const, key: dataKey(key), value: Buffer.from(value) })))
              )
            )
          )
          yield* attempt("restore", () =>
            db.batch([{ type: "put", key: APPLIED_KEY, value: encodeIndex(appliedIndex) }, { type: "del", key: RESTORING_KEY }], { sync: true })
          )
          cache.clear()
        })
    })
  })

export const LevelEngine = {
  /** A LevelDB engine in `directory`, closed when the layer's scope closes. */
  layer: (directory: string): Layer.Layer<KvEngine, EngineError> => Layer.scoped(KvEngine, makeLevelEngine(directory))
}
