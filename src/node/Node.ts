/**
 * Composition of one raft-kv node. `runActors` is the node itself, written against services
 * only (Transport, Wal, KvEngine, the Clock and Random), so the simulation runs the very same
 * code with simulated ones. `serve` wires the production services (TCP, files) around it and
 * leaves the engine to the caller: swapping engines is providing a different KvEngine Layer.
 */
import * as path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Deferred, Duration, Effect, Layer, Queue } from "effect"
import type { NodeConfig as Config } from "../cli/Config.js"
import type { KvEngine } from "../engine/KvEngine.js"
import { Metrics, NodeMetrics } from "../metrics/NodeMetrics.js"
import { startMetricsServer } from "../metrics/MetricsServer.js"
import { startClientServer } from "../server/ClientServer.js"
import { runAnnouncer } from "./Announcer.js"
import { runApplier } from "./Applier.js"
import { DataDirLockLive } from "./DataDirLock.js"
import { runIdleGc } from "./IdleGc.js"
import { IncarnationLive } from "./Incarnation.js"
import { KvServiceLive } from "./KvService.js"
import { Lifecycle, LifecycleLive } from "./Lifecycle.js"
import { Mailboxes, MailboxesLive } from "./Mailboxes.js"
import type { AdminOutcome } from "./Admin.js"
import { runMembershipWatch } from "./MembershipWatch.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus, NodeStatusLive } from "./NodeStatus.js"
import { runRaftNode, runTicker } from "./RaftNode.js"
import { RecoveredLive } from "./Recovery.js"
import { runReaper } from "./Reaper.js"
import { runSnapshotter } from "./Snapshotter.js"
import { SnapshotStoreLive } from "./SnapshotStore.js"
import { StatsLive } from "./Stats.js"
import { Supervision, SupervisionLive } from "./Supervision.js"
import { PeerCredentialsLive } from "./PeerCredentials.js"
import { TcpTransportLive } from "./TcpTransport.js"
import { InlineFileSystem } from "../runtime/InlineFileSystem.js"
import { WalLive } from "./Wal.js"
import { runWalWriter } from "./WalWriter.js"

/** Start the consensus actors in the node's supervision tree (Supervision.ts). */
const startConsensus = Effect.gen(function* () {
  const supervision = yield* Supervision
  yield* supervision.essential("RaftNode", runRaftNode)
  yield* supervision.essential("ticker", runTicker)
  yield* supervision.essential("WAL writer", runWalWriter)
  yield* supervision.essential("Applier", runApplier)
  yield* supervision.essential("Snapshotter", runSnapshotter)
  // The reaper only proposes: a defect in it must not stop the node, and it must keep running.
  yield* supervision.restarting("reaper", runReaper)
  yield* supervision.restarting("membership watch", runMembershipWatch)
})

/**
 * Wait on the supervision tree: the first failure of an essential part (an actor, the ticker)
 * surfaces here (fail-stop: the node stops as a whole instead of limping on in an unknown state
 * or with a dead part); or the node learns it was removed from the cluster, and this succeeds with
 * the reason.
 */
const awaitConsensus = Effect.gen(function* () {
  const supervision = yield* Supervision
  const lifecycle = yield* Lifecycle
  return yield* Effect.raceFirst(supervision.join, Deferred.await(lifecycle.removed))
})

/**
 * Run the consensus actors and wait on them; on the way out every part (the actors, the
 * transport's links and connections) is interrupted.
 */
export const runConsensus = Effect.zipRight(startConsensus, awaitConsensus).pipe(
  Effect.ensuring(Effect.flatMap(Supervision, (supervision) => supervision.stopAll))
)

/**
 * A clean stop (SIGTERM, SIGINT): a leader first hands leadership to the most caught-up voter
 * (bounded by two election timeouts), so the cluster does not wait an election timeout for a new
 * one and no client write fails; then the client connections close once their replies are out.
 */
