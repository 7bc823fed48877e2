/**
 * The supervision tree in real processes (test/support/defectNode.mjs injects the defects): a
 * defect in a peer link restarts that link and replication to that follower continues; a defect
 * in the WAL writer or the Applier stops the node with `raft-kv node N stopped: <reason>` and
 * status 1, while the rest of the cluster serves on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { waitFor } from "../support/waitFor.js"

const main = "test/support/defectNode.mjs"

describe("a peer link defect", () => {
  const cluster = new ProcessCluster({ basePort: 26600, main })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("restarts that link with a warning, and the follower it feeds still gets every write", async () => {
    const leader = await cluster.waitForLeader()
    expect(await redisCli(cluster.clientPort(leader), "SET", "armed", "defect:peer-link")).toBe("OK")

    let follower = 0
    await waitFor(
      () => {
        const match = /WARN.*the peer link to node (\d) failed: injected peer link defect.*; restarting it in 1s/.exec(cluster.logs(leader))
        follower = match === null ? 0 : Number(match[1])
        return follower > 0
      },
      { timeoutMs: 10_000, description: () => `the leader to log the link's restart\n${cluster.logs(leader)}` }
    )
    // The write whose Append the dead link dropped, and one after the restart, reach that follower.
    expect(await redisCli(cluster.clientPort(leader), "SET", "after", "restart")).toBe("OK")
    const port = cluster.clientPort(follower)
    await waitFor(async () => (await redisCli(port, "GET", "after")) === "restart", { timeoutMs: 15_000, description: "the follower to get writes again" })
    expect(await redisCli(port, "GET", "armed")).toBe("defect:peer-link")
    const leaderCommit = Number((await info(cluster.clientPort(leader))).raft_commit_index)
    expect(Number((await info(port)).raft_applied_index)).toBeGreaterThanOrEqual(leaderCommit)
    // Nothing stopped.
    expect([...cluster.exits.keys()]).toEqual([])
    expect(cluster.running().sort()).toEqual([1, 2, 3])
  }, 60_000)
})

describe("an actor defect", () => {
  const cluster = new ProcessCluster({ basePort: 26800, main })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  const stopped = (id: number) =>
    waitFor(() => cluster.exits.has(id), { timeoutMs: 15_000, description: () => `node ${id} to stop\n${cluster.logs(id)}` })

  it("in the WAL writer or the Applier stops that node with a clear message; the others serve on", async () => {
    const leader = await cluster.waitForLeader()
    const [first, second] = cluster.ids.filter((id) => id !== leader)

    // The WAL writer of `first` meets the entry: the write still commits on the other two.
    expect(await redisCli(cluster.clientPort(leader), "SET", "wal", `defect:wal-writer:${first}`)).toBe("OK")
    await stopped(first)
    expect(cluster.exits.get(first)).toBe(1)
    expect(cluster.logs(first)).toContain(`raft-kv node ${first} stopped: defect in the WAL writer: injected WAL writer defect`)
    expect(cluster.logs(first)).toMatch(/ERROR.*the WAL writer crashed/)

    expect(await redisCli(cluster.clientPort(second), "SET", "still", "serving")).toBe("OK")
    expect(await redisCli(cluster.clientPort(leader), "GET", "still")).toBe("serving")

    // The Applier of `second` meets the entry after it committed.
    expect(await redisCli(cluster.clientPort(leader), "SET", "applier", `defect:applier:${second}`)).toBe("OK")
    await stopped(second)
    expect(cluster.exits.get(second)).toBe(1)
    expect(cluster.logs(second)).toContain(`raft-kv node ${second} stopped: defect in the Applier: injected applier defect`)
    // Its last line is the reason: nothing ran on after it.
    expect(cluster.logs(second).trimEnd().split("\n").at(-1)).toBe(`raft-kv node ${second} stopped: defect in the Applier: injected applier defect`)
    expect(cluster.running()).toContain(leader)
  }, 60_000)
})
