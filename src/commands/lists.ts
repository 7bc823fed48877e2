/**
 * List commands (redis-server 7.0's t_list.c: replies, error texts and the order in which
 * arguments and keys are checked), with the blocking ones (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BLMPOP) built on src/commands/blocking.ts.
 *
 * Encoding: each element is one member of the list's version, keyed by its position, a u64
 * big-endian number (so member order is list order); the meta record holds `head`, the position
 * of the first element, and `size`: the elements occupy head .. head + size - 1. A new list starts
 * in the middle of the position space (2^52), LPUSH takes head - 1, RPUSH head + size, so pushes
 * and pops at either end, LINDEX and LSET are one member each (O(log n) in any ordered engine);
 * LRANGE reads exactly the positions it returns. LINSERT and LREM shift the shorter side of the
 * list only (Redis's O(N)); LTRIM deletes what it cuts, or, when it keeps fewer elements than it
 * cuts, copies the kept ones to a new version and leaves the old one to the reaper.
 */
import { Effect } from "effect"
import type { EngineError } from "../engine/KvEngine.js"
import { array, bulk, EMPTY_ARRAY, error, integer, NIL, NIL_ARRAY, OK, ZERO, type Reply } from "../resp/Reply.js"
import { type BlockSpec, parseTimeout, SOURCE_WRONGTYPE, WOULD_BLOCK } from "./blocking.js"
import { latin1, NO_SUCH_KEY, NOT_AN_INTEGER, SYNTAX_ERROR, WRONGTYPE, wrongArity } from "./errors.js"
import { isReply } from "./expiryArguments.js"
import { parseInt64 } from "./integers.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import { readU64, writeU64 } from "./keyspace/layout.js"
import { type CollectionMeta, KeyType, type Meta } from "./keyspace/meta.js"
import { NOT_LOADED } from "./keyspace/Txn.js"
import type { Argv, CommandSpec, Execute } from "./registry.js"

type Effectful<A> = Effect.Effect<A, EngineError>

// ---------------------------------------------------------------- positions

/** Where a new list's first element goes: room for 2^52 pushes at either end. */
const START = 2 ** 52
/** Positions are u64 in the key but safe integers in memory. */
const LAST_POSITION = Number.MAX_SAFE_INTEGER

const part = (position: number): Buffer => {
  const out = Buffer.allocUnsafe(8)
  writeU64(out, position, 0)
  return out
}

const positionOf = (member: Uint8Array): number => readU64(member, 0)

const POSITIONS_EXHAUSTED = error("ERR the list has no room left at this end (2^52 pushes); copy it to a new key")

// ---------------------------------------------------------------- errors and arguments

const INDEX_OUT_OF_RANGE = error("ERR index out of range")
const MUST_BE_POSITIVE = error("ERR value is out of range, must be positive")
const NUMKEYS_NOT_POSITIVE = error("ERR numkeys should be greater than 0")
const COUNT_NOT_POSITIVE = error("ERR count should be greater than 0")
const RANK_ZERO = error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
const COUNT_NEGATIVE = error("ERR COUNT can't be negative")
const MAXLEN_NEGATIVE = error("ERR MAXLEN can't be negative")

const LONG_MIN = -(2n ** 63n)

/** LEFT is the head, RIGHT the tail. */
type End = "left" | "right"

/** LEFT or RIGHT (case-insensitive), or undefined. */
const parseEnd = (bytes: Uint8Array): End | undefined => {
  const word = latin1(bytes).toLowerCase()
  return word === "left" || word === "right" ? word : undefined
}

/** A long argument as a JS number (exact up to 2^53; beyond, still ordered right against any list length). */
const parseLong = (bytes: Uint8Array): number | undefined => {
  const value = parseInt64(bytes)
  return value === undefined ? undefined : Number(value)
}

