/**
 * The list writes inside a list: LSET (one element, by its position), LTRIM (deletes what it cuts,
 * or copies what it keeps to a new version when that is less), LREM and LINSERT (which move the
 * elements of the shorter side only).
 */
import { Effect } from "effect"
import { error, integer, OK, ZERO } from "../../resp/Reply.js"
import { latin1, NO_SUCH_KEY } from "../errors.js"
import { isReply } from "../expiryArguments.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import { KeyType } from "../keyspace/meta.js"
import type { Execute } from "../registry.js"
import { elementOffset, normaliseRange, parseLong } from "./arguments.js"
import { andThen, asEffect, asList, type Effectful, LAST_POSITION, type ListMeta, part, positionOf, POSITIONS_EXHAUSTED, readRange, shrinkTo, START, withMeta } from "./encoding.js"

const INDEX_OUT_OF_RANGE = error("ERR index out of range")

export const lset: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return NO_SUCH_KEY
    const offset = elementOffset(argv[2], list.size)
    if (isReply(offset)) return offset
    if (offset === undefined) return INDEX_OUT_OF_RANGE
    ks.putMember(list.version, part(list.head + offset), argv[3])
    ks.touch(db, argv[1])
    return OK
  })

export const ltrim: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return OK
    const range = normaliseRange(parseLong(argv[2])!, parseLong(argv[3])!, list.size)
    if (range === undefined) {
      // Nothing kept: the whole list goes at once, its members to the reaper.
      ks.remove(db, argv[1], list)
      return OK
    }
    const [start, end] = range
    const kept = end - start + 1
    if (kept === list.size) {
      // Nothing trimmed, yet Redis signals the key all the same (WATCH sees a modification).
      ks.touch(db, argv[1])
      return OK
    }
    if (kept < list.size - kept) {
      // Fewer to keep than to cut: copy the kept elements to a new version; the old one is garbage.
      return andThen(readRange(ks, list, list.head + start, list.head + end + 1), (values) => {
        const copy = { ...ks.newCollection(KeyType.List, START), expireAt: list.expireAt, size: kept }
        values.forEach((value, i) => ks.putMember(copy.version, part(START + i), value))
        ks.write(db, argv[1], copy, list)
        return OK
      })
    }
    for (let offset = 0; offset < start; offset++) ks.deleteMember(list.version, part(list.head + offset))
    for (let offset = end + 1; offset < list.size; offset++) ks.deleteMember(list.version, part(list.head + offset))
    shrinkTo(ks, db, argv[1], list, list.head + start, kept)
    return OK
  })

/**
 * Close the gaps left by removed elements (offsets from the head, ascending) by moving the
 * surviving elements of the cheaper side: those after the first removed one move towards the
 * head, or those before the last removed one towards the tail.
 */
const closeGaps = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, removed: ReadonlyArray<number>): Effectful<void> => {
  const gone = new Set(removed)
  const first = removed[0]
  const last = removed[removed.length - 1]
  const size = list.size - removed.length
  // Survivors after the first removed element, against survivors before the last one.
  const moveTowardsHead = list.size - first - removed.length <= last - (removed.length - 1)
  if (size === 0) {
    for (const offset of removed) ks.deleteMember(list.version, part(list.head + offset))
    ks.remove(db, key, list, { keepMembers: true })
    return Effect.void
  }
  if (moveTowardsHead) {
    return asEffect(andThen(readRange(ks, list, list.head + first, list.head + list.size), (values) => {
      let target = first
      values.forEach((value, i) => {
        const offset = first + i
        if (gone.has(offset)) return
        if (offset !== target) ks.putMember(list.version, part(list.head + target), value)
        target++
      })
      for (let offset = target; offset < list.size; offset++) ks.deleteMember(list.version, part(list.head + offset))
      shrinkTo(ks, db, key, list, list.head, size)
    }))
  }
  return asEffect(andThen(readRange(ks, list, list.head, list.head + last + 1, true), (values) => {
    let target = last
    values.forEach((value, i) => {
      const offset = last - i
      if (gone.has(offset)) return
      if (offset !== target) ks.putMember(list.version, part(list.head + target), value)
      target--
    })
    for (let offset = 0; offset <= target; offset++) ks.deleteMember(list.version, part(list.head + offset))
    shrinkTo(ks, db, key, list, list.head + target + 1, size)
  }))
}

export const lrem: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return ZERO
    const count = parseLong(argv[2])!
    const limit = Math.abs(count)
    const wanted = argv[3]
    const removed: Array<number> = []
    const visit = (member: Buffer, value: Uint8Array): boolean => {
      if (Buffer.compare(value, wanted) === 0) removed.push(positionOf(member) - list.head)
      return limit === 0 || removed.length < limit
    }
    return Effect.gen(function* () {
      yield* ks.members(list.version, { reverse: count < 0, visit })
      if (removed.length === 0) return ZERO
      removed.sort((a, b) => a - b)
      yield* closeGaps(ks, db, argv[1], list, removed)
      return integer(removed.length)
    })
  })

export const linsert: Execute = ({ ks, db, argv }) =>
  withMeta(ks, db, argv[1], (meta) => {
    const list = asList(meta)
    if (isReply(list)) return list
    if (list === undefined) return ZERO
    const after = latin1(argv[2]).toLowerCase() === "after"
    const pivot = argv[3]
    const element = argv[4]
    // The elements up to the pivot, kept for the shift towards the head.
    const before: Array<Uint8Array> = []
    let found = false
    const visit = (_member: Buffer, value: Uint8Array): boolean => {
      before.push(value)
      found = Buffer.compare(value, pivot) === 0
      return !found
    }
    return Effect.gen(function* () {
      yield* ks.members(list.version, { visit })
      if (!found) return integer(-1)
      // The new element's offset: the pivot's, or the one after it.
      const at = after ? before.length : before.length - 1
      if (at <= list.size - at) {
        if (list.head - 1 < 0) return POSITIONS_EXHAUSTED
        // Shift the `at` elements in front of it one place towards the head.
        for (let offset = 0; offset < at; offset++) ks.putMember(list.version, part(list.head - 1 + offset), before[offset])
        ks.putMember(list.version, part(list.head - 1 + at), element)
        ks.write(db, argv[1], { ...list, head: list.head - 1, size: list.size + 1 }, list)
      } else {
        if (list.head + list.size + 1 > LAST_POSITION) return POSITIONS_EXHAUSTED
        const tail = yield* asEffect(readRange(ks, list, list.head + at, list.head + list.size))
        tail.forEach((value, i) => ks.putMember(list.version, part(list.head + at + i + 1), value))
        ks.putMember(list.version, part(list.head + at), element)
        ks.write(db, argv[1], { ...list, size: list.size + 1 }, list)
      }
      ks.signalReady(db, argv[1])
      return integer(list.size + 1)
    })
  })
