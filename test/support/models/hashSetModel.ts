/**
 * A simple in-memory model of redis-server 7.0 for hashes, sets, strings and the keyspace commands
 * around them (DEL, EXISTS, TYPE, PEXPIRE, PTTL, PERSIST, RENAME, COPY, MULTI/EXEC): plain Maps and
 * Sets, no encoding, no engine, written from redis-server's documented behaviour and error texts.
 * The model-based test (test/unit/hashSetModel.test.ts) runs random command sequences against it
 * and against the state machine and compares every reply.
 *
 * Random commands (SPOP, SRANDMEMBER, HRANDFIELD) cannot be predicted: the model is given the
 * state machine's reply, checks it (right type, right count, members that exist, distinct where
 * they must be, values that belong to their fields), and adopts it, so SPOP removes the same
 * members from the model. A reply that fails the check is answered with an "-MODEL ..." error that
 * no server sends, so the comparison fails and says why.
 */
import { incrementLongDouble } from "../../../src/commands/floats.js"
import { array, bulk, error, integer, map, NIL, OK, pairs, type Reply, set, simple } from "../../../src/resp/Reply.js"

type Value =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "hash"; readonly fields: Map<string, string> }
  | { readonly kind: "set"; readonly members: Set<string> }

interface Stored {
  value: Value
  /** Epoch ms; 0: none. */
  expireAt: number
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const LONG_HALF = INT64_MAX / 2n
const MAX_REPEATED_PICKS = 1_048_576

const b = (text: string): Reply => bulk(Buffer.from(text, "latin1"))
const WRONGTYPE = error("WRONGTYPE Operation against a key holding the wrong kind of value")
const NOT_INTEGER = error("ERR value is not an integer or out of range")
const SYNTAX = error("ERR syntax error")
const mismatch = (why: string): Reply => error(`MODEL the state machine's reply is wrong: ${why}`)

/** string2ll: the strict 64-bit integer syntax. */
const parseInteger = (text: string): bigint | undefined => {
  if (!/^(0|-?[1-9][0-9]*)$/.test(text) || text.length > 20) return undefined
  const value = BigInt(text)
  return value < INT64_MIN || value > INT64_MAX ? undefined : value
}

const text = (reply: Reply): string | undefined => (reply._tag === "Bulk" && reply.value !== null ? Buffer.from(reply.value).toString("latin1") : undefined)
const elements = (reply: Reply): ReadonlyArray<Reply> | undefined =>
  reply._tag === "Array" || reply._tag === "Set" || reply._tag === "Pairs" || reply._tag === "Map" ? (reply.value ?? undefined) : undefined

/** redis-server's arity of each command the model knows (N: exactly N words, -N: at least N). */
const ARITY: Record<string, number> = {
  set: -3, get: 2, del: -2, exists: -2, type: 2, pexpire: -3, pttl: 2, persist: 2, rename: 3, copy: -3,
  hset: -4, hmset: -4, hsetnx: 4, hget: 3, hmget: -3, hdel: -3, hlen: 2, hexists: 3, hstrlen: 3, hincrby: 4, hincrbyfloat: 4,
  hkeys: 2, hvals: 2, hgetall: 2, hrandfield: -2, sadd: -3, srem: -3, smembers: 2, sismember: 3, smismember: -3, scard: 2,
  sinter: -2, sunion: -2, sdiff: -2, sinterstore: -3, sunionstore: -3, sdiffstore: -3, sintercard: -3, smove: 4, spop: -2, srandmember: -2
}

const arityError = (argv: ReadonlyArray<string>): Reply | undefined => {
  const name = argv[0].toLowerCase()
  const arity = ARITY[name]
  if (arity === undefined) return undefined
  return (arity >= 0 ? argv.length === arity : argv.length >= -arity) ? undefined : error(`ERR wrong number of arguments for '${name}' command`)
}

export class HashSetModel {
  now = 0
  private readonly keys = new Map<string, Stored>()
  private queued: Array<Array<string>> | undefined
  /** A command was refused while queuing: EXEC discards the transaction. */
  private aborted = false

  private live(key: string): Stored | undefined {
    const stored = this.keys.get(key)
    if (stored !== undefined && stored.expireAt !== 0 && stored.expireAt <= this.now) {
      this.keys.delete(key)
      return undefined
    }
    return stored
  }

  private typed<K extends Value["kind"]>(key: string, kind: K): Extract<Value, { kind: K }> | undefined | Reply {
    const stored = this.live(key)
    if (stored === undefined) return undefined
    return stored.value.kind === kind ? (stored.value as Extract<Value, { kind: K }>) : WRONGTYPE
  }

