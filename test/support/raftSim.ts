/**
 * A deterministic in-memory harness for the pure Raft core: N cores, a message queue you control
 * (drop, cut links), synchronous "disks" that persist each Ready, and a record of everything
 * each node applied. Randomness comes from a seeded PRNG.
 *
 * Membership: every node in `ids` runs, but only those not listed in `options.joiners` are in the
 * initial configuration (all voters); joiners start with an empty configuration, as a node started
 * to join a running cluster would, and take part once a configuration change adds them. A
 * snapshot carries the configuration as of its index, computed from the applied entries the way
 * the node's state machine will (and checked against the core's own view).
 */
import {
  configurationAfter,
  EMPTY_CONFIGURATION,
  memberOf,
  sameConfiguration,
  votersConfiguration,
  describeConfiguration,
  type Configuration
} from "../../src/raft/Configuration.js"
import { makeRaft } from "../../src/raft/Raft.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import type { RaftConfig, RaftCore, Ready } from "../../src/raft/api.js"
import { EntryKind, type Entry, type HardState, type Message, type NodeId } from "../../src/raft/types.js"

export const prng = seededRandom

export interface SimSnapshot {
  readonly index: number
  readonly term: number
  /** The state machine's state: every entry applied up to `index`. */
  readonly state: ReadonlyArray<Entry>
  /** The configuration as of `index` (the snapshot's metadata). */
  readonly configuration: Configuration
}

export interface SimDisk {
  hardState: HardState
  /** entries[i - 1] is entry i; indexes covered by the snapshot may be holes. */
  entries: Array<Entry>
  snapshot: SimSnapshot
}

const NO_SNAPSHOT: SimSnapshot = { index: 0, term: 0, state: [], configuration: EMPTY_CONFIGURATION }

export const data = (text: string) => new TextEncoder().encode(text)
export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

export class RaftSim {
  readonly cores = new Map<NodeId, RaftCore>()
  readonly disks = new Map<NodeId, SimDisk>()
  readonly applied = new Map<NodeId, Array<Entry>>()
  readonly readStates = new Map<NodeId, Array<{ requestId: number; index: number }>>()
  readonly readFailures = new Map<NodeId, Array<number>>()
  /** Every (term → leader) ever observed, to check election safety. */
  readonly leadersByTerm = new Map<number, Set<NodeId>>()
  /** Every configuration each node announced in a Ready, in order. */
  readonly announced = new Map<NodeId, Array<Configuration>>()
  /** The configuration the founding nodes start with. */
  readonly initialConfiguration: Configuration
  inflight: Array<Message> = []
  private readonly cut = new Set<string>()
  dropRate = 0
  readonly random: () => number

  constructor(
    readonly ids: ReadonlyArray<NodeId>,
    seed = 1,
    readonly options: {
      electionTicks?: number
      heartbeatTicks?: number
      /** Take a snapshot (and compact) every this many applied entries. */
      snapshotEvery?: number
      /** Entries kept in memory behind a snapshot for followers slightly behind. */
      keepEntries?: number
      /** The cores' cap on the entry bytes of one Append or Propose. */
      maxBytesPerMessage?: number
      /** Sees every message as it is delivered. */
      onDeliver?: (message: Message) => void
      /** Nodes that start with an empty configuration (to be added by configuration changes). */
      joiners?: ReadonlyArray<NodeId>
      maxPromotionLag?: number
      injectedBugs?: RaftConfig["injectedBugs"]
      /** Lease reads (RaftConfig.leaseTicks) and the vote hold after a start that keeps them safe. */
      leaseTicks?: number
      holdVotesAfterStart?: boolean
    } = {}
  ) {
    this.random = prng(seed)
    this.initialConfiguration = votersConfiguration(
      ids.filter((id) => !(options.joiners ?? []).includes(id)),
      (id) => `sim:${id}`
    )
    for (const id of ids) {
      this.disks.set(id, { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: NO_SNAPSHOT })
      this.announced.set(id, [])
      this.applied.set(id, [])
      this.readStates.set(id, [])
      this.readFailures.set(id, [])
      this.boot(id)
    }
  }

  /** The configuration `id` was started with: empty for joiners. */
  initialOf(id: NodeId): Configuration {
    return (this.options.joiners ?? []).includes(id) ? EMPTY_CONFIGURATION : this.initialConfiguration
  }

