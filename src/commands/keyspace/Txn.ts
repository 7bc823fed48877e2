/**
 * One apply batch over the engine: reads see the batch's own earlier writes, range reads merge
 * them with the engine's ordered keys, and the engine receives the batch at the end as one atomic
 * write (each key once, with its final value). Reads outside a batch use the same class with no
 * writes, so every command has one implementation.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type { EngineError, KvEngineService, WriteOp } from "../../engine/KvEngine.js"
import { BTree } from "../../runtime/SortedKeys.js"

const latin1 = (bytes: Uint8Array): string =>
  Buffer.isBuffer(bytes) ? bytes.toString("latin1") : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1")

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** A range over engine keys: [gte, lt), ascending or descending, with an optional limit. */
export interface TxnRange {
  readonly gte: Uint8Array
  readonly lt: Uint8Array
  readonly reverse?: boolean
  readonly limit?: number
}

export type Pair = readonly [Buffer, Uint8Array]

interface Written {
  readonly key: Uint8Array
  readonly value: Uint8Array | null
}

/** `getNow` could not answer synchronously (the engine has no synchronous reads). */
export const NOT_LOADED: unique symbol = Symbol("not loaded")

export class Txn {
  /** The batch's writes by key (latin1); null: deleted. */
  private readonly writes = new Map<string, Written>()
  /** Values read from the engine during this batch (null: absent), so a key is fetched once. */
  private readonly cache = new Map<string, Uint8Array | null>()
  /** Deletes outside the batch's view (`delUnseen`), passed to the engine as they are. */
  private readonly unseenDeletes: Array<WriteOp> = []
  /** The written keys in order, built at the batch's first range read and kept up to date after it. */
  private sorted: BTree<string, undefined> | undefined

  constructor(
    readonly engine: KvEngineService,
    /** Lets the event loop run (heartbeats, sockets) between the pages of a long range read. */
    private readonly pause: Effect.Effect<void> = Effect.void
  ) {}

  get size(): number {
    return this.writes.size + this.unseenDeletes.length
  }

  getNow(key: Uint8Array): Uint8Array | undefined | typeof NOT_LOADED {
    const id = latin1(key)
    const written = this.writes.get(id)
    if (written !== undefined) return written.value ?? undefined
    const cached = this.cache.get(id)
    if (cached !== undefined) return cached ?? undefined
    if (this.engine.getNow !== undefined) return this.engine.getNow(key)
    return NOT_LOADED
  }

  get(key: Uint8Array): Effect.Effect<Uint8Array | undefined, EngineError> {
    const now = this.getNow(key)
    if (now !== NOT_LOADED) return Effect.succeed(now)
    const id = latin1(key)
    return Effect.map(this.engine.get(key), (value) => {
      this.cache.set(id, value ?? null)
      return value
    })
  }

  /** Fetch `keys` the batch will read with one engine call, where the engine reads asynchronously. */
  prefetch(keys: ReadonlyArray<Uint8Array>): Effect.Effect<void, EngineError> {
    if (this.engine.getNow !== undefined || this.engine.getMany === undefined) return Effect.void
    return this.load(keys) ?? Effect.void
  }

  /**
   * Make `keys` readable with `getNow`: undefined when they already are (the engine reads
   * synchronously, or the batch holds them), else an Effect that fetches the missing ones (with
   * one `getMany` where the engine has it).
   */
  load(keys: ReadonlyArray<Uint8Array>): Effect.Effect<void, EngineError> | undefined {
    if (this.engine.getNow !== undefined) return undefined
    const missing = keys.filter((key) => {
      const id = latin1(key)
      return !this.writes.has(id) && !this.cache.has(id)
    })
    if (missing.length === 0) return undefined
    const getMany = this.engine.getMany
    const fetched = getMany !== undefined ? getMany(missing) : Effect.forEach(missing, (key) => this.engine.get(key))
    return Effect.map(fetched, (values) => {
      for (let i = 0; i < missing.length; i++) this.cache.set(latin1(missing[i]), values[i] ?? null)
    })
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.record(key, value)
  }

  del(key: Uint8Array): void {
    this.record(key, null)
  }

  /**
   * Delete `key`, which no later read of this batch looks at and no write of it touches (a deleted
   * collection's member: see Keyspace.collectMembers), without the bookkeeping that lets reads see
   * it: the reaper deletes thousands per entry.
   */
  delUnseen(key: Uint8Array): void {
    this.unseenDeletes.push({ type: "del", key })
  }

