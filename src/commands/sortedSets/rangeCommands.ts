/**
 * The sorted-set commands that take a range of members, by rank, score or lex: the ZRANGE family
 * (ZRANGESTORE included) and ZREMRANGEBYRANK/SCORE/LEX. They read what they return, plus the
 * O(rank) walk that a position costs on an ordered store (docs/architecture.md).
 */
import { Effect } from "effect"
import { integer, ZERO } from "../../resp/Reply.js"
import type { Argv, Execute } from "../registry.js"
import { isReply, parseRange, type RangeArguments, type RangeCommand } from "./arguments.js"
import { parseLexRange, parseScoreRange, rankRange } from "./ranges.js"
import { SortedSet, type Scored } from "./SortedSet.js"
import { commit, readZset, store, withScoresReply, type Effectful } from "./zsetKey.js"

/** The members a ZRANGE-family request selects, in reply order. */
const selectRange = (zset: SortedSet, size: number, request: RangeArguments): Effectful<Array<Scored>> => {
  switch (request.kind) {
    case "rank": {
      const span = rankRange(request.start, request.end, size)
      return span === undefined ? Effect.succeed([]) : zset.byRank(span.start, span.end, size, request.reverse)
    }
    case "score":
      return zset.byScore(request.range, request.reverse, request.window)
    case "lex":
      return zset.byLex(request.range, request.reverse, request.window)
  }
}

export const zrange = (command: RangeCommand): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const request = parseRange(argv, command)
    if (isReply(request)) return request
    const meta = yield* readZset(ks, db, argv[command.keyIndex])
    if (isReply(meta)) return meta
    const selected = meta === undefined ? [] : yield* selectRange(new SortedSet(ks, meta.version), meta.size, request)
    if (command.store) return yield* store(ks, db, argv[1], selected)
    return withScoresReply(selected, request.withScores)
  })

/** ZREMRANGEBY…: the arguments were validated (the command's `validate` runs first). */
const zremrange = (select: (argv: Argv, zset: SortedSet, size: number) => Effectful<Array<Scored>>): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const meta = yield* readZset(ks, db, argv[1])
    if (meta === undefined || isReply(meta)) return meta ?? ZERO
    const zset = new SortedSet(ks, meta.version)
    const removed = yield* select(argv, zset, meta.size)
    for (const { member, score } of removed) zset.delete(member, score)
    if (removed.length > 0) commit(ks, db, argv[1], meta, meta, meta.size - removed.length)
    return integer(removed.length)
  })

export const zremrangebyrank = zremrange((argv, zset, size) => {
  const request = parseRange(argv, { keyIndex: 1, store: false, kind: "rank" })
  if (isReply(request) || request.kind !== "rank") return Effect.succeed([])
  const span = rankRange(request.start, request.end, size)
  return span === undefined ? Effect.succeed([]) : zset.byRank(span.start, span.end, size, false)
})

export const zremrangebyscore = zremrange((argv, zset) => zset.byScore(parseScoreRange(argv[2], argv[3])!, false))
export const zremrangebylex = zremrange((argv, zset) => zset.byLex(parseLexRange(argv[2], argv[3])!, false))

