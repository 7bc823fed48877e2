/**
 * Data types of the pure Raft core. Nothing here does I/O; every value is plain data so it can be
 * persisted by the WAL, carried by the transport codec and compared in tests.
 */

/** Node ids are 1-based: position N in `--cluster` is node N. 0 means "none". */
export type NodeId = number

export const EntryKind = {
  /** A client command (opaque bytes for the core; decoded by the state machine). */
  Normal: 0,
  /** The empty entry a new leader appends so it can commit entries of earlier terms. */
  Noop: 1,
  /**
   * A membership change: the payload is the whole new configuration (src/raft/Configuration.ts).
   * It takes effect as soon as it is in a log, committed or not (see Raft.ts).
   */
  Config: 2
} as const
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind]

/** Whether a decoded byte is a known entry kind (for the wire and WAL decoders). */
export const isEntryKind = (kind: number): kind is EntryKind => kind === 0 || kind === 1 || kind === 2

export interface Entry {
  readonly index: number
  readonly term: number
  readonly kind: EntryKind
  readonly data: Uint8Array
}

/** What must survive a crash besides the log (Raft figure 2's persistent state, plus commit). */
export interface HardState {
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
}

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
}

export interface VoteRequest extends Envelope {
  readonly type: "PreVote" | "Vote"
  readonly lastLogIndex: number
  readonly lastLogTerm: number
  /**
   * Vote only: the candidate campaigns because the leader handed leadership to it (TimeoutNow),
   * so voters grant it even while they still hear from that leader (the check-quorum lease).
   */
  readonly transfer?: boolean
}

export interface VoteResponse extends Envelope {
  readonly type: "PreVoteResp" | "VoteResp"
  readonly reject: boolean
}

export interface Append extends Envelope {
  readonly type: "Append"
  readonly prevIndex: number
  readonly prevTerm: number
  readonly entries: ReadonlyArray<Entry>
  readonly commit: number
}

export interface AppendResp extends Envelope {
  readonly type: "AppendResp"
  /** On success: the last index now known to match. On reject: the rejected prevIndex. */
  readonly index: number
  readonly reject: boolean
  /** On reject: the follower's last log index, so the leader can skip back quickly. */
  readonly hint: number
}

export interface Heartbeat extends Envelope {
  readonly type: "Heartbeat"
  readonly commit: number
  /** Read-index round this heartbeat confirms leadership for (0: none). */
  readonly context: number
}

export interface HeartbeatResp extends Envelope {
  readonly type: "HeartbeatResp"
  readonly context: number
}

/** A follower forwarding client proposals to the leader. */
export interface Propose extends Envelope {
  readonly type: "Propose"
  readonly entries: ReadonlyArray<Uint8Array>
}

/** A follower asking the leader for a read index on behalf of its clients. */
export interface ReadIndexRequest extends Envelope {
  readonly type: "ReadIndex"
  readonly requestId: number
  /** The reads may be answered from the leader's lease, without a heartbeat round. */
  readonly lease?: boolean
}

export interface ReadIndexResp extends Envelope {
  readonly type: "ReadIndexResp"
  readonly requestId: number
  /** The commit index the read must wait for; meaningless when rejected. */
  readonly index: number
  readonly reject: boolean
}

/**
 * Leader transfer (etcd's MsgTimeoutNow): the leader tells a voter whose log matches its own to
 * campaign at once, skipping pre-vote.
 */
export interface TimeoutNow extends Envelope {
  readonly type: "TimeoutNow"
}

export type Message =
  | VoteRequest
  | VoteResponse
  | Append
  | AppendResp
  | Heartbeat
  | HeartbeatResp
  | Propose
  | ReadIndexRequest
  | ReadIndexResp
  | TimeoutNow

export type MessageType = Message["type"]
