/**
 * A plain in-memory model of redis-server 7.0's sorted sets (and the few key commands that move
 * them: DEL, EXISTS, TYPE, EXPIRE, RENAME, COPY, SET), for model-based tests: each sorted set is a
 * Map of member to score, sorted on every read. It knows nothing of engines, versions or indexes,
 * so a reply that differs from the state machine's points at a bug in one of the two. It follows
 * Redis's small-set (listpack) behaviour where Redis has two: -0 is stored as 0, and lexicographic
 * ranges over mixed scores walk in score order.
 *
 * Commands are given already valid (the generator makes them so); the model answers the errors a
 * valid command can still meet: WRONGTYPE, a NaN increment, RENAME of a missing key.
 */
import { array, bulk, double, error, integer, NIL, NIL_ARRAY, OK, pairs, simple, type Reply } from "../../../src/resp/Reply.js"
import { formatDouble } from "../../../src/resp/formatDouble.js"

type ZSet = Map<string, number>
type Value = { readonly kind: "zset"; readonly members: ZSet } | { readonly kind: "string"; readonly value: string }
interface Entry {
  value: Value
  expireAt: number
}

const WRONGTYPE = error("WRONGTYPE Operation against a key holding the wrong kind of value")
const EMPTY = array([])

interface Scored {
  readonly member: string
  readonly score: number
}

/** Members as latin1 strings: JS string order on them is byte order. */
const sorted = (set: ZSet): Array<Scored> =>
  [...set.entries()].map(([member, score]) => ({ member, score })).sort((a, b) => (a.score !== b.score ? a.score - b.score : a.member < b.member ? -1 : a.member > b.member ? 1 : 0))

const memberReply = (member: string): Reply => bulk(Buffer.from(member, "latin1"))
const list = (entries: ReadonlyArray<Scored>, withScores: boolean): Reply =>
  withScores ? pairs(entries.flatMap((e) => [memberReply(e.member), double(e.score)])) : array(entries.map((e) => memberReply(e.member)))

/** C strtod on the whole text, as ZRANGEBYSCORE's bounds take it (the generator uses simple forms). */
const number = (text: string): number => (text === "+inf" || text === "inf" ? Infinity : text === "-inf" ? -Infinity : Number(text))

interface Bound {
  readonly value: number
  readonly exclusive: boolean
}
const scoreBound = (text: string): Bound => (text.startsWith("(") ? { value: number(text.slice(1)), exclusive: true } : { value: number(text), exclusive: false })
const geMin = (score: number, min: Bound) => (min.exclusive ? score > min.value : score >= min.value)
const leMax = (score: number, max: Bound) => (max.exclusive ? score < max.value : score <= max.value)

type LexBound = "-" | "+" | { readonly value: string; readonly exclusive: boolean }
const lexBound = (text: string): LexBound => (text === "-" || text === "+" ? text : { value: text.slice(1), exclusive: text[0] === "(" })
const lexGeMin = (member: string, min: LexBound) => (min === "-" ? true : min === "+" ? false : min.exclusive ? member > min.value : member >= min.value)
const lexLeMax = (member: string, max: LexBound) => (max === "+" ? true : max === "-" ? false : max.exclusive ? member < max.value : member <= max.value)

/** LIMIT offset count on an already ordered selection (Redis: negative offset → nothing, negative count → all). */
const window = (entries: Array<Scored>, offset: number, count: number): Array<Scored> => (offset < 0 ? [] : entries.slice(offset, count < 0 ? undefined : offset + count))

const byScore = (set: ZSet, min: Bound, max: Bound, reverse: boolean, offset = 0, count = -1): Array<Scored> => {
  const all = sorted(set).filter((e) => geMin(e.score, min) && leMax(e.score, max))
  return window(reverse ? all.reverse() : all, offset, count)
}

