/**
 * The supervision tree in real processes (test/support/defectNode.mjs injects the defects): a
 * defect in a peer link restarts that link and replication to that follower continues; a defect
 * in the WAL writer or the Applier stops the node with `raft-kv node N stopped: <reason>` and
 * status 1, while the rest of the cluster serves on; a defect in a client connection closes that
 * connection only, and one in the client listener's accept loop restarts the loop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { RespClient } from "../support/respClient.js"
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

describe("client connections in the tree", () => {
  const cluster = new ProcessCluster({ basePort: 27900, nodes: 1, main })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("a defect in one connection closes it with a warning; the other connections and the node serve on", async () => {
    const port = cluster.clientPort(1)
    const bystander = await RespClient.connect(port)
    expect(await bystander.call("SET", "before", "1")).toBe("OK")
    const victim = await RespClient.connect(port)
    const reply = await victim.call("ECHO", "defect:client-connection")
    expect(String(reply)).toBe("Error: connection closed")
    await waitFor(() => /WARN.*the client connection \d+ from [\d.]+:\d+ failed and was closed: .*injected client connection defect/.test(cluster.logs(1)), {
      timeoutMs: 10_000,
      description: () => `the connection's failure to be logged\n${cluster.logs(1)}`
    })
    expect(await bystander.call("GET", "before")).toBe("1")
    expect(await redisCli(port, "SET", "after", "2")).toBe("OK")
    // The closed connection is forgotten (CLIENT LIST, INFO clients).
    await waitFor(async () => (await info(port, "clients")).connected_clients === "2", { timeoutMs: 10_000, description: "the bystander and redis-cli only" })
    bystander.close()
    expect(cluster.exits.size).toBe(0)
  }, 60_000)

  it("a defect in the accept loop closes the socket it held and restarts the loop; new connections are served after it", async () => {
    const port = cluster.clientPort(1)
    // Arms the listener: it fails on the next connection it accepts.
    expect(await redisCli(port, "ECHO", "defect:client-listener")).toBe("defect:client-listener")
    const unlucky = await RespClient.connect(port)
    expect(String(await unlucky.call("PING"))).toBe("Error: connection closed")
    await waitFor(() => /WARN.*the client listener failed: .*injected client listener defect.*; restarting it in 1s/.test(cluster.logs(1)), {
      timeoutMs: 10_000,
      description: () => `the listener's restart to be logged\n${cluster.logs(1)}`
    })
    await waitFor(async () => (await redisCli(port, "PING")) === "PONG", { timeoutMs: 10_000, description: "new connections to be served again" })
    expect(cluster.exits.size).toBe(0)
  }, 60_000)
})