const handOver = (drainClients: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const status = yield* NodeStatus
    const { raft } = yield* Mailboxes
    const clock = yield* Effect.clock
    const bound = Duration.millis(2 * config.electionTicks * config.tickMs)
    if (status.raft.role === "leader" && status.raft.configuration.members.some((m) => m.role === "voter" && m.id !== config.id)) {
      yield* Effect.logInfo(`node ${config.id} is stopping: handing leadership over first`)
      const done = yield* Deferred.make<AdminOutcome>()
      yield* Queue.offer(raft, {
        _tag: "Admin",
        request: {
          command: { kind: "transfer", target: 0 },
          reply: (outcome) => Deferred.unsafeDone(done, Effect.succeed(outcome)),
          deadline: clock.unsafeCurrentTimeMillis() + Duration.toMillis(bound)
        }
      })
      const outcome = yield* Deferred.await(done).pipe(Effect.timeout(bound), Effect.option)
      if (outcome._tag === "Some" && outcome.value.kind === "transferred") {
        yield* Effect.logInfo(`node ${outcome.value.leader} leads now`)
      } else {
        const why = outcome._tag === "None" ? "no answer" : outcome.value.kind === "error" ? outcome.value.message : outcome.value.kind
        yield* Effect.logWarning(`leadership could not be handed over (${why}); stopping anyway`)
      }
    }
    yield* drainClients
  })

/** The whole node: the consensus actors and the Redis listener; succeeds (the node stops) if it was removed. */
export const runActors = Effect.gen(function* () {
  const config = yield* NodeConfig
  const supervision = yield* Supervision
  const joining = config.join !== undefined ? ` joining through ${config.join.host}:${config.join.port}` : ` (${config.peers.length}-node cluster as first started)`
  yield* Effect.logInfo(`node ${config.id} starting${joining}, engine ${config.engine}`)
  const clients = yield* startClientServer
  const metrics = yield* startMetricsServer(clients.connectedClients)
  // Once applied, the announcement is done: a part that may end, and whose failure ends only itself.
  yield* supervision.transient("address announcement", runAnnouncer)
  yield* startConsensus
  const reason = yield* awaitConsensus.pipe(
    Effect.onInterrupt(() => Effect.zipRight(Effect.sync(metrics.stopping), handOver(clients.drain)).pipe(Effect.catchAllCause((cause) => Effect.logWarning("the clean stop failed", cause)))),
    // Removed: /health says "stopping" from now until the listener closes.
    Effect.tap(() => Effect.sync(metrics.stopping)),
    Effect.ensuring(supervision.stopAll)
  )
  yield* Effect.logInfo(`${reason}: node ${config.id} stops`)
})

/** Production node on TCP and real files; provide a KvEngine Layer to run it. */
export const serve = (config: Config) => {
  const base = Layer.mergeAll(
    Layer.succeed(NodeConfig, config),
    MailboxesLive,
    NodeStatusLive(config.id),
    StatsLive,
    SupervisionLive,
    LifecycleLive
  )
  // The data directory is locked before the WAL is opened, and released after it is closed.
  const disk = Layer.mergeAll(
    // The WAL appends and fsyncs inline on the event loop (see InlineFileSystem.ts).
    WalLive(path.join(config.dataDir, "wal")).pipe(Layer.provide(InlineFileSystem)),
    SnapshotStoreLive(path.join(config.dataDir, "snap")),
    IncarnationLive(config.dataDir)
  ).pipe(Layer.provide(DataDirLockLive(config.dataDir)))
  const transport = TcpTransportLive.pipe(Layer.provide(PeerCredentialsLive))
  const io = Layer.mergeAll(transport, disk).pipe(Layer.provide(NodeFileSystem.layer), Layer.provideMerge(base))
  // Recovery reconciles snapshot, WAL and the caller's engine before any actor starts.
  const services = Layer.mergeAll(KvServiceLive, RecoveredLive).pipe(Layer.provideMerge(io))
  // Idle GC (IdleGc.ts) reads and collects the real process, so only a production node runs it.
  const idleGc = config.idleGc === false ? Effect.void : Effect.flatMap(Supervision, (supervision) => supervision.restarting("idle GC", runIdleGc()))
  // The node's own metrics (a Context.Reference: without this, a default one is used).
  return Effect.zipRight(idleGc, runActors).pipe(Effect.scoped, Effect.provide(services), Effect.provideService(Metrics, new NodeMetrics()))
}

export type { KvEngine }
