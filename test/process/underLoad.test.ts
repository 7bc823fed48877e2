/**
 * Nothing acknowledged is lost: writers keep writing through every live node while the leader
 * is killed with SIGKILL and later restarted; afterwards every acknowledged write is on every node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { RespClient } from "../support/respClient.js"
import { waitFor } from "../support/waitFor.js"

describe("writes under a leader crash", () => {
  const cluster = new ProcessCluster({ basePort: 32200, extraArgs: ["--request-timeout-ms", "3000"] })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("keeps every acknowledged write through kill -9 and restart of the leader", async () => {
    await cluster.waitForLeader()
    const acknowledged: Array<string> = []
    let failed = 0
    let stop = false

    const writer = async (id: number) => {
      for (let i = 0; i < 400 && !stop; i++) {
        const running = cluster.running()
        const port = cluster.clientPort(running[(id + i) % running.length])
        const key = `w${id}:${i}`
        try {
          const client = await RespClient.connect(port)
          const reply = await client.call("SET", key, `value-${key}`)
          client.close()
          if (reply === "OK") acknowledged.push(key)
          else failed++
        } catch {
          failed++ // the node went away before or while we talked to it
        }
      }
    }

    const chaos = async () => {
      await waitFor(() => acknowledged.length >= 50, { timeoutMs: 20_000, description: "writes before the crash" })
      const leader = await cluster.waitForLeader()
      await cluster.kill(leader)
      const ackedAtCrash = acknowledged.length
      await waitFor(() => acknowledged.length >= ackedAtCrash + 100, { timeoutMs: 30_000, description: "writes after the crash" })
      await cluster.start(leader)
      await waitFor(() => acknowledged.length >= ackedAtCrash + 200, { timeoutMs: 30_000, description: "writes after the restart" })
      stop = true
    }

    await Promise.all([writer(0), writer(1), writer(2), writer(3), chaos()])
    expect(acknowledged.length).toBeGreaterThan(250)
    await cluster.waitForLeader()

    for (const id of cluster.ids) {
      const client = await RespClient.connect(cluster.clientPort(id))
      await waitFor(async () => (await client.call("GET", acknowledged[acknowledged.length - 1])) !== null, {
        timeoutMs: 15_000,
        description: `node ${id} to catch up`
      })
      const values = await client.call("MGET", ...acknowledged)
      client.close()
      const missing = acknowledged.filter((key, i) => (values as Array<unknown>)[i] !== `value-${key}`)
      expect(missing).toEqual([])
    }
  }, 180_000)
})
