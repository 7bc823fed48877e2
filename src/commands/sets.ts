/**
 * Set commands (redis-server 7.0's t_set.c semantics, error texts and RESP3 reply types). A set is
 * a collection record (size, version) plus one empty engine value per member, ordered by the
 * member's hash (./hashedMembers.ts): SADD and SREM cost O(log n) per member whatever the set's
 * size, SSCAN reads one page, SPOP and SRANDMEMBER one seek per member (from `ks.random()`, seeded
 * from the log entry in a write, so SPOP removes the same members on every node).
 *
 * Set algebra reads what it must: SINTER walks the smallest set a page at a time and looks each
 * member up in the others (one engine call per page and set on LevelDB), and SINTERCARD with a
 * LIMIT stops as soon as it has counted that many.
 */
import { Effect } from "effect"
import { array, bulk, error, integer, NIL, set as setReply, text, ZERO, type Reply } from "../resp/Reply.js"
import { INVALID_CURSOR, latin1, SYNTAX_ERROR, WRONGTYPE } from "./errors.js"
import { isReply } from "./expiryArguments.js"
import { globMatch } from "./glob.js"
import { all, deleteHeld, discard, type Effected, type Entry, lookup, partOf, randomMany, randomOne, scanPage, store, walk } from "./hashedMembers.js"
import { andThen, withLoaded, withMeta } from "./keyspace/syncFirst.js"
import { parseInt64 } from "./integers.js"
import { parseCursor, parseScanOptions } from "./keys.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import { type CollectionMeta, KeyType, type Meta } from "./keyspace/meta.js"
import { checkRepeatedPicks, parseRandomCount } from "./randomCount.js"
import type { Argv, CommandSpec, Execute } from "./registry.js"

const EMPTY = new Uint8Array(0)
const oneKey = { first: 1, last: 1, step: 1 }
const allKeys = { first: 1, last: -1, step: 1 }
const EMPTY_SET = setReply([])

/** The key's set record: undefined when absent, WRONGTYPE for another type. */
const setOf = (meta: Meta | undefined): CollectionMeta | undefined | Reply => {
  if (meta === undefined) return undefined
  return meta.type === KeyType.Set ? meta : WRONGTYPE
}

const contains = (ks: Keyspace, version: number, member: Uint8Array): Effected<boolean> => Effect.map(lookup(ks, version, member), (value) => value !== undefined)

/** Store a set's record after `delta` members were added or removed: an emptied set is removed (its members are already gone). */
const resize = (ks: Keyspace, db: number, key: Uint8Array, previous: CollectionMeta | undefined, current: CollectionMeta, delta: number): void => {
  if (delta === 0) return
  const size = current.size + delta
  if (size === 0) ks.remove(db, key, current, { keepMembers: true })
  else ks.write(db, key, { ...current, size }, previous)
}

// ---------------------------------------------------------------- SADD SREM SMOVE

const sadd: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const existing = setOf(meta)
    if (isReply(existing)) return existing
    const current = existing ?? ks.newCollection(KeyType.Set)
    const parts = argv.slice(2).map(partOf)
    return withLoaded(ks, current.version, parts, () => {
      let added = 0
      for (const part of parts) {
        if (ks.loadedMember(current.version, part) !== undefined) continue
        ks.putMember(current.version, part, EMPTY)
        added++
      }
      resize(ks, db, argv[1], existing, current, added)
      return integer(added)
    })
  })

const srem: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const existing = setOf(meta)
    if (isReply(existing) || existing === undefined) return existing ?? ZERO
    return andThen(deleteHeld(ks, existing.version, argv.slice(2).map(partOf)), (removed) => {
      resize(ks, db, argv[1], existing, existing, -removed)
      return integer(removed)
    })
  })

/** SMOVE source destination member (t_set.c smoveCommand's order of checks). */
const smove: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const [sourceKey, targetKey, member] = [argv[1], argv[2], argv[3]]
    const sourceMeta = yield* ks.meta(db, sourceKey)
    const targetMeta = yield* ks.meta(db, targetKey)
    if (sourceMeta === undefined) return ZERO
    const source = setOf(sourceMeta)
    const target = setOf(targetMeta)
    if (isReply(source)) return source
    if (isReply(target)) return target
    if (!(yield* contains(ks, source!.version, member))) return ZERO
    if (Buffer.compare(sourceKey, targetKey) === 0) return integer(1)
    discard(ks, source!.version, member)
    resize(ks, db, sourceKey, source, source!, -1)
    const destination = target ?? ks.newCollection(KeyType.Set)
    // The destination changes (and is marked modified) only if it did not hold the member yet.
    if (target === undefined || !(yield* contains(ks, destination.version, member))) {
      store(ks, destination.version, member, EMPTY)
      resize(ks, db, targetKey, target, destination, 1)
    }
    return integer(1)
  })

