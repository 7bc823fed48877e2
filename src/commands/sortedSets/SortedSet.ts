/**
 * One sorted set's members as commands read and change them, over the two indexes of
 * ./encoding.ts. Every read touches only the keys it returns, plus what a rank costs on an ordered
 * store: reaching rank r reads r keys, from whichever end is nearer (Redis's skiplist does it in
 * O(log n); kvrocks pays the same as here).
 *
 * Lexicographic ranges follow redis-server's small-set (listpack) walk exactly: from the first
 * member in score order at or above the minimum, while members stay at or below the maximum. With
 * equal scores (the only case Redis specifies) that is plain lexicographic order, found with one
 * seek.
 */
import { Effect } from "effect"
import type { EngineError } from "../../engine/KvEngine.js"
import { hashPage } from "../keyspace/hashCursor.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import { memberKey } from "../keyspace/layout.js"
import {
  decodeScore,
  encodeScore,
  MEMBER_INDEX_END,
  MEMBER_INDEX_START,
  memberPart,
  memberPartAtHash,
  parseMemberPart,
  parseScorePart,
  SCORE_INDEX_END,
  SCORE_INDEX_START,
  scorePart
} from "./encoding.js"
import { isEmptyLexRange, isEmptyScoreRange, lexAboveMin, lexBelowMax, type LexRange, type ScoreRange } from "./ranges.js"
import { keyAfterPrefix } from "../../engine/KvEngine.js"

const EMPTY = new Uint8Array(0)
const ZERO_BYTE = Buffer.from([0])

export interface Scored {
  readonly member: Buffer
  readonly score: number
}

/** LIMIT offset count, as Redis applies it: a negative offset selects nothing, a negative count everything. */
export interface Window {
  readonly offset: number
  readonly count: number
}

export const WHOLE: Window = { offset: 0, count: -1 }

export interface ScanPage {
  readonly entries: Array<Scored>
  /** The hash to continue from; 0 when the scan is complete. */
  readonly cursor: number
}

type Effectful<A> = Effect.Effect<A, EngineError>

/** The part right after every part that starts with `prefix`. */
const after = (prefix: Buffer): Buffer => keyAfterPrefix(prefix)!

export class SortedSet {
  constructor(
    private readonly ks: Keyspace,
    readonly version: number
  ) {}

  // ---------------------------------------------------------------- members

  score(member: Uint8Array): Effectful<number | undefined> {
    return Effect.map(this.ks.member(this.version, memberPart(member)), (value) => (value === undefined ? undefined : decodeScore(value)))
  }

  /** The score at a member index part that `ks.loadMembers` made readable (see syncFirst.withLoaded). */
  loadedScore(part: Uint8Array): number | undefined {
    const value = this.ks.loadedMember(this.version, part)
    return value === undefined ? undefined : decodeScore(value)
  }

  /** Fetch the scores of `members` in one engine call where the engine reads asynchronously (LevelDB). */
  prefetch(members: ReadonlyArray<Uint8Array>): Effectful<void> {
    return members.length < 2 ? Effect.void : this.ks.txn.prefetch(members.map((member) => memberKey(this.version, memberPart(member))))
  }

  /** Store `member` with `score`; `previous` is its current score (undefined: a new member). */
  put(member: Uint8Array, score: number, previous: number | undefined): void {
    if (previous !== undefined) this.ks.deleteMember(this.version, scorePart(previous, member))
    this.ks.putMember(this.version, memberPart(member), encodeScore(score))
    this.ks.putMember(this.version, scorePart(score, member), EMPTY)
  }

  delete(member: Uint8Array, score: number): void {
    this.ks.deleteMember(this.version, memberPart(member))
    this.ks.deleteMember(this.version, scorePart(score, member))
  }

  // ---------------------------------------------------------------- the score index

