/**
 * Sorted-set commands (redis-server 7.0's t_zset.c semantics, error texts and RESP3 reply shapes
 * included) over the layout of ./sortedSets/encoding.ts. A write touches only the members it
 * changes (O(log n) each); range reads read what they return, plus the O(rank) walk that a
 * position costs on an ordered store (docs/architecture.md).
 */
import { Effect } from "effect"
import type { EngineError } from "../engine/KvEngine.js"
import { formatDouble } from "../resp/formatDouble.js"
import { array, bulk, double, error, integer, NIL, NIL_ARRAY, pairs, text, ZERO, EMPTY_ARRAY, type Reply } from "../resp/Reply.js"
import { INVALID_CURSOR, WRONGTYPE } from "./errors.js"
import { globMatch } from "./glob.js"
import { parseCursor, parseScanOptions } from "./keys.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import { KeyType, type CollectionMeta, type Meta } from "./keyspace/meta.js"
import type { Argv, CommandSpec, Execute } from "./registry.js"
import {
  isReply,
  MAX_REPEATED_PICKS,
  mpopKeyPositions,
  parseMpop,
  parsePopCount,
  parseRandomMember,
  parseRange,
  parseSetOperationKeys,
  parseSetOperationOptions,
  parseZadd,
  parseZincrby,
  setOperationKeyPositions,
  validateSetOperation,
  type RangeArguments,
  type RangeCommand,
  type SetOperationCommand,
  type ZaddArguments
} from "./sortedSets/arguments.js"
import { parseLexRange, parseScoreRange, rankRange, NOT_A_FLOAT_RANGE, NOT_A_LEX_RANGE } from "./sortedSets/ranges.js"
import { byScoreThenMember, combine, type Input } from "./sortedSets/setOperations.js"
import { SortedSet, type Scored } from "./sortedSets/SortedSet.js"

type Effectful<A> = Effect.Effect<A, EngineError>

const oneKey = { first: 1, last: 1, step: 1 }
const NAN_SCORE: Reply = error("ERR resulting score is not a number (NaN)")

/** The key's sorted set: undefined when absent, WRONGTYPE for another type. */
const zsetOf = (meta: Meta | undefined): CollectionMeta | undefined | Reply => {
  if (meta === undefined) return undefined
  return meta.type === KeyType.ZSet ? meta : WRONGTYPE
}

const readZset = (ks: Keyspace, db: number, key: Uint8Array): Effectful<CollectionMeta | undefined | Reply> => Effect.map(ks.meta(db, key), zsetOf)

/**
 * Record a sorted set's new size after its members changed: a set that became empty is removed
 * (its members are already gone), a changed one rewritten, one whose size held only marked for WATCH.
 */
const commit = (ks: Keyspace, db: number, key: Uint8Array, meta: CollectionMeta, previous: Meta | undefined, size: number): void => {
  if (size === 0) {
    if (previous !== undefined) ks.remove(db, key, previous, { keepMembers: true })
  } else if (previous === undefined || size !== meta.size) ks.write(db, key, { ...meta, size }, previous)
  else ks.touch(db, key)
}

/** Replace `key` by a new sorted set of `members` (the …STORE commands); an empty result deletes it. */
const store = (ks: Keyspace, db: number, key: Uint8Array, members: ReadonlyArray<Scored>): Effectful<Reply> =>
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

const withScoresReply = (entries: ReadonlyArray<Scored>, withScores: boolean): Reply => {
  if (!withScores) return array(entries.map(({ member }) => bulk(member)))
  const out: Array<Reply> = []
  for (const { member, score } of entries) out.push(bulk(member), double(score))
  return pairs(out)
}

const validateWith = (parse: (argv: Argv) => unknown) => (argv: Argv): Reply | undefined => {
  const parsed = parse(argv)
  return isReply(parsed) ? parsed : undefined
}

// ---------------------------------------------------------------- ZADD, ZINCRBY, ZREM