// ---------------------------------------------------------------- reads of one set

/** Run `read` on the key's set; `missing` answers for an absent key. */
const readSet = (ks: Keyspace, db: number, key: Uint8Array, missing: Reply, read: (set: CollectionMeta) => Reply | Effected<Reply>) =>
  Effect.flatMap(ks.meta(db, key), (meta) => {
    const found = setOf(meta)
    if (isReply(found)) return Effect.succeed(found)
    if (found === undefined) return Effect.succeed(missing)
    const reply = read(found)
    return Effect.isEffect(reply) ? reply : Effect.succeed(reply)
  })

const members = (entries: ReadonlyArray<Entry>): Reply => setReply(entries.map(({ member }) => bulk(member)))

const smembers: Execute = ({ ks, db, argv }) => readSet(ks, db, argv[1], EMPTY_SET, (found) => Effect.map(all(ks, found.version), members))

const scard: Execute = ({ ks, db, argv }) => readSet(ks, db, argv[1], ZERO, (found) => integer(found.size))

const sismember: Execute = ({ ks, db, argv }) =>
  readSet(ks, db, argv[1], ZERO, (found) => Effect.map(contains(ks, found.version, argv[2]), (present) => integer(present ? 1 : 0)))

const smismember: Execute = ({ ks, db, argv }) =>
  readSet(ks, db, argv[1], array(argv.slice(2).map(() => ZERO)), (found) =>
    Effect.gen(function* () {
      yield* ks.prefetchMembers(found.version, argv.slice(2).map(partOf))
      const replies: Array<Reply> = []
      for (let i = 2; i < argv.length; i++) replies.push(integer((yield* contains(ks, found.version, argv[i])) ? 1 : 0))
      return array(replies)
    })
  )

// ---------------------------------------------------------------- random members

/** SPOP's count: redis-server's getPositiveLongFromObjectOrReply. */
const parsePopCount = (bytes: Uint8Array): number | Reply => {
  const value = parseInt64(bytes)
  if (value === undefined || value < 0n) return error("ERR value is out of range, must be positive")
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
}

const validateSpop = (argv: Argv): Reply | undefined => {
  if (argv.length > 3) return SYNTAX_ERROR
  if (argv.length === 3) {
    const count = parsePopCount(argv[2])
    if (isReply(count)) return count
  }
  return undefined
}

const spop: Execute = ({ ks, db, argv }) => {
  const invalid = validateSpop(argv)
  if (invalid !== undefined) return invalid
  const withCount = argv.length === 3
  const count = withCount ? (parsePopCount(argv[2]) as number) : 1
  return withMeta(ks, db, argv[1], (meta) => {
    const found = setOf(meta)
    if (isReply(found)) return found
    if (found === undefined) return withCount ? EMPTY_SET : NIL
    if (withCount && count === 0) return EMPTY_SET
    if (count >= found.size) {
      // The whole set: O(1) removal, its members left to the reaper.
      return andThen(all(ks, found.version), (entries) => {
        ks.remove(db, argv[1], found)
        return withCount ? members(entries) : bulk(entries[0].member)
      })
    }
    const picked = withCount ? randomMany(ks, found.version, found.size, count, true) : Effect.map(randomOne(ks, found.version, found.size), (entry) => [entry!])
    return andThen(picked, (popped) => {
      for (const { part } of popped) ks.deleteMember(found.version, part)
      resize(ks, db, argv[1], found, found, -popped.length)
      return withCount ? members(popped) : bulk(popped[0].member)
    })
  })
}

const validateSrandmember = (argv: Argv): Reply | undefined => {
  if (argv.length > 3) return SYNTAX_ERROR
  if (argv.length === 3) {
    const count = parseRandomCount(argv[2])
    if (isReply(count)) return count
    return checkRepeatedPicks(count)
  }
  return undefined
}

