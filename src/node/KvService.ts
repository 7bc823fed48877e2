/**
 * The boundary between client connections and the actors: a request becomes a typed message in
 * the RaftNode mailbox carrying a deadline and the callback that answers the client. Kept
 * synchronous and allocation-light because every client command passes through it.
 */
import { Context, Effect, Layer, Queue } from "effect"
import type { ReadMode } from "../cli/readFlags.js"
import type { BlockingCall } from "../commands/blocking.js"
import type { Payload } from "../commands/CommandCodec.js"
import type { ReadRequest } from "../commands/StateMachine.js"
import { KvEngine } from "../engine/KvEngine.js"
import { Incarnation } from "./Incarnation.js"
import { Mailboxes } from "./Mailboxes.js"
import type { AdminCommand, AdminOutcome } from "./Admin.js"
import type { ReplyTo } from "./messages.js"
import type { Reply } from "../resp/Reply.js"
import type { Waiter } from "./BlockedClients.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"
import { learnerIds, memberOf, voterIds } from "../raft/Configuration.js"

/** A blocking command in flight: how its connection ends it. */
export interface BlockingHandle {
  /** The connection is gone: no reply is wanted (an attempt in flight is answered to no one). */
  readonly cancel: () => void
  /**
   * The connection is closing gracefully (CLIENT KILL, a node's clean stop): reply now, or once the
   * attempt in flight is decided (a timeout-0 client's pop has no deadline: it waits for a quorum).
   */
  readonly release: () => void
  /**
   * CLIENT UNBLOCK: the wait ends as `release` ends it, the client answered `reply` (default: the
   * timeout's null) unless the attempt in flight pops (the element is delivered, never lost).
   */
  readonly unblock: (reply?: Reply) => void
}

export interface KvServiceApi {
  /** Propose a write; `replyTo` runs once it is applied on this node, or on timeout. */
  readonly submitWrite: (payload: Payload, replyTo: ReplyTo) => void
  /**
   * Serve a read; `replyTo` runs once it is safe in `mode` (default: the node's --read-mode):
   * confirmed by a quorum (linearizable), by the leader's lease (lease), or at once (stale).
   */
  readonly submitRead: (request: ReadRequest, replyTo: ReplyTo, mode?: ReadMode) => void
  /**
   * Run a blocking command (BLPOP, ...): `replyTo` runs once it pops, fails, or its own timeout
   * passes while it waits (not the request timeout, which bounds only its attempts in the log).
   * Returns the cancellation for a client that goes away.
   */
  readonly submitBlocking: (call: BlockingCall, replyTo: ReplyTo) => BlockingHandle
  /** Take a snapshot of the applied state now; `replyTo` (if any) learns when it is durable. */
  readonly requestSnapshot: (replyTo: ReplyTo | undefined) => void
  /** Cluster administration (RAFT.NODE, RAFT.TRANSFER_LEADER, RAFT.NODES); `reply` runs once the outcome is known, or on timeout. */
  readonly submitAdmin: (command: AdminCommand, reply: (outcome: AdminOutcome) => void) => void
  /**
   * Blocking commands of this node's clients not answered yet, counted from the moment they are
   * submitted (a first attempt still on its way through the log counts: the Applier's own count
   * of registered clients lags it); absent: none ever.
   */
  readonly blockedClients?: () => number
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
    const peerAddress = (id: number) => memberOf(status.raft.configuration, id)?.address ?? ""
    let watchSessions = 0
    let blockingCalls = 0
    let unanswered = 0

    return KvService.of({
      blockedClients: () => unanswered,
      submitWrite: (payload, replyTo) => {
        Queue.unsafeOffer(raft, { _tag: "ClientWrite", request: { payload, replyTo, deadline: deadline() } })
      },
      submitRead: (request, replyTo, mode = config.readMode) => {
        Queue.unsafeOffer(raft, { _tag: "ClientRead", request: { request, replyTo, deadline: deadline(), mode } })
      },
      submitBlocking: (call, answer) => {
        const id = ++blockingCalls
        let open = true
        const finished = (): void => {
          if (open) {
            open = false
            unanswered--
          }
        }
        unanswered++
        const replyTo: ReplyTo = (reply) => {
          finished()
          answer(reply)
        }
        const cancelled = new AbortController()
        const now = clock.unsafeCurrentTimeMillis()
        const waiter: Waiter = { id, call, deadline: call.timeoutMs === 0 ? Number.POSITIVE_INFINITY : now + call.timeoutMs, replyTo, signal: cancelled.signal }
        // The first attempt is an ordinary write; the Applier keeps the client if it must wait.
        const payload = { kind: "command", db: call.db, argv: call.argv } as const
        Queue.unsafeOffer(raft, { _tag: "ClientWrite", request: { payload, replyTo, deadline: now + config.requestTimeoutMs, block: waiter } })
        return {
          cancel: () => {
            finished()
            cancelled.abort()
            Queue.unsafeOffer(applier, { _tag: "Unblock", id })
          },
          release: () => {
            waiter.deadline = Math.min(waiter.deadline, clock.unsafeCurrentTimeMillis())
            Queue.unsafeOffer(applier, { _tag: "Release", id })
          },
          unblock: (reply) => {
            if (reply !== undefined) waiter.endReply = reply
            waiter.deadline = Math.min(waiter.deadline, clock.unsafeCurrentTimeMillis())
            Queue.unsafeOffer(applier, { _tag: "Release", id })
          }
        }
      },
      requestSnapshot: (replyTo) => {
        Queue.unsafeOffer(applier, { _tag: "TakeSnapshot", replyTo })
      },
      submitAdmin: (command, reply) => {
        Queue.unsafeOffer(raft, { _tag: "Admin", request: { command, reply, deadline: deadline() } })
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
          `raft_cluster_size:${raftStatus.configuration.members.length}`,
          `raft_voters:${voterIds(raftStatus.configuration).join(",")}`,
          `raft_learners:${learnerIds(raftStatus.configuration).join(",")}`,
          `raft_configuration_index:${raftStatus.configurationIndex}`,
          `raft_commit_index:${raftStatus.commit}`,
          `raft_applied_index:${status.appliedIndex}`,
          `raft_last_log_index:${raftStatus.lastIndex}`,
          `raft_persisted_index:${raftStatus.persisted}`,
          `raft_snapshot_index:${raftStatus.snapshotIndex}`,
          `raft_log_first_index:${raftStatus.firstIndex}`,
          `raft_snapshot_entries:${config.snapshotEntries}`,
          `raft_read_mode:${config.readMode}`,
          `raft_lease:${raftStatus.lease ? 1 : 0}`,
          `raft_lease_ticks:${config.electionTicks - config.leaseMarginTicks}`,
          `raft_engine:${engine.name}`,
          `raft_garbage_members:${status.garbageMembers()}`,
          `raft_request_timeout_ms:${config.requestTimeoutMs}`
        ].join("\r\n")
      }
    })
  })
)