  /** (Re)start a node from what its disk holds. */
  boot(id: NodeId, recovered?: Partial<SimDisk>): RaftCore {
    const disk = this.disks.get(id)!
    if (recovered?.entries) disk.entries = recovered.entries
    if (recovered?.hardState) disk.hardState = recovered.hardState
    const core = makeRaft(
      {
        id,
        configuration: this.initialOf(id),
        ...(this.options.maxPromotionLag !== undefined ? { maxPromotionLag: this.options.maxPromotionLag } : {}),
        ...(this.options.injectedBugs !== undefined ? { injectedBugs: this.options.injectedBugs } : {}),
        ...(this.options.leaseTicks !== undefined ? { leaseTicks: this.options.leaseTicks } : {}),
        ...(this.options.holdVotesAfterStart !== undefined ? { holdVotesAfterStart: this.options.holdVotesAfterStart } : {}),
        electionTicks: this.options.electionTicks ?? 10,
        heartbeatTicks: this.options.heartbeatTicks ?? 1,
        maxInflight: 8,
        maxEntriesPerAppend: 16,
        maxPendingProposals: 1000,
        ...(this.options.maxBytesPerMessage !== undefined ? { maxBytesPerMessage: this.options.maxBytesPerMessage } : {}),
        random: prng(this.random() * 2 ** 31)
      },
      {
        hardState: disk.hardState,
        snapshot: { index: disk.snapshot.index, term: disk.snapshot.term },
        ...(disk.snapshot.index > 0 ? { snapshotConfiguration: disk.snapshot.configuration } : {}),
        entries: disk.entries.slice(disk.snapshot.index),
        applied: disk.snapshot.index
      }
    )
    this.cores.set(id, core)
    this.applied.set(id, [...disk.snapshot.state])
    return core
  }

