/**
 * A sorted-set key as the commands find and leave it: looked up (WRONGTYPE for another type),
 * resized after its members changed, replaced by a result (the …STORE commands), and its members
 * replied with or without their scores.
 */
import { Effect } from "effect"
import type { EngineError } from "../../engine/KvEngine.js"
import { array, bulk, double, integer, pairs, ZERO, type Reply } from "../../resp/Reply.js"
import { WRONGTYPE } from "../errors.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import { KeyType, type CollectionMeta, type Meta } from "../keyspace/meta.js"
import { SortedSet, type Scored } from "./SortedSet.js"

export type Effectful<A> = Effect.Effect<A, EngineError>

/** The key's sorted set: undefined when absent, `wrongType` when it holds another type. */
export const zsetOf = (meta: Meta | undefined, wrongType: Reply = WRONGTYPE): CollectionMeta | undefined | Reply => {
  if (meta === undefined) return undefined
  return meta.type === KeyType.ZSet ? meta : wrongType
}

export const readZset = (ks: Keyspace, db: number, key: Uint8Array): Effectful<CollectionMeta | undefined | Reply> => Effect.map(ks.meta(db, key), zsetOf)

/**
 * Record a sorted set's new size after its members changed: a set that became empty is removed
 * (its members are already gone), a changed one rewritten, one whose size held only marked for WATCH.
 */
export const commit = (ks: Keyspace, db: number, key: Uint8Array, meta: CollectionMeta, previous: Meta | undefined, size: number): void => {
  if (size === 0) {
    if (previous !== undefined) ks.remove(db, key, previous, { keepMembers: true })
  } else if (previous === undefined || size !== meta.size) ks.write(db, key, { ...meta, size }, previous)
  else ks.touch(db, key)
}

/** Replace `key` by a new sorted set of `members` (the …STORE commands); an empty result deletes it. */
export const store = (ks: Keyspace, db: number, key: Uint8Array, members: ReadonlyArray<Scored>): Effectful<Reply> =>
  Effect.map(ks.meta(db, key), (previous) => {
    if (members.length === 0) {
      if (previous !== undefined) ks.remove(db, key, previous)
      return ZERO
    }
    const meta = { ...ks.newCollection(KeyType.ZSet), size: members.length }
    const zset = new SortedSet(ks, meta.version)
    for (const { member, score } of members) zset.put(member, score, undefined)
    ks.write(db, key, meta, previous)
    ks.signalReady(db, key)
    return integer(members.length)
  })

export const withScoresReply = (entries: ReadonlyArray<Scored>, withScores: boolean): Reply => {
  if (!withScores) return array(entries.map(({ member }) => bulk(member)))
  const out: Array<Reply> = []
  for (const { member, score } of entries) out.push(bulk(member), double(score))
  return pairs(out)
}
