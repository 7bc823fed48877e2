/**
 * The pure Raft core (etcd-io/raft's design): a deterministic state machine driven by
 * tick/step/propose/readIndex/persisted, whose effects are collected and drained by `ready()`.
 * It performs no I/O and owns no clock or randomness (both are inputs), so it can be tested
 * exhaustively and run inside a simulation.
 *
 * Membership changes are single-server changes (Raft dissertation §4.1), not joint consensus
 * (etcd-io/raft's confchange/). Every change this project needs (add a voter, add a learner,
 * promote a learner, remove a member) changes the voters by at most one, and for such changes any
 * majority of the old voters overlaps any majority of the new ones, so no intermediate joint
 * configuration is needed. The rules that make it safe:
 *
 * - A configuration takes effect as soon as its entry is in a node's log, committed or not (the
 *   leader on append, followers on receipt), and a node whose configuration entry is truncated
 *   by a new leader falls back to the previous one (the one before it in the log, or the
 *   snapshot's). This is the dissertation's rule, so its safety argument (and the fix below)
 *   applies as written; etcd switches when the entry is applied instead.
 * - One change at a time: the leader refuses a change while a configuration entry in its log is
 *   uncommitted, and before it has committed an entry of its own term (the fix to the bug
 *   Ongaro described on raft-dev in 2015: without it, changes proposed by leaders of successive
 *   terms can yield disjoint majorities and two leaders in one term; the no-op a new leader
 *   appends commits soon, so this costs one round trip after an election).
 * - Quorums (commit, votes, check-quorum, ReadIndex) count the voters of the configuration in
 *   effect only. Learners receive appends and snapshots but never campaign and never count;
 *   any node still answers vote requests (a candidate may know of a promotion it has not yet
 *   received, and only the candidate's own configuration decides whose vote counts).
 * - A leader that removes itself keeps leading, not counting itself, until the change commits;
 *   then it steps down (telling the most caught-up voter to campaign at once when that voter
 *   holds its whole log). A node that is not a voter of its latest configuration still campaigns
 *   while an earlier one that makes it a voter may be in force (see mayCampaign); once its removal
 *   is committed it never does. A removed node that does not know it (the leader stops
 *   replicating to it at once) is kept from disrupting the cluster by pre-vote and the
 *   check-quorum lease.
 *
 * Joint consensus would allow arbitrary changes in one step (e.g. replacing a voter atomically),
 * at the price of a second configuration entry per change and two-majority quorums everywhere;
 * one-at-a-time changes keep every quorum computation a single majority.
 */
import type {
  ConfigChangeResult,
  MemberProgress,
  ProposeOutcome,
  RaftConfig,
  RaftCore,
  RaftStatus,
  Ready,
  ReadState,
  RecoveredState,
  Role,
  SnapshotPoint,
  SnapshotToSend,
  TransferResult
} from "./api.js"
import {
  applyChange,
  decodeConfiguration,
  encodeConfiguration,
  memberOf,
  type ConfigChange,
  type Configuration
} from "./Configuration.js"
import { Progress } from "./Progress.js"
import { RaftLog } from "./RaftLog.js"
import { ReadOnly, type ReadRequester } from "./ReadOnly.js"
import { EntryKind, type Entry, type HardState, type Message, type NodeId } from "./types.js"

const EMPTY = new Uint8Array(0)
const DEFAULT_MAX_PROMOTION_LAG = 1000

/** A configuration and the log position that set it. */
interface ConfigRecord {
  readonly index: number
  readonly term: number
  readonly configuration: Configuration
}

const decodeConfigEntry = (entry: Entry): Configuration => {
  const config = decodeConfiguration(entry.data)
  if (config === undefined) throw new Error(`raft: configuration entry ${entry.index} (term ${entry.term}) is malformed`)
  return config
}

/** Consecutive runs of `items` of at most `maxBytes` each (a larger item alone in its run). */
export const splitByBytes = (items: ReadonlyArray<Uint8Array>, maxBytes: number): Array<Array<Uint8Array>> => {
  const runs: Array<Array<Uint8Array>> = []
  let run: Array<Uint8Array> = []
  let bytes = 0
  for (const item of items) {
    if (run.length > 0 && bytes + item.length > maxBytes) {
      runs.push(run)
      run = []
      bytes = 0
    }
    run.push(item)
    bytes += item.length
  }
  if (run.length > 0) runs.push(run)
  return runs
}

export const makeRaft = (config: RaftConfig, recovered: RecoveredState): RaftCore => new Raft(config, recovered)

class Raft implements RaftCore {
  private readonly id: NodeId
  private readonly log: RaftLog