/** The listpack walk: its two end checks, the first member in range, `offset` skipped, then while in range. */
const byLex = (set: ZSet, min: LexBound, max: LexBound, reverse: boolean, offset = 0, count = -1): Array<Scored> => {
  const all = sorted(set)
  if (all.length === 0 || offset < 0 || count === 0) return []
  if (min === "+" || max === "-") return []
  if (typeof min === "object" && typeof max === "object" && (min.value > max.value || (min.value === max.value && (min.exclusive || max.exclusive)))) return []
  if (!lexGeMin(all[all.length - 1].member, min) || !lexLeMax(all[0].member, max)) return []
  const walk = reverse ? [...all].reverse() : all
  const start = walk.findIndex((e) => (reverse ? lexLeMax(e.member, max) : lexGeMin(e.member, min)))
  if (start < 0) return []
  const inRange = (e: Scored) => (reverse ? lexGeMin(e.member, min) : lexLeMax(e.member, max))
  if (!inRange(walk[start])) return []
  const out: Array<Scored> = []
  for (let i = start + offset; i < walk.length && (count < 0 || out.length < count); i++) {
    if (!inRange(walk[i])) break
    out.push(walk[i])
  }
  return out
}

const byRank = (set: ZSet, start: number, end: number, reverse: boolean): Array<Scored> => {
  const all = reverse ? sorted(set).reverse() : sorted(set)
  const size = all.length
  if (start < 0) start += size
  if (end < 0) end += size
  if (start < 0) start = 0
  if (start > end || start >= size) return []
  return all.slice(start, Math.min(end, size - 1) + 1)
}

/** What ZSCAN shows for a score (a small set's listpack keeps integral scores up to 2^62 as integers). */
export const scanScoreText = (score: number): string => (Number.isInteger(score) && Math.abs(score) <= 2 ** 62 ? BigInt(score).toString() : formatDouble(score))

export class ZsetModel {
  private readonly keys = new Map<string, Entry>()
  now = 0

  private live(key: string): Entry | undefined {
    const entry = this.keys.get(key)
    if (entry !== undefined && entry.expireAt !== 0 && entry.expireAt <= this.now) {
      this.keys.delete(key)
      return undefined
    }
    return entry
  }

  /** The key's sorted set, undefined when absent, or WRONGTYPE. */
  private zset(key: string): ZSet | undefined | Reply {
    const entry = this.live(key)
    if (entry === undefined) return undefined
    return entry.value.kind === "zset" ? entry.value.members : WRONGTYPE
  }

  /** The members of a key for tests (undefined: no sorted set there). */
  members(key: string): ReadonlyMap<string, number> | undefined {
    const found = this.zset(key)
    return found instanceof Map ? found : undefined
  }

  /** Store a changed set, removing it when empty (keeping its expiry otherwise). */
  private settle(key: string): void {
    const entry = this.keys.get(key)
    if (entry?.value.kind === "zset" && entry.value.members.size === 0) this.keys.delete(key)
  }

  private storeResult(key: string, entries: ReadonlyArray<Scored>): Reply {
    this.live(key)
    if (entries.length === 0) {
      this.keys.delete(key)
      return integer(0)
    }
    this.keys.set(key, { value: { kind: "zset", members: new Map(entries.map((e) => [e.member, e.score === 0 ? 0 : e.score])) }, expireAt: 0 })
    return integer(entries.length)
  }