  /** Store a collection, or delete the key when it became empty. */
  private settle(key: string): void {
    const stored = this.keys.get(key)
    if (stored === undefined) return
    const value = stored.value
    if ((value.kind === "hash" && value.fields.size === 0) || (value.kind === "set" && value.members.size === 0)) this.keys.delete(key)
  }

  private hashFor(key: string): Map<string, string> | Reply {
    const found = this.typed(key, "hash")
    if (isReply(found)) return found
    if (found !== undefined) return found.fields
    const fields = new Map<string, string>()
    this.keys.set(key, { value: { kind: "hash", fields }, expireAt: 0 })
    return fields
  }

  private setFor(key: string): Set<string> | Reply {
    const found = this.typed(key, "set")
    if (isReply(found)) return found
    if (found !== undefined) return found.members
    const members = new Set<string>()
    this.keys.set(key, { value: { kind: "set", members }, expireAt: 0 })
    return members
  }

  /** Keys of `type` ("hash", "set", "string") that are live now: what a full SCAN TYPE returns. */
  keysOfType(type: string): Array<string> {
    return [...this.keys.keys()].filter((key) => {
      const stored = this.live(key)
      return stored !== undefined && stored.value.kind === type
    })
  }

  /** Every field and value (hash) or member (set) of `key`: what a full HSCAN/SSCAN returns. */
  contents(key: string, kind: "hash" | "set"): Array<string> | Reply {
    const stored = this.live(key)
    if (stored === undefined) return []
    if (stored.value.kind !== kind) return WRONGTYPE
    return stored.value.kind === "hash" ? [...stored.value.fields].flat() : stored.value.kind === "set" ? [...stored.value.members] : []
  }

  /** The reply to `argv`, given the state machine's own reply `actual` (used only for random commands). */
  call(argv: ReadonlyArray<string>, actual: Reply): Reply {
    const name = argv[0].toLowerCase()
    const refused = arityError(argv)
    if (this.queued !== undefined && name !== "exec" && name !== "multi") {
      if (refused !== undefined) {
        this.aborted = true
        return refused
      }
      this.queued.push([...argv])
      return simple("QUEUED")
    }
    if (refused !== undefined) return refused
    switch (name) {
      case "multi":
        if (this.queued !== undefined) return error("ERR MULTI calls can not be nested")
        this.queued = []
        this.aborted = false
        return OK
      case "exec": {
        const commands = this.queued
        this.queued = undefined
        if (commands === undefined) return error("ERR EXEC without MULTI")
        if (this.aborted) return error("EXECABORT Transaction discarded because of previous errors.")
        const inner = elements(actual) ?? []
        return array(commands.map((command, i) => this.run(command, inner[i] ?? NIL)))
      }
      default:
        return this.run(argv, actual)
    }
  }

