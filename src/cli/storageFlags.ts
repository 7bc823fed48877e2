/** --data-dir and --engine: where the node keeps its files, and the storage engine. */
import { ChoiceFromFlag, type DecodedFlag, type DecodedValues, type GivenFlags } from "./flags.js"

export interface StorageConfig {
  readonly dataDir: string
  readonly engine: "memory" | "level"
}

/** The group's flags read as text; the decoded ones are in STORAGE_DECODED. */
export const STORAGE_FLAGS = ["data-dir"]

export const STORAGE_DECODED = {
  engine: { schema: ChoiceFromFlag("engine", "memory", "level"), absent: "memory" }
} satisfies Record<string, DecodedFlag>

export const STORAGE_HELP = `  --data-dir D             WAL and engine files (default ./data/node<id>)
  --engine memory|level    storage engine (default memory)
`

export const storageConfig = (flags: GivenFlags, values: DecodedValues<typeof STORAGE_DECODED>, id: number): StorageConfig => ({
  dataDir: flags.get("data-dir") ?? `./data/node${id}`,
  engine: values.engine
})
