/**
 * The pure Raft core (etcd-io/raft's design): a deterministic state machine driven by
 * tick/step/propose/readIndex/persisted, whose effects are collected and drained by `ready()`.
 * It performs no I/O and owns no clock or randomness (both are inputs), so it can be tested
 * exhaustively and run inside a simulation.
 *
 * This class keeps the role, term, vote and leader, handles each message as its role requires,
 * and decides what commits. The parts with state of their own are modules: RaftLog (the log),
 * Membership (the configurations, their quorums, and why single-server changes are safe),
 * Election (timer, votes, the rules for granting one), Replication (the leader's progress of
 * each follower, the Appends and Heartbeats), Reads (read-index rounds, the lease, forwarded
 * reads), LeaderTransfer (TimeoutNow), Proposals (held for the leader) and Outbox (a turn's outputs).
 */
import type {
  ConfigChangeResult,
  MemberProgress,
  ProposeOutcome,
  RaftConfig,
  RaftCore,
  RaftStatus,
  Ready,
  RecoveredState,
  Role,
  SnapshotPoint,
  TransferResult
} from "./api.js"
import { encodeConfiguration, type ConfigChange, type Configuration } from "./Configuration.js"
import { Election } from "./Election.js"
import { LeaderTransfer, refuseTransfer } from "./LeaderTransfer.js"
import { Membership } from "./Membership.js"
import { Outbox } from "./Outbox.js"
import { PendingProposals } from "./Proposals.js"
import { RaftLog } from "./RaftLog.js"
import { ForwardedReads, LeaderReads } from "./Reads.js"
import { Replication } from "./Replication.js"
import { EntryKind, type Entry, type Message, type NodeId } from "./types.js"

const EMPTY = new Uint8Array(0)
const DEFAULT_MAX_PROMOTION_LAG = 1000

export const makeRaft = (config: RaftConfig, recovered: RecoveredState): RaftCore => new Raft(config, recovered)

class Raft implements RaftCore {
  private readonly id: NodeId
  private readonly log: RaftLog
  private readonly membership: Membership
  private readonly election: Election
  /** Leader: whom it replicates to, and how far each one is. */
  private readonly replication: Replication
  /** Leader: the voter leadership is being handed to, if any. */
  private readonly transfer: LeaderTransfer
  /** Leader: reads confirmed by heartbeat rounds, and the read lease. */
  private readonly reads: LeaderReads
  /** Not the leader: reads sent to the leader, and proposals held for it. */
  private readonly forwarded: ForwardedReads
  private readonly proposals: PendingProposals
  /** This turn's outputs, until ready() takes them. */
  private readonly outbox: Outbox

  private term: number
  private vote: NodeId
  private leader: NodeId = 0
  private role: Role = "follower"
  private heartbeatElapsed = 0
  private ticks = 0

  /** A received snapshot the engine must be restored from (announced in the next Ready). */
  private restoredSnapshot: SnapshotPoint | undefined
  /** The newest durable snapshot, the one sent to followers behind the compacted log. */
  private latestSnapshot: SnapshotPoint

  constructor(
    private readonly config: RaftConfig,
    recovered: RecoveredState
  ) {
    this.id = config.id
    this.latestSnapshot = recovered.snapshot ?? { index: 0, term: 0 }
    this.log = new RaftLog(recovered.entries, recovered.hardState.commit, recovered.applied, this.latestSnapshot)
    this.term = recovered.hardState.term
    this.vote = recovered.hardState.vote
    this.outbox = new Outbox({ term: this.term, vote: this.vote, commit: this.log.committed })
    // The configuration: the snapshot's (or the initial one), then every configuration entry after it.
    this.membership = new Membership(this.id, this.latestSnapshot, recovered.snapshotConfiguration ?? config.configuration, recovered.entries)
    this.replication = new Replication(this.id, config, this.log, this.outbox)
    const node = {
      id: this.id,
      term: () => this.term,
      committed: () => this.log.committed,
      committedInTerm: () => this.committedInTerm(),
      isQuorum: (ids: Iterable<NodeId>) => this.membership.isQuorum(ids)
    }
    this.reads = new LeaderReads(node, this.outbox)
    this.forwarded = new ForwardedReads(this.outbox)
    this.proposals = new PendingProposals(config, this.outbox)
    this.transfer = new LeaderTransfer(this.id, this.log, this.replication, this.reads.lease, this.outbox)
    this.election = new Election(this.id, config, this.membership)
    this.election.restartTimer()
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.ticks++
    // A forwarded read batch unanswered for an election timeout was probably lost: retry it.
    this.forwarded.expire(this.ticks, this.config.electionTicks)
    if (this.role === "leader") this.tickLeader()
    else if (this.election.timedOut()) this.campaign("pre-candidate")
  }

  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return
    if (m.term > this.term) {
      if (m.type === "PreVote" || (m.type === "PreVoteResp" && !m.reject)) {
        // Pre-votes never change terms: that is what makes them harmless.
      } else if (m.type === "Vote" && m.transfer !== true && this.election.refusesCandidates(this.leader, this.ticks)) {
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
        this.send(this.appendResp(m.from, 0, true, 0))
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
    if (this.role !== "leader") return this.notLeader()
    if (this.transfer.target !== 0) {
      return { ok: false, reason: "transferring", message: `leadership is being transferred to node ${this.transfer.target}` }
    }
    const outcome = this.membership.admit(change, {
      committed: this.log.committed,
      // (The injected bug lets a new leader change the configuration before it commits in its term.)
      committedInTerm: this.committedInTerm() || this.config.injectedBugs?.configChangeBeforeCommitInTerm === true,
      lastIndex: this.log.lastIndex(),
      matchOf: (id) => this.replication.get(id)?.match ?? 0,
      maxPromotionLag: this.config.maxPromotionLag ?? DEFAULT_MAX_PROMOTION_LAG
    })
    if (!outcome.ok) return outcome
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind: EntryKind.Config, data: encodeConfiguration(outcome.configuration) }
    this.log.append([entry])
    this.membership.appended(entry.index, entry.term, outcome.configuration)
    this.configurationChanged()
    this.replication.queueAll(this.membership.others)
    return { ok: true, index: entry.index, term: entry.term, configuration: outcome.configuration }
  }

