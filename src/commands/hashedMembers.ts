/**
 * The members of hashes and sets, as both types store them: under the collection's version, one
 * engine key per field or member, ordered by the member's 32-bit hash (layout.hashedPart: u32
 * hash · member bytes; a hash field's value is the engine value, a set member's is empty).
 *
 * Hash order gives the three things these types need beyond point access:
 *
 * - HSCAN/SSCAN cursors are hash positions, exactly like SCAN's: stateless integers, the same on
 *   every node, a page ending at a hash boundary so colliding members are never split.
 * - A random member is one seek from a random hash position (O(log n)), not a walk.
 * - Paging through a collection (set algebra, SINTERCARD stopping early) resumes from a member.
 *
 * Random picks draw from `ks.random()` only: in a write it is seeded from the log entry, so SPOP
 * removes the same members on every node.
 *
 * Distribution of random picks: a collection of up to SMALL_COLLECTION members is read whole and
 * each pick is exactly uniform. In a larger one a pick is the first member at or after a uniformly
 * random hash, so a member's chance is proportional to the gap between its hash and the previous
 * member's (1/n on average, but gaps vary: FNV-1a spreads members evenly, so gaps are roughly
 * exponential). redis-server's own pick in a large set or hash (a random bucket, then a random
 * element of its chain) is not exactly uniform either.
 */
import { Effect } from "effect"
import type { EngineError } from "../engine/KvEngine.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import { hashPage } from "./keyspace/hashCursor.js"
import { hashedPart, hashPart } from "./keyspace/layout.js"
import { type SyncOrEffect, withLoaded } from "./keyspace/syncFirst.js"

export type Effected<A> = Effect.Effect<A, EngineError>

export interface Entry {
  /** The field or member itself. */
  readonly member: Buffer
  /** A hash field's value; empty for a set member. */
  readonly value: Uint8Array
  /** Its position in the collection (hash · member bytes), what point reads and paging use. */
  readonly part: Buffer
}

/**
 * Collections up to this size are read whole for random picks (exactly uniform) and returned in
 * one SCAN page, as redis-server returns a listpack- or intset-encoded collection (HSCAN of a
 * hash of up to 128 fields answers everything with cursor 0, whatever COUNT says).
 */
export const SMALL_COLLECTION = 128

/** Members read per page when a command walks a whole collection piece by piece. */
export const PAGE_SIZE = 256

const HASH_SPACE = 2 ** 32

const entryOf = ([part, value]: readonly [Buffer, Uint8Array]): Entry => ({ member: part.subarray(4), value, part })

/** The smallest position after `part` (pages resume there). */
const after = (part: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(part.length + 1)
  out.set(part, 0)
  out[part.length] = 0
  return out
}

export const partOf = (member: Uint8Array): Buffer => hashedPart(member)

/** The member's value, undefined when the collection does not hold it. */
export const lookup = (ks: Keyspace, version: number, member: Uint8Array): Effected<Uint8Array | undefined> =>
  ks.member(version, hashedPart(member))

export const store = (ks: Keyspace, version: number, member: Uint8Array, value: Uint8Array): void =>
  ks.putMember(version, hashedPart(member), value)

export const discard = (ks: Keyspace, version: number, member: Uint8Array): void => ks.deleteMember(version, hashedPart(member))

/** HDEL and SREM: delete the members at `parts` that the collection holds; how many were deleted. */
export const deleteHeld = (ks: Keyspace, version: number, parts: ReadonlyArray<Buffer>): SyncOrEffect<number> =>
  withLoaded(ks, version, parts, () => {
    let removed = 0
    for (const part of parts) {
      if (ks.loadedMember(version, part) === undefined) continue
      ks.deleteMember(version, part)
      removed++
    }
    return removed
  })

/** Every member, in hash order. */
export const all = (ks: Keyspace, version: number): Effected<Array<Entry>> => Effect.map(ks.members(version), (pairs) => pairs.map(entryOf))

/** Up to `limit` members from `from` on (undefined: the start), in hash order. */
export const page = (ks: Keyspace, version: number, from: Uint8Array | undefined, limit: number): Effected<Array<Entry>> =>
  Effect.map(ks.members(version, { ...(from === undefined ? {} : { from }), limit }), (pairs) => pairs.map(entryOf))

/**
 * Walk the collection a page at a time; `visit` returns false to stop early. Only one page is held
 * at a time, so a walk that stops early (SINTERCARD's LIMIT) reads only what it needed.
 */