  /**
   * The configurations known from the log: [0] is the base (the snapshot's, or the initial one),
   * then one record per configuration entry in the log after it, ascending. The last is in effect.
   */
  private configs: Array<ConfigRecord>
  // Derived from the configuration in effect (see configurationChanged).
  private voters: ReadonlySet<NodeId> = new Set()
  /** Every member but this node, voters and learners: who gets appends and heartbeats. */
  private others: ReadonlyArray<NodeId> = []
  /** Every voter but this node: who gets vote requests. */
  private otherVoters: ReadonlyArray<NodeId> = []
  /** The configuration changed since the last Ready (true at first: the first Ready announces it). */
  private configurationAnnounced = false

  /** Leader: the voter leadership is being handed to (0: none), and ticks since the transfer began. */
  private transferee: NodeId = 0
  /**
   * Leader: the tick at which the newest heartbeat a quorum acknowledged was sent. Until
   * `leaseTicks` after it, no other leader can exist (every acknowledging voter refuses
   * candidates for an election timeout), so reads may be served without a round (§6.4.1).
   */
  private leaseFrom = Number.NEGATIVE_INFINITY
  /** Leader: a TimeoutNow went out this term (its candidate ignores leases): no lease reads any more. */
  private leaseForfeited = false
  private transferElapsed = 0

  private term: number
  private vote: NodeId
  private leader: NodeId = 0
  private role: Role = "follower"
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedTimeout = 0
  private votes = new Map<NodeId, boolean>()
  /** Leader: the replication progress of every other member. */
  private replication = new Map<NodeId, Progress>()

  // Outputs collected until the next ready().
  private messages: Array<Message> = []
  private messagesAfterPersist: Array<Message> = []
  private readStates: Array<ReadState> = []
  private readFailures: Array<number> = []
  private droppedProposals = 0
  private snapshotsToSend: Array<SnapshotToSend> = []
  /** A received snapshot the engine must be restored from (announced in the next Ready). */
  private restoredSnapshot: SnapshotPoint | undefined
  /** The newest durable snapshot, the one sent to followers behind the compacted log. */
  private latestSnapshot: SnapshotPoint
  private lastHardState: HardState
  /** Followers that should get an Append at the end of this turn. */
  private appendTo = new Set<NodeId>()

  // Proposals and reads waiting for a leader / for this turn's batch.
  private pendingProposals: Array<Uint8Array> = []
  private readonly readOnly = new ReadOnly()
  /** Leader: reads that arrived before the leader committed an entry of its term. */
  private readsAwaitingCommit: Array<ReadRequester> = []
  /** Follower: this turn's lease reads, sent to the leader in one ReadIndex message marked `lease`. */
  private followerLeaseReads: Array<number> = []
  /** Follower: this turn's reads, sent to the leader in one ReadIndex message. */
  private followerReads: Array<number> = []
  /** Follower: batches sent to the leader, by batch id, with the tick they were sent at. */
  private forwardedReads = new Map<number, { ids: Array<number>; sentAt: number }>()
  private nextReadBatch = 1
  private ticks = 0

  constructor(
    private readonly config: RaftConfig,
    recovered: RecoveredState
  ) {
    this.id = config.id
    this.latestSnapshot = recovered.snapshot ?? { index: 0, term: 0 }
    this.log = new RaftLog(recovered.entries, recovered.hardState.commit, recovered.applied, this.latestSnapshot)
    this.term = recovered.hardState.term
    this.vote = recovered.hardState.vote
    this.lastHardState = { term: this.term, vote: this.vote, commit: this.log.committed }
    // The configuration: the snapshot's (or the initial one), then every configuration entry after it.
    this.configs = [{ ...this.latestSnapshot, configuration: recovered.snapshotConfiguration ?? config.configuration }]
    for (const entry of recovered.entries) {
      if (entry.kind === EntryKind.Config) this.configs.push({ index: entry.index, term: entry.term, configuration: decodeConfigEntry(entry) })
    }
    this.configurationChanged()
    this.resetElectionTimer()
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.ticks++
    this.expireForwardedReads()
    if (this.role === "leader") this.tickLeader()
    else {
      this.electionElapsed++
      if (this.electionElapsed >= this.randomizedTimeout) this.campaign("pre-candidate")
    }
  }

  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return
    if (m.term > this.term) {
      if (m.type === "PreVote" || (m.type === "PreVoteResp" && !m.reject)) {
        // Pre-votes never change terms: that is what makes them harmless.
      } else if (m.type === "Vote" && m.transfer !== true && this.inLease()) {
        // A live leader exists: ignore a disruptive candidate (check-quorum lease), unless that
        // leader handed leadership to it (leader transfer).
        return
      } else {
        const leader = m.type === "Append" || m.type === "Heartbeat" ? m.from : 0
        this.becomeFollower(m.term, leader)
      }
    } else if (m.term < this.term) {
      if (m.type === "Append" || m.type === "Heartbeat") {
        // Tell a stale leader about the newer term so it steps down.
        this.send({ type: "AppendResp", from: this.id, to: m.from, term: this.term, index: 0, reject: true, hint: 0 })
      } else if (m.type === "PreVote") {
        this.send({ type: "PreVoteResp", from: this.id, to: m.from, term: this.term, reject: true })
      }
      return
    }