  /** Score index entries in [from, to), ascending or descending; `visit` may stop the read (see Txn.range). */
  private entries(from: Uint8Array, to: Uint8Array, options: { readonly reverse?: boolean; readonly limit?: number; readonly visit?: (entry: Scored) => boolean } = {}): Effectful<Array<Scored>> {
    const visit = options.visit
    return Effect.map(
      this.ks.members(this.version, {
        from,
        to,
        ...(options.reverse === true ? { reverse: true } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
        ...(visit !== undefined ? { visit: (part: Buffer) => visit(parseScorePart(part)) } : {})
      }),
      (pairs) => pairs.map(([part]) => parseScorePart(part))
    )
  }

  /** Every member in score order (ZUNIONSTORE's inputs, COPY-like reads). */
  all(): Effectful<Array<Scored>> {
    return this.entries(SCORE_INDEX_START, SCORE_INDEX_END)
  }

  /** The `count` lowest (or, `reverse`, highest) members: ZPOPMIN, ZPOPMAX. */
  ends(count: number, reverse: boolean): Effectful<Array<Scored>> {
    if (count <= 0) return Effect.succeed([])
    return this.entries(SCORE_INDEX_START, SCORE_INDEX_END, { reverse, limit: count })
  }

  /** Members whose score is in `range`, in order (descending with `reverse`), within `window`. */
  byScore(range: ScoreRange, reverse: boolean, window: Window = WHOLE): Effectful<Array<Scored>> {
    if (isEmptyScoreRange(range) || window.offset < 0 || window.count === 0) return Effect.succeed([])
    const low = scorePart(range.min)
    const high = scorePart(range.max)
    const from = range.minExclusive ? after(low) : low
    const to = range.maxExclusive ? high : after(high)
    const limit = window.count < 0 ? undefined : window.offset + window.count
    return Effect.map(this.entries(from, to, { reverse, ...(limit !== undefined ? { limit } : {}) }), (found) => found.slice(window.offset))
  }

  /** How many members have a score in `range` (reads each of them). */
  countByScore(range: ScoreRange): Effectful<number> {
    return Effect.map(this.byScore(range, false), (found) => found.length)
  }

  /**
   * Members in the lexicographic `range` (descending with `reverse`), within `window`, walking as
   * redis-server's listpack does: its checks of the two ends, the first member in range, `offset`
   * members skipped from there, then members while they stay in range.
   */
  byLex(range: LexRange, reverse: boolean, window: Window = WHOLE): Effectful<Array<Scored>> {
    if (isEmptyLexRange(range) || window.offset < 0 || window.count === 0) return Effect.succeed([])
    return Effect.gen(this, function* () {
      const [first] = yield* this.ends(1, false)
      const [last] = yield* this.ends(1, true)
      if (first === undefined || last === undefined) return []
      if (!lexAboveMin(last.member, range) || !lexBelowMax(first.member, range)) return []
      const found: Array<Scored> = []
      let started = false
      let skip = window.offset
      const inRange = reverse ? (member: Buffer) => lexAboveMin(member, range) : (member: Buffer) => lexBelowMax(member, range)
      const visit = (entry: Scored): boolean => {
        if (!started) {
          // Looking for the first member in range from this end.
          if (reverse ? !lexBelowMax(entry.member, range) : !lexAboveMin(entry.member, range)) return true
          started = true
          if (!inRange(entry.member)) return false
        }
        if (skip > 0) {
          skip--
          return true
        }
        if (!inRange(entry.member)) return false
        found.push(entry)
        return window.count < 0 || found.length < window.count
      }
      if (reverse) {
        const max = range.max
        // Members of the highest score sort by name: start right after the maximum among them.
        const to = max.kind === "value" ? scorePart(last.score, max.exclusive ? max.value : Buffer.concat([max.value, ZERO_BYTE])) : SCORE_INDEX_END
        yield* this.entries(SCORE_INDEX_START, to, { reverse: true, visit })
      } else {
        const min = range.min
        const from = min.kind === "value" ? scorePart(first.score, min.exclusive ? Buffer.concat([min.value, ZERO_BYTE]) : min.value) : SCORE_INDEX_START
        yield* this.entries(from, SCORE_INDEX_END, { visit })
      }
      return found
    })
  }

  /**
   * The members at ranks [start, end] (valid, inclusive; rank 0 is the lowest score, or the
   * highest with `reverse`), read from the nearer end of the score index.
   */
  byRank(start: number, end: number, size: number, reverse: boolean): Effectful<Array<Scored>> {
    // The same span in ascending ranks.
    const low = reverse ? size - 1 - end : start
    const high = reverse ? size - 1 - start : end
    const fromFront = high + 1 <= size - low
    const read = fromFront
      ? Effect.map(this.entries(SCORE_INDEX_START, SCORE_INDEX_END, { limit: high + 1 }), (found) => found.slice(low))
      : Effect.map(this.entries(SCORE_INDEX_START, SCORE_INDEX_END, { reverse: true, limit: size - low }), (found) => found.slice(size - 1 - high).reverse())
    return Effect.map(read, (ascending) => (reverse ? ascending.reverse() : ascending))
  }

  /**
   * The rank of a member (its score given), counting from the lowest score (or the highest with
   * `reverse`). Counts from the end the command favours for up to half the set, then from the other.
   */
  rankOf(member: Uint8Array, score: number, size: number, reverse: boolean): Effectful<number> {
    const position = scorePart(score, member)
    const countBelow = (limit?: number) =>
      Effect.map(this.entries(SCORE_INDEX_START, position, { reverse: true, ...(limit !== undefined ? { limit } : {}) }), (found) => found.length)
    const countAbove = (limit?: number) =>
      Effect.map(this.entries(Buffer.concat([position, ZERO_BYTE]), SCORE_INDEX_END, limit !== undefined ? { limit } : {}), (found) => found.length)
    const half = Math.ceil(size / 2)
    return Effect.gen(function* () {
      // The count toward the favoured end is the answer; past half the set, the other end is nearer.
      const favoured = reverse ? yield* countAbove(half) : yield* countBelow(half)
      if (favoured < half) return favoured
      const other = reverse ? yield* countBelow() : yield* countAbove()
      return size - 1 - other
    })
  }

  // ---------------------------------------------------------------- the member index

  /** ZSCAN: about `count` members from hash `cursor` on, never splitting the members of one hash. */
  scan(cursor: number, count: number): Effectful<ScanPage> {
    const page = hashPage(count, (part) => parseMemberPart(part).hash)
    return Effect.map(
      this.ks.members(this.version, { from: memberPartAtHash(cursor), to: MEMBER_INDEX_END, visit: page.visit }),
      (pairs) => {
        const next = page.nextCursor(pairs)
        return { entries: pairs.map(([part, value]) => ({ member: parseMemberPart(part).member, score: decodeScore(value) })), cursor: next }
      }
    )
  }

  /** A member near a random hash (one seek): `random` is a number in [0, 1). */
  randomMember(random: number): Effectful<Scored | undefined> {
    const first = (from: Uint8Array) =>
      Effect.map(this.ks.members(this.version, { from, to: MEMBER_INDEX_END, limit: 1 }), (pairs) =>
        pairs.length === 0 ? undefined : { member: parseMemberPart(pairs[0][0]).member, score: decodeScore(pairs[0][1]) }
      )
    return Effect.flatMap(first(memberPartAtHash(Math.floor(random * 2 ** 32))), (found) => (found !== undefined ? Effect.succeed(found) : first(MEMBER_INDEX_START)))
  }
}
