/**
 * String commands (redis-server 7.0's t_string.c semantics, error texts included). Values live in
 * the key's meta record; INCR, APPEND and SETRANGE keep the key's expiry, SET and GETSET drop it
 * unless KEEPTTL says otherwise.
 */
import { Effect } from "effect"
import { array, bulk, error, integer, NIL, OK, ONE, ZERO, type Reply } from "../resp/Reply.js"
import {
  DECREMENT_OVERFLOW,
  latin1,
  NOT_A_FLOAT,
  NOT_AN_INTEGER,
  OFFSET_OUT_OF_RANGE,
  OVERFLOW,
  STRING_TOO_LONG,
  SYNTAX_ERROR,
  WRONGTYPE,
  wrongArity
} from "./errors.js"
import { expiryFromOption, type ExpiryUnit, invalidExpireTime, isReply } from "./expiryArguments.js"
import { incrementLongDouble } from "./floats.js"
import { inInt64Range, parseInt64 } from "./integers.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import { KeyType, type Meta, type StringMeta } from "./keyspace/meta.js"
import { NOT_LOADED } from "./keyspace/Txn.js"
import type { Argv, CommandSpec, ExecContext, Execute } from "./registry.js"

/** proto-max-bulk-len: no string may grow past 512 MB. */
const MAX_STRING_BYTES = 512 * 1024 * 1024

const string = (value: Uint8Array, expireAt = 0): StringMeta => ({ type: KeyType.String, expireAt, value })

/** The key's string value: undefined when absent, WRONGTYPE for another type. */
const stringMeta = (meta: Meta | undefined): StringMeta | undefined | Reply => {
  if (meta === undefined) return undefined
  return meta.type === KeyType.String ? meta : WRONGTYPE
}

// ---------------------------------------------------------------- SET and its options

interface SetOptions {
  readonly condition: "NX" | "XX" | undefined
  readonly get: boolean
  readonly keepTtl: boolean
  readonly expiry: { readonly unit: ExpiryUnit; readonly value: Uint8Array } | undefined
}

/** SET's options (t_string.c parseExtendedStringArgumentsOrReply), or a syntax error. */
const parseSetOptions = (argv: Argv): SetOptions | Reply => {
  let condition: "NX" | "XX" | undefined
  let get = false
  let keepTtl = false
  let expiry: SetOptions["expiry"]
  for (let i = 3; i < argv.length; i++) {
    const option = latin1(argv[i]).toUpperCase()
    const hasNext = i + 1 < argv.length
    if (option === "NX" && condition !== "XX") condition = "NX"
    else if (option === "XX" && condition !== "NX") condition = "XX"
    else if (option === "GET") get = true
    else if (option === "KEEPTTL" && expiry === undefined) keepTtl = true
    else if ((option === "EX" || option === "PX" || option === "EXAT" || option === "PXAT") && !keepTtl && (expiry === undefined || expiry.unit === option) && hasNext) {
      expiry = { unit: option, value: argv[++i] }
    } else return SYNTAX_ERROR
  }
  return { condition, get, keepTtl, expiry }
}

const validateSet = (argv: Argv, now: number): Reply | undefined => {
  if (argv.length === 3) return undefined
  const options = parseSetOptions(argv)
  if (isReply(options)) return options
  if (options.expiry !== undefined) {
    const expireAt = expiryFromOption(options.expiry.unit, options.expiry.value, "set", now)
    if (isReply(expireAt)) return expireAt
  }
  return undefined
}

/** SET's expiry for the new value: 0 none, or absolute ms; an error reply for a bad one. */
const setExpiry = (options: SetOptions, previous: Meta | undefined, now: number): number | Reply => {
  if (options.expiry !== undefined) return expiryFromOption(options.expiry.unit, options.expiry.value, "set", now)
  return options.keepTtl ? (previous?.expireAt ?? 0) : 0
}

