/**
 * The contract between the pure Raft core (src/raft) and the node that drives it (src/node).
 * The core is a deterministic state machine: no I/O, no clock, no randomness of its own.
 * The driver calls the input functions, then `ready()` once per turn to drain the outputs.
 */
import type { Entry, HardState, Message, NodeId } from "./types.js"

export interface RaftConfig {
  readonly id: NodeId
  /** Every voter's id, including `id`. */
  readonly voters: ReadonlyArray<NodeId>
  /** Ticks without hearing from a leader before an election starts (randomized in [n, 2n)). */
  readonly electionTicks: number
  /** Ticks between leader heartbeats. */
  readonly heartbeatTicks: number
  /** Appends in flight to one follower before the leader waits for acknowledgements. */
  readonly maxInflight: number
  /** Upper bound on entries carried by one Append message. */
  readonly maxEntriesPerAppend: number
  /**
   * Upper bound on the entry bytes of one Append or Propose message (at least one entry is
   * always sent), so a backlog of large values never makes a message too big for the transport.
   * Unbounded when absent.
   */
  readonly maxBytesPerMessage?: number
  /** Upper bound on proposals buffered while no leader is known (the rest are dropped). */
  readonly maxPendingProposals: number
  /** Uniform random number in [0, 1): the only source of randomness, injected for determinism. */
  readonly random: () => number
  /**
   * Deliberately broken rules, for the simulation's tests that prove it catches consensus bugs.
   * Never set outside those tests.
   */
  readonly injectedBugs?: {
    /**
     * Commit an earlier term's entry once a quorum stores it (what Raft §5.4.2 forbids), in place
     * of the no-op entry a new leader appends (which would otherwise mask the broken rule).
     */
    readonly commitEarlierTermsByCounting?: boolean
  }
}

/** The last index and term a snapshot covers. */
export interface SnapshotPoint {
  readonly index: number
  readonly term: number
}

/** A snapshot the node should stream to a follower that is behind the compacted log. */
export interface SnapshotToSend extends SnapshotPoint {
  readonly to: NodeId
}

/** What the snapshot store and the WAL recovered at start-up. */
export interface RecoveredState {
  readonly hardState: HardState
  /** The newest snapshot the engine state includes ({0, 0}: none). */
  readonly snapshot?: SnapshotPoint
  /** The log after the snapshot, contiguous: the first entry is at snapshot.index + 1. */
  readonly entries: ReadonlyArray<Entry>
  /** Entries up to here are already in the engine and must not be handed out again. */
  readonly applied: number
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader"

export interface ReadState {
  readonly requestId: number
  /** Serve the read once the local state machine has applied this index. */
  readonly index: number
}

export interface Ready {
  /** Set when term, vote or commit changed since the previous ready. */
  readonly hardState: HardState | undefined
  /**
   * Entries to append to the WAL, contiguous. Appending them replaces any persisted entries at
   * the same or higher indexes (conflict repair truncates the log's tail).
   */
  readonly entries: ReadonlyArray<Entry>
  /** Whether the WAL must fsync before `messagesAfterPersist` leave (term/vote changed or entries). */
  readonly mustSync: boolean
  /** Messages that can leave now (e.g. the leader's appends and heartbeats). */
  readonly messages: ReadonlyArray<Message>
  /**
   * Messages that promise durability (vote grants, append acknowledgements): they may leave only
   * after this ready's and every earlier ready's persistence has been fsynced.
   */
  readonly messagesAfterPersist: ReadonlyArray<Message>
  /** Committed and locally persisted entries not handed out before, in index order. */
  readonly committed: ReadonlyArray<Entry>
  /** Read requests that are now safe to serve once `index` is applied. */
  readonly readStates: ReadonlyArray<ReadState>
  /** Read requests that could not be confirmed (leadership lost, no leader): safe to retry. */
  readonly readFailures: ReadonlyArray<number>
  /** Number of proposals dropped since the last ready (no leader and the buffer is full). */
  readonly droppedProposals: number
  /**
   * Set when the log was replaced by a received snapshot: the engine must be restored from it
   * (before any later committed entry applies) and the WAL must record that the log now starts
   * after it.
   */
  readonly snapshot: SnapshotPoint | undefined
  /** Followers that need the latest snapshot, which the node streams to them. */
  readonly snapshotsToSend: ReadonlyArray<SnapshotToSend>
}

export interface RaftStatus {
  readonly id: NodeId
  readonly role: Role
  readonly term: number
  readonly vote: NodeId
  /** 0 when no leader is known. */
  readonly leader: NodeId
  readonly commit: number
  /** Highest index handed out in `Ready.committed`. */
  readonly applied: number
  readonly lastIndex: number
  readonly lastTerm: number
  /** Highest index the WAL has confirmed as synced. */
  readonly persisted: number
  /** The newest snapshot this node can send (index 0: none). */
  readonly snapshotIndex: number
  /** The first log index still in memory (older entries are only in snapshots). */
  readonly firstIndex: number
}

export interface RaftCore {
  /** Advance logical time by one tick (elections, heartbeats, check-quorum). */
  tick(): void
  /** Feed a message from a peer. Messages for other nodes or malformed terms are ignored. */
  step(message: Message): void
  /**
   * Propose client commands. The leader appends them; a follower forwards them to the leader
   * (one Propose message per turn); without a known leader they wait, bounded by
   * `maxPendingProposals`.
   */
  propose(data: ReadonlyArray<Uint8Array>): void
  /** Ask for a linearizable read index; answered in `Ready.readStates` or `Ready.readFailures`. */
  readIndex(requestId: number): void
  /** The WAL has fsynced every entry up to `index`, whose term is `term`. */
  persisted(index: number, term: number): void
  /**
   * A snapshot covering the log up to `index` (term `term`) is durable: followers that fall
   * behind can be sent it, and the in-memory log drops what precedes `index - keepEntries` (a
   * margin so followers only slightly behind still catch up from the log).
   */
  compact(index: number, term: number, keepEntries: number): void
  /**
   * A snapshot sent by `from` has been received and stored durably. Returns whether the engine
   * must be restored from it (also announced in `Ready.snapshot`); a snapshot the log already
   * covers only advances the commit index.
   */
  restoreSnapshot(index: number, term: number, from: NodeId): boolean
  /** The node finished streaming a snapshot to `to` (`ok`), or gave up (the follower is retried). */
  snapshotSent(to: NodeId, ok: boolean): void
  /** Drain the outputs accumulated since the previous call. */
  ready(): Ready
  status(): RaftStatus
  /** The entry at `index` if the log still holds it (for observers such as the simulation's checks). */
  entry(index: number): Entry | undefined
}
