/**
 * Jepsen-style check of the real node code: concurrent clients issue SET, GET, DEL and INCR
 * through every node of an in-process cluster while the leader is cut off and healed; the
 * recorded history (timed-out writes as indeterminate) must be linearizable.
 */
import { performance } from "node:perf_hooks"
import { afterEach, describe, expect, it } from "vitest"
import type { Reply } from "../../src/resp/Reply.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import { call, InProcessCluster, type InProcessNode } from "../support/inProcessCluster.js"
import { checkLinearizable, outputOf, type KvInput, type KvOperation } from "../support/linearizability.js"
import { waitFor } from "../support/waitFor.js"

let cluster: InProcessCluster | undefined
afterEach(async () => {
  await cluster?.shutdown()
  cluster = undefined
})

describe("client histories on a 3-node cluster", () => {
  it.each([1, 2])("seed %i: stays linearizable while the leader is cut off and healed", async (seed) => {
    cluster = new InProcessCluster(3, { requestTimeoutMs: 600 })
    await cluster.startAll()
    await waitFor(() => cluster!.leader() !== undefined, { timeoutMs: 10_000, description: "a leader" })
    const random = seededRandom(seed)
    const nodes = () => [...cluster!.nodes.values()]
    const history: Array<KvOperation> = []
    let writes = 0

    const client = async (id: number) => {
      for (let i = 0; i < 60; i++) {
        const node: InProcessNode = nodes()[Math.floor(random() * nodes().length)]
        const key = `k${Math.floor(random() * 2)}`
        const r = random()
        const input: KvInput = r < 0.35 ? { op: "get" } : r < 0.65 ? { op: "set", value: `${id}-${i}` } : r < 0.8 ? { op: "del" } : { op: "incr" }
        const argv =
          input.op === "get" ? ["GET", key] : input.op === "set" ? ["SET", key, input.value] : input.op === "del" ? ["DEL", key] : ["INCR", key]
        const called = performance.now()
        const reply = await call(node, input.op === "get" ? "read" : "write", ...argv)
        const returned = performance.now()
        if (reply._tag === "Error") {
          // A failed read changed nothing; a failed write may still apply later.
          if (input.op !== "get") history.push({ key, input, called, returned: Number.POSITIVE_INFINITY })
          continue
        }
        if (input.op !== "get") writes++
        history.push({ key, input, output: outputOf(input, reply), called, returned })
      }
    }

    let newLeaderDuringPartition = false
    const chaos = async () => {
      await waitFor(() => writes >= 10, { timeoutMs: 10_000, description: "some writes before the partition" })
      const oldLeader = cluster!.leader()!
      const writesBefore = writes
      cluster!.network.isolate(oldLeader.id, cluster!.ids)
      await waitFor(
        () => nodes().some((n) => n.id !== oldLeader.id && n.status.raft.role === "leader") && writes >= writesBefore + 10,
        { timeoutMs: 10_000, description: "a new leader and writes during the partition" }
      )
      newLeaderDuringPartition = true
      cluster!.network.healAll()
    }

    await Promise.all([...Array.from({ length: 5 }, (_, id) => client(id)), chaos()])
    expect(newLeaderDuringPartition).toBe(true)
    const result = checkLinearizable(history)
    expect(result).toEqual({ linearizable: true })
    expect(history.filter((op) => op.returned !== Number.POSITIVE_INFINITY).length).toBeGreaterThan(60)
  }, 60_000)
})