const srandmember: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const invalid = validateSrandmember(argv)
    if (invalid !== undefined) return invalid
    const found = setOf(yield* ks.meta(db, argv[1]))
    if (isReply(found)) return found
    if (argv.length === 2) {
      if (found === undefined) return NIL
      return bulk((yield* randomOne(ks, found.version, found.size))?.member ?? null)
    }
    const count = parseRandomCount(argv[2]) as Exclude<ReturnType<typeof parseRandomCount>, Reply>
    if (found === undefined || count.count === 0) return array([])
    const picked = yield* randomMany(ks, found.version, found.size, count.count, count.distinct)
    return array(picked.map(({ member }) => bulk(member)))
  })

// ---------------------------------------------------------------- set algebra

/** The sets named by `keys`: undefined for a missing key; WRONGTYPE if any key holds another type (every key is checked). */
const readSets = (ks: Keyspace, db: number, keys: Argv): Effected<Array<CollectionMeta | undefined> | Reply> =>
  Effect.gen(function* () {
    const sets: Array<CollectionMeta | undefined> = []
    for (const key of keys) {
      const found = setOf(yield* ks.meta(db, key))
      if (isReply(found)) return found
      sets.push(found)
    }
    return sets
  })

/**
 * The members of `entries` that every set of `others` holds (`held` true) or that no set of
 * `others` holds (`held` false); one engine call per set on LevelDB.
 */
const filterByMembership = (ks: Keyspace, entries: ReadonlyArray<Entry>, others: ReadonlyArray<CollectionMeta>, held: boolean): Effected<Array<Entry>> =>
  Effect.gen(function* () {
    let remaining = entries
    for (const other of others) {
      if (remaining.length === 0) break
      yield* ks.prefetchMembers(other.version, remaining.map(({ part }) => part))
      const kept: Array<Entry> = []
      for (const entry of remaining) if (((yield* ks.member(other.version, entry.part)) !== undefined) === held) kept.push(entry)
      remaining = kept
    }
    return [...remaining]
  })

/** The members of `entries` that every set of `others` holds. */
const inAll = (ks: Keyspace, entries: ReadonlyArray<Entry>, others: ReadonlyArray<CollectionMeta>): Effected<Array<Entry>> =>
  filterByMembership(ks, entries, others, true)

/** The members of `entries` that no set of `others` holds. */
const inNone = (ks: Keyspace, entries: ReadonlyArray<Entry>, others: ReadonlyArray<CollectionMeta>): Effected<Array<Entry>> =>
  filterByMembership(ks, entries, others, false)

/**
 * The intersection, walking the smallest set a page at a time; stops once `limit` members are
 * found (0: no limit). Any missing set makes it empty without reading anything.
 */
const intersect = (ks: Keyspace, sets: ReadonlyArray<CollectionMeta | undefined>, limit = 0): Effected<Array<Entry>> =>
  Effect.gen(function* () {
    if (sets.some((found) => found === undefined)) return []
    const [smallest, ...others] = [...(sets as ReadonlyArray<CollectionMeta>)].sort((a, b) => a.size - b.size)
    const distinct = others.filter((other) => other.version !== smallest.version)
    const result: Array<Entry> = []
    yield* walk(ks, smallest.version, (entries) =>
      Effect.map(inAll(ks, entries, distinct), (kept) => {
        for (const entry of kept) {
          result.push(entry)
          if (limit > 0 && result.length >= limit) return false
        }
        return true
      })
    )
    return result
  })

const union = (ks: Keyspace, sets: ReadonlyArray<CollectionMeta | undefined>): Effected<Array<Entry>> =>
  Effect.gen(function* () {
    const seen = new Map<string, Entry>()
    for (const found of sets) {
      if (found === undefined) continue
      for (const entry of yield* all(ks, found.version)) seen.set(entry.part.toString("latin1"), entry)
    }
    return [...seen.values()]
  })

/** The first set's members that none of the others holds, walking the first set a page at a time. */
const difference = (ks: Keyspace, sets: ReadonlyArray<CollectionMeta | undefined>): Effected<Array<Entry>> =>
  Effect.gen(function* () {
    const [first, ...rest] = sets
    if (first === undefined) return []
    const others = rest.filter((other): other is CollectionMeta => other !== undefined)
    const result: Array<Entry> = []
    yield* walk(ks, first.version, (entries) =>
      Effect.map(inNone(ks, entries, others), (kept) => {
        result.push(...kept)
        return true
      })
    )
    return result
  })