/** getPositiveLongFromObjectOrReply: an integer >= 0, else one error for both a non-integer and a negative. */
const parseNonNegative = (bytes: Uint8Array): number | undefined => {
  const value = parseInt64(bytes)
  return value === undefined || value < 0n ? undefined : Number(value)
}

/** getRangeLongFromObjectOrReply(1, LONG_MAX) with its own message for a non-integer as for zero. */
const parsePositive = (bytes: Uint8Array): number | undefined => {
  const value = parseInt64(bytes)
  return value === undefined || value < 1n ? undefined : Number(value)
}

const validateIntegers =
  (...positions: ReadonlyArray<number>) =>
  (argv: Argv): Reply | undefined =>
    positions.some((position) => parseInt64(argv[position]) === undefined) ? NOT_AN_INTEGER : undefined

// ---------------------------------------------------------------- reading the key

type ListMeta = CollectionMeta

/** The key's list: undefined when absent, `wrongType` when it holds another type. */
const asList = (meta: Meta | undefined, wrongType: Reply = WRONGTYPE): ListMeta | undefined | Reply => {
  if (meta === undefined) return undefined
  return meta.type === KeyType.List ? (meta as ListMeta) : wrongType
}

/** Run `body` on the key's meta, without an Effect when the engine (or the batch) answers synchronously. */
const withMeta = (ks: Keyspace, db: number, key: Uint8Array, body: (meta: Meta | undefined) => Reply | Effectful<Reply>): Reply | Effectful<Reply> => {
  const now = ks.metaNow(db, key)
  return now !== NOT_LOADED ? body(now) : Effect.flatMap(ks.meta(db, key), (meta) => {
    const result = body(meta)
    return Effect.isEffect(result) ? result : Effect.succeed(result)
  })
}

const corrupt = (list: ListMeta, position: number): never => {
  throw new Error(`list element missing at position ${position} (version ${list.version}, head ${list.head}, size ${list.size})`)
}

/** Ranges up to this many elements are read as point reads of their positions; longer ones as a range read that yields between pages. */
const POINT_READS = 1024

/**
 * The elements at positions [from, to) of the list, in order (or reversed). A list's positions are
 * known keys, so a short range is point reads: synchronous on the memory engine (no iteration at
 * all), one `getMany` on LevelDB.
 */
const readRange = (ks: Keyspace, list: ListMeta, from: number, to: number, reverse = false): Array<Uint8Array> | Effectful<Array<Uint8Array>> => {
  if (to - from > POINT_READS) {
    return Effect.map(ks.members(list.version, { from: part(from), to: part(to), ...(reverse ? { reverse: true } : {}) }), (pairs) => {
      if (pairs.length !== to - from) corrupt(list, from)
      return pairs.map(([, value]) => value)
    })
  }
  const parts: Array<Buffer> = []
  for (let i = 0; i < to - from; i++) parts.push(part(reverse ? to - 1 - i : from + i))
  const complete = (values: ReadonlyArray<Uint8Array | undefined>): Array<Uint8Array> =>
    values.map((value, i) => value ?? corrupt(list, reverse ? to - 1 - i : from + i))
  const now = ks.membersNow(list.version, parts)
  return now !== NOT_LOADED ? complete(now) : Effect.map(ks.membersAt(list.version, parts), complete)
}

/** `f` of a value that may still be an Effect: no Effect when there is none. */
const andThen = <A, B>(value: A | Effectful<A>, f: (a: A) => B): B | Effectful<B> =>
  Effect.isEffect(value) ? Effect.map(value as Effectful<A>, f) : f(value as A)

/** Redis's index normalisation for LRANGE and LTRIM: [start, end] within the list, or undefined when empty. */
const normaliseRange = (start: number, end: number, length: number): readonly [number, number] | undefined => {
  if (start < 0) start = length + start
  if (end < 0) end = length + end
  if (start < 0) start = 0
  if (start > end || start >= length) return undefined
  return [start, Math.min(end, length - 1)]
}

// ---------------------------------------------------------------- changing the list

