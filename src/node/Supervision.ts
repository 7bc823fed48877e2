/**
 * The node's supervision tree: every long-lived fiber of a node runs in one FiberSet, so nothing
 * long-lived runs where no one waits on it. A part is started with the policy that fits it:
 *
 * - `essential` (the actors, the ticker): the node cannot run without it. Its failure, a defect,
 *   or even its ending fails the set, and `join` (awaited by the node's main fiber) fails with
 *   it: the node stops as a whole (fail-stop).
 * - `restarting` (a peer link, a listener's accept loop): a failure is logged as a warning and
 *   the part starts again after a pause; the node runs on.
 * - `transient` (one connection): a failure is logged and ends only that part.
 *
 * The FiberSet lives in the Layer's scope, so parts can be started while other Layers are built
 * (the transport starts its links then). `stopAll` interrupts every part; the node's main fiber
 * calls it before the Layers' resources (WAL, listeners) are released, so no part outlives them.
 */
import { Cause, Context, Duration, Effect, type Fiber, FiberSet, Layer } from "effect"
import { describeCause } from "./describeCause.js"

/** How long a restarting part pauses before it runs again (no busy loop on a persistent bug). */
export const RESTART_DELAY = Duration.seconds(1)

export interface SupervisionService {
  /** Start a part the node cannot run without: its failure or end stops the node. */
  readonly essential: <A, E, R>(name: string, part: Effect.Effect<A, E, R>) => Effect.Effect<void, never, R>
  /**
   * Start a part that is restarted (after RESTART_DELAY, with a warning) whenever it fails or ends.
   * Returns its fiber, so a part that is no longer needed (a peer that left) can be interrupted.
   */
  readonly restarting: <A, E, R>(name: string, part: Effect.Effect<A, E, R>) => Effect.Effect<Fiber.RuntimeFiber<unknown, unknown>, never, R>
  /** Start a part whose failure is logged and ends only itself (e.g. one connection). */
  readonly transient: <A, E, R>(name: string, part: Effect.Effect<A, E, R>) => Effect.Effect<void, never, R>
  /** Wait for the first failure of an essential part and fail with it. */
  readonly join: Effect.Effect<never, unknown>
  /** Interrupt every part and wait until all have stopped. */
  readonly stopAll: Effect.Effect<void>
}

export class Supervision extends Context.Tag("raft-kv/Supervision")<Supervision, SupervisionService>() {}

/** An unexpected exception in a part, named so the operator knows which part had it. */
export class PartDefect extends Error {
  override readonly name = "PartDefect"
  constructor(
    readonly part: string,
    readonly defect: unknown
  ) {
    super(`defect in the ${part}: ${describeCause(Cause.die(defect))}`)
  }
}

export const SupervisionLive = Layer.scoped(
  Supervision,
  Effect.gen(function* () {
    const set = yield* FiberSet.make<unknown, unknown>()

    const essential = <A, E, R>(name: string, part: Effect.Effect<A, E, R>) =>
      FiberSet.run(
        set,
        part.pipe(
          Effect.catchAllDefect((defect) =>
            Effect.zipRight(Effect.logError(`the ${name} crashed`, Cause.die(defect)), Effect.die(new PartDefect(name, defect)))
          ),
          Effect.zipRight(Effect.dieMessage(`the ${name} ended unexpectedly`))
        )
      ).pipe(Effect.asVoid)

    const restarting = <A, E, R>(name: string, part: Effect.Effect<A, E, R>) => {
      const once = part.pipe(
        Effect.matchCauseEffect({
          onSuccess: () => Effect.logWarning(`the ${name} ended; restarting it in ${Duration.format(RESTART_DELAY)}`),
          onFailure: (cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause)
              : Effect.logWarning(`the ${name} failed: ${describeCause(cause)}; restarting it in ${Duration.format(RESTART_DELAY)}`, cause)
        }),
        Effect.zipRight(Effect.sleep(RESTART_DELAY))
      )
      return FiberSet.run(set, Effect.forever(once))
    }

    const transient = <A, E, R>(name: string, part: Effect.Effect<A, E, R>) =>
      FiberSet.run(
        set,
        part.pipe(
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logWarning(`the ${name} failed and was closed: ${describeCause(cause)}`, cause)
          )
        )
      ).pipe(Effect.asVoid)

    return Supervision.of({
      essential,
      restarting,
      transient,
      join: Effect.zipRight(FiberSet.join(set), Effect.never),
      stopAll: FiberSet.clear(set)
    })
  })
)
