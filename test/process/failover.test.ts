/**
 * kill -9 of the leader: a new leader within seconds, writes continue, and the old leader comes
 * back as a follower holding every write it missed. Both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { waitFor } from "../support/waitFor.js"

describe.each([
  { engine: "memory" as const, basePort: 21400 },
  { engine: "level" as const, basePort: 21600 }
])("leader failover ($engine engine)", ({ engine, basePort }) => {
  const cluster = new ProcessCluster({ engine, basePort })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("elects a new leader after kill -9 and the old leader catches up when it returns", async () => {
    const oldLeader = await cluster.waitForLeader()
    const survivors = cluster.ids.filter((id) => id !== oldLeader)
    for (let i = 0; i < 20; i++) expect(await redisCli(cluster.clientPort(survivors[i % 2]), "SET", `before${i}`, `v${i}`)).toBe("OK")

    await cluster.kill(oldLeader)
    const killedAt = Date.now()
    const newLeader = await cluster.waitForLeader(10_000)
    const failoverMs = Date.now() - killedAt
    expect(survivors).toContain(newLeader)
    expect(failoverMs).toBeLessThan(10_000)

    for (let i = 0; i < 20; i++) expect(await redisCli(cluster.clientPort(survivors[i % 2]), "SET", `after${i}`, `w${i}`)).toBe("OK")
    expect(await redisCli(cluster.clientPort(survivors[0]), "INCR", "counter")).toBe("1")

    await cluster.start(oldLeader)
    const port = cluster.clientPort(oldLeader)
    await waitFor(async () => (await redisCli(port, "GET", "after19")) === "w19", {
      timeoutMs: 15_000,
      description: "the old leader to catch up"
    })
    for (let i = 0; i < 20; i++) {
      expect(await redisCli(port, "GET", `before${i}`)).toBe(`v${i}`)
      expect(await redisCli(port, "GET", `after${i}`)).toBe(`w${i}`)
    }
    expect(await redisCli(port, "GET", "counter")).toBe("1")
    // Pre-vote and check-quorum: the returning node did not depose the healthy leader.
    expect((await info(port)).raft_role).toBe("follower")
    expect(await cluster.waitForLeader()).toBe(newLeader)
  }, 120_000)
})
