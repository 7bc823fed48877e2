/**
 * Composition of one raft-kv node. `runActors` is the node itself, written against services
 * only (Transport, Wal, KvEngine, the Clock and Random), so the simulation runs the very same
 * code with simulated ones. `serve` wires the production services (TCP, files) around it and
 * leaves the engine to the caller: swapping engines is providing a different KvEngine Layer.
 */
import * as path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"
import type { NodeConfig as Config } from "../cli/Config.js"
import type { KvEngine } from "../engine/KvEngine.js"
import { startClientServer } from "../server/ClientServer.js"
import { runAnnouncer } from "./Announcer.js"
import { runApplier } from "./Applier.js"
import { DataDirLockLive } from "./DataDirLock.js"
import { IncarnationLive } from "./Incarnation.js"
import { KvServiceLive } from "./KvService.js"
import { MailboxesLive } from "./Mailboxes.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatusLive } from "./NodeStatus.js"
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

/**
 * Run the consensus actors in the node's supervision tree (Supervision.ts) and wait on it. The
 * first failure of an essential part (an actor, the ticker) surfaces here and every part (the
 * actors, the transport's links and connections) is interrupted, so the node stops as a whole
 * (fail-stop) instead of limping on in an unknown state or with a dead part.
 */
export const runConsensus = Effect.gen(function* () {
  const supervision = yield* Supervision
  yield* supervision.essential("RaftNode", runRaftNode)
  yield* supervision.essential("ticker", runTicker)
  yield* supervision.essential("WAL writer", runWalWriter)
  yield* supervision.essential("Applier", runApplier)
  yield* supervision.essential("Snapshotter", runSnapshotter)
  // The reaper only proposes: a defect in it must not stop the node, and it must keep running.
  yield* supervision.restarting("reaper", runReaper)
  return yield* supervision.join
}).pipe(Effect.ensuring(Effect.flatMap(Supervision, (supervision) => supervision.stopAll)))

/** The whole node: the consensus actors and the Redis listener. */
export const runActors = Effect.gen(function* () {
  const config = yield* NodeConfig
  yield* Effect.logInfo(`node ${config.id} starting (${config.peers.length}-node cluster, engine ${config.engine})`)
  yield* startClientServer
  // Once applied, the announcement is done: a part that may end, and whose failure ends only itself.
  yield* Effect.flatMap(Supervision, (supervision) => supervision.transient("address announcement", runAnnouncer))
  yield* runConsensus
  return yield* Effect.never
})

/** Production node on TCP and real files; provide a KvEngine Layer to run it. */
export const serve = (config: Config) => {
  const base = Layer.mergeAll(
    Layer.succeed(NodeConfig, config),
    MailboxesLive,
    NodeStatusLive(config.id),
    StatsLive,
    SupervisionLive
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
  return runActors.pipe(Effect.scoped, Effect.provide(services))
}

export type { KvEngine }