const zaddWith = (parse: (argv: Argv) => ZaddArguments | Reply): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const options = parse(argv)
    if (isReply(options)) return options
    const previous = yield* ks.meta(db, argv[1])
    const existing = zsetOf(previous)
    if (isReply(existing)) return existing
    // XX on a missing key: nothing to do.
    if (existing === undefined && options.xx) return options.incr ? NIL : ZERO
    const meta = existing ?? ks.newCollection(KeyType.ZSet)
    const zset = new SortedSet(ks, meta.version)
    if (existing !== undefined) yield* zset.prefetch(options.elements.map(({ member }) => member))
    let size = meta.size
    let added = 0
    let updated = 0
    let result: number | undefined
    for (const { score: given, member } of options.elements) {
      const current = yield* zset.score(member)
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

const zrem: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    const zset = new SortedSet(ks, meta.version)
    yield* zset.prefetch(argv.slice(2))
    let removed = 0
    for (let i = 2; i < argv.length; i++) {
      const score = yield* zset.score(argv[i])
      if (score === undefined) continue
      zset.delete(argv[i], score)
      removed++
    }
    if (removed > 0) commit(ks, db, argv[1], meta, meta, meta.size - removed)
    return integer(removed)
  })

// ---------------------------------------------------------------- point reads

const zscore: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? NIL
    const score = yield* new SortedSet(ks, meta.version).score(argv[2])
    return score === undefined ? NIL : double(score)
  })

const zmscore: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (isReply(meta)) return meta
    const zset = meta === undefined ? undefined : new SortedSet(ks, meta.version)
    if (zset !== undefined) yield* zset.prefetch(argv.slice(2))
    const scores: Array<Reply> = []
    for (let i = 2; i < argv.length; i++) {
      const score = zset === undefined ? undefined : yield* zset.score(argv[i])
      scores.push(score === undefined ? NIL : double(score))
    }
    return array(scores)
  })

const zcard: Execute = ({ ks, db, argv }) =>
  Effect.map(readZset(ks, db, argv[1]), (meta) => (meta === undefined ? ZERO : isReply(meta) ? meta : integer(meta.size)))

const zrank = (reverse: boolean): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? NIL
    const zset = new SortedSet(ks, meta.version)
    const score = yield* zset.score(argv[2])
    if (score === undefined) return NIL
    return integer(yield* zset.rankOf(argv[2], score, meta.size, reverse))
  })

const zcount: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const range = parseScoreRange(argv[2], argv[3])
    if (range === undefined) return NOT_A_FLOAT_RANGE
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    return integer(yield* new SortedSet(ks, meta.version).countByScore(range))
  })

const zlexcount: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const range = parseLexRange(argv[2], argv[3])
    if (range === undefined) return NOT_A_LEX_RANGE
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    return integer((yield* new SortedSet(ks, meta.version).byLex(range, false)).length)
  })

// ---------------------------------------------------------------- ranges

/** The members a ZRANGE-family request selects, in reply order. */
const selectRange = (zset: SortedSet, size: number, request: RangeArguments): Effectful<Array<Scored>> => {
  switch (request.kind) {
    case "rank": {
      const span = rankRange(request.start, request.end, size)
      return span === undefined ? Effect.succeed([]) : zset.byRank(span.start, span.end, size, request.reverse)
    }
    case "score":
      return zset.byScore(request.range, request.reverse, request.window)
    case "lex":
      return zset.byLex(request.range, request.reverse, request.window)
  }
}

const zrange = (command: RangeCommand): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const request = parseRange(argv, command)
    if (isReply(request)) return request
    const meta = yield* readZset(ks, db, argv[command.keyIndex])
    if (isReply(meta)) return meta
    const selected = meta === undefined ? [] : yield* selectRange(new SortedSet(ks, meta.version), meta.size, request)
    if (command.store) return yield* store(ks, db, argv[1], selected)
    return withScoresReply(selected, request.withScores)
  })

const rangeSpec = (name: string, command: RangeCommand, rest: Omit<CommandSpec, "name" | "route" | "validate" | "group" | "keys">): CommandSpec => ({
  name,
  group: "sorted_set",
  keys: command.store ? { first: 1, last: 2, step: 1 } : oneKey,
  validate: validateWith((argv) => parseRange(argv, command)),
  route: { kind: "state", execute: zrange(command) },
  ...rest
})

// ---------------------------------------------------------------- removing ranges

/** ZREMRANGEBY…: the arguments were validated (the command's `validate` runs first). */
const zremrange = (select: (argv: Argv, zset: SortedSet, size: number) => Effectful<Array<Scored>>): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    const zset = new SortedSet(ks, meta.version)
    const removed = yield* select(argv, zset, meta.size)
    for (const { member, score } of removed) zset.delete(member, score)
    if (removed.length > 0) commit(ks, db, argv[1], meta, meta, meta.size - removed.length)
    return integer(removed.length)
  })

