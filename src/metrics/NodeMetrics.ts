/**
 * The node's metrics. What no other part keeps is counted here, synchronously, by the part that
 * sees it happen (one writer each: RaftNode the leader changes, proposals and round trips; the
 * WAL its fsyncs; the Snapshotter its snapshots; the transport the peer bytes; connections their
 * commands). What INFO already has (the Raft status, applied index, the client counters in
 * Stats) is read from there when /metrics is scraped, never counted twice.
 *
 * A Context.Reference: the production node provides its own (Node.ts `serve`); the simulation and
 * unit tests fall back to a default one and never read it.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Context } from "effect"
import type { NodeStatusService } from "../node/NodeStatus.js"
import type { StatsService } from "../node/Stats.js"
import {
  Counter,
  counter,
  counterOf,
  type Family,
  gauge,
  Histogram,
  histogram,
  type Labels,
  Labelled,
  labelled
} from "./Registry.js"

const exponential = (start: number, factor: number, count: number): Array<number> =>
  Array.from({ length: count }, (_, i) => Number((start * factor ** i).toPrecision(6)))

/** 100 µs .. ~3.3 s: an fsync on tmpfs is microseconds, on a loaded disk hundreds of milliseconds. */
export const FSYNC_BUCKETS = exponential(0.0001, 2, 16)
export const SNAPSHOT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
/** 100 µs .. ~1.6 s (etcd's peer round-trip buckets start at 100 µs too). */
export const RTT_BUCKETS = exponential(0.0001, 2, 15)
/** A handful: commands are counted per name, so every bucket is repeated per command. */
export const COMMAND_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]

/** A command's duration: the histogram's count is also the command's count (raftkv_client_commands_total). */
export type CommandTiming = Histogram

export class NodeMetrics {
  readonly leaderChanges = new Counter()
  /** Committed entries this node handed to its Applier (RaftNode). */
  readonly proposalsCommitted = new Counter()
  /** Entries applied to the engine (Applier). */
  readonly proposalsApplied = new Counter()
  /** This node's client writes that timed out before they committed (RaftNode). */
  readonly proposalsFailed = new Counter()
  /** This node's client writes proposed and not yet committed (RaftNode, after each turn). */
  proposalsPending = 0
  readonly walFsync = new Histogram(FSYNC_BUCKETS)
  readonly snapshotSave = new Histogram(SNAPSHOT_BUCKETS)
  /** Size of the last snapshot this node saved. */
  snapshotBytes = 0
  readonly peerRoundTrip = new Labelled("To", () => new Histogram(RTT_BUCKETS))
  readonly peerSentBytes = new Labelled("To", () => new Counter())
  readonly peerReceivedBytes = new Labelled("From", () => new Counter())
  readonly commands = new Labelled("cmd", () => new Histogram(COMMAND_BUCKETS))

  /** The duration histogram of command `name` (lower case); made once per command name. */
  commandTiming(name: string): CommandTiming {
    return this.commands.get(name)
  }
}

export class Metrics extends Context.Reference<Metrics>()("raft-kv/Metrics", {
  defaultValue: (): NodeMetrics => new NodeMetrics()
}) {}

/** What /metrics reads at scrape time besides the counters above. */
export interface MetricSources {
  readonly metrics: NodeMetrics
  readonly status: NodeStatusService
  readonly stats: StatsService
  readonly connectedClients: () => number
}

const startTime = Date.now() / 1000

/** The event loop's delay, sampled every 20 ms; reported and reset at each scrape. */
const eventLoop = (() => {
  const monitor = monitorEventLoopDelay({ resolution: 20 })
  let enabled = false
  return {
    read: () => {
      if (!enabled) {
        monitor.enable()
        enabled = true
      }
      const sample = { mean: monitor.count > 0 ? monitor.mean / 1e9 : 0, p99: monitor.count > 0 ? monitor.percentile(99) / 1e9 : 0, max: monitor.count > 0 ? monitor.max / 1e9 : 0 }
      monitor.reset()
      return sample
    }
  }
})()

