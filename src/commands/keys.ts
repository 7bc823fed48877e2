/**
 * Keyspace commands (redis-server 7.0's db.c): DEL, EXISTS, TYPE, RENAME, COPY, MOVE, SCAN, KEYS,
 * the database commands (DBSIZE, SWAPDB, FLUSHDB, FLUSHALL), and the expiry commands (expire.c).
 */
import { Effect } from "effect"
import { BulkArrayEncoder } from "../resp/encode.js"
import { array, integer, NIL, OK, ONE, simple, text, ZERO, bulk, encoded, type Reply } from "../resp/Reply.js"
import {
  DB_OUT_OF_RANGE,
  INT32_OUT_OF_RANGE,
  INVALID_CURSOR,
  latin1,
  NO_SUCH_KEY,
  NOT_AN_INTEGER,
  SAME_OBJECT,
  SYNTAX_ERROR
} from "./errors.js"
import { expiryFromCommand, isReply, parseExpireFlags } from "./expiryArguments.js"
import { globMatch } from "./glob.js"
import { parseInt32, parseInt64 } from "./integers.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import { flushedDbKey } from "./keyspace/layout.js"
import { DATABASES } from "./keyspace/MachineState.js"
import { isCollection, isExpired, type Meta, TYPE_NAMES } from "./keyspace/meta.js"
import type { Argv, CommandSpec, ExecContext, Execute } from "./registry.js"

const EMPTY = new Uint8Array(0)
const oneKey = { first: 1, last: 1, step: 1 }
const allKeys = { first: 1, last: -1, step: 1 }
const twoKeys = { first: 1, last: 2, step: 1 }

/** A database index argument: 0..15, or Redis's error (getIntFromObjectOrReply, then the range). */
export const parseDbIndex = (bytes: Uint8Array): number | Reply => {
  const index = parseInt32(bytes)
  if (index === "not-integer") return NOT_AN_INTEGER
  if (index === "out-of-range") return INT32_OUT_OF_RANGE
  return index < 0 || index >= DATABASES ? DB_OUT_OF_RANGE : index
}

// ---------------------------------------------------------------- copying collections

/** A copy of `meta` under a new version, members included (COPY is O(N), as in Redis). */
const duplicate = (ks: Keyspace, meta: Meta): Effect.Effect<Meta, import("../engine/KvEngine.js").EngineError> => {
  if (!isCollection(meta)) return Effect.succeed(meta)
  return Effect.map(ks.members(meta.version), (members) => {
    const copy = { ...ks.newCollection(meta.type, meta.head), expireAt: meta.expireAt, size: meta.size }
    for (const [part, value] of members) ks.putMember(copy.version, part, value)
    return copy
  })
}

// ---------------------------------------------------------------- the commands

const del: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    let removed = 0
    for (let i = 1; i < argv.length; i++) {
      const meta = yield* ks.meta(db, argv[i])
      if (meta === undefined) continue
      ks.remove(db, argv[i], meta)
      removed++
    }
    return integer(removed)
  })

const exists: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    let found = 0
    for (let i = 1; i < argv.length; i++) if ((yield* ks.meta(db, argv[i])) !== undefined) found++
    return integer(found)
  })

const type: Execute = ({ ks, db, argv }) => Effect.map(ks.meta(db, argv[1]), (meta) => simple(meta === undefined ? "none" : TYPE_NAMES[meta.type]))

const rename = (onlyIfAbsent: boolean): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const source = yield* ks.meta(db, argv[1])
    if (source === undefined) return NO_SUCH_KEY
    if (Buffer.compare(argv[1], argv[2]) === 0) return onlyIfAbsent ? ZERO : OK
    const target = yield* ks.meta(db, argv[2])
    if (target !== undefined && onlyIfAbsent) return ZERO
    // The members stay where they are: the record moves, version and expiry with it.
    ks.remove(db, argv[1], source, { keepMembers: true })
    ks.write(db, argv[2], source, target)
    return onlyIfAbsent ? ONE : OK
  })

interface CopyOptions {
  readonly db: number | undefined
  readonly replace: boolean
}

const parseCopyOptions = (argv: Argv): CopyOptions | Reply => {
  let db: number | undefined
  let replace = false
  for (let i = 3; i < argv.length; i++) {
    const option = latin1(argv[i]).toUpperCase()
    if (option === "REPLACE") replace = true
    else if (option === "DB" && i + 1 < argv.length) {
      const index = parseDbIndex(argv[++i])
      if (isReply(index)) return index
      db = index
    } else return SYNTAX_ERROR
  }
  return { db, replace }
}

