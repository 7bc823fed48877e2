/**
 * Sorted-set command arguments, parsed and refused as redis-server 7.0 does (t_zset.c), error
 * texts and their order included. Every parser is pure: `validate` runs it before the log and the
 * command runs it again when it applies.
 */
import { error, type Reply } from "../../resp/Reply.js"
import { latin1, NOT_A_FLOAT, NOT_AN_INTEGER, SYNTAX_ERROR } from "../errors.js"
import { parseDouble } from "../floats.js"
import { parseInt64 } from "../integers.js"
import type { Argv } from "../registry.js"
import { NOT_A_FLOAT_RANGE, NOT_A_LEX_RANGE, parseLexRange, parseScoreRange, type LexRange, type ScoreRange } from "./ranges.js"
import type { Window } from "./SortedSet.js"

export const isReply = (value: unknown): value is Reply => typeof value === "object" && value !== null && "_tag" in value

const INT64_MAX = 2n ** 63n - 1n
/** The largest count a reply's length may reach (LONG_MAX in Redis). */
const LONG_MAX = INT64_MAX

const upper = (bytes: Uint8Array): string => latin1(bytes).toUpperCase()

// ---------------------------------------------------------------- ZADD, ZINCRBY

export interface ZaddArguments {
  readonly nx: boolean
  readonly xx: boolean
  readonly gt: boolean
  readonly lt: boolean
  readonly ch: boolean
  readonly incr: boolean
  readonly elements: ReadonlyArray<{ readonly score: number; readonly member: Uint8Array }>
}

/** ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] (zaddGenericCommand). */
export const parseZadd = (argv: Argv): ZaddArguments | Reply => {
  let nx = false
  let xx = false
  let gt = false
  let lt = false
  let ch = false
  let incr = false
  let index = 2
  for (; index < argv.length; index++) {
    // Every flag starts with a letter; a score mostly with a digit or a sign.
    const first = (argv[index][0] ?? 0) | 0x20
    if (first < 0x61 || first > 0x7a) break
    const flag = upper(argv[index])
    if (flag === "NX") nx = true
    else if (flag === "XX") xx = true
    else if (flag === "GT") gt = true
    else if (flag === "LT") lt = true
    else if (flag === "CH") ch = true
    else if (flag === "INCR") incr = true
    else break
  }
  const remaining = argv.length - index
  if (remaining === 0 || remaining % 2 !== 0) return SYNTAX_ERROR
  if (nx && xx) return error("ERR XX and NX options at the same time are not compatible")
  if ((gt && nx) || (lt && nx) || (gt && lt)) return error("ERR GT, LT, and/or NX options at the same time are not compatible")
  if (incr && remaining > 2) return error("ERR INCR option supports a single increment-element pair")
  const elements: Array<{ score: number; member: Uint8Array }> = []
  for (let i = index; i < argv.length; i += 2) {
    const score = parseDouble(argv[i])
    if (score === undefined) return NOT_A_FLOAT
    elements.push({ score, member: argv[i + 1] })
  }
  return { nx, xx, gt, lt, ch, incr, elements }
}

/** ZINCRBY key increment member: ZADD INCR with one pair. */
export const parseZincrby = (argv: Argv): ZaddArguments | Reply => {
  const increment = parseDouble(argv[2])
  if (increment === undefined) return NOT_A_FLOAT
  return { nx: false, xx: false, gt: false, lt: false, ch: false, incr: true, elements: [{ score: increment, member: argv[3] }] }
}

// ---------------------------------------------------------------- ZRANGE and its family

export type RangeKind = "rank" | "score" | "lex"

/** How a command of the ZRANGE family reads its arguments (zrangeGenericCommand's parameters). */
export interface RangeCommand {
  /** Position of the source key: 1, or 2 for ZRANGESTORE (its destination comes first). */
  readonly keyIndex: number
  readonly store: boolean
  /** Fixed by the command (ZRANGEBYSCORE, ZREVRANGE, ...); undefined: chosen by BYSCORE/BYLEX. */
  readonly kind?: RangeKind
  /** Fixed by the command; undefined: REV may say. */
  readonly reverse?: boolean
}

export type RangeArguments =
  | { readonly kind: "rank"; readonly start: number; readonly end: number; readonly reverse: boolean; readonly withScores: boolean }
  | { readonly kind: "score"; readonly range: ScoreRange; readonly reverse: boolean; readonly withScores: boolean; readonly window: Window }
  | { readonly kind: "lex"; readonly range: LexRange; readonly reverse: boolean; readonly withScores: false; readonly window: Window }

const toNumber = (value: bigint): number => Number(value)

