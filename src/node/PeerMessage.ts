/**
 * Everything nodes send each other: the Raft core's messages, plus what the node runs beside the
 * core: the snapshot transfer (a leader streaming a snapshot file to a follower that fell behind
 * the compacted log, one acknowledged chunk at a time) and cluster administration (a follower
 * forwarding an operator's request to the leader, and the leader's answer).
 */
import type { Message, NodeId } from "../raft/types.js"
import type { AdminCommand, AdminOutcome } from "./Admin.js"

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  /** The sender's term (informational: a snapshot is committed state whoever sends it). */
  readonly term: number
}

export interface SnapshotChunk extends Envelope {
  readonly type: "SnapshotChunk"
  /** The snapshot's last included index and term: together they name the snapshot. */
  readonly index: number
  readonly snapshotTerm: number
  /** Where `data` starts in the snapshot file. */
  readonly offset: number
  readonly last: boolean
  readonly data: Uint8Array
}

export interface SnapshotAck extends Envelope {
  readonly type: "SnapshotAck"
  readonly index: number
  /** Bytes of the snapshot the follower holds in order: the offset to send next. */
  readonly received: number
  /** The whole snapshot arrived, verified, and is durable. */
  readonly done: boolean
}

export type SnapshotTransferMessage = SnapshotChunk | SnapshotAck

/** An operator's request made on a follower, forwarded to the leader. */
export interface AdminRequestMessage extends Envelope {
  readonly type: "AdminRequest"
  readonly requestId: number
  readonly command: AdminCommand
}

/** The leader's answer to a forwarded request. */
export interface AdminResponseMessage extends Envelope {
  readonly type: "AdminResponse"
  readonly requestId: number
  readonly outcome: AdminOutcome
}

export type AdminMessage = AdminRequestMessage | AdminResponseMessage

export type PeerMessage = Message | SnapshotTransferMessage | AdminMessage

export const isSnapshotTransfer = (m: PeerMessage): m is SnapshotTransferMessage =>
  m.type === "SnapshotChunk" || m.type === "SnapshotAck"

export const isAdminMessage = (m: PeerMessage): m is AdminMessage => m.type === "AdminRequest" || m.type === "AdminResponse"
