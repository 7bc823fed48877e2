/**
 * The leader's reaper: removes what nobody can read any more, through the log, in bounded slices.
 *
 * - Keys whose time has come (the expiry index, in time order): Redis's active expiry. Until the
 *   reaper gets to them, reads already treat them as absent.
 * - Members of deleted, overwritten or expired collections, and the keys of flushed databases:
 *   DEL, FLUSHDB and FLUSHALL are O(1) and leave these behind.
 *
 * The reaper only reads the engine to choose what to propose; each entry re-checks its keys when it
 * applies, so every node removes exactly the same ones. One entry is in flight at a time, each of at
 * most a few hundred keys, so a backlog of a million is cleared at the pace the cluster commits
 * without ever holding a node for long. Followers run nothing: they apply the leader's entries.
 *
 * While there is nothing to remove, the leader looks less and less often (every tick after it
 * found work, doubling up to every IDLE_TICKS ticks): each look is three engine range reads, and
 * an idle leader looking every tick spent ~3 ms and allocated most of its ~5 MB/s there, which
 * kept V8 from ever counting the node as idle (and shrinking its heap). An expired key waits at
 * most IDLE_TICKS ticks longer to be removed; reads treat it as absent meanwhile.
 */
import { Chunk, Deferred, Effect, Stream } from "effect"
import type { ExpiringKey, Payload } from "../commands/CommandCodec.js"
import { expiryBound, Family, familyPrefix, parseExpiryKey, readU64 } from "../commands/keyspace/layout.js"
import { KvEngine } from "../engine/KvEngine.js"
import type { Reply } from "../resp/Reply.js"
import { KvService } from "./KvService.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"

/** Keys per expire entry. */
export const EXPIRE_BATCH = 256
/** Members or keys removed per collect entry. */
export const COLLECT_BATCH = 4096
/** At most this many ticks between two looks while there is nothing to remove. */
export const IDLE_TICKS = 8

export const runReaper = Effect.gen(function* () {
  const config = yield* NodeConfig
  const engine = yield* KvEngine
  const status = yield* NodeStatus
  const kv = yield* KvService
  const clock = yield* Effect.clock

  const first = <A>(stream: Stream.Stream<A, unknown>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

  /** Propose `payload` and wait until it applied (or failed); true when it applied. */
  const propose = (payload: Payload) =>
    Effect.gen(function* () {
      const done = yield* Deferred.make<Reply>()
      kv.submitWrite(payload, (reply) => Deferred.unsafeDone(done, Effect.succeed(reply)))
      return (yield* Deferred.await(done))._tag !== "Error"
    })

  /** One piece of work, if there is any; returns whether it proposed something. */
  const reapOnce = Effect.gen(function* () {
    const now = clock.unsafeCurrentTimeMillis()
    const due = yield* first(engine.iterate({ gte: familyPrefix(Family.Expiry), lt: expiryBound(now + 1), limit: EXPIRE_BATCH }))
    if (due.length > 0) {
      const keys: Array<ExpiringKey> = due.map(([key]) => {
        const parsed = parseExpiryKey(key)
        return { db: parsed.db, key: Buffer.from(parsed.key), expireAt: parsed.expireAt }
      })
      return yield* propose({ kind: "expire", keys })
    }
    const [garbage] = yield* first(engine.iterate({ prefix: familyPrefix(Family.Garbage), limit: 1 }))
    if (garbage !== undefined) return yield* propose({ kind: "collect", target: "version", id: readU64(garbage[0], 1), limit: COLLECT_BATCH })
    const [flushed] = yield* first(engine.iterate({ prefix: familyPrefix(Family.FlushedDb), limit: 1 }))
    if (flushed !== undefined) {
      const db = Buffer.from(flushed[0].buffer, flushed[0].byteOffset, flushed[0].length).readUInt32BE(1)
      return yield* propose({ kind: "collect", target: "db", id: db, limit: COLLECT_BATCH })
    }
    return false
  })

  /** Ticks until the next look: 1 after one that found work, doubling (up to IDLE_TICKS) while none does. */
  let ticks = 1
  for (;;) {
    yield* Effect.sleep(config.tickMs * ticks)
    let found = false
    // Work goes on back to back while there is a backlog (each entry waits for the previous one).
    while (status.raft.role === "leader" && (yield* reapOnce)) {
      found = true
      // Let the event loop (and clients) run between entries.
      yield* Effect.yieldNow()
    }
    ticks = found ? 1 : Math.min(ticks * 2, IDLE_TICKS)
  }
})