  /** Run one command (argv as latin1 strings) and return redis-server's reply. */
  run(argv: ReadonlyArray<string>): Reply {
    const [name, ...args] = argv
    const command = name.toUpperCase()
    switch (command) {
      case "ZADD":
        return this.zadd(args[0], args.slice(1))
      case "ZINCRBY":
        return this.zadd(args[0], ["INCR", args[1], args[2]])
      case "ZREM": {
        const set = this.zset(args[0])
        if (set === undefined || !(set instanceof Map)) return set ?? integer(0)
        let removed = 0
        for (const member of args.slice(1)) if (set.delete(member)) removed++
        this.settle(args[0])
        return integer(removed)
      }
      case "ZSCORE": {
        const set = this.zset(args[0])
        if (set !== undefined && !(set instanceof Map)) return set
        const score = set?.get(args[1])
        return score === undefined ? NIL : double(score)
      }
      case "ZMSCORE": {
        const set = this.zset(args[0])
        if (set !== undefined && !(set instanceof Map)) return set
        return array(args.slice(1).map((m) => (set?.get(m) === undefined ? NIL : double(set.get(m)!))))
      }
      case "ZCARD": {
        const set = this.zset(args[0])
        return set === undefined ? integer(0) : set instanceof Map ? integer(set.size) : set
      }
      case "ZCOUNT": {
        const set = this.zset(args[0])
        if (set === undefined || !(set instanceof Map)) return set ?? integer(0)
        return integer(byScore(set, scoreBound(args[1]), scoreBound(args[2]), false).length)
      }
      case "ZLEXCOUNT": {
        const set = this.zset(args[0])
        if (set === undefined || !(set instanceof Map)) return set ?? integer(0)
        return integer(byLex(set, lexBound(args[1]), lexBound(args[2]), false).length)
      }
      case "ZRANGE":
      case "ZRANGESTORE":
      case "ZRANGEBYSCORE":
      case "ZREVRANGEBYSCORE":
      case "ZRANGEBYLEX":
      case "ZREVRANGEBYLEX":
      case "ZREVRANGE":
        return this.range(command, args)
      case "ZRANK":
      case "ZREVRANK": {
        const set = this.zset(args[0])
        if (set === undefined || !(set instanceof Map)) return set ?? NIL
        const all = command === "ZRANK" ? sorted(set) : sorted(set).reverse()
        const rank = all.findIndex((e) => e.member === args[1])
        return rank < 0 ? NIL : integer(rank)
      }
      case "ZPOPMIN":
      case "ZPOPMAX": {
        const set = this.zset(args[0])
        if (set !== undefined && !(set instanceof Map)) return set
        const count = args.length > 1 ? Number(args[1]) : undefined
        if (set === undefined || count === 0) return EMPTY
        const popped = this.pop(args[0], set, count ?? 1, command === "ZPOPMAX")
        return count === undefined ? array(popped.flatMap((e) => [memberReply(e.member), double(e.score)])) : list(popped, true)
      }
      case "ZMPOP": {
        const numkeys = Number(args[0])
        const keys = args.slice(1, 1 + numkeys)
        const max = args[1 + numkeys].toUpperCase() === "MAX"
        const count = args.length > 2 + numkeys ? Number(args[3 + numkeys]) : 1
        for (const key of keys) {
          const set = this.zset(key)
          if (set === undefined) continue
          if (!(set instanceof Map)) return set
          const popped = this.pop(key, set, count, max)
          return array([memberReply(key), array(popped.map((e) => array([memberReply(e.member), double(e.score)])))])
        }
        return NIL_ARRAY
      }
      case "ZREMRANGEBYSCORE":
      case "ZREMRANGEBYRANK":
      case "ZREMRANGEBYLEX": {
        const set = this.zset(args[0])
        if (set === undefined || !(set instanceof Map)) return set ?? integer(0)
        const doomed =
          command === "ZREMRANGEBYSCORE"
            ? byScore(set, scoreBound(args[1]), scoreBound(args[2]), false)
            : command === "ZREMRANGEBYRANK"
              ? byRank(set, Number(args[1]), Number(args[2]), false)
              : byLex(set, lexBound(args[1]), lexBound(args[2]), false)
        for (const e of doomed) set.delete(e.member)
        this.settle(args[0])
        return integer(doomed.length)
      }
      case "ZUNIONSTORE":
      case "ZINTERSTORE":
      case "ZDIFFSTORE":
        return this.setOperation(command.slice(1, -5).toLowerCase() as "union" | "inter" | "diff", args.slice(1), args[0])
      case "ZUNION":
      case "ZINTER":
      case "ZDIFF":
        return this.setOperation(command.slice(1).toLowerCase() as "union" | "inter" | "diff", args, undefined)
      case "ZINTERCARD":
        return this.setOperation("inter", args, undefined, true)
      case "DEL": {
        let removed = 0
        for (const key of args) if (this.live(key) !== undefined && this.keys.delete(key)) removed++
        return integer(removed)
      }
      case "EXISTS":
        return integer(args.filter((key) => this.live(key) !== undefined).length)
      case "TYPE": {
        const entry = this.live(args[0])
        return simple(entry === undefined ? "none" : entry.value.kind)
      }
      case "SET":
        this.keys.set(args[0], { value: { kind: "string", value: args[1] }, expireAt: 0 })
        return OK
      case "PEXPIRE": {
        const entry = this.live(args[0])
        if (entry === undefined) return integer(0)
        const when = this.now + Number(args[1])
        if (when <= this.now) this.keys.delete(args[0])
        else entry.expireAt = when
        return integer(1)
      }
      case "RENAME": {
        const entry = this.live(args[0])
        if (entry === undefined) return error("ERR no such key")
        this.keys.delete(args[0])
        this.keys.set(args[1], entry)
        return OK
      }
      case "COPY": {
        const source = this.live(args[0])
        const replace = args[2]?.toUpperCase() === "REPLACE"
        if (source === undefined || (this.live(args[1]) !== undefined && !replace)) return integer(0)
        const value: Value = source.value.kind === "zset" ? { kind: "zset", members: new Map(source.value.members) } : source.value
        this.keys.set(args[1], { value, expireAt: source.expireAt })
        return integer(1)
      }
      default:
        throw new Error(`the model does not know ${name}`)
    }
  }

