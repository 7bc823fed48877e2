/**
 * --metrics-port on a real 3-node cluster: /metrics is valid Prometheus text for the real
 * `promtool check metrics`, its values follow what the cluster does, /health tells a load
 * balancer which nodes can serve, and --log-format json writes lines that parse, with the
 * consensus events and their fields.
 */
import { spawnSync } from "node:child_process"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { redisCli } from "../support/redisCli.js"
import { TEST_HOST } from "../support/testHost.js"
import { waitFor } from "../support/waitFor.js"

const BASE_PORT = 28600
const metricsPort = (id: number) => BASE_PORT + 200 + id

const get = async (id: number, path: string) => {
  const response = await fetch(`http://${TEST_HOST}:${metricsPort(id)}${path}`, { signal: AbortSignal.timeout(5_000) })
  return { status: response.status, type: response.headers.get("content-type") ?? "", text: await response.text() }
}

/** Every sample of a /metrics page by its name and labels as written, e.g. `raftkv_client_commands_total{cmd="set"}`. */
const samples = (text: string): Map<string, number> => {
  const values = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const space = line.lastIndexOf(" ")
    values.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return values
}

const scrape = async (id: number) => samples((await get(id, "/metrics")).text)

/** A sample's value; 0 for a labelled series not yet created (e.g. a command never run). */
const value = (page: Map<string, number>, key: string) => page.get(key) ?? 0

