/**
 * Hash commands (redis-server 7.0's t_hash.c semantics, error texts and RESP3 reply types). A hash
 * is a collection record (size, version) plus one engine key per field, ordered by the field's
 * hash (./hashedMembers.ts): a write to one field costs O(log n) whatever the hash's size, HSCAN
 * reads one page, HRANDFIELD one seek per field returned.
 */
import { Effect } from "effect"
import { array, bulk, error, integer, map, NIL, OK, pairs, type Reply, text, ZERO } from "../resp/Reply.js"
import { INVALID_CURSOR, latin1, NOT_A_FLOAT, NOT_AN_INTEGER, OVERFLOW, SYNTAX_ERROR, WRONGTYPE, wrongArity } from "./errors.js"
import { isReply } from "./expiryArguments.js"
import { incrementLongDouble } from "./floats.js"
import { all, deleteHeld, type Effected, lookup, partOf, randomMany, randomOne, scanPage, store } from "./hashedMembers.js"
import { andThen, withLoaded, withMeta } from "./keyspace/syncFirst.js"
import { inInt64Range, parseInt64 } from "./integers.js"
import { globMatch } from "./glob.js"
import { parseCursor, parseScanOptions } from "./keys.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import { type CollectionMeta, KeyType, type Meta } from "./keyspace/meta.js"
import type { Argv, CommandSpec, Execute } from "./registry.js"
import { checkRepeatedPicks, parseRandomCount, type RandomCount } from "./randomCount.js"

const oneKey = { first: 1, last: 1, step: 1 }

/** The key's hash record: undefined when absent, WRONGTYPE for another type. */
const hashOf = (meta: Meta | undefined): CollectionMeta | undefined | Reply => {
  if (meta === undefined) return undefined
  return meta.type === KeyType.Hash ? meta : WRONGTYPE
}

/** The key as a hash for a write: its record, or a new empty one (not stored until written). */
const hashForWrite = (ks: Keyspace, meta: Meta | undefined) => {
  const hash = hashOf(meta)
  if (isReply(hash)) return hash
  return { previous: hash, current: hash ?? ks.newCollection(KeyType.Hash) }
}

/** Store the hash's record after fields changed: a new size rewrites it, an unchanged one only marks the key modified (WATCH). */
const commit = (ks: Keyspace, db: number, key: Uint8Array, previous: CollectionMeta | undefined, current: CollectionMeta, added: number): void => {
  if (previous === undefined || added !== 0) ks.write(db, key, { ...current, size: current.size + added }, previous)
  else ks.touch(db, key)
}

// ---------------------------------------------------------------- writes

const validatePairs = (name: string) => (argv: Argv): Reply | undefined => (argv.length % 2 === 0 ? undefined : wrongArity(name))

/** HSET and HMSET: every field/value pair; HSET answers how many fields are new, HMSET OK. */
const hset = (reply: (added: number) => Reply): Execute => ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const target = hashForWrite(ks, meta)
    if (isReply(target)) return target
    const { version } = target.current
    const parts: Array<Buffer> = []
    for (let i = 2; i + 1 < argv.length; i += 2) parts.push(partOf(argv[i]))
    return withLoaded(ks, version, parts, () => {
      let added = 0
      for (let i = 0; i < parts.length; i++) {
        if (ks.loadedMember(version, parts[i]) === undefined) added++
        ks.putMember(version, parts[i], argv[3 + 2 * i])
      }
      commit(ks, db, argv[1], target.previous, target.current, added)
      return reply(added)
    })
  })

const hsetnx: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const target = hashForWrite(ks, yield* ks.meta(db, argv[1]))
    if (isReply(target)) return target
    if ((yield* lookup(ks, target.current.version, argv[2])) !== undefined) return ZERO
    store(ks, target.current.version, argv[2], argv[3])
    commit(ks, db, argv[1], target.previous, target.current, 1)
    return integer(1)
  })

