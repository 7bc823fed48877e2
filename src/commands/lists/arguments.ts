/**
 * List command arguments, parsed and refused as redis-server 7.0 does (t_list.c), error texts and
 * their order included. Every parser is pure: `validate` runs it before the log and the command
 * runs it again when it applies.
 */
import { error, type Reply } from "../../resp/Reply.js"
import { latin1, NOT_AN_INTEGER, SYNTAX_ERROR } from "../errors.js"
import { parseInt64 } from "../integers.js"
import type { Argv } from "../registry.js"

export const MUST_BE_POSITIVE = error("ERR value is out of range, must be positive")
const NUMKEYS_NOT_POSITIVE = error("ERR numkeys should be greater than 0")
const COUNT_NOT_POSITIVE = error("ERR count should be greater than 0")
const RANK_ZERO = error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
const COUNT_NEGATIVE = error("ERR COUNT can't be negative")
const MAXLEN_NEGATIVE = error("ERR MAXLEN can't be negative")

const LONG_MIN = -(2n ** 63n)

/** LEFT is the head, RIGHT the tail. */
export type End = "left" | "right"

/** LEFT or RIGHT (case-insensitive), or undefined. */
export const parseEnd = (bytes: Uint8Array): End | undefined => {
  const word = latin1(bytes).toLowerCase()
  return word === "left" || word === "right" ? word : undefined
}

/** A long argument as a JS number (exact up to 2^53; beyond, still ordered right against any list length). */
export const parseLong = (bytes: Uint8Array): number | undefined => {
  const value = parseInt64(bytes)
  return value === undefined ? undefined : Number(value)
}

/** getPositiveLongFromObjectOrReply: an integer >= 0, else one error for both a non-integer and a negative. */
export const parseNonNegative = (bytes: Uint8Array): number | undefined => {
  const value = parseInt64(bytes)
  return value === undefined || value < 0n ? undefined : Number(value)
}

/** getRangeLongFromObjectOrReply(1, LONG_MAX) with its own message for a non-integer as for zero. */
const parsePositive = (bytes: Uint8Array): number | undefined => {
  const value = parseInt64(bytes)
  return value === undefined || value < 1n ? undefined : Number(value)
}

/** Redis's index normalisation for LRANGE and LTRIM: [start, end] within the list, or undefined when empty. */
export const normaliseRange = (start: number, end: number, length: number): readonly [number, number] | undefined => {
  if (start < 0) start = length + start
  if (end < 0) end = length + end
  if (start < 0) start = 0
  if (start > end || start >= length) return undefined
  return [start, Math.min(end, length - 1)]
}

/** The offset LINDEX's or LSET's index names in a list of `length` (negative counts from the tail): undefined when out of range. */
export const elementOffset = (index: Uint8Array, length: number): number | undefined | Reply => {
  const parsed = parseLong(index)
  if (parsed === undefined) return NOT_AN_INTEGER
  const offset = parsed < 0 ? length + parsed : parsed
  return offset < 0 || offset >= length ? undefined : offset
}

// ---------------------------------------------------------------- LPOS

export interface LposOptions {
  /** Which match to start from, counting from the scan's start (>= 1). */
  readonly rank: number
  /** Scan from the tail. */
  readonly reverse: boolean
  /** Reply with an array of up to `count` matches (0: all); undefined: one match or nil. */
  readonly count: number | undefined
  /** Elements compared at most (0: all). */
  readonly maxlen: number
}

export const parseLposOptions = (argv: Argv): LposOptions | Reply => {
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

// ---------------------------------------------------------------- LMPOP, BLMPOP

export interface MpopArguments {
  /** Positions of the keys in argv. */
  readonly keys: ReadonlyArray<number>
  readonly where: End
  readonly count: number
}

/** LMPOP's arguments after the numkeys at `numkeysAt` (t_list.c lmpopGenericCommand). */
export const parseMpop = (argv: Argv, numkeysAt: number): MpopArguments | Reply => {
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
