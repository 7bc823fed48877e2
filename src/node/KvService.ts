/**
 * The boundary between client connections and the actors: a request becomes a typed message in
 * the RaftNode mailbox carrying a deadline and the callback that answers the client. Kept
 * synchronous and allocation-light because every client command passes through it.
 */
import { Context, Effect, Layer, Queue } from "effect"
import type { Payload } from "../commands/CommandCodec.js"
import type { ReadRequest } from "../commands/StateMachine.js"
import { KvEngine } from "../engine/KvEngine.js"
import { Incarnation } from "./Incarnation.js"
import { Mailboxes } from "./Mailboxes.js"
import type { ReplyTo } from "./messages.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"

export interface KvServiceApi {
  /** Propose a write; `replyTo` runs once it is applied on this node, or on timeout. */
  readonly submitWrite: (payload: Payload, replyTo: ReplyTo) => void
  /** Serve a linearizable read; `replyTo` runs once a quorum confirmed it, or on timeout. */
  readonly submitRead: (request: ReadRequest, replyTo: ReplyTo) => void
  /** Take a snapshot of the applied state now; `replyTo` (if any) learns when it is durable. */
  readonly requestSnapshot: (replyTo: ReplyTo | undefined) => void
  /** A WATCH session number unique to this node and incarnation. */
  readonly newWatchSession: () => number
  /** The "# Raft" section of INFO. */
  readonly raftInfo: () => string
}

export class KvService extends Context.Tag("raft-kv/KvService")<KvService, KvServiceApi>() {}

const INCARNATION_SPAN = 2 ** 32

export const KvServiceLive = Layer.effect(
  KvService,
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const { raft, applier } = yield* Mailboxes
    const status = yield* NodeStatus
    const engine = yield* KvEngine
    const incarnation = yield* Incarnation
    const clock = yield* Effect.clock
    const deadline = () => clock.unsafeCurrentTimeMillis() + config.requestTimeoutMs
    const peerAddress = (id: number) => {
      const peer = config.peers.find((p) => p.id === id)
      return peer === undefined ? "" : `${peer.host}:${peer.port}`
    }
    let watchSessions = 0

    return KvService.of({
      submitWrite: (payload, replyTo) => {
        Queue.unsafeOffer(raft, { _tag: "ClientWrite", request: { payload, replyTo, deadline: deadline() } })
      },
      submitRead: (request, replyTo) => {
        Queue.unsafeOffer(raft, { _tag: "ClientRead", request: { request, replyTo, deadline: deadline() } })
      },
      requestSnapshot: (replyTo) => {
        Queue.unsafeOffer(applier, { _tag: "TakeSnapshot", replyTo })
      },
      // The incarnation in the high bits lets the state machine drop the sessions of a node's
      // earlier lives (their clients are gone) when its first entry of a new life applies.
      newWatchSession: () => incarnation * INCARNATION_SPAN + ++watchSessions,
      raftInfo: () => {
        const raftStatus = status.raft
        return [
          "# Raft",
          `raft_node_id:${config.id}`,
          `raft_role:${raftStatus.role}`,
          `raft_term:${raftStatus.term}`,
          `raft_leader_id:${raftStatus.leader}`,
          `raft_leader_addr:${raftStatus.leader === 0 ? "" : peerAddress(raftStatus.leader)}`,
          `raft_cluster_size:${config.peers.length}`,
          `raft_commit_index:${raftStatus.commit}`,
          `raft_applied_index:${status.appliedIndex}`,
          `raft_last_log_index:${raftStatus.lastIndex}`,
          `raft_persisted_index:${raftStatus.persisted}`,
          `raft_snapshot_index:${raftStatus.snapshotIndex}`,
          `raft_log_first_index:${raftStatus.firstIndex}`,
          `raft_snapshot_entries:${config.snapshotEntries}`,
          `raft_engine:${engine.name}`,
          `raft_garbage_members:${status.garbageMembers()}`,
          `raft_request_timeout_ms:${config.requestTimeoutMs}`
        ].join("\r\n")
      }
    })
  })
)
