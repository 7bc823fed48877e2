/**
 * Run a node from command-line flags. `engineFor` picks the engine Layer from the validated
 * config; the default honours `--engine memory|level`. A custom engine is one argument away:
 *
 *   runCli(process.argv.slice(2), { engineFor: (config) => MyEngine.layer(`${config.dataDir}/mine`) })
 *
 * Exit status: 0 after a clean stop (SIGINT/SIGTERM), 1 when the node had to stop, 2 for bad flags.
 */
import * as path from "node:path"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Either, type Layer, Logger, LogLevel } from "effect"
import type { KvEngine } from "../engine/KvEngine.js"
import { LevelEngine } from "../engine/LevelEngine.js"
import { MemoryEngine } from "../engine/MemoryEngine.js"
import { describeCause } from "../node/describeCause.js"
import { serve } from "../node/Node.js"
import { type NodeConfig, parseArgs } from "./Config.js"
import { loggerFor } from "./logFormat.js"

export const builtInEngine = (config: NodeConfig): Layer.Layer<KvEngine, unknown> =>
  config.engine === "level" ? LevelEngine.layer(path.join(config.dataDir, "level")) : MemoryEngine.layer

export interface RunCliOptions {
  readonly engineFor?: (config: NodeConfig) => Layer.Layer<KvEngine, unknown>
  /** Wraps the node before it runs, e.g. to provide test seams (src/node/InjectedDefects.ts). */
  readonly wrap?: (node: Effect.Effect<void, unknown>) => Effect.Effect<void, unknown>
}

export const runCli = (argv: ReadonlyArray<string>, options: RunCliOptions = {}): void => {
  const parsed = parseArgs(argv)
  if (Either.isLeft(parsed)) {
    process.stderr.write(`raft-kv: ${parsed.left.message}\nTry 'raft-kv --help'.\n`)
    process.exit(2)
  }
  const args = parsed.right
  if (args._tag === "Help") {
    process.stdout.write(args.text)
    process.exit(0)
  }
  const config = args.config
  const node = serve(config).pipe(Effect.provide((options.engineFor ?? builtInEngine)(config)))
  const program = (options.wrap === undefined ? node : options.wrap(node)).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.void
        : Effect.sync(() => {
            process.stderr.write(`raft-kv node ${config.id} stopped: ${describeCause(cause)}\n`)
            process.exitCode = 1
          })
    ),
    // Every line names the node, so the logs of a cluster can be merged and still be read.
    Effect.annotateLogs("node", config.id),
    Logger.withMinimumLogLevel(LogLevel.Info),
    Effect.provide(loggerFor(config.logFormat))
  )
  NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
}
