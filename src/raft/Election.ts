/**
 * Elections (Raft §5.2, with the dissertation's pre-vote and check-quorum, §9.6): the election
 * timer, the votes a (pre-)candidate collects, and the rules for granting one. The role changes
 * an election leads to (campaigning, winning, stepping down) stay with the core.
 */
import type { RaftConfig } from "./api.js"
import type { Membership } from "./Membership.js"
import type { RaftLog } from "./RaftLog.js"
import type { NodeId, VoteRequest } from "./types.js"

export class Election {
  /**
   * Ticks since the timer last restarted: for a follower, since it last heard from a leader or
   * granted a vote; for a leader, the check-quorum period.
   */
  elapsed = 0
  /** The election timeout, randomized in [electionTicks, 2 × electionTicks). */
  private timeout = 0
  /** The answers to this campaign's requests (our own vote included). */
  private votes = new Map<NodeId, boolean>()

  constructor(
    private readonly self: NodeId,
    private readonly config: RaftConfig,
    private readonly membership: Membership
  ) {}

  /** Start counting from now, with a new randomized timeout. */
  restartTimer(): void {
    this.elapsed = 0
    const base = this.config.electionTicks
    this.timeout = base + Math.floor(this.config.random() * base)
  }

  /** A follower's (or candidate's) tick: whether the election timeout has passed. */
  timedOut(): boolean {
    this.elapsed++
    return this.elapsed >= this.timeout
  }

  /**
   * A node that heard from a live leader within an election timeout ignores candidates. With
   * `holdVotesAfterStart`, so does a node during its first election timeout after starting: it may
   * have acknowledged a leader's heartbeat just before it restarted, and that leader's read lease
   * counts on it not helping to elect another leader within the timeout.
   */
  refusesCandidates(leader: NodeId, ticks: number): boolean {
    if (this.config.holdVotesAfterStart === true && ticks < this.config.electionTicks) return true
    return leader !== 0 && this.elapsed < this.config.electionTicks
  }

  /**
   * Whether to grant `m`, given this node's `vote` and `leader` in `term`: a vote once per term
   * (again to the same candidate), a pre-vote for a later term unless a leader is live, and either
   * only to a candidate whose log is at least as up to date as ours.
   */
  grants(m: VoteRequest, vote: NodeId, leader: NodeId, term: number, ticks: number, log: RaftLog): boolean {
    const canVote = vote === m.from || (vote === 0 && leader === 0) || (m.type === "PreVote" && m.term > term && !this.refusesCandidates(leader, ticks))
    return canVote && log.isUpToDate(m.lastLogIndex, m.lastLogTerm)
  }

  /**
   * A new campaign for `term` (a pre-candidate asks about the next term): our own vote counts at
   * once; returns the request for every other voter (`to` added by the caller). `transfer`: the
   * leader handed leadership to us (skip pre-vote, break leases).
   */
  begin(role: "pre-candidate" | "candidate", term: number, log: RaftLog, transfer: boolean): Omit<VoteRequest, "to"> {
    this.votes = new Map([[this.self, true]])
    return {
      type: role === "candidate" ? ("Vote" as const) : ("PreVote" as const),
      from: this.self,
      term: role === "candidate" ? term : term + 1,
      lastLogIndex: log.lastIndex(),
      lastLogTerm: log.lastTerm(),
      ...(transfer ? { transfer: true } : {})
    }
  }

  /**
   * Count an answer (none: just our own vote): "won" once a quorum granted, "lost" once a quorum
   * refused. Only the voters of our configuration count (isQuorum ignores anyone else).
   */
  count(from?: NodeId, granted?: boolean): "won" | "lost" | undefined {
    if (from !== undefined) this.votes.set(from, granted === true)
    const yes: Array<NodeId> = []
    const no: Array<NodeId> = []
    for (const [id, vote] of this.votes) (vote ? yes : no).push(id)
    if (this.membership.isQuorum(yes)) return "won"
    if (this.membership.isQuorum(no)) return "lost"
    return undefined
  }
}
