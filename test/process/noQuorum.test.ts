/** Without a quorum a client gets CLUSTERDOWN within the configured time, never a hang. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { redisCli } from "../support/redisCli.js"
import { waitFor } from "../support/waitFor.js"

describe("a node without a quorum", () => {
  const cluster = new ProcessCluster({ basePort: 22200, extraArgs: ["--request-timeout-ms", "1500"] })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("answers CLUSTERDOWN for writes and reads, and recovers when a peer returns", async () => {
    await cluster.waitForLeader()
    const port = cluster.clientPort(1)
    expect(await redisCli(port, "SET", "k", "before")).toBe("OK")
    await cluster.stop(2)
    await cluster.stop(3)

    let started = Date.now()
    const write = await redisCli(port, "SET", "k", "during")
    expect(write).toMatch(/^CLUSTERDOWN no quorum/)
    expect(Date.now() - started).toBeLessThan(5_000)

    started = Date.now()
    expect(await redisCli(port, "GET", "k")).toMatch(/^CLUSTERDOWN no quorum/)
    expect(Date.now() - started).toBeLessThan(5_000)

    await cluster.start(2)
    await waitFor(async () => (await redisCli(port, "SET", "k", "after")) === "OK", {
      timeoutMs: 20_000,
      description: "writes to succeed once a majority is back"
    })
    expect(await redisCli(cluster.clientPort(2), "GET", "k")).toBe("after")
  }, 90_000)
})
