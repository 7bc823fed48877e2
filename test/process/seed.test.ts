/**
 * The original project's README session, with the real redis-cli, on both engines: set and get
 * on node 1, stop node 2, overwrite, bring node 2 back, and find the new value there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { waitFor } from "../support/waitFor.js"

describe.each([
  { engine: "memory" as const, basePort: 21000, main: undefined },
  { engine: "level" as const, basePort: 21200, main: undefined },
  // The engine written from docs/engines.md, swapped in by its own entry point.
  { engine: "lmdb example" as const, basePort: 23000, main: "dist/examples/lmdb-engine/main.js" }
])("the seed README session ($engine engine)", ({ engine, basePort, main }) => {
  const cluster = new ProcessCluster({ engine: engine === "level" ? "level" : "memory", basePort, ...(main ? { main } : {}) })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("keeps the cluster available with node2 stopped and node2 recovers the new value", async () => {
    await cluster.waitForLeader()
    const node1 = cluster.clientPort(1)
    const node2 = cluster.clientPort(2)
    expect((await info(node1)).raft_engine).toBe(engine === "lmdb example" ? "lmdb" : engine)

    expect(await redisCli(node1, "set", "mykey", "myvalue")).toBe("OK")
    expect(await redisCli(node1, "get", "mykey")).toBe("myvalue")

    expect(await cluster.stop(2)).toBe(0) // a clean stop exits 0
    expect(await redisCli(node1, "set", "mykey", "new-value")).toBe("OK")

    await cluster.start(2)
    await waitFor(async () => (await redisCli(node2, "get", "mykey")) === "new-value", {
      timeoutMs: 15_000,
      description: "node2 to recover mykey = new-value"
    })
    expect(await redisCli(node2, "KEYS", "*")).toBe("mykey")
    expect(await redisCli(node2, "get", "mykey")).toBe("new-value")
  }, 90_000)
})