const set: Execute = ({ ks, db, argv }) => {
  // A plain SET, the most common write, without an Effect when the engine answers synchronously.
  if (argv.length === 3) {
    const previous = ks.metaNow(db, argv[1])
    if (previous !== NOT_LOADED) {
      ks.write(db, argv[1], string(argv[2]), previous)
      return OK
    }
  }
  return Effect.gen(function* () {
    const options = parseSetOptions(argv)
    if (isReply(options)) return options
    const previous = yield* ks.meta(db, argv[1])
    const expireAt = setExpiry(options, previous, ks.now)
    if (isReply(expireAt)) return expireAt
    let old: Uint8Array | null = null
    if (options.get) {
      const current = stringMeta(previous)
      if (isReply(current)) return current
      old = current?.value ?? null
    }
    if ((options.condition === "NX" && previous !== undefined) || (options.condition === "XX" && previous === undefined)) {
      return options.get ? bulk(old) : NIL
    }
    ks.write(db, argv[1], string(argv[2], expireAt), previous)
    return options.get ? bulk(old) : OK
  })
}

// ---------------------------------------------------------------- reads

const get: Execute = ({ ks, db, argv }) => {
  const now = ks.metaNow(db, argv[1])
  if (now !== NOT_LOADED) {
    const value = stringMeta(now)
    return isReply(value) ? value : bulk(value?.value ?? null)
  }
  return Effect.map(ks.meta(db, argv[1]), (meta) => {
    const value = stringMeta(meta)
    return isReply(value) ? value : bulk(value?.value ?? null)
  })
}

const mget = ({ ks, db, argv }: ExecContext) =>
  Effect.gen(function* () {
    const values: Array<Reply> = []
    for (let i = 1; i < argv.length; i++) {
      const meta = yield* ks.meta(db, argv[i])
      // MGET answers nil for a key of another type, never WRONGTYPE.
      values.push(bulk(meta?.type === KeyType.String ? meta.value : null))
    }
    return array(values)
  })

const strlen = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (meta) => {
    const value = stringMeta(meta)
    return isReply(value) ? value : integer(value?.value.length ?? 0)
  })

/** Redis's GETRANGE index arithmetic (negative from the end, clamped, empty when inverted). */
const getrange = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (meta) => {
    let start = Number(parseInt64(argv[2]))
    let end = Number(parseInt64(argv[3]))
    const value = stringMeta(meta)
    if (isReply(value)) return value
    const bytes = value?.value ?? new Uint8Array(0)
    const length = bytes.length
    // Both negative and start > end: empty (7.0's "start > end" check comes after the clamps).
    if (start < 0 && end < 0 && start > end) return bulk(new Uint8Array(0))
    if (start < 0) start = length + start
    if (end < 0) end = length + end
    if (start < 0) start = 0
    if (end < 0) end = 0
    if (end >= length) end = length - 1
    if (start > end || length === 0) return bulk(new Uint8Array(0))
    return bulk(bytes.subarray(start, end + 1))
  })

// ---------------------------------------------------------------- writes

const setnx = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (previous) => {
    if (previous !== undefined) return ZERO
    ks.write(db, argv[1], string(argv[2]), undefined)
    return ONE
  })

const setWithExpiry = (unit: ExpiryUnit, command: string) => ({ ks, db, argv }: ExecContext) =>
  Effect.gen(function* () {
    const expireAt = expiryFromOption(unit, argv[2], command, ks.now)
    if (isReply(expireAt)) return expireAt
    const previous = yield* ks.meta(db, argv[1])
    ks.write(db, argv[1], string(argv[3], expireAt), previous)
    return OK
  })

const getset = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (previous) => {
    const old = stringMeta(previous)
    if (isReply(old)) return old
    ks.write(db, argv[1], string(argv[2]), previous)
    return bulk(old?.value ?? null)
  })

const getdel = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (previous) => {
    const old = stringMeta(previous)
    if (isReply(old)) return old
    if (old !== undefined) ks.remove(db, argv[1], old)
    return bulk(old?.value ?? null)
  })

