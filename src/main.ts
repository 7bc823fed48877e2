#!/usr/bin/env node
/** The `raft-kv` command: a node with the engine chosen by `--engine` (see src/cli/runCli.ts). */
import { runCli } from "./cli/runCli.js"

runCli(process.argv.slice(2))