const copy: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const options = parseCopyOptions(argv)
    if (isReply(options)) return options
    const targetDb = options.db ?? db
    if (targetDb === db && Buffer.compare(argv[1], argv[2]) === 0) return SAME_OBJECT
    const source = yield* ks.meta(db, argv[1])
    if (source === undefined) return ZERO
    const target = yield* ks.meta(targetDb, argv[2])
    if (target !== undefined && !options.replace) return ZERO
    ks.write(targetDb, argv[2], yield* duplicate(ks, source), target)
    return ONE
  })

const move: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const targetDb = parseDbIndex(argv[2])
    if (isReply(targetDb)) return targetDb
    if (targetDb === db) return SAME_OBJECT
    const source = yield* ks.meta(db, argv[1])
    if (source === undefined) return ZERO
    if ((yield* ks.meta(targetDb, argv[1])) !== undefined) return ZERO
    ks.remove(db, argv[1], source, { keepMembers: true })
    ks.write(targetDb, argv[1], source, undefined)
    return ONE
  })

const randomkey: Execute = ({ ks, db }) => Effect.map(ks.randomKey(db), (entry) => (entry === undefined ? NIL : bulk(entry.key)))

/** Whether a glob pattern matches one key only (no wildcard, no escape): KEYS then reads one record. */
const literalPattern = (pattern: Uint8Array): boolean => !pattern.some((byte) => byte === 0x2a || byte === 0x3f || byte === 0x5b || byte === 0x5c)

/**
 * KEYS reads the whole database in pages, yielding between them, and encodes the matching keys as
 * it goes (BulkArrayEncoder): a million keys are never a million Reply values nor one long
 * encoding pass, so the node keeps serving heartbeats and other clients meanwhile.
 */
const keys: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const pattern = argv[1]
    if (literalPattern(pattern)) return array((yield* ks.meta(db, pattern)) === undefined ? [] : [bulk(pattern)])
    const all = pattern.length === 1 && pattern[0] === 0x2a
    const out = new BulkArrayEncoder()
    yield* ks.eachKey(db, (key) => {
      if (all || globMatch(pattern, key)) out.add(key)
    })
    return encoded(out.finish())
  })

interface ScanOptions {
  readonly count: number
  readonly pattern: Uint8Array | undefined
  readonly type: string | undefined
}

/** SCAN's cursor: strtoul's syntax (a sign is allowed; "-1" wraps around), or undefined. */
export const parseCursor = (bytes: Uint8Array): bigint | undefined => {
  // strtoul reads nothing from "" and stops at its end: the cursor 0.
  if (bytes.length === 0) return 0n
  const match = /^([+-]?)(\d+)$/.exec(latin1(bytes))
  if (match === null) return undefined
  const value = BigInt(match[2])
  if (value > 2n ** 64n - 1n) return undefined
  return match[1] === "-" && value !== 0n ? 2n ** 64n - value : value
}

/** SCAN-family options from argv[from..] (db.c scanGenericCommand), TYPE only where allowed. */
export const parseScanOptions = (argv: Argv, from: number, allowType: boolean): ScanOptions | Reply => {
  let count = 10
  let pattern: Uint8Array | undefined
  let type: string | undefined
  for (let i = from; i < argv.length; i += 2) {
    const option = latin1(argv[i]).toLowerCase()
    if (i + 1 >= argv.length) return SYNTAX_ERROR
    if (option === "count") {
      const value = parseInt64(argv[i + 1])
      if (value === undefined) return NOT_AN_INTEGER
      if (value < 1n) return SYNTAX_ERROR
      count = Number(value)
    } else if (option === "match") {
      const value = argv[i + 1]
      pattern = value.length === 1 && value[0] === 0x2a ? undefined : value
    } else if (option === "type" && allowType) type = latin1(argv[i + 1])
    else return SYNTAX_ERROR
  }
  return { count, pattern, type }
}

const validateScan = (argv: Argv): Reply | undefined => {
  if (parseCursor(argv[1]) === undefined) return INVALID_CURSOR
  const options = parseScanOptions(argv, 2, true)
  return isReply(options) ? options : undefined
}

