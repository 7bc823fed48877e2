/**
 * Membership as the core sees it: the configurations a node knows from its log, which one is in
 * effect, the quorum rules over it, and when a leader may change it. (src/node/Membership.ts is
 * the node layer's side: addresses, and whether this node is still a member.)
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
 *   appends commits soon, so this costs one round trip after an election). See `admit`.
 * - Quorums (commit, votes, check-quorum, ReadIndex) count the voters of the configuration in
 *   effect only (`isQuorum`). Learners receive appends and snapshots but never campaign and never
 *   count; any node still answers vote requests (a candidate may know of a promotion it has not
 *   yet received, and only the candidate's own configuration decides whose vote counts).
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
import { applyChange, decodeConfiguration, memberOf, type ChangeOutcome, type ConfigChange, type Configuration } from "./Configuration.js"
import { EntryKind, type Entry, type NodeId } from "./types.js"

/** What a leader knows when it considers a configuration change. */
export interface LeaderView {
  readonly committed: number
  /** It has committed an entry of its own term. */
  readonly committedInTerm: boolean
  readonly lastIndex: number
  /** How far a member's log is known to match the leader's. */
  readonly matchOf: (id: NodeId) => number
  readonly maxPromotionLag: number
}

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

export class Membership {
  /**
   * The configurations known from the log: [0] is the base (the snapshot's, or the initial one),
   * then one record per configuration entry in the log after it, ascending. The last is in effect.
   */
  private configs: Array<ConfigRecord>
  // Derived from the configuration in effect (see derive).
  private voterSet: ReadonlySet<NodeId> = new Set()
  private otherMembers: ReadonlyArray<NodeId> = []
  private otherVoterIds: ReadonlyArray<NodeId> = []
  /** The configuration changed since the last Ready (true at first: the first Ready announces it). */
  private changedSinceAnnounced = true

  /** `base`: the snapshot's configuration (or the initial one); `entries`: the log after it. */
  constructor(
    private readonly self: NodeId,
    base: { readonly index: number; readonly term: number },
    configuration: Configuration,
    entries: ReadonlyArray<Entry>
  ) {
    this.configs = [{ ...base, configuration }]
    for (const entry of entries) {
      if (entry.kind === EntryKind.Config) this.configs.push({ index: entry.index, term: entry.term, configuration: decodeConfigEntry(entry) })
    }
    this.derive()
  }

  /** The configuration in effect. */
  current(): Configuration {
    return this.configs[this.configs.length - 1].configuration
  }

  /** The log index of the configuration in effect (its entry's, or the base's). */
  currentIndex(): number {
    return this.configs[this.configs.length - 1].index
  }

  /** The configuration in effect at `index`; undefined before the base. */
  at(index: number): Configuration | undefined {
    if (index < this.configs[0].index) return undefined
    for (let i = this.configs.length - 1; i > 0; i--) if (this.configs[i].index <= index) return this.configs[i].configuration
    return this.configs[0].configuration
  }

  /** The voters in effect. */
  get voters(): ReadonlySet<NodeId> {
    return this.voterSet
  }

  /** Every member but this node, voters and learners: who gets appends and heartbeats. */
  get others(): ReadonlyArray<NodeId> {
    return this.otherMembers
  }

  /** Every voter but this node: who gets vote requests. */
  get otherVoters(): ReadonlyArray<NodeId> {
    return this.otherVoterIds
  }

  /** Whether `ids` hold a majority of the voters in effect (anyone else is ignored). */
  isQuorum(ids: Iterable<NodeId>): boolean {
    let count = 0
    for (const id of ids) if (this.voterSet.has(id)) count++
    return this.voterSet.size > 0 && count > this.voterSet.size / 2
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
  mayCampaign(committed: number): boolean {
    for (let i = this.configs.length - 1; i >= 0; i--) {
      const record = this.configs[i]
      if (memberOf(record.configuration, this.self)?.role === "voter") return true
      if (record.index <= committed) return false // in force at the commit index: no older one matters
    }
    return false
  }

  /**
   * The configuration `change` leads to, if a leader may append it now: one change at a time (no
   * configuration entry uncommitted), only once the leader has committed an entry of its term,
   * and a learner promoted only when its log is close to the leader's (it would hold commits back).
   */
  admit(change: ConfigChange, leader: LeaderView): ChangeOutcome {
    const currentIndex = this.currentIndex()
    if (currentIndex > leader.committed) {
      return { ok: false, reason: "change-pending", message: `the configuration change at index ${currentIndex} is not committed yet` }
    }
    if (!leader.committedInTerm) {
      return { ok: false, reason: "not-ready", message: "a new leader must commit an entry of its term before changing the configuration" }
    }
    const outcome = applyChange(this.current(), change)
    if (!outcome.ok) return outcome
    if (change.type === "promote") {
      const lag = leader.lastIndex - leader.matchOf(change.id)
      if (lag > leader.maxPromotionLag) {
        return { ok: false, reason: "learner-behind", message: `learner ${change.id} is ${lag} entries behind the leader (at most ${leader.maxPromotionLag} allowed)` }
      }
    }
    return outcome
  }

  /** The leader appended a configuration entry: it takes effect at once. */
  appended(index: number, term: number, configuration: Configuration): void {
    this.configs.push({ index, term, configuration })
    this.derive()
  }

  /**
   * After a follower's append: configuration entries that a new leader truncated no longer
   * count (the configuration reverts to the one before), and those just appended take effect.
   * `termAt` is the log's term at an index now. Returns whether the configuration in effect changed.
   */
  reconcile(termAt: (index: number) => number | undefined, appended: ReadonlyArray<Entry>): boolean {
    let changed = false
    while (this.configs.length > 1) {
      const last = this.configs[this.configs.length - 1]
      if (termAt(last.index) === last.term) break
      this.configs.pop()
      changed = true
    }
    const after = this.configs[this.configs.length - 1].index
    for (const entry of appended) {
      if (entry.kind !== EntryKind.Config || entry.index <= after) continue
      this.configs.push({ index: entry.index, term: entry.term, configuration: decodeConfigEntry(entry) })
      changed = true
    }
    if (changed) this.derive()
    return changed
  }

  /** A snapshot at `index` became the base: it carries the configuration as of its index. */
  compact(index: number, term: number): void {
    const configuration = this.at(index)!
    this.configs = [{ index, term, configuration }, ...this.configs.filter((record) => record.index > index)]
  }

  /** The log was replaced by a received snapshot: its configuration is the only one known. */
  restore(index: number, term: number, configuration: Configuration): void {
    this.configs = [{ index, term, configuration }]
    this.derive()
  }

  /** The configuration in effect if it changed since the last call (for the Ready), else undefined. */
  announce(): Configuration | undefined {
    const configuration = this.changedSinceAnnounced ? this.current() : undefined
    this.changedSinceAnnounced = false
    return configuration
  }

  /** The configuration in effect changed (appended, truncated away, or from a snapshot). */
  private derive(): void {
    const config = this.current()
    this.voterSet = new Set(config.members.filter((m) => m.role === "voter").map((m) => m.id))
    this.otherMembers = config.members.filter((m) => m.id !== this.self).map((m) => m.id)
    this.otherVoterIds = this.otherMembers.filter((id) => this.voterSet.has(id))
    this.changedSinceAnnounced = true
  }
}
