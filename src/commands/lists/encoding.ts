/**
 * How a list is stored, and the primitives every list command is built from: reading the key,
 * reading a range of elements, pushing and popping at the ends.
 *
 * Encoding: each element is one member of the list's version, keyed by its position, a u64
 * big-endian number (so member order is list order); the meta record holds `head`, the position
 * of the first element, and `size`: the elements occupy head .. head + size - 1. A new list starts
 * in the middle of the position space (2^52), LPUSH takes head - 1, RPUSH head + size, so pushes
 * and pops at either end, LINDEX and LSET are one member each (O(log n) in any ordered engine);
 * LRANGE reads exactly the positions it returns. LINSERT and LREM shift the shorter side of the
 * list only (Redis's O(N)); LTRIM deletes what it cuts, or, when it keeps fewer elements than it
 * cuts, copies the kept ones to a new version and leaves the old one to the reaper.
 *
 * This layout is persisted: changing it changes the on-disk format.
 */
import { Effect } from "effect"
import { array, bulk, error, type Reply } from "../../resp/Reply.js"
import { WRONGTYPE } from "../errors.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import { readU64, writeU64 } from "../keyspace/layout.js"
import { type CollectionMeta, KeyType, type Meta } from "../keyspace/meta.js"
import { NOT_LOADED } from "../keyspace/Txn.js"
import type { End } from "./arguments.js"

import { andThen, type Effectful } from "../keyspace/syncFirst.js"

export { andThen, asEffect, type Effectful, withMeta } from "../keyspace/syncFirst.js"

// ---------------------------------------------------------------- positions

/** Where a new list's first element goes: room for 2^52 pushes at either end. */
export const START = 2 ** 52
/** Positions are u64 in the key but safe integers in memory. */
export const LAST_POSITION = Number.MAX_SAFE_INTEGER

export const part = (position: number): Buffer => {
  const out = Buffer.allocUnsafe(8)
  writeU64(out, position, 0)
  return out
}

export const positionOf = (member: Uint8Array): number => readU64(member, 0)

export const POSITIONS_EXHAUSTED = error("ERR the list has no room left at this end (2^52 pushes); copy it to a new key")

// ---------------------------------------------------------------- reading the key

export type ListMeta = CollectionMeta

/** The key's list: undefined when absent, `wrongType` when it holds another type. */
export const asList = (meta: Meta | undefined, wrongType: Reply = WRONGTYPE): ListMeta | undefined | Reply => {
  if (meta === undefined) return undefined
  return meta.type === KeyType.List ? (meta as ListMeta) : wrongType
}

export const corrupt = (list: ListMeta, position: number): never => {
  throw new Error(`list element missing at position ${position} (version ${list.version}, head ${list.head}, size ${list.size})`)
}

/** Ranges up to this many elements are read as point reads of their positions; longer ones as a range read that yields between pages. */
const POINT_READS = 1024

/**
 * The elements at positions [from, to) of the list, in order (or reversed). A list's positions are
 * known keys, so a short range is point reads: synchronous on the memory engine (no iteration at
 * all), one `getMany` on LevelDB.
 */
export const readRange = (ks: Keyspace, list: ListMeta, from: number, to: number, reverse = false): Array<Uint8Array> | Effectful<Array<Uint8Array>> => {
  if (to - from > POINT_READS) {
    return Effect.map(ks.members(list.version, { from: part(from), to: part(to), ...(reverse ? { reverse: true } : {}) }), (pairs) => {
      if (pairs.length !== to - from) corrupt(list, from)
      return pairs.map(([, value]) => value)
    })
  }
  const parts: Array<Buffer> = []
  for (let i = 0; i < to - from; i++) parts.push(part(reverse ? to - 1 - i : from + i))
  const complete = (values: ReadonlyArray<Uint8Array | undefined>): Array<Uint8Array> =>
    values.map((value, i) => value ?? corrupt(list, reverse ? to - 1 - i : from + i))
  const now = ks.membersNow(list.version, parts)
  return now !== NOT_LOADED ? complete(now) : Effect.map(ks.membersAt(list.version, parts), complete)
}

// ---------------------------------------------------------------- changing the list

/** Store the list with its new bounds, or remove the key when it is empty (its members are gone). */
export const shrinkTo = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, head: number, size: number): void => {
  if (size === 0) ks.remove(db, key, list, { keepMembers: true })
  else ks.write(db, key, { ...list, head, size }, list)
}

/** Push `elements` in order at one end (each LPUSH element becomes the new head). Returns the list, or an error. */
export const pushElements = (ks: Keyspace, db: number, key: Uint8Array, previous: ListMeta | undefined, elements: ReadonlyArray<Uint8Array>, where: End): ListMeta | Reply => {
  const base = previous ?? ks.newCollection(KeyType.List, START)
  let head = base.head
  let tail = base.head + base.size
  if (where === "left" ? head - elements.length < 0 : tail + elements.length > LAST_POSITION) return POSITIONS_EXHAUSTED
  for (const element of elements) {
    if (where === "left") ks.putMember(base.version, part(--head), element)
    else ks.putMember(base.version, part(tail++), element)
  }
  const next: ListMeta = { ...base, head, size: base.size + elements.length }
  ks.write(db, key, next, previous)
  // (A new list signals through `write`.)
  if (previous !== undefined) ks.signalReady(db, key)
  return next
}

/** Pop one element from an end of a non-empty list (the key is updated, or removed when emptied). */
export const popOne = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, where: End): Uint8Array | Effectful<Uint8Array> => {
  const position = where === "left" ? list.head : list.head + list.size - 1
  const finish = (value: Uint8Array | undefined): Uint8Array => {
    if (value === undefined) return corrupt(list, position)
    ks.deleteMember(list.version, part(position))
    shrinkTo(ks, db, key, list, where === "left" ? list.head + 1 : list.head, list.size - 1)
    return value
  }
  const now = ks.memberNow(list.version, part(position))
  return now !== NOT_LOADED ? finish(now) : Effect.map(ks.member(list.version, part(position)), finish)
}

/** Pop up to `count` elements from an end, in popping order. */
export const popMany = (ks: Keyspace, db: number, key: Uint8Array, list: ListMeta, count: number, where: End): Array<Uint8Array> | Effectful<Array<Uint8Array>> => {
  const n = Math.min(count, list.size)
  const from = where === "left" ? list.head : list.head + list.size - n
  return andThen(readRange(ks, list, from, from + n, where === "right"), (values) => {
    for (let position = from; position < from + n; position++) ks.deleteMember(list.version, part(position))
    shrinkTo(ks, db, key, list, where === "left" ? list.head + n : list.head, list.size - n)
    return values
  })
}

export const bulks = (values: ReadonlyArray<Uint8Array>): Reply => array(values.map((value) => bulk(value)))