const hdel: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const hash = hashOf(meta)
    if (isReply(hash) || hash === undefined) return hash ?? ZERO
    return andThen(deleteHeld(ks, hash.version, argv.slice(2).map(partOf)), (removed) => {
      if (removed === 0) return ZERO
      // The last field gone: the hash goes too (its members are already deleted).
      if (removed === hash.size) ks.remove(db, argv[1], hash, { keepMembers: true })
      else ks.write(db, argv[1], { ...hash, size: hash.size - removed }, hash)
      return integer(removed)
    })
  })

const hincrby: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const delta = parseInt64(argv[3])!
    const target = hashForWrite(ks, yield* ks.meta(db, argv[1]))
    if (isReply(target)) return target
    const old = yield* lookup(ks, target.current.version, argv[2])
    const value = old === undefined ? 0n : parseInt64(old)
    if (value === undefined) return error("ERR hash value is not an integer")
    const next = value + delta
    if (!inInt64Range(next)) return OVERFLOW
    store(ks, target.current.version, argv[2], Buffer.from(next.toString(), "latin1"))
    commit(ks, db, argv[1], target.previous, target.current, old === undefined ? 1 : 0)
    return integer(next)
  })

/** HINCRBYFLOAT's increment: a valid float (long double), and neither NaN nor infinite. */
const validateFloatIncrement = (argv: Argv): Reply | undefined => {
  const checked = incrementLongDouble(undefined, argv[3])
  if (!("error" in checked)) return undefined
  return checked.error === "not a float" ? NOT_A_FLOAT : error("ERR value is NaN or Infinity")
}

const hincrbyfloat: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const target = hashForWrite(ks, yield* ks.meta(db, argv[1]))
    if (isReply(target)) return target
    const old = yield* lookup(ks, target.current.version, argv[2])
    const result = incrementLongDouble(old, argv[3])
    if ("error" in result) return result.error === "not a float" ? error("ERR hash value is not a float") : error("ERR increment would produce NaN or Infinity")
    const value = Buffer.from(result.value, "latin1")
    store(ks, target.current.version, argv[2], value)
    commit(ks, db, argv[1], target.previous, target.current, old === undefined ? 1 : 0)
    return bulk(value)
  })

// ---------------------------------------------------------------- reads

/** Run `read` on the key's hash; `missing` answers for an absent key. */
const readHash = (ks: Keyspace, db: number, key: Uint8Array, missing: Reply, read: (hash: CollectionMeta) => Reply | Effected<Reply>) =>
  Effect.flatMap(ks.meta(db, key), (meta) => {
    const hash = hashOf(meta)
    if (isReply(hash)) return Effect.succeed(hash)
    if (hash === undefined) return Effect.succeed(missing)
    const reply = read(hash)
    return Effect.isEffect(reply) ? reply : Effect.succeed(reply)
  })

const hget: Execute = ({ ks, db, argv }) => readHash(ks, db, argv[1], NIL, (hash) => Effect.map(lookup(ks, hash.version, argv[2]), (value) => bulk(value ?? null)))

const hmget: Execute = ({ ks, db, argv }) =>
  readHash(ks, db, argv[1], array(argv.slice(2).map(() => NIL)), (hash) =>
    Effect.map(
      Effect.forEach(argv.slice(2), (field) => lookup(ks, hash.version, field)),
      (values) => array(values.map((value) => bulk(value ?? null)))
    )
  )

const hlen: Execute = ({ ks, db, argv }) => readHash(ks, db, argv[1], ZERO, (hash) => integer(hash.size))

const hexists: Execute = ({ ks, db, argv }) =>
  readHash(ks, db, argv[1], ZERO, (hash) => Effect.map(lookup(ks, hash.version, argv[2]), (value) => integer(value === undefined ? 0 : 1)))

const hstrlen: Execute = ({ ks, db, argv }) =>
  readHash(ks, db, argv[1], ZERO, (hash) => Effect.map(lookup(ks, hash.version, argv[2]), (value) => integer(value?.length ?? 0)))