    switch (m.type) {
      case "PreVote":
      case "Vote":
        return this.handleVoteRequest(m)
      case "Propose":
        this.handlePropose(m.entries)
        return
      case "ReadIndex":
        return this.handleRemoteRead(m.from, m.requestId, m.lease === true)
    }
    switch (this.role) {
      case "leader":
        return this.stepLeader(m)
      case "candidate":
      case "pre-candidate":
        return this.stepCandidate(m)
      case "follower":
        return this.stepFollower(m)
    }
  }

  propose(data: ReadonlyArray<Uint8Array>): ProposeOutcome {
    return this.handlePropose(data)
  }

  proposeConfigChange(change: ConfigChange): ConfigChangeResult {
    if (this.role !== "leader") {
      return { ok: false, reason: "not-leader", message: this.leader !== 0 ? `not the leader; node ${this.leader} is` : "not the leader; no leader is known" }
    }
    if (this.transferee !== 0) {
      return { ok: false, reason: "transferring", message: `leadership is being transferred to node ${this.transferee}` }
    }
    const current = this.configs[this.configs.length - 1]
    if (current.index > this.log.committed) {
      return { ok: false, reason: "change-pending", message: `the configuration change at index ${current.index} is not committed yet` }
    }
    if (!this.committedInTerm() && this.config.injectedBugs?.configChangeBeforeCommitInTerm !== true) {
      return { ok: false, reason: "not-ready", message: "a new leader must commit an entry of its term before changing the configuration" }
    }
    const outcome = applyChange(current.configuration, change)
    if (!outcome.ok) return outcome
    if (change.type === "promote") {
      const lag = this.log.lastIndex() - (this.replication.get(change.id)?.match ?? 0)
      const maxLag = this.config.maxPromotionLag ?? DEFAULT_MAX_PROMOTION_LAG
      if (lag > maxLag) {
        return { ok: false, reason: "learner-behind", message: `learner ${change.id} is ${lag} entries behind the leader (at most ${maxLag} allowed)` }
      }
    }
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind: EntryKind.Config, data: encodeConfiguration(outcome.configuration) }
    this.log.append([entry])
    this.configs.push({ index: entry.index, term: entry.term, configuration: outcome.configuration })
    this.configurationChanged()
    for (const id of this.others) this.appendTo.add(id)
    return { ok: true, index: entry.index, term: entry.term, configuration: outcome.configuration }
  }

  transferLeader(target?: NodeId): TransferResult {
    if (this.role !== "leader") {
      return { ok: false, reason: "not-leader", message: this.leader !== 0 ? `not the leader; node ${this.leader} is` : "not the leader; no leader is known" }
    }
    const to = target ?? this.mostCaughtUpVoter()
    if (to === 0) return { ok: false, reason: "no-voter", message: "there is no other voter to transfer leadership to" }
    if (to === this.id) return { ok: false, reason: "self", message: `node ${to} is already the leader` }
    const member = memberOf(this.configuration(), to)
    if (member === undefined) return { ok: false, reason: "unknown-id", message: `node ${to} is not a member` }
    if (member.role !== "voter") return { ok: false, reason: "learner", message: `node ${to} is a learner; only voters can lead` }
    if (this.transferee === to) return { ok: true, target: to }
    this.transferee = to
    this.transferElapsed = 0
    // Bring its log up to ours first (the append's answer sends TimeoutNow), or tell it now.
    if (!this.maybeSendTimeoutNow()) this.appendTo.add(to)
    return { ok: true, target: to }
  }

  readIndex(requestId: number, lease = false): void {
    if (this.role === "leader") {
      if (lease && this.holdsLease()) return this.releaseRead({ local: true, requestId }, this.log.committed)
      return this.leaderRead({ local: true, requestId })
    }
    if (this.leader === 0) {
      this.readFailures.push(requestId)
      return
    }
    ;(lease ? this.followerLeaseReads : this.followerReads).push(requestId)
  }

  persisted(index: number, term: number): void {
    this.log.markPersisted(index, term)
    if (this.role === "leader") this.maybeCommit()
  }

  compact(index: number, term: number, keepEntries: number): void {
    if (index <= this.latestSnapshot.index) return
    this.latestSnapshot = { index, term }
    // The snapshot carries the configuration as of its index: it becomes the base.
    const configuration = this.configurationAt(index)!
    this.configs = [{ index, term, configuration }, ...this.configs.filter((record) => record.index > index)]
    this.log.compact(index - keepEntries)
  }

  restoreSnapshot(index: number, term: number, from: NodeId, configuration: Configuration): boolean {
    // Only a follower takes a snapshot: a leader or candidate already holds every committed entry.
    if (this.role !== "follower") return false
    if (index <= this.log.committed) {
      this.send(this.appendResp(from, this.log.committed, false, 0))
      return false
    }
    if (this.log.term(index) === term) {
      // The log already holds the snapshot's last entry: it only learns that it is committed.
      this.log.commitTo(index)
      this.messagesAfterPersist.push(this.appendResp(from, index, false, 0))
      return false
    }
    this.log.restore(index, term)
    this.latestSnapshot = { index, term }
    this.restoredSnapshot = { index, term }
    this.configs = [{ index, term, configuration }]
    this.configurationChanged()
    // Acknowledged once the WAL has recorded that the log now starts after the snapshot.
    this.messagesAfterPersist.push(this.appendResp(from, index, false, 0))
    return true
  }

  snapshotSent(to: NodeId, ok: boolean): void {
    const pr = this.replication.get(to)
    if (this.role !== "leader" || pr === undefined || pr.state !== "snapshot") return
    if (ok) pr.snapshotDoneTick = this.ticks
    else pr.becomeProbe()
  }

  ready(): Ready {
    if (this.role === "leader") {
      for (const to of this.appendTo) this.sendAppend(to)
      this.appendTo.clear()
      const context = this.readOnly.takeOpenContext(this.ticks)
      if (context !== undefined) this.broadcastHeartbeat(context)
    } else if (this.leader !== 0) {
      for (const lease of [false, true]) {
        const ids = lease ? this.followerLeaseReads : this.followerReads
        if (ids.length === 0) continue
        const batch = this.nextReadBatch++
        this.forwardedReads.set(batch, { ids, sentAt: this.ticks })
        this.send({ type: "ReadIndex", from: this.id, to: this.leader, term: this.term, requestId: batch, ...(lease ? { lease: true } : {}) })
      }
      this.followerReads = []
      this.followerLeaseReads = []
    }
    if (this.leader !== 0 && this.role === "follower" && this.pendingProposals.length > 0) {
      for (const entries of splitByBytes(this.pendingProposals, this.config.maxBytesPerMessage ?? Number.POSITIVE_INFINITY)) {
        this.send({ type: "Propose", from: this.id, to: this.leader, term: this.term, entries })
      }
      this.pendingProposals = []
    }

    const hardState: HardState = { term: this.term, vote: this.vote, commit: this.log.committed }
    const previous = this.lastHardState
    const termOrVoteChanged = hardState.term !== previous.term || hardState.vote !== previous.vote
    const changed = termOrVoteChanged || hardState.commit !== previous.commit
    this.lastHardState = hardState
    const entries = this.log.takeUnstable()
    const ready: Ready = {
      hardState: changed ? hardState : undefined,
      entries,
      mustSync: termOrVoteChanged || entries.length > 0 || this.restoredSnapshot !== undefined,
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      committed: this.log.takeCommitted(),
      readStates: this.readStates,
      readFailures: this.readFailures,
      droppedProposals: this.droppedProposals,
      snapshot: this.restoredSnapshot,
      snapshotsToSend: this.snapshotsToSend,
      configuration: this.configurationAnnounced ? undefined : this.configuration()
    }
    this.configurationAnnounced = true
    this.restoredSnapshot = undefined
    this.snapshotsToSend = []
    this.messages = []
    this.messagesAfterPersist = []
    this.readStates = []
    this.readFailures = []
    this.droppedProposals = 0
    return ready
  }

  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      persisted: this.log.persisted,
      snapshotIndex: this.latestSnapshot.index,
      firstIndex: this.log.firstIndex(),
      configuration: this.configuration(),
      configurationIndex: this.configs[this.configs.length - 1].index,
      transferee: this.transferee,
      lease: this.holdsLease()
    }
  }

  progress(): ReadonlyArray<MemberProgress> {
    if (this.role !== "leader") return []
    return [...this.replication.entries()].map(([id, pr]) => ({
      id,
      role: this.voters.has(id) ? ("voter" as const) : ("learner" as const),
      match: pr.match,
      state: pr.state,
      recentActive: pr.recentActive
    }))
  }

  configurationAt(index: number): Configuration | undefined {
    if (index < this.configs[0].index) return undefined
    for (let i = this.configs.length - 1; i > 0; i--) if (this.configs[i].index <= index) return this.configs[i].configuration
    return this.configs[0].configuration
  }

  entry(index: number): Entry | undefined {
    return this.log.entry(index)
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leader: NodeId): void {
    const wasLeader = this.role === "leader"
    if (term !== this.term) {
      this.term = term
      this.vote = 0
    }
    this.role = "follower"
    this.transferee = 0
    this.leaseFrom = Number.NEGATIVE_INFINITY
    this.electionElapsed = 0
    this.resetElectionTimer()
    if (wasLeader) this.failLeaderReads()
    this.setLeader(leader)
  }

  private setLeader(leader: NodeId): void {
    if (leader !== this.leader) {
      // Reads forwarded to a previous leader will never be answered by it: let them retry.
      this.failForwardedReads()
    }
    this.leader = leader
  }

  /** `transfer`: the leader handed leadership to us (skip pre-vote, break leases). */
  private campaign(role: "pre-candidate" | "candidate", transfer = false): void {
    if (!this.mayCampaign()) return
    this.electionElapsed = 0
    this.resetElectionTimer()
    this.failForwardedReads()
    this.leader = 0
    this.role = role
    this.votes = new Map([[this.id, true]])
    if (role === "candidate") {
      this.term++
      this.vote = this.id
    }
    if (this.isQuorum(this.votes.keys())) return this.winElection()
    const request = {
      type: role === "candidate" ? ("Vote" as const) : ("PreVote" as const),
      from: this.id,
      term: role === "candidate" ? this.term : this.term + 1,
      lastLogIndex: this.log.lastIndex(),
      lastLogTerm: this.log.lastTerm(),
      ...(transfer ? { transfer: true } : {})
    }
    for (const to of this.otherVoters) {
      // A vote request leaves only once our own vote for ourselves is durable.
      if (role === "candidate") this.messagesAfterPersist.push({ ...request, to })
      else this.send({ ...request, to })
    }
  }

  private winElection(): void {
    if (this.role === "pre-candidate") return this.campaign("candidate")
    this.becomeLeader()
  }

  private becomeLeader(): void {
    this.role = "leader"
    this.leader = this.id
    this.heartbeatElapsed = 0
    this.electionElapsed = 0
    this.transferee = 0
    // A lease is earned with this term's heartbeats, never inherited.
    this.leaseFrom = Number.NEGATIVE_INFINITY
    this.leaseForfeited = false
    this.replication = new Map(this.others.map((id) => [id, new Progress(this.log.lastIndex())]))
    // The no-op lets the leader commit entries of earlier terms (and serve reads) in its term.
    if (this.config.injectedBugs?.commitEarlierTermsByCounting !== true) this.appendEntries([EMPTY], EntryKind.Noop)
    if (this.pendingProposals.length > 0) {
      this.appendEntries(this.pendingProposals, EntryKind.Normal)
      this.pendingProposals = []
    }
    this.maybeCommit()
  }

  // ---------------------------------------------------------------- elections

  /**
   * A node that heard from a live leader within an election timeout ignores candidates. With
   * `holdVotesAfterStart`, so does a node during its first election timeout after starting: it may
   * have acknowledged a leader's heartbeat just before it restarted, and that leader's read lease
   * counts on it not helping to elect another leader within the timeout.
   */
  private inLease(): boolean {
    if (this.config.holdVotesAfterStart === true && this.ticks < this.config.electionTicks) return true
    return this.leader !== 0 && this.electionElapsed < this.config.electionTicks
  }

  /** Whether this leader may serve a read at its commit index without a round (a lease read). */
  private holdsLease(): boolean {
    const leaseTicks = this.config.leaseTicks ?? 0
    return (
      this.role === "leader" &&
      leaseTicks > 0 &&
      !this.leaseForfeited &&
      this.transferee === 0 &&
      this.committedInTerm() &&
      this.ticks - this.leaseFrom < leaseTicks
    )
  }

  private handleVoteRequest(m: Extract<Message, { type: "PreVote" | "Vote" }>): void {
    const pre = m.type === "PreVote"
    const canVote =
      this.vote === m.from ||
      (this.vote === 0 && this.leader === 0) ||
      (pre && m.term > this.term && !this.inLease())
    const responseType = pre ? ("PreVoteResp" as const) : ("VoteResp" as const)
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      if (pre) {
        this.send({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false })
      } else {
        this.electionElapsed = 0
        this.vote = m.from
        this.messagesAfterPersist.push({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false })
      }
    } else {
      this.send({ type: responseType, from: this.id, to: m.from, term: this.term, reject: true })
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "Append":
        this.becomeFollower(m.term, m.from)
        return this.handleAppend(m)
      case "Heartbeat":
        this.becomeFollower(m.term, m.from)
        return this.handleHeartbeat(m)
      case "PreVoteResp":
      case "VoteResp": {
        const expected = this.role === "pre-candidate" ? "PreVoteResp" : "VoteResp"
        if (m.type !== expected) return
        this.votes.set(m.from, !m.reject)
        const granted: Array<NodeId> = []
        const rejected: Array<NodeId> = []
        for (const [id, vote] of this.votes) (vote ? granted : rejected).push(id)
        // Only the voters of our configuration count (isQuorum ignores anyone else).
        if (this.isQuorum(granted)) this.winElection()
        else if (this.isQuorum(rejected)) this.becomeFollower(this.term, 0)
        return
      }
    }
  }

  // ---------------------------------------------------------------- replication

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "Append":
        this.electionElapsed = 0
        this.setLeader(m.from)
        return this.handleAppend(m)
      case "Heartbeat":
        this.electionElapsed = 0
        this.setLeader(m.from)
        return this.handleHeartbeat(m)
      case "TimeoutNow":
        // The leader hands leadership over: campaign at once, without pre-vote (a node that may
        // not campaign ignores it: campaign() checks).
        return this.campaign("candidate", true)
      case "ReadIndexResp": {
        const batch = this.forwardedReads.get(m.requestId)
        if (batch === undefined) return
        this.forwardedReads.delete(m.requestId)
        for (const requestId of batch.ids) {
          if (m.reject) this.readFailures.push(requestId)
          else this.readStates.push({ requestId, index: m.index })
        }
        return
      }
    }
  }

  private handleAppend(m: Extract<Message, { type: "Append" }>): void {
    if (m.prevIndex < this.log.committed) {
      // Already committed here: acknowledge what we have so the leader moves on.
      this.messagesAfterPersist.push(this.appendResp(m.from, this.log.committed, false, 0))
      return
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries)
    if (lastNew !== undefined) {
      this.reconcileConfigurations(m.entries)
      // The acknowledgement promises durability: it leaves after the fsync.
      this.messagesAfterPersist.push(this.appendResp(m.from, lastNew, false, 0))
    } else {
      this.send(this.appendResp(m.from, m.prevIndex, true, this.log.conflictHint(m.prevIndex)))
    }
  }

  private handleHeartbeat(m: Extract<Message, { type: "Heartbeat" }>): void {
    this.log.commitTo(m.commit)
    this.send({ type: "HeartbeatResp", from: this.id, to: m.from, term: this.term, context: m.context })
  }

  private appendResp(to: NodeId, index: number, reject: boolean, hint: number): Message {
    return { type: "AppendResp", from: this.id, to, term: this.term, index, reject, hint }
  }

  private stepLeader(m: Message): void {
    const pr = this.replication.get(m.from)
    if (pr === undefined) return
    switch (m.type) {
      case "AppendResp": {
        pr.recentActive = true
        if (m.reject) {
          if (pr.maybeDecrease(m.index, m.hint)) this.appendTo.add(m.from)
          return
        }
        if (pr.maybeUpdate(m.index)) {
          if (pr.state === "probe" || (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot)) pr.becomeReplicate()
          if (m.from === this.transferee) this.maybeSendTimeoutNow()
          if (this.maybeCommit()) return
        }
        if (pr.match < this.log.lastIndex()) this.appendTo.add(m.from)
        return
      }
      case "HeartbeatResp": {
        pr.recentActive = true
        pr.probeSent = false
        // The follower is reachable; appends it never answered within an election timeout were lost.
        pr.recoverLostAppends(this.ticks - this.config.electionTicks)
        pr.recoverLostSnapshot(this.ticks - this.config.electionTicks)
        if (pr.match < this.log.lastIndex()) this.appendTo.add(m.from)
        // A TimeoutNow may have been lost: the follower answers heartbeats, so send it again.
        if (m.from === this.transferee) this.maybeSendTimeoutNow()
        for (const round of this.readOnly.ack(m.from, m.context, this.id, (acks) => this.isQuorum(acks))) {
          if (round.sentTick > this.leaseFrom) this.leaseFrom = round.sentTick
          for (const requester of round.requesters) this.releaseRead(requester, round.index)
        }
        return
      }
    }
  }

  private handlePropose(data: ReadonlyArray<Uint8Array>): ProposeOutcome {
    if (data.length === 0) return "accepted"
    if (this.role === "leader") {
      // Leadership is being handed over: take nothing more (etcd drops proposals likewise).
      if (this.transferee !== 0) return "transferring"
      this.appendEntries(data, EntryKind.Normal)
      return "accepted"
    }
    // Not the leader: forward at the end of the turn, or hold (bounded) until a leader is known.
    const room = this.config.maxPendingProposals - this.pendingProposals.length
    for (let i = 0; i < data.length; i++) {
      if (i < room) this.pendingProposals.push(data[i])
      else this.droppedProposals++
    }
    return "accepted"
  }

  private appendEntries(data: ReadonlyArray<Uint8Array>, kind: EntryKind): void {
    let index = this.log.lastIndex()
    const entries: Array<Entry> = data.map((bytes) => ({ index: ++index, term: this.term, kind, data: bytes }))
    this.log.append(entries)
    for (const id of this.others) this.appendTo.add(id)
  }

  /** Build the Append(s) for one follower from its progress. */
  private sendAppend(to: NodeId): void {
    const pr = this.replication.get(to)
    if (pr === undefined) return // removed from the configuration meanwhile
    const last = this.log.lastIndex()
    let first = true
    while (!pr.isPaused(this.config.maxInflight) && (first || pr.next <= last)) {
      first = false
      const prevIndex = pr.next - 1
      const prevTerm = this.log.term(prevIndex)
      if (prevTerm === undefined) return this.sendSnapshot(to, pr)
      const entries = this.log.slice(pr.next, last + 1, this.config.maxEntriesPerAppend, this.config.maxBytesPerMessage)
      this.send({
        type: "Append",
        from: this.id,
        to,
        term: this.term,
        prevIndex,
        prevTerm,
        entries,
        commit: this.log.committed
      })
      pr.sent(prevIndex + entries.length, entries.length > 0, this.ticks)
      if (entries.length === 0) return
    }
  }

  /** The follower needs entries that were compacted away: it gets the latest snapshot instead. */
  private sendSnapshot(to: NodeId, pr: Progress): void {
    pr.becomeSnapshot(this.latestSnapshot.index)
    this.snapshotsToSend.push({ to, ...this.latestSnapshot })
  }

  /**
   * Advance the commit index to the highest entry of this term stored by a quorum of the voters
   * (this node counts only if it is one, and only for what its WAL has synced).
   */
  private maybeCommit(): boolean {
    if (this.voters.size === 0) return false
    const matches: Array<number> = []
    for (const id of this.voters) matches.push(id === this.id ? this.log.persisted : (this.replication.get(id)?.match ?? 0))
    matches.sort((a, b) => b - a)
    const candidate = matches[Math.floor(this.voters.size / 2)]
    // Raft §5.4.2: never commit an earlier term's entry by counting replicas.
    const earlierTermAllowed = this.config.injectedBugs?.commitEarlierTermsByCounting === true
    if (candidate <= this.log.committed || (this.log.term(candidate) !== this.term && !earlierTermAllowed)) return false
    this.log.commitTo(candidate)
    // Tell followers the new commit index at the end of this turn.
    for (const id of this.others) this.appendTo.add(id)
    // The first commit of this term unblocks the reads that waited for it.
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit
      this.readsAwaitingCommit = []
      for (const requester of waiting) this.leaderRead(requester)
    }
    // A leader that removed itself leads until that change commits, then steps down.
    if (!this.voters.has(this.id) && this.log.committed >= this.configs[this.configs.length - 1].index) this.stepDownRemoved()
    return true
  }

  /**
   * This leader is no longer a voter and the configuration saying so is committed: tell the
   * followers the commit index, hand leadership to the most caught-up voter if it holds our whole
   * log (so the cluster does not wait an election timeout), and step down. Not being a voter, it
   * never campaigns again.
   */
  private stepDownRemoved(): void {
    for (const id of this.others) this.sendAppend(id)
    this.appendTo.clear()
    const best = this.mostCaughtUpVoter()
    if (best !== 0 && this.replication.get(best)!.match === this.log.lastIndex()) {
      this.leaseForfeited = true
      this.send({ type: "TimeoutNow", from: this.id, to: best, term: this.term })
    }
    this.becomeFollower(this.term, 0)
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.transferee !== 0 && ++this.transferElapsed >= this.config.electionTicks) {
      // The target did not take over within an election timeout: abandon the transfer.
      this.transferee = 0
    }
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0
      const active: Array<NodeId> = [this.id]
      for (const [id, pr] of this.replication) {
        if (pr.recentActive) active.push(id)
        pr.recentActive = false
      }
      if (!this.isQuorum(active)) {
        // Check-quorum: we may be cut off; stop acting as leader.
        this.becomeFollower(this.term, 0)
        return
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat(this.readOnly.heartbeatContext(this.ticks))
    }
  }

  private broadcastHeartbeat(context: number): void {
    for (const [to, pr] of this.replication) {
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed)
      this.send({ type: "Heartbeat", from: this.id, to, term: this.term, commit, context })
    }
  }

  // ---------------------------------------------------------------- reads

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term
  }

  private leaderRead(requester: ReadRequester): void {
    if (!this.committedInTerm()) {
      this.readsAwaitingCommit.push(requester)
      return
    }
    if (this.isQuorum([this.id])) return this.releaseRead(requester, this.log.committed)
    this.readOnly.add(requester, this.log.committed)
  }

  private handleRemoteRead(from: NodeId, requestId: number, lease: boolean): void {
    if (this.role !== "leader") return this.answerRemoteRead(from, requestId, undefined)
    if (lease && this.holdsLease()) return this.answerRemoteRead(from, requestId, this.log.committed)
    this.leaderRead({ local: false, from, requestId })
  }

  /** Confirmed at `index`: a local read becomes a ReadState, a follower's gets the index. */
  private releaseRead(requester: ReadRequester, index: number): void {
    if (requester.local) this.readStates.push({ requestId: requester.requestId, index })
    else this.answerRemoteRead(requester.from, requester.requestId, index)
  }

  /** Answer a follower's ReadIndex request; `index` undefined rejects it. */
  private answerRemoteRead(to: NodeId, requestId: number, index: number | undefined): void {
    this.send({ type: "ReadIndexResp", from: this.id, to, term: this.term, requestId, index: index ?? 0, reject: index === undefined })
  }

  private failLeaderReads(): void {
    const failed = [...this.readOnly.reset(), ...this.readsAwaitingCommit]
    this.readsAwaitingCommit = []
    for (const requester of failed) {
      if (requester.local) this.readFailures.push(requester.requestId)
      else this.answerRemoteRead(requester.from, requester.requestId, undefined)
    }
  }

  private failForwardedReads(): void {
    for (const batch of this.forwardedReads.values()) for (const id of batch.ids) this.readFailures.push(id)
    this.forwardedReads.clear()
    for (const id of this.followerReads) this.readFailures.push(id)
    for (const id of this.followerLeaseReads) this.readFailures.push(id)
    this.followerReads = []
    this.followerLeaseReads = []
  }

  /** A forwarded read batch unanswered for an election timeout was probably lost: retry it. */
  private expireForwardedReads(): void {
    for (const [batch, { ids, sentAt }] of this.forwardedReads) {
      if (this.ticks - sentAt < this.config.electionTicks) continue
      this.forwardedReads.delete(batch)
      for (const id of ids) this.readFailures.push(id)
    }
  }

  // ---------------------------------------------------------------- membership

  private configuration(): Configuration {
    return this.configs[this.configs.length - 1].configuration
  }

  /**
   * Whether this node may start an election: it is a voter of its latest configuration, or of an
   * earlier one that may still be in force because the later ones are not known to be committed
   * (dissertation §4.1: such a node "might still be needed until the Cnew entry is committed"; it
   * campaigns under the latest configuration, its own vote not counting). Without the second case
   * a cluster can wedge: a leader removes itself, only it holds the entry, it loses leadership, and
   * the remaining voters, still under the old configuration, need its vote, which it refuses
   * them for their shorter logs. Learners (and nodes removed by a committed change) never campaign.
   */
  private mayCampaign(): boolean {
    for (let i = this.configs.length - 1; i >= 0; i--) {
      const record = this.configs[i]
      if (memberOf(record.configuration, this.id)?.role === "voter") return true
      if (record.index <= this.log.committed) return false // in force at the commit index: no older one matters
    }
    return false
  }

  /** Whether `ids` hold a majority of the voters in effect (anyone else is ignored). */
  private isQuorum(ids: Iterable<NodeId>): boolean {
    let count = 0
    for (const id of ids) if (this.voters.has(id)) count++
    return this.voters.size > 0 && count > this.voters.size / 2
  }

  /**
   * After a follower's append: configuration entries that a new leader truncated no longer
   * count (the configuration reverts to the one before), and those just appended take effect.
   */
  private reconcileConfigurations(appended: ReadonlyArray<Entry>): void {
    let changed = false
    while (this.configs.length > 1) {
      const last = this.configs[this.configs.length - 1]
      if (this.log.term(last.index) === last.term) break
      this.configs.pop()
      changed = true
    }
    const after = this.configs[this.configs.length - 1].index
    for (const entry of appended) {
      if (entry.kind !== EntryKind.Config || entry.index <= after) continue
      this.configs.push({ index: entry.index, term: entry.term, configuration: decodeConfigEntry(entry) })
      changed = true
    }
    if (changed) this.configurationChanged()
  }

  /** The configuration in effect changed (appended, truncated away, or from a snapshot). */
  private configurationChanged(): void {
    const config = this.configuration()
    this.voters = new Set(config.members.filter((m) => m.role === "voter").map((m) => m.id))
    this.others = config.members.filter((m) => m.id !== this.id).map((m) => m.id)
    this.otherVoters = this.others.filter((id) => this.voters.has(id))
    this.configurationAnnounced = false
    if (this.role !== "leader") return
    // Members that joined get a progress (probing from our last index); those that left lose theirs.
    for (const id of this.others) if (!this.replication.has(id)) this.replication.set(id, new Progress(this.log.lastIndex()))
    for (const id of [...this.replication.keys()]) if (memberOf(config, id) === undefined) this.replication.delete(id)
    if (this.transferee !== 0 && !this.voters.has(this.transferee)) this.transferee = 0
    // A removed voter no longer holds commits back.
    this.maybeCommit()
  }

  /** The other voter with the highest match index (ties: recently active first, then lowest id); 0: none. */
  private mostCaughtUpVoter(): NodeId {
    let best: NodeId = 0
    let bestPr: Progress | undefined
    for (const id of this.otherVoters) {
      const pr = this.replication.get(id)
      if (pr === undefined) continue
      const better =
        bestPr === undefined ||
        pr.match > bestPr.match ||
        (pr.match === bestPr.match && pr.recentActive && !bestPr.recentActive)
      if (better) {
        best = id
        bestPr = pr
      }
    }
    return best
  }

  /** Leader transfer: once the target holds our whole log, tell it to campaign now. */
  private maybeSendTimeoutNow(): boolean {
    const pr = this.replication.get(this.transferee)
    if (pr === undefined || pr.match !== this.log.lastIndex()) return false
    // Its candidate will ignore leases, so this leader's own lease is void from now on.
    this.leaseForfeited = true
    this.send({ type: "TimeoutNow", from: this.id, to: this.transferee, term: this.term })
    return true
  }

  // ---------------------------------------------------------------- helpers

  private send(message: Message): void {
    this.messages.push(message)
  }

  private resetElectionTimer(): void {
    const base = this.config.electionTicks
    this.randomizedTimeout = base + Math.floor(this.config.random() * base)
  }
}
