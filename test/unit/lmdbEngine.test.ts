/** The LMDB example engine, written from docs/engines.md, passes the same conformance suite. */
import { LmdbEngine } from "../../examples/lmdb-engine/LmdbEngine.js"
import { runEngineConformance } from "../../src/engine/conformance.js"

runEngineConformance("lmdb (example)", { makeLayer: (dir) => LmdbEngine.layer(dir), durable: true })
