/**
 * Deterministic simulation of a raft-kv cluster: N real nodes (the production RaftNode, WAL,
 * Applier, Snapshotter, state machine and memory engine; only the Layers differ) in one process,
 * on a simulated network, simulated disks and simulated time, with every fiber run by a
 * scheduler the simulation steps itself. Given the same seed and plan, a run makes the same
 * choices in the same order, so a failing seed reproduces exactly.
 *
 * A run: start the nodes; let simulated clients issue SET, GET, DEL and INCR, and on list keys
 * LPUSH, RPUSH, RPOP, LRANGE and a blocking BLPOP, against any live node while the fault plan plays; then heal everything, restart what is down, and require a
 * leader and successful operations on every node within a bounded time (liveness). Safety
 * invariants are checked after every RaftNode turn; the client history must be linearizable.
 */
import { Deferred, Effect, FiberId, Layer, Logger, Random, Scheduler, type Fiber } from "effect"
import { blockingCall } from "../../src/commands/blocking.js"
import { commandTable } from "../../src/commands/table.js"
import { MemoryEngine } from "../../src/engine/MemoryEngine.js"
import { IncarnationLive } from "../../src/node/Incarnation.js"
import { KvService, KvServiceLive, type KvServiceApi } from "../../src/node/KvService.js"
import { LifecycleLive } from "../../src/node/Lifecycle.js"
import { MailboxesLive } from "../../src/node/Mailboxes.js"
import { runConsensus } from "../../src/node/Node.js"
import { NodeConfig } from "../../src/node/NodeConfig.js"
import { InjectedRaftBugs, RaftObserver } from "../../src/node/NodeHooks.js"
import { IoYield } from "../../src/runtime/IoYield.js"
import { NodeStatus, NodeStatusLive, type NodeStatusService } from "../../src/node/NodeStatus.js"
import { RecoveredLive } from "../../src/node/Recovery.js"
import { SnapshotStoreLive } from "../../src/node/SnapshotStore.js"
import { SupervisionLive } from "../../src/node/Supervision.js"
import { Wal, WalLive } from "../../src/node/Wal.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import { learnerIds, votersConfiguration, voterIds } from "../../src/raft/Configuration.js"
import type { NodeId } from "../../src/raft/types.js"
import type { ReadMode } from "../../src/cli/readFlags.js"
import type { AdminCommand } from "../../src/node/Admin.js"
import type { ChangeMembership } from "./Faults.js"
import type { Reply } from "../../src/resp/Reply.js"
import { configFor } from "../support/inProcessCluster.js"
import { checkLinearizable, outputOf, type KvInput, type KvOperation } from "../support/linearizability.js"
import { describeFault, type Fault, type Profile, randomPlan, Restart } from "./Faults.js"
import { SafetyChecker } from "./Invariants.js"
import { DriftingClock } from "./DriftingClock.js"
import { SimClock } from "./SimClock.js"
import { SimDisk } from "./SimDisk.js"
import { SimNetwork } from "./SimNetwork.js"
import { StatsLive } from "../../src/node/Stats.js"

export interface SimulationOptions {
  readonly seed: number
  readonly nodes?: number
  /** Simulated ms during which clients run and faults play. */
  readonly durationMs?: number
  /** Simulated ms after healing within which the cluster must serve every node again. */
  readonly livenessMs?: number
  readonly clients?: number
  readonly keys?: number
  /** List keys (l0, l1, ...) for the list operations; 0: registers only. */
  readonly listKeys?: number
  /** The faults; by default a plan drawn from the seed. */
  readonly plan?: ReadonlyArray<Fault>
  /** The kind of plan drawn from the seed (see `randomPlan`). */
  readonly profile?: Profile
  /** Spare nodes (ids after the founders) that membership changes may add; default 6. */
  readonly spares?: number
  readonly snapshotEntries?: number
  /** Deliberately broken behaviour, to show the simulation catches it. */
  readonly bugs?: {
    readonly commitEarlierTermsByCounting?: boolean
    /** A new leader may change the configuration before it commits an entry of its term (§4.1's bug). */
    readonly configChangeBeforeCommitInTerm?: boolean
    /** The WAL drops the vote from every hard state it writes. */
    readonly forgetVote?: boolean
    /** fsync returns before anything is durable (so acknowledgements precede durability). */
    readonly acknowledgeBeforeFsync?: boolean
  }
  /** Lines of trace kept for the report. */
  readonly traceLines?: number
  /** How the nodes serve reads (their --read-mode; default linearizable). */
  readonly readMode?: ReadMode
  /**
   * Clock drift: each node's clock runs at a rate drawn from the seed in [1 - drift, 1 + drift]
   * (default 0: every node keeps simulated time exactly).
   */
  readonly drift?: number
}

