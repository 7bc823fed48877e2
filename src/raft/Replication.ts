/**
 * The leader's side of log replication: the Progress of every other member, which of them
 * should get an Append at the end of this turn, and the Appends, snapshot requests and
 * Heartbeats built from that progress. Deciding what commits (and what follows from it) stays
 * with the core: this module only reports how far the voters' logs match.
 */
import type { MemberProgress, RaftConfig, SnapshotPoint } from "./api.js"
import { memberOf, type Configuration } from "./Configuration.js"
import type { Outbox } from "./Outbox.js"
import { Progress } from "./Progress.js"
import type { RaftLog } from "./RaftLog.js"
import type { NodeId } from "./types.js"

export class Replication {
  /** Leader: the replication progress of every other member. */
  private progress = new Map<NodeId, Progress>()
  /** Followers that should get an Append at the end of this turn. */
  private readonly appendTo = new Set<NodeId>()

  constructor(
    private readonly self: NodeId,
    private readonly config: RaftConfig,
    private readonly log: RaftLog,
    private readonly outbox: Outbox
  ) {}

  /** A new leadership: every other member starts probing from our last index. */
  restart(others: ReadonlyArray<NodeId>): void {
    this.progress = new Map(others.map((id) => [id, new Progress(this.log.lastIndex())]))
  }

  /** The configuration changed: members that joined get a progress (probing from our last index); those that left lose theirs. */
  track(others: ReadonlyArray<NodeId>, configuration: Configuration): void {
    for (const id of others) if (!this.progress.has(id)) this.progress.set(id, new Progress(this.log.lastIndex()))
    for (const id of [...this.progress.keys()]) if (memberOf(configuration, id) === undefined) this.progress.delete(id)
  }

  get(id: NodeId): Progress | undefined {
    return this.progress.get(id)
  }

  /** Send `to` an Append at the end of this turn. */
  queue(to: NodeId): void {
    this.appendTo.add(to)
  }

  queueAll(ids: ReadonlyArray<NodeId>): void {
    for (const id of ids) this.appendTo.add(id)
  }

  /** Send what was queued this turn. */
  sendQueued(term: number, tick: number, snapshot: SnapshotPoint): void {
    for (const to of this.appendTo) this.sendAppend(to, term, tick, snapshot)
    this.appendTo.clear()
  }

  /** Send `ids` their Appends now (whatever was queued is dropped). */
  sendNow(ids: ReadonlyArray<NodeId>, term: number, tick: number, snapshot: SnapshotPoint): void {
    for (const id of ids) this.sendAppend(id, term, tick, snapshot)
    this.appendTo.clear()
  }

  /** The node streamed the snapshot to `to` (at `tick`), or failed to. */
  snapshotSent(to: NodeId, ok: boolean, tick: number): void {
    const pr = this.progress.get(to)
    if (pr === undefined || pr.state !== "snapshot") return
    if (ok) pr.snapshotDoneTick = tick
    else pr.becomeProbe()
  }

  /** A follower accepted an append up to `index`: returns whether its match index moved. */
  accepted(pr: Progress, index: number): boolean {
    if (!pr.maybeUpdate(index)) return false
    if (pr.state === "probe" || (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot)) pr.becomeReplicate()
    return true
  }

  /** A follower refused an append at `index`: probe further back unless the refusal is stale. */
  refused(from: NodeId, pr: Progress, index: number, hint: number): void {
    if (pr.maybeDecrease(index, hint)) this.appendTo.add(from)
  }

  /** A follower answered a heartbeat at `tick` (now): it is reachable. */
  heartbeatAnswered(from: NodeId, pr: Progress, tick: number): void {
    pr.recentActive = true
    pr.probeSent = false
    // The follower is reachable; appends it never answered within an election timeout were lost.
    pr.recoverLostAppends(tick - this.config.electionTicks)
    pr.recoverLostSnapshot(tick - this.config.electionTicks)
    this.queueIfBehind(from, pr)
  }

  /** Queue an Append for a follower whose log is behind ours. */
  queueIfBehind(from: NodeId, pr: Progress): void {
    if (pr.match < this.log.lastIndex()) this.appendTo.add(from)
  }

  /**
   * The highest index stored by a majority of `voters` (this node counts with `persisted`, what
   * its WAL has synced). `voters` must not be empty.
   */
  quorumMatch(voters: ReadonlySet<NodeId>, persisted: number): number {
    const matches: Array<number> = []
    for (const id of voters) matches.push(id === this.self ? persisted : (this.progress.get(id)?.match ?? 0))
    matches.sort((a, b) => b - a)
    return matches[Math.floor(voters.size / 2)]
  }

  /** Check-quorum: this node and the members heard from since the last call (which starts a new round). */
  takeRecentlyActive(): Array<NodeId> {
    const active: Array<NodeId> = [this.self]
    for (const [id, pr] of this.progress) {
      if (pr.recentActive) active.push(id)
      pr.recentActive = false
    }
    return active
  }

  /** The voter of `otherVoters` with the highest match index (ties: recently active first, then lowest id); 0: none. */
  mostCaughtUp(otherVoters: ReadonlyArray<NodeId>): NodeId {
    let best: NodeId = 0
    let bestPr: Progress | undefined
    for (const id of otherVoters) {
      const pr = this.progress.get(id)
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

  report(voters: ReadonlySet<NodeId>): ReadonlyArray<MemberProgress> {
    return [...this.progress.entries()].map(([id, pr]) => ({
      id,
      role: voters.has(id) ? ("voter" as const) : ("learner" as const),
      match: pr.match,
      state: pr.state,
      recentActive: pr.recentActive
    }))
  }

  broadcastHeartbeat(term: number, context: number): void {
    for (const [to, pr] of this.progress) {
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed)
      this.outbox.send({ type: "Heartbeat", from: this.self, to, term, commit, context })
    }
  }

  /** Build the Append(s) for one follower from its progress. */
  private sendAppend(to: NodeId, term: number, tick: number, snapshot: SnapshotPoint): void {
    const pr = this.progress.get(to)
    if (pr === undefined) return // removed from the configuration meanwhile
    const last = this.log.lastIndex()
    let first = true
    while (!pr.isPaused(this.config.maxInflight) && (first || pr.next <= last)) {
      first = false
      const prevIndex = pr.next - 1
      const prevTerm = this.log.term(prevIndex)
      if (prevTerm === undefined) return this.sendSnapshot(to, pr, snapshot)
      const entries = this.log.slice(pr.next, last + 1, this.config.maxEntriesPerAppend, this.config.maxBytesPerMessage)
      this.outbox.send({
        type: "Append",
        from: this.self,
        to,
        term,
        prevIndex,
        prevTerm,
        entries,
        commit: this.log.committed
      })
      pr.sent(prevIndex + entries.length, entries.length > 0, tick)
      if (entries.length === 0) return
    }
  }

  /** The follower needs entries that were compacted away: it gets the latest snapshot instead. */
  private sendSnapshot(to: NodeId, pr: Progress, snapshot: SnapshotPoint): void {
    pr.becomeSnapshot(snapshot.index)
    this.outbox.snapshotToSend({ to, ...snapshot })
  }
}