  private run(argv: ReadonlyArray<string>, actual: Reply): Reply {
    const [command, key, ...rest] = argv
    switch (command.toLowerCase()) {
      // ------------------------------------------------------------ keyspace and strings
      case "set":
        this.keys.set(key, { value: { kind: "string", value: rest[0] }, expireAt: 0 })
        return OK
      case "get": {
        const found = this.typed(key, "string")
        return isReply(found) ? found : found === undefined ? NIL : b(found.value)
      }
      case "del":
        return integer(argv.slice(1).filter((k) => this.live(k) !== undefined && this.keys.delete(k)).length)
      case "exists":
        return integer(argv.slice(1).filter((k) => this.live(k) !== undefined).length)
      case "type":
        return simple(this.live(key)?.value.kind ?? "none")
      case "pexpire": {
        const ms = parseInteger(rest[0])
        if (ms === undefined) return NOT_INTEGER
        const stored = this.live(key)
        if (stored === undefined) return integer(0)
        const when = this.now + Number(ms)
        if (when <= this.now) this.keys.delete(key)
        else stored.expireAt = when
        return integer(1)
      }
      case "pttl": {
        const stored = this.live(key)
        if (stored === undefined) return integer(-2)
        return integer(stored.expireAt === 0 ? -1 : stored.expireAt - this.now)
      }
      case "persist": {
        const stored = this.live(key)
        if (stored === undefined || stored.expireAt === 0) return integer(0)
        stored.expireAt = 0
        return integer(1)
      }
      case "rename": {
        const stored = this.live(key)
        if (stored === undefined) return error("ERR no such key")
        this.live(rest[0])
        this.keys.delete(key)
        this.keys.set(rest[0], stored)
        return OK
      }
      case "copy": {
        if (key === rest[0]) return error("ERR source and destination objects are the same")
        const stored = this.live(key)
        if (stored === undefined) return integer(0)
        if (this.live(rest[0]) !== undefined && rest[1]?.toUpperCase() !== "REPLACE") return integer(0)
        const value = stored.value
        const copy: Value =
          value.kind === "hash" ? { kind: "hash", fields: new Map(value.fields) } : value.kind === "set" ? { kind: "set", members: new Set(value.members) } : value
        this.keys.set(rest[0], { value: copy, expireAt: stored.expireAt })
        return integer(1)
      }

      // ------------------------------------------------------------ hashes
      case "hset":
      case "hmset": {
        if (rest.length % 2 !== 0) return error(`ERR wrong number of arguments for '${command.toLowerCase()}' command`)
        const fields = this.hashFor(key)
        if (isReply(fields)) return fields
        let added = 0
        for (let i = 0; i < rest.length; i += 2) {
          if (!fields.has(rest[i])) added++
          fields.set(rest[i], rest[i + 1])
        }
        return command.toLowerCase() === "hset" ? integer(added) : OK
      }
      case "hsetnx": {
        const fields = this.hashFor(key)
        if (isReply(fields)) return fields
        if (fields.has(rest[0])) return integer(0)
        fields.set(rest[0], rest[1])
        return integer(1)
      }
      case "hget": {
        const found = this.typed(key, "hash")
        if (isReply(found)) return found
        const value = found?.fields.get(rest[0])
        return value === undefined ? NIL : b(value)
      }
      case "hmget": {
        const found = this.typed(key, "hash")
        if (isReply(found)) return found
        return array(rest.map((field) => {
          const value = found?.fields.get(field)
          return value === undefined ? NIL : b(value)
        }))
      }
      case "hdel": {
        const found = this.typed(key, "hash")
        if (isReply(found) || found === undefined) return found ?? integer(0)
        const removed = rest.filter((field) => found.fields.delete(field)).length
        this.settle(key)
        return integer(removed)
      }
      case "hlen": {
        const found = this.typed(key, "hash")
        return isReply(found) ? found : integer(found?.fields.size ?? 0)
      }
      case "hexists": {
        const found = this.typed(key, "hash")
        return isReply(found) ? found : integer(found?.fields.has(rest[0]) ? 1 : 0)
      }
      case "hstrlen": {
        const found = this.typed(key, "hash")
        return isReply(found) ? found : integer(found?.fields.get(rest[0])?.length ?? 0)
      }
      case "hincrby": {
        const delta = parseInteger(rest[1])
        if (delta === undefined) return NOT_INTEGER
        const fields = this.hashFor(key)
        if (isReply(fields)) return fields
        const old = fields.get(rest[0])
        const current = old === undefined ? 0n : parseInteger(old)
        if (current === undefined) {
          this.settle(key)
          return error("ERR hash value is not an integer")
        }
        const next = current + delta
        if (next < INT64_MIN || next > INT64_MAX) {
          this.settle(key)
          return error("ERR increment or decrement would overflow")
        }
        fields.set(rest[0], next.toString())
        return integer(next)
      }
      case "hincrbyfloat": {
        const increment = Buffer.from(rest[1], "latin1")
        const checked = incrementLongDouble(undefined, increment)
        if ("error" in checked) return checked.error === "not a float" ? error("ERR value is not a valid float") : error("ERR value is NaN or Infinity")
        const fields = this.hashFor(key)
        if (isReply(fields)) return fields
        const old = fields.get(rest[0])
        const result = incrementLongDouble(old === undefined ? undefined : Buffer.from(old, "latin1"), increment)
        if ("error" in result) {
          this.settle(key)
          return result.error === "not a float" ? error("ERR hash value is not a float") : error("ERR increment would produce NaN or Infinity")
        }
        fields.set(rest[0], result.value)
        return b(result.value)
      }
      case "hkeys":
      case "hvals":
      case "hgetall": {
        const found = this.typed(key, "hash")
        if (isReply(found)) return found
        const entries = [...(found?.fields ?? new Map<string, string>())]
        if (command.toLowerCase() === "hkeys") return array(entries.map(([field]) => b(field)))
        if (command.toLowerCase() === "hvals") return array(entries.map(([, value]) => b(value)))
        return map(entries.flatMap(([field, value]) => [b(field), b(value)]))
      }
      case "hrandfield":
        return this.hrandfield(key, rest, actual)

      // ------------------------------------------------------------ sets
      case "sadd": {
        const members = this.setFor(key)
        if (isReply(members)) return members
        const before = members.size
        for (const member of rest) members.add(member)
        return integer(members.size - before)
      }
      case "srem": {
        const found = this.typed(key, "set")
        if (isReply(found) || found === undefined) return found ?? integer(0)
        const removed = rest.filter((member) => found.members.delete(member)).length
        this.settle(key)
        return integer(removed)
      }
      case "smembers": {
        const found = this.typed(key, "set")
        return isReply(found) ? found : set([...(found?.members ?? [])].map(b))
      }
      case "sismember": {
        const found = this.typed(key, "set")
        return isReply(found) ? found : integer(found?.members.has(rest[0]) ? 1 : 0)
      }
      case "smismember": {
        const found = this.typed(key, "set")
        return isReply(found) ? found : array(rest.map((member) => integer(found?.members.has(member) ? 1 : 0)))
      }
      case "scard": {
        const found = this.typed(key, "set")
        return isReply(found) ? found : integer(found?.members.size ?? 0)
      }
      case "sinter":
      case "sunion":
      case "sdiff": {
        const result = this.algebra(command.toLowerCase(), argv.slice(1))
        return isReply(result) ? result : set([...result].map(b))
      }
      case "sinterstore":
      case "sunionstore":
      case "sdiffstore": {
        const result = this.algebra(command.toLowerCase().replace("store", ""), argv.slice(2))
        if (isReply(result)) return result
        this.live(key)
        this.keys.delete(key)
        if (result.size > 0) this.keys.set(key, { value: { kind: "set", members: result }, expireAt: 0 })
        return integer(result.size)
      }
      case "sintercard": {
        const numkeys = parseInteger(key)
        if (numkeys === undefined || numkeys < 1n) return error("ERR numkeys should be greater than 0")
        if (numkeys > BigInt(rest.length)) return error("ERR Number of keys can't be greater than number of args")
        let limit = 0
        for (let i = Number(numkeys); i < rest.length; i++) {
          if (rest[i].toLowerCase() === "limit" && i + 1 < rest.length) {
            const value = parseInteger(rest[++i])
            if (value === undefined || value < 0n) return error("ERR LIMIT can't be negative")
            limit = Number(value)
          } else return SYNTAX
        }
        const result = this.algebra("sinter", rest.slice(0, Number(numkeys)))
        if (isReply(result)) return result
        return integer(limit > 0 ? Math.min(limit, result.size) : result.size)
      }
      case "smove": {
        const [target, member] = rest
        const source = this.live(key)
        const destination = this.live(target)
        if (source === undefined) return integer(0)
        if (source.value.kind !== "set" || (destination !== undefined && destination.value.kind !== "set")) return WRONGTYPE
        if (!source.value.members.has(member)) return integer(0)
        if (key === target) return integer(1)
        source.value.members.delete(member)
        this.settle(key)
        const members = this.setFor(target) as Set<string>
        members.add(member)
        return integer(1)
      }
      case "spop":
        return this.spop(key, rest, actual)
      case "srandmember":
        return this.srandmember(key, rest, actual)
      default:
        return error(`MODEL does not know ${command}`)
    }
  }

