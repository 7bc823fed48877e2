/**
 * The typed messages the node's actors exchange. Each actor owns its state and is fed by one
 * queue; these unions are the whole vocabulary between them.
 */
import type { Scope } from "effect"
import type { Payload } from "../commands/CommandCodec.js"
import type { ReadRequest } from "../commands/StateMachine.js"
import type { ReadMode } from "../cli/readFlags.js"
import type { EngineSnapshot } from "../engine/KvEngine.js"
import type { Reply } from "../resp/Reply.js"
import type { SnapshotPoint } from "../raft/api.js"
import type { Configuration } from "../raft/Configuration.js"
import type { Entry, HardState, Message, NodeId } from "../raft/types.js"
import type { Waiter } from "./BlockedClients.js"
import type { AdminRequest } from "./Admin.js"
import type { CommittedConfiguration } from "./Membership.js"
import type { AdminMessage, SnapshotTransferMessage } from "./PeerMessage.js"
import type { SnapshotMeta } from "./SnapshotFile.js"

/** Where a client's reply goes once its request finishes (or fails). Called exactly once. */
export type ReplyTo = (reply: Reply) => void

/** A client write waiting for consensus, owned by one actor at a time. */
export interface PendingWrite {
  readonly payload: Payload
  readonly replyTo: ReplyTo
  /**
   * Epoch milliseconds (Effect Clock) after which the client gets a no-quorum error. Infinity: none
   * (the pop of a client blocked with no timeout), proposed again until it commits.
   */
  readonly deadline: number
  /** An attempt of a blocking command: its outcome goes to the node's blocked clients, not to `replyTo`. */
  readonly block?: Waiter
}

/** A client read waiting for its ReadIndex round (or lease), then for the applier. */
export interface PendingRead {
  readonly request: ReadRequest
  readonly replyTo: ReplyTo
  readonly deadline: number
  readonly mode: ReadMode
}

/** Inputs of the RaftNode actor. */
export type RaftInput =
  | { readonly _tag: "Tick" }
  /** Raft messages and forwarded administration, from one peer connection's read. */
  | { readonly _tag: "PeerMessages"; readonly messages: ReadonlyArray<Message | AdminMessage> }
  /** An operator's request (RAFT.NODE, RAFT.TRANSFER_LEADER, RAFT.NODES) or a stopping leader's transfer. */
  | { readonly _tag: "Admin"; readonly request: AdminRequest }
  /** Member `from` reports the configuration it knows to be committed (asked by the MembershipWatch). */
  | { readonly _tag: "ConfigurationObserved"; readonly from: NodeId; readonly committed: CommittedConfiguration }
  | { readonly _tag: "ClientWrite"; readonly request: PendingWrite }
  | { readonly _tag: "ClientRead"; readonly request: PendingRead }
  /** The WAL has fsynced everything up to `index` (whose term is `term`). */
  | { readonly _tag: "WalSynced"; readonly index: number; readonly term: number }
  /** A snapshot of this node's state up to `index` is durable: compact the log behind it. */
  | { readonly _tag: "SnapshotTaken"; readonly index: number; readonly term: number }
  /**
   * A snapshot streamed by `from` is durable in the snapshot store: the core decides whether to
   * install it. `configuration`: the one its metadata carries (absent in files written before).
   */
  | {
      readonly _tag: "SnapshotReceived"
      readonly index: number
      readonly term: number
      readonly from: NodeId
      readonly configuration: Configuration | undefined
    }
  /** A restored snapshot settled this node's writes up to sequence number `upTo`: stop re-proposing them. */
  | { readonly _tag: "OwnWritesSettled"; readonly upTo: number }
  /** Streaming a snapshot to `to` finished (`ok`) or was given up. */
  | { readonly _tag: "SnapshotSent"; readonly to: NodeId; readonly ok: boolean }

/** Inputs of the WalWriter actor: what one RaftNode turn must persist. */
export interface WalBatch {
  readonly hardState: HardState | undefined
  /** A received snapshot replaced the log up to here (written before `entries`). */
  readonly logReset: SnapshotPoint | undefined
  readonly entries: ReadonlyArray<Entry>
  readonly sync: boolean
  /** Messages to send once this batch and every earlier one are durable. */
  readonly messagesAfterPersist: ReadonlyArray<Message>
}

/** Inputs of the Applier actor. */
export type ApplierInput =
  /** A write was proposed with this sequence number: reply to it when its entry applies. */
  | { readonly _tag: "ExpectWrite"; readonly seq: number; readonly request: PendingWrite }
  | { readonly _tag: "Committed"; readonly entries: ReadonlyArray<Entry> }
  /** A linearizable read may be served once `index` is applied. */
  | { readonly _tag: "ReadReady"; readonly index: number; readonly request: PendingRead }
  /** Time passed: give up on expected writes past their deadline. */
  | { readonly _tag: "Sweep"; readonly now: number }
  /** Replace the engine's state with a received snapshot (before any later entry applies). */
  | { readonly _tag: "Restore"; readonly index: number }
  /** Take a snapshot now (SAVE/BGSAVE); `replyTo` learns when it is durable. */
  | { readonly _tag: "TakeSnapshot"; readonly replyTo: ReplyTo | undefined }
  /** The Snapshotter finished (or failed) writing the snapshot the applier started. */
  | { readonly _tag: "SnapshotPersisted"; readonly index: number | undefined }
  /** A blocked client's connection closed. */
  | { readonly _tag: "Unblock"; readonly id: number }
  /** A blocked client's connection is closing gracefully: answer it now, or with the attempt in flight. */
  | { readonly _tag: "Release"; readonly id: number }
  /** A blocked client's deadline may have come. */
  | { readonly _tag: "BlockDeadline"; readonly at: number }

/** Inputs of the Snapshotter actor. */
export type SnapshotterInput =
  /** Write this engine view durably; close `scope` (releasing the view) when done. */
  | {
      readonly _tag: "Persist"
      readonly meta: SnapshotMeta
      readonly snapshot: EngineSnapshot
      readonly scope: Scope.CloseableScope
      readonly waiters: ReadonlyArray<ReplyTo>
    }
  /** Stream the snapshot at `index` to a follower behind the compacted log. */
  | { readonly _tag: "Send"; readonly to: NodeId; readonly index: number; readonly term: number }
  /** A chunk or acknowledgement of a snapshot transfer, from a peer. */
  | { readonly _tag: "Transfer"; readonly message: SnapshotTransferMessage }
