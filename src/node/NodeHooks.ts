/**
 * Seams that production leaves at their defaults and the deterministic simulation replaces
 * (Context.Reference: no Layer is needed to run a node).
 *
 * - `TurnStart`: what the RaftNode waits on before draining its mailbox. In production, the
 *   event loop's pending socket reads (setImmediate), so concurrent clients share a turn; in the
 *   simulation, a yield to Effect's scheduler, which the simulation controls.
 * - `RaftObserver`: sees the core after every turn, so the simulation can check invariants
 *   (one leader per term, log matching, ...) on the real node's state without reaching into it.
 * - `InjectedRaftBugs`: deliberately broken consensus rules, only for the tests that show the
 *   simulation catches such bugs. Empty in production.
 */
import { Context, Effect } from "effect"
import type { RaftConfig, RaftCore, Ready } from "../raft/api.js"
import type { NodeId } from "../raft/types.js"

/**
 * Resume after the event loop's pending I/O callbacks (setImmediate runs after the poll phase).
 * Effect resumes fibers on microtasks, which would otherwise run a turn per socket read.
 */
export const yieldToIo: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

export class TurnStart extends Context.Reference<TurnStart>()("raft-kv/TurnStart", {
  defaultValue: (): Effect.Effect<void> => yieldToIo
}) {}

export interface RaftObserverService {
  /** Called after each RaftNode turn with the core (read-only use) and the Ready it produced. */
  readonly afterTurn: (id: NodeId, core: RaftCore, ready: Ready) => void
}

export class RaftObserver extends Context.Reference<RaftObserver>()("raft-kv/RaftObserver", {
  defaultValue: (): RaftObserverService => ({ afterTurn: () => {} })
}) {}

export class InjectedRaftBugs extends Context.Reference<InjectedRaftBugs>()("raft-kv/InjectedRaftBugs", {
  defaultValue: (): NonNullable<RaftConfig["injectedBugs"]> => ({})
}) {}