export const nodeFamilies = (sources: MetricSources): Array<Family> => {
  const { metrics: m, status, stats } = sources
  const memory = () => process.memoryUsage()
  let loop = { mean: 0, p99: 0, max: 0 }
  // The counts are the duration histograms' counts: one observation per command, counted once.
  const commandCounts: Family = {
    name: "raftkv_client_commands_total",
    help: "Commands answered, by command name (lower case; subcommands count under their command).",
    type: "counter",
    collect: () => Array.from(labelled("", "", "histogram", m.commands).collect(), ([labels, h]) => [labels, (h as Histogram).count] as const)
  }
  const aclDenied: Family = {
    name: "raftkv_client_acl_denied_total",
    help: "Commands the ACL refused, by reason (command: the command itself; key: one of its keys).",
    type: "counter",
    collect: () => [
      [[["reason", "command"]] as Labels, stats.aclDeniedCommand],
      [[["reason", "key"]] as Labels, stats.aclDeniedKey]
    ]
  }
  return [
    gauge("raftkv_server_has_leader", "Whether this node knows a leader (1) or not (0).", () => (status.raft.leader !== 0 ? 1 : 0)),
    gauge("raftkv_server_is_leader", "Whether this node is the leader (1) or not (0).", () => (status.raft.role === "leader" ? 1 : 0)),
    gauge("raftkv_server_leader_id", "The id of the leader this node knows (0: none).", () => status.raft.leader),
    counter("raftkv_server_leader_changes_seen_total", "Times this node saw a new leader (including the first).", m.leaderChanges),
    gauge("raftkv_server_current_term", "This node's current Raft term.", () => status.raft.term),
    gauge("raftkv_server_commit_index", "The highest log index this node knows to be committed.", () => status.raft.commit),
    gauge("raftkv_server_applied_index", "The highest log index applied to this node's engine.", () => status.appliedIndex),
    counter("raftkv_server_proposals_committed_total", "Log entries this node saw committed since it started.", m.proposalsCommitted),
    counter("raftkv_server_proposals_applied_total", "Log entries this node applied to its engine since it started.", m.proposalsApplied),
    gauge("raftkv_server_proposals_pending", "Client writes this node proposed that have not committed yet.", () => m.proposalsPending),
    counter("raftkv_server_proposals_failed_total", "Client writes of this node that timed out before they committed.", m.proposalsFailed),
    histogram("raftkv_disk_wal_fsync_duration_seconds", "Latency of the WAL's fsyncs.", m.walFsync),
    histogram("raftkv_snapshot_save_duration_seconds", "Time to write a snapshot file (the engine's snapshot streamed to disk and synced).", m.snapshotSave),
    gauge("raftkv_snapshot_size_bytes", "Size of the last snapshot this node saved (0: none since start).", () => m.snapshotBytes),
    labelled("raftkv_network_peer_round_trip_time_seconds", "Round trip of a leader's heartbeat to a peer and back, including the peer's turn.", "histogram", m.peerRoundTrip),
    labelled("raftkv_network_peer_sent_bytes_total", "Bytes of peer frames sent, by peer id.", "counter", m.peerSentBytes),
    labelled("raftkv_network_peer_received_bytes_total", "Bytes received on peer connections, by peer id.", "counter", m.peerReceivedBytes),
    commandCounts,
    labelled("raftkv_client_command_duration_seconds", "Time from a command's arrival to its reply, by command name.", "histogram", m.commands),
    gauge("raftkv_client_connected_clients", "Client connections open now.", sources.connectedClients),
    counterOf("raftkv_client_connections_total", "Client connections accepted (INFO total_connections_received).", () => stats.connectionsReceived),
    counterOf("raftkv_client_rejected_connections_total", "Client connections refused over --maxclients.", () => stats.rejectedConnections),
    counterOf("raftkv_client_auth_failures_total", "Failed AUTH and HELLO AUTH attempts (INFO acl_access_denied_auth).", () => stats.aclDeniedAuth),
    aclDenied,
    counterOf("raftkv_client_net_input_bytes_total", "Bytes received from clients.", () => stats.netInputBytes),
    counterOf("raftkv_client_net_output_bytes_total", "Bytes sent to clients.", () => stats.netOutputBytes),
    counterOf("process_cpu_seconds_total", "User and system CPU time of the process.", () => {
      const cpu = process.cpuUsage()
      return (cpu.user + cpu.system) / 1e6
    }),
    gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.", () => startTime),
    gauge("process_resident_memory_bytes", "Resident memory of the process.", () => memory().rss),
    gauge("nodejs_heap_size_total_bytes", "V8 heap size.", () => memory().heapTotal),
    gauge("nodejs_heap_size_used_bytes", "V8 heap in use.", () => memory().heapUsed),
    gauge("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript objects (Buffers).", () => memory().external),
    gauge("nodejs_eventloop_lag_mean_seconds", "Mean event loop delay since the previous scrape.", () => {
      loop = eventLoop.read()
      return loop.mean
    }),
    gauge("nodejs_eventloop_lag_p99_seconds", "99th percentile of the event loop delay since the previous scrape.", () => loop.p99),
    gauge("nodejs_eventloop_lag_max_seconds", "Largest event loop delay since the previous scrape.", () => loop.max)
  ]
}
