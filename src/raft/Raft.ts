/**
 * The pure Raft core (etcd-io/raft's design): a deterministic state machine driven by
 * tick/step/propose/readIndex/persisted, whose effects are collected and drained by `ready()`.
 * It performs no I/O and owns no clock or randomness (both are inputs), so it can be tested
 * exhaustively and run inside a simulation.
 */
import type { RaftConfig, RaftCore, RaftStatus, Ready, ReadState, RecoveredState, Role, SnapshotPoint, SnapshotToSend } from "./api.js"
import { Progress } from "./Progress.js"
import { RaftLog } from "./RaftLog.js"
import { ReadOnly, type ReadRequester } from "./ReadOnly.js"
import { EntryKind, type Entry, type HardState, type Message, type NodeId } from "./types.js"

const EMPTY = new Uint8Array(0)

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
  private readonly peers: ReadonlyArray<NodeId>
  private readonly quorum: number
  private readonly log: RaftLog

  private term: number
  private vote: NodeId
  private leader: NodeId = 0
  private role: Role = "follower"
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedTimeout = 0
  private votes = new Map<NodeId, boolean>()
  private progress = new Map<NodeId, Progress>()

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
    this.peers = config.voters.filter((id) => id !== config.id)
    this.quorum = Math.floor(config.voters.length / 2) + 1
    this.latestSnapshot = recovered.snapshot ?? { index: 0, term: 0 }
    this.log = new RaftLog(recovered.entries, recovered.hardState.commit, recovered.applied, this.latestSnapshot)
    this.term = recovered.hardState.term
    this.vote = recovered.hardState.vote
    this.lastHardState = { term: this.term, vote: this.vote, commit: this.log.committed }
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
      } else if (m.type === "Vote" && this.inLease()) {
        return // a live leader exists: ignore a disruptive candidate (check-quorum lease)
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
        return this.handlePropose(m.entries)
      case "ReadIndex":
        return this.handleRemoteRead(m.from, m.requestId)
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

  propose(data: ReadonlyArray<Uint8Array>): void {
    this.handlePropose(data)
  }

  readIndex(requestId: number): void {
    if (this.role === "leader") return this.leaderRead({ local: true, requestId })
    if (this.leader === 0) {
      this.readFailures.push(requestId)
      return
    }
    this.followerReads.push(requestId)
  }

  persisted(index: number, term: number): void {
    this.log.markPersisted(index, term)
    if (this.role === "leader") this.maybeCommit()
  }

  compact(index: number, term: number, keepEntries: number): void {
    if (index <= this.latestSnapshot.index) return
    this.latestSnapshot = { index, term }
    this.log.compact(index - keepEntries)
  }

  restoreSnapshot(index: number, term: number, from: NodeId): boolean {
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
    // Acknowledged once the WAL has recorded that the log now starts after the snapshot.
    this.messagesAfterPersist.push(this.appendResp(from, index, false, 0))
    return true
  }

  snapshotSent(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to)
    if (this.role !== "leader" || pr === undefined || pr.state !== "snapshot") return
    if (ok) pr.snapshotDoneTick = this.ticks
    else pr.becomeProbe()
  }

  ready(): Ready {
    if (this.role === "leader") {
      for (const to of this.appendTo) this.sendAppend(to)
      this.appendTo.clear()
      const context = this.readOnly.takeOpenContext()
      if (context !== undefined) this.broadcastHeartbeat(context)
    } else if (this.followerReads.length > 0 && this.leader !== 0) {
      const batch = this.nextReadBatch++
      this.forwardedReads.set(batch, { ids: this.followerReads, sentAt: this.ticks })
      this.send({ type: "ReadIndex", from: this.id, to: this.leader, term: this.term, requestId: batch })
      this.followerReads = []
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
      snapshotsToSend: this.snapshotsToSend
    }
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
      firstIndex: this.log.firstIndex()
    }
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

  private campaign(role: "pre-candidate" | "candidate"): void {
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
    if (this.votes.size >= this.quorum) return this.winElection()
    const request = {
      type: role === "candidate" ? ("Vote" as const) : ("PreVote" as const),
      from: this.id,
      term: role === "candidate" ? this.term : this.term + 1,
      lastLogIndex: this.log.lastIndex(),
      lastLogTerm: this.log.lastTerm()
    }
    for (const to of this.peers) {
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
    this.progress = new Map(this.peers.map((id) => [id, new Progress(this.log.lastIndex())]))
    // The no-op lets the leader commit entries of earlier terms (and serve reads) in its term.
    if (this.config.injectedBugs?.commitEarlierTermsByCounting !== true) this.appendEntries([EMPTY], EntryKind.Noop)
    if (this.pendingProposals.length > 0) {
      this.appendEntries(this.pendingProposals, EntryKind.Normal)
      this.pendingProposals = []
    }
    this.maybeCommit()
  }

  // ---------------------------------------------------------------- elections

  /** A node that heard from a live leader within an election timeout ignores candidates. */
  private inLease(): boolean {
    return this.leader !== 0 && this.electionElapsed < this.config.electionTicks
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
        let granted = 0
        for (const vote of this.votes.values()) if (vote) granted++
        const rejected = this.votes.size - granted
        if (granted >= this.quorum) this.winElection()
        else if (rejected >= this.quorum) this.becomeFollower(this.term, 0)
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
    const pr = this.progress.get(m.from)
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
        for (const round of this.readOnly.ack(m.from, m.context, this.quorum, this.id)) {
          for (const requester of round.requesters) this.releaseRead(requester, round.index)
        }
        return
      }
    }
  }

  private handlePropose(data: ReadonlyArray<Uint8Array>): void {
    if (data.length === 0) return
    if (this.role === "leader") return this.appendEntries(data, EntryKind.Normal)
    // Not the leader: forward at the end of the turn, or hold (bounded) until a leader is known.
    const room = this.config.maxPendingProposals - this.pendingProposals.length
    for (let i = 0; i < data.length; i++) {
      if (i < room) this.pendingProposals.push(data[i])
      else this.droppedProposals++
    }
  }

  private appendEntries(data: ReadonlyArray<Uint8Array>, kind: EntryKind): void {
    let index = this.log.lastIndex()
    const entries: Array<Entry> = data.map((bytes) => ({ index: ++index, term: this.term, kind, data: bytes }))
    this.log.append(entries)
    for (const id of this.peers) this.appendTo.add(id)
  }

  /** Build the Append(s) for one follower from its progress. */
  private sendAppend(to: NodeId): void {
    const pr = this.progress.get(to)!
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

  /** Advance the commit index to the highest entry of this term stored by a quorum. */
  private maybeCommit(): boolean {
    const matches = [this.log.persisted]
    for (const pr of this.progress.values()) matches.push(pr.match)
    matches.sort((a, b) => b - a)
    const candidate = matches[this.quorum - 1]
    // Raft §5.4.2: never commit an earlier term's entry by counting replicas.
    const earlierTermAllowed = this.config.injectedBugs?.commitEarlierTermsByCounting === true
    if (candidate <= this.log.committed || (this.log.term(candidate) !== this.term && !earlierTermAllowed)) return false
    this.log.commitTo(candidate)
    // Tell followers the new commit index at the end of this turn.
    for (const id of this.peers) this.appendTo.add(id)
    // The first commit of this term unblocks the reads that waited for it.
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit
      this.readsAwaitingCommit = []
      for (const requester of waiting) this.leaderRead(requester)
    }
    return true
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0
      let active = 1
      for (const pr of this.progress.values()) {
        if (pr.recentActive) active++
        pr.recentActive = false
      }
      if (active < this.quorum) {
        // Check-quorum: we may be cut off; stop acting as leader.
        this.becomeFollower(this.term, 0)
        return
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat(this.readOnly.pendingContext())
    }
  }

  private broadcastHeartbeat(context: number): void {
    for (const to of this.peers) {
      const pr = this.progress.get(to)!
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
    if (this.peers.length === 0) return this.releaseRead(requester, this.log.committed)
    this.readOnly.add(requester, this.log.committed)
  }

  private handleRemoteRead(from: NodeId, requestId: number): void {
    if (this.role !== "leader") return this.answerRemoteRead(from, requestId, undefined)
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
    this.followerReads = []
  }

  /** A forwarded read batch unanswered for an election timeout was probably lost: retry it. */
  private expireForwardedReads(): void {
    for (const [batch, { ids, sentAt }] of this.forwardedReads) {
      if (this.ticks - sentAt < this.config.electionTicks) continue
      this.forwardedReads.delete(batch)
      for (const id of ids) this.readFailures.push(id)
    }
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
