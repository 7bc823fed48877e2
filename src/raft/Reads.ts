/**
 * Linearizable reads without log entries (Raft dissertation §6.4), apart from the heartbeat
 * rounds themselves (ReadOnly.ts):
 *
 * - `LeaderReads`: a leader confirms each read with a heartbeat round, once it has committed an
 *   entry of its term (until then it cannot know the latest commit index, so reads wait); it
 *   answers local reads with a ReadState and a follower's with a ReadIndexResp.
 * - `ReadLease`: a quorum's acknowledgement of a heartbeat starts a lease during which the leader
 *   may answer reads at its commit index without a round (§6.4.1).
 * - `ForwardedReads`: a follower sends each turn's reads to its leader in one ReadIndex batch
 *   (two: plain and lease reads), and fails them when that leader is gone or the batch is lost.
 */
import type { Outbox } from "./Outbox.js"
import { ReadOnly, type ReadRequester } from "./ReadOnly.js"
import type { NodeId } from "./types.js"

/** What the leader's reads need to know of the core. */
export interface ReadingNode {
  readonly id: NodeId
  term(): number
  committed(): number
  /** Whether the commit index is in this term (a new leader's first commit). */
  committedInTerm(): boolean
  isQuorum(ids: Iterable<NodeId>): boolean
}

/**
 * A leader's read lease: from the tick at which the newest heartbeat a quorum acknowledged was
 * sent, for `leaseTicks`, no other leader can exist (every acknowledging voter refuses
 * candidates for an election timeout), so reads may be served without a round.
 */
export class ReadLease {
  private from = Number.NEGATIVE_INFINITY
  /** A TimeoutNow went out this term (its candidate ignores leases): no lease reads any more. */
  private forfeited = false

  /** A new term's leadership: a lease is earned with this term's heartbeats, never inherited. */
  begin(): void {
    this.from = Number.NEGATIVE_INFINITY
    this.forfeited = false
  }

  /** Leadership lost. */
  end(): void {
    this.from = Number.NEGATIVE_INFINITY
  }

  /** A quorum acknowledged a heartbeat sent at `sentTick`. */
  confirmed(sentTick: number): void {
    if (sentTick > this.from) this.from = sentTick
  }

  forfeit(): void {
    this.forfeited = true
  }

  /** Whether the lease holds at tick `now` (a `leaseTicks` of 0: lease reads are off). */
  holds(now: number, leaseTicks: number): boolean {
    return leaseTicks > 0 && !this.forfeited && now - this.from < leaseTicks
  }
}

export class LeaderReads {
  private readonly rounds = new ReadOnly()
  /** Reads that arrived before the leader committed an entry of its term. */
  private awaitingCommit: Array<ReadRequester> = []
  readonly lease = new ReadLease()

  constructor(
    private readonly node: ReadingNode,
    private readonly outbox: Outbox
  ) {}

  /** A read asked of this leader: answered at the commit index at once when `leaseHeld`, else confirmed by a round. */
  serve(requester: ReadRequester, leaseHeld: boolean): void {
    if (leaseHeld) return this.release(requester, this.node.committed())
    this.read(requester)
  }

  /** Confirm a read at the commit index: now if this node alone is a quorum, else in this turn's round. */
  private read(requester: ReadRequester): void {
    if (!this.node.committedInTerm()) {
      this.awaitingCommit.push(requester)
      return
    }
    if (this.node.isQuorum([this.node.id])) return this.release(requester, this.node.committed())
    this.rounds.add(requester, this.node.committed())
  }

  /** The commit index moved: the first commit of this term unblocks the reads that waited for it. */
  commitAdvanced(): void {
    if (this.awaitingCommit.length > 0) {
      const waiting = this.awaitingCommit
      this.awaitingCommit = []
      for (const requester of waiting) this.read(requester)
    }
  }

  /** Confirmed at `index`: a local read becomes a ReadState, a follower's gets the index. */
  private release(requester: ReadRequester, index: number): void {
    if (requester.local) this.outbox.readConfirmed(requester.requestId, index)
    else this.answerRemote(requester.from, requester.requestId, index)
  }

