/** ZRANDMEMBER: random members of a sorted set, with or without repetition. */
import { Effect } from "effect"
import { bulk, NIL, EMPTY_ARRAY } from "../../resp/Reply.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import type { Execute } from "../registry.js"
import { isReply, parseRandomMember } from "./arguments.js"
import { SortedSet, type Scored } from "./SortedSet.js"
import { readZset, withScoresReply, type Effectful } from "./zsetKey.js"

/** `count` distinct members, by repeated random seeks (for counts well below the set's size). */
const distinctRandom = (ks: Keyspace, zset: SortedSet, count: number): Effectful<Array<Scored> | undefined> =>
  Effect.gen(function* () {
    const chosen = new Map<string, Scored>()
    // Seeks land near random hashes; give up on this way after a bounded number of tries.
    for (let attempt = 0; attempt < 4 * count + 64 && chosen.size < count; attempt++) {
      const found = yield* zset.randomMember(ks.random())
      if (found !== undefined) chosen.set(found.member.toString("latin1"), found)
    }
    return chosen.size === count ? [...chosen.values()] : undefined
  })

/** `count` members of `all` without repetition, in random order (a partial Fisher-Yates shuffle). */
const sample = (all: Array<Scored>, count: number, random: () => number): Array<Scored> => {
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (all.length - i))
    ;[all[i], all[j]] = [all[j], all[i]]
  }
  return all.slice(0, count)
}

export const zrandmember: Execute = ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const request = parseRandomMember(argv)
    if (isReply(request)) return request
    const meta = yield* readZset(ks, db, argv[1])
    if (isReply(meta)) return meta
    if (request.count === undefined) {
      if (meta === undefined) return NIL
      const found = yield* new SortedSet(ks, meta.version).randomMember(ks.random())
      return found === undefined ? NIL : bulk(found.member)
    }
    if (meta === undefined || request.count === 0) return EMPTY_ARRAY
    const zset = new SortedSet(ks, meta.version)
    const count = Math.abs(request.count)
    let chosen: Array<Scored>
    if (request.count < 0) {
      // Repetition allowed: pick from the whole set when it is no larger than the reply, else seek.
      chosen = []
      if (meta.size <= count) {
        const all = yield* zset.all()
        for (let i = 0; i < count; i++) chosen.push(all[Math.floor(ks.random() * all.length)])
      } else {
        for (let i = 0; i < count; i++) {
          const found = yield* zset.randomMember(ks.random())
          if (found !== undefined) chosen.push(found)
        }
      }
    } else if (count >= meta.size) chosen = yield* zset.all()
    else {
      const sought = count * 3 <= meta.size ? yield* distinctRandom(ks, zset, count) : undefined
      chosen = sought ?? sample(yield* zset.all(), count, ks.random)
    }
    return withScoresReply(chosen, request.withScores)
  })