/** Store the list with its new bounds, or remove the key when it is empty (its members are gone). */
const shrinkTo = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, head: number, size: number): void => {
  if (size === 0) ks.remove(db, key, list, { keepMembers: true })
  else ks.write(db, key, { ...list, head, size }, list)
}

/** Push `elements` in order at one end (each LPUSH element becomes the new head). Returns the list, or an error. */
const pushElements = (ks: Keyspace, db: number, key: Uint8Array, previous: ListMeta | undefined, elements: ReadonlyArray<Uint8Array>, where: End): ListMeta | Reply => {
  const base = previous ?? ks.newCollection(KeyType.List, START)
  let head = base.head
  let tail = base.head + base.size
  if (where === "left" ? head - elements.length < 0 : tail + elements.length > LAST_POSITION) return POSITIONS_EXHAUSTED
  for (const element of elements) {
    if (where === "left") ks.putMember(base.version, part(--head), element)
    else ks.putMember(base.version, part(tail++), element)
  }
  const next: ListMeta = { ...base, head, size: base.size + elements.length }
  ks.write(db, key, next, previous)
  // (A new list signals through `write`.)
  if (previous !== undefined) ks.signalReady(db, key)
  return next
}

/** Pop one element from an end of a non-empty list (the key is updated, or removed when emptied). */
const popOne = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, where: End): Uint8Array | Effectful<Uint8Array> => {
  const position = where === "left" ? list.head : list.head + list.size - 1
  const finish = (value: Uint8Array | undefined): Uint8Array => {
    if (value === undefined) return corrupt(list, position)
    ks.deleteMember(list.version, part(position))
    shrinkTo(ks, db, key, list, where === "left" ? list.head + 1 : list.head, list.size - 1)
    return value
  }
  const now = ks.memberNow(list.version, part(position))
  return now !== NOT_LOADED ? finish(now) : Effect.map(ks.member(list.version, part(position)), finish)
}

/** Pop up to `count` elements from an end, in popping order. */
const popMany = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, count: number, where: End): Array<Uint8Array> | Effectful<Array<Uint8Array>> => {
  const n = Math.min(count, list.size)
  const from = where === "left" ? list.head : list.head + list.size - n
  return andThen(readRange(ks, list, from, from + n, where === "right"), (values) => {
    for (let position = from; position < from + n; position++) ks.deleteMember(list.version, part(position))
    shrinkTo(ks, db, key, list, where === "left" ? list.head + n : list.head, list.size - n)
    return values
  })
}

const bulks = (values: ReadonlyArray<Uint8Array>): Reply => array(values.map((value) => bulk(value)))

const asEffect = <A>(value: A | Effectful<A>): Effectful<A> => (Effect.isEffect(value) ? (value as Effectful<A>) : Effect.succeed(value as A))

// ---------------------------------------------------------------- LPUSH RPUSH LPUSHX RPUSHX

const push =
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

const validatePop = (name: string) => (argv: Argv): Reply | undefined => {
  if (argv.length > 3) return wrongArity(name)
  if (argv.length === 3 && parseNonNegative(argv[2]) === undefined) return MUST_BE_POSITIVE
  return undefined
}

const pop =
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

// ---------------------------------------------------------------- reads: LLEN LINDEX LRANGE LPOS

const llen: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    return isReply(list) ? list : integer(list?.size ?? 0)
  })

const lindex: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return NIL
    const index = parseLong(argv[2])
    if (index === undefined) return NOT_AN_INTEGER
    const offset = index < 0 ? list.size + index : index
    if (offset < 0 || offset >= list.size) return NIL
    return Effect.map(ks.member(list.version, part(list.head + offset)), (value) => bulk(value ?? corrupt(list, list.head + offset)))
  })

const lrange: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return EMPTY_ARRAY
    const range = normaliseRange(parseLong(argv[2])!, parseLong(argv[3])!, list.size)
    if (range === undefined) return EMPTY_ARRAY
    return andThen(readRange(ks, list, list.head + range[0], list.head + range[1] + 1), bulks)
  })

