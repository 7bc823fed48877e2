/** Bad input gets Redis's error texts and never takes a node down. */
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { redisCli } from "../support/redisCli.js"
import { RespClient } from "../support/respClient.js"
import { runToExit } from "../support/runToExit.js"
import { TEST_HOST } from "../support/testHost.js"

/**
 * Send raw bytes on a new connection (then shut down our side if `end`) and collect everything
 * the server sends until it closes its side of the connection; fails after 10 s.
 */
const exchange = (port: number, bytes: string, { end }: { end: boolean }): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    const socket = net.connect({ host: TEST_HOST, port, allowHalfOpen: true }, () => {
      if (end) socket.end(bytes, "latin1")
      else socket.write(bytes, "latin1")
    })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no close from the server after ${JSON.stringify(bytes)}; received ${JSON.stringify(Buffer.concat(chunks).toString("latin1"))}`))
    }, 10_000)
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("error", () => {})
    // The server's FIN: it has closed the connection (our own side may still be open).
    socket.on("end", () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(Buffer.concat(chunks).toString("latin1"))
    })
  })

describe("bad input", () => {
  const cluster = new ProcessCluster({ basePort: 22400, nodes: 1 })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("answers unknown commands and wrong arity as Redis does", async () => {
    const port = cluster.clientPort(1)
    expect(await redisCli(port, "FOO", "a", "b")).toBe("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    expect(await redisCli(port, "GET")).toBe("ERR wrong number of arguments for 'get' command")
    expect(await redisCli(port, "SET", "k", "v", "NX", "XX")).toBe("ERR syntax error")
    expect(await redisCli(port, "SET", "n", "abc")).toBe("OK")
    expect(await redisCli(port, "INCR", "n")).toBe("ERR value is not an integer or out of range")
  })

  it("answers pipelined local, read and write commands in request order", async () => {
    const client = await RespClient.connect(cluster.clientPort(1))
    const replies = await client.pipeline([
      ["SET", "p", "1"], ["GET", "p"], ["PING"], ["INCR", "p"], ["ECHO", "between"], ["GET", "p"],
      ["NOSUCH"], ["MGET", "p", "missing"], ["DEL", "p"], ["GET", "p"]
    ])
    client.close()
    expect(replies.map((reply) => (reply instanceof Error ? `error: ${reply.message}` : reply))).toEqual([
      "OK", "1", "PONG", 2, "between", "2",
      "error: ERR unknown command 'NOSUCH', with args beginning with: ", ["2", null], 1, null
    ])
  })

  it("survives garbage on its client port and keeps answering", async () => {
    const port = cluster.clientPort(1)
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    for (let round = 0; round < 20; round++) {
      const bytes = Buffer.from(Array.from({ length: 200 }, () => Math.floor(random() * 256)))
      await new Promise<void>((resolve) => {
        const socket = net.connect({ host: TEST_HOST, port }, () => socket.end(bytes))
        socket.on("error", () => resolve())
        socket.on("close", () => resolve())
        socket.resume()
      })
    }
    expect(await redisCli(port, "PING")).toBe("PONG")
    expect(await redisCli(port, "GET", "n")).toBe("abc")
    expect(cluster.exits.has(1)).toBe(false)
  })

  it("answers hostile protocol input with redis-server's error, closes that connection, and keeps running", async () => {
    const port = cluster.clientPort(1)
    const cases: Array<[string, string]> = [
      ["*99999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
      ["*2\r\n$4\r\nECHO\r\n*4294967296\r\n", "-ERR Protocol error: expected '$', got '*'\r\n"],
      ["*1\r\n$abc\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      ["*2\r\n$4\r\nECHO\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      ["PING\r\nECHO \"unbalanced\r\n", "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"]
    ]
    for (const [input, expected] of cases) {
      // The server must close the connection after the error: `exchange` resolves on close only.
      expect(await exchange(port, input, { end: false })).toBe(expected)
    }
    expect(cluster.exits.has(1)).toBe(false)
    expect(await redisCli(port, "PING")).toBe("PONG")
  })

  it("answers every command of a client that shuts down its side right after sending", async () => {
    const port = cluster.clientPort(1)
    expect(await exchange(port, 'PING\r\nSET "half closed" v\r\nINCR hc\r\nGET "half closed"\r\n', { end: true })).toBe("+PONG\r\n+OK\r\n:1\r\n$1\r\nv\r\n")
  })

  it("refuses DECRBY by INT64_MIN before it reaches the log, as Redis does", async () => {
    const port = cluster.clientPort(1)
    expect(await redisCli(port, "SET", "d", "-1")).toBe("OK")
    expect(await redisCli(port, "DECRBY", "d", "-9223372036854775808")).toBe("ERR decrement would overflow")
    expect(await redisCli(port, "GET", "d")).toBe("-1")
  })

  it("rejects a bad flag with one line and exit status 2", async () => {
    const result = await runToExit(process.execPath, ["dist/src/main.js", "--id", "4", "--cluster", "a:1,b:2,c:3"])
    expect(result.status).toBe(2)
    expect(result.stderr).toBe("raft-kv: --id 4 is outside the cluster of 3 nodes (--cluster lists node 1..3)\nTry 'raft-kv --help'.\n")
    const unknown = await runToExit(process.execPath, ["dist/src/main.js", "--id", "1", "--bogus", "x"])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr.split("\n")[0]).toBe("raft-kv: unknown flag --bogus")
  })

  it("refuses to start on a port another node holds, with a clear message and status 1", async () => {
    const second = await runToExit(
      process.execPath,
      cluster.args(1).map((arg) => arg.replace(cluster.root, `${cluster.root}/other`))
    )
    expect(second.status).toBe(1)
    expect(second.stderr).toMatch(new RegExp(`^raft-kv node 1 stopped: cannot listen for (clients|peers) on ${TEST_HOST.replaceAll(".", "\\.")}:\\d+: listen EADDRINUSE`, "m"))
  })

  it("refuses a second node on the same data directory", async () => {
    const dataDir = path.join(cluster.root, "node1")
    const second = await runToExit(process.execPath, [path.resolve("dist/src/main.js"), "--id", "1", "--port", String(cluster.clientPort(1) + 50), "--data-dir", dataDir])
    expect(second.status).toBe(1)
    expect(second.stderr).toContain(`raft-kv node 1 stopped: data directory ${dataDir} is in use by process`)
  })

  it("stops with the file and offset when its WAL is corrupt in the middle", async () => {
    const port = cluster.clientPort(1)
    expect(await redisCli(port, "SET", "a", "1")).toBe("OK")
    expect(await redisCli(port, "SET", "b", "2")).toBe("OK")
    expect(await cluster.stop(1)).toBe(0)
    const walDir = path.join(cluster.root, "node1", "wal")
    const file = path.join(walDir, fs.readdirSync(walDir).filter((name) => name.endsWith(".log")).sort()[0])
    const bytes = fs.readFileSync(file)
    bytes[10] ^= 0xff // inside the first record, with valid records after it
    fs.writeFileSync(file, bytes)
    const restarted = await runToExit(process.execPath, cluster.args(1))
    expect(restarted.status).toBe(1)
    expect(restarted.stderr).toContain(`raft-kv node 1 stopped: WAL corrupt in ${file} at offset 0: checksum mismatch`)
  })
})
