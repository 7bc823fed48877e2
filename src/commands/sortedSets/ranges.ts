/**
 * The ranges sorted-set commands take, parsed and tested as redis-server 7.0 does (t_zset.c
 * zslParseRange, zslParseLexRange, and the index arithmetic of ZRANGE and ZREMRANGEBYRANK).
 */
import { error, type Reply } from "../../resp/Reply.js"
import { parseStrtod } from "../floats.js"

export const NOT_A_FLOAT_RANGE: Reply = error("ERR min or max is not a float")
export const NOT_A_LEX_RANGE: Reply = error("ERR min or max not valid string range item")

export interface ScoreRange {
  readonly min: number
  readonly max: number
  readonly minExclusive: boolean
  readonly maxExclusive: boolean
}

const OPEN = 0x28 // "("
const CLOSED = 0x5b // "["
const MINUS = 0x2d // "-"
const PLUS = 0x2b // "+"

const parseScoreBound = (bytes: Uint8Array): { readonly value: number; readonly exclusive: boolean } | undefined => {
  const exclusive = bytes.length > 0 && bytes[0] === OPEN
  const value = parseStrtod(exclusive ? bytes.subarray(1) : bytes)
  return value === undefined ? undefined : { value, exclusive }
}

/** "1.5", "(1.5", "-inf", "+inf": a score range, or undefined when a bound is not a number. */
export const parseScoreRange = (min: Uint8Array, max: Uint8Array): ScoreRange | undefined => {
  const low = parseScoreBound(min)
  const high = parseScoreBound(max)
  if (low === undefined || high === undefined) return undefined
  return { min: low.value, max: high.value, minExclusive: low.exclusive, maxExclusive: high.exclusive }
}

export const aboveMin = (score: number, range: ScoreRange): boolean => (range.minExclusive ? score > range.min : score >= range.min)
export const belowMax = (score: number, range: ScoreRange): boolean => (range.maxExclusive ? score < range.max : score <= range.max)

/** No score can be in the range (zslIsInRange's first test). */
export const isEmptyScoreRange = (range: ScoreRange): boolean =>
  range.min > range.max || (range.min === range.max && (range.minExclusive || range.maxExclusive))

/** A lexicographic bound: "-" and "+" are below and above every member. */
export type LexBound =
  | { readonly kind: "min" }
  | { readonly kind: "max" }
  | { readonly kind: "value"; readonly value: Buffer; readonly exclusive: boolean }

export interface LexRange {
  readonly min: LexBound
  readonly max: LexBound
}

const parseLexBound = (bytes: Uint8Array): LexBound | undefined => {
  if (bytes.length === 0) return undefined
  if (bytes[0] === PLUS) return bytes.length === 1 ? { kind: "max" } : undefined
  if (bytes[0] === MINUS) return bytes.length === 1 ? { kind: "min" } : undefined
  if (bytes[0] === OPEN || bytes[0] === CLOSED) return { kind: "value", value: Buffer.from(bytes.subarray(1)), exclusive: bytes[0] === OPEN }
  return undefined
}

/** "[a", "(a", "-", "+": a lexicographic range, or undefined when a bound is malformed. */
export const parseLexRange = (min: Uint8Array, max: Uint8Array): LexRange | undefined => {
  const low = parseLexBound(min)
  const high = parseLexBound(max)
  return low === undefined || high === undefined ? undefined : { min: low, max: high }
}

/** Whether `member` is at or above the range's minimum (zslLexValueGteMin). */
export const lexAboveMin = (member: Uint8Array, range: LexRange): boolean => {
  const min = range.min
  if (min.kind === "min") return true
  if (min.kind === "max") return false
  const order = Buffer.compare(member, min.value)
  return min.exclusive ? order > 0 : order >= 0
}

/** Whether `member` is at or below the range's maximum (zslLexValueLteMax). */
export const lexBelowMax = (member: Uint8Array, range: LexRange): boolean => {
  const max = range.max
  if (max.kind === "max") return true
  if (max.kind === "min") return false
  const order = Buffer.compare(member, max.value)
  return max.exclusive ? order < 0 : order <= 0
}

/** No member can be in the range (zslIsInLexRange's first test). */
export const isEmptyLexRange = (range: LexRange): boolean => {
  if (range.min.kind === "max" || range.max.kind === "min") return true
  if (range.min.kind !== "value" || range.max.kind !== "value") return false
  const order = Buffer.compare(range.min.value, range.max.value)
  return order > 0 || (order === 0 && (range.min.exclusive || range.max.exclusive))
}

/**
 * ZRANGE's index arithmetic (negative from the end, clamped): the inclusive positions [start, end]
 * within a collection of `size`, or undefined when the range is empty.
 */
export const rankRange = (start: number, end: number, size: number): { readonly start: number; readonly end: number } | undefined => {
  if (start < 0) start = size + start
  if (end < 0) end = size + end
  if (start < 0) start = 0
  if (start > end || start >= size) return undefined
  if (end >= size) end = size - 1
  return { start, end }
}