const scan: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const options = parseScanOptions(argv, 2, true)
    if (isReply(options)) return options
    const cursor = parseCursor(argv[1])!
    // Cursors are key hashes (32 bits): one beyond them is past the end.
    if (cursor >= 2n ** 32n) return array([text("0"), array([])])
    const page = yield* ks.scan(db, Number(cursor), options.count)
    const found: Array<Reply> = []
    for (const entry of page.keys) {
      if (options.type !== undefined && TYPE_NAMES[entry.meta.type] !== options.type.toLowerCase()) continue
      if (options.pattern !== undefined && !globMatch(options.pattern, entry.key)) continue
      found.push(bulk(entry.key))
    }
    return array([text(String(page.cursor)), array(found)])
  })

const dbsize: Execute = ({ ks, db }) => integer(ks.state.countsOf(ks.physical(db)).keys)

/** Mark the WATCH sessions whose keys a flush or swap of `db` changes (multi.c touchAllWatchedKeysInDb). */
/**
 * Logical database `db` is emptied, or replaced by `other` (SWAPDB), as Redis 7.0's
 * touchAllWatchedKeysInDb: a watched key that exists in either counts as modified, except that
 * one watched already expired and now gone (or still expired) is not, and a missing one replaced
 * by an expired one is flagged expired instead.
 */
const touchWatchedIn = (ks: Keyspace, db: number, other: number | undefined) =>
  Effect.gen(function* () {
    const found = new Map<string, { readonly emptied: Meta | undefined; readonly replaced: Meta | undefined }>()
    for (const watched of ks.watchedKeysIn(db)) {
      if (found.has(watched.key)) continue
      const key = Buffer.from(watched.key, "latin1")
      found.set(watched.key, { emptied: yield* ks.storedMeta(db, key), replaced: other === undefined ? undefined : yield* ks.storedMeta(other, key) })
    }
    ks.touchAllWatched(db, (watched) => {
      const { emptied, replaced } = found.get(watched.key)!
      if (emptied === undefined && replaced === undefined) return undefined
      if (watched.expired) {
        if (replaced === undefined) return "clear"
        if (isExpired(replaced.expireAt, ks.now)) return undefined
      } else if (emptied === undefined && replaced !== undefined && isExpired(replaced.expireAt, ks.now)) return "flag"
      return "dirty"
    })
  })

/** Empty logical database `db` in O(1): it gets a fresh physical database; the reaper removes the old one. */
const flush = (ks: Keyspace, db: number) =>
  Effect.gen(function* () {
    yield* touchWatchedIn(ks, db, undefined)
    const old = ks.state.remap(db)
    ks.txn.put(flushedDbKey(old), EMPTY)
  })

const flushOptions = (argv: Argv): Reply | undefined => {
  if (argv.length > 2) return SYNTAX_ERROR
  if (argv.length === 2 && !["ASYNC", "SYNC"].includes(latin1(argv[1]).toUpperCase())) return SYNTAX_ERROR
  return undefined
}

const flushdb: Execute = ({ ks, db }) => Effect.as(flush(ks, db), OK)

const flushall: Execute = ({ ks }) =>
  Effect.as(
    Effect.forEach(Array.from({ length: DATABASES }, (_, i) => i), (db) => flush(ks, db), { discard: true }),
    OK
  )

/** SWAPDB's indexes: both parsed (each its own error) before either is range-checked, as Redis does. */
const parseSwapIndexes = (argv: Argv): readonly [number, number] | Reply => {
  const parse = (bytes: Uint8Array) => {
    const index = parseInt64(bytes)
    return index === undefined || index < -(2n ** 31n) || index >= 2n ** 31n ? undefined : index
  }
  const first = parse(argv[1])
  if (first === undefined) return { _tag: "Error", message: "ERR invalid first DB index" }
  const second = parse(argv[2])
  if (second === undefined) return { _tag: "Error", message: "ERR invalid second DB index" }
  const inRange = (index: bigint) => index >= 0n && index < BigInt(DATABASES)
  return inRange(first) && inRange(second) ? [Number(first), Number(second)] : DB_OUT_OF_RANGE
}

const validateSwapdb = (argv: Argv): Reply | undefined => {
  const indexes = parseSwapIndexes(argv)
  return isReply(indexes) ? indexes : undefined
}

