/**
 * raft-kv as a library: run a node with your own storage engine, or test an engine.
 *
 * - `runCli(argv, { engineFor })`: the `raft-kv` command with an engine Layer of your choice.
 * - `serve(config)`: the node as an Effect that needs a `KvEngine`; provide one with
 *   `Effect.provide(MyEngine.layer)` (swapping engines is Layer composition).
 * - The engine contract (`KvEngine`, `EngineError`, `WriteOp`, `KeyRange`, `EngineSnapshot`),
 *   the snapshot format helpers and the built-in engines.
 * - The conformance suite lives in `src/engine/conformance.ts` (it imports vitest, so it is not
 *   re-exported here).
 */
export { parseArgs, type NodeConfig } from "./cli/Config.js"
export { builtInEngine, runCli, type RunCliOptions } from "./cli/runCli.js"
export {
  compareBytes,
  EngineError,
  keyAfterPrefix,
  KvEngine,
  namespacedBounds,
  type EngineSnapshot,
  type KeyRange,
  type KvEngineService,
  type WriteOp
} from "./engine/KvEngine.js"
export { LevelEngine } from "./engine/LevelEngine.js"
export { MemoryEngine } from "./engine/MemoryEngine.js"
export { fromSnapshotChunks, toSnapshotChunks } from "./engine/SnapshotFormat.js"
export { serve } from "./node/Node.js"