const hgetall: Execute = ({ ks, db, argv }) =>
  readHash(ks, db, argv[1], map([]), (hash) => Effect.map(all(ks, hash.version), (entries) => map(entries.flatMap(({ member, value }) => [bulk(member), bulk(value)]))))

const hkeys: Execute = ({ ks, db, argv }) =>
  readHash(ks, db, argv[1], array([]), (hash) => Effect.map(all(ks, hash.version), (entries) => array(entries.map(({ member }) => bulk(member)))))

const hvals: Execute = ({ ks, db, argv }) =>
  readHash(ks, db, argv[1], array([]), (hash) => Effect.map(all(ks, hash.version), (entries) => array(entries.map(({ value }) => bulk(value)))))

// ---------------------------------------------------------------- HRANDFIELD

interface RandfieldArguments {
  readonly count: RandomCount | undefined
  readonly withValues: boolean
}

/** HRANDFIELD key [count [WITHVALUES]] (t_hash.c hrandfieldCommand's checks, in its order). */
const parseRandfield = (argv: Argv): RandfieldArguments | Reply => {
  if (argv.length === 2) return { count: undefined, withValues: false }
  const count = parseRandomCount(argv[2])
  if (isReply(count)) return count
  if (argv.length > 4 || (argv.length === 4 && latin1(argv[3]).toLowerCase() !== "withvalues")) return SYNTAX_ERROR
  const withValues = argv.length === 4
  // With values the reply holds two elements per field: redis-server refuses what would overflow.
  if (withValues && count.overHalfRange) return error("ERR value is out of range")
  return checkRepeatedPicks(count) ?? { count, withValues }
}

const hrandfield: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const parsed = parseRandfield(argv)
    if (isReply(parsed)) return parsed
    const { count, withValues } = parsed
    const hash = hashOf(yield* ks.meta(db, argv[1]))
    if (isReply(hash)) return hash
    if (count === undefined) {
      if (hash === undefined) return NIL
      const entry = yield* randomOne(ks, hash.version, hash.size)
      return bulk(entry?.member ?? null)
    }
    if (hash === undefined || count.count === 0) return array([])
    const entries = yield* randomMany(ks, hash.version, hash.size, count.count, count.distinct)
    if (withValues) return pairs(entries.flatMap(({ member, value }) => [bulk(member), bulk(value)]))
    return array(entries.map(({ member }) => bulk(member)))
  })

// ---------------------------------------------------------------- HSCAN

/** HSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is checked first, the options only once the key holds a hash. */
const hscan: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const cursor = parseCursor(argv[2])
    if (cursor === undefined) return INVALID_CURSOR
    const hash = hashOf(yield* ks.meta(db, argv[1]))
    if (isReply(hash)) return hash
    if (hash === undefined) return array([text("0"), array([])])
    const options = parseScanOptions(argv, 3, false)
    if (isReply(options)) return options
    const page = yield* scanPage(ks, hash.version, hash.size, cursor >= 2n ** 32n ? 2 ** 32 : Number(cursor), options.count)
    const found: Array<Reply> = []
    for (const { member, value } of page.entries) {
      if (options.pattern !== undefined && !globMatch(options.pattern, member)) continue
      found.push(bulk(member), bulk(value))
    }
    return array([text(String(page.cursor)), array(found)])
  })

const state = (execute: Execute) => ({ kind: "state" as const, execute })