export interface SimulationResult {
  readonly seed: number
  readonly ok: boolean
  readonly violations: ReadonlyArray<string>
  /** The events before the first violation (or the end): faults, messages, client operations. */
  readonly trace: ReadonlyArray<string>
  readonly history: ReadonlyArray<KvOperation>
  readonly stats: {
    readonly simulatedMs: number
    readonly operations: number
    readonly acknowledged: number
    readonly messages: number
    readonly crashes: number
    readonly snapshotsTaken: number
    readonly snapshotsInstalled: number
    /** Membership changes whose configuration entry committed (as the node that asked reported it). */
    readonly changesCommitted: number
    /** Leader transfers that completed. */
    readonly transfers: number
    /** Nodes that learned they were removed and stopped. */
    readonly removedNodesStopped: number
  }
}

interface SimNode {
  readonly id: NodeId
  fiber: Fiber.RuntimeFiber<void, unknown> | undefined
  kv: KvServiceApi | undefined
  status: NodeStatusService | undefined
  incarnation: number
  /** A spare: started with --join, to be added by a membership change. */
  readonly joins: boolean
  /** Ever started (spares start when a change is about to add them). */
  started: boolean
  /** It stopped by itself because it learned it was removed: it is not started again. */
  removed: boolean
}

interface PendingOperation {
  readonly client: number
  readonly node: NodeId
  readonly key: string
  input: KvInput
  readonly called: number
  done: boolean
  /** A check-and-set before its EXEC left: nothing it did can show if its node goes down now. */
  preparing?: boolean
}

export const runSimulation = (options: SimulationOptions): SimulationResult => new Simulation(options).run()

export class Simulation {
  private readonly scheduler = new Scheduler.ControlledScheduler()
  private readonly clock = new SimClock()
  private readonly random: () => number
  private readonly network: SimNetwork
  private readonly disks = new Map<NodeId, SimDisk>()
  private readonly nodes = new Map<NodeId, SimNode>()
  private readonly checker!: SafetyChecker
  private readonly traceBuffer: Array<string> = []
  private readonly history: Array<KvOperation> = []
  private readonly pending = new Set<PendingOperation>()
  private readonly start: number
  private crashes = 0
  private changesCommitted = 0
  private transfers = 0
  private removedNodesStopped = 0
  private snapshotsTaken = 0
  private snapshotsInstalled = 0
  private frozenTrace: Array<string> | undefined
  private readonly ids: Array<NodeId>
  /** Each node's clock rate (1: exact). */
  private readonly rates = new Map<NodeId, number>()

  constructor(private readonly options: SimulationOptions) {
    this.random = seededRandom(options.seed)
    this.start = this.clock.now
    this.network = new SimNetwork(this.clock, this.random, (line) => this.trace(line), (messages) => this.checker.sent(messages))
    this.ids = Array.from({ length: options.nodes ?? 3 }, (_, i) => i + 1)
    const spares = options.spares ?? 6
    const drift = options.drift ?? 0
    for (let id = 1; id <= this.ids.length + spares; id++) {
      this.rates.set(id, drift === 0 ? 1 : 1 - drift + 2 * drift * this.random())
      this.disks.set(id, new SimDisk(seededRandom(options.seed * 31 + id)))
      this.nodes.set(id, { id, fiber: undefined, kv: undefined, status: undefined, incarnation: 0, joins: id > this.ids.length, started: false, removed: false })
    }
    this.checker = new SafetyChecker(() => this.elapsed(), votersConfiguration(this.ids, (id) => `127.0.0.1:${id}`))
  }

  private elapsed(): number {
    return this.clock.now - this.start
  }

  private trace(line: string): void {
    if (this.frozenTrace !== undefined) return
    this.traceBuffer.push(`t=${this.elapsed()} ${line}`)
    if (this.traceBuffer.length > (this.options.traceLines ?? 400)) this.traceBuffer.shift()
  }

  // ------------------------------------------------------------------ scheduling

  /** Run every runnable fiber until all of them wait (on a timer, a message or a client). */
  private runUntilIdle(): void {
    for (let rounds = 0; this.scheduler.tasks.buckets.length > 0; rounds++) {
      if (rounds > 1_000_000) throw new Error(`seed ${this.options.seed}: the nodes never go idle (livelock?)`)
      this.scheduler.step()
    }
    if (this.checker.violations.length > 0 && this.frozenTrace === undefined) this.frozenTrace = [...this.traceBuffer]
  }

  /** Move simulated time to `at` and wake what is due: network deliveries, then timers. */
  private advanceTo(at: number): void {
    this.clock.now = Math.max(this.clock.now, at)
    this.network.deliverDue()
    this.clock.fireDue()
    this.runUntilIdle()
  }