type Operation = (ks: Keyspace, sets: ReadonlyArray<CollectionMeta | undefined>) => Effected<Array<Entry>>

/** SINTER, SUNION, SDIFF: the result as a set reply. */
const algebra = (operation: Operation): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const sets = yield* readSets(ks, db, argv.slice(1))
    if (isReply(sets)) return sets
    return members(yield* operation(ks, sets))
  })

/**
 * SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result replaces the destination whatever it held (a
 * new version; the old members go to the reaper); an empty result deletes it.
 */
const algebraStore = (operation: Operation): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const sets = yield* readSets(ks, db, argv.slice(2))
    if (isReply(sets)) return sets
    const result = yield* operation(ks, sets)
    const destination = argv[1]
    const previous = yield* ks.meta(db, destination)
    if (result.length === 0) {
      // redis-server 7.0 marks the destination modified (WATCH) only when it existed.
      if (previous !== undefined) ks.remove(db, destination, previous)
      return ZERO
    }
    const stored = { ...ks.newCollection(KeyType.Set), size: result.length }
    for (const { part } of result) ks.putMember(stored.version, part, EMPTY)
    ks.write(db, destination, stored, previous)
    return integer(result.length)
  })

// ---------------------------------------------------------------- SINTERCARD

interface IntercardArguments {
  readonly keys: Argv
  readonly limit: number
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit] (t_set.c sinterCardCommand's checks and texts). */
const parseIntercard = (argv: Argv): IntercardArguments | Reply => {
  const numkeys = parseInt64(argv[1])
  if (numkeys === undefined || numkeys < 1n) return error("ERR numkeys should be greater than 0")
  if (numkeys > BigInt(argv.length - 2)) return error("ERR Number of keys can't be greater than number of args")
  const keyCount = Number(numkeys)
  let limit = 0
  for (let i = 2 + keyCount; i < argv.length; i++) {
    if (latin1(argv[i]).toLowerCase() === "limit" && i + 1 < argv.length) {
      const value = parseInt64(argv[++i])
      if (value === undefined || value < 0n) return error("ERR LIMIT can't be negative")
      limit = value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
    } else return SYNTAX_ERROR
  }
  return { keys: argv.slice(2, 2 + keyCount), limit }
}

const sintercard: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const parsed = parseIntercard(argv)
    if (isReply(parsed)) return parsed
    const sets = yield* readSets(ks, db, parsed.keys)
    if (isReply(sets)) return sets
    return integer((yield* intersect(ks, sets, parsed.limit)).length)
  })

/** SINTERCARD's key positions: argv[2 .. 2 + numkeys) when numkeys is valid. */
const intercardKeys = (argv: Argv): ReadonlyArray<number> => {
  const parsed = parseIntercard(argv)
  if (isReply(parsed)) return []
  return parsed.keys.map((_, i) => 2 + i)
}

// ---------------------------------------------------------------- SSCAN

/** SSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is checked first, the options only once the key holds a set. */
const sscan: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const cursor = parseCursor(argv[2])
    if (cursor === undefined) return INVALID_CURSOR
    const found = setOf(yield* ks.meta(db, argv[1]))
    if (isReply(found)) return found
    if (found === undefined) return array([text("0"), array([])])
    const options = parseScanOptions(argv, 3, false)
    if (isReply(options)) return options
    const page = yield* scanPage(ks, found.version, found.size, cursor >= 2n ** 32n ? 2 ** 32 : Number(cursor), options.count)
    const matching: Array<Reply> = []
    for (const { member } of page.entries) if (options.pattern === undefined || globMatch(options.pattern, member)) matching.push(bulk(member))
    return array([text(String(page.cursor)), array(matching)])
  })

const state = (execute: Execute) => ({ kind: "state" as const, execute })

