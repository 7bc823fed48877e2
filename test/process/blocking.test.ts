/**
 * Blocking list commands on real processes with the real redis-cli: `redis-cli BLPOP k 0` waits
 * on one node and a push through another node wakes it; a timeout prints nil; INFO counts the
 * blocked clients; CLIENT KILL frees a blocked client; and after kill -9 of the leader while clients wait on the followers, every
 * element pushed is handed to exactly one client or stays in the list.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { TEST_HOST } from "../support/testHost.js"
import { waitFor } from "../support/waitFor.js"

/** A `redis-cli` running in the background; `output` once it exits. */
interface Background {
  readonly child: ChildProcess
  output: string | undefined
}

const running = new Set<ChildProcess>()

const background = (port: number, ...args: Array<string>): Background => {
  const child = spawn("redis-cli", ["-h", TEST_HOST, "-p", String(port), ...args], { stdio: ["ignore", "pipe", "pipe"] })
  running.add(child)
  const job: Background = { child, output: undefined }
  let stdout = ""
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.on("exit", () => {
    running.delete(child)
    job.output = stdout.replace(/\n+$/, "")
  })
  return job
}

const blockedClients = async (port: number) => Number((await info(port, "clients")).blocked_clients)

const waitBlocked = (port: number, count: number) =>
  waitFor(async () => (await blockedClients(port)) === count, { timeoutMs: 10_000, description: `${count} blocked clients on port ${port}` })

const finished = (jobs: ReadonlyArray<Background>) =>
  waitFor(() => jobs.every((job) => job.output !== undefined), { timeoutMs: 15_000, description: "every redis-cli to print its answer and exit" })

describe("blocking commands with redis-cli on a 3-node cluster", () => {
  const cluster = new ProcessCluster({ basePort: 27400 })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())
  afterEach(() => {
    for (const child of running) child.kill("SIGKILL")
  })

  it("redis-cli BLPOP k 0 on a follower is woken by a push through the leader", async () => {
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!
    const waiting = background(cluster.clientPort(follower), "BLPOP", "k", "0")
    await waitBlocked(cluster.clientPort(follower), 1)
    expect(waiting.output).toBeUndefined()
    expect(await redisCli(cluster.clientPort(leader), "RPUSH", "k", "hello")).toBe("1")
    await finished([waiting])
    expect(waiting.output).toBe("k\nhello")
    expect(await blockedClients(cluster.clientPort(follower))).toBe(0)
    expect(await redisCli(cluster.clientPort(leader), "EXISTS", "k")).toBe("0")
  }, 60_000)

  it("a timeout prints nil, in RESP2 and RESP3; BLMOVE moves what a push brings", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(cluster.ids.find((id) => id !== leader)!)
    const two = background(port, "BLPOP", "none", "0.3")
    const three = background(port, "-3", "BRPOP", "none", "0.3")
    await finished([two, three])
    expect([two.output, three.output]).toEqual(["", ""])
    const mover = background(port, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    await waitBlocked(port, 1)
    await redisCli(cluster.clientPort(leader), "RPUSH", "src", "a", "b")
    await finished([mover])
    expect(mover.output).toBe("a")
    expect(await redisCli(port, "LRANGE", "dst", "0", "-1")).toBe("a")
    expect(await redisCli(port, "LRANGE", "src", "0", "-1")).toBe("b")
  }, 60_000)

  it("a blocked client killed with CLIENT KILL goes at once, and the next push stays in the list", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(leader)
    const waiting = background(port, "BLPOP", "killed", "0")
    await waitBlocked(port, 1)
    expect(await redisCli(port, "CLIENT", "KILL", "TYPE", "normal")).toBe("1")
    await finished([waiting])
    await waitBlocked(port, 0)
    expect(await redisCli(port, "RPUSH", "killed", "v")).toBe("1")
    expect(await redisCli(port, "LRANGE", "killed", "0", "-1")).toBe("v")
  }, 60_000)

  it("kill -9 of the leader while clients wait: every element goes to exactly one client or stays", async () => {
    const leader = await cluster.waitForLeader()
    const followers = cluster.ids.filter((id) => id !== leader)
    const clients = followers.flatMap((id) => [0, 1, 2].map(() => background(cluster.clientPort(id), "BLPOP", "jobs", "0")))
    for (const id of followers) await waitBlocked(cluster.clientPort(id), 3)
    await redisCli(cluster.clientPort(leader), "RPUSH", "jobs", "j1", "j2")
    await cluster.kill(leader)
    const next = await cluster.waitForLeader(10_000)
    const more = Array.from({ length: 8 }, (_, i) => `j${i + 3}`)
    await redisCli(cluster.clientPort(next), "RPUSH", "jobs", ...more)
    await finished(clients)
    const handedOut = clients.map((client) => client.output!.split("\n"))
    for (const [key] of handedOut) expect(key).toBe("jobs")
    const elements = handedOut.map(([, element]) => element)
    const left = (await redisCli(cluster.clientPort(next), "LRANGE", "jobs", "0", "-1")).split("\n").filter((line) => line !== "")
    expect(new Set(elements).size).toBe(elements.length)
    expect([...elements, ...left].sort()).toEqual(["j1", "j2", ...more].sort())
  }, 120_000)
})
