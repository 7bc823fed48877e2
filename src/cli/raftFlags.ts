/**
 * How the Raft core is paced: the tick, election and heartbeat intervals, how long a client waits
 * for a quorum, how often the log is compacted, and the margin that keeps lease reads safe.
 */
import { ConfigError, type DecodedFlag, type DecodedValues, IntegerFromFlag } from "./flags.js"

export interface RaftConfig {
  readonly tickMs: number
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly requestTimeoutMs: number
  /** Take a snapshot and compact the log every this many applied entries. */
  readonly snapshotEntries: number
  /** Entries the log keeps behind its latest snapshot, so followers slightly behind catch up from the log. */
  readonly snapshotKeepEntries: number
  /** Lease reads: the lease lasts electionTicks - leaseMarginTicks ticks after a quorum-acknowledged heartbeat. */
  readonly leaseMarginTicks: number
}

export const RAFT_DECODED = {
  "tick-ms": { schema: IntegerFromFlag("tick-ms", 1, 60_000), absent: "100" },
  "election-ticks": { schema: IntegerFromFlag("election-ticks", 2, 10_000), absent: "10" },
  "heartbeat-ticks": { schema: IntegerFromFlag("heartbeat-ticks", 1, 10_000), absent: "1" },
  "request-timeout-ms": { schema: IntegerFromFlag("request-timeout-ms", 1, 3_600_000), absent: "5000" },
  "snapshot-entries": { schema: IntegerFromFlag("snapshot-entries", 10, 1_000_000_000), absent: "100000" },
  "lease-margin-ticks": { schema: IntegerFromFlag("lease-margin-ticks", 1, 10_000), absent: "2" }
} satisfies Record<string, DecodedFlag>

export const RAFT_HELP = `  --tick-ms T              Raft tick in milliseconds (default 100)
  --election-ticks E       election timeout in ticks, randomized in [E, 2E) (default 10)
  --heartbeat-ticks H      leader heartbeat interval in ticks (default 1)
  --request-timeout-ms R   a client gets CLUSTERDOWN after waiting this long for a quorum (default 5000)
  --snapshot-entries N     snapshot the state and compact the log every N applied entries
                           (default 100000; SAVE or BGSAVE take one on demand)
`

/** --lease-margin-ticks, listed after --read-mode: it is what a lease read relies on. */
export const LEASE_MARGIN_HELP = `  --lease-margin-ticks L   a read lease lasts election-ticks - L ticks after a heartbeat a
                           quorum acknowledged (default 2: 80% of the election timeout)
`

/** The catch-up margin behind a snapshot: 5000 entries (etcd's choice), at most half an interval. */
export const snapshotKeepEntriesFor = (snapshotEntries: number) => Math.min(5000, Math.floor(snapshotEntries / 2))

export const parseRaft = (values: DecodedValues<typeof RAFT_DECODED>): RaftConfig | ConfigError => {
  if (values["election-ticks"] <= values["heartbeat-ticks"]) {
    return new ConfigError(`--election-ticks (${values["election-ticks"]}) must be greater than --heartbeat-ticks (${values["heartbeat-ticks"]})`)
  }
  if (values["election-ticks"] - values["lease-margin-ticks"] <= values["heartbeat-ticks"]) {
    return new ConfigError(`--lease-margin-ticks (${values["lease-margin-ticks"]}) leaves no lease: election-ticks - margin must exceed --heartbeat-ticks (${values["heartbeat-ticks"]})`)
  }
  return {
    leaseMarginTicks: values["lease-margin-ticks"],
    tickMs: values["tick-ms"],
    electionTicks: values["election-ticks"],
    heartbeatTicks: values["heartbeat-ticks"],
    requestTimeoutMs: values["request-timeout-ms"],
    snapshotEntries: values["snapshot-entries"],
    snapshotKeepEntries: snapshotKeepEntriesFor(values["snapshot-entries"])
  }
}
