/**
 * Raft's safety properties (Raft paper, figure 3), checked on the real nodes' state after every
 * RaftNode turn, as the RaftObserver hook reports it:
 *
 * - Election safety: at most one leader per term.
 * - Log matching: two entries with the same index and term hold the same command and follow
 *   entries of the same term (checked per appended entry; by induction, identical prefixes).
 * - Leader completeness: a new leader of term T holds every entry committed before term T
 *   (entries are stamped with the highest term seen anywhere when first applied, an upper
 *   bound of the term that committed them; a stale leader of a lower term, elected late with
 *   slow votes, is not held to entries committed after its term).
 * - State-machine safety: every node applies the same entry at a given index.
 * - The commit index never goes backwards (within one run of a node: it is volatile state,
 *   rebuilt from the WAL after a restart).
 * - Votes are durable promises (figure 2: votedFor is persisted before the reply): a node that
 *   granted its vote in a term and restarts still holds that vote, or a later term.
 *
 * And for membership changes (the configuration is part of the log, the WAL and snapshots):
 *
 * - Single-server changes: each committed configuration differs from the one committed before it
 *   by at most one voter (what makes every old majority overlap every new one).
 * - Every node's configuration at its applied index is the one the committed log says is in
 *   effect there (configuration entries, snapshots that carry the configuration, restarts that
 *   recover it: a node that got it wrong would count the wrong quorums).
 * - A leader is a voter of its configuration, except a leader that removed itself, which may lead
 *   (without counting itself) only until that removal commits.
 *
 * Two leaders in one term through a configuration change are caught by election safety.
 */
import type { RaftCore, Ready } from "../../src/raft/api.js"
import type { PeerMessage } from "../../src/node/PeerMessage.js"
import {
  type Configuration,
  decodeConfiguration,
  describeConfiguration,
  memberOf,
  sameConfiguration,
  voterIds
} from "../../src/raft/Configuration.js"
import { EntryKind, type Entry, type NodeId } from "../../src/raft/types.js"

const digest = (entry: Entry) => `${entry.kind}:${Buffer.from(entry.data).toString("base64")}`

export class SafetyChecker {
  readonly violations: Array<string> = []
  private readonly leaderOfTerm = new Map<number, NodeId>()
  /** `index:term` → `prevTerm|digest` of every entry any node ever appended. */
  private readonly appended = new Map<string, string>()
  /** index → `term|digest` of every entry any node applied. */
  private readonly applied = new Map<number, string>()
  /** index → the highest term seen anywhere when the entry was first applied. */
  private readonly appliedBy = new Map<number, number>()
  private highestTerm = 0
  private highestApplied = 0
  private readonly commitOf = new Map<NodeId, number>()
  /** The last vote each node sent out, granted: its term and candidate. */
  private readonly votesSent = new Map<NodeId, { readonly term: number; readonly candidate: NodeId }>()
  /** Nodes that restarted and have not taken a turn since. */
  private readonly fresh = new Set<NodeId>()
  /** Every committed configuration, ascending by the index that set it (the initial one at 0). */
  private readonly configurations: Array<{ readonly index: number; readonly configuration: Configuration }>
  /** Every node that was ever a member of a committed configuration. */
  readonly everMembers = new Set<NodeId>()

  constructor(
    private readonly now: () => number,
    initial: Configuration
  ) {
    this.configurations = [{ index: 0, configuration: initial }]
    for (const member of initial.members) this.everMembers.add(member.id)
  }

  /** The configuration the committed log has in effect at `index`. */
  configurationAt(index: number): Configuration {
    for (let i = this.configurations.length - 1; i >= 0; i--) if (this.configurations[i].index <= index) return this.configurations[i].configuration
    return this.configurations[0].configuration
  }

  private committedConfiguration(entry: Entry): void {
    const next = decodeConfiguration(entry.data)
    if (next === undefined) return this.violation(`configuration entry ${entry.index} is malformed`)
    const previous = this.configurationAt(entry.index)
    const before = new Set(voterIds(previous))
    const after = new Set(voterIds(next))
    const changed = [...before].filter((id) => !after.has(id)).length + [...after].filter((id) => !before.has(id)).length
    if (changed > 1) {
      this.violation(`single-server changes: the configuration committed at ${entry.index} (${describeConfiguration(next)}) changes ${changed} voters of ${describeConfiguration(previous)}`)
    }
    this.configurations.push({ index: entry.index, configuration: next })
    for (const member of next.members) this.everMembers.add(member.id)
  }

  private violation(message: string): void {
    this.violations.push(`t=${this.now()} ${message}`)
  }