export const hashCommands: ReadonlyArray<CommandSpec> = [
  {
    name: "hset", arity: -4, flags: ["write", "denyoom", "fast"], group: "hash", keys: oneKey, summary: "Set the string value of a hash field", since: "2.0.0",
    complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
    validate: validatePairs("hset"), route: state(hset((added) => integer(added)))
  },
  {
    name: "hmset", arity: -4, flags: ["write", "denyoom", "fast"], group: "hash", keys: oneKey, summary: "Set multiple hash fields to multiple values", since: "2.0.0",
    complexity: "O(N) where N is the number of fields being set.", validate: validatePairs("hmset"), route: state(hset(() => OK))
  },
  {
    name: "hsetnx", arity: 4, flags: ["write", "denyoom", "fast"], group: "hash", keys: oneKey, summary: "Set the value of a hash field, only if the field does not exist", since: "2.0.0",
    complexity: "O(1)", route: state(hsetnx)
  },
  { name: "hget", arity: 3, flags: ["readonly", "fast"], group: "hash", keys: oneKey, summary: "Get the value of a hash field", since: "2.0.0", complexity: "O(1)", route: state(hget) },
  {
    name: "hmget", arity: -3, flags: ["readonly", "fast"], group: "hash", keys: oneKey, summary: "Get the values of all the given hash fields", since: "2.0.0",
    complexity: "O(N) where N is the number of fields being requested.", route: state(hmget)
  },
  {
    name: "hgetall", arity: 2, flags: ["readonly"], group: "hash", keys: oneKey, summary: "Get all the fields and values in a hash", since: "2.0.0",
    complexity: "O(N) where N is the size of the hash.", route: state(hgetall)
  },
  {
    name: "hdel", arity: -3, flags: ["write", "fast"], group: "hash", keys: oneKey, summary: "Delete one or more hash fields", since: "2.0.0",
    complexity: "O(N) where N is the number of fields to be removed.", route: state(hdel)
  },
  { name: "hlen", arity: 2, flags: ["readonly", "fast"], group: "hash", keys: oneKey, summary: "Get the number of fields in a hash", since: "2.0.0", complexity: "O(1)", route: state(hlen) },
  { name: "hexists", arity: 3, flags: ["readonly", "fast"], group: "hash", keys: oneKey, summary: "Determine if a hash field exists", since: "2.0.0", complexity: "O(1)", route: state(hexists) },
  {
    name: "hincrby", arity: 4, flags: ["write", "denyoom", "fast"], group: "hash", keys: oneKey, summary: "Increment the integer value of a hash field by the given number", since: "2.0.0",
    complexity: "O(1)", validate: (argv) => (parseInt64(argv[3]) === undefined ? NOT_AN_INTEGER : undefined), route: state(hincrby)
  },
  {
    name: "hincrbyfloat", arity: 4, flags: ["write", "denyoom", "fast"], group: "hash", keys: oneKey, summary: "Increment the float value of a hash field by the given amount", since: "2.6.0",
    complexity: "O(1)", validate: validateFloatIncrement, route: state(hincrbyfloat)
  },
  {
    name: "hkeys", arity: 2, flags: ["readonly"], group: "hash", keys: oneKey, summary: "Get all the fields in a hash", since: "2.0.0",
    complexity: "O(N) where N is the size of the hash.", route: state(hkeys)
  },
  {
    name: "hvals", arity: 2, flags: ["readonly"], group: "hash", keys: oneKey, summary: "Get all the values in a hash", since: "2.0.0",
    complexity: "O(N) where N is the size of the hash.", route: state(hvals)
  },
  {
    name: "hstrlen", arity: 3, flags: ["readonly", "fast"], group: "hash", keys: oneKey, summary: "Get the length of the value of a hash field", since: "3.2.0",
    complexity: "O(1)", route: state(hstrlen)
  },
  {
    name: "hrandfield", arity: -2, flags: ["readonly"], group: "hash", keys: oneKey, summary: "Get one or multiple random fields from a hash", since: "6.2.0",
    complexity: "O(N) where N is the number of fields returned (each a seek, O(log size), in a hash of more than 128 fields)",
    validate: (argv) => { const parsed = parseRandfield(argv); return isReply(parsed) ? parsed : undefined }, route: state(hrandfield)
  },
  {
    name: "hscan", arity: -3, flags: ["readonly"], group: "hash", keys: oneKey, summary: "Incrementally iterate hash fields and associated values", since: "2.8.0",
    complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    validate: (argv) => (parseCursor(argv[2]) === undefined ? INVALID_CURSOR : undefined), route: state(hscan)
  }
]
