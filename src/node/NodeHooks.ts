/**
 * Seams that production leaves at their defaults and the deterministic simulation replaces
 * (Context.Reference: no Layer is needed to run a node). See also `IoYield` (src/runtime).
 *
 * - `RaftObserver`: sees the core after every turn, so the simulation can check invariants
 *   (one leader per term, log matching, ...) on the real node's state without reaching into it.
 * - `InjectedRaftBugs`: deliberately broken consensus rules, only for the tests that show the
 *   simulation catches such bugs. Empty in production.
 */
import { Context } from "effect"
import type { RaftConfig, RaftCore, Ready } from "../raft/api.js"
import type { NodeId } from "../raft/types.js"

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