interface LposOptions {
  /** Which match to start from, counting from the scan's start (>= 1). */
  readonly rank: number
  /** Scan from the tail. */
  readonly reverse: boolean
  /** Reply with an array of up to `count` matches (0: all); undefined: one match or nil. */
  readonly count: number | undefined
  /** Elements compared at most (0: all). */
  readonly maxlen: number
}

const parseLposOptions = (argv: Argv): LposOptions | Reply => {
  let rank = 1n
  let count: number | undefined
  let maxlen = 0
  for (let i = 3; i < argv.length; i++) {
    const option = latin1(argv[i]).toUpperCase()
    const hasValue = i + 1 < argv.length
    if (option === "RANK" && hasValue) {
      const value = parseInt64(argv[++i])
      if (value === undefined) return NOT_AN_INTEGER
      if (value === 0n) return RANK_ZERO
      rank = value
    } else if (option === "COUNT" && hasValue) {
      const value = parseInt64(argv[++i])
      if (value === undefined || value < 0n) return COUNT_NEGATIVE
      count = Number(value)
    } else if (option === "MAXLEN" && hasValue) {
      const value = parseInt64(argv[++i])
      if (value === undefined || value < 0n) return MAXLEN_NEGATIVE
      maxlen = Number(value)
    } else return SYNTAX_ERROR
  }
  // redis-server negates a negative rank in a long: LONG_MIN stays negative, so every match
  // counts from the first one (as rank 1) and no COUNT ever stops the scan.
  if (rank === LONG_MIN) return { rank: 1, reverse: true, count: count === undefined ? undefined : 0, maxlen }
  return { rank: Number(rank < 0n ? -rank : rank), reverse: rank < 0n, count, maxlen }
}

const lpos: Execute = ({ ks, db, argv }) => {
  const options = parseLposOptions(argv)
  if (isReply(options)) return options
  return withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return options.count !== undefined ? EMPTY_ARRAY : NIL
    const wanted = argv[2]
    const found: Array<Reply> = []
    let matches = 0
    let scanned = 0
    // Returns whether to read on: up to MAXLEN elements, until enough matches.
    const visit = (member: Buffer, value: Uint8Array): boolean => {
      scanned++
      if (Buffer.compare(value, wanted) === 0 && ++matches >= options.rank) {
        found.push(integer(positionOf(member) - list.head))
        if (options.count === undefined || (options.count > 0 && found.length >= options.count)) return false
      }
      return options.maxlen === 0 || scanned < options.maxlen
    }
    const scan = ks.members(list.version, { reverse: options.reverse, visit })
    return Effect.map(scan, () => (options.count !== undefined ? array(found) : (found[0] ?? NIL)))
  })
}

// ---------------------------------------------------------------- LSET LTRIM LREM LINSERT

const lset: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return NO_SUCH_KEY
    const index = parseLong(argv[2])
    if (index === undefined) return NOT_AN_INTEGER
    const offset = index < 0 ? list.size + index : index
    if (offset < 0 || offset >= list.size) return INDEX_OUT_OF_RANGE
    ks.putMember(list.version, part(list.head + offset), argv[3])
    ks.touch(db, argv[1])
    return OK
  })

const ltrim: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return OK
    const range = normaliseRange(parseLong(argv[2])!, parseLong(argv[3])!, list.size)
    if (range === undefined) {
      // Nothing kept: the whole list goes at once, its members to the reaper.
      ks.remove(db, argv[1], list)
      return OK
    }
    const [start, end] = range
    const kept = end - start + 1
    if (kept === list.size) return OK
    if (kept < list.size - kept) {
      // Fewer to keep than to cut: copy the kept elements to a new version; the old one is garbage.
      return andThen(readRange(ks, list, list.head + start, list.head + end + 1), (values) => {
        const copy = { ...ks.newCollection(KeyType.List, START), expireAt: list.expireAt, size: kept }
        values.forEach((value, i) => ks.putMember(copy.version, part(START + i), value))
        ks.write(db, argv[1], copy, list)
        return OK
      })
    }
    for (let offset = 0; offset < start; offset++) ks.deleteMember(list.version, part(list.head + offset))
    for (let offset = end + 1; offset < list.size; offset++) ks.deleteMember(list.version, part(list.head + offset))
    shrinkTo(ks, db, argv[1], list, list.head + start, kept)
    return OK
  })

