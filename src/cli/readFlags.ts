/** --read-mode: how reads are served unless a connection chooses otherwise (CLIENT READMODE). */
import { ChoiceFromFlag, type DecodedFlag, type DecodedValues } from "./flags.js"

/**
 * - linearizable: ReadIndex, a heartbeat round per batch of reads (the default);
 * - lease: the leader answers from its lease (no round) while it holds one, assuming the nodes'
 *   clocks drift apart by less than the lease margin over an election timeout;
 * - stale: any node answers from its own applied state at once (may be behind).
 */
export type ReadMode = "linearizable" | "lease" | "stale"
export const READ_MODES: ReadonlyArray<ReadMode> = ["linearizable", "lease", "stale"]

export interface ReadConfig {
  /** How reads are served unless a connection chooses otherwise (CLIENT READMODE). */
  readonly readMode: ReadMode
}

export const READ_DECODED = {
  "read-mode": { schema: ChoiceFromFlag("read-mode", "linearizable", "lease", "stale"), absent: "linearizable" }
} satisfies Record<string, DecodedFlag>

export const READ_MODE_HELP = `  --read-mode M            how reads are served unless a client picks (CLIENT READMODE):
                           linearizable (default; a heartbeat round per batch of reads),
                           lease (the leader answers from its read lease, no round; assumes
                           the clocks drift less than the lease margin), or stale (any node
                           answers from its own state at once, possibly behind)
`

export const readConfig = (values: DecodedValues<typeof READ_DECODED>): ReadConfig => ({ readMode: values["read-mode"] })
