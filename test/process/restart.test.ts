/**
 * A full cluster restart keeps every acknowledged write, after a clean stop (SIGTERM) and after
 * a crash of all three (SIGKILL). Both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { RespClient } from "../support/respClient.js"

const KEYS = 300

describe.each([
  { engine: "memory" as const, basePort: 21800 },
  { engine: "level" as const, basePort: 22000 }
])("full cluster restart ($engine engine)", ({ engine, basePort }) => {
  const cluster = new ProcessCluster({ engine, basePort })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  const writeThroughEveryNode = async (round: string) => {
    for (const id of cluster.ids) {
      const client = await RespClient.connect(cluster.clientPort(id))
      const commands = Array.from({ length: KEYS / 3 }, (_, i) => ["SET", `${round}:${id}:${i}`, `value-${round}-${id}-${i}`])
      const replies = await client.pipeline(commands)
      // INCR is not idempotent: re-applying an entry after a restart would show in the count.
      const increments = await client.pipeline(Array.from({ length: 10 }, () => ["INCR", `${round}:counter`]))
      client.close()
      expect(replies.every((reply) => reply === "OK")).toBe(true)
      expect(increments.length).toBe(10)
    }
  }

  const expectEveryWrite = async (round: string) => {
    for (const reader of cluster.ids) {
      const client = await RespClient.connect(cluster.clientPort(reader))
      expect(await client.call("GET", `${round}:counter`)).toBe(String(10 * cluster.size))
      for (const writer of cluster.ids) {
        const keys = Array.from({ length: KEYS / 3 }, (_, i) => `${round}:${writer}:${i}`)
        const values = await client.call("MGET", ...keys)
        expect(values).toEqual(keys.map((_, i) => `value-${round}-${writer}-${i}`))
      }
      client.close()
    }
  }

  it("keeps every acknowledged write across a clean stop of all nodes", async () => {
    await cluster.waitForLeader()
    await writeThroughEveryNode("clean")
    for (const id of cluster.ids) expect(await cluster.stop(id)).toBe(0)
    await cluster.startAll()
    await cluster.waitForLeader()
    await expectEveryWrite("clean")
  }, 120_000)

  it("keeps every acknowledged write across kill -9 of all nodes", async () => {
    await cluster.waitForLeader()
    await writeThroughEveryNode("crash")
    for (const id of cluster.ids) await cluster.kill(id)
    await cluster.startAll()
    await cluster.waitForLeader()
    await expectEveryWrite("crash")
    await expectEveryWrite("clean")
  }, 120_000)
})