const swapdb: Execute = ({ ks, argv }) =>
  Effect.gen(function* () {
    const [a, b] = parseSwapIndexes(argv) as readonly [number, number]
    if (a === b) return OK
    yield* touchWatchedIn(ks, a, b)
    yield* touchWatchedIn(ks, b, a)
    ks.state.swap(a, b)
    return OK
  })

// ---------------------------------------------------------------- expiry

const expire = (seconds: boolean, absolute: boolean, command: string): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const flags = parseExpireFlags(argv)
    if (isReply(flags)) return flags
    const when = expiryFromCommand(argv[2], seconds, absolute ? 0 : ks.now, command)
    if (isReply(when)) return when
    const meta = yield* ks.meta(db, argv[1])
    if (meta === undefined) return ZERO
    const current = meta.expireAt === 0 ? -1 : meta.expireAt
    if (flags.nx && current !== -1) return ZERO
    if (flags.xx && current === -1) return ZERO
    if (flags.gt && (current === -1 || when <= current)) return ZERO
    if (flags.lt && current !== -1 && when >= current) return ZERO
    // A time already past deletes the key at once (expire.c checkAlreadyExpired).
    if (when <= ks.now) ks.remove(db, argv[1], meta)
    else ks.write(db, argv[1], { ...meta, expireAt: when }, meta)
    return ONE
  })

const validateExpire = (seconds: boolean, command: string) => (argv: Argv): Reply | undefined => {
  const flags = parseExpireFlags(argv)
  if (isReply(flags)) return flags
  const when = expiryFromCommand(argv[2], seconds, 0, command)
  return isReply(when) ? when : undefined
}

/** TTL, PTTL, EXPIRETIME, PEXPIRETIME (expire.c ttlGenericCommand). */
const ttl = (milliseconds: boolean, absolute: boolean): Execute => ({ ks, db, argv }) =>
  Effect.map(ks.meta(db, argv[1]), (meta) => {
    if (meta === undefined) return integer(-2)
    if (meta.expireAt === 0) return integer(-1)
    const value = Math.max(0, absolute ? meta.expireAt : meta.expireAt - ks.now)
    return integer(milliseconds ? value : Math.floor((value + 500) / 1000))
  })

const persist: Execute = ({ ks, db, argv }) =>
  Effect.map(ks.meta(db, argv[1]), (meta) => {
    if (meta === undefined || meta.expireAt === 0) return ZERO
    ks.write(db, argv[1], { ...meta, expireAt: 0 }, meta)
    return ONE
  })

const state = (execute: Execute) => ({ kind: "state" as const, execute })