const validateRankArguments = (argv: Argv): Reply | undefined => validateWith((a) => parseRange([a[0], a[1], a[2], a[3]], { keyIndex: 1, store: false, kind: "rank" }))(argv)
const validateScoreArguments = (argv: Argv): Reply | undefined => (parseScoreRange(argv[2], argv[3]) === undefined ? NOT_A_FLOAT_RANGE : undefined)
const validateLexArguments = (argv: Argv): Reply | undefined => (parseLexRange(argv[2], argv[3]) === undefined ? NOT_A_LEX_RANGE : undefined)

const zremrangebyrank = zremrange((argv, zset, size) => {
  const request = parseRange(argv, { keyIndex: 1, store: false, kind: "rank" })
  if (isReply(request) || request.kind !== "rank") return Effect.succeed([])
  const span = rankRange(request.start, request.end, size)
  return span === undefined ? Effect.succeed([]) : zset.byRank(span.start, span.end, size, false)
})

const zremrangebyscore = zremrange((argv, zset) => zset.byScore(parseScoreRange(argv[2], argv[3])!, false))
const zremrangebylex = zremrange((argv, zset) => zset.byLex(parseLexRange(argv[2], argv[3])!, false))

// ---------------------------------------------------------------- popping

/** Remove and return the `count` lowest (or highest) members of a sorted set. */
const popFrom = (ks: Keyspace, db: number, key: Uint8Array, meta: CollectionMeta, count: number, max: boolean): Effectful<Array<Scored>> => {
  const zset = new SortedSet(ks, meta.version)
  return Effect.map(zset.ends(Math.min(count, meta.size), max), (popped) => {
    for (const { member, score } of popped) zset.delete(member, score)
    if (popped.length > 0) commit(ks, db, key, meta, meta, meta.size - popped.length)
    return popped
  })
}

const zpop = (max: boolean): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const count = parsePopCount(argv)
    if (isReply(count)) return count
    const meta = yield* readZset(ks, db, argv[1])
    if (isReply(meta)) return meta
    if (meta === undefined || count === 0) return EMPTY_ARRAY
    const popped = yield* popFrom(ks, db, argv[1], meta, count ?? 1, max)
    // Without a count the reply is one flat [member, score]; with one, pairs (nested in RESP3).
    return count === undefined ? array(popped.flatMap(({ member, score }) => [bulk(member), double(score)])) : withScoresReply(popped, true)
  })

const zmpop: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const request = parseMpop(argv)
    if (isReply(request)) return request
    for (const key of request.keys) {
      const meta = yield* readZset(ks, db, key)
      if (meta === undefined) continue
      if (isReply(meta)) return meta
      const popped = yield* popFrom(ks, db, key, meta, request.count, request.max)
      return array([bulk(key), array(popped.map(({ member, score }) => array([bulk(member), double(score)])))])
    }
    return NIL_ARRAY
  })

// ---------------------------------------------------------------- random members

/** `count` distinct members, by repeated random seeks (for counts well below the set's size). */
const distinctRandom = (ks: Keyspace, zset: SortedSet, count: number): Effectful<Array<Scored> | undefined> =>
  Effect.gen(function* () {
    const chosen = new Map<string, Scored>()
    // Seeks land near random hashes; give up on this way after a bounded number of tries.
    for (let attempt = 0; attempt < 4 * count + 64 && chosen.size < count; attempt++) {
      const found = yield* zset.randomMember(ks.random())
      if (found !== undefined) chosen.set(found.member.toString("latin1"), found)
    }
    return chosen.size === count ? [...chosen.values()] : undefined
  })

/** `count` members of `all` without repetition, in random order (a partial Fisher-Yates shuffle). */
const sample = (all: Array<Scored>, count: number, random: () => number): Array<Scored> => {
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (all.length - i))
    ;[all[i], all[j]] = [all[j], all[i]]
  }
  return all.slice(0, count)
}

const zrandmember: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const request = parseRandomMember(argv)
    if (isReply(request)) return request
    const meta = yield* readZset(ks, db, argv[1])
    if (isReply(meta)) return meta
    if (request.count === undefined) {
      if (meta === undefined) return NIL
      const found = yield* new SortedSet(ks, meta.version).randomMember(ks.random())
      return found === undefined ? NIL : bulk(found.member)
    }
    if (meta === undefined || request.count === 0) return EMPTY_ARRAY
    const zset = new SortedSet(ks, meta.version)
    const count = Math.abs(request.count)
    let chosen: Array<Scored>
    if (request.count < 0) {
      // Repetition allowed: pick from the whole set when it is no larger than the reply, else seek.
      chosen = []
      if (meta.size <= count) {
        const all = yield* zset.all()
        for (let i = 0; i < count; i++) chosen.push(all[Math.floor(ks.random() * all.length)])
      } else {
        for (let i = 0; i < count; i++) {
          const found = yield* zset.randomMember(ks.random())
          if (found !== undefined) chosen.push(found)
        }
      }
    } else if (count >= meta.size) chosen = yield* zset.all()
    else {
      const sought = count * 3 <= meta.size ? yield* distinctRandom(ks, zset, count) : undefined
      chosen = sought ?? sample(yield* zset.all(), count, ks.random)
    }
    return withScoresReply(chosen, request.withScores)
  })