  private algebra(operation: string, keys: ReadonlyArray<string>): Set<string> | Reply {
    const sets: Array<Set<string> | undefined> = []
    for (const key of keys) {
      const found = this.typed(key, "set")
      if (isReply(found)) return found
      sets.push(found?.members)
    }
    if (operation === "sunion") return new Set(sets.flatMap((members) => [...(members ?? [])]))
    if (operation === "sinter") {
      if (sets.some((members) => members === undefined)) return new Set()
      return new Set([...sets[0]!].filter((member) => sets.every((members) => members!.has(member))))
    }
    const [first, ...others] = sets
    return new Set([...(first ?? [])].filter((member) => !others.some((members) => members?.has(member))))
  }

  // ------------------------------------------------------------ random commands: check and adopt

  /** A count argument of SRANDMEMBER/HRANDFIELD: [magnitude, distinct] or the error. */
  private randomCount(argument: string): { readonly count: bigint; readonly distinct: boolean } | Reply {
    const value = parseInteger(argument)
    if (value === undefined) return NOT_INTEGER
    if (value === INT64_MIN) return error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    return { count: value < 0n ? -value : value, distinct: value >= 0n }
  }

  /** Check `picked` (strings) against `pool`: the count, membership, distinctness. */
  private checkPicks(picked: ReadonlyArray<string> | undefined, pool: ReadonlyArray<string>, count: number, distinct: boolean): string | undefined {
    if (picked === undefined) return "not an aggregate of bulk strings"
    const expected = distinct ? Math.min(count, pool.length) : count
    if (picked.length !== expected) return `${picked.length} elements, ${expected} expected`
    const members = new Set(pool)
    const stranger = picked.find((member) => !members.has(member))
    if (stranger !== undefined) return `${JSON.stringify(stranger)} is not a member`
    if (distinct && new Set(picked).size !== picked.length) return "repeated elements in a distinct pick"
    return undefined
  }

