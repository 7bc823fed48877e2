/** Both built-in engines pass the conformance suite any engine must pass. */
import { runEngineConformance } from "../../src/engine/conformance.js"
import { LevelEngine } from "../../src/engine/LevelEngine.js"
import { MemoryEngine } from "../../src/engine/MemoryEngine.js"

runEngineConformance("memory", { makeLayer: () => MemoryEngine.layer, durable: false })
runEngineConformance("level", { makeLayer: (dir) => LevelEngine.layer(dir), durable: true })
