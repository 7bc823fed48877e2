/**
 * The contract between the pure Raft core (src/raft) and the node that drives it (src/node).
 * The core is a deterministic state machine: no I/O, no clock, no randomness of its own.
 * The driver calls the input functions, then `ready()` once per turn to drain the outputs.
 */
import type { ConfigChange, ConfigChangeRefusal, Configuration } from "./Configuration.js"
import type { Entry, HardState, Message, NodeId } from "./types.js"

export type { ConfigChange, ConfigChangeRefusal, Configuration, Member, MemberRole } from "./Configuration.js"

export interface RaftConfig {
  readonly id: NodeId
  /**
   * The configuration of an empty log: the cluster as first started (`--cluster`, every member a
   * voter). Once a snapshot or a configuration entry in the log provides one, that one rules (see
   * `RecoveredState.snapshotConfiguration`). A node started to join an existing cluster passes
   * `EMPTY_CONFIGURATION`: it never campaigns and learns the real configuration from the leader.
   */
  readonly configuration: Configuration
  /**
   * Promoting a learner is refused while its log is more than this many entries behind the
   * leader's last index (it would hold commits back as a voter). Default 1,000.
   */
  readonly maxPromotionLag?: number
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
  /**
   * Lease reads (Raft dissertation §6.4.1): for this many ticks after it sent a heartbeat that a
   * quorum acknowledged, a leader may answer reads asked with `lease` at its commit index without a
   * heartbeat round. Must be less than `electionTicks` by a margin covering the clocks' drift over
   * an election timeout. 0 or absent: lease reads fall back to ReadIndex.
   */
  readonly leaseTicks?: number
  /**
   * Refuse votes during the first election timeout after start (set it wherever leases are used:
   * a restarted voter must keep the promise its last acknowledgement made to a leader's lease).
   */
  readonly holdVotesAfterStart?: boolean
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
    /**
     * Let a new leader propose a configuration change before it has committed an entry of its own
     * term (the bug in single-server changes fixed in the Raft dissertation's errata, §4.1): two
     * leaders of one term become possible.
     */
    readonly configChangeBeforeCommitInTerm?: boolean
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
  /**
   * The configuration as of `snapshot.index`, from the snapshot's metadata. Absent (no snapshot,
   * or one written before snapshots carried it): `RaftConfig.configuration`. The configuration
   * entries in `entries` apply on top of it.
   */
  readonly snapshotConfiguration?: Configuration
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
  /**
   * The configuration this node acts on, when it changed since the previous Ready (always set in
   * the first one): connect to members that joined, disconnect from those that left. It takes
   * effect as soon as its entry is in the log, and reverts when a new leader truncates that entry,
   * so it may change back. A node that is not a member of it (removed) should stop serving.
   */
  readonly configuration: Configuration | undefined
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
  /** The configuration in effect: the newest one in the log, committed or not. */
  readonly configuration: Configuration
  /**
   * Index of the entry that set `configuration` (at most the snapshot index when it came from a
   * snapshot, 0 for the initial one). Greater than `commit`: a change is pending.
   */
  readonly configurationIndex: number
  /** Leader: the voter leadership is being handed to (0: no transfer in progress). */
  readonly transferee: NodeId
  /** Leader: whether it holds a read lease now (reads asked with `lease` need no round). */
  readonly lease: boolean
}

/** The leader's view of one member's replication (RaftCore.progress). */
export interface MemberProgress {
  readonly id: NodeId
  readonly role: "voter" | "learner"
  /** Highest index known to be in its log. */
  readonly match: number
  readonly state: "probe" | "replicate" | "snapshot"
  /** Heard from since the last check-quorum round. */
  readonly recentActive: boolean
}

/**
 * What became of `propose`: "accepted" (appended by the leader; forwarded to the leader at the end
 * of the turn; or held until a leader is known, up to `maxPendingProposals`, the rest counted in
 * `Ready.droppedProposals`), or "transferring": this node is the leader and is handing leadership
 * over, so nothing was taken (like etcd's ErrProposalDropped). Answer the clients with an error,
 * or propose again once `status().leader` names the new leader (the transfer is abandoned after an
 * election timeout if it does not happen). Proposals a follower forwards to a transferring leader
 * are dropped there likewise; the follower's node proposes them again when the leader changes.
 */
