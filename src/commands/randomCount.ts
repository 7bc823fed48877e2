/**
 * The count argument of SRANDMEMBER and HRANDFIELD (redis-server 7.0: getRangeLongFromObjectOrReply
 * between -LONG_MAX and LONG_MAX): positive asks for distinct members, negative for that many
 * independent picks that may repeat.
 *
 * One limit of raft-kv's own: a negative count may ask for at most MAX_REPEATED_PICKS picks.
 * redis-server has none, and answers SRANDMEMBER key -4611686018427387903 by building a reply until
 * its memory runs out; a node that did so would stop serving its share of the cluster.
 */
import { error, type Reply } from "../resp/Reply.js"
import { NOT_AN_INTEGER } from "./errors.js"
import { parseInt64 } from "./integers.js"

export const MAX_REPEATED_PICKS = 1_048_576

const LONG_MAX = 2n ** 63n - 1n

export interface RandomCount {
  /** How many members (distinct) or picks (repeating); at most Number.MAX_SAFE_INTEGER. */
  readonly count: number
  readonly distinct: boolean
  /** Beyond ±LONG_MAX/2: HRANDFIELD ... WITHVALUES refuses it (the reply would hold twice as many elements). */
  readonly overHalfRange: boolean
}

export const parseRandomCount = (bytes: Uint8Array): RandomCount | Reply => {
  const value = parseInt64(bytes)
  if (value === undefined) return NOT_AN_INTEGER
  if (value < -LONG_MAX) return error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
  const magnitude = value < 0n ? -value : value
  return {
    count: magnitude > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(magnitude),
    distinct: value >= 0n,
    overHalfRange: magnitude > LONG_MAX / 2n
  }
}

/** raft-kv's bound on repeating picks (checked after every redis-server check). */
export const checkRepeatedPicks = (count: RandomCount): Reply | undefined =>
  !count.distinct && count.count > MAX_REPEATED_PICKS
    ? error(`ERR value is out of range, value must between -${MAX_REPEATED_PICKS} and 9223372036854775807`)
    : undefined