describe("metrics, health and JSON logs", () => {
  const cluster = new ProcessCluster({
    basePort: BASE_PORT,
    extraArgs: ["--log-format", "json"],
    argsFor: (id) => ["--metrics-port", String(metricsPort(id))]
  })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("serves /metrics that promtool accepts, with the cluster's state in it", async () => {
    const leader = await cluster.waitForLeader()
    for (const id of cluster.ids) {
      const page = await get(id, "/metrics")
      expect(page.status).toBe(200)
      expect(page.type).toMatch(/^text\/plain; version=0\.0\.4/)
      const check = spawnSync("promtool", ["check", "metrics"], { input: page.text, encoding: "utf8", timeout: 15_000 })
      expect({ status: check.status, output: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, output: "" })
      await waitFor(async () => value(await scrape(id), "raftkv_server_has_leader") === 1, { timeoutMs: 10_000, description: `node ${id} to report a leader` })
      const now = await scrape(id)
      expect(value(now, "raftkv_server_is_leader")).toBe(id === leader ? 1 : 0)
      expect(value(now, "raftkv_server_leader_id")).toBe(leader)
      expect(value(now, "raftkv_server_leader_changes_seen_total")).toBeGreaterThanOrEqual(1)
      expect(value(now, "raftkv_server_current_term")).toBeGreaterThanOrEqual(1)
      expect(value(now, "process_resident_memory_bytes")).toBeGreaterThan(0)
    }
  }, 60_000)

  it("counts a SET on the leader: the set command, a committed proposal; a follower's applied index catches up", async () => {
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!
    const before = await scrape(leader)
    expect(await redisCli(cluster.clientPort(leader), "SET", "metrics:k", "v")).toBe("OK")
    const after = await scrape(leader)
    expect(value(after, 'raftkv_client_commands_total{cmd="set"}')).toBe(value(before, 'raftkv_client_commands_total{cmd="set"}') + 1)
    expect(value(after, 'raftkv_client_command_duration_seconds_count{cmd="set"}')).toBe(value(after, 'raftkv_client_commands_total{cmd="set"}'))
    expect(value(after, 'raftkv_client_command_duration_seconds_bucket{cmd="set",le="+Inf"}')).toBe(value(after, 'raftkv_client_commands_total{cmd="set"}'))
    expect(value(after, "raftkv_server_proposals_committed_total")).toBeGreaterThan(value(before, "raftkv_server_proposals_committed_total"))
    expect(value(after, "raftkv_server_commit_index")).toBeGreaterThan(value(before, "raftkv_server_commit_index"))
    expect(value(after, "raftkv_disk_wal_fsync_duration_seconds_count")).toBeGreaterThan(value(before, "raftkv_disk_wal_fsync_duration_seconds_count"))
    const commit = value(after, "raftkv_server_commit_index")
    await waitFor(async () => value(await scrape(follower), "raftkv_server_applied_index") >= commit, {
      timeoutMs: 10_000,
      description: `follower ${follower} to apply index ${commit}`
    })
    // Peer traffic and heartbeat round trips, per peer.
    await waitFor(async () => value(await scrape(leader), `raftkv_network_peer_round_trip_time_seconds_count{To="${follower}"}`) > 0, {
      timeoutMs: 10_000,
      description: `the leader to time a heartbeat round trip to node ${follower}`
    })
    const leaderPage = await scrape(leader)
    expect(value(leaderPage, `raftkv_network_peer_sent_bytes_total{To="${follower}"}`)).toBeGreaterThan(0)
    expect(value(await scrape(follower), `raftkv_network_peer_received_bytes_total{From="${leader}"}`)).toBeGreaterThan(0)
  }, 60_000)

  it("counts failed authentication and connected clients", async () => {
    const id = cluster.ids[0]
    const before = value(await scrape(id), "raftkv_client_auth_failures_total")
    expect(await redisCli(cluster.clientPort(id), "AUTH", "nobody", "wrong")).toMatch(/WRONGPASS/)
    expect(value(await scrape(id), "raftkv_client_auth_failures_total")).toBe(before + 1)
    const connected = async (n: number) =>
      waitFor(async () => value(await scrape(id), "raftkv_client_connected_clients") === n, { timeoutMs: 10_000, description: `${n} connected clients on node ${id}` })
    await connected(0)
    const socket = net.connect(cluster.clientPort(id), TEST_HOST)
    try {
      await connected(1)
    } finally {
      socket.destroy()
    }
    await connected(0)
  }, 30_000)

  it("times a snapshot (SAVE), gives its size, and logs it", async () => {
    const leader = await cluster.waitForLeader()
    const before = await scrape(leader)
    expect(await redisCli(cluster.clientPort(leader), "SAVE")).toBe("OK")
    const after = await scrape(leader)
    expect(value(after, "raftkv_snapshot_save_duration_seconds_count")).toBe(value(before, "raftkv_snapshot_save_duration_seconds_count") + 1)
    expect(value(after, "raftkv_snapshot_size_bytes")).toBeGreaterThan(0)
    await waitFor(() => cluster.logs(leader).includes('"event":"snapshot_saved"'), { timeoutMs: 10_000, description: "the snapshot_saved line" })
    const line = cluster.logs(leader).split("\n").find((text) => text.includes('"event":"snapshot_saved"'))!
    expect(JSON.parse(line)).toMatchObject({ level: "INFO", index: expect.any(Number), bytes: value(after, "raftkv_snapshot_size_bytes"), durationMs: expect.any(Number) })
  }, 30_000)

  it("answers /health 200 on every node, 404 elsewhere", async () => {
    const leader = await cluster.waitForLeader()
    for (const id of cluster.ids) {
      await waitFor(async () => (await get(id, "/health")).status === 200, { timeoutMs: 10_000, description: `node ${id} to be healthy` })
      const answer = await get(id, "/health")
      expect(answer.type).toBe("application/json")
      const body = JSON.parse(answer.text)
      expect(body).toMatchObject({ health: "true", leader })
      expect(body.term).toBeGreaterThanOrEqual(1)
      expect(body.appliedIndex).toBeLessThanOrEqual(body.commitIndex)
      expect((await get(id, "/nothing")).status).toBe(404)
    }
  }, 30_000)

  it("logs JSON lines, among them the leader elected with its fields", () => {
    for (const id of cluster.ids) {
      const lines = cluster.logs(id).split("\n").filter((line) => line !== "")
      expect(lines.length).toBeGreaterThan(0)
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      for (const line of parsed) expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String), message: expect.any(String), node: id })
      const elected = parsed.find((line) => line.event === "leader_elected")
      expect(elected).toMatchObject({ level: "INFO", leader: expect.any(Number), term: expect.any(Number), self: expect.any(Boolean) })
      expect(elected!.message).toMatch(/^leader elected: /)
    }
  })

  it("answers 503 \"no leader\" on a node whose peers are stopped, and logs the leader lost", async () => {
    const leader = await cluster.waitForLeader()
    const survivor = cluster.ids.find((id) => id !== leader)!
    for (const id of cluster.ids) if (id !== survivor) await cluster.stop(id)
    await waitFor(async () => (await get(survivor, "/health")).status === 503, {
      timeoutMs: 15_000,
      description: () => `node ${survivor} to become unhealthy\n${cluster.logs(survivor).slice(-2000)}`
    })
    expect(JSON.parse((await get(survivor, "/health")).text)).toEqual({ health: "false", reason: "no leader" })
    expect(value(await scrape(survivor), "raftkv_server_has_leader")).toBe(0)
    const lost = cluster
      .logs(survivor)
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.event === "leader_lost")
    expect(lost).toMatchObject({ level: "INFO", previousLeader: leader })
  }, 60_000)
})
