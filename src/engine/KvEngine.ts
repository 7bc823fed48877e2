/**
 * The storage-engine contract. An engine is a plain ordered byte-key store; Redis semantics live
 * in the state machine above it (src/commands), so every engine gets every command. Engines are
 * provided as Layers: swapping engines is Layer composition.
 */
import { Context, Data, type Effect, type Scope, type Stream } from "effect"

/** An engine failure. `operation` and `cause` reach the operator in the node's fatal message. */
export class EngineError extends Data.TaggedError("EngineError")<{
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

export type WriteOp =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array }
  /** Remove every key (FLUSHDB), ordered with the other ops of the batch. */
  | { readonly type: "clear" }

/** An ordered key range. Bounds are compared bytewise (unsigned), like LevelDB's default. */
export interface KeyRange {
  readonly prefix?: Uint8Array
  readonly gte?: Uint8Array
  readonly lt?: Uint8Array
  /** At most this many pairs (counted in iteration order). */
  readonly limit?: number
  /** Descending order: from the highest key below `lt` down to `gte`. */
  readonly reverse?: boolean
}

/** A consistent, point-in-time view of an engine, as chunks in the snapshot format. */
export interface EngineSnapshot {
  /** The Raft index of the last entry the snapshot's state includes. */
  readonly appliedIndex: number
  /** The state, in SnapshotFormat chunks (build them with `toSnapshotChunks`). */
  readonly chunks: Stream.Stream<Uint8Array, EngineError>
}

export interface KvEngineService {
  /** Human-readable name, e.g. "memory" or "level", shown by INFO. */
  readonly name: string
  readonly get: (key: Uint8Array) => Effect.Effect<Uint8Array | undefined, EngineError>
  /**
   * Optional: the same read, answered synchronously. An engine that can answer a point read in
   * microseconds provides it (the memory engine; LevelDB through its memtable and caches), and
   * the node then applies and serves a turn's commands without an Effect per read (the hot
   * path). Must agree with `get` at every moment; a failure is thrown as an EngineError.
   */
  readonly getNow?: (key: Uint8Array) => Uint8Array | undefined
  /**
   * Optional: many reads in one call, in the order of `keys`. An engine whose reads wait on I/O
   * provides it (LevelDB: one round trip to its thread pool instead of one per key), and the node
   * then serves the GETs, MGETs, EXISTS and STRLENs that are due together with one call. Must
   * agree with `get` for every key.
   */
  readonly getMany?: (keys: ReadonlyArray<Uint8Array>) => Effect.Effect<ReadonlyArray<Uint8Array | undefined>, EngineError>
  /**
   * Keys and values in ascending (or, with `reverse`, descending) bytewise key order. The node
   * never writes while one of its reads iterates, so an engine may read lazily (the memory engine
   * does, page by page); one that iterates a snapshot (LevelDB, LMDB) is fine too. Each key and
   * value handed out is the caller's to keep (never a buffer the engine reuses).
   */
  readonly iterate: (range: KeyRange) => Stream.Stream<readonly [Uint8Array, Uint8Array], EngineError>
  /**
   * Apply `ops` in order, atomically, together with the Raft index of the last entry they
   * come from. After a crash either the whole batch and its index are visible, or neither.
   */
  readonly write: (ops: ReadonlyArray<WriteOp>, appliedIndex: number) => Effect.Effect<void, EngineError>
  /** The applied index of the last batch written (0 for a new engine); survives reopen when the engine is durable. */
  readonly appliedIndex: Effect.Effect<number, EngineError>
  /** Whether state survives a restart (so the node replays only entries after `appliedIndex`). */
  readonly durable: boolean
  /**
   * How many reads the node may run at once (default 1). Raise it for an engine whose gets wait
   * on I/O; keep 1 for one that answers synchronously (parallelism only adds overhead there).
   */
  readonly readConcurrency?: number
  /** Number of keys (DBSIZE). */
  readonly size: Effect.Effect<number, EngineError>
  /**
   * A consistent view of the current state, readable while writes go on; the view is released
   * when the scope closes.
   */
  readonly snapshot: Effect.Effect<EngineSnapshot, EngineError, Scope.Scope>
  /**
   * Replace the whole state with a snapshot's (chunks as produced by `snapshot`) and set the
   * applied index. A restore interrupted by a crash must not leave a mix of old and new state
   * that claims an applied index: report 0 (and no keys) after such a crash instead.
   */
  readonly restore: (chunks: Stream.Stream<Uint8Array, EngineError>, appliedIndex: number) => Effect.Effect<void, EngineError>
}

export class KvEngine extends Context.Tag("raft-kv/KvEngine")<KvEngine, KvEngineService>() {}

/** Unsigned bytewise comparison, the order every engine iterates in. */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)

/** The smallest key greater than every key that starts with `prefix` (undefined: no such key). */
export const keyAfterPrefix = (prefix: Uint8Array): Buffer | undefined => {
  let i = prefix.length - 1
  while (i >= 0 && prefix[i] === 0xff) i--
  if (i < 0) return undefined
  const after = Buffer.from(prefix.subarray(0, i + 1))
  after[i]++
  return after
}

/**
 * A KeyRange as `[start, end)` bounds over user keys stored behind `namespace` (a prefix that
 * keeps them apart from the engine's own metadata): what an ordered store's range scan takes.
 * `reverse` asks for the same range in descending order.
 */
export const namespacedBounds = (range: KeyRange, namespace: Uint8Array) => {
  const stored = (key: Uint8Array) => Buffer.concat([namespace, key])
  let start = stored(range.gte ?? new Uint8Array(0))
  let end = range.lt !== undefined ? stored(range.lt) : keyAfterPrefix(namespace)!
  if (range.prefix !== undefined) {
    const prefix = stored(range.prefix)
    if (Buffer.compare(prefix, start) > 0) start = prefix
    const after = keyAfterPrefix(prefix)
    if (after !== undefined && Buffer.compare(after, end) < 0) end = after
  }
  return { start, end, reverse: range.reverse === true, ...(range.limit !== undefined ? { limit: range.limit } : {}) }
}
