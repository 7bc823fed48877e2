/**
 * Node behaviour: three real nodes (actors, WAL files, memory engine) in one process on a
 * MemoryNetwork, so links can be cut and nodes crashed on demand.
 */
import { afterEach, describe, expect, it } from "vitest"
import { OK, type Reply } from "../../src/resp/Reply.js"
import { call, InProcessCluster, type InProcessNode } from "../support/inProcessCluster.js"
import { waitFor } from "../support/waitFor.js"

let cluster: InProcessCluster | undefined
afterEach(async () => {
  await cluster?.shutdown()
  cluster = undefined
})

const followersOf = (c: InProcessCluster, leader: InProcessNode) =>
  [...c.nodes.values()].filter((node) => node.id !== leader.id)

const text = (reply: Reply) => (reply._tag === "Bulk" && reply.value !== null ? Buffer.from(reply.value).toString() : reply)

describe("a 3-node cluster in one process", () => {
  it("elects one leader and answers a write sent to a follower once it is applied there", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    const leader = await cluster.waitForLeader()
    const [follower, other] = followersOf(cluster, leader)

    expect(await call(follower, "write", "SET", "k", "v1")).toEqual(OK)
    // Read-your-writes on the follower: the write was applied there before the reply.
    expect(text(await call(follower, "read", "GET", "k"))).toBe("v1")
    // Linearizable on every node: the other follower cannot return the old (missing) value.
    expect(text(await call(other, "read", "GET", "k"))).toBe("v1")
    expect(text(await call(leader, "read", "GET", "k"))).toBe("v1")
    const terms = new Set([...cluster.nodes.values()].map((node) => node.status.raft.term))
    expect(terms.size).toBe(1)
  })

  it("keeps serving with a majority and answers CLUSTERDOWN on an isolated leader", async () => {
    cluster = new InProcessCluster(3, { requestTimeoutMs: 800 })
    await cluster.startAll()
    const oldLeader = await cluster.waitForLeader()
    expect(await call(oldLeader, "write", "SET", "k", "before")).toEqual(OK)

    cluster.network.isolate(oldLeader.id, cluster.ids)
    const isolatedWrite = call(oldLeader, "write", "SET", "k", "lost?")
    const isolatedRead = call(oldLeader, "read", "GET", "k")

    const majority = followersOf(cluster, oldLeader)
    await waitFor(() => majority.some((node) => node.status.raft.role === "leader"), {
      timeoutMs: 10_000,
      description: "a new leader among the majority"
    })
    expect(await call(majority[0], "write", "SET", "k", "after")).toEqual(OK)

    const writeReply = await isolatedWrite
    const readReply = await isolatedRead
    expect(writeReply._tag).toBe("Error")
    expect(writeReply._tag === "Error" && writeReply.message).toMatch(/^CLUSTERDOWN/)
    expect(readReply._tag === "Error" && readReply.message).toMatch(/^CLUSTERDOWN/)

    cluster.network.healAll()
    await waitFor(async () => text(await call(oldLeader, "read", "GET", "k")) === "after", {
      timeoutMs: 10_000,
      description: "the old leader catches up after the partition heals"
    })
    // The write the isolated leader could not commit was discarded, never applied anywhere.
    for (const node of cluster.nodes.values()) expect(text(await call(node, "read", "GET", "k"))).toBe("after")
  })

  it("rebuilds a restarted node's memory engine from its WAL and the leader", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    const leader = await cluster.waitForLeader()
    for (let i = 1; i <= 50; i++) {
      const reply = await call(leader, "write", "INCR", "counter")
      expect(reply._tag === "Integer" && Number(reply.value)).toBe(i)
    }
    const [follower] = followersOf(cluster, leader)
    await cluster.stop(follower.id)
    expect(await call(leader, "write", "SET", "while-down", "yes")).toEqual(OK)
    const restarted = await cluster.start(follower.id)
    await waitFor(async () => text(await call(restarted, "read", "GET", "while-down")) === "yes", {
      timeoutMs: 10_000,
      description: "the restarted node catches up"
    })
    expect(text(await call(restarted, "read", "GET", "counter"))).toBe("50")
  })

  it("restarts a whole cluster from its WALs with every acknowledged write", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    await cluster.waitForLeader()
    const nodes = [...cluster.nodes.values()]
    for (let i = 0; i < 30; i++) expect(await call(nodes[i % 3], "write", "SET", `key${i}`, `value${i}`)).toEqual(OK)
    for (const id of cluster.ids) await cluster.stop(id)
    await cluster.startAll()
    await cluster.waitForLeader()
    for (const node of cluster.nodes.values()) {
      for (let i = 0; i < 30; i++) expect(text(await call(node, "read", "GET", `key${i}`))).toBe(`value${i}`)
    }
  })

  it("re-sends a write forwarded to a leader that was cut off, and applies it exactly once", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    const oldLeader = await cluster.waitForLeader()
    const [follower, other] = followersOf(cluster, oldLeader)
    cluster.network.isolate(oldLeader.id, cluster.ids)
    // The follower still believes in the old leader, so this INCR is forwarded into the void.
    expect(follower.status.raft.leader).toBe(oldLeader.id)
    const reply = await call(follower, "write", "INCR", "counter")
    expect(reply).toEqual({ _tag: "Integer", value: 1n })
    expect([follower.id, other.id]).toContain(follower.status.raft.leader)
    cluster.network.healAll()
    for (const node of cluster.nodes.values()) {
      await waitFor(async () => text(await call(node, "read", "GET", "counter")) === "1", {
        timeoutMs: 10_000,
        description: `node ${node.id} to apply the INCR once`
      })
    }
  })
})
