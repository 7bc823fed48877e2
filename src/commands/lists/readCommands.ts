/**
 * The list reads: LLEN, LINDEX, LRANGE (only the positions it returns are read) and LPOS (a scan
 * from either end that stops as soon as it has what was asked for).
 */
import { Effect } from "effect"
import { array, bulk, EMPTY_ARRAY, integer, NIL, type Reply } from "../../resp/Reply.js"
import { isReply } from "../expiryArguments.js"
import type { Execute } from "../registry.js"
import { elementOffset, normaliseRange, parseLong, parseLposOptions } from "./arguments.js"
import { andThen, asList, bulks, corrupt, part, positionOf, readRange, withMeta } from "./encoding.js"

export const llen: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    return isReply(list) ? list : integer(list?.size ?? 0)
  })

export const lindex: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return NIL
    const offset = elementOffset(argv[2], list.size)
    if (isReply(offset)) return offset
    if (offset === undefined) return NIL
    return Effect.map(ks.member(list.version, part(list.head + offset)), (value) => bulk(value ?? corrupt(list, list.head + offset)))
  })

export const lrange: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return EMPTY_ARRAY
    const range = normaliseRange(parseLong(argv[2])!, parseLong(argv[3])!, list.size)
    if (range === undefined) return EMPTY_ARRAY
    return andThen(readRange(ks, list, list.head + range[0], list.head + range[1] + 1), bulks)
  })

export const lpos: Execute = ({ ks, db, argv }) => {
  const options = parseLposOptions(argv)
  if (isReply(options)) return options
  return withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return options.count !== undefined ? EMPTY_ARRAY : NIL
    const wanted = argv[2]
    const found: Array<Reply> = []
    let matches = 0
    let scanned = 0
    // Returns whether to read on: up to MAXLEN elements, until enough matches.
    const visit = (member: Buffer, value: Uint8Array): boolean => {
      scanned++
      if (Buffer.compare(value, wanted) === 0 && ++matches >= options.rank) {
        found.push(integer(positionOf(member) - list.head))
        if (options.count === undefined || (options.count > 0 && found.length >= options.count)) return false
      }
      return options.maxlen === 0 || scanned < options.maxlen
    }
    const scan = ks.members(list.version, { reverse: options.reverse, visit })
    return Effect.map(scan, () => (options.count !== undefined ? array(found) : (found[0] ?? NIL)))
  })
}