/** GETEX's option (t_string.c, COMMAND_GET): one of EX PX EXAT PXAT PERSIST, or none. */
const parseGetexOption = (argv: Argv): { readonly unit: ExpiryUnit | "PERSIST"; readonly value?: Uint8Array } | undefined | Reply => {
  let option: { unit: ExpiryUnit | "PERSIST"; value?: Uint8Array } | undefined
  for (let i = 2; i < argv.length; i++) {
    const name = latin1(argv[i]).toUpperCase()
    // Repeating an option is allowed (PERSIST PERSIST, EX 1 EX 2: the last one counts); mixing them is not.
    if (name === "PERSIST" && (option === undefined || option.unit === "PERSIST")) option = { unit: "PERSIST" }
    else if ((name === "EX" || name === "PX" || name === "EXAT" || name === "PXAT") && (option === undefined || option.unit === name) && i + 1 < argv.length) {
      option = { unit: name, value: argv[++i] }
    } else return SYNTAX_ERROR
  }
  return option
}

/** Only the options' syntax: Redis checks the time itself once the key holds a string (a missing key answers nil). */
const validateGetex = (argv: Argv): Reply | undefined => {
  const option = parseGetexOption(argv)
  return isReply(option) ? option : undefined
}

const getex = ({ ks, db, argv }: ExecContext) =>
  Effect.gen(function* () {
    const option = parseGetexOption(argv)
    if (isReply(option)) return option
    const previous = yield* ks.meta(db, argv[1])
    const current = stringMeta(previous)
    if (isReply(current)) return current
    if (current === undefined) return NIL
    let expireAt: number | undefined
    if (option !== undefined && option.unit !== "PERSIST") {
      const parsed = expiryFromOption(option.unit, option.value!, "getex", ks.now)
      if (isReply(parsed)) return parsed
      expireAt = parsed
    }
    if (expireAt !== undefined) {
      // A time already past deletes the key (expire.c checkAlreadyExpired).
      if (expireAt <= ks.now) ks.remove(db, argv[1], current)
      else ks.write(db, argv[1], string(current.value, expireAt), current)
    } else if (option?.unit === "PERSIST" && current.expireAt !== 0) {
      ks.write(db, argv[1], string(current.value), current)
    }
    return bulk(current.value)
  })

const increment = (ks: Keyspace, db: number, key: Uint8Array, delta: bigint) =>
  Effect.map(ks.meta(db, key), (previous) => {
    const current = stringMeta(previous)
    if (isReply(current)) return current
    const value = current === undefined ? 0n : parseInt64(current.value)
    if (value === undefined) return NOT_AN_INTEGER
    const next = value + delta
    if (!inInt64Range(next)) return OVERFLOW
    ks.write(db, key, string(Buffer.from(next.toString(), "latin1"), current?.expireAt ?? 0), previous)
    return integer(next)
  })

const integerArgument = (position: number) => (argv: Argv) => (parseInt64(argv[position]) === undefined ? NOT_AN_INTEGER : undefined)

const incrbyfloat = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (previous) => {
    const current = stringMeta(previous)
    if (isReply(current)) return current
    const result = incrementLongDouble(current?.value, argv[2])
    if ("error" in result) return result.error === "not a float" ? NOT_A_FLOAT : error("ERR increment would produce NaN or Infinity")
    const value = Buffer.from(result.value, "latin1")
    ks.write(db, argv[1], string(value, current?.expireAt ?? 0), previous)
    return bulk(value)
  })

const append = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (previous) => {
    const current = stringMeta(previous)
    if (isReply(current)) return current
    if (current !== undefined && current.value.length + argv[2].length > MAX_STRING_BYTES) return STRING_TOO_LONG
    const value = current === undefined ? Buffer.from(argv[2]) : Buffer.concat([current.value, argv[2]])
    ks.write(db, argv[1], string(value, current?.expireAt ?? 0), previous)
    return integer(value.length)
  })

const setrange = ({ ks, db, argv }: ExecContext) =>
  Effect.map(ks.meta(db, argv[1]), (previous) => {
    const offset = Number(parseInt64(argv[2]))
    const current = stringMeta(previous)
    if (isReply(current)) return current
    const patch = argv[3]
    // Setting nothing answers the length without a size check (Redis), so the check is made here.
    if (current === undefined && patch.length === 0) return ZERO
    const old = current?.value ?? new Uint8Array(0)
    if (patch.length === 0) return integer(old.length)
    if (offset + patch.length > MAX_STRING_BYTES) return STRING_TOO_LONG
    const value = Buffer.alloc(Math.max(old.length, offset + patch.length))
    value.set(old, 0)
    value.set(patch, offset)
    ks.write(db, argv[1], string(value, current?.expireAt ?? 0), previous)
    return integer(value.length)
  })