  private srandmember(key: string, rest: ReadonlyArray<string>, actual: Reply): Reply {
    if (rest.length > 1) return SYNTAX
    let count: { readonly count: bigint; readonly distinct: boolean } | undefined
    if (rest.length === 1) {
      const parsed = this.randomCount(rest[0])
      if (isReply(parsed)) return parsed
      if (!parsed.distinct && parsed.count > BigInt(MAX_REPEATED_PICKS)) return error(`ERR value is out of range, value must between -${MAX_REPEATED_PICKS} and 9223372036854775807`)
      count = parsed
    }
    const found = this.typed(key, "set")
    if (isReply(found)) return found
    const pool = [...(found?.members ?? [])]
    if (count === undefined) {
      if (found === undefined) return NIL
      const pick = text(actual)
      return pick !== undefined && found.members.has(pick) ? b(pick) : mismatch("not a member")
    }
    if (found === undefined || count.count === 0n) return array([])
    const picked = elements(actual)?.map(text)
    const problem = actual._tag !== "Array" ? "not an array" : this.checkPicks(picked as Array<string>, pool, Number(count.count), count.distinct)
    return problem === undefined ? array((picked as Array<string>).map(b)) : mismatch(problem)
  }

  private spop(key: string, rest: ReadonlyArray<string>, actual: Reply): Reply {
    if (rest.length > 1) return SYNTAX
    let count: number | undefined
    if (rest.length === 1) {
      const value = parseInteger(rest[0])
      if (value === undefined || value < 0n) return error("ERR value is out of range, must be positive")
      count = value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
    }
    const found = this.typed(key, "set")
    if (isReply(found)) return found
    if (found === undefined) return count === undefined ? NIL : set([])
    if (count === 0) return set([])
    const pool = [...found.members]
    const picked = count === undefined ? [text(actual)] : elements(actual)?.map(text)
    const problem =
      count !== undefined && actual._tag !== "Set"
        ? "not a set"
        : this.checkPicks(picked?.some((p) => p === undefined) ? undefined : (picked as Array<string>), pool, count ?? 1, true)
    if (problem !== undefined) return mismatch(problem)
    for (const member of picked as Array<string>) found.members.delete(member)
    this.settle(key)
    return count === undefined ? b(picked![0]!) : set((picked as Array<string>).map(b))
  }

  private hrandfield(key: string, rest: ReadonlyArray<string>, actual: Reply): Reply {
    let count: { readonly count: bigint; readonly distinct: boolean } | undefined
    let withValues = false
    if (rest.length >= 1) {
      const parsed = this.randomCount(rest[0])
      if (isReply(parsed)) return parsed
      if (rest.length > 2 || (rest.length === 2 && rest[1].toLowerCase() !== "withvalues")) return SYNTAX
      withValues = rest.length === 2
      if (withValues && parsed.count > LONG_HALF) return error("ERR value is out of range")
      if (!parsed.distinct && parsed.count > BigInt(MAX_REPEATED_PICKS)) return error(`ERR value is out of range, value must between -${MAX_REPEATED_PICKS} and 9223372036854775807`)
      count = parsed
    }
    const found = this.typed(key, "hash")
    if (isReply(found)) return found
    if (count === undefined) {
      if (found === undefined) return NIL
      const pick = text(actual)
      return pick !== undefined && found.fields.has(pick) ? b(pick) : mismatch("not a field")
    }
    if (found === undefined || count.count === 0n) return array([])
    const flat = elements(actual)?.map(text)
    if (flat === undefined || flat.some((element) => element === undefined)) return mismatch("not an aggregate of bulk strings")
    const fields = withValues ? flat.filter((_, i) => i % 2 === 0) : flat
    if (withValues) {
      if (actual._tag !== "Pairs") return mismatch("WITHVALUES must answer pairs")
      for (let i = 0; i < flat.length; i += 2) if (found.fields.get(flat[i]!) !== flat[i + 1]) return mismatch(`wrong value for ${flat[i]}`)
    } else if (actual._tag !== "Array") return mismatch("not an array")
    const problem = this.checkPicks(fields as Array<string>, [...found.fields.keys()], Number(count.count), count.distinct)
    if (problem !== undefined) return mismatch(problem)
    return withValues ? pairs((flat as Array<string>).map(b)) : array((flat as Array<string>).map(b))
  }
}

const isReply = (value: unknown): value is Reply => typeof value === "object" && value !== null && "_tag" in value
