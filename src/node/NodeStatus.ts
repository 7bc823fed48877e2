/**
 * A read-only view of the node for INFO and tests. Each field group has exactly one writer
 * (RaftNode writes `raft` after every turn, the Applier writes `appliedIndex`), so readers never
 * see a torn update and no actor reaches into another's state.
 */
import { Context, Effect, Layer } from "effect"
import type { RaftStatus } from "../raft/api.js"
import { EMPTY_CONFIGURATION } from "../raft/Configuration.js"

export interface NodeStatusService {
  raft: RaftStatus
  /** Highest index applied to the engine. */
  appliedIndex: number
}

export class NodeStatus extends Context.Tag("raft-kv/NodeStatus")<NodeStatus, NodeStatusService>() {}

export const NodeStatusLive = (id: number) =>
  Layer.effect(
    NodeStatus,
    Effect.sync(() => ({
      raft: {
        id,
        role: "follower",
        term: 0,
        vote: 0,
        leader: 0,
        commit: 0,
        applied: 0,
        lastIndex: 0,
        lastTerm: 0,
        persisted: 0,
        snapshotIndex: 0,
        firstIndex: 1,
        configuration: EMPTY_CONFIGURATION,
        configurationIndex: 0,
        transferee: 0
      },
      appliedIndex: 0
    }))
  )
