/**
 * A deterministic in-memory harness for the pure Raft core: N cores, a message queue you control
 * (drop, cut links), synchronous "disks" that persist each Ready, and a record of everything
 * each node applied. Randomness comes from a seeded PRNG.
 */
import { makeRaft } from "../../src/raft/Raft.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import type { RaftCore, Ready } from "../../src/raft/api.js"
import type { Entry, HardState, Message, NodeId } from "../../src/raft/types.js"

export const prng = seededRandom

export interface SimSnapshot {
  readonly index: number
  readonly term: number
  /** The state machine's state: every entry applied up to `index`. */
  readonly state: ReadonlyArray<Entry>
}

export interface SimDisk {
  hardState: HardState
  /** entries[i - 1] is entry i; indexes covered by the snapshot may be holes. */
  entries: Array<Entry>
  snapshot: SimSnapshot
}

const NO_SNAPSHOT: SimSnapshot = { index: 0, term: 0, state: [] }

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
    } = {}
  ) {
    this.random = prng(seed)
    for (const id of ids) {
      this.disks.set(id, { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: NO_SNAPSHOT })
      this.applied.set(id, [])
      this.readStates.set(id, [])
      this.readFailures.set(id, [])
      this.boot(id)
    }
  }

  /** (Re)start a node from what its disk holds. */
  boot(id: NodeId, recovered?: Partial<SimDisk>): RaftCore {
    const disk = this.disks.get(id)!
    if (recovered?.entries) disk.entries = recovered.entries
    if (recovered?.hardState) disk.hardState = recovered.hardState
    const core = makeRaft(
      {
        id,
        voters: this.ids,
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
        snapshot: disk.snapshot,
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
        if (!this.core(to).restoreSnapshot(snapshot.index, snapshot.term, from)) target.snapshot = previous
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
    disk.snapshot = { index: last.index, term: last.term, state: [...state] }
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

  /** Tick until exactly one leader exists; returns it. */
  electLeader(maxTicks = 200): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      const leaders = this.leaders()
      if (leaders.length === 1 && this.ids.every((id) => !this.cores.has(id) || this.core(id).status().leader === leaders[0] || this.isCutOff(id))) return leaders[0]
      this.tickAll()
    }
    throw new Error("no leader elected")
  }

  private isCutOff(id: NodeId): boolean {
    return this.ids.some((other) => other !== id && this.cut.has(`${other}>${id}`))
  }

  appliedData(id: NodeId): Array<string> {
    return this.applied.get(id)!.filter((e) => e.kind === 0).map((e) => text(e.data))
  }
}