  /** A node starts again: its volatile commit index may restart lower. */
  restarted(id: NodeId): void {
    this.commitOf.delete(id)
    this.fresh.add(id)
  }

  /** A node's messages left it (the network saw them): a granted vote is now a promise. */
  sent(messages: ReadonlyArray<PeerMessage>): void {
    for (const m of messages) {
      if (m.type === "VoteResp" && !m.reject) this.votesSent.set(m.from, { term: m.term, candidate: m.to })
    }
  }

  afterTurn(id: NodeId, core: RaftCore, ready: Ready): void {
    const status = core.status()
    if (status.term > this.highestTerm) this.highestTerm = status.term

    if (this.fresh.delete(id)) {
      const promised = this.votesSent.get(id)
      if (promised !== undefined && (status.term < promised.term || (status.term === promised.term && status.vote !== promised.candidate))) {
        this.violation(`durable vote: node ${id} granted its vote to ${promised.candidate} in term ${promised.term}, but restarted with term ${status.term}, vote ${status.vote}`)
      }
    }

    if (status.role === "leader") {
      const inEffect = memberOf(status.configuration, id)
      const committed = core.configurationAt(status.commit)
      const removingItself = inEffect === undefined && committed !== undefined && memberOf(committed, id)?.role === "voter"
      if (inEffect?.role !== "voter" && !removingItself) {
        this.violation(`node ${id} leads term ${status.term} but is not a voter of its configuration (${describeConfiguration(status.configuration)})`)
      }
      const known = this.leaderOfTerm.get(status.term)
      if (known === undefined) {
        this.leaderOfTerm.set(status.term, id)
        this.checkLeaderCompleteness(id, core, status.term, status.firstIndex)
      } else if (known !== id) {
        this.violation(`election safety: nodes ${known} and ${id} are both leaders of term ${status.term}`)
      }
    }

    const previousCommit = this.commitOf.get(id)
    if (previousCommit !== undefined && status.commit < previousCommit) {
      this.violation(`node ${id}: commit index went back from ${previousCommit} to ${status.commit}`)
    }
    this.commitOf.set(id, status.commit)

    for (const entry of ready.entries) {
      const previous = entry.index === 1 ? 0 : core.entry(entry.index - 1)?.term
      if (previous === undefined) continue // the entry before was compacted into a snapshot
      const key = `${entry.index}:${entry.term}`
      const value = `${previous}|${digest(entry)}`
      const seen = this.appended.get(key)
      if (seen === undefined) this.appended.set(key, value)
      else if (seen !== value) {
        this.violation(`log matching: node ${id} holds a different entry ${entry.index} of term ${entry.term} (after term ${previous}) than another node`)
      }
    }

    for (const entry of ready.committed) {
      const value = `${entry.term}|${digest(entry)}`
      const seen = this.applied.get(entry.index)
      if (seen === undefined) {
        this.applied.set(entry.index, value)
        this.appliedBy.set(entry.index, this.highestTerm)
        if (entry.index > this.highestApplied) this.highestApplied = entry.index
        if (entry.kind === EntryKind.Config) this.committedConfiguration(entry)
      } else if (seen !== value) {
        this.violation(`state-machine safety: node ${id} applies a different entry at index ${entry.index} (term ${entry.term}, another node applied term ${seen.split("|")[0]})`)
      }
    }

    // Its configuration where it has applied the log must be the committed log's (its snapshot's
    // configuration, a restart's recovery and its configuration entries all feed it). Before
    // anything is applied it comes from the flags (--cluster, or none with --join).
    const own = status.applied === 0 ? undefined : core.configurationAt(status.applied)
    const expected = this.configurationAt(status.applied)
    if (own !== undefined && status.applied <= this.highestApplied && !sameConfiguration(own, expected)) {
      this.violation(
        `configuration: node ${id} has ${describeConfiguration(own)} in effect at its applied index ${status.applied}, the committed log has ${describeConfiguration(expected)}`
      )
    }
  }

  private checkLeaderCompleteness(id: NodeId, core: RaftCore, term: number, firstIndex: number): void {
    for (let index = firstIndex; index <= this.highestApplied; index++) {
      const committed = this.applied.get(index)
      if (committed === undefined || this.appliedBy.get(index)! >= term) continue
      const entry = core.entry(index)
      if (entry === undefined || `${entry.term}|${digest(entry)}` !== committed) {
        this.violation(`leader completeness: node ${id}, leader of term ${term}, lacks the committed entry ${index} (term ${committed.split("|")[0]})`)
        return
      }
    }
  }
}