  private record(key: Uint8Array, value: Uint8Array | null): void {
    const id = latin1(key)
    const isNew = !this.writes.has(id)
    this.writes.set(id, { key, value })
    if (isNew) this.sorted?.set(id, undefined)
  }

  /** The batch as engine operations: every written key once, with its final value. */
  ops(): Array<WriteOp> {
    const ops: Array<WriteOp> = []
    for (const { key, value } of this.writes.values()) ops.push(value === null ? { type: "del", key } : { type: "put", key, value })
    for (const op of this.unseenDeletes) ops.push(op)
    return ops
  }

  /** Whether this batch has written any key in [gte, lt). */
  writesWithin(gte: Uint8Array, lt: Uint8Array): boolean {
    return this.writtenIn(latin1(gte), latin1(lt), false).length > 0
  }

  /** The written keys within [low, high), in the range's order. */
  private writtenIn(low: string, high: string, reverse: boolean): Array<string> {
    if (this.writes.size === 0) return []
    if (this.sorted === undefined) {
      this.sorted = new BTree<string, undefined>(undefined, compareKeys)
      for (const id of this.writes.keys()) this.sorted.set(id, undefined)
    }
    const ids: Array<string> = []
    if (reverse) {
      for (const [id] of this.sorted.entriesReversed(high, undefined, true)) {
        if (id < low) break
        if (id < high) ids.push(id)
      }
    } else {
      for (const [id] of this.sorted.entries(low)) {
        if (id >= high) break
        ids.push(id)
      }
    }
    return ids
  }

  /**
   * The pairs of `range` as the batch sees them, in order. `visit` may stop the read early by
   * returning false (the pair it was given is kept). Long reads yield to the event loop between
   * pages, so a scan of a million keys never holds the node. With `keep` false the pairs are only
   * visited, not returned (a read over everything that keeps little of it, like KEYS).
   */
  range(range: TxnRange, visit?: (pair: Pair) => boolean, keep = true): Effect.Effect<Array<Pair>, EngineError> {
    return Effect.scoped(
      Effect.gen(this, function* () {
        const reverse = range.reverse === true
        const limit = range.limit ?? Number.POSITIVE_INFINITY
        const out: Array<Pair> = []
        if (limit <= 0) return out
        const low = latin1(range.gte)
        const high = latin1(range.lt)
        if (low >= high) return out
        const written = this.writtenIn(low, high, reverse)
        let next = 0
        let stopped = false
        const before = (a: string, b: string) => (reverse ? a > b : a < b)
        let emitted = 0
        const emit = (pair: Pair): void => {
          if (keep) out.push(pair)
          if (++emitted >= limit || (visit !== undefined && !visit(pair))) stopped = true
        }
        /** Emit the batch's live writes that come before `id` (all remaining ones when undefined). */
        const emitWrittenBefore = (id: string | undefined): void => {
          while (!stopped && next < written.length && (id === undefined || before(written[next], id))) {
            const entry = this.writes.get(written[next++])!
            if (entry.value !== null) emit([Buffer.from(entry.key), entry.value])
          }
        }
        // Written keys may hide engine pairs: read enough of the engine to still fill the limit.
        const engineLimit = limit === Number.POSITIVE_INFINITY ? undefined : limit + written.length
        const pull = yield* Stream.toPull(
          this.engine.iterate({ gte: range.gte, lt: range.lt, reverse, ...(engineLimit !== undefined ? { limit: engineLimit } : {}) })
        )
        let pages = 0
        while (!stopped) {
          const chunk = yield* Effect.catchAll(pull, (error) => (Option.isNone(error) ? Effect.succeed(undefined) : Effect.fail(error.value)))
          if (chunk === undefined) break
          for (const [key, value] of Chunk.toReadonlyArray(chunk)) {
            const id = latin1(key)
            emitWrittenBefore(id)
            if (stopped) break
            if (next < written.length && written[next] === id) {
              const entry = this.writes.get(written[next++])!
              if (entry.value !== null) emit([Buffer.from(key), entry.value])
            } else if (!this.writes.has(id)) emit([Buffer.from(key), value])
            if (stopped) break
          }
          if (++pages % 4 === 0) yield* this.pause
        }
        emitWrittenBefore(undefined)
        return out
      })
    )
  }
}