  private pop(key: string, set: ZSet, count: number, max: boolean): Array<Scored> {
    const all = max ? sorted(set).reverse() : sorted(set)
    const popped = all.slice(0, count)
    for (const e of popped) set.delete(e.member)
    this.settle(key)
    return popped
  }

  private zadd(key: string, args: ReadonlyArray<string>): Reply {
    const flags = new Set<string>()
    let i = 0
    while (["NX", "XX", "GT", "LT", "CH", "INCR"].includes(args[i].toUpperCase())) flags.add(args[i++].toUpperCase())
    const existing = this.zset(key)
    if (existing !== undefined && !(existing instanceof Map)) return existing
    const incr = flags.has("INCR")
    if (existing === undefined && flags.has("XX")) return incr ? NIL : integer(0)
    const set = existing ?? new Map<string, number>()
    let added = 0
    let changed = 0
    let result: number | undefined
    for (; i < args.length; i += 2) {
      const given = number(args[i])
      const member = args[i + 1]
      const current = set.get(member)
      if (current !== undefined) {
        if (flags.has("NX")) continue
        const score = incr ? given + current : given
        if (Number.isNaN(score)) return error("ERR resulting score is not a number (NaN)")
        if ((flags.has("LT") && score >= current) || (flags.has("GT") && score <= current)) continue
        result = score
        if (score !== current) {
          set.set(member, score === 0 ? 0 : score)
          changed++
        }
      } else {
        if (flags.has("XX")) continue
        result = given
        set.set(member, given === 0 ? 0 : given)
        added++
      }
    }
    if (existing === undefined && set.size > 0) this.keys.set(key, { value: { kind: "zset", members: set }, expireAt: 0 })
    if (incr) return result === undefined ? NIL : double(result)
    return integer(flags.has("CH") ? added + changed : added)
  }

