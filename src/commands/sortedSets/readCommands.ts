/**
 * The sorted-set reads of single members and counts (ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK,
 * ZCOUNT, ZLEXCOUNT) and ZSCAN.
 */
import { Effect } from "effect"
import { formatDouble } from "../../resp/formatDouble.js"
import { array, bulk, double, integer, NIL, text, ZERO, type Reply } from "../../resp/Reply.js"
import { INVALID_CURSOR } from "../errors.js"
import { globMatch } from "../glob.js"
import { parseCursor, parseScanOptions } from "../keys.js"
import type { Execute } from "../registry.js"
import { isReply } from "./arguments.js"
import { parseLexRange, parseScoreRange, NOT_A_FLOAT_RANGE, NOT_A_LEX_RANGE } from "./ranges.js"
import { SortedSet } from "./SortedSet.js"
import { readZset } from "./zsetKey.js"

export const zscore: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? NIL
    const score = yield* new SortedSet(ks, meta.version).score(argv[2])
    return score === undefined ? NIL : double(score)
  })

export const zmscore: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (isReply(meta)) return meta
    const zset = meta === undefined ? undefined : new SortedSet(ks, meta.version)
    if (zset !== undefined) yield* zset.prefetch(argv.slice(2))
    const scores: Array<Reply> = []
    for (let i = 2; i < argv.length; i++) {
      const score = zset === undefined ? undefined : yield* zset.score(argv[i])
      scores.push(score === undefined ? NIL : double(score))
    }
    return array(scores)
  })

export const zcard: Execute = ({ ks, db, argv }) =>
  Effect.map(readZset(ks, db, argv[1]), (meta) => (meta === undefined ? ZERO : isReply(meta) ? meta : integer(meta.size)))

export const zrank = (reverse: boolean): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? NIL
    const zset = new SortedSet(ks, meta.version)
    const score = yield* zset.score(argv[2])
    if (score === undefined) return NIL
    return integer(yield* zset.rankOf(argv[2], score, meta.size, reverse))
  })

export const zcount: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const range = parseScoreRange(argv[2], argv[3])
    if (range === undefined) return NOT_A_FLOAT_RANGE
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    return integer(yield* new SortedSet(ks, meta.version).countByScore(range))
  })

export const zlexcount: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const range = parseLexRange(argv[2], argv[3])
    if (range === undefined) return NOT_A_LEX_RANGE
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    return integer((yield* new SortedSet(ks, meta.version).byLex(range, false)).length)
  })

/**
 * A score as ZSCAN shows it (a bulk string on both protocols): redis-server 7.0 reads a small
 * set's scores back from its listpack, where integral ones (up to 2^62) are kept as integers.
 */
const scanScore = (score: number): string => (Number.isInteger(score) && Math.abs(score) <= 2 ** 62 ? BigInt(score).toString() : formatDouble(score))

/** redis-server keeps a sorted set of up to 128 members in a listpack (zset-max-listpack-entries). */
const SMALL_ZSET = 128

export const zscan: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const cursor = parseCursor(argv[2])
    if (cursor === undefined) return INVALID_CURSOR
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined) return array([text("0"), array([])])
    if (isReply(meta)) return meta
    const options = parseScanOptions(argv, 3, false)
    if (isReply(options)) return options
    const zset = new SortedSet(ks, meta.version)
    // A small set comes back whole, in score order, with cursor 0, as redis-server returns a
    // listpack-encoded one whatever the cursor and COUNT say. Larger ones page by member hash.
    const page =
      meta.size <= SMALL_ZSET
        ? { entries: yield* zset.all(), cursor: 0 }
        : cursor >= 2n ** 32n // cursors are member hashes (32 bits): one beyond them is past the end
          ? { entries: [], cursor: 0 }
          : yield* zset.scan(Number(cursor), options.count)
    const found: Array<Reply> = []
    for (const { member, score } of page.entries) {
      if (options.pattern !== undefined && !globMatch(options.pattern, member)) continue
      found.push(bulk(member), text(scanScore(score)))
    }
    return array([text(String(page.cursor)), array(found)])
  })

