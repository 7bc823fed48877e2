/**
 * Lists on real processes with the real redis-cli: every list command, its errors and edge cases
 * print what they print against a real redis-server; `redis-cli BLPOP k 0` waits
 * on one node and a push through another node wakes it; a timeout prints nil; INFO counts the
 * blocked clients; CLIENT KILL frees a blocked client, and so does its connection's end (a client
 * that shuts down its side gets nil at once); BZPOPMIN and BZMPOP wait and wake the same way; and after kill -9 of the leader while clients wait on the followers, every
 * element pushed is handed to exactly one client or stays in the list.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { RedisServer } from "../support/redisServer.js"
import { TEST_HOST } from "../support/testHost.js"
import { waitFor } from "../support/waitFor.js"

/** A `redis-cli` running in the background; `output` (its stdout) once it has exited and its output is read. */
interface Background {
  readonly child: ChildProcess
  readonly port: number
  output: string | undefined
  stderr: string
  /** Exit code, or the signal that ended it. */
  status: string | undefined
}

const running = new Set<ChildProcess>()

const background = (port: number, ...args: Array<string>): Background => {
  const child = spawn("redis-cli", ["-h", TEST_HOST, "-p", String(port), ...args], { stdio: ["ignore", "pipe", "pipe"] })
  running.add(child)
  const job: Background = { child, port, output: undefined, stderr: "", status: undefined }
  let stdout = ""
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (job.stderr += chunk.toString()))
  // "close", not "exit": only then is everything it printed read.
  child.on("close", (code, signal) => {
    running.delete(child)
    job.status = signal !== null ? signal : String(code)
    job.output = stdout.replace(/\n+$/, "")
  })
  return job
}

/** What a background redis-cli did, for a failure message. */
const describeJob = (job: Background) =>
  `redis-cli on port ${job.port}: stdout ${JSON.stringify(job.output)}, stderr ${JSON.stringify(job.stderr)}, exit ${job.status ?? "(still running)"}`

const blockedClients = async (port: number) => Number((await info(port, "clients")).blocked_clients)

const waitBlocked = (port: number, count: number) =>
  waitFor(async () => (await blockedClients(port)) === count, { timeoutMs: 10_000, description: `${count} blocked clients on port ${port}` })

const finished = (jobs: ReadonlyArray<Background>) =>
  waitFor(() => jobs.every((job) => job.output !== undefined), {
    timeoutMs: 15_000,
    description: () => `every redis-cli to print its answer and exit:\n${jobs.map(describeJob).join("\n")}`
  })

