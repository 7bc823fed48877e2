/**
 * Large values with real processes: a follower that was stopped while 72 MiB of values were
 * written catches up without an election (the leader's backlog goes out in frames the follower
 * accepts), and a command larger than one log entry may be is refused at its first header.
 */
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { RespClient } from "../support/respClient.js"
import { waitFor } from "../support/waitFor.js"
import { TEST_HOST } from "../support/testHost.js"

const VALUE_BYTES = 8 * 1024 * 1024
const VALUES = 9 // 72 MiB: more than one peer frame may carry (64 MiB)

describe("large values", () => {
  const cluster = new ProcessCluster({ basePort: 32400 })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  // 72 MiB in one pipeline is also more than a connection may hold in flight (64 MiB): reading
  // pauses and resumes as the first values commit, and every SET is answered.
  it("lets a follower stopped during 72 MiB of writes catch up, with no election", async () => {
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!
    const term = (await info(cluster.clientPort(leader))).raft_term
    cluster.pause(follower)
    try {
      const client = await RespClient.connect(cluster.clientPort(leader))
      const value = "v".repeat(VALUE_BYTES)
      const replies = await client.pipeline(Array.from({ length: VALUES }, (_, i) => ["SET", `big:${i}`, value]))
      client.close()
      expect(replies).toEqual(Array.from({ length: VALUES }, () => "OK"))
    } finally {
      cluster.resume(follower)
    }
    const leaderApplied = Number((await info(cluster.clientPort(leader))).raft_applied_index)
    await waitFor(async () => Number((await info(cluster.clientPort(follower))).raft_applied_index) >= leaderApplied, {
      timeoutMs: 60_000,
      description: () => `node ${follower} to apply index ${leaderApplied}; its log:\n${cluster.logs(follower).slice(-2000)}`
    })
    for (let i = 0; i < VALUES; i++) expect(await redisCli(cluster.clientPort(follower), "STRLEN", `big:${i}`)).toBe(String(VALUE_BYTES))
    for (const id of cluster.ids) expect((await info(cluster.clientPort(id))).raft_term).toBe(term)
    expect(cluster.logs(follower)).not.toContain("exceeds the")
  }, 120_000)

  it("refuses a command over 32 MiB at its header, before the bytes are sent", async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      let received = ""
      const socket = net.connect({ host: TEST_HOST, port: cluster.clientPort(1) }, () =>
        socket.write(`*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$${32 * 1024 * 1024 + 1}\r\n`)
      )
      const timer = setTimeout(() => reject(new Error(`no reply and close; received ${JSON.stringify(received)}`)), 10_000)
      socket.on("data", (chunk) => (received += chunk.toString("latin1")))
      socket.on("end", () => {
        clearTimeout(timer)
        socket.destroy()
        resolve(received)
      })
      socket.on("error", reject)
    })
    expect(reply).toBe("-ERR Protocol error: invalid bulk length\r\n")
    expect(await redisCli(cluster.clientPort(1), "EXISTS", "huge")).toBe("0")
  })
})