export const parseRange = (argv: Argv, command: RangeCommand): RangeArguments | Reply => {
  let withScores = false
  let offset = 0n
  let limit = -1n
  let kind = command.kind
  let reverse = command.reverse
  for (let j = command.keyIndex + 3; j < argv.length; j++) {
    const option = upper(argv[j])
    const left = argv.length - j - 1
    if (!command.store && option === "WITHSCORES") withScores = true
    else if (option === "LIMIT" && left >= 2) {
      const parsedOffset = parseInt64(argv[j + 1])
      const parsedLimit = parseInt64(argv[j + 2])
      if (parsedOffset === undefined || parsedLimit === undefined) return NOT_AN_INTEGER
      offset = parsedOffset
      limit = parsedLimit
      j += 2
    } else if (command.reverse === undefined && reverse === undefined && option === "REV") reverse = true
    else if (command.kind === undefined && kind === undefined && option === "BYLEX") kind = "lex"
    else if (command.kind === undefined && kind === undefined && option === "BYSCORE") kind = "score"
    else return SYNTAX_ERROR
  }
  const direction = reverse ?? false
  const rangeKind = kind ?? "rank"
  if (limit !== -1n && rangeKind === "rank") return error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
  if (withScores && rangeKind === "lex") return error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
  // Reversed score and lex ranges are written max first.
  const first = argv[command.keyIndex + 1]
  const second = argv[command.keyIndex + 2]
  const [min, max] = direction && rangeKind !== "rank" ? [second, first] : [first, second]
  const window = { offset: toNumber(offset), count: toNumber(limit) }
  switch (rangeKind) {
    case "rank": {
      const start = parseInt64(min)
      const end = parseInt64(max)
      if (start === undefined || end === undefined) return NOT_AN_INTEGER
      return { kind: "rank", start: toNumber(start), end: toNumber(end), reverse: direction, withScores }
    }
    case "score": {
      const range = parseScoreRange(min, max)
      return range === undefined ? NOT_A_FLOAT_RANGE : { kind: "score", range, reverse: direction, withScores, window }
    }
    case "lex": {
      const range = parseLexRange(min, max)
      return range === undefined ? NOT_A_LEX_RANGE : { kind: "lex", range, reverse: direction, withScores: false, window }
    }
  }
}

// ---------------------------------------------------------------- counts

export const MUST_BE_POSITIVE: Reply = error("ERR value is out of range, must be positive")

/** ZPOPMIN/ZPOPMAX key [count]: undefined when no count is given (a flat reply). */
export const parsePopCount = (argv: Argv): number | undefined | Reply => {
  if (argv.length > 3) return SYNTAX_ERROR
  if (argv.length < 3) return undefined
  const count = parseInt64(argv[2])
  if (count === undefined || count < 0n) return MUST_BE_POSITIVE
  return toNumber(count)
}

/**
 * ZRANDMEMBER picks at most this many members with repetition (a negative count), as SRANDMEMBER
 * and HRANDFIELD: redis-server has no limit and builds the reply until its memory runs out.
 */
export const MAX_REPEATED_PICKS = 1_048_576

export interface RandomArguments {
  /** undefined: one member, answered as a bulk string. */
  readonly count: number | undefined
  readonly withScores: boolean
}

/** ZRANDMEMBER key [count [WITHSCORES]] (zrandmemberCommand). */
export const parseRandomMember = (argv: Argv): RandomArguments | Reply => {
  if (argv.length < 3) return { count: undefined, withScores: false }
  const count = parseInt64(argv[2])
  if (count === undefined) return NOT_AN_INTEGER
  if (count < -LONG_MAX) return error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
  if (argv.length > 4 || (argv.length === 4 && upper(argv[3]) !== "WITHSCORES")) return SYNTAX_ERROR
  const withScores = argv.length === 4
  if (withScores && (count < -(LONG_MAX / 2n) || count > LONG_MAX / 2n)) return error("ERR value is out of range")
  // raft-kv's own bound, checked after every redis-server check.
  if (count < -BigInt(MAX_REPEATED_PICKS)) return error(`ERR value is out of range, value must between -${MAX_REPEATED_PICKS} and 9223372036854775807`)
  return { count: toNumber(count), withScores }
}

// ---------------------------------------------------------------- ZUNION, ZINTER, ZDIFF and their STORE forms

export type SetOperation = "union" | "inter" | "diff"
export type Aggregate = "sum" | "min" | "max"

export interface SetOperationCommand {
  readonly name: string
  readonly operation: SetOperation
  /** Position of numkeys: 2 with a destination (…STORE), 1 without. */
  readonly numkeysIndex: number
  readonly store: boolean
  /** ZINTERCARD: only the size of the intersection, with LIMIT. */
  readonly cardinality?: boolean
}

export interface SetOperationOptions {
  readonly weights: ReadonlyArray<number>
  readonly aggregate: Aggregate
  readonly withScores: boolean
  /** ZINTERCARD's LIMIT (0: none). */
  readonly limit: number
}

/** numkeys and the input keys (checked before any key is read), or Redis's error. */
export const parseSetOperationKeys = (argv: Argv, command: SetOperationCommand): ReadonlyArray<Uint8Array> | Reply => {
  const numkeys = parseInt64(argv[command.numkeysIndex])
  if (numkeys === undefined) return NOT_AN_INTEGER
  if (numkeys < 1n) return error(`ERR at least 1 input key is needed for '${command.name}' command`)
  if (numkeys > BigInt(argv.length - command.numkeysIndex - 1)) return SYNTAX_ERROR
  return argv.slice(command.numkeysIndex + 1, command.numkeysIndex + 1 + Number(numkeys))
}