/**
 * Close the gaps left by removed elements (offsets from the head, ascending) by moving the
 * surviving elements of the cheaper side: those after the first removed one move towards the
 * head, or those before the last removed one towards the tail.
 */
const closeGaps = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, removed: ReadonlyArray<number>): Effectful<void> => {
  const gone = new Set(removed)
  const first = removed[0]
  const last = removed[removed.length - 1]
  const size = list.size - removed.length
  // Survivors after the first removed element, against survivors before the last one.
  const moveTowardsHead = list.size - first - removed.length <= last - (removed.length - 1)
  if (size === 0) {
    for (const offset of removed) ks.deleteMember(list.version, part(list.head + offset))
    ks.remove(db, key, list, { keepMembers: true })
    return Effect.void
  }
  if (moveTowardsHead) {
    return asEffect(andThen(readRange(ks, list, list.head + first, list.head + list.size), (values) => {
      let target = first
      values.forEach((value, i) => {
        const offset = first + i
        if (gone.has(offset)) return
        if (offset !== target) ks.putMember(list.version, part(list.head + target), value)
        target++
      })
      for (let offset = target; offset < list.size; offset++) ks.deleteMember(list.version, part(list.head + offset))
      shrinkTo(ks, db, key, list, list.head, size)
    }))
  }
  return asEffect(andThen(readRange(ks, list, list.head, list.head + last + 1, true), (values) => {
    let target = last
    values.forEach((value, i) => {
      const offset = last - i
      if (gone.has(offset)) return
      if (offset !== target) ks.putMember(list.version, part(list.head + target), value)
      target--
    })
    for (let offset = 0; offset <= target; offset++) ks.deleteMember(list.version, part(list.head + offset))
    shrinkTo(ks, db, key, list, list.head + target + 1, size)
  }))
}

const lrem: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return ZERO
    const count = parseLong(argv[2])!
    const limit = Math.abs(count)
    const wanted = argv[3]
    const removed: Array<number> = []
    const visit = (member: Buffer, value: Uint8Array): boolean => {
      if (Buffer.compare(value, wanted) === 0) removed.push(positionOf(member) - list.head)
      return limit === 0 || removed.length < limit
    }
    return Effect.gen(function* () {
      yield* ks.members(list.version, { reverse: count < 0, visit })
      if (removed.length === 0) return ZERO
      removed.sort((a, b) => a - b)
      yield* closeGaps(ks, db, argv[1], list, removed)
      return integer(removed.length)
    })
  })

const validateLinsert = (argv: Argv): Reply | undefined => {
  const where = latin1(argv[2]).toLowerCase()
  return where === "before" || where === "after" ? undefined : SYNTAX_ERROR
}