  transferLeader(target?: NodeId): TransferResult {
    if (this.role !== "leader") return this.notLeader()
    const to = target ?? this.replication.mostCaughtUp(this.membership.otherVoters)
    const refusal = refuseTransfer(this.id, this.membership.current(), to)
    if (refusal !== undefined) return refusal
    if (this.transfer.target !== to) this.transfer.start(to, this.term)
    return { ok: true, target: to }
  }

  readIndex(requestId: number, lease = false): void {
    if (this.role === "leader") return this.reads.serve({ local: true, requestId }, lease && this.holdsLease())
    if (this.leader === 0) {
      this.outbox.readFailed(requestId)
      return
    }
    this.forwarded.queue(requestId, lease)
  }

  persisted(index: number, term: number): void {
    this.log.markPersisted(index, term)
    if (this.role === "leader") this.maybeCommit()
  }

  compact(index: number, term: number, keepEntries: number): void {
    if (index <= this.latestSnapshot.index) return
    this.latestSnapshot = { index, term }
    // The snapshot carries the configuration as of its index: it becomes the base.
    this.membership.compact(index, term)
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
      this.outbox.sendAfterPersist(this.appendResp(from, index, false, 0))
      return false
    }
    this.log.restore(index, term)
    this.latestSnapshot = { index, term }
    this.restoredSnapshot = { index, term }
    this.membership.restore(index, term, configuration)
    this.configurationChanged()
    // Acknowledged once the WAL has recorded that the log now starts after the snapshot.
    this.outbox.sendAfterPersist(this.appendResp(from, index, false, 0))
    return true
  }

  snapshotSent(to: NodeId, ok: boolean): void {
    if (this.role === "leader") this.replication.snapshotSent(to, ok, this.ticks)
  }

  ready(): Ready {
    if (this.role === "leader") {
      this.replication.sendQueued(this.term, this.ticks, this.latestSnapshot)
      const context = this.reads.takeOpenRound(this.ticks)
      if (context !== undefined) this.replication.broadcastHeartbeat(this.term, context)
    } else if (this.leader !== 0) {
      this.forwarded.forward(this.id, this.leader, this.term, this.ticks)
    }
    if (this.leader !== 0 && this.role === "follower") this.proposals.forward(this.id, this.leader, this.term)

    const { hardState, termOrVoteChanged } = this.outbox.hardStateChange({ term: this.term, vote: this.vote, commit: this.log.committed })
    const entries = this.log.takeUnstable()
    const outputs = this.outbox.take()
    const ready: Ready = {
      hardState,
      entries,
      mustSync: termOrVoteChanged || entries.length > 0 || this.restoredSnapshot !== undefined,
      messages: outputs.messages,
      messagesAfterPersist: outputs.messagesAfterPersist,
      committed: this.log.takeCommitted(),
      readStates: outputs.readStates,
      readFailures: outputs.readFailures,
      droppedProposals: outputs.droppedProposals,
      snapshot: this.restoredSnapshot,
      snapshotsToSend: outputs.snapshotsToSend,
      configuration: this.membership.announce()
    }
    this.restoredSnapshot = undefined
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
      configuration: this.membership.current(),
      configurationIndex: this.membership.currentIndex(),
      transferee: this.transfer.target,
      lease: this.holdsLease()
    }
  }

  progress(): ReadonlyArray<MemberProgress> {
    if (this.role !== "leader") return []
    return this.replication.report(this.membership.voters)
  }

  configurationAt(index: number): Configuration | undefined {
    return this.membership.at(index)
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
    this.transfer.cancel()
    this.reads.lease.end()
    this.election.restartTimer()
    if (wasLeader) this.reads.failAll()
    this.setLeader(leader)
  }

  private setLeader(leader: NodeId): void {
    if (leader !== this.leader) {
      // Reads forwarded to a previous leader will never be answered by it: let them retry.
      this.forwarded.failAll()
    }
    this.leader = leader
  }

  /** `transfer`: the leader handed leadership to us (skip pre-vote, break leases). */
  private campaign(role: "pre-candidate" | "candidate", transfer = false): void {
    if (!this.membership.mayCampaign(this.log.committed)) return
    this.election.restartTimer()
    this.forwarded.failAll()
    this.leader = 0
    this.role = role
    if (role === "candidate") {
      this.term++
      this.vote = this.id
    }
    const request = this.election.begin(role, this.term, this.log, transfer)
    if (this.election.count() === "won") return this.winElection()
    for (const to of this.membership.otherVoters) {
      // A vote request leaves only once our own vote for ourselves is durable.
      if (role === "candidate") this.outbox.sendAfterPersist({ ...request, to })
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
    this.election.elapsed = 0
    this.transfer.cancel()
    // A lease is earned with this term's heartbeats, never inherited.
    this.reads.lease.begin()
    this.replication.restart(this.membership.others)
    // The no-op lets the leader commit entries of earlier terms (and serve reads) in its term.
    if (this.config.injectedBugs?.commitEarlierTermsByCounting !== true) this.appendEntries([EMPTY], EntryKind.Noop)
    const held = this.proposals.take()
    if (held.length > 0) this.appendEntries(held, EntryKind.Normal)
    this.maybeCommit()
  }

  // ---------------------------------------------------------------- elections

  private handleVoteRequest(m: Extract<Message, { type: "PreVote" | "Vote" }>): void {
    const pre = m.type === "PreVote"
    const responseType = pre ? ("PreVoteResp" as const) : ("VoteResp" as const)
    if (this.election.grants(m, this.vote, this.leader, this.term, this.ticks, this.log)) {
      if (pre) {
        this.send({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false })
      } else {
        this.election.elapsed = 0
        this.vote = m.from
        this.outbox.sendAfterPersist({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false })
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
        const outcome = this.election.count(m.from, !m.reject)
        if (outcome === "won") this.winElection()
        else if (outcome === "lost") this.becomeFollower(this.term, 0)
        return
      }
    }
  }

  // ---------------------------------------------------------------- replication

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "Append":
        this.election.elapsed = 0
        this.setLeader(m.from)
        return this.handleAppend(m)
      case "Heartbeat":
        this.election.elapsed = 0
        this.setLeader(m.from)
        return this.handleHeartbeat(m)
      case "TimeoutNow":
        // The leader hands leadership over: campaign at once, without pre-vote (a node that may
        // not campaign ignores it: campaign() checks).
        return this.campaign("candidate", true)
      case "ReadIndexResp":
        return this.forwarded.answered(m.requestId, m.reject ? undefined : m.index)
    }
  }

  private handleAppend(m: Extract<Message, { type: "Append" }>): void {
    if (m.prevIndex < this.log.committed) {
      // Already committed here: acknowledge what we have so the leader moves on.
      this.outbox.sendAfterPersist(this.appendResp(m.from, this.log.committed, false, 0))
      return
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries)
    if (lastNew !== undefined) {
      // Configuration entries a new leader truncated no longer count; those appended take effect.
      if (this.membership.reconcile((index) => this.log.term(index), m.entries)) this.configurationChanged()
      // The acknowledgement promises durability: it leaves after the fsync.
      this.outbox.sendAfterPersist(this.appendResp(m.from, lastNew, false, 0))
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
        if (m.reject) return this.replication.refused(m.from, pr, m.index, m.hint)
        if (this.replication.accepted(pr, m.index)) {
          if (m.from === this.transfer.target) this.transfer.maybeHandOver(this.term)
          if (this.maybeCommit()) return
        }
        this.replication.queueIfBehind(m.from, pr)
        return
      }
      case "HeartbeatResp": {
        this.replication.heartbeatAnswered(m.from, pr, this.ticks)
        // A TimeoutNow may have been lost: the follower answers heartbeats, so send it again.
        if (m.from === this.transfer.target) this.transfer.maybeHandOver(this.term)
        // Read rounds up to its context may now be confirmed (and the lease extended).
        this.reads.acknowledged(m.from, m.context)
        return
      }
    }
  }

  private handlePropose(data: ReadonlyArray<Uint8Array>): ProposeOutcome {
    if (data.length === 0) return "accepted"
    if (this.role === "leader") {
      // Leadership is being handed over: take nothing more (etcd drops proposals likewise).
      if (this.transfer.target !== 0) return "transferring"
      this.appendEntries(data, EntryKind.Normal)
      return "accepted"
    }
    // Not the leader: forward at the end of the turn, or hold (bounded) until a leader is known.
    this.proposals.hold(data)
    return "accepted"
  }

  private appendEntries(data: ReadonlyArray<Uint8Array>, kind: EntryKind): void {
    let index = this.log.lastIndex()
    const entries: Array<Entry> = data.map((bytes) => ({ index: ++index, term: this.term, kind, data: bytes }))
    this.log.append(entries)
    this.replication.queueAll(this.membership.others)
  }

  /**
   * Advance the commit index to the highest entry of this term stored by a quorum of the voters
   * (this node counts only if it is one, and only for what its WAL has synced).
   */
  private maybeCommit(): boolean {
    if (this.membership.voters.size === 0) return false
    const candidate = this.replication.quorumMatch(this.membership.voters, this.log.persisted)
    // Raft §5.4.2: never commit an earlier term's entry by counting replicas.
    const earlierTermAllowed = this.config.injectedBugs?.commitEarlierTermsByCounting === true
    if (candidate <= this.log.committed || (this.log.term(candidate) !== this.term && !earlierTermAllowed)) return false
    this.log.commitTo(candidate)
    // Tell followers the new commit index at the end of this turn.
    this.replication.queueAll(this.membership.others)
    // The first commit of this term unblocks the reads that waited for it.
    this.reads.commitAdvanced()
    // A leader that removed itself leads until that change commits, then steps down.
    if (!this.membership.voters.has(this.id) && this.log.committed >= this.membership.currentIndex()) this.stepDownRemoved()
    return true
  }

  /**
   * This leader is no longer a voter and the configuration saying so is committed: tell the
   * followers the commit index, hand leadership to the most caught-up voter if it holds our whole
   * log (so the cluster does not wait an election timeout), and step down. Not being a voter, it
   * never campaigns again.
   */
  private stepDownRemoved(): void {
    this.replication.sendNow(this.membership.others, this.term, this.ticks, this.latestSnapshot)
    const best = this.replication.mostCaughtUp(this.membership.otherVoters)
    if (best !== 0 && this.replication.get(best)!.match === this.log.lastIndex()) this.transfer.handOver(best, this.term)
    this.becomeFollower(this.term, 0)
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.election.elapsed++
    this.transfer.tick(this.config.electionTicks)
    if (this.election.elapsed >= this.config.electionTicks) {
      this.election.elapsed = 0
      if (!this.membership.isQuorum(this.replication.takeRecentlyActive())) {
        // Check-quorum: we may be cut off; stop acting as leader.
        this.becomeFollower(this.term, 0)
        return
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.replication.broadcastHeartbeat(this.term, this.reads.heartbeatRound(this.ticks))
    }
  }

  // ---------------------------------------------------------------- reads

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term
  }

  /** Whether this leader may serve a read at its commit index without a round (a lease read). */
  private holdsLease(): boolean {
    return this.role === "leader" && this.transfer.target === 0 && this.committedInTerm() && this.reads.lease.holds(this.ticks, this.config.leaseTicks ?? 0)
  }

  private handleRemoteRead(from: NodeId, requestId: number, lease: boolean): void {
    if (this.role !== "leader") return this.reads.answerRemote(from, requestId, undefined)
    this.reads.serve({ local: false, from, requestId }, lease && this.holdsLease())
  }

  // ---------------------------------------------------------------- membership

  /** The configuration in effect changed (appended, truncated away, or from a snapshot): a leader adjusts. */
  private configurationChanged(): void {
    if (this.role !== "leader") return
    this.replication.track(this.membership.others, this.membership.current())
    if (this.transfer.target !== 0 && !this.membership.voters.has(this.transfer.target)) this.transfer.cancel()
    // A removed voter no longer holds commits back.
    this.maybeCommit()
  }

  // ---------------------------------------------------------------- helpers

  private notLeader(): { ok: false; reason: "not-leader"; message: string } {
    return { ok: false, reason: "not-leader", message: this.leader !== 0 ? `not the leader; node ${this.leader} is` : "not the leader; no leader is known" }
  }

  private send(message: Message): void {
    this.outbox.send(message)
  }
}