export const keyspaceCommands: ReadonlyArray<CommandSpec> = [
  { name: "del", arity: -2, flags: ["write"], group: "generic", keys: allKeys, summary: "Delete a key", since: "1.0.0", complexity: "O(N) where N is the number of keys that will be removed. A collection is removed in O(1); its members are reclaimed in the background.", route: state(del) },
  { name: "unlink", arity: -2, flags: ["write", "fast"], group: "generic", keys: allKeys, summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", since: "4.0.0", complexity: "O(1) for each key removed regardless of its size.", route: state(del) },
  { name: "exists", arity: -2, flags: ["readonly", "fast"], group: "generic", keys: allKeys, summary: "Determine if a key exists", since: "1.0.0", complexity: "O(N) where N is the number of keys to check.", route: state(exists) },
  { name: "touch", arity: -2, flags: ["readonly", "fast"], group: "generic", keys: allKeys, summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.", since: "3.2.1", complexity: "O(N) where N is the number of keys that will be touched.", route: state(exists) },
  { name: "type", arity: 2, flags: ["readonly", "fast"], group: "generic", keys: oneKey, summary: "Determine the type stored at key", since: "1.0.0", complexity: "O(1)", route: state(type) },
  { name: "rename", arity: 3, flags: ["write"], group: "generic", keys: twoKeys, summary: "Rename a key", since: "1.0.0", complexity: "O(1)", route: state(rename(false)) },
  { name: "renamenx", arity: 3, flags: ["write", "fast"], group: "generic", keys: twoKeys, summary: "Rename a key, only if the new key does not exist", since: "1.0.0", complexity: "O(1)", route: state(rename(true)) },
  {
    name: "copy", arity: -3, flags: ["write", "denyoom"], group: "generic", keys: twoKeys, summary: "Copy a key", since: "6.2.0",
    complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
    validate: (argv) => { const options = parseCopyOptions(argv); return isReply(options) ? options : undefined }, route: state(copy)
  },
  {
    name: "move", arity: 3, flags: ["write", "fast"], group: "generic", keys: oneKey, summary: "Move a key to another database", since: "1.0.0", complexity: "O(1)",
    validate: (argv) => { const index = parseDbIndex(argv[2]); return isReply(index) ? index : undefined }, route: state(move)
  },
  { name: "randomkey", arity: 1, flags: ["readonly"], group: "generic", summary: "Return a random key from the keyspace", since: "1.0.0", complexity: "O(1)", route: state(randomkey) },
  { name: "keys", arity: 2, flags: ["readonly"], group: "generic", categories: ["dangerous"], summary: "Find all keys matching the given pattern", since: "1.0.0", complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", route: state(keys) },
  { name: "scan", arity: -2, flags: ["readonly"], group: "generic", summary: "Incrementally iterate the keys space", since: "2.8.0", complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", validate: validateScan, route: state(scan) },
  { name: "dbsize", arity: 1, flags: ["readonly", "fast"], group: "server", categories: ["keyspace"], summary: "Return the number of keys in the selected database", since: "1.0.0", complexity: "O(1)", route: state(dbsize) },
  { name: "flushdb", arity: -1, flags: ["write"], group: "server", categories: ["keyspace", "dangerous"], summary: "Remove all keys from the current database", since: "1.0.0", complexity: "O(1): the keys are reclaimed in the background.", validate: flushOptions, route: state(flushdb) },
  { name: "flushall", arity: -1, flags: ["write"], group: "server", categories: ["keyspace", "dangerous"], summary: "Remove all keys from all databases", since: "1.0.0", complexity: "O(1): the keys are reclaimed in the background.", validate: flushOptions, route: state(flushall) },
  { name: "swapdb", arity: 3, flags: ["write", "fast"], group: "server", categories: ["keyspace", "dangerous"], summary: "Swaps two Redis databases", since: "4.0.0", complexity: "O(1)", validate: validateSwapdb, route: state(swapdb) },
  { name: "expire", arity: -3, flags: ["write", "fast"], group: "generic", keys: oneKey, summary: "Set a key's time to live in seconds", since: "1.0.0", complexity: "O(1)", validate: validateExpire(true, "expire"), route: state(expire(true, false, "expire")) },
  { name: "pexpire", arity: -3, flags: ["write", "fast"], group: "generic", keys: oneKey, summary: "Set a key's time to live in milliseconds", since: "2.6.0", complexity: "O(1)", validate: validateExpire(false, "pexpire"), route: state(expire(false, false, "pexpire")) },
  { name: "expireat", arity: -3, flags: ["write", "fast"], group: "generic", keys: oneKey, summary: "Set the expiration for a key as a UNIX timestamp", since: "1.2.0", complexity: "O(1)", validate: validateExpire(true, "expireat"), route: state(expire(true, true, "expireat")) },
  { name: "pexpireat", arity: -3, flags: ["write", "fast"], group: "generic", keys: oneKey, summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds", since: "2.6.0", complexity: "O(1)", validate: validateExpire(false, "pexpireat"), route: state(expire(false, true, "pexpireat")) },
  { name: "ttl", arity: 2, flags: ["readonly", "fast"], group: "generic", keys: oneKey, summary: "Get the time to live for a key in seconds", since: "1.0.0", complexity: "O(1)", route: state(ttl(false, false)) },
  { name: "pttl", arity: 2, flags: ["readonly", "fast"], group: "generic", keys: oneKey, summary: "Get the time to live for a key in milliseconds", since: "2.6.0", complexity: "O(1)", route: state(ttl(true, false)) },
  { name: "expiretime", arity: 2, flags: ["readonly", "fast"], group: "generic", keys: oneKey, summary: "Get the expiration Unix timestamp for a key", since: "7.0.0", complexity: "O(1)", route: state(ttl(false, true)) },
  { name: "pexpiretime", arity: 2, flags: ["readonly", "fast"], group: "generic", keys: oneKey, summary: "Get the expiration Unix timestamp for a key in milliseconds", since: "7.0.0", complexity: "O(1)", route: state(ttl(true, true)) },
  { name: "persist", arity: 2, flags: ["write", "fast"], group: "generic", keys: oneKey, summary: "Remove the expiration from a key", since: "2.2.0", complexity: "O(1)", route: state(persist) }
]
