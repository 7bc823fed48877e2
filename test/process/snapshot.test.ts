/**
 * Snapshots with real processes, both engines: a node that was down while the log was compacted
 * catches up through a snapshot streamed by the leader, and the data directory stays bounded
 * while 200,000 writes go through.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { RespClient } from "../support/respClient.js"
import { waitFor } from "../support/waitFor.js"
import { TEST_HOST } from "../support/testHost.js"

const SNAPSHOT_ENTRIES = 10_000

/**
 * Bytes under `dir`, recursively (what `du` would count, without block rounding). The node keeps
 * writing while this walks, so a file or directory listed a moment ago may be gone (a snapshot's
 * temporary file renamed into place, a LevelDB table compacted away): it counts as zero.
 */
const diskUse = (dir: string): number => {
  let entries: Array<fs.Dirent>
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0
    throw error
  }
  let total = 0
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    total += entry.isDirectory() ? diskUse(full) : (fs.statSync(full, { throwIfNoEntry: false })?.size ?? 0)
  }
  return total
}

/** Send `count` SETs over one connection in pipelined batches; every reply must be OK. */
const writeMany = async (port: number, from: number, count: number, keys: number, onBatch?: (done: number) => void) => {
  const client = await RespClient.connect(port)
  try {
    for (let done = 0; done < count; ) {
      const batch = Math.min(500, count - done)
      const commands = Array.from({ length: batch }, (_, i) => {
        const n = from + done + i
        return ["SET", `key:${n % keys}`, `value-${n}-${"x".repeat(64)}`]
      })
      const replies = await client.pipeline(commands)
      const failed = replies.find((reply) => reply !== "OK")
      if (failed !== undefined) throw new Error(`write failed: ${String(failed)}`)
      done += batch
      onBatch?.(done)
    }
  } finally {
    client.close()
  }
}

describe.each([
  { engine: "memory" as const, basePort: 31600 },
  { engine: "level" as const, basePort: 31800 }
])("snapshots and compaction ($engine engine)", ({ engine, basePort }) => {
  const cluster = new ProcessCluster({ engine, basePort, extraArgs: ["--snapshot-entries", String(SNAPSHOT_ENTRIES)] })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("a node down while more than --snapshot-entries writes happen catches up through a snapshot", async () => {
    const leader = await cluster.waitForLeader()
    const down = cluster.ids.find((id) => id !== leader)!
    expect(await cluster.stop(down)).toBe(0)
    await writeMany(cluster.clientPort(leader), 0, 2.5 * SNAPSHOT_ENTRIES, 1000)
    const leaderInfo = await info(cluster.clientPort(leader))
    expect(Number(leaderInfo.raft_snapshot_index)).toBeGreaterThanOrEqual(2 * SNAPSHOT_ENTRIES)

    await cluster.start(down)
    const port = cluster.clientPort(down)
    await waitFor(async () => Number((await info(port)).raft_applied_index) >= Number(leaderInfo.raft_applied_index), {
      timeoutMs: 30_000,
      description: () => `node ${down} to catch up\n${cluster.logs(down)}`
    })
    // Log lines travel through a pipe of their own: wait for them rather than assume their order.
    await waitFor(() => /received snapshot \d+ from node/.test(cluster.logs(down)), {
      timeoutMs: 15_000,
      description: () => `node ${down} to log the snapshot it received\n${cluster.logs(down)}`
    })
    expect(cluster.logs(leader)).toMatch(new RegExp(`sending snapshot \\d+ to node ${down}`))
    const last = 2.5 * SNAPSHOT_ENTRIES - 1
    expect(await redisCli(port, "GET", `key:${last % 1000}`)).toBe(`value-${last}-${"x".repeat(64)}`)
    expect(await redisCli(port, "DBSIZE")).toBe("1000")
    // And it follows the log from there.
    expect(await redisCli(port, "SET", "after", "snapshot")).toBe("OK")
    expect(await redisCli(cluster.clientPort(leader), "GET", "after")).toBe("snapshot")
  }, 120_000)

  it("redis-cli SAVE snapshots on demand; redis-cli --pipe loads commands", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(leader)
    const commands = Array.from({ length: 2000 }, (_, i) => `SET piped:${i} v${i}\r\n`).join("")
    const piped = await new Promise<string>((resolve, reject) => {
      const child = execFile("redis-cli", ["-h", TEST_HOST, "-p", String(port), "--pipe"], { timeout: 30_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout)
      )
      child.stdin!.end(commands)
    })
    expect(piped).toMatch(/errors: 0, replies: 2000/)
    expect(await redisCli(port, "GET", "piped:1999")).toBe("v1999")
    const applied = Number((await info(port)).raft_applied_index)
    expect(await redisCli(port, "SAVE")).toBe("OK")
    // The snapshot is durable when SAVE answers; the core learns of it right after.
    await waitFor(async () => Number((await info(port)).raft_snapshot_index) >= applied, { timeoutMs: 5000, description: "INFO to show the new snapshot" })
    expect(await redisCli(port, "BGSAVE")).toBe("Background saving started")
  }, 60_000)

  it("keeps each node's data directory under 24 MiB through 200,000 writes", async () => {
    const leader = await cluster.waitForLeader()
    // 1000 keys of ~80-byte values: the state is ~100 KB, the log of 200,000 writes ~40 MB.
    const BOUND = 24 * 1024 * 1024
    let largest = 0
    await writeMany(cluster.clientPort(leader), 100_000, 200_000, 1000, (done) => {
      if (done % 20_000 !== 0) return
      for (const id of cluster.ids) largest = Math.max(largest, diskUse(path.join(cluster.root, `node${id}`)))
    })
    for (const id of cluster.ids) largest = Math.max(largest, diskUse(path.join(cluster.root, `node${id}`)))
    console.log(`${engine}: largest data directory during 200,000 writes: ${(largest / 1024 / 1024).toFixed(1)} MiB`)
    expect(largest).toBeLessThan(BOUND)
    const leaderInfo = await info(cluster.clientPort(leader))
    expect(Number(leaderInfo.raft_log_first_index)).toBeGreaterThan(200_000)
  }, 240_000)
})