  /** Answer a follower's ReadIndex request; `index` undefined rejects it. */
  answerRemote(to: NodeId, requestId: number, index: number | undefined): void {
    this.outbox.send({ type: "ReadIndexResp", from: this.node.id, to, term: this.node.term(), requestId, index: index ?? 0, reject: index === undefined })
  }

  /** Leadership lost: every read not yet confirmed fails. */
  failAll(): void {
    const failed = [...this.rounds.reset(), ...this.awaitingCommit]
    this.awaitingCommit = []
    for (const requester of failed) {
      if (requester.local) this.outbox.readFailed(requester.requestId)
      else this.answerRemote(requester.from, requester.requestId, undefined)
    }
  }

  /** The context of this turn's round, sent at `tick`, if reads joined one. */
  takeOpenRound(tick: number): number | undefined {
    return this.rounds.takeOpenContext(tick)
  }

  /** The context for a periodic heartbeat sent at `tick`. */
  heartbeatRound(tick: number): number {
    return this.rounds.heartbeatContext(tick)
  }

  /** `from` acknowledged the heartbeats up to `context`: what a quorum confirmed is released, and extends the lease. */
  acknowledged(from: NodeId, context: number): void {
    for (const round of this.rounds.ack(from, context, this.node.id, (acks) => this.node.isQuorum(acks))) {
      this.lease.confirmed(round.sentTick)
      for (const requester of round.requesters) this.release(requester, round.index)
    }
  }
}

export class ForwardedReads {
  /** This turn's reads, sent to the leader in one ReadIndex message. */
  private reads: Array<number> = []
  /** This turn's lease reads, sent to the leader in one ReadIndex message marked `lease`. */
  private leaseReads: Array<number> = []
  /** Batches sent to the leader, by batch id, with the tick they were sent at. */
  private sent = new Map<number, { ids: Array<number>; sentAt: number }>()
  private nextBatch = 1

  constructor(private readonly outbox: Outbox) {}

  queue(requestId: number, lease: boolean): void {
    ;(lease ? this.leaseReads : this.reads).push(requestId)
  }

  /** Send this turn's reads to `leader` (at `tick`, in `term`). */
  forward(self: NodeId, leader: NodeId, term: number, tick: number): void {
    for (const lease of [false, true]) {
      const ids = lease ? this.leaseReads : this.reads
      if (ids.length === 0) continue
      const batch = this.nextBatch++
      this.sent.set(batch, { ids, sentAt: tick })
      this.outbox.send({ type: "ReadIndex", from: self, to: leader, term, requestId: batch, ...(lease ? { lease: true } : {}) })
    }
    this.reads = []
    this.leaseReads = []
  }

  /** The leader answered batch `batch`: confirmed at `index`, or rejected (`index` undefined). */
  answered(batch: number, index: number | undefined): void {
    const sent = this.sent.get(batch)
    if (sent === undefined) return
    this.sent.delete(batch)
    for (const requestId of sent.ids) {
      if (index === undefined) this.outbox.readFailed(requestId)
      else this.outbox.readConfirmed(requestId, index)
    }
  }

  /** Reads sent to (or meant for) a leader that will never answer them: let them retry. */
  failAll(): void {
    for (const batch of this.sent.values()) for (const id of batch.ids) this.outbox.readFailed(id)
    this.sent.clear()
    for (const id of this.reads) this.outbox.readFailed(id)
    for (const id of this.leaseReads) this.outbox.readFailed(id)
    this.reads = []
    this.leaseReads = []
  }

  /** A batch unanswered for `timeout` ticks (at `tick`) was probably lost: retry its reads. */
  expire(tick: number, timeout: number): void {
    for (const [batch, { ids, sentAt }] of this.sent) {
      if (tick - sentAt < timeout) continue
      this.sent.delete(batch)
      for (const id of ids) this.outbox.readFailed(id)
    }
  }
}
