/**
 * How a node's run ends besides failing: it learns that it was removed from the cluster (it stops
 * cleanly, exit status 0), or the operator stops it (SIGTERM/SIGINT: a leader first hands
 * leadership over). One per node, so the RaftNode can say "removed" and the main fiber can wait
 * for it.
 */
import { Context, Deferred, Effect, Layer } from "effect"

export interface LifecycleService {
  /** Completed, with the reason, once this node knows it is no longer a member (see Membership.ts). */
  readonly removed: Deferred.Deferred<string>
}

export class Lifecycle extends Context.Tag("raft-kv/Lifecycle")<Lifecycle, LifecycleService>() {}

export const LifecycleLive = Layer.effect(Lifecycle, Effect.map(Deferred.make<string>(), (removed) => ({ removed })))