const linsert: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return ZERO
    const after = latin1(argv[2]).toLowerCase() === "after"
    const pivot = argv[3]
    const element = argv[4]
    // The elements up to the pivot, kept for the shift towards the head.
    const before: Array<Uint8Array> = []
    let found = false
    const visit = (_member: Buffer, value: Uint8Array): boolean => {
      before.push(value)
      found = Buffer.compare(value, pivot) === 0
      return !found
    }
    return Effect.gen(function* () {
      yield* ks.members(list.version, { visit })
      if (!found) return integer(-1)
      // The new element's offset: the pivot's, or the one after it.
      const at = after ? before.length : before.length - 1
      if (at <= list.size - at) {
        if (list.head - 1 < 0) return POSITIONS_EXHAUSTED
        // Shift the `at` elements in front of it one place towards the head.
        for (let offset = 0; offset < at; offset++) ks.putMember(list.version, part(list.head - 1 + offset), before[offset])
        ks.putMember(list.version, part(list.head - 1 + at), element)
        ks.write(db, argv[1], { ...list, head: list.head - 1, size: list.size + 1 }, list)
      } else {
        if (list.head + list.size + 1 > LAST_POSITION) return POSITIONS_EXHAUSTED
        const tail = yield* asEffect(readRange(ks, list, list.head + at, list.head + list.size))
        tail.forEach((value, i) => ks.putMember(list.version, part(list.head + at + i + 1), value))
        ks.putMember(list.version, part(list.head + at), element)
        ks.write(db, argv[1], { ...list, size: list.size + 1 }, list)
      }
      ks.signalReady(db, argv[1])
      return integer(list.size + 1)
    })
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

const validateEnds = (...positions: ReadonlyArray<number>) => (argv: Argv): Reply | undefined =>
  positions.some((position) => parseEnd(argv[position]) === undefined) ? SYNTAX_ERROR : undefined

const lmove =
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

interface MpopArguments {
  /** Positions of the keys in argv. */
  readonly keys: ReadonlyArray<number>
  readonly where: End
  readonly count: number
}

/** LMPOP's arguments after the numkeys at `numkeysAt` (t_list.c lmpopGenericCommand). */
const parseMpop = (argv: Argv, numkeysAt: number): MpopArguments | Reply => {
  const numkeys = parsePositive(argv[numkeysAt])
  if (numkeys === undefined) return NUMKEYS_NOT_POSITIVE
  const whereAt = numkeysAt + numkeys + 1
  if (whereAt >= argv.length) return SYNTAX_ERROR
  const where = parseEnd(argv[whereAt])
  if (where === undefined) return SYNTAX_ERROR
  let count: number | undefined
  for (let i = whereAt + 1; i < argv.length; i++) {
    if (count === undefined && latin1(argv[i]).toUpperCase() === "COUNT" && i + 1 < argv.length) {
      count = parsePositive(argv[++i])
      if (count === undefined) return COUNT_NOT_POSITIVE
    } else return SYNTAX_ERROR
  }
  return { keys: Array.from({ length: numkeys }, (_, i) => numkeysAt + 1 + i), where, count: count ?? 1 }
}

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

const mpopKeys = (numkeysAt: number) => (argv: Argv): ReadonlyArray<number> => {
  const options = parseMpop(argv, numkeysAt)
  return isReply(options) ? [] : options.keys
}

const lmpop: Execute = ({ ks, db, argv }) => {
  const options = parseMpop(argv, 1)
  if (isReply(options)) return options
  return Effect.map(mpop(ks, db, argv, options, WRONGTYPE), (reply) => reply ?? NIL_ARRAY)
}

// ---------------------------------------------------------------- the blocking commands

/** A blocking command's timeout argument, checked before the log. */
const validateTimeout = (at: (argv: Argv) => number) => (argv: Argv): Reply | undefined => {
  const timeout = parseTimeout(argv[at(argv)])
  return isReply(timeout) ? timeout : undefined
}

/** BLPOP / BRPOP: pop from the first non-empty list; if all are empty, wait (or, inside MULTI, nil). */
const bpop =
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
const blmove =
  (ends: (argv: Argv) => readonly [End, End]): Execute =>
  ({ ks, db, argv, mayBlock }) =>
    Effect.flatMap(ks.meta(db, argv[1]), (meta) => {
      const source = asList(meta, SOURCE_WRONGTYPE)
      if (isReply(source)) return Effect.succeed(source)
      if (source === undefined) return Effect.succeed(mayBlock === true ? WOULD_BLOCK : NIL)
      const [from, to] = ends(argv)
      return moveElement(ks, db, argv, source, from, to)
    })

