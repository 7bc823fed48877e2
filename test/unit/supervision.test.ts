/**
 * The node's supervision tree (src/node/Supervision.ts): what each policy does with a failure, a
 * defect and an ending, and that stopping interrupts every part.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, Ref, TestClock } from "effect"
import { Supervision, SupervisionLive } from "../../src/node/Supervision.js"

/** Run `body` with a fresh tree, collecting every log line as "LEVEL message". */
const withTree = <A, E>(body: (logs: Array<string>) => Effect.Effect<A, E, Supervision>) => {
  const logs: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    logs.push(`${logLevel.label} ${Array.isArray(message) ? String(message[0]) : String(message)}`)
  })
  return body(logs).pipe(Effect.provide(SupervisionLive), Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Effect.scoped)
}

describe("supervision tree", () => {
  it.effect("an essential part's failure fails join and the others are interrupted by stopAll", () =>
    withTree(() =>
      Effect.gen(function* () {
        const supervision = yield* Supervision
        const stopped = yield* Ref.make(0)
        const forever = Effect.never.pipe(Effect.onInterrupt(() => Ref.update(stopped, (n) => n + 1)))
        yield* supervision.essential("RaftNode", forever)
        yield* supervision.restarting("peer link to node 2", forever)
        yield* supervision.transient("peer connection", forever)
        yield* supervision.essential("WAL writer", Effect.fail(new Error("fsync failed")))
        const exit = yield* Effect.exit(supervision.join.pipe(Effect.ensuring(supervision.stopAll)))
        expect(Exit.isFailure(exit) && String(Exit.causeOption(exit).pipe((c) => c._tag === "Some" && c.value))).toMatch(/fsync failed/)
        expect(yield* Ref.get(stopped)).toBe(3)
      })
    )
  )

  it.effect("an essential part's defect or ending stops the node with a message that names it", () =>
    Effect.gen(function* () {
      const defect = yield* withTree((logs) =>
        Effect.gen(function* () {
          const supervision = yield* Supervision
          yield* supervision.essential("Applier", Effect.sync(() => {
            throw new Error("injected")
          }))
          const error = yield* Effect.flip(Effect.catchAllDefect(supervision.join, (d) => Effect.fail(d)))
          expect(logs).toContain("ERROR the Applier crashed")
          return error
        })
      )
      expect((defect as Error).message).toBe("defect in the Applier: injected")

      const ended = yield* withTree(() =>
        Effect.gen(function* () {
          const supervision = yield* Supervision
          yield* supervision.essential("ticker", Effect.void)
          return yield* Effect.flip(Effect.catchAllDefect(supervision.join, (d) => Effect.fail(d)))
        })
      )
      expect(String(ended)).toMatch(/the ticker ended unexpectedly/)
    })
  )

  it.effect("a restarting part is restarted after a defect, with a warning, and the node runs on", () =>
    withTree((logs) =>
      Effect.gen(function* () {
        const supervision = yield* Supervision
        const runs = yield* Ref.make(0)
        yield* supervision.restarting(
          "peer link to node 3",
          Effect.flatMap(Ref.updateAndGet(runs, (n) => n + 1), (n) =>
            n === 1 ? Effect.dieMessage("injected peer link defect") : Effect.never
          )
        )
        const join = yield* Effect.fork(supervision.join)
        yield* Effect.yieldNow()
        expect(yield* Ref.get(runs)).toBe(1)
        expect(logs).toContain("WARN the peer link to node 3 failed: injected peer link defect; restarting it in 1s")
        yield* TestClock.adjust("1 second")
        expect(yield* Ref.get(runs)).toBe(2)
        expect(join.unsafePoll()).toBeNull()
        yield* supervision.stopAll
        yield* TestClock.adjust("10 seconds")
        expect(yield* Ref.get(runs)).toBe(2)
        yield* Fiber.interrupt(join)
      })
    )
  )

  it.effect("a transient part's defect is logged and ends only that part", () =>
    withTree((logs) =>
      Effect.gen(function* () {
        const supervision = yield* Supervision
        const alive = yield* Ref.make(true)
        yield* supervision.essential("RaftNode", Effect.never.pipe(Effect.onInterrupt(() => Ref.set(alive, false))))
        yield* supervision.transient("peer connection from 127.0.0.1:5000", Effect.dieMessage("bad bytes"))
        const join = yield* Effect.fork(supervision.join)
        yield* Effect.yieldNow()
        expect(logs).toContain("WARN the peer connection from 127.0.0.1:5000 failed and was closed: bad bytes")
        expect(yield* Ref.get(alive)).toBe(true)
        expect(join.unsafePoll()).toBeNull()
        yield* Fiber.interrupt(join)
      })
    )
  )
})
