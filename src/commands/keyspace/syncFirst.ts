/**
 * Values computed synchronously when the data is at hand, and as an Effect only when a read must
 * wait. The memory engine and LevelDB (through its memtable and caches) answer point reads
 * synchronously, so the common writes (SET, a push, SADD, HSET, ZADD of one member) apply without
 * allocating an Effect per read, and the same command code still serves an engine whose reads wait
 * on I/O. A command reads its key's meta with `withMeta`, makes the members it will touch readable
 * with `withLoaded`, and then decides in plain code with `Keyspace.metaNow`/`loadedMember`.
 */
import { Effect } from "effect"
import type { EngineError } from "../../engine/KvEngine.js"
import type { Reply } from "../../resp/Reply.js"
import type { Keyspace } from "./Keyspace.js"
import type { Meta } from "./meta.js"
import { NOT_LOADED } from "./Txn.js"

export type Effectful<A> = Effect.Effect<A, EngineError>

/** A value now, or an Effect that produces it. */
export type SyncOrEffect<A> = A | Effectful<A>

export const asEffect = <A>(value: SyncOrEffect<A>): Effectful<A> => (Effect.isEffect(value) ? (value as Effectful<A>) : Effect.succeed(value as A))

/** `f` of a value that may still be an Effect: no Effect when there is none. */
export const andThen = <A, B>(value: SyncOrEffect<A>, f: (a: A) => SyncOrEffect<B>): SyncOrEffect<B> =>
  Effect.isEffect(value) ? Effect.flatMap(value as Effectful<A>, (a) => asEffect(f(a))) : f(value as A)

/** Run `body` on the key's meta, without an Effect when the engine (or the batch) answers synchronously. */
export const withMeta = (ks: Keyspace, db: number, key: Uint8Array, body: (meta: Meta | undefined) => SyncOrEffect<Reply>): SyncOrEffect<Reply> => {
  const now = ks.metaNow(db, key)
  return now !== NOT_LOADED ? body(now) : andThen(ks.meta(db, key), body)
}

/**
 * Run `body` once the members at `parts` of the collection at `version` can be read with
 * `ks.loadedMember`: at once when the engine reads synchronously, after one batched fetch otherwise.
 */
export const withLoaded = <A>(ks: Keyspace, version: number, parts: ReadonlyArray<Uint8Array>, body: () => SyncOrEffect<A>): SyncOrEffect<A> => {
  const loading = ks.loadMembers(version, parts)
  return loading === undefined ? body() : andThen(loading, body)
}