const blmpop: Execute = ({ ks, db, argv, mayBlock }) => {
  const options = parseMpop(argv, 2)
  if (isReply(options)) return options
  return Effect.map(mpop(ks, db, argv, options, SOURCE_WRONGTYPE), (reply) => reply ?? (mayBlock === true ? WOULD_BLOCK : NIL_ARRAY))
}

const lastArgument = (argv: Argv) => argv.length - 1

const blockingPop: BlockSpec = {
  waitsFor: KeyType.List,
  timeoutAt: lastArgument,
  sources: (argv) => Array.from({ length: argv.length - 2 }, (_, i) => i + 1)
}

const blockingMove = (timeoutAt: number): BlockSpec => ({ waitsFor: KeyType.List, timeoutAt: () => timeoutAt, sources: () => [1] })

const blockingMpop: BlockSpec = { waitsFor: KeyType.List, timeoutAt: () => 1, sources: mpopKeys(2) }

// ---------------------------------------------------------------- the declarations

const oneKey = { first: 1, last: 1, step: 1 }
const twoKeys = { first: 1, last: 2, step: 1 }
const state = (execute: Execute) => ({ kind: "state" as const, execute })
const ENDS_LMOVE = (argv: Argv) => [parseEnd(argv[3])!, parseEnd(argv[4])!] as const
const ENDS_RPOPLPUSH = () => ["right", "left"] as const
const PUSH_COMPLEXITY = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."