export const walk = (ks: Keyspace, version: number, visit: (entries: ReadonlyArray<Entry>) => Effected<boolean>): Effected<void> =>
  Effect.gen(function* () {
    let from: Uint8Array | undefined
    for (;;) {
      const entries = yield* page(ks, version, from, PAGE_SIZE)
      if (entries.length === 0 || !(yield* visit(entries)) || entries.length < PAGE_SIZE) return
      from = after(entries[entries.length - 1].part)
    }
  })

// ---------------------------------------------------------------- HSCAN / SSCAN

export interface ScanPage {
  readonly entries: Array<Entry>
  /** Where the next call resumes (a hash); 0 when the iteration is complete. */
  readonly cursor: number
}

/**
 * One HSCAN/SSCAN page from `cursor` (a hash position): about `count` members, plus every member
 * sharing the last hash examined, so a cursor never splits colliding members. A small collection
 * is returned whole with cursor 0, as redis-server does for its compact encodings.
 */
export const scanPage = (ks: Keyspace, version: number, size: number, cursor: number, count: number): Effected<ScanPage> => {
  if (size <= SMALL_COLLECTION) return Effect.map(all(ks, version), (entries) => ({ entries, cursor: 0 }))
  if (cursor >= HASH_SPACE) return Effect.succeed({ entries: [], cursor: 0 })
  const page = hashPage(count, (part) => part.readUInt32BE(0))
  return Effect.map(ks.members(version, { from: hashPart(cursor), visit: page.visit }), (pairs) => {
    const next = page.nextCursor(pairs)
    return { entries: pairs.map(entryOf), cursor: next }
  })
}

// ---------------------------------------------------------------- random members

/** The first member at or after a uniformly random hash, wrapping around to the first member. */
const seek = (ks: Keyspace, version: number): Effected<Entry | undefined> =>
  Effect.gen(function* () {
    const [found] = yield* page(ks, version, hashPart(Math.floor(ks.random() * HASH_SPACE)), 1)
    if (found !== undefined) return found
    const [first] = yield* page(ks, version, undefined, 1)
    return first
  })

/** One random member (undefined only for an empty collection). */
export const randomOne = (ks: Keyspace, version: number, size: number): Effected<Entry | undefined> => {
  if (size > SMALL_COLLECTION) return seek(ks, version)
  return Effect.map(all(ks, version), (entries) => entries[Math.floor(ks.random() * entries.length)])
}

/** `count` distinct members of `entries` (count < entries.length), by a partial Fisher-Yates shuffle. */
const sample = (ks: Keyspace, entries: Array<Entry>, count: number): Array<Entry> => {
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(ks.random() * (entries.length - i))
    const chosen = entries[j]
    entries[j] = entries[i]
    entries[i] = chosen
  }
  return entries.slice(0, count)
}

/**
 * `count` random members: distinct ones (SRANDMEMBER and HRANDFIELD with a positive count, SPOP
 * with a count), or independent picks that may repeat (a negative count). A request for a good
 * part of the collection reads it whole (as redis-server copies the set then); a small one seeks
 * once per member, O(count · log n).
 */
export const randomMany = (ks: Keyspace, version: number, size: number, count: number, distinct: boolean): Effected<Array<Entry>> =>
  Effect.gen(function* () {
    if (count <= 0 || size === 0) return []
    if (distinct && count >= size) return yield* all(ks, version)
    if (size <= SMALL_COLLECTION || (distinct ? count * 3 > size : count * 4 >= size)) {
      const entries = yield* all(ks, version)
      if (distinct) return sample(ks, entries, count)
      return Array.from({ length: count }, () => entries[Math.floor(ks.random() * entries.length)])
    }
    const picked: Array<Entry> = []
    if (!distinct) {
      for (let i = 0; i < count; i++) picked.push((yield* seek(ks, version))!)
      return picked
    }
    const seen = new Set<string>()
    // Seeks favour members behind wide hash gaps; past this many tries, sample from the whole set.
    for (let attempts = 0; picked.length < count; attempts++) {
      if (attempts > count * 8 + 64) return sample(ks, yield* all(ks, version), count)
      const entry = (yield* seek(ks, version))!
      const id = entry.part.toString("latin1")
      if (seen.has(id)) continue
      seen.add(id)
      picked.push(entry)
    }
    return picked
  })