const validateSetrange = (argv: Argv): Reply | undefined => {
  const offset = parseInt64(argv[2])
  if (offset === undefined) return NOT_AN_INTEGER
  if (offset < 0n) return OFFSET_OUT_OF_RANGE
  // The size limit depends on the key (WRONGTYPE first; nothing to set: no limit): checked when it runs.
  return undefined
}

const mset = ({ ks, db, argv }: ExecContext) =>
  Effect.gen(function* () {
    for (let i = 1; i + 1 < argv.length; i += 2) {
      const previous = yield* ks.meta(db, argv[i])
      ks.write(db, argv[i], string(argv[i + 1]), previous)
    }
    return OK
  })

const msetnx = ({ ks, db, argv }: ExecContext) =>
  Effect.gen(function* () {
    for (let i = 1; i + 1 < argv.length; i += 2) if ((yield* ks.meta(db, argv[i])) !== undefined) return ZERO
    for (let i = 1; i + 1 < argv.length; i += 2) ks.write(db, argv[i], string(argv[i + 1]), yield* ks.meta(db, argv[i]))
    return ONE
  })

const pairsArity = (name: string) => (argv: Argv) => (argv.length % 2 === 1 ? undefined : wrongArity(name))

const oneKey = { first: 1, last: 1, step: 1 }

