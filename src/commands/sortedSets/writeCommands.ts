/**
 * The sorted-set writes of the members they name (ZADD, ZINCRBY, ZREM) or of the lowest or highest
 * ones (ZPOPMIN, ZPOPMAX, ZMPOP, and the blocking BZPOPMIN, BZPOPMAX, BZMPOP). A write touches only the members it changes (O(log n) each).
 */
import { Effect } from "effect"
import { array, bulk, double, error, integer, NIL, NIL_ARRAY, ZERO, EMPTY_ARRAY, type Reply } from "../../resp/Reply.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import { KeyType, type CollectionMeta } from "../keyspace/meta.js"
import type { Argv, Execute } from "../registry.js"
import { isReply, type MpopArguments, parseMpop, parsePopCount, type ZaddArguments } from "./arguments.js"
import { SOURCE_WRONGTYPE, WOULD_BLOCK } from "../blocking.js"
import { WRONGTYPE } from "../errors.js"
import { SortedSet, type Scored } from "./SortedSet.js"
import { commit, withScoresReply, zsetOf, type Effectful } from "./zsetKey.js"
import { memberPart } from "./encoding.js"
import { withLoaded, withMeta } from "../keyspace/syncFirst.js"

const NAN_SCORE: Reply = error("ERR resulting score is not a number (NaN)")

export const zaddWith = (parse: (argv: Argv) => ZaddArguments | Reply): Execute => ({ ks, db, argv }) => {
  const options = parse(argv)
  if (isReply(options)) return options
  return withMeta(ks, db, argv[1], (previous) => {
    const existing = zsetOf(previous)
    if (isReply(existing)) return existing
    // XX on a missing key: nothing to do.
    if (existing === undefined && options.xx) return options.incr ? NIL : ZERO
    const meta = existing ?? ks.newCollection(KeyType.ZSet)
    const zset = new SortedSet(ks, meta.version)
    const parts = options.elements.map(({ member }) => memberPart(member))
    return withLoaded(ks, meta.version, parts, () => {
      let size = meta.size
      let added = 0
      let updated = 0
      let result: number | undefined
      for (let i = 0; i < parts.length; i++) {
        const { score: given, member } = options.elements[i]
        const current = zset.loadedScore(parts[i])
        if (current !== undefined) {
          if (options.nx) continue
          const score = options.incr ? given + current : given
          if (Number.isNaN(score)) return NAN_SCORE // only INCR (one element) gets here, before any change
          if ((options.lt && score >= current) || (options.gt && score <= current)) continue
          result = score
          if (score !== current) {
            zset.put(member, score, current)
            updated++
          }
        } else {
          if (options.xx) continue
          result = given
          zset.put(member, given, undefined)
          size++
          added++
        }
      }
      if (added > 0 || updated > 0) commit(ks, db, argv[1], meta, existing, size)
      if (added > 0) ks.signalReady(db, argv[1])
      if (options.incr) return result === undefined ? NIL : double(result)
      return integer(options.ch ? added + updated : added)
    })
  })
}

export const zrem: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (previous) => {
    const meta = zsetOf(previous)
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    const zset = new SortedSet(ks, meta.version)
    const parts = argv.slice(2).map(memberPart)
    return withLoaded(ks, meta.version, parts, () => {
      let removed = 0
      for (let i = 0; i < parts.length; i++) {
        const score = zset.loadedScore(parts[i])
        if (score === undefined) continue
        zset.delete(argv[i + 2], score)
        removed++
      }
      if (removed > 0) commit(ks, db, argv[1], meta, meta, meta.size - removed)
      return integer(removed)
    })
  })

/** Remove and return the `count` lowest (or highest) members of a sorted set. */
const popFrom = (ks: Keyspace, db: number, key: Uint8Array, meta: CollectionMeta, count: number, max: boolean): Effectful<Array<Scored>> => {
  const zset = new SortedSet(ks, meta.version)
  return Effect.map(zset.ends(Math.min(count, meta.size), max), (popped) => {
    for (const { member, score } of popped) zset.delete(member, score)
    if (popped.length > 0) commit(ks, db, key, meta, meta, meta.size - popped.length)
    return popped
  })
}

export const zpop = (max: boolean): Execute => ({ ks, db, argv }) => {
  const count = parsePopCount(argv)
  if (isReply(count)) return count
  return withMeta(ks, db, argv[1], (previous) => {
    const meta = zsetOf(previous)
    if (isReply(meta)) return meta
    if (meta === undefined || count === 0) return EMPTY_ARRAY
    return Effect.map(popFrom(ks, db, argv[1], meta, count ?? 1, max), (popped) =>
      // Without a count the reply is one flat [member, score]; with one, pairs (nested in RESP3).
      count === undefined ? array(popped.flatMap(({ member, score }) => [bulk(member), double(score)])) : withScoresReply(popped, true)
    )
  })
}

/** Pop from the first non-empty sorted set of `request.keys`: [key, [[member, score], ...]], or undefined when all are empty. */
const mpop = (ks: Keyspace, db: number, request: MpopArguments, wrongType: Reply): Effectful<Reply | undefined> =>
  Effect.gen(function* () {
    for (const key of request.keys) {
      const meta = zsetOf(yield* ks.meta(db, key), wrongType)
      if (meta === undefined) continue
      if (isReply(meta)) return meta
      const popped = yield* popFrom(ks, db, key, meta, request.count, request.max)
      return array([bulk(key), array(popped.map(({ member, score }) => array([bulk(member), double(score)])))])
    }
    return undefined
  })

export const zmpop: Execute = ({ ks, db, argv }) => {
  const request = parseMpop(argv)
  if (isReply(request)) return request
  return Effect.map(mpop(ks, db, request, WRONGTYPE), (reply) => reply ?? NIL_ARRAY)
}

// ---------------------------------------------------------------- the blocking forms (src/commands/blocking.ts)

/** BZPOPMIN / BZPOPMAX: [key, member, score] from the first non-empty sorted set; if all are empty, wait (or, inside MULTI, nil). */
export const bzpop = (max: boolean): Execute => ({ ks, db, argv, mayBlock }) =>
  Effect.gen(function* () {
    for (let i = 1; i < argv.length - 1; i++) {
      const meta = zsetOf(yield* ks.meta(db, argv[i]), SOURCE_WRONGTYPE)
      if (meta === undefined) continue
      if (isReply(meta)) return meta
      const [{ member, score }] = yield* popFrom(ks, db, argv[i], meta, 1, max)
      return array([bulk(argv[i]), bulk(member), double(score)])
    }
    return mayBlock === true ? WOULD_BLOCK : NIL_ARRAY
  })

/** BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP, or wait (inside MULTI: nil). */
export const bzmpop: Execute = ({ ks, db, argv, mayBlock }) => {
  const request = parseMpop(argv, 2)
  if (isReply(request)) return request
  return Effect.map(mpop(ks, db, request, SOURCE_WRONGTYPE), (reply) => reply ?? (mayBlock === true ? WOULD_BLOCK : NIL_ARRAY))
}