  // ------------------------------------------------------------------ nodes

  private startNode(id: NodeId): void {
    const node = this.nodes.get(id)!
    if (node.fiber !== undefined) return
    const disk = this.disks.get(id)!
    disk.restart()
    node.incarnation++
    node.started = true
    this.checker.restarted(id)
    const founder = configFor(id, this.ids.length, `/data/node${id}`, {
      tickMs: 10,
      electionTicks: 10,
      heartbeatTicks: 1,
      requestTimeoutMs: 1000,
      snapshotEntries: this.options.snapshotEntries ?? 60,
      snapshotKeepEntries: Math.floor((this.options.snapshotEntries ?? 60) / 2),
      readMode: this.options.readMode ?? "linearizable"
    })
    // A spare joins a running cluster: no member list, its own peer address (the network routes by id).
    const config = node.joins ? { ...founder, peers: [], join: { host: "127.0.0.1", port: 1 }, peerAddress: { host: "127.0.0.1", port: id } } : founder
    const bugs = this.options.bugs ?? {}
    const wal = bugs.forgetVote === true ? forgetVotes(WalLive(`${config.dataDir}/wal`)) : WalLive(`${config.dataDir}/wal`)
    const base = Layer.mergeAll(Layer.succeed(NodeConfig, config), MailboxesLive, NodeStatusLive(id), StatsLive, SupervisionLive, LifecycleLive)
    const io = Layer.mergeAll(this.network.layer(id), wal, SnapshotStoreLive(`${config.dataDir}/snap`), IncarnationLive(config.dataDir), MemoryEngine.layer).pipe(
      Layer.provide(disk.layer()),
      Layer.provideMerge(base)
    )
    const services = Layer.mergeAll(KvServiceLive, RecoveredLive).pipe(Layer.provideMerge(io))
    const started = Effect.runSync(Deferred.make<void>())
    const logger = Logger.replace(Logger.defaultLogger, Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Debug" || logLevel._tag === "Trace") return
      const text = String(message)
      if (text.startsWith("received snapshot")) this.snapshotsInstalled++
      else if (text.startsWith("snapshot at index")) this.snapshotsTaken++
      this.trace(`node ${id} ${logLevel.label}: ${text}`)
    }))
    const program = Effect.gen(function* () {
      node.kv = yield* KvService
      node.status = yield* NodeStatus
      yield* Deferred.succeed(started, undefined)
      yield* runConsensus
    }).pipe(
      Effect.scoped,
      Effect.provide(services),
      Effect.provide(logger),
      Effect.provideService(IoYield, Effect.yieldNow()),
      Effect.provideService(RaftObserver, { afterTurn: (nodeId, core, ready) => this.checker.afterTurn(nodeId, core, ready) }),
      Effect.provideService(InjectedRaftBugs, {
        commitEarlierTermsByCounting: bugs.commitEarlierTermsByCounting === true,
        configChangeBeforeCommitInTerm: bugs.configChangeBeforeCommitInTerm === true
      }),
      Effect.withRandom(Random.make(this.options.seed * 1009 + id * 101 + node.incarnation)),
      Effect.withClock(this.rates.get(id) === 1 ? this.clock : new DriftingClock(this.clock, this.rates.get(id)!))
    )
    if (bugs.acknowledgeBeforeFsync === true) disk.faults.fsyncLies = true
    const fiber = Effect.runFork(program, { scheduler: this.scheduler })
    node.fiber = fiber
    this.trace(`start node ${id} (incarnation ${node.incarnation})`)
    fiber.addObserver((exit) => {
      if (node.fiber !== fiber) return
      // The node stopped by itself: it learned it was removed (a clean end), or it had to
      // (fail-stop, e.g. an fsync failed: like a crash).
      if (exit._tag === "Success") {
        node.removed = true
        this.removedNodesStopped++
      }
      this.trace(`node ${id} stopped: ${exit._tag === "Failure" ? String(exit.cause).split("\n")[0] : "removed from the cluster"}`)
      this.bringDown(node)
    })
    this.runUntilIdle()
  }

  private bringDown(node: SimNode): void {
    node.fiber = undefined
    node.kv = undefined
    node.status = undefined
    this.network.detach(node.id)
    this.disks.get(node.id)!.crash()
    this.crashes++
    // Operations in flight on that node get no answer: writes may or may not have happened.
    for (const operation of this.pending) {
      if (operation.node !== node.id || operation.done) continue
      operation.done = true
      this.pending.delete(operation)
      if (!isRead(operation.input) && operation.preparing !== true) {
        this.history.push({ key: operation.key, input: operation.input, called: operation.called, returned: Number.POSITIVE_INFINITY })
      }
      this.clientIdle(operation.client)
    }
  }

  private crashNode(id: NodeId): void {
    const node = this.nodes.get(id)!
    const fiber = node.fiber
    if (fiber === undefined) return
    this.bringDown(node)
    fiber.unsafeInterruptAsFork(FiberId.none)
    this.runUntilIdle()
  }

  /** Apply `fault`; returns the restart it implies later, if any. */
  applyFault(fault: Fault): Restart | undefined {
    this.trace(`FAULT ${describeFault(fault)}`)
    switch (fault._tag) {
      case "Partition":
        for (const a of fault.groups) for (const b of fault.groups) {
          if (a === b) continue
          for (const from of a) for (const to of b) this.network.cutLink(from, to)
        }
        return undefined
      case "OneWayCut":
        this.network.cutLink(fault.from, fault.to)
        return undefined
      case "Heal":
        this.network.heal()
        return undefined
      case "Crash":
        this.crashNode(fault.node)
        return undefined
      case "CrashLeader": {
        const leader = [...this.nodes.values()].find((node) => node.status?.raft.role === "leader")
        if (leader === undefined) return undefined
        this.trace(`(the leader is node ${leader.id})`)
        this.crashNode(leader.id)
        return new Restart({ at: this.elapsed() + fault.downMs, node: leader.id })
      }
      case "IsolateLeader": {
        const leaders = [...this.nodes.values()].filter((node) => node.status?.raft.role === "leader")
        const leader = leaders.sort((a, b) => b.status!.raft.term - a.status!.raft.term)[0]
        this.network.heal()
        if (leader === undefined) return undefined
        this.trace(`(the leader is node ${leader.id})`)
        for (const other of this.nodes.keys()) {
          if (other === leader.id) continue
          this.network.cutLink(leader.id, other)
          this.network.cutLink(other, leader.id)
        }
        return undefined
      }
      case "Bounce":
        if (this.nodes.get(fault.node)!.fiber === undefined) return undefined
        this.crashNode(fault.node)
        return new Restart({ at: this.elapsed() + fault.downMs, node: fault.node })
      case "Restart": {
        const disk = this.disks.get(fault.node)!
        disk.faults.failFsync = false
        disk.faults.fsyncLatencyMs = 0
        this.startNode(fault.node)
        return undefined
      }
      case "LinkFault":
        this.network.setConditions(fault.from, fault.to, fault)
        return undefined
      case "DiskFault": {
        const disk = this.disks.get(fault.node)!
        disk.faults.failFsync = fault.failFsync
        disk.faults.fsyncLatencyMs = fault.fsyncLatencyMs
        return undefined
      }
      case "ChangeMembership":
        this.changeMembership(fault.change)
        return undefined
      case "TransferLeadership": {
        const leader = this.leader()
        const voters = leader === undefined ? [] : voterIds(this.raft(leader)!.configuration).filter((id) => id !== leader)
        const target = fault.anyVoter || voters.length === 0 ? 0 : this.pick(voters)
        this.administer({ kind: "transfer", target })
        return undefined
      }
      case "BounceAny": {
        const running = this.liveNodes()
        if (running.length === 0) return undefined
        const node = this.pick(running)
        this.trace(`(node ${node.id})`)
        this.crashNode(node.id)
        return new Restart({ at: this.elapsed() + fault.downMs, node: node.id })
      }
      case "IsolateAny": {
        const running = this.liveNodes()
        this.network.heal()
        if (running.length === 0) return undefined
        const isolated = this.pick(running).id
        this.trace(`(node ${isolated})`)
        for (const other of this.nodes.keys()) {
          if (other === isolated) continue
          this.network.cutLink(isolated, other)
          this.network.cutLink(other, isolated)
        }
        return undefined
      }
    }
  }

  // ------------------------------------------------------------------ membership

  private pick<A>(items: ReadonlyArray<A>): A {
    return items[Math.floor(this.random() * items.length)]
  }

  /** Ask a random live node (it forwards to the leader) to make a change; the outcome goes to the trace. */
  private administer(command: AdminCommand): void {
    const live = this.liveNodes()
    if (live.length === 0) return
    const via = this.pick(live)
    this.trace(`admin → node ${via.id}: ${JSON.stringify(command)}`)
    via.kv!.submitAdmin(command, (outcome) => {
      if (outcome.kind === "changed") this.changesCommitted++
      else if (outcome.kind === "transferred") this.transfers++
      this.trace(`admin ← node ${via.id}: ${JSON.stringify(outcome)}`)
    })
  }

  /** Resolve a planned change against the leader's configuration, keeping 3..5 voters on the whole. */
  private changeMembership(planned: ChangeMembership["change"]): void {
    const leader = this.leader()
    if (leader === undefined) return
    const configuration = this.raft(leader)!.configuration
    const voters = voterIds(configuration)
    const learners = learnerIds(configuration)
    let change = planned
    if ((change === "remove" || change === "remove-leader") && voters.length <= 3) change = "add-learner"
    if ((change === "add-learner" || change === "add-voter") && configuration.members.length >= 6) change = "remove"
    if (change === "promote" && learners.length === 0) change = "add-learner"
    switch (change) {
      case "add-learner":
      case "add-voter": {
        // Ids are never reused: a spare that was never started.
        const spare = [...this.nodes.values()].find((node) => node.joins && !node.started)
        if (spare === undefined) return
        this.startNode(spare.id)
        return this.administer({ kind: "change", change: { type: change, id: spare.id, address: `127.0.0.1:${spare.id}` } })
      }
      case "promote":
        return this.administer({ kind: "change", change: { type: "promote", id: this.pick(learners) } })
      case "remove": {
        const others = configuration.members.filter((member) => member.id !== leader)
        if (others.length === 0) return
        return this.administer({ kind: "change", change: { type: "remove", id: this.pick(others).id } })
      }
      case "remove-leader":
        return this.administer({ kind: "change", change: { type: "remove", id: leader } })
    }
  }

  // ------------------------------------------------------------------ clients

  private readonly clientNextAt = new Map<number, number>()
  private readonly clientBusy = new Set<number>()
  private operationCount = 0

  private clientIdle(client: number): void {
    this.clientBusy.delete(client)
    this.clientNextAt.set(client, this.clock.now + Math.floor(this.random() * 20))
  }

  private liveNodes(): Array<SimNode> {
    return [...this.nodes.values()].filter((node) => node.kv !== undefined)
  }

  /** Send one operation to `node` and record it in the history when (if) it is answered. */
  private submit(client: number, node: SimNode, key: string, input: KvInput, onDone?: (reply: Reply) => void): void {
    const operation: PendingOperation = { client, node: node.id, key, input, called: this.elapsed(), done: false }
    this.pending.add(operation)
    this.operationCount++
    const argv = commandOf(key, input)
    this.trace(`client ${client} → node ${node.id}: ${argv.join(" ")}`)
    const args = argv.map((arg) => Buffer.from(arg))
    const reply = (answer: Reply) => {
      if (operation.done) return
      operation.done = true
      this.pending.delete(operation)
      const returned = this.elapsed()
      this.trace(`client ${client} ← node ${node.id}: ${describeReply(answer)}`)
      // A check-and-set's input carries the value its GET saw (set once the GET is answered).
      const recorded = operation.input
      if (answer._tag === "Error") {
        // A failed read changed nothing; a failed write may still take effect later.
        if (!isRead(recorded)) this.history.push({ key, input: recorded, called: operation.called, returned: Number.POSITIVE_INFINITY })
      } else {
        this.history.push({ key, input: recorded, output: outputOf(recorded, answer), called: operation.called, returned })
      }
      onDone?.(answer)
      this.clientIdle(client)
    }
    if (input.op === "tx") {
      const commands = input.commands.map((command) => ({ db: 0, argv: commandOf(key, command).map((arg) => Buffer.from(arg)) }))
      node.kv!.submitWrite({ kind: "transaction", session: 0, commands }, reply)
    } else if (input.op === "cas") this.checkAndSet(node, operation, input.value, reply)
    else if (isRead(input)) node.kv!.submitRead({ kind: "command", db: 0, argv: args }, reply)
    else if (input.op === "blpop") node.kv!.submitBlocking(blockingCall(BLPOP.block!, 0, args), reply)
    else node.kv!.submitWrite({ kind: "command", db: 0, argv: args }, reply)
  }

  /**
   * WATCH k, GET k, then MULTI SET k v EXEC (as a client library's optimistic transaction does),
   * recorded as one check-and-set from the WATCH to EXEC's reply. A failure before EXEC is sent
   * changes nothing: the client gives up and nothing is recorded.
   */
  private checkAndSet(node: SimNode, operation: PendingOperation, value: string, reply: (answer: Reply) => void): void {
    const key = Buffer.from(operation.key)
    const giveUp = () => {
      if (operation.done) return
      operation.done = true
      this.pending.delete(operation)
      this.clientIdle(operation.client)
    }
    operation.preparing = true
    const kv = node.kv!
    const session = kv.newWatchSession()
    kv.submitWrite({ kind: "watch", session, db: 0, keys: [key] }, (watched) => {
      if (watched._tag === "Error" || node.kv !== kv) return giveUp()
      kv.submitRead({ kind: "command", db: 0, argv: [Buffer.from("GET"), key] }, (current) => {
        if (current._tag !== "Bulk" || node.kv !== kv) return giveUp()
        operation.input = { op: "cas", expected: current.value === null ? null : Buffer.from(current.value).toString(), value }
        operation.preparing = false
        kv.submitWrite({ kind: "transaction", session, commands: [{ db: 0, argv: [Buffer.from("SET"), key, Buffer.from(value)] }] }, reply)
      })
    })
  }

  private issueClientOperations(): void {
    for (const [client, at] of this.clientNextAt) {
      if (this.clientBusy.has(client) || at > this.clock.now) continue
      const live = this.liveNodes()
      if (live.length === 0) {
        this.clientNextAt.set(client, this.clock.now + 50)
        continue
      }
      const node = live[Math.floor(this.random() * live.length)]
      const listKeys = this.options.listKeys ?? 2
      const onList = listKeys > 0 && this.random() < 0.25
      const key = onList ? `l${Math.floor(this.random() * listKeys)}` : `k${Math.floor(this.random() * (this.options.keys ?? 3))}`
      const r = this.random()
      const value = `c${client}-${this.operationCount}`
      const input: KvInput = onList
        ? r < 0.25 ? { op: "lpush", value } : r < 0.45 ? { op: "rpush", value } : r < 0.65 ? { op: "rpop" } : r < 0.8 ? { op: "lrange" } : { op: "blpop" }
        : r < 0.4 ? { op: "get" } : r < 0.7 ? this.setOperation(value) : r < 0.82 ? { op: "del" } : r < 0.9 ? { op: "incr" } : this.transactionOperation(value)
      this.clientBusy.add(client)
      this.submit(client, node, key, input)
    }
  }

  /**
   * Expiry and transactions are in the register workload unless clocks drift (the model reasons
   * about expiry in the nodes' own time): some SETs carry a TTL of 20-600 ms.
   */
  private get richRegisters(): boolean {
    return (this.options.drift ?? 0) === 0
  }

  private setOperation(value: string): KvInput {
    if (!this.richRegisters || this.random() < 0.7) return { op: "set", value }
    return { op: "set", value, ttlMs: 20 + Math.floor(this.random() * 580) }
  }

  /** MULTI INCR GET EXEC, MULTI SET GET EXEC, or WATCH/GET/MULTI SET/EXEC (a check-and-set). */
  private transactionOperation(value: string): KvInput {
    if (!this.richRegisters) return { op: "incr" }
    const r = this.random()
    if (r < 0.35) return { op: "tx", commands: [{ op: "incr" }, { op: "get" }] }
    if (r < 0.7) return { op: "tx", commands: [{ op: "set", value }, { op: "get" }, { op: "incr" }] }
    return { op: "cas", expected: null, value }
  }

  private nextClientAt(): number | undefined {
    let next: number | undefined
    for (const [client, at] of this.clientNextAt) if (!this.clientBusy.has(client) && (next === undefined || at < next)) next = at
    return next
  }

  // ------------------------------------------------------------------ scripted runs
  // A test can drive the cluster step by step (no random clients): start it, wait for
  // conditions on the nodes' Raft state, apply faults and send writes at chosen moments.

  startAll(): void {
    for (const id of this.ids) this.startNode(id)
  }

  /** Let simulated time run until `condition` holds (true) or `timeoutMs` pass (false). */
  runUntil(condition: () => boolean, timeoutMs: number): boolean {
    const deadline = this.clock.now + timeoutMs
    this.runUntilIdle()
    while (!condition()) {
      const next = Math.min(...[this.clock.nextTimer(), this.network.next(), deadline].filter((t): t is number => t !== undefined))
      if (this.clock.now >= deadline) return false
      this.advanceTo(Math.min(next, deadline))
    }
    return true
  }

  /** The Raft state node `id` reported after its last turn (undefined while it is down). */
  raft(id: NodeId) {
    return this.nodes.get(id)!.status?.raft
  }

  /** The node that leads the highest term, if any. */
  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined
    for (const id of this.nodes.keys()) {
      const raft = this.raft(id)
      if (raft?.role === "leader" && (best === undefined || raft.term > best.term)) best = { id, term: raft.term }
    }
    return best?.id
  }

  /** Send `SET key value` through node `id` (recorded in the history like any client's). */
  write(id: NodeId, key: string, value: string): void {
    this.submit(0, this.nodes.get(id)!, key, { op: "set", value })
  }

  get violations(): ReadonlyArray<string> {
    return this.checker.violations
  }

  get traceLines(): ReadonlyArray<string> {
    return this.frozenTrace ?? this.traceBuffer
  }

  // ------------------------------------------------------------------ the run

  run(): SimulationResult {
    const duration = this.options.durationMs ?? 10_000
    const plan: Array<Fault> = [
      ...(this.options.plan ?? randomPlan(this.random, { nodes: this.ids.length, durationMs: duration, ...(this.options.profile !== undefined ? { profile: this.options.profile } : {}) }))
    ].sort((a, b) => a.at - b.at)
    for (const id of this.ids) this.startNode(id)
    for (let client = 1; client <= (this.options.clients ?? 3); client++) this.clientNextAt.set(client, this.clock.now + 200 + client)

    // Phase 1: clients and faults.
    let nextFault = 0
    const end = this.start + duration
    while (this.clock.now < end && this.checker.violations.length === 0) {
      while (nextFault < plan.length && this.start + plan[nextFault].at <= this.clock.now) {
        const fault = plan[nextFault++]
        const restart = this.applyFault(fault)
        // A fault that restarts its node later schedules that restart as a fault of its own.
        if (restart !== undefined) {
          let i = nextFault
          while (i < plan.length && plan[i].at <= restart.at) i++
          plan.splice(i, 0, restart)
        }
      }
      this.issueClientOperations()
      this.runUntilIdle()
      const candidates = [this.clock.nextTimer(), this.network.next(), this.nextClientAt(), nextFault < plan.length ? this.start + plan[nextFault].at : undefined, end]
      this.advanceTo(Math.min(...candidates.filter((t): t is number => t !== undefined)))
    }

    // Phase 2: heal everything, then every node must serve again within the liveness bound.
    const violations: Array<string> = []
    if (this.checker.violations.length === 0) {
      this.trace("FAULT heal everything, restart every node, clear disk faults (liveness check)")
      this.network.heal()
      for (const [id, disk] of this.disks) {
        disk.faults.failFsync = false
        disk.faults.fsyncLatencyMs = 0
        const node = this.nodes.get(id)!
        // Spares never added stay unstarted, and nodes that stopped because they were removed stay down.
        if (node.started && !node.removed) this.startNode(id)
      }
      this.clientNextAt.clear()
      const livenessEnd = this.clock.now + (this.options.livenessMs ?? 8_000)
      const problem = this.checkLiveness(livenessEnd)
      if (problem !== undefined) violations.push(`t=${this.elapsed()} liveness: ${problem}`)
    }
    violations.unshift(...this.checker.violations)
    if (violations.length === 0) {
      const check = checkLinearizable(this.history)
      if (!check.linearizable) {
        violations.push(`linearizability: the history of key ${check.failingKey} has no valid order (${this.history.filter((op) => op.key === check.failingKey).length} operations)`)
      }
    }
    const crashes = this.crashes
    for (const node of this.nodes.values()) {
      const fiber = node.fiber
      node.fiber = undefined // the end of the run, not a crash
      fiber?.unsafeInterruptAsFork(FiberId.none)
    }
    this.runUntilIdle()
    return {
      seed: this.options.seed,
      ok: violations.length === 0,
      violations,
      trace: this.frozenTrace ?? this.traceBuffer,
      history: this.history,
      stats: {
        simulatedMs: this.elapsed(),
        operations: this.operationCount,
        acknowledged: this.history.filter((op) => op.returned !== Number.POSITIVE_INFINITY).length,
        messages: this.network.delivered,
        crashes,
        snapshotsTaken: this.snapshotsTaken,
        snapshotsInstalled: this.snapshotsInstalled,
        changesCommitted: this.changesCommitted,
        transfers: this.transfers,
        removedNodesStopped: this.removedNodesStopped
      }
    }
  }

  /**
   * After healing: one leader that every node follows, then a write and a read of every key
   * through every node, all answered before `deadline`. Returns what failed, if anything.
   */
  private checkLiveness(deadline: number): string | undefined {
    const waitUntil = (condition: () => boolean, what: string): string | undefined => {
      while (!condition()) {
        if (this.checker.violations.length > 0) return undefined
        const next = Math.min(...[this.clock.nextTimer(), this.network.next(), deadline].filter((t): t is number => t !== undefined))
        if (next > deadline || this.clock.now >= deadline) return `${what} within ${this.options.livenessMs ?? 8_000} ms of healing`
        this.advanceTo(next)
      }
      return undefined
    }
    // The members: those of the leader's configuration (its membership may have changed).
    const members = (): Array<SimNode> => {
      const leader = this.leader()
      const configuration = leader === undefined ? undefined : this.raft(leader)?.configuration
      return configuration === undefined ? [] : configuration.members.map((member) => this.nodes.get(member.id)!)
    }
    const agreedLeader = () => {
      const leader = this.leader()
      if (leader === undefined) return false
      const term = this.raft(leader)!.term
      const statuses = members().map((node) => node.status?.raft)
      return statuses.length > 0 && statuses.every((status) => status !== undefined && status.leader === leader && status.term === term)
    }
    const noLeader = waitUntil(() => this.pending.size === 0 && agreedLeader(), "no leader that every member follows, or client operations still pending,")
    if (noLeader !== undefined) return noLeader
    // A node that was a member once and is no longer one must learn it and stop.
    const finalMembers = new Set(members().map((node) => node.id))
    const lingering = () => [...this.nodes.values()].filter((node) => node.fiber !== undefined && this.checker.everMembers.has(node.id) && !finalMembers.has(node.id))
    const stopped = waitUntil(() => lingering().length === 0, `removed nodes ${lingering().map((node) => node.id).join(", ")} did not stop`)
    if (stopped !== undefined) return stopped
    for (const id of finalMembers) if (this.nodes.get(id)!.removed) return `node ${id} stopped as removed but is a member`
    // Fresh operations through every node must now succeed: a write each, then reads of every
    // key. Like a real client, retry an answer that leaves the outcome open (SET and GET are
    // idempotent): a write can, rightly, come back "outcome unknown" when its node caught up
    // through a snapshot that includes it. Three attempts each, within the liveness bound.
    const failures: Array<string> = []
    let outstanding = 0
    const attempt = (what: string, send: (onDone: (reply: Reply) => void) => void, attemptsLeft: number) => {
      outstanding++
      send((reply) => {
        outstanding--
        if (reply._tag !== "Error") return
        if (attemptsLeft > 1) attempt(what, send, attemptsLeft - 1)
        else failures.push(`${what}: ${reply.message}`)
      })
    }
    const serving = members()
    for (const node of serving) {
      attempt(`SET through node ${node.id}`, (onDone) => this.submit(100 + node.id, node, `k0`, { op: "set", value: `final-${node.id}` }, onDone), 3)
    }
    const wrote = waitUntil(() => outstanding === 0, "final writes not answered")
    if (wrote !== undefined) return wrote
    for (const node of serving) {
      for (let k = 0; k < (this.options.keys ?? 3); k++) {
        attempt(`GET k${k} through node ${node.id}`, (onDone) => this.submit(200 + node.id, node, `k${k}`, { op: "get" }, onDone), 3)
      }
    }
    const read = waitUntil(() => outstanding === 0, "final reads not answered")
    if (read !== undefined) return read
    return failures.length > 0 ? failures.join("; ") : undefined
  }
}