// ---------------------------------------------------------------- ZUNION, ZINTER, ZDIFF, ZINTERCARD

/**
 * The members of a plain set (ZUNIONSTORE and friends accept sets, every member scoring 1). Sets
 * keep their members as layout.hashedPart (u32 hash · member) under their version.
 */
const setMembers = (ks: Keyspace, version: number): Effectful<Array<Scored>> =>
  Effect.map(ks.members(version), (found) => found.map(([part]) => ({ member: part.subarray(4), score: 1 })))

/** Each input's meta record: WRONGTYPE for anything but a sorted set or a set. */
const inputsOf = (ks: Keyspace, db: number, keys: ReadonlyArray<Uint8Array>): Effectful<Array<CollectionMeta | undefined> | Reply> =>
  Effect.gen(function* () {
    const metas: Array<CollectionMeta | undefined> = []
    for (const key of keys) {
      const meta = yield* ks.meta(db, key)
      if (meta !== undefined && meta.type !== KeyType.ZSet && meta.type !== KeyType.Set) return WRONGTYPE
      metas.push(meta as CollectionMeta | undefined)
    }
    return metas
  })

const membersOf = (ks: Keyspace, meta: CollectionMeta | undefined): Effectful<Array<Scored>> => {
  if (meta === undefined) return Effect.succeed([])
  return meta.type === KeyType.ZSet ? new SortedSet(ks, meta.version).all() : setMembers(ks, meta.version)
}

const setOperation = (command: SetOperationCommand): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const keys = parseSetOperationKeys(argv, command)
    if (isReply(keys)) return keys
    // As Redis: the inputs' types are checked before the options are read.
    const metas = yield* inputsOf(ks, db, keys)
    if (isReply(metas)) return metas
    const options = parseSetOperationOptions(argv, command, keys.length)
    if (isReply(options)) return options
    // ZDIFF needs only the first input's members and the others' membership; a missing first input is empty.
    const inputs: Array<Input> = []
    for (let i = 0; i < metas.length; i++) {
      const skip = command.operation === "diff" && metas[0] === undefined
      inputs.push({ members: skip ? [] : yield* membersOf(ks, metas[i]), weight: options.weights[i] })
    }
    const result = combine(command.operation, inputs, options.aggregate, options.limit)
    if (command.cardinality === true) return integer(result.length)
    if (command.store) return yield* store(ks, db, argv[1], result)
    return withScoresReply(result.sort(byScoreThenMember), options.withScores)
  })

const setOperationSpec = (command: SetOperationCommand, rest: Omit<CommandSpec, "name" | "route" | "validate" | "group" | "keysOf" | "keys">): CommandSpec => ({
  name: command.name,
  group: "sorted_set",
  ...(command.store ? { keys: oneKey } : {}),
  keysOf: setOperationKeyPositions(command),
  // Reads answer WRONGTYPE before option errors, as Redis; writes refuse every bad argument before the log.
  validate: command.store ? validateSetOperation(command) : validateWith((argv) => parseSetOperationKeys(argv, command)),
  route: { kind: "state", execute: setOperation(command) },
  ...rest
})

// ---------------------------------------------------------------- ZSCAN

/**
 * A score as ZSCAN shows it (a bulk string on both protocols): redis-server 7.0 reads a small
 * set's scores back from its listpack, where integral ones (up to 2^62) are kept as integers.
 */
const scanScore = (score: number): string => (Number.isInteger(score) && Math.abs(score) <= 2 ** 62 ? BigInt(score).toString() : formatDouble(score))

/** redis-server keeps a sorted set of up to 128 members in a listpack (zset-max-listpack-entries). */
const SMALL_ZSET = 128