/** Every list command with its edge cases and errors, in order (each line one redis-cli call). */
const SESSION: ReadonlyArray<ReadonlyArray<string>> = [
  ["RPUSH", "l", "a", "b", "c"], ["LPUSH", "l", "x", "y"], ["LPUSHX", "l", "w"], ["RPUSHX", "l", "z"], ["LPUSHX", "none", "a"], ["RPUSHX", "none", "a"],
  ["LRANGE", "l", "0", "-1"], ["LRANGE", "l", "-3", "-2"], ["LRANGE", "l", "5", "1"], ["LRANGE", "l", "-100", "100"], ["LRANGE", "none", "0", "-1"], ["LRANGE", "l", "a", "1"],
  ["LLEN", "l"], ["LLEN", "none"], ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "99"], ["LINDEX", "l", "x"], ["LINDEX", "none", "x"],
  ["LSET", "l", "0", "W"], ["LSET", "l", "-1", "Z"], ["LSET", "l", "99", "v"], ["LSET", "none", "0", "v"], ["LSET", "l", "x", "v"],
  ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "0"], ["LPOP", "l", "-1"], ["LPOP", "none"], ["LPOP", "none", "1"], ["LPOP", "l", "1", "2"],
  ["RPUSH", "m", "1", "2", "1", "3", "1"], ["LREM", "m", "1", "1"], ["LREM", "m", "-1", "1"], ["LREM", "m", "0", "9"], ["LREM", "m", "x", "1"], ["LRANGE", "m", "0", "-1"],
  ["LINSERT", "m", "BEFORE", "3", "b"], ["LINSERT", "m", "AFTER", "2", "a"], ["LINSERT", "m", "BEFORE", "9", "b"], ["LINSERT", "none", "BEFORE", "9", "b"], ["LINSERT", "m", "UP", "3", "b"], ["LRANGE", "m", "0", "-1"],
  ["LPOS", "m", "1"], ["LPOS", "m", "1", "RANK", "-1"], ["LPOS", "m", "1", "COUNT", "0"], ["LPOS", "m", "1", "MAXLEN", "1"], ["LPOS", "m", "9"], ["LPOS", "m", "1", "RANK", "0"], ["LPOS", "m", "1", "COUNT", "-1"],
  ["LTRIM", "m", "1", "-2"], ["LRANGE", "m", "0", "-1"], ["LTRIM", "m", "5", "1"], ["EXISTS", "m"], ["LTRIM", "none", "0", "1"],
  ["RPUSH", "src", "1", "2", "3"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"], ["RPOPLPUSH", "src", "dst"], ["LMOVE", "dst", "dst", "LEFT", "RIGHT"], ["LMOVE", "none", "dst", "LEFT", "LEFT"], ["LMOVE", "src", "dst", "UP", "LEFT"], ["LRANGE", "dst", "0", "-1"],
  ["LMPOP", "2", "none", "dst", "RIGHT", "COUNT", "5"], ["LMPOP", "1", "none", "LEFT"], ["LMPOP", "0", "a", "LEFT"], ["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
  ["BLPOP", "src", "0"], ["BRPOP", "none", "src", "0.1"], ["BLMPOP", "0.1", "1", "none", "LEFT"], ["BLPOP", "none", "-1"], ["BLPOP", "none", "x"],
  ["SET", "s", "v"], ["LPUSH", "s", "a"], ["LRANGE", "s", "0", "-1"], ["BLPOP", "s", "0"], ["RPUSH", "l2", "a"], ["GET", "l2"], ["TYPE", "l2"]
]

describe("list commands with redis-cli, against redis-server", () => {
  const cluster = new ProcessCluster({ basePort: 27600, nodes: 1 })
  let reference: RedisServer
  beforeAll(async () => {
    ;[reference] = await Promise.all([RedisServer.start({ port: 27651 }), cluster.startAll()])
  }, 60_000)
  afterAll(async () => {
    await cluster.shutdown()
    await reference?.stop()
  })

  it("every list command prints what redis-server's does, errors and edge cases included (RESP2 and RESP3)", async () => {
    await cluster.waitForLeader()
    for (const protocol of [[], ["-3"]]) {
      await Promise.all([redisCli(cluster.clientPort(1), "FLUSHALL"), redisCli(reference.port, "FLUSHALL")])
      for (const argv of SESSION) {
        const [ours, theirs] = await Promise.all([redisCli(cluster.clientPort(1), ...protocol, ...argv), redisCli(reference.port, ...protocol, ...argv)])
        expect(ours, `redis-cli ${[...protocol, ...argv].join(" ")}`).toBe(theirs)
      }
    }
  }, 120_000)
})

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

  it("a blocked redis-cli that exits leaves no blocked client, and the next push stays in the list", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(cluster.ids.find((id) => id !== leader)!)
    const waiting = background(port, "BLPOP", "gone", "0")
    const sortedWaiting = background(port, "BZPOPMIN", "gonez", "0")
    await waitBlocked(port, 2)
    // The process ends, so its socket closes: the node sees the end of its input, nothing else.
    waiting.child.kill("SIGTERM")
    sortedWaiting.child.kill("SIGTERM")
    await finished([waiting, sortedWaiting])
    await waitBlocked(port, 0)
    expect(await redisCli(cluster.clientPort(leader), "RPUSH", "gone", "v")).toBe("1")
    expect(await redisCli(cluster.clientPort(leader), "ZADD", "gonez", "1", "m")).toBe("1")
    expect(await redisCli(port, "LRANGE", "gone", "0", "-1")).toBe("v")
    expect(await redisCli(port, "ZRANGE", "gonez", "0", "-1")).toBe("m")
  }, 60_000)

  /** Send `commands` on a new connection, shut down the sending side, and return everything received until the node closes it. */
  const halfClosed = (port: number, commands: string) =>
    new Promise<string>((resolve, reject) => {
      let data = ""
      const socket = net.connect({ host: TEST_HOST, port, allowHalfOpen: true }, () => socket.end(commands))
      socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")))
      socket.on("end", () => resolve(data))
      socket.on("error", reject)
      setTimeout(() => {
        socket.destroy()
        reject(new Error(`no end of the connection within 10 s; received ${JSON.stringify(data)}`))
      }, 10_000).unref()
    })

  it("a client that shuts down its side while blocked gets nil at once, then the replies to what it sent after", async () => {
    const port = cluster.clientPort(await cluster.waitForLeader())
    expect(await halfClosed(port, "BLPOP halfclosed 0\r\nSET afterblock 1\r\n")).toBe("*-1\r\n+OK\r\n")
    expect(await blockedClients(port)).toBe(0)
  }, 60_000)

  /** Send `commands` on a new connection (kept open) and return everything received until the node closes it. */
  const untilClosed = (port: number, commands: string, received: (data: string) => void = () => {}) =>
    new Promise<string>((resolve, reject) => {
      let data = ""
      const socket = net.connect({ host: TEST_HOST, port }, () => socket.write(commands))
      socket.on("data", (chunk: Buffer) => {
        data += chunk.toString("latin1")
        received(data)
      })
      socket.on("close", () => resolve(data))
      socket.on("error", reject)
      setTimeout(() => {
        socket.destroy()
        reject(new Error(`no end of the connection within 10 s; received ${JSON.stringify(data)}`))
      }, 10_000).unref()
    })

  it("QUIT pipelined behind a blocking command waits for it: the command pops what is there, or waits for a push, then +OK", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(cluster.ids.find((id) => id !== leader)!)
    expect(await untilClosed(port, "RPUSH quitk a\r\nBLPOP quitk 0\r\nQUIT\r\n")).toBe(":1\r\n*2\r\n$5\r\nquitk\r\n$1\r\na\r\n+OK\r\n")
    let sofar = ""
    const waiting = untilClosed(port, "BLPOP quitw 0\r\nQUIT\r\n", (data) => (sofar = data))
    // Redis keeps the client blocked (QUIT is not read until the BLPOP is answered).
    await waitBlocked(port, 1)
    expect(sofar).toBe("")
    expect(await redisCli(cluster.clientPort(leader), "RPUSH", "quitw", "b")).toBe("1")
    expect(await waiting).toBe("*2\r\n$5\r\nquitw\r\n$1\r\nb\r\n+OK\r\n")
    expect(await blockedClients(port)).toBe(0)
    expect(await redisCli(port, "EXISTS", "quitk", "quitw")).toBe("0")
    // A client that leaves while blocked behind its QUIT is still seen to go: no blocked client stays.
    const gone = net.connect({ host: TEST_HOST, port }, () => gone.write("BLPOP quitgone 0\r\nQUIT\r\n"))
    gone.on("error", () => {})
    await waitBlocked(port, 1)
    gone.destroy()
    await waitBlocked(port, 0)
    expect(await redisCli(cluster.clientPort(leader), "RPUSH", "quitgone", "c")).toBe("1")
    expect(await redisCli(port, "LRANGE", "quitgone", "0", "-1")).toBe("c")
  }, 60_000)

  it("a pop pipelined after a push on the blocked client's node comes after the blocked client (leader and follower)", async () => {
    const leader = await cluster.waitForLeader()
    for (const id of [leader, cluster.ids.find((other) => other !== leader)!]) {
      const port = cluster.clientPort(id)
      const key = `steal${id}`
      const waiting = background(port, "BLPOP", key, "0")
      await waitBlocked(port, 1)
      // redis-server: the push wakes the blocked client before LPOP runs, so LPOP finds nothing.
      expect(await untilClosed(port, `RPUSH ${key} x\r\nLPOP ${key}\r\nLLEN ${key}\r\nQUIT\r\n`)).toBe(":1\r\n$-1\r\n:0\r\n+OK\r\n")
      await finished([waiting])
      expect(waiting.output).toBe(`${key}\nx`)
    }
  }, 60_000)

  it("a pop pipelined after a push comes after a blocking command sent just before it, whose first attempt is still on its way through the log", async () => {
    const leader = await cluster.waitForLeader()
    for (const id of [leader, cluster.ids.find((other) => other !== leader)!]) {
      const port = cluster.clientPort(id)
      const received = { a: "", b: "" }
      const open = (name: "a" | "b") =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ host: TEST_HOST, port }, () => resolve(socket))
          socket.on("data", (chunk: Buffer) => (received[name] += chunk.toString("latin1")))
          socket.on("error", reject)
        })
      const [a, b] = [await open("a"), await open("b")]
      try {
        a.write("CLIENT ID\r\n")
        await waitFor(() => /^:\d+\r\n$/.test(received.a), { timeoutMs: 10_000, description: () => "CLIENT ID" })
        const clientId = received.a.slice(1, -2)
        for (let round = 0; round < 10; round++) {
          const key = `soon${id}:${round}`
          received.a = ""
          received.b = ""
          a.write(`BLPOP ${key} 0\r\n`)
          // The BLPOP is in flight once its connection shows flags=b; its first attempt commits
          // only after a round of consensus, so the push below usually reaches the log right behind it.
          b.write(`CLIENT LIST ID ${clientId}\r\n`)
          // Polled at 1 ms: the window is the few ms a first attempt takes to commit.
          const fast = { timeoutMs: 10_000, intervalMs: 1 }
          await waitFor(() => received.b.endsWith("\r\n") && received.b.includes("cmd="), { ...fast, description: () => `CLIENT LIST (${received.b})` })
          if (!received.b.includes("flags=b")) {
            received.b = ""
            b.write(`CLIENT LIST ID ${clientId}\r\n`)
            await waitFor(() => received.b.includes("flags=b"), { ...fast, description: () => `flags=b (${received.b})` })
          }
          received.b = ""
          b.write(`RPUSH ${key} x\r\nLPOP ${key}\r\n`)
          await waitFor(() => received.b.split("\r\n").length >= 3, { timeoutMs: 10_000, description: () => `RPUSH and LPOP (${JSON.stringify(received.b)})` })
          expect(received.b, `round ${round} on node ${id}`).toBe(":1\r\n$-1\r\n")
          await waitFor(() => received.a.length > 0, { timeoutMs: 10_000, description: () => "the BLPOP's element" })
          expect(received.a).toBe(`*2\r\n$${key.length}\r\n${key}\r\n$1\r\nx\r\n`)
        }
      } finally {
        a.destroy()
        b.destroy()
      }
    }
  }, 60_000)

  it("CLIENT LIST flags a blocked client b; CLIENT UNBLOCK answers it nil (TIMEOUT) or -UNBLOCKED (ERROR), 1 if it waited, else 0", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(cluster.ids.find((id) => id !== leader)!)
    let data = ""
    const socket = net.connect({ host: TEST_HOST, port })
    socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")))
    socket.on("error", () => {})
    try {
      socket.write("CLIENT ID\r\nBLPOP unblocked 0\r\n")
      await waitBlocked(port, 1)
      const id = /^:(\d+)\r\n/.exec(data)![1]
      data = ""
      const line = (await redisCli(port, "CLIENT", "LIST", "ID", id)).split(" ")
      expect(line).toContain("flags=b")
      expect(line).toContain("cmd=blpop")
      expect(await redisCli(port, "CLIENT", "UNBLOCK", id)).toBe("1")
      await waitFor(() => data === "*-1\r\n", { timeoutMs: 10_000, description: () => `the nil reply (got ${JSON.stringify(data)})` })
      expect(await redisCli(port, "CLIENT", "UNBLOCK", id)).toBe("0")
      expect((await redisCli(port, "CLIENT", "LIST", "ID", id)).split(" ")).toContain("flags=N")
      data = ""
      socket.write("BLPOP unblocked 0\r\n")
      await waitBlocked(port, 1)
      expect(await redisCli(port, "CLIENT", "UNBLOCK", id, "wrong")).toBe("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
      expect(await redisCli(port, "CLIENT", "UNBLOCK", id, "ERROR")).toBe("1")
      await waitFor(() => data === "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", { timeoutMs: 10_000, description: () => `the error reply (got ${JSON.stringify(data)})` })
      await waitBlocked(port, 0)
      // Nothing waits any more: a push stays in the list.
      expect(await redisCli(cluster.clientPort(leader), "RPUSH", "unblocked", "v")).toBe("1")
      expect(await redisCli(port, "LRANGE", "unblocked", "0", "-1")).toBe("v")
      expect(await redisCli(port, "CLIENT", "UNBLOCK", "999999")).toBe("0")
    } finally {
      socket.destroy()
    }
  }, 60_000)

  it("blocking commands queued behind others when the client half-closes still pop what is there", async () => {
    const port = cluster.clientPort(await cluster.waitForLeader())
    expect(await halfClosed(port, "RPUSH queued a b\r\nBLPOP queued 0\r\nLRANGE queued 0 -1\r\n")).toBe(":2\r\n*2\r\n$6\r\nqueued\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n")
    expect(await halfClosed(port, "ZADD queuedz 1 a 2 b\r\nSET x 1\r\nBZPOPMIN queuedz 0\r\nBZPOPMAX queuedz 0\r\nBZPOPMAX queuedz 0\r\n")).toBe(
      ":2\r\n+OK\r\n*3\r\n$7\r\nqueuedz\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$7\r\nqueuedz\r\n$1\r\nb\r\n$1\r\n2\r\n*-1\r\n"
    )
    expect(await blockedClients(port)).toBe(0)
  }, 60_000)

  it("BZPOPMIN on a follower is woken by ZADD through the leader, BZMPOP by ZUNIONSTORE; a timeout prints nil", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(cluster.ids.find((id) => id !== leader)!)
    const min = background(port, "BZPOPMIN", "none", "zk", "0")
    await waitBlocked(port, 1)
    expect(await redisCli(cluster.clientPort(leader), "ZADD", "zk", "2", "b", "1", "a")).toBe("2")
    await finished([min])
    expect(min.output).toBe("zk\na\n1")
    const mpop = background(port, "-3", "BZMPOP", "0", "1", "zu", "MAX", "COUNT", "5")
    await waitBlocked(port, 1)
    expect(await redisCli(cluster.clientPort(leader), "ZUNIONSTORE", "zu", "1", "zk")).toBe("1")
    await finished([mpop])
    expect(mpop.output).toBe("zu\nb\n2")
    const timedOut = background(port, "BZPOPMAX", "none", "0.2")
    await finished([timedOut])
    expect(timedOut.output).toBe("")
    expect(await redisCli(port, "EXISTS", "zu")).toBe("0")
    expect(await redisCli(port, "ZRANGE", "zk", "0", "-1")).toBe("b")
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
    // A client that did not get an element: what redis-cli printed on both streams and how it
    // ended, and the log of its node (a closed connection, an error reply, a node that stopped).
    const explain = (client: Background) => {
      const id = cluster.ids.find((node) => cluster.clientPort(node) === client.port)!
      const exit = cluster.exits.get(id)
      return `${describeJob(client)}\nnode ${id} (${exit === undefined ? "running" : `exited with ${exit}`}), its log:\n${cluster.logs(id)}`
    }
    for (const client of clients) {
      const answer = { key: client.output!.split("\n")[0], stderr: client.stderr, exit: client.status }
      expect(answer, explain(client)).toEqual({ key: "jobs", stderr: "", exit: "0" })
    }
    const handedOut = clients.map((client) => client.output!.split("\n"))
    const elements = handedOut.map(([, element]) => element)
    const left = (await redisCli(cluster.clientPort(next), "LRANGE", "jobs", "0", "-1")).split("\n").filter((line) => line !== "")
    expect(new Set(elements).size).toBe(elements.length)
    expect([...elements, ...left].sort()).toEqual(["j1", "j2", ...more].sort())
  }, 120_000)
})
