#!/usr/bin/env node
/**
 * The `raft-kv` command: parse flags, pick the engine Layer, run the node until SIGINT/SIGTERM.
 * Exit status: 0 after a clean stop, 1 when the node had to stop (fail-stop), 2 for bad flags.
 */
import * as path from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Either, Layer, Logger, LogLevel } from "effect"
import { parseArgs } from "./cli/Config.js"
import type { NodeConfig } from "./cli/Config.js"
import type { KvEngine } from "./engine/KvEngine.js"
import { LevelEngine } from "./engine/LevelEngine.js"
import { MemoryEngine } from "./engine/MemoryEngine.js"
import { serve } from "./node/Node.js"
import { describeCause } from "./node/describeCause.js"

const engineLayer = (config: NodeConfig): Layer.Layer<KvEngine, unknown> =>
  config.engine === "level" ? LevelEngine.layer(path.join(config.dataDir, "level")) : MemoryEngine.layer

const parsed = parseArgs(process.argv.slice(2))
if (Either.isLeft(parsed)) {
  process.stderr.write(`raft-kv: ${parsed.left.message}\nTry 'raft-kv --help'.\n`)
  process.exit(2)
}
const args = parsed.right
if (args._tag === "Help") {
  process.stdout.write(args.text.endsWith("\n") ? args.text : `${args.text}\n`)
  process.exit(0)
}
const config = args.config

const program = serve(config).pipe(
  Effect.provide(engineLayer(config)),
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.void
      : Effect.sync(() => {
          process.stderr.write(`raft-kv node ${config.id} stopped: ${describeCause(cause)}\n`)
          process.exitCode = 1
        })
  ),
  Logger.withMinimumLogLevel(LogLevel.Info)
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