const zscan: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const cursor = parseCursor(argv[2])
    if (cursor === undefined) return INVALID_CURSOR
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined) return array([text("0"), array([])])
    if (isReply(meta)) return meta
    const options = parseScanOptions(argv, 3, false)
    if (isReply(options)) return options
    const zset = new SortedSet(ks, meta.version)
    // A small set comes back whole, in score order, with cursor 0, as redis-server returns a
    // listpack-encoded one whatever the cursor and COUNT say. Larger ones page by member hash.
    const page =
      meta.size <= SMALL_ZSET
        ? { entries: yield* zset.all(), cursor: 0 }
        : cursor >= 2n ** 32n // cursors are member hashes (32 bits): one beyond them is past the end
          ? { entries: [], cursor: 0 }
          : yield* zset.scan(Number(cursor), options.count)
    const found: Array<Reply> = []
    for (const { member, score } of page.entries) {
      if (options.pattern !== undefined && !globMatch(options.pattern, member)) continue
      found.push(bulk(member), text(scanScore(score)))
    }
    return array([text(String(page.cursor)), array(found)])
  })

// ---------------------------------------------------------------- the table

const state = (execute: Execute) => ({ kind: "state" as const, execute })

const unionStore: SetOperationCommand = { name: "zunionstore", operation: "union", numkeysIndex: 2, store: true }
const interStore: SetOperationCommand = { name: "zinterstore", operation: "inter", numkeysIndex: 2, store: true }
const diffStore: SetOperationCommand = { name: "zdiffstore", operation: "diff", numkeysIndex: 2, store: true }
const union: SetOperationCommand = { name: "zunion", operation: "union", numkeysIndex: 1, store: false }
const inter: SetOperationCommand = { name: "zinter", operation: "inter", numkeysIndex: 1, store: false }
const diff: SetOperationCommand = { name: "zdiff", operation: "diff", numkeysIndex: 1, store: false }
const interCard: SetOperationCommand = { name: "zintercard", operation: "inter", numkeysIndex: 1, store: false, cardinality: true }

const RANGE_COST = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned. Here positions cost O(position) from the nearer end of the set (docs/architecture.md)."
const SCORE_RANGE_COST = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."

