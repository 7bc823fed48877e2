/**
 * INFO's sections, with the fields redis-cli --stat, redis-cli --bigkeys and monitoring tools read
 * (connected_clients, total_commands_processed, instantaneous_ops_per_sec, keyspace_hits/misses,
 * db0:keys=N,expires=M,avg_ttl=T, role and master_host/master_port), plus raft-kv's "# Raft".
 */
import * as os from "node:os"
import { REDIS_COMPAT_VERSION } from "../commands/connection.js"
import type { NodeConfigValue } from "../node/NodeConfig.js"
import type { NodeStatusService } from "../node/NodeStatus.js"
import type { StatsService } from "../node/Stats.js"

export const RAFT_KV_VERSION = "0.2.0"
const startedAt = Date.now()

export interface InfoSources {
  readonly config: NodeConfigValue
  readonly status: NodeStatusService
  readonly stats: StatsService
  readonly connectedClients: () => number
  readonly blockedClients: () => number
  readonly raftInfo: () => string
  /** Client address ("host:port") a node announced, if known. */
  readonly clientAddressOf: (id: number) => string | undefined
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(2)}M`

const section = (title: string, fields: ReadonlyArray<readonly [string, string | number]>): string =>
  [`# ${title}`, ...fields.map(([name, value]) => `${name}:${value}`)].join("\r\n")

const server = (sources: InfoSources): string => {
  const uptime = Math.floor((Date.now() - startedAt) / 1000)
  return section("Server", [
    ["redis_version", REDIS_COMPAT_VERSION],
    ["raft_kv_version", RAFT_KV_VERSION],
    ["redis_git_sha1", "00000000"],
    // Cluster clients (redis-py's RedisCluster) check for cluster mode: one shard, all slots (CLUSTER SLOTS).
    ["redis_mode", "cluster"],
    ["os", `${os.type()} ${os.release()} ${os.arch()}`],
    ["arch_bits", 64],
    ["process_id", process.pid],
    ["tcp_port", sources.config.port],
    ["uptime_in_seconds", uptime],
    ["uptime_in_days", Math.floor(uptime / 86400)],
    ["executable", process.argv[1] ?? ""]
  ])
}

const clients = (sources: InfoSources): string =>
  section("Clients", [
    ["connected_clients", sources.connectedClients()],
    ["cluster_connections", 0],
    ["maxclients", sources.config.maxClients],
    ["blocked_clients", sources.blockedClients()],
    ["tracking_clients", 0]
  ])

const memory = (): string => {
  const usage = process.memoryUsage()
  const used = usage.heapUsed + usage.external
  return section("Memory", [
    ["used_memory", used],
    ["used_memory_human", mib(used)],
    ["used_memory_rss", usage.rss],
    ["used_memory_rss_human", mib(usage.rss)],
    ["maxmemory", 0],
    ["maxmemory_human", "0B"],
    ["maxmemory_policy", "noeviction"],
    ["node_heap_used", usage.heapUsed],
    ["node_heap_total", usage.heapTotal],
    ["node_external", usage.external],
    ["node_array_buffers", usage.arrayBuffers]
  ])
}

const persistence = (sources: InfoSources): string =>
  section("Persistence", [
    ["loading", 0],
    ["async_loading", 0],
    ["rdb_last_save_time", sources.status.lastSave],
    ["rdb_last_bgsave_status", "ok"],
    ["aof_enabled", 0],
    ["raft_wal", "fsync on every append"]
  ])

const stats = (sources: InfoSources): string => {
  const s = sources.stats
  return section("Stats", [
    ["total_connections_received", s.connectionsReceived],
    ["total_commands_processed", s.commandsProcessed],
    ["instantaneous_ops_per_sec", s.opsPerSecond()],
    ["total_net_input_bytes", s.netInputBytes],
    ["total_net_output_bytes", s.netOutputBytes],
    ["rejected_connections", s.rejectedConnections],
    ["expired_keys", s.expiredKeys],
    ["evicted_keys", 0],
    ["keyspace_hits", s.hits],
    ["keyspace_misses", s.misses],
    ["total_error_replies", s.errorReplies],
    ["acl_access_denied_auth", s.aclDeniedAuth],
    ["acl_access_denied_cmd", s.aclDeniedCommand],
    ["acl_access_denied_key", s.aclDeniedKey],
    ["acl_access_denied_channel", 0]
  ])
}

/**
 * The leader is the "master" and the other voters its replicas, as CLUSTER and ROLE describe the
 * cluster; offsets are applied log indexes.
 */
const replication = (sources: InfoSources): string => {
  const raft = sources.status.raft
  const applied = sources.status.appliedIndex
  if (raft.role === "leader") {
    const followers = raft.configuration.members.filter((member) => member.id !== sources.config.id)
    const fields: Array<readonly [string, string | number]> = [["role", "master"], ["connected_slaves", followers.length]]
    followers.forEach((peer, i) => {
      const address = sources.clientAddressOf(peer.id) ?? `${peer.address.slice(0, peer.address.lastIndexOf(":"))}:0`
      const colon = address.lastIndexOf(":")
      fields.push([`slave${i}`, `ip=${address.slice(0, colon)},port=${address.slice(colon + 1)},state=online,offset=${raft.commit},lag=0`])
    })
    fields.push(["master_replid", "0000000000000000000000000000000000000000"], ["master_repl_offset", applied])
    return section("Replication", fields)
  }
  const leader = raft.leader === 0 ? undefined : sources.clientAddressOf(raft.leader)
  const colon = leader?.lastIndexOf(":") ?? -1
  return section("Replication", [
    ["role", "slave"],
    ["master_host", leader === undefined ? "" : leader.slice(0, colon)],
    ["master_port", leader === undefined ? 0 : Number(leader.slice(colon + 1))],
    ["master_link_status", raft.leader === 0 ? "down" : "up"],
    ["master_last_io_seconds_ago", raft.leader === 0 ? -1 : 0],
    ["master_sync_in_progress", 0],
    ["slave_read_repl_offset", applied],
    ["slave_repl_offset", applied],
    ["slave_priority", 100],
    ["slave_read_only", 0],
    ["replica_announced", 1],
    ["connected_slaves", 0],
    ["master_replid", "0000000000000000000000000000000000000000"],
    ["master_repl_offset", applied]
  ])
}

const cpu = (): string => {
  const usage = process.cpuUsage()
  return section("CPU", [
    ["used_cpu_sys", (usage.system / 1e6).toFixed(6)],
    ["used_cpu_user", (usage.user / 1e6).toFixed(6)]
  ])
}

const keyspace = (sources: InfoSources): string =>
  section(
    "Keyspace",
    sources.status.keyspace().map(({ db, keys, expires }) => [`db${db}`, `keys=${keys},expires=${expires},avg_ttl=0`] as const)
  )

/** The sections INFO prints without arguments, in order. */
export const INFO_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster", "keyspace", "raft"] as const

export const infoSection = (sources: InfoSources, name: string): string | undefined => {
  switch (name) {
    case "server":
      return server(sources)
    case "clients":
      return clients(sources)
    case "memory":
      return memory()
    case "persistence":
      return persistence(sources)
    case "stats":
      return stats(sources)
    case "replication":
      return replication(sources)
    case "cpu":
      return cpu()
    case "cluster":
      return section("Cluster", [["cluster_enabled", 1]])
    case "keyspace":
      return keyspace(sources)
    case "raft":
      return sources.raftInfo()
    default:
      return undefined
  }
}