export const stringCommands: ReadonlyArray<CommandSpec> = [
  {
    name: "get", arity: 2, flags: ["readonly", "fast"], group: "string", keys: oneKey,
    summary: "Get the value of a key", since: "1.0.0", complexity: "O(1)", route: { kind: "state", execute: get }
  },
  {
    name: "set", arity: -3, flags: ["write", "denyoom"], group: "string", keys: oneKey,
    summary: "Set the string value of a key", since: "1.0.0", complexity: "O(1)", validate: validateSet, route: { kind: "state", execute: set }
  },
  {
    name: "setnx", arity: 3, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Set the value of a key, only if the key does not exist", since: "1.0.0", complexity: "O(1)", route: { kind: "state", execute: setnx }
  },
  {
    name: "setex", arity: 4, flags: ["write", "denyoom"], group: "string", keys: oneKey,
    summary: "Set the value and expiration of a key", since: "2.0.0", complexity: "O(1)",
    validate: (argv, now) => { const r = expiryFromOption("EX", argv[2], "setex", now); return isReply(r) ? r : undefined },
    route: { kind: "state", execute: setWithExpiry("EX", "setex") }
  },
  {
    name: "psetex", arity: 4, flags: ["write", "denyoom"], group: "string", keys: oneKey,
    summary: "Set the value and expiration in milliseconds of a key", since: "2.6.0", complexity: "O(1)",
    validate: (argv, now) => { const r = expiryFromOption("PX", argv[2], "psetex", now); return isReply(r) ? r : undefined },
    route: { kind: "state", execute: setWithExpiry("PX", "psetex") }
  },
  {
    name: "getex", arity: -2, flags: ["write", "fast"], group: "string", keys: oneKey,
    summary: "Get the value of a key and optionally set its expiration", since: "6.2.0", complexity: "O(1)", validate: validateGetex,
    route: { kind: "state", execute: getex }
  },
  {
    name: "getdel", arity: 2, flags: ["write", "fast"], group: "string", keys: oneKey,
    summary: "Get the value of a key and delete the key", since: "6.2.0", complexity: "O(1)", route: { kind: "state", execute: getdel }
  },
  {
    name: "getset", arity: 3, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Set the string value of a key and return its old value", since: "1.0.0", complexity: "O(1)", route: { kind: "state", execute: getset }
  },
  {
    name: "getrange", arity: 4, flags: ["readonly"], group: "string", keys: oneKey,
    summary: "Get a substring of the string stored at a key", since: "2.4.0", complexity: "O(N) where N is the length of the returned string",
    validate: (argv) => (parseInt64(argv[2]) === undefined || parseInt64(argv[3]) === undefined ? NOT_AN_INTEGER : undefined),
    route: { kind: "state", execute: getrange }
  },
  {
    name: "substr", arity: 4, flags: ["readonly"], group: "string", keys: oneKey,
    summary: "Get a substring of the string stored at a key (GETRANGE's old name)", since: "1.0.0", complexity: "O(N) where N is the length of the returned string",
    validate: (argv) => (parseInt64(argv[2]) === undefined || parseInt64(argv[3]) === undefined ? NOT_AN_INTEGER : undefined),
    route: { kind: "state", execute: getrange }
  },
  {
    name: "setrange", arity: 4, flags: ["write", "denyoom"], group: "string", keys: oneKey,
    summary: "Overwrite part of a string at key starting at the specified offset", since: "2.2.0", complexity: "O(1), not counting the time taken to copy the new string in place",
    validate: validateSetrange, route: { kind: "state", execute: setrange }
  },
  {
    name: "append", arity: 3, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Append a value to a key", since: "2.0.0", complexity: "O(1)", route: { kind: "state", execute: append }
  },
  {
    name: "strlen", arity: 2, flags: ["readonly", "fast"], group: "string", keys: oneKey,
    summary: "Get the length of the value stored in a key", since: "2.2.0", complexity: "O(1)", route: { kind: "state", execute: strlen }
  },
  {
    name: "incr", arity: 2, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Increment the integer value of a key by one", since: "1.0.0", complexity: "O(1)",
    route: { kind: "state", execute: ({ ks, db, argv }) => increment(ks, db, argv[1], 1n) }
  },
  {
    name: "decr", arity: 2, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Decrement the integer value of a key by one", since: "1.0.0", complexity: "O(1)",
    route: { kind: "state", execute: ({ ks, db, argv }) => increment(ks, db, argv[1], -1n) }
  },
  {
    name: "incrby", arity: 3, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Increment the integer value of a key by the given amount", since: "1.0.0", complexity: "O(1)", validate: integerArgument(2),
    route: { kind: "state", execute: ({ ks, db, argv }) => increment(ks, db, argv[1], parseInt64(argv[2]) ?? 0n) }
  },
  {
    name: "decrby", arity: 3, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Decrement the integer value of a key by the given number", since: "1.0.0", complexity: "O(1)",
    // Negating INT64_MIN overflows: redis-server refuses it before touching the key.
    validate: (argv) => {
      const delta = parseInt64(argv[2])
      if (delta === undefined) return NOT_AN_INTEGER
      return delta === -(2n ** 63n) ? DECREMENT_OVERFLOW : undefined
    },
    route: { kind: "state", execute: ({ ks, db, argv }) => increment(ks, db, argv[1], -(parseInt64(argv[2]) ?? 0n)) }
  },
  {
    name: "incrbyfloat", arity: 3, flags: ["write", "denyoom", "fast"], group: "string", keys: oneKey,
    summary: "Increment the float value of a key by the given amount", since: "2.6.0", complexity: "O(1)",
    // No check before the log: a key of another type answers WRONGTYPE before a bad increment (Redis).
    route: { kind: "state", execute: incrbyfloat }
  },
  {
    name: "mget", arity: -2, flags: ["readonly", "fast"], group: "string", keys: { first: 1, last: -1, step: 1 },
    summary: "Get the values of all the given keys", since: "1.0.0", complexity: "O(N) where N is the number of keys to retrieve.",
    route: { kind: "state", execute: mget }
  },
  {
    name: "mset", arity: -3, flags: ["write", "denyoom"], group: "string", keys: { first: 1, last: -1, step: 2 },
    summary: "Set multiple keys to multiple values", since: "1.0.1", complexity: "O(N) where N is the number of keys to set.",
    validate: pairsArity("mset"), route: { kind: "state", execute: mset }
  },
  {
    name: "msetnx", arity: -3, flags: ["write", "denyoom"], group: "string", keys: { first: 1, last: -1, step: 2 },
    summary: "Set multiple keys to multiple values, only if none of the keys exist", since: "1.0.1", complexity: "O(N) where N is the number of keys to set.",
    validate: pairsArity("msetnx"), route: { kind: "state", execute: msetnx }
  }
]

export { invalidExpireTime }