const BLPOP = commandTable.get("blpop")!
/** How long a simulated client's BLPOP waits. */
const BLPOP_TIMEOUT = "0.2"

const isRead = (input: KvInput): boolean => input.op === "get" || input.op === "lrange"

const commandOf = (key: string, input: KvInput): Array<string> => {
  switch (input.op) {
    case "get":
      return ["GET", key]
    case "set":
      return input.ttlMs === undefined ? ["SET", key, input.value] : ["SET", key, input.value, "PX", String(input.ttlMs)]
    case "del":
      return ["DEL", key]
    case "incr":
      return ["INCR", key]
    case "lpush":
      return ["LPUSH", key, input.value]
    case "rpush":
      return ["RPUSH", key, input.value]
    case "rpop":
      return ["RPOP", key]
    case "lrange":
      return ["LRANGE", key, "0", "-1"]
    case "blpop":
      return ["BLPOP", key, BLPOP_TIMEOUT]
    case "tx":
      return ["MULTI", ...input.commands.flatMap((command) => [...commandOf(key, command), ";"]), "EXEC"]
    case "cas":
      return ["WATCH", key, "GET", key, "MULTI", "SET", key, input.value, "EXEC"]
  }
}

/** A WAL that forgets every vote it is asked to persist (bug injection). */
const forgetVotes = <E, R>(wal: Layer.Layer<Wal, E, R>): Layer.Layer<Wal, E, R> =>
  Layer.effect(
    Wal,
    Effect.map(Wal, (real) =>
      Wal.of({
        ...real,
        append: (batch) => real.append(batch.hardState === undefined ? batch : { ...batch, hardState: { ...batch.hardState, vote: 0 } })
      })
    )
  ).pipe(Layer.provide(wal))

const describeReply = (reply: Reply): string => {
  switch (reply._tag) {
    case "Bulk":
      return reply.value === null ? "(nil)" : JSON.stringify(Buffer.from(reply.value).toString())
    case "Integer":
      return `(integer) ${reply.value}`
    case "Array":
      return reply.value === null ? "(nil array)" : `[${reply.value.map(describeReply).join(", ")}]`
    case "Error":
      return `-${reply.message}`
    case "Simple":
      return reply.value
    default:
      return `(${reply._tag.toLowerCase()})`
  }
}