/** The options after the input keys (WEIGHTS, AGGREGATE, WITHSCORES, LIMIT), or Redis's error. */
export const parseSetOperationOptions = (argv: Argv, command: SetOperationCommand, keys: number): SetOperationOptions | Reply => {
  const weights: Array<number> = new Array(keys).fill(1)
  let aggregate: Aggregate = "sum"
  let withScores = false
  let limit = 0
  const cardinality = command.cardinality === true
  let j = command.numkeysIndex + 1 + keys
  while (j < argv.length) {
    const option = upper(argv[j])
    const remaining = argv.length - j
    if (command.operation !== "diff" && !cardinality && remaining >= keys + 1 && option === "WEIGHTS") {
      j++
      for (let i = 0; i < keys; i++, j++) {
        const weight = parseDouble(argv[j])
        if (weight === undefined) return error("ERR weight value is not a float")
        weights[i] = weight
      }
    } else if (command.operation !== "diff" && !cardinality && remaining >= 2 && option === "AGGREGATE") {
      const value = upper(argv[j + 1])
      if (value !== "SUM" && value !== "MIN" && value !== "MAX") return SYNTAX_ERROR
      aggregate = value.toLowerCase() as Aggregate
      j += 2
    } else if (!command.store && !cardinality && option === "WITHSCORES") {
      withScores = true
      j++
    } else if (cardinality && remaining >= 2 && option === "LIMIT") {
      const value = parseInt64(argv[j + 1])
      if (value === undefined || value < 0n) return error("ERR LIMIT can't be negative")
      limit = toNumber(value)
      j += 2
    } else return SYNTAX_ERROR
  }
  return { weights, aggregate, withScores, limit }
}

/** Both parts of a set operation's arguments (what `validate` checks). */
export const validateSetOperation = (command: SetOperationCommand) => (argv: Argv): Reply | undefined => {
  const keys = parseSetOperationKeys(argv, command)
  if (isReply(keys)) return keys
  const options = parseSetOperationOptions(argv, command, keys.length)
  return isReply(options) ? options : undefined
}

/** The key positions of a set operation (COMMAND GETKEYS, prefetching): tolerant of bad arguments. */
export const setOperationKeyPositions = (command: SetOperationCommand) => (argv: Argv): ReadonlyArray<number> => {
  const positions: Array<number> = command.store ? [1] : []
  const numkeys = argv.length > command.numkeysIndex ? parseInt64(argv[command.numkeysIndex]) : undefined
  if (numkeys === undefined || numkeys < 1n) return positions
  const last = Math.min(argv.length - 1, command.numkeysIndex + Number(numkeys > 1_000_000n ? 1_000_000n : numkeys))
  for (let i = command.numkeysIndex + 1; i <= last; i++) positions.push(i)
  return positions
}

// ---------------------------------------------------------------- ZMPOP

export interface MpopArguments {
  readonly keys: ReadonlyArray<Uint8Array>
  readonly max: boolean
  readonly count: number
}

/** [BZMPOP timeout] ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] (zmpopGenericCommand); numkeys at `numkeysAt`. */
export const parseMpop = (argv: Argv, numkeysAt = 1): MpopArguments | Reply => {
  const numkeys = parseInt64(argv[numkeysAt])
  if (numkeys === undefined || numkeys < 1n) return error("ERR numkeys should be greater than 0")
  const whereIndex = numkeysAt + 1 + Number(numkeys > BigInt(argv.length) ? BigInt(argv.length) : numkeys)
  if (whereIndex >= argv.length) return SYNTAX_ERROR
  const where = upper(argv[whereIndex])
  if (where !== "MIN" && where !== "MAX") return SYNTAX_ERROR
  let count: bigint | undefined
  for (let j = whereIndex + 1; j < argv.length; j++) {
    const more = argv.length - 1 - j
    if (count === undefined && upper(argv[j]) === "COUNT" && more > 0) {
      const value = parseInt64(argv[++j])
      if (value === undefined || value < 1n) return error("ERR count should be greater than 0")
      count = value
    } else return SYNTAX_ERROR
  }
  return { keys: argv.slice(numkeysAt + 1, whereIndex), max: where === "MAX", count: toNumber(count ?? 1n) }
}

/** The key positions of ZMPOP (numkeys at 1) or BZMPOP (at 2). */
export const mpopKeyPositions = (numkeysAt: number) => (argv: Argv): ReadonlyArray<number> => {
  const numkeys = argv.length > numkeysAt ? parseInt64(argv[numkeysAt]) : undefined
  if (numkeys === undefined || numkeys < 1n) return []
  const first = numkeysAt + 1
  const positions: Array<number> = []
  for (let i = first; i < argv.length && i < first + Number(numkeys > 1_000_000n ? 1_000_000n : numkeys); i++) positions.push(i)
  return positions
}

export { NOT_A_FLOAT_RANGE, NOT_A_LEX_RANGE }