export const listCommands: ReadonlyArray<CommandSpec> = [
  { name: "lpush", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Prepend one or multiple elements to a list", since: "1.0.0", complexity: PUSH_COMPLEXITY, route: state(push("left", false)) },
  { name: "rpush", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Append one or multiple elements to a list", since: "1.0.0", complexity: PUSH_COMPLEXITY, route: state(push("right", false)) },
  { name: "lpushx", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Prepend an element to a list, only if the list exists", since: "2.2.0", complexity: PUSH_COMPLEXITY, route: state(push("left", true)) },
  { name: "rpushx", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Append an element to a list, only if the list exists", since: "2.2.0", complexity: PUSH_COMPLEXITY, route: state(push("right", true)) },
  { name: "lpop", arity: -2, flags: ["write", "fast"], group: "list", keys: oneKey, summary: "Remove and get the first elements in a list", since: "1.0.0", complexity: "O(N) where N is the number of elements returned", validate: validatePop("lpop"), route: state(pop("left")) },
  { name: "rpop", arity: -2, flags: ["write", "fast"], group: "list", keys: oneKey, summary: "Remove and get the last elements in a list", since: "1.0.0", complexity: "O(N) where N is the number of elements returned", validate: validatePop("rpop"), route: state(pop("right")) },
  { name: "llen", arity: 2, flags: ["readonly", "fast"], group: "list", keys: oneKey, summary: "Get the length of a list", since: "1.0.0", complexity: "O(1)", route: state(llen) },
  { name: "lindex", arity: 3, flags: ["readonly"], group: "list", keys: oneKey, summary: "Get an element from a list by its index", since: "1.0.0", complexity: "O(log N): one element read by its position", route: state(lindex) },
  { name: "lrange", arity: 4, flags: ["readonly"], group: "list", keys: oneKey, summary: "Get a range of elements from a list", since: "1.0.0", complexity: "O(log N + M) where M is the number of elements returned: only those are read", validate: validateIntegers(2, 3), route: state(lrange) },
  { name: "lpos", arity: -3, flags: ["readonly"], group: "list", keys: oneKey, summary: "Return the index of matching elements on a list", since: "6.0.6", complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", validate: (argv) => { const options = parseLposOptions(argv); return isReply(options) ? options : undefined }, route: state(lpos) },
  { name: "lset", arity: 4, flags: ["write", "denyoom"], group: "list", keys: oneKey, summary: "Set the value of an element in a list by its index", since: "1.0.0", complexity: "O(log N): one element written by its position", route: state(lset) },
  { name: "ltrim", arity: 4, flags: ["write"], group: "list", keys: oneKey, summary: "Trim a list to the specified range", since: "1.0.0", complexity: "O(N) where N is the smaller of the number of elements removed and kept (the larger part is reclaimed in the background)", validate: validateIntegers(2, 3), route: state(ltrim) },
  { name: "lrem", arity: 4, flags: ["write"], group: "list", keys: oneKey, summary: "Remove elements from a list", since: "1.0.0", complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.", validate: validateIntegers(2), route: state(lrem) },
  { name: "linsert", arity: 5, flags: ["write", "denyoom"], group: "list", keys: oneKey, summary: "Insert an element before or after another element in a list", since: "2.2.0", complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot; the shorter side of the list moves.", validate: validateLinsert, route: state(linsert) },
  { name: "lmove", arity: 5, flags: ["write", "denyoom"], group: "list", keys: twoKeys, summary: "Pop an element from a list, push it to another list and return it", since: "6.2.0", complexity: "O(1)", validate: validateEnds(3, 4), route: state(lmove(ENDS_LMOVE)) },
  { name: "rpoplpush", arity: 3, flags: ["write", "denyoom"], group: "list", keys: twoKeys, summary: "Remove the last element in a list, prepend it to another list and return it", since: "1.2.0", complexity: "O(1)", route: state(lmove(ENDS_RPOPLPUSH)) },
  { name: "lmpop", arity: -4, flags: ["write", "movablekeys"], group: "list", keysOf: mpopKeys(1), summary: "Pop elements from a list", since: "7.0.0", complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.", validate: (argv) => { const options = parseMpop(argv, 1); return isReply(options) ? options : undefined }, route: state(lmpop) },
  {
    name: "blpop", arity: -3, flags: ["write", "noscript", "blocking"], group: "list", keys: { first: 1, last: -2, step: 1 }, summary: "Remove and get the first element in a list, or block until one is available", since: "2.0.0",
    complexity: "O(N) where N is the number of provided keys.", validate: validateTimeout(lastArgument), block: blockingPop, route: state(bpop("left"))
  },
  {
    name: "brpop", arity: -3, flags: ["write", "noscript", "blocking"], group: "list", keys: { first: 1, last: -2, step: 1 }, summary: "Remove and get the last element in a list, or block until one is available", since: "2.0.0",
    complexity: "O(N) where N is the number of provided keys.", validate: validateTimeout(lastArgument), block: blockingPop, route: state(bpop("right"))
  },
  {
    name: "blmove", arity: 6, flags: ["write", "denyoom", "noscript", "blocking"], group: "list", keys: twoKeys, summary: "Pop an element from a list, push it to another list and return it; or block until one is available", since: "6.2.0",
    complexity: "O(1)", validate: (argv) => validateEnds(3, 4)(argv) ?? validateTimeout(() => 5)(argv), block: blockingMove(5), route: state(blmove(ENDS_LMOVE))
  },
  {
    name: "brpoplpush", arity: 4, flags: ["write", "denyoom", "noscript", "blocking"], group: "list", keys: twoKeys, summary: "Pop an element from a list, push it to another list and return it; or block until one is available", since: "2.2.0",
    complexity: "O(1)", validate: validateTimeout(() => 3), block: blockingMove(3), route: state(blmove(ENDS_RPOPLPUSH))
  },
  {
    name: "blmpop", arity: -5, flags: ["write", "blocking", "movablekeys"], group: "list", keysOf: mpopKeys(2), summary: "Pop elements from a list, or block until one is available", since: "7.0.0",
    complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
    validate: (argv) => {
      const options = parseMpop(argv, 2)
      return isReply(options) ? options : validateTimeout(() => 1)(argv)
    },
    block: blockingMpop, route: state(blmpop)
  }
]
