/**
 * A cluster of real nodes (the same actors, WAL files and engines as production) in one
 * process, connected by a MemoryNetwork instead of TCP, for node-level tests that need to cut
 * links or crash a node on demand.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, LogLevel } from "effect"
import type { NodeConfig as Config } from "../../src/cli/Config.js"
import { MemoryEngine } from "../../src/engine/MemoryEngine.js"
import { IncarnationLive } from "../../src/node/Incarnation.js"
import { KvService, KvServiceLive, type KvServiceApi } from "../../src/node/KvService.js"
import { LifecycleLive } from "../../src/node/Lifecycle.js"
import { MailboxesLive } from "../../src/node/Mailboxes.js"
import { runConsensus } from "../../src/node/Node.js"
import { NodeConfig } from "../../src/node/NodeConfig.js"
import { NodeStatus, NodeStatusLive, type NodeStatusService } from "../../src/node/NodeStatus.js"
import { RecoveredLive } from "../../src/node/Recovery.js"
import { SnapshotStoreLive } from "../../src/node/SnapshotStore.js"
import { SupervisionLive } from "../../src/node/Supervision.js"
import { WalLive } from "../../src/node/Wal.js"
import type { Reply } from "../../src/resp/Reply.js"
import { MemoryNetwork } from "./memoryNetwork.js"
import { waitFor } from "./waitFor.js"
import { StatsLive } from "../../src/node/Stats.js"

export interface InProcessNode {
  readonly id: number
  readonly kv: KvServiceApi
  readonly status: NodeStatusService
  /** Resolves with the actors' exit if they stop on their own (a fatal error). */
  readonly fiber: Fiber.RuntimeFiber<void, unknown>
}

export const configFor = (id: number, size: number, dataDir: string, overrides: Partial<Config> = {}): Config => ({
  id,
  peers: Array.from({ length: size }, (_, i) => ({ id: i + 1, host: "127.0.0.1", port: 1 + i })),
  host: "127.0.0.1",
  port: 0,
  dataDir,
  engine: "memory",
  tickMs: 10,
  electionTicks: 10,
  heartbeatTicks: 1,
  requestTimeoutMs: 2000,
  snapshotEntries: 100_000,
  snapshotKeepEntries: 5000,
  readMode: "linearizable",
  leaseMarginTicks: 2,
  maxClients: 10000,
  ...overrides
})

export class InProcessCluster {
  readonly network = new MemoryNetwork()
  readonly nodes = new Map<number, InProcessNode>()
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-inproc-"))

  constructor(
    readonly size: number,
    readonly overrides: Partial<Config> = {}
  ) {}

  get ids(): Array<number> {
    return Array.from({ length: this.size }, (_, i) => i + 1)
  }

  /** Start node `id`; `fileSystem` replaces the real one (e.g. with fault hooks). */
  async start(id: number, fileSystem: Layer.Layer<FileSystem.FileSystem> = NodeFileSystem.layer): Promise<InProcessNode> {
    const config = configFor(id, this.size, path.join(this.root, `node${id}`), this.overrides)
    const base = Layer.mergeAll(Layer.succeed(NodeConfig, config), MailboxesLive, NodeStatusLive(id), StatsLive, SupervisionLive, LifecycleLive)
    const io = Layer.mergeAll(
      this.network.layer(id),
      WalLive(path.join(config.dataDir, "wal")),
      SnapshotStoreLive(path.join(config.dataDir, "snap")),
      IncarnationLive(config.dataDir),
      MemoryEngine.layer
    ).pipe(Layer.provide(fileSystem), Layer.provideMerge(base))
    const services = Layer.mergeAll(KvServiceLive, RecoveredLive).pipe(Layer.provideMerge(io))
    const started = Effect.runSync(Deferred.make<{ kv: KvServiceApi; status: NodeStatusService }>())
    const program = Effect.gen(function* () {
      yield* Deferred.succeed(started, { kv: yield* KvService, status: yield* NodeStatus })
      yield* runConsensus
    }).pipe(Effect.scoped, Effect.provide(services), Logger.withMinimumLogLevel(LogLevel.Warning))
    const fiber = Effect.runFork(program)
    const { kv, status } = await Effect.runPromise(
      Deferred.await(started).pipe(
        Effect.raceFirst(Fiber.join(fiber).pipe(Effect.flatMap(() => Effect.die("node stopped during start"))))
      )
    )
    const node: InProcessNode = { id, kv, status, fiber }
    this.nodes.set(id, node)
    return node
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id)
  }

  /** Crash a node: interrupt its actors (its WAL keeps only what was written). */
  async stop(id: number): Promise<void> {
    const node = this.nodes.get(id)
    if (node === undefined) return
    this.nodes.delete(id)
    this.network.detach(id)
    await Effect.runPromise(Fiber.interrupt(node.fiber))
  }

  leader(): InProcessNode | undefined {
    const leaders = [...this.nodes.values()].filter((node) => node.status.raft.role === "leader")
    return leaders.length === 1 ? leaders[0] : undefined
  }

  /** Wait (up to 10 s) until exactly one node leads, and return it. */
  async waitForLeader(): Promise<InProcessNode> {
    let leader: InProcessNode | undefined
    await waitFor(() => (leader = this.leader()) !== undefined, { timeoutMs: 10_000, description: "a single leader" })
    return leader!
  }

  async shutdown(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stop(id)
    fs.rmSync(this.root, { recursive: true, force: true })
  }
}

const bytes = (s: string) => Buffer.from(s)

/** Submit a command through a node's KvService and wait for its reply. */
export const call = (node: InProcessNode, kind: "read" | "write", ...argv: Array<string>): Promise<Reply> =>
  new Promise((resolve) => {
    const args = argv.map(bytes)
    if (kind === "write") node.kv.submitWrite({ kind: "command", db: 0, argv: args }, resolve)
    else node.kv.submitRead({ kind: "command", db: 0, argv: args }, resolve)
  })

export const isFailure = (exit: Exit.Exit<unknown, unknown>) => Exit.isFailure(exit)