export type ProposeOutcome = "accepted" | "transferring"

export type ConfigChangeResult =
  /**
   * Appended at `index` in `term`; in effect at once. It is done when the entry at `index` with
   * `term` is committed (handed out in `Ready.committed`); a different entry there means it was lost.
   */
  | { readonly ok: true; readonly index: number; readonly term: number; readonly configuration: Configuration }
  | { readonly ok: false; readonly reason: ConfigChangeRefusal; readonly message: string }

export type TransferRefusal =
  /** Only the leader transfers leadership; `status().leader` says where to go (0: none known). */
  | "not-leader"
  | "self"
  | "unknown-id"
  /** Learners never become leaders. */
  | "learner"
  /** No target given and there is no other voter. */
  | "no-voter"

export type TransferResult =
  /** The transfer started (or was already under way to `target`); `status().transferee` shows it. */
  | { readonly ok: true; readonly target: NodeId }
  | { readonly ok: false; readonly reason: TransferRefusal; readonly message: string }

export interface RaftCore {
  /** Advance logical time by one tick (elections, heartbeats, check-quorum). */
  tick(): void
  /** Feed a message from a peer. Messages for other nodes or malformed terms are ignored. */
  step(message: Message): void
  /**
   * Propose client commands. The leader appends them; a follower forwards them to the leader
   * (one Propose message per turn); without a known leader they wait, bounded by
   * `maxPendingProposals`. A leader that is transferring leadership refuses them (see
   * `ProposeOutcome`).
   */
  propose(data: ReadonlyArray<Uint8Array>): ProposeOutcome
  /**
   * Leader: propose one membership change. Refused with a reason when this node is not the
   * leader, is transferring leadership, has not committed an entry of its term yet, already has an
   * uncommitted configuration entry, or when the change is unsafe or absurd (see
   * `ConfigChangeRefusal`). An accepted change takes effect at once (`Ready.configuration`).
   */
  proposeConfigChange(change: ConfigChange): ConfigChangeResult
  /**
   * Leader: hand leadership to `target`, or to the most caught-up voter when none is given. The
   * leader stops accepting proposals, brings the target's log up to its own, then tells it to
   * campaign at once (TimeoutNow). Abandoned after an election timeout; a second call for another
   * target replaces the first.
   */
  transferLeader(target?: NodeId): TransferResult
  /**
   * Ask for a linearizable read index; answered in `Ready.readStates` or `Ready.readFailures`.
   * `lease`: a leader holding a lease answers at once (a follower asks its leader to); otherwise
   * it is an ordinary ReadIndex round.
   */
  readIndex(requestId: number, lease?: boolean): void
  /** The WAL has fsynced every entry up to `index`, whose term is `term`. */
  persisted(index: number, term: number): void
  /**
   * A snapshot covering the log up to `index` (term `term`), with `configurationAt(index)` in its
   * metadata, is durable: followers that fall
   * behind can be sent it, and the in-memory log drops what precedes `index - keepEntries` (a
   * margin so followers only slightly behind still catch up from the log).
   */
  compact(index: number, term: number, keepEntries: number): void
  /**
   * A snapshot sent by `from` has been received and stored durably; `configuration` is the one
   * its metadata carries (as of `index`). Returns whether the engine must be restored from it
   * (also announced in `Ready.snapshot`); a snapshot the log already covers only advances the
   * commit index.
   */
  restoreSnapshot(index: number, term: number, from: NodeId, configuration: Configuration): boolean
  /** The node finished streaming a snapshot to `to` (`ok`), or gave up (the follower is retried). */
  snapshotSent(to: NodeId, ok: boolean): void
  /** Drain the outputs accumulated since the previous call. */
  ready(): Ready
  status(): RaftStatus
  /** Leader: every other member's replication progress (empty on other roles). */
  progress(): ReadonlyArray<MemberProgress>
  /**
   * The configuration in effect at `index` (set by the newest configuration entry at or before
   * it), for indexes from the latest snapshot's on; undefined for older ones. A snapshot taken at
   * `index` must carry this one (`compact` assumes it does).
   */
  configurationAt(index: number): Configuration | undefined
  /** The entry at `index` if the log still holds it (for observers such as the simulation's checks). */
  entry(index: number): Entry | undefined
}
