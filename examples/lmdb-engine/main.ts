#!/usr/bin/env node
/**
 * A raft-kv node on the LMDB example engine: the same flags as `raft-kv`, with the engine Layer
 * swapped in. Run it like the Procfile's lines, with this file in place of dist/src/main.js.
 */
import * as path from "node:path"
import { runCli } from "../../src/index.js"
import { LmdbEngine } from "./LmdbEngine.js"

runCli(process.argv.slice(2), { engineFor: (config) => LmdbEngine.layer(path.join(config.dataDir, "lmdb")) })