export const sortedSetCommands: ReadonlyArray<CommandSpec> = [
  { name: "zadd", arity: -4, flags: ["write", "denyoom", "fast"], group: "sorted_set", keys: oneKey, summary: "Add one or more members to a sorted set, or update its score if it already exists", since: "1.2.0", complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", validate: validateWith(parseZadd), route: state(zaddWith(parseZadd)) },
  { name: "zincrby", arity: 4, flags: ["write", "denyoom", "fast"], group: "sorted_set", keys: oneKey, summary: "Increment the score of a member in a sorted set", since: "1.2.0", complexity: "O(log(N)) where N is the number of elements in the sorted set.", validate: validateWith(parseZincrby), route: state(zaddWith(parseZincrby)) },
  { name: "zrem", arity: -3, flags: ["write", "fast"], group: "sorted_set", keys: oneKey, summary: "Remove one or more members from a sorted set", since: "1.2.0", complexity: "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", route: state(zrem) },
  { name: "zcard", arity: 2, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Get the number of members in a sorted set", since: "1.2.0", complexity: "O(1)", route: state(zcard) },
  { name: "zscore", arity: 3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Get the score associated with the given member in a sorted set", since: "1.2.0", complexity: "O(1)", route: state(zscore) },
  { name: "zmscore", arity: -3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Get the score associated with the given members in a sorted set", since: "6.2.0", complexity: "O(N) where N is the number of members being requested.", route: state(zmscore) },
  { name: "zcount", arity: 4, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Count the members in a sorted set with scores within the given values", since: "2.0.0", complexity: "O(log(N)+M) here (M: the members counted; Redis: O(log(N))).", validate: validateScoreArguments, route: state(zcount) },
  { name: "zlexcount", arity: 4, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Count the number of members in a sorted set between a given lexicographical range", since: "2.8.9", complexity: "O(log(N)+M) here (M: the members counted; Redis: O(log(N))).", validate: validateLexArguments, route: state(zlexcount) },
  { name: "zrank", arity: 3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Determine the index of a member in a sorted set", since: "2.0.0", complexity: "O(min(rank, N)) here, counting from the nearer end (Redis: O(log(N))).", route: state(zrank(false)) },
  { name: "zrevrank", arity: 3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Determine the index of a member in a sorted set, with scores ordered from high to low", since: "2.0.0", complexity: "O(min(rank, N)) here, counting from the nearer end (Redis: O(log(N))).", route: state(zrank(true)) },
  rangeSpec("zrange", { keyIndex: 1, store: false }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set", since: "1.2.0", complexity: RANGE_COST }),
  rangeSpec("zrangestore", { keyIndex: 2, store: true }, { arity: -5, flags: ["write", "denyoom"], summary: "Store a range of members from sorted set into another key", since: "6.2.0", complexity: RANGE_COST }),
  rangeSpec("zrangebyscore", { keyIndex: 1, store: false, kind: "score", reverse: false }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by score", since: "1.0.5", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrevrangebyscore", { keyIndex: 1, store: false, kind: "score", reverse: true }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by score, with scores ordered from high to low", since: "2.2.0", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrangebylex", { keyIndex: 1, store: false, kind: "lex", reverse: false }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by lexicographical range", since: "2.8.9", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrevrangebylex", { keyIndex: 1, store: false, kind: "lex", reverse: true }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", since: "2.8.9", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrevrange", { keyIndex: 1, store: false, kind: "rank", reverse: true }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by index, with scores ordered from high to low", since: "1.2.0", complexity: RANGE_COST }),
  { name: "zpopmin", arity: -2, flags: ["write", "fast"], group: "sorted_set", keys: oneKey, summary: "Remove and return members with the lowest scores in a sorted set", since: "5.0.0", complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", validate: validateWith(parsePopCount), route: state(zpop(false)) },
  { name: "zpopmax", arity: -2, flags: ["write", "fast"], group: "sorted_set", keys: oneKey, summary: "Remove and return members with the highest scores in a sorted set", since: "5.0.0", complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", validate: validateWith(parsePopCount), route: state(zpop(true)) },
  { name: "zmpop", arity: -4, flags: ["write"], group: "sorted_set", keysOf: mpopKeyPositions, summary: "Remove and return members with scores in a sorted set", since: "7.0.0", complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", validate: validateWith(parseMpop), route: state(zmpop) },
  { name: "zrandmember", arity: -2, flags: ["readonly"], group: "sorted_set", keys: oneKey, summary: "Get one or multiple random elements from a sorted set", since: "6.2.0", complexity: `O(N) where N is the number of elements returned (at most ${MAX_REPEATED_PICKS} with repetition).`, validate: validateWith(parseRandomMember), route: state(zrandmember) },
  setOperationSpec(unionStore, { arity: -4, flags: ["write", "denyoom"], summary: "Add multiple sorted sets and store the resulting sorted set in a new key", since: "2.0.0", complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(interStore, { arity: -4, flags: ["write", "denyoom"], summary: "Intersect multiple sorted sets and store the resulting sorted set in a new key", since: "2.0.0", complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(diffStore, { arity: -4, flags: ["write", "denyoom"], summary: "Subtract multiple sorted sets and store the resulting sorted set in a new key", since: "6.2.0", complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set." }),
  setOperationSpec(union, { arity: -3, flags: ["readonly"], summary: "Add multiple sorted sets", since: "6.2.0", complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(inter, { arity: -3, flags: ["readonly"], summary: "Intersect multiple sorted sets", since: "6.2.0", complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(diff, { arity: -3, flags: ["readonly"], summary: "Subtract multiple sorted sets", since: "6.2.0", complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set." }),
  setOperationSpec(interCard, { arity: -3, flags: ["readonly"], summary: "Intersect multiple sorted sets and return the cardinality of the result", since: "7.0.0", complexity: "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets." }),
  { name: "zremrangebyscore", arity: 4, flags: ["write"], group: "sorted_set", keys: oneKey, summary: "Remove all members in a sorted set within the given scores", since: "1.2.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", validate: validateScoreArguments, route: state(zremrangebyscore) },
  { name: "zremrangebyrank", arity: 4, flags: ["write"], group: "sorted_set", keys: oneKey, summary: "Remove all members in a sorted set within the given indexes", since: "2.0.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation. Here positions cost O(position) from the nearer end.", validate: validateRankArguments, route: state(zremrangebyrank) },
  { name: "zremrangebylex", arity: 4, flags: ["write"], group: "sorted_set", keys: oneKey, summary: "Remove all members in a sorted set between the given lexicographical range", since: "2.8.9", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", validate: validateLexArguments, route: state(zremrangebylex) },
  { name: "zscan", arity: -3, flags: ["readonly"], group: "sorted_set", keys: oneKey, summary: "Incrementally iterate sorted sets elements and associated scores", since: "2.8.0", complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", validate: (argv) => (parseCursor(argv[2]) === undefined ? INVALID_CURSOR : undefined), route: state(zscan) }
]