  core(id: NodeId): RaftCore {
    return this.cores.get(id)!
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`)
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) (this.cutLink(id, other), this.cutLink(other, id))
  }

  heal(): void {
    this.cut.clear()
  }

  /** Drain one node's Ready: persist synchronously, then queue its messages. */
  flush(id: NodeId): Ready {
    const core = this.core(id)
    const ready = core.ready()
    const disk = this.disks.get(id)!
    if (ready.hardState) disk.hardState = ready.hardState
    if (ready.snapshot) {
      // The snapshot arrived (see sendSnapshots) and is on disk; the log now starts after it.
      disk.entries = new Array<Entry>(ready.snapshot.index)
      this.applied.set(id, [...disk.snapshot.state])
    }
    if (ready.entries.length > 0) {
      disk.entries.length = ready.entries[0].index - 1
      disk.entries.push(...ready.entries)
    }
    for (const m of [...ready.messages, ...ready.messagesAfterPersist]) this.inflight.push(m)
    this.applied.get(id)!.push(...ready.committed)
    if (ready.configuration) this.announced.get(id)!.push(ready.configuration)
    this.sendSnapshots(id, ready)
    this.maybeSnapshot(id)
    this.readStates.get(id)!.push(...ready.readStates)
    this.readFailures.get(id)!.push(...ready.readFailures)
    const last = ready.entries[ready.entries.length - 1]
    if (last) core.persisted(last.index, last.term)
    const status = core.status()
    if (status.role === "leader") {
      const set = this.leadersByTerm.get(status.term) ?? new Set()
      set.add(id)
      this.leadersByTerm.set(status.term, set)
    }
    return ready
  }

  /** Stream snapshots instantly, or lose them like the network loses messages. */
  private sendSnapshots(from: NodeId, ready: Ready): void {
    for (const { to, index } of ready.snapshotsToSend) {
      const snapshot = this.disks.get(from)!.snapshot
      const lost = this.cut.has(`${from}>${to}`) || !this.cores.has(to) || (this.dropRate > 0 && this.random() < this.dropRate)
      if (!lost && snapshot.index === index) {
        const target = this.disks.get(to)!
        const previous = target.snapshot
        target.snapshot = snapshot
        if (!this.core(to).restoreSnapshot(snapshot.index, snapshot.term, from, snapshot.configuration)) target.snapshot = previous
      }
      this.core(from).snapshotSent(to, !lost)
    }
  }

  /** Every `snapshotEvery` applied entries: a snapshot of the applied state, then compaction. */
  private maybeSnapshot(id: NodeId): void {
    const every = this.options.snapshotEvery
    if (every === undefined) return
    const disk = this.disks.get(id)!
    const state = this.applied.get(id)!
    const last = state[state.length - 1]
    if (last === undefined || last.index - disk.snapshot.index < every) return
    // The state machine's configuration as of the snapshot: what the snapshot's metadata carries.
    const configuration = configurationAfter(this.initialOf(id), state)
    const coreView = this.core(id).configurationAt(last.index)
    if (coreView === undefined || !sameConfiguration(coreView, configuration)) {
      throw new Error(`node ${id}: configuration at ${last.index} is ${describeConfiguration(configuration)} applied, ${coreView && describeConfiguration(coreView)} in the core`)
    }
    disk.snapshot = { index: last.index, term: last.term, state: [...state], configuration }
    this.core(id).compact(last.index, last.term, this.options.keepEntries ?? 0)
  }

  /** Deliver queued messages (and everything they cause) until the network is quiet. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const id of this.ids) if (this.cores.has(id)) this.flush(id)
      if (this.inflight.length === 0) return
      const batch = this.inflight
      this.inflight = []
      for (const m of batch) {
        if (this.cut.has(`${m.from}>${m.to}`) || !this.cores.has(m.to)) continue
        if (this.dropRate > 0 && this.random() < this.dropRate) continue
        this.options.onDeliver?.(m)
        this.core(m.to).step(m)
      }
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.ids) this.cores.get(id)?.tick()
      this.stabilize()
    }
  }

  leaders(): Array<NodeId> {
    return this.ids.filter((id) => this.cores.get(id)?.status().role === "leader")
  }

  /** Tick until exactly one leader exists that every member of its configuration follows; returns it. */
  electLeader(maxTicks = 200): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      const leaders = this.leaders()
      if (leaders.length === 1) {
        const members = this.core(leaders[0]).status().configuration.members.map((m) => m.id)
        if (members.every((id) => !this.cores.has(id) || this.core(id).status().leader === leaders[0] || this.isCutOff(id))) return leaders[0]
      }
      this.tickAll()
    }
    throw new Error("no leader elected")
  }

  /** Tick every node until `until` holds (checked before each tick); throws after `maxTicks`. */
  tickUntil(until: () => boolean, maxTicks = 200, what = "condition"): void {
    for (let i = 0; i < maxTicks; i++) {
      if (until()) return
      this.tickAll()
    }
    if (!until()) throw new Error(`${what} not reached in ${maxTicks} ticks`)
  }

  /**
   * Raft's safety properties and the configuration's consistency, on the state right now; returns
   * the violations (empty: all hold).
   * - Election safety: at most one leader per term, ever.
   * - State-machine safety: every two nodes applied the same entries at the indexes both applied.
   * - Each node's configuration in effect is the newest one in its (persisted) log: the
   *   snapshot's, then every Config entry after it.
   * - Each node's configuration at its applied index is the one its applied entries imply, so
   *   nodes that applied the same entries agree on the committed configuration.
   */
  safetyViolations(): Array<string> {
    const violations: Array<string> = []
    for (const [term, leaders] of this.leadersByTerm) {
      if (leaders.size > 1) violations.push(`term ${term} has leaders ${[...leaders].join(", ")}`)
    }
    const key = (e: Entry) => `${e.index}:${e.term}:${e.kind}:${Buffer.from(e.data).toString("base64")}`
    const logs = this.ids.map((id) => ({ id, log: this.applied.get(id)!.map(key) }))
    for (const a of logs) {
      for (const b of logs) {
        if (a.id >= b.id) continue
        const n = Math.min(a.log.length, b.log.length)
        for (let i = 0; i < n; i++) {
          if (a.log[i] !== b.log[i]) {
            violations.push(`nodes ${a.id} and ${b.id} applied different entries at position ${i}: ${a.log[i]} / ${b.log[i]}`)
            break
          }
        }
      }
    }
    for (const id of this.ids) {
      const core = this.cores.get(id)
      if (core === undefined) continue
      const status = core.status()
      const disk = this.disks.get(id)!
      const base = disk.snapshot.index > 0 ? disk.snapshot.configuration : this.initialOf(id)
      const fromLog = configurationAfter(base, disk.entries.slice(disk.snapshot.index).filter((e) => e !== undefined))
      if (status.lastIndex === disk.entries.length && !sameConfiguration(status.configuration, fromLog)) {
        violations.push(`node ${id}: configuration in effect ${describeConfiguration(status.configuration)}, its log says ${describeConfiguration(fromLog)}`)
      }
      const applied = this.applied.get(id)!
      const appliedIndex = applied.length > 0 ? applied[applied.length - 1].index : 0
      const atApplied = core.configurationAt(appliedIndex)
      const expected = configurationAfter(this.initialOf(id), applied)
      if (atApplied !== undefined && !sameConfiguration(atApplied, expected)) {
        violations.push(`node ${id}: configuration at applied index ${appliedIndex} is ${describeConfiguration(atApplied)}, its applied entries say ${describeConfiguration(expected)}`)
      }
    }
    return violations
  }

  /** The members of `id`'s configuration in effect. */
  members(id: NodeId): Array<NodeId> {
    return this.core(id).status().configuration.members.map((m) => m.id)
  }

  isMember(of: NodeId, id: NodeId): boolean {
    return memberOf(this.core(of).status().configuration, id) !== undefined
  }

  private isCutOff(id: NodeId): boolean {
    return this.ids.some((other) => other !== id && this.cut.has(`${other}>${id}`))
  }

  appliedData(id: NodeId): Array<string> {
    return this.applied.get(id)!.filter((e) => e.kind === EntryKind.Normal).map((e) => text(e.data))
  }
}
