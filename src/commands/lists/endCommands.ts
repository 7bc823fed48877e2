/**
 * The list commands that work at the ends: LPUSH RPUSH LPUSHX RPUSHX, LPOP RPOP, LMOVE RPOPLPUSH,
 * LMPOP, and the blocking forms BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, which do the same when a
 * source has elements and otherwise answer WOULD_BLOCK for src/commands/blocking.ts to wait (or,
 * inside MULTI, nil).
 */
import { Effect } from "effect"
import { array, bulk, EMPTY_ARRAY, integer, NIL, NIL_ARRAY, ZERO, type Reply } from "../../resp/Reply.js"
import { SOURCE_WRONGTYPE, WOULD_BLOCK } from "../blocking.js"
import { WRONGTYPE } from "../errors.js"
import { isReply } from "../expiryArguments.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import type { Argv, Execute } from "../registry.js"
import { type End, type MpopArguments, parseMpop, parseNonNegative } from "./arguments.js"
import { andThen, asEffect, asList, bulks, corrupt, type Effectful, LAST_POSITION, type ListMeta, part, popMany, popOne, POSITIONS_EXHAUSTED, pushElements, shrinkTo, withMeta } from "./encoding.js"

// ---------------------------------------------------------------- LPUSH RPUSH LPUSHX RPUSHX

export const push =
  (where: End, onlyIfExists: boolean): Execute =>
  ({ ks, db, argv }) =>
    withMeta(ks, db, argv[1], (meta) => {
      const list = asList(meta)
      if (isReply(list)) return list
      if (list === undefined && onlyIfExists) return ZERO
      const next = pushElements(ks, db, argv[1], list, argv.slice(2), where)
      return isReply(next) ? next : integer(next.size)
    })

// ---------------------------------------------------------------- LPOP RPOP

export const pop =
  (where: End): Execute =>
  ({ ks, db, argv }) =>
    withMeta(ks, db, argv[1], (meta) => {
      const hasCount = argv.length === 3
      const list = asList(meta)
      if (isReply(list)) return list
      if (list === undefined) return hasCount ? NIL_ARRAY : NIL
      if (!hasCount) {
        const value = popOne(ks, db, argv[1], list, where)
        return Effect.isEffect(value) ? Effect.map(value, bulk) : bulk(value)
      }
      const count = parseNonNegative(argv[2])!
      if (count === 0) return EMPTY_ARRAY
      return andThen(popMany(ks, db, argv[1], list, count, where), bulks)
    })

// ---------------------------------------------------------------- LMOVE RPOPLPUSH

/**
 * Move one element from an end of `source` (a non-empty list) to an end of `destination`
 * (checked first: WRONGTYPE leaves both alone). A list moved onto itself rotates and keeps its
 * key (and expiry) even with a single element.
 */
const moveElement = (ks: Keyspace, db: number, argv: Argv, source: ListMeta, from: End, to: End): Effectful<Reply> =>
  Effect.gen(function* () {
    const sourceKey = argv[1]
    const destinationKey = argv[2]
    const sameKey = Buffer.compare(sourceKey, destinationKey) === 0
    const destination = sameKey ? source : asList(yield* ks.meta(db, destinationKey))
    if (isReply(destination)) return destination
    const position = from === "left" ? source.head : source.head + source.size - 1
    const value = (yield* ks.member(source.version, part(position))) ?? corrupt(source, position)
    if (sameKey) {
      if (from === to || source.size === 1) {
        ks.touch(db, sourceKey)
        return bulk(value)
      }
      const head = from === "left" ? source.head + 1 : source.head - 1
      if (head < 0 || head + source.size > LAST_POSITION) return POSITIONS_EXHAUSTED
      ks.deleteMember(source.version, part(position))
      ks.putMember(source.version, part(to === "left" ? head : head + source.size - 1), value)
      ks.write(db, sourceKey, { ...source, head }, source)
      return bulk(value)
    }
    ks.deleteMember(source.version, part(position))
    shrinkTo(ks, db, sourceKey, source, from === "left" ? source.head + 1 : source.head, source.size - 1)
    const pushed = pushElements(ks, db, destinationKey, destination, [value], to)
    return isReply(pushed) ? pushed : bulk(value)
  })

export const lmove =
  (ends: (argv: Argv) => readonly [End, End]): Execute =>
  ({ ks, db, argv }) =>
    Effect.flatMap(ks.meta(db, argv[1]), (meta) => {
      const source = asList(meta)
      if (isReply(source)) return Effect.succeed(source)
      if (source === undefined) return Effect.succeed(NIL)
      const [from, to] = ends(argv)
      return moveElement(ks, db, argv, source, from, to)
    })

// ---------------------------------------------------------------- LMPOP

/** Pop from the first non-empty list of `keys`: [key, [elements]], or undefined when all are empty. */
const mpop = (ks: Keyspace, db: number, argv: Argv, options: MpopArguments, wrongType: Reply): Effectful<Reply | undefined> =>
  Effect.gen(function* () {
    for (const position of options.keys) {
      const key = argv[position]
      const list = asList(yield* ks.meta(db, key), wrongType)
      if (isReply(list)) return list
      if (list === undefined) continue
      const values = yield* asEffect(popMany(ks, db, key, list, options.count, options.where))
      return array([bulk(key), bulks(values)])
    }
    return undefined
  })

export const lmpop: Execute = ({ ks, db, argv }) => {
  const options = parseMpop(argv, 1)
  if (isReply(options)) return options
  return Effect.map(mpop(ks, db, argv, options, WRONGTYPE), (reply) => reply ?? NIL_ARRAY)
}

// ---------------------------------------------------------------- the blocking commands

/** BLPOP / BRPOP: pop from the first non-empty list; if all are empty, wait (or, inside MULTI, nil). */
export const bpop =
  (where: End): Execute =>
  ({ ks, db, argv, mayBlock }) =>
    Effect.gen(function* () {
      for (let i = 1; i < argv.length - 1; i++) {
        const list = asList(yield* ks.meta(db, argv[i]), SOURCE_WRONGTYPE)
        if (isReply(list)) return list
        if (list === undefined) continue
        const value = yield* asEffect(popOne(ks, db, argv[i], list, where))
        return array([bulk(argv[i]), bulk(value)])
      }
      return mayBlock === true ? WOULD_BLOCK : NIL_ARRAY
    })

/** BLMOVE / BRPOPLPUSH: LMOVE when the source has elements; if not, wait (or, inside MULTI, nil). */
export const blmove =
  (ends: (argv: Argv) => readonly [End, End]): Execute =>
  ({ ks, db, argv, mayBlock }) =>
    Effect.flatMap(ks.meta(db, argv[1]), (meta) => {
      const source = asList(meta, SOURCE_WRONGTYPE)
      if (isReply(source)) return Effect.succeed(source)
      if (source === undefined) return Effect.succeed(mayBlock === true ? WOULD_BLOCK : NIL)
      const [from, to] = ends(argv)
      return moveElement(ks, db, argv, source, from, to)
    })

export const blmpop: Execute = ({ ks, db, argv, mayBlock }) => {
  const options = parseMpop(argv, 2)
  if (isReply(options)) return options
  return Effect.map(mpop(ks, db, argv, options, SOURCE_WRONGTYPE), (reply) => reply ?? (mayBlock === true ? WOULD_BLOCK : NIL_ARRAY))
}