export const setCommands: ReadonlyArray<CommandSpec> = [
  {
    name: "sadd", arity: -3, flags: ["write", "denyoom", "fast"], group: "set", keys: oneKey, summary: "Add one or more members to a set", since: "1.0.0",
    complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", route: state(sadd)
  },
  {
    name: "srem", arity: -3, flags: ["write", "fast"], group: "set", keys: oneKey, summary: "Remove one or more members from a set", since: "1.0.0",
    complexity: "O(N) where N is the number of members to be removed.", route: state(srem)
  },
  {
    name: "smembers", arity: 2, flags: ["readonly"], group: "set", keys: oneKey, summary: "Get all the members in a set", since: "1.0.0",
    complexity: "O(N) where N is the set cardinality.", route: state(smembers)
  },
  {
    name: "sismember", arity: 3, flags: ["readonly", "fast"], group: "set", keys: oneKey, summary: "Determine if a given value is a member of a set", since: "1.0.0",
    complexity: "O(1)", route: state(sismember)
  },
  {
    name: "smismember", arity: -3, flags: ["readonly", "fast"], group: "set", keys: oneKey, summary: "Returns the membership associated with the given elements for a set", since: "6.2.0",
    complexity: "O(N) where N is the number of elements being checked for membership", route: state(smismember)
  },
  { name: "scard", arity: 2, flags: ["readonly", "fast"], group: "set", keys: oneKey, summary: "Get the number of members in a set", since: "1.0.0", complexity: "O(1)", route: state(scard) },
  {
    name: "spop", arity: -2, flags: ["write", "fast"], group: "set", keys: oneKey, summary: "Remove and return one or multiple random members from a set", since: "1.0.0",
    complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", validate: validateSpop, route: state(spop)
  },
  {
    name: "srandmember", arity: -2, flags: ["readonly"], group: "set", keys: oneKey, summary: "Get one or multiple random members from a set", since: "1.0.0",
    complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", validate: validateSrandmember, route: state(srandmember)
  },
  {
    name: "sinter", arity: -2, flags: ["readonly"], group: "set", keys: allKeys, summary: "Intersect multiple sets", since: "1.0.0",
    complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", route: state(algebra(intersect))
  },
  {
    name: "sunion", arity: -2, flags: ["readonly"], group: "set", keys: allKeys, summary: "Add multiple sets", since: "1.0.0",
    complexity: "O(N) where N is the total number of elements in all given sets.", route: state(algebra(union))
  },
  {
    name: "sdiff", arity: -2, flags: ["readonly"], group: "set", keys: allKeys, summary: "Subtract multiple sets", since: "1.0.0",
    complexity: "O(N) where N is the total number of elements in all given sets.", route: state(algebra(difference))
  },
  {
    name: "sinterstore", arity: -3, flags: ["write", "denyoom"], group: "set", keys: allKeys, summary: "Intersect multiple sets and store the resulting set in a key", since: "1.0.0",
    complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", route: state(algebraStore((ks, sets) => intersect(ks, sets)))
  },
  {
    name: "sunionstore", arity: -3, flags: ["write", "denyoom"], group: "set", keys: allKeys, summary: "Add multiple sets and store the resulting set in a key", since: "1.0.0",
    complexity: "O(N) where N is the total number of elements in all given sets.", route: state(algebraStore(union))
  },
  {
    name: "sdiffstore", arity: -3, flags: ["write", "denyoom"], group: "set", keys: allKeys, summary: "Subtract multiple sets and store the resulting set in a key", since: "1.0.0",
    complexity: "O(N) where N is the total number of elements in all given sets.", route: state(algebraStore(difference))
  },
  {
    name: "sintercard", arity: -3, flags: ["readonly", "movablekeys"], group: "set", keysOf: intercardKeys, keynum: { numkeysAt: 1 }, summary: "Intersect multiple sets and return the cardinality of the result", since: "7.0.0",
    complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
    validate: (argv) => { const parsed = parseIntercard(argv); return isReply(parsed) ? parsed : undefined }, route: state(sintercard)
  },
  {
    name: "smove", arity: 4, flags: ["write", "fast"], group: "set", keys: { first: 1, last: 2, step: 1 }, summary: "Move a member from one set to another", since: "1.0.0",
    complexity: "O(1)", route: state(smove)
  },
  {
    name: "sscan", arity: -3, flags: ["readonly"], group: "set", keys: oneKey, summary: "Incrementally iterate Set elements", since: "2.8.0",
    complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    validate: (argv) => (parseCursor(argv[2]) === undefined ? INVALID_CURSOR : undefined), route: state(sscan)
  }
]
