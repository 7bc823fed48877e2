/**
 * A read-only view of the node for INFO and tests. Each field group has exactly one writer
 * (RaftNode writes `raft` after every turn, the Applier writes `appliedIndex`), so readers never
 * see a torn update and no actor reaches into another's state.
 */
import { Context, Effect, Layer } from "effect"
import type { RaftStatus } from "../raft/api.js"
import { EMPTY_CONFIGURATION } from "../raft/Configuration.js"
import type { CommittedConfiguration } from "./Membership.js"

export interface NodeStatusService {
  raft: RaftStatus
  /** Highest index applied to the engine. */
  appliedIndex: number
  /** Keys and keys with an expiry per logical database (set by the Applier, which owns them). */
  keyspace: () => ReadonlyArray<{ readonly db: number; readonly keys: number; readonly expires: number }>
  /** Members of deleted collections the reaper has still to remove (set by the Applier). */
  garbageMembers: () => number
  /** Unix seconds of the last durable snapshot (LASTSAVE); the start time until one is taken. */
  lastSave: number
  /** Whether a snapshot is being written now (set by the Snapshotter; the idle GC waits for it). */
  snapshotting: boolean
  /** Where a node serves clients, as the nodes announced it through the log (set by the Applier). */
  clientAddressOf: (id: number) => string | undefined
  /** Clients waiting in a blocking command (INFO blocked_clients; set by the Applier, which owns them). */
  blockedClients: number
  /** Whether node `id` ever wrote to the log (set by the Applier): such an id is never given to a new node. */
  hasWritten: (id: number) => boolean
  /** The newest configuration this node knows to be committed (set by RaftNode). */
  committedConfiguration: CommittedConfiguration
  /** When this node last heard from each peer, epoch ms (kept by RaftNode). */
  lastHeard: ReadonlyMap<number, number>
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
        transferee: 0,
        lease: false
      },
      appliedIndex: 0,
      keyspace: () => [],
      garbageMembers: () => 0,
      clientAddressOf: () => undefined,
      blockedClients: 0,
      hasWritten: () => false,
      committedConfiguration: { index: 0, configuration: EMPTY_CONFIGURATION },
      lastHeard: new Map(),
      lastSave: Math.floor(Date.now() / 1000),
      snapshotting: false
    }))
  )
