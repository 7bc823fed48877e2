/**
 * Transactions and expiring keys through failures, with real processes and the real redis-cli:
 * a MULTI/EXEC transaction and keys with a TTL survive kill -9 of the leader and a full restart of
 * the cluster (both engines); expiry times are absolute (a restart does not extend them) and keys
 * whose time comes while nodes are down are gone everywhere afterwards; the reaper removes expired
 * keys through the log, so DBSIZE agrees on every node. Commands pipelined after an EXEC whose
 * queued SELECT runs only once consensus answers still run in that database, whatever ends the pipeline.
 */
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { redisCli, redisCliInput } from "../support/redisCli.js"
import { encodeCommand } from "../support/respWire.js"
import { TEST_HOST } from "../support/testHost.js"
import { waitFor } from "../support/waitFor.js"

/** Write `bytes` in one write (then half-close, if asked) and read every byte until the server closes. */
const exchangeUntilClosed = (port: number, bytes: Buffer, halfClose: boolean): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, TEST_HOST)
    const received: Array<Buffer> = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server did not close the connection; received ${JSON.stringify(Buffer.concat(received).toString("latin1"))}`))
    }, 15_000)
    socket.on("connect", () => (halfClose ? socket.end(bytes) : socket.write(bytes)))
    socket.on("data", (chunk) => received.push(chunk))
    socket.on("error", reject)
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(Buffer.concat(received).toString("latin1"))
    })
  })

const pipeline = (...commands: ReadonlyArray<ReadonlyArray<string>>): Buffer => Buffer.concat(commands.map(encodeCommand))

describe.each([
  { engine: "memory" as const, basePort: 32600 },
  { engine: "level" as const, basePort: 30000 }
])("transactions and expiry through failures ($engine engine)", ({ engine, basePort }) => {
  const cluster = new ProcessCluster({ engine, basePort })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  const cli = (id: number, ...args: Array<string>) => redisCli(cluster.clientPort(id), ...args)

  const everyNode = (description: string, check: (id: number) => Promise<boolean>, timeoutMs = 15_000) =>
    waitFor(async () => (await Promise.all(cluster.running().map(check))).every(Boolean), { timeoutMs, description })

  it("keeps a committed transaction and the keys' absolute expiry through kill -9 of the leader and a full restart", async () => {
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!

    // A transaction through a follower: one log entry, applied atomically everywhere.
    const transaction = await redisCliInput(cluster.clientPort(follower), "MULTI\nSET tx:a 1\nINCRBY tx:counter 5\nSET tx:b 2 EX 100000\nEXEC\n")
    expect(transaction.split("\n")).toEqual(["OK", "QUEUED", "QUEUED", "QUEUED", "OK", "5", "OK"])

    await cli(leader, "SET", "long", "v", "EX", "100000")
    const expireAt = Number(await cli(leader, "PEXPIRETIME", "long"))
    // Expires while the cluster is being failed over and restarted (a few seconds from now).
    await cli(leader, "SET", "short", "v", "PX", "4000")
    const shortAt = Number(await cli(leader, "PEXPIRETIME", "short"))

    await cluster.kill(leader)
    const next = await cluster.waitForLeader()
    expect(next).not.toBe(leader)
    for (const id of cluster.running()) {
      expect(await cli(id, "MGET", "tx:a", "tx:counter", "tx:b")).toBe("1\n5\n2")
      expect(Number(await cli(id, "PEXPIRETIME", "long"))).toBe(expireAt)
      expect(Number(await cli(id, "PEXPIRETIME", "tx:b"))).toBeGreaterThan(Date.now())
    }
    await cluster.start(leader)

    // Full restart, all at once (kill -9).
    for (const id of cluster.ids) await cluster.kill(id)
    await cluster.startAll()
    await cluster.waitForLeader()
    await everyNode("the transaction on every node after the restart", async (id) => (await cli(id, "MGET", "tx:a", "tx:counter", "tx:b")) === "1\n5\n2")
    for (const id of cluster.ids) {
      // Absolute: the restart did not move the expiry time.
      expect(Number(await cli(id, "PEXPIRETIME", "long"))).toBe(expireAt)
      const ttl = Number(await cli(id, "TTL", "long"))
      expect(ttl).toBeGreaterThan(99_000)
      expect(ttl).toBeLessThanOrEqual(100_000)
    }
    // The short key's time comes; every node stops showing it then, and the reaper removes it
    // through the log, so every node's DBSIZE drops by one.
    await waitFor(async () => Date.now() > shortAt + 50, { timeoutMs: 10_000, description: "the short key's expiry time" })
    for (const id of cluster.ids) expect(await cli(id, "EXISTS", "short")).toBe("0")
    await everyNode("the reaper to remove the expired key everywhere", async (id) => (await cli(id, "DBSIZE")) === "4")
    for (const id of cluster.ids) {
      const keyspace = await cli(id, "INFO", "keyspace")
      expect(keyspace).toContain("db0:keys=4,expires=2,avg_ttl=0")
    }
  }, 120_000)

  it("commands pipelined after an EXEC with a queued SELECT run in its database: also when QUIT, a protocol error or a half-close follows", async () => {
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!
    const transaction = (key: string) => [["MULTI"], ["SELECT", "1"], ["SET", key, "1"], ["EXEC"]] as const
    const answered = "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n"
    // What redis-server 7.0.15 answers to each of these writes (checked by hand).
    for (const id of [leader, follower]) {
      const port = cluster.clientPort(id)
      // The client half-closes after its pipeline: every reply still comes, GET in database 1.
      expect(await exchangeUntilClosed(port, pipeline(...transaction(`piped:half:${id}`), ["GET", `piped:half:${id}`]), true)).toBe(`${answered}$1\r\n1\r\n`)
      // Bad bytes after the pipeline: the commands before them are answered first, then the error.
      expect(await exchangeUntilClosed(port, Buffer.concat([pipeline(...transaction(`piped:bad:${id}`), ["GET", `piped:bad:${id}`]), Buffer.from("*1\r\n$abc\r\n")]), false)).toBe(
        `${answered}$1\r\n1\r\n-ERR Protocol error: invalid bulk length\r\n`
      )
      // QUIT after EXEC: nothing after it runs.
      expect(await exchangeUntilClosed(port, pipeline(...transaction(`piped:quit:${id}`), ["QUIT"], ["SET", `piped:after-quit:${id}`, "1"]), false)).toBe(`${answered}+OK\r\n`)
      expect(await cli(id, "-n", "1", "EXISTS", `piped:after-quit:${id}`)).toBe("0")
      expect(await cli(id, "-n", "0", "EXISTS", `piped:after-quit:${id}`)).toBe("0")
    }
  }, 60_000)

  it("an expiring key set through a follower expires on every node at the same instant", async () => {
    await cluster.waitForLeader()
    const id = cluster.running()[0]
    await cli(id, "SET", "together", "v", "PX", "1500")
    const at = Number(await cli(id, "PEXPIRETIME", "together"))
    for (const other of cluster.running()) expect(Number(await cli(other, "PEXPIRETIME", "together"))).toBe(at)
    await waitFor(async () => Date.now() > at + 50, { timeoutMs: 10_000, description: "the key's expiry time" })
    for (const other of cluster.running()) expect(await cli(other, "GET", "together")).toBe("")
  }, 60_000)
})