  private range(command: string, args: ReadonlyArray<string>): Reply {
    const store = command === "ZRANGESTORE"
    const source = store ? args[1] : args[0]
    const rest = store ? args.slice(2) : args.slice(1)
    let kind = command.includes("SCORE") ? "score" : command.includes("LEX") ? "lex" : "rank"
    let reverse = command.startsWith("ZREV")
    let withScores = false
    let offset = 0
    let count = -1
    for (let j = 2; j < rest.length; j++) {
      const option = rest[j].toUpperCase()
      if (option === "WITHSCORES") withScores = true
      else if (option === "REV") reverse = true
      else if (option === "BYSCORE") kind = "score"
      else if (option === "BYLEX") kind = "lex"
      else if (option === "LIMIT") {
        offset = Number(rest[j + 1])
        count = Number(rest[j + 2])
        j += 2
      }
    }
    const set = this.zset(source)
    if (set !== undefined && !(set instanceof Map)) return set
    const [first, second] = reverse && kind !== "rank" ? [rest[1], rest[0]] : [rest[0], rest[1]]
    const members = set ?? new Map<string, number>()
    const selected =
      kind === "rank"
        ? byRank(members, Number(first), Number(second), reverse)
        : kind === "score"
          ? byScore(members, scoreBound(first), scoreBound(second), reverse, offset, count)
          : byLex(members, lexBound(first), lexBound(second), reverse, offset, count)
    if (store) return this.storeResult(args[0], selected)
    return list(selected, withScores)
  }

  private setOperation(operation: "union" | "inter" | "diff", args: ReadonlyArray<string>, destination: string | undefined, cardinality = false): Reply {
    const numkeys = Number(args[0])
    const keys = args.slice(1, 1 + numkeys)
    const weights = keys.map(() => 1)
    let aggregate = "SUM"
    let withScores = false
    let limit = 0
    for (let j = 1 + numkeys; j < args.length; j++) {
      const option = args[j].toUpperCase()
      if (option === "WEIGHTS") for (let w = 0; w < numkeys; w++) weights[w] = number(args[++j])
      else if (option === "AGGREGATE") aggregate = args[++j].toUpperCase()
      else if (option === "WITHSCORES") withScores = true
      else if (option === "LIMIT") limit = Number(args[++j])
    }
    const inputs: Array<{ members: Array<Scored>; weight: number }> = []
    for (let k = 0; k < keys.length; k++) {
      const set = this.zset(keys[k])
      if (set !== undefined && !(set instanceof Map)) return set
      inputs.push({ members: set === undefined ? [] : sorted(set), weight: weights[k] })
    }
    const combine = (a: number, b: number) => {
      if (aggregate === "MIN") return b < a ? b : a
      if (aggregate === "MAX") return b > a ? b : a
      return Number.isNaN(a + b) ? 0 : a + b
    }
    const weighted = (score: number, weight: number) => (Number.isNaN(score * weight) ? 0 : score * weight)
    let result: Array<Scored>
    const bySize = [...inputs].sort((a, b) => a.members.length - b.members.length)
    if (operation === "union") {
      const acc = new Map<string, number>()
      for (const input of bySize) for (const e of input.members) acc.set(e.member, acc.has(e.member) ? combine(acc.get(e.member)!, weighted(e.score, input.weight)) : weighted(e.score, input.weight))
      result = [...acc.entries()].map(([member, score]) => ({ member, score }))
    } else if (operation === "inter") {
      result = []
      const [smallest, ...others] = bySize
      for (const e of smallest.members) {
        let score = weighted(e.score, smallest.weight)
        let all = true
        for (const other of others) {
          const found = other.members.find((o) => o.member === e.member)
          if (found === undefined) {
            all = false
            break
          }
          score = combine(score, found.score * other.weight)
        }
        if (all) result.push({ member: e.member, score })
        if (limit > 0 && result.length >= limit) break
      }
    } else {
      const excluded = new Set(inputs.slice(1).flatMap((input) => input.members.map((e) => e.member)))
      result = inputs[0].members.filter((e) => !excluded.has(e.member))
    }
    if (cardinality) return integer(result.length)
    if (destination !== undefined) return this.storeResult(destination, result)
    result.sort((a, b) => (a.score !== b.score ? a.score - b.score : a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
    return list(result, withScores)
  }
}
