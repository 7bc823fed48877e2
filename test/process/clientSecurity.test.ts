/**
 * The client port secured, with real processes and the clients people use: a password
 * (`--requirepass-file`, `RAFT_KV_REQUIREPASS`) never on a command line; ACL users from a file
 * (redis-cli --user/--pass, NOPERM for commands and keys, MULTI checked when queued); TLS with
 * certificates made by `openssl` in the test (redis-cli --tls, ioredis, node-redis and redis-py
 * over TLS; clients without a certificate or with one of another CA refused; `--port 0`; the
 * certificate reloaded on file change and on SIGHUP); `--maxclients`; failed attempts in INFO.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Redis } from "ioredis-v6"
import { createClient } from "redis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCa, makeCert } from "../support/peerCerts.js"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { RespClient } from "../support/respClient.js"
import { TEST_HOST } from "../support/testHost.js"
import { waitFor } from "../support/waitFor.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-client-security-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const file = (name: string) => path.join(dir, name)

const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"

/** Run a redis-py snippet; `r` is the client built from `connect` (keyword arguments). */
const python = (connect: string, body: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const script = `import redis\nr = redis.Redis(${connect})\n${body}\n`
    execFile(PYTHON, ["-c", script], { timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message} ${stderr}`)) : resolve(stdout.trim())))
  })

/** Whether redis-cli with these arguments fails to get an answer (non-zero exit). */
const cliFails = (port: number, ...args: Array<string>) =>
  redisCli(port, ...args).then(
    () => false,
    () => true
  )

/** The bytes a raw connection receives until the server closes it (or `ms` pass). */
const readUntilClosed = (socket: net.Socket, ms = 5000): Promise<string> =>
  new Promise((resolve) => {
    let received = ""
    const timer = setTimeout(() => resolve(`${received}<still open>`), ms)
    socket.on("data", (chunk) => (received += chunk.toString("latin1")))
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(received)
    })
  })

const connectRaw = (port: number): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: TEST_HOST, port }, () => resolve(socket))
    socket.once("error", reject)
  })

describe("a password (requirepass)", () => {
  const PASSWORD = "correct-horse-battery-staple-42"
  const passwordFile = file("requirepass")
  fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
  const cluster = new ProcessCluster({
    basePort: 27000,
    // Nodes 1 and 2 read the password from a file, node 3 from the environment.
    argsFor: (id) => (id === 3 ? [] : ["--requirepass-file", passwordFile]),
    envFor: (id): Record<string, string> => (id === 3 ? { RAFT_KV_REQUIREPASS: PASSWORD } : {}),
    cliFor: (id) => ({ port: 27000 + id, options: ["--no-auth-warning", "-a", PASSWORD] })
  })
  const auth = ["--no-auth-warning", "-a", PASSWORD]
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("refuses every command but AUTH, HELLO and QUIT before authentication, and counts each failed attempt", async () => {
    const leader = await cluster.waitForLeader()
    const follower = cluster.ids.find((id) => id !== leader)!
    const port = cluster.clientPort(follower)
    expect(await redisCli(port, "PING")).toBe("NOAUTH Authentication required.")
    expect(await redisCli(port, "SET", "k", "v")).toBe("NOAUTH Authentication required.")
    const before = Number((await info(port, "stats", auth)).acl_access_denied_auth)
    expect(before).toBe(0)

    // redis-cli with a wrong password: AUTH is refused, then the command meets NOAUTH.
    expect(await redisCli(port, "--no-auth-warning", "-a", "wrong", "GET", "k")).toBe("NOAUTH Authentication required.")
    const raw = await RespClient.connect(port)
    expect(String(await raw.call("AUTH", "wrong"))).toContain("WRONGPASS invalid username-password pair or user is disabled.")
    expect(String(await raw.call("HELLO", "3", "AUTH", "default", "wrong"))).toContain("WRONGPASS")
    expect(String(await raw.call("HELLO", "3"))).toContain("NOAUTH HELLO must be called with the client already authenticated")
    expect(String(await raw.call("MULTI"))).toContain("NOAUTH")
    expect(await raw.call("AUTH", PASSWORD)).toBe("OK")
    expect(await raw.call("PING")).toBe("PONG")
    expect(await raw.call("QUIT")).toBe("OK")
    raw.close()
    expect(Number((await info(port, "stats", auth)).acl_access_denied_auth)).toBe(before + 3)
  }, 60_000)

  it("lets redis-cli (-a, --user/--pass, REDISCLI_AUTH), ioredis, node-redis (HELLO 3 AUTH) and redis-py in with it, on every node", async () => {
    const leader = await cluster.waitForLeader()
    const [first, second] = cluster.ids.filter((id) => id !== leader)
    expect(await redisCli(cluster.clientPort(first), ...auth, "SET", "cli", "1")).toBe("OK")
    expect(await redisCli(cluster.clientPort(second), "--no-auth-warning", "--user", "default", "--pass", PASSWORD, "GET", "cli")).toBe("1")
    const viaEnv = await new Promise<string>((resolve, reject) =>
      execFile("redis-cli", ["-h", TEST_HOST, "-p", String(cluster.clientPort(leader)), "GET", "cli"], { env: { ...process.env, REDISCLI_AUTH: PASSWORD }, timeout: 15_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout.trim())
      )
    )
    expect(viaEnv).toBe("1")

    const ioredis = new Redis({ host: TEST_HOST, port: cluster.clientPort(first), password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 1 })
    try {
      await ioredis.connect()
      expect(await ioredis.set("ioredis", "2")).toBe("OK")
      expect(await ioredis.get("cli")).toBe("1")
    } finally {
      ioredis.disconnect()
    }
    const nodeRedis = createClient({ socket: { host: TEST_HOST, port: cluster.clientPort(second), reconnectStrategy: false }, username: "default", password: PASSWORD })
    await nodeRedis.connect()
    try {
      expect(await nodeRedis.get("ioredis")).toBe("2")
    } finally {
      await nodeRedis.close()
    }
    expect(await python(`host="${TEST_HOST}", port=${cluster.clientPort(leader)}, password="${PASSWORD}"`, `r.set("py", "3")\nprint(r.get("ioredis").decode())`)).toBe("2")
    expect(await redisCli(cluster.clientPort(first), ...auth, "GET", "py")).toBe("3")
  }, 60_000)

  it("never has the password on a command line, and says at start how clients authenticate", async () => {
    for (const id of cluster.ids) {
      const cmdline = fs.readFileSync(`/proc/${cluster.pid(id)}/cmdline`, "latin1")
      expect(cmdline).toContain("--data-dir")
      expect(cmdline).not.toContain(PASSWORD)
      expect(cluster.logs(id)).toMatch(/INFO.*clients authenticate with the default user's password \(requirepass\)/)
      expect(cluster.logs(id)).not.toContain(PASSWORD)
    }
  }, 30_000)
})

describe("ACL users from a file", () => {
  const aclFile = file("users.acl")
  fs.writeFileSync(
    aclFile,
    [
      "user default on >adminpw ~* &* +@all",
      "user app on >apppw ~app:* +@all -@dangerous",
      "user reader on >readpw ~* +@read +@connection",
      "user locked off >lockedpw ~* +@all",
      ""
    ].join("\n"),
    { mode: 0o600 }
  )
  const admin = ["--no-auth-warning", "-a", "adminpw"]
  const as = (user: string, password: string) => ["--no-auth-warning", "--user", user, "--pass", password]
  const cluster = new ProcessCluster({ basePort: 27200, extraArgs: ["--aclfile", aclFile], cliFor: (id) => ({ port: 27200 + id, options: admin }) })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("gives each user its commands and keys, on every node", async () => {
    const leader = await cluster.waitForLeader()
    const [first, second] = cluster.ids.filter((id) => id !== leader)
    const app = (id: number, ...command: Array<string>) => redisCli(cluster.clientPort(id), ...as("app", "apppw"), ...command)
    expect(await app(first, "ACL", "WHOAMI")).toBe("app")
    expect(await app(first, "SET", "app:1", "v")).toBe("OK")
    expect(await app(second, "GET", "app:1")).toBe("v")
    expect(await app(second, "SET", "other", "v")).toBe("NOPERM this user has no permissions to access one of the keys used as arguments")
    expect(await app(leader, "FLUSHALL")).toBe("NOPERM this user has no permissions to run the 'flushall' command")
    expect(await app(leader, "KEYS", "*")).toBe("NOPERM this user has no permissions to run the 'keys' command")
    const reader = (...command: Array<string>) => redisCli(cluster.clientPort(second), ...as("reader", "readpw"), ...command)
    expect(await reader("GET", "app:1")).toBe("v")
    expect(await reader("SET", "app:1", "w")).toBe("NOPERM this user has no permissions to run the 'set' command")
    // A user that is off cannot log in: AUTH fails, and the command meets NOAUTH.
    expect(await redisCli(cluster.clientPort(first), ...as("locked", "lockedpw"), "PING")).toBe("NOAUTH Authentication required.")
    expect(await redisCli(cluster.clientPort(first), "PING")).toBe("NOAUTH Authentication required.")

    expect(await python(`host="${TEST_HOST}", port=${cluster.clientPort(first)}, username="app", password="apppw"`, `r.set("app:py", "1")\nprint(r.get("app:py").decode())`)).toBe("1")
    const ioredis = new Redis({ host: TEST_HOST, port: cluster.clientPort(second), username: "reader", password: "readpw", lazyConnect: true, maxRetriesPerRequest: 1, enableReadyCheck: false })
    try {
      await ioredis.connect()
      expect(await ioredis.get("app:py")).toBe("1")
      await expect(ioredis.set("app:py", "2")).rejects.toThrow("NOPERM this user has no permissions to run the 'set' command")
    } finally {
      ioredis.disconnect()
    }
  }, 60_000)

  it("checks commands inside MULTI when they are queued, logs refusals in ACL LOG and counts them in INFO", async () => {
    const leader = await cluster.waitForLeader()
    const port = cluster.clientPort(leader)
    const before = await info(port, "stats", admin)
    const client = await RespClient.connect(port)
    try {
      expect(await client.call("AUTH", "app", "apppw")).toBe("OK")
      const replies = await client.pipeline([["MULTI"], ["SET", "app:tx", "1"], ["SET", "elsewhere", "1"], ["EXEC"], ["GET", "app:tx"]])
      expect(replies.slice(0, 4).map(String)).toEqual([
        "OK",
        "QUEUED",
        "ReplyError: NOPERM this user has no permissions to access one of the keys used as arguments",
        "ReplyError: EXECABORT Transaction discarded because of previous errors."
      ])
      expect(replies[4]).toBeNull()
      expect(String(await client.call("AUTH", "app", "nope"))).toContain("WRONGPASS")
    } finally {
      client.close()
    }
    const after = await info(port, "stats", admin)
    expect(Number(after.acl_access_denied_key)).toBe(Number(before.acl_access_denied_key) + 1)
    expect(Number(after.acl_access_denied_auth)).toBe(Number(before.acl_access_denied_auth) + 1)
    const log = await redisCli(port, ...admin, "ACL", "LOG", "2")
    expect(log).toContain("reason\nauth\ncontext\ntoplevel\nobject\nAUTH\nusername\napp")
    expect(log).toContain("reason\nkey\ncontext\nmulti\nobject\nelsewhere\nusername\napp")
    expect((await redisCli(port, ...admin, "ACL", "USERS")).split("\n")).toEqual(["app", "default", "locked", "reader"])
    expect(await redisCli(port, ...admin, "ACL", "SETUSER", "x")).toMatch(/^ERR ACL SETUSER is not supported by raft-kv: users are read from the ACL file/)
  }, 60_000)
})

describe("TLS on the client port", () => {
  makeCa(dir, "ca")
  makeCa(dir, "rogue")
  makeCa(dir, "ca2")
  makeCert(dir, "ca", "server", TEST_HOST)
  makeCert(dir, "ca2", "server2", TEST_HOST)
  makeCert(dir, "ca", "client", TEST_HOST)
  makeCert(dir, "rogue", "intruder", TEST_HOST)
  // Each node has its own copy of the server's files, so one node's can be replaced.
  for (const id of [1, 2, 3]) {
    fs.copyFileSync(file("server.crt"), file(`node${id}.crt`))
    fs.copyFileSync(file("server.key"), file(`node${id}.key`))
  }
  const tlsPort = (id: number) => 27400 + 200 + id
  const withCert = ["--tls", "--cacert", file("ca.crt"), "--cert", file("client.crt"), "--key", file("client.key")]
  const cluster = new ProcessCluster({
    basePort: 27400,
    argsFor: (id) => [
      "--tls-port", String(tlsPort(id)), "--tls-cert-file", file(`node${id}.crt`), "--tls-key-file", file(`node${id}.key`), "--tls-ca-cert-file", file("ca.crt"),
      // Node 1 serves TLS only.
      ...(id === 1 ? ["--port", "0"] : [])
    ],
    cliFor: (id) => ({ port: tlsPort(id), options: withCert })
  })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("serves redis-cli --tls with a client certificate; --port 0 turns plain TCP off", async () => {
    await cluster.waitForLeader()
    expect(await redisCli(tlsPort(1), ...withCert, "SET", "tls", "yes")).toBe("OK")
    expect(await redisCli(tlsPort(2), ...withCert, "GET", "tls")).toBe("yes")
    expect(await redisCli(cluster.clientPort(3), "GET", "tls")).toBe("yes")
    expect(await cliFails(cluster.clientPort(1), "PING")).toBe(true)
    expect(cluster.logs(1)).toMatch(/serving Redis clients with TLS on .*:27601 \(client certificates: required\)/)
    expect(cluster.logs(1)).not.toMatch(/serving Redis clients on /)
  }, 60_000)

  it("refuses clients without a certificate, with one of another CA, or speaking plain RESP, and serves on", async () => {
    await cluster.waitForLeader()
    expect(await cliFails(tlsPort(2), "--tls", "--cacert", file("ca.crt"), "PING")).toBe(true)
    expect(await cliFails(tlsPort(2), "--tls", "--cacert", file("ca.crt"), "--cert", file("intruder.crt"), "--key", file("intruder.key"), "PING")).toBe(true)
    const plain = await connectRaw(tlsPort(2))
    plain.write("*1\r\n$4\r\nPING\r\n")
    const answer = await readUntilClosed(plain)
    expect(answer).not.toContain("PONG")
    expect(answer).not.toContain("<still open>")
    expect(await redisCli(tlsPort(2), ...withCert, "PING")).toBe("PONG")
    expect(cluster.exits.size).toBe(0)
  }, 60_000)

  it("lets ioredis, node-redis and redis-py connect with TLS", async () => {
    await cluster.waitForLeader()
    const tls = { ca: fs.readFileSync(file("ca.crt")), cert: fs.readFileSync(file("client.crt")), key: fs.readFileSync(file("client.key")) }
    const ioredis = new Redis({ host: TEST_HOST, port: tlsPort(1), tls, lazyConnect: true, maxRetriesPerRequest: 1 })
    try {
      await ioredis.connect()
      expect(await ioredis.set("ioredis:tls", "1")).toBe("OK")
    } finally {
      ioredis.disconnect()
    }
    const nodeRedis = createClient({ socket: { host: TEST_HOST, port: tlsPort(2), tls: true, ...tls, reconnectStrategy: false } })
    await nodeRedis.connect()
    try {
      expect(await nodeRedis.get("ioredis:tls")).toBe("1")
    } finally {
      await nodeRedis.close()
    }
    const py = `host="${TEST_HOST}", port=${tlsPort(3)}, ssl=True, ssl_ca_certs="${file("ca.crt")}", ssl_certfile="${file("client.crt")}", ssl_keyfile="${file("client.key")}"`
    expect(await python(py, `print(r.get("ioredis:tls").decode())`)).toBe("1")
  }, 60_000)

  it("reloads its certificate when the files change, and on SIGHUP, without a restart", async () => {
    await cluster.waitForLeader()
    const with2 = ["--tls", "--cacert", file("ca2.crt"), "--cert", file("client.crt"), "--key", file("client.key")]
    expect(await cliFails(tlsPort(3), ...with2, "PING")).toBe(true)
    // Replace node 3's files as an operator renewing a certificate would: new files renamed into place.
    fs.copyFileSync(file("server2.key"), file("node3.key.new"))
    fs.copyFileSync(file("server2.crt"), file("node3.crt.new"))
    fs.renameSync(file("node3.key.new"), file("node3.key"))
    fs.renameSync(file("node3.crt.new"), file("node3.crt"))
    await waitFor(() => /INFO.*client TLS certificate reloaded from/.test(cluster.logs(3)), {
      timeoutMs: 15_000,
      description: () => `node 3 to reload its certificate\n${cluster.logs(3)}`
    })
    // New connections get the new certificate (signed by ca2); the other nodes keep theirs.
    await waitFor(async () => (await redisCli(tlsPort(3), ...with2, "PING").catch(() => "")) === "PONG", { timeoutMs: 10_000, description: "a client trusting ca2 to connect" })
    expect(await cliFails(tlsPort(3), ...withCert, "PING")).toBe(true)
    expect(await redisCli(tlsPort(2), ...withCert, "PING")).toBe("PONG")

    cluster.hangup(3)
    await waitFor(() => /INFO.*client TLS certificate reloaded from .*\(SIGHUP\)/.test(cluster.logs(3)), {
      timeoutMs: 10_000,
      description: () => `node 3 to reload on SIGHUP\n${cluster.logs(3)}`
    })
    expect(await redisCli(tlsPort(3), ...with2, "PING")).toBe("PONG")
    expect(cluster.exits.size).toBe(0)
  }, 60_000)
})

describe("--maxclients, and TLS with optional client certificates", () => {
  const base = 27700
  const tlsPort = base + 50
  const cluster = new ProcessCluster({
    basePort: base,
    nodes: 1,
    extraArgs: ["--maxclients", "3", "--tls-port", String(tlsPort), "--tls-cert-file", file("server.crt"), "--tls-key-file", file("server.key"), "--tls-ca-cert-file", file("ca.crt"), "--tls-auth-clients", "optional"]
  })
  beforeAll(() => cluster.startAll(), 60_000)
  afterAll(() => cluster.shutdown())

  it("refuses the connection over the limit with Redis's error and counts it; a freed slot is taken again", async () => {
    const port = cluster.clientPort(1)
    await waitFor(async () => (await info(port, "clients")).connected_clients === "1", { timeoutMs: 10_000, description: "only the probing client connected" })
    const clients = [await RespClient.connect(port), await RespClient.connect(port), await RespClient.connect(port)]
    for (const client of clients) expect(await client.call("PING")).toBe("PONG")
    const over = await connectRaw(port)
    expect(await readUntilClosed(over)).toBe("-ERR max number of clients reached\r\n")
    const stats = await clients[0].call("INFO", "stats")
    expect(String(stats)).toContain("rejected_connections:1\r\n")
    expect(String(await clients[0].call("INFO", "clients"))).toMatch(/connected_clients:3\r\n[\s\S]*maxclients:3\r\n/)
    expect(await clients[0].call("CONFIG", "GET", "maxclients")).toEqual(["maxclients", "3"])
    clients.pop()!.close()
    await waitFor(async () => (await clients[0].call("INFO", "clients") as string).includes("connected_clients:2\r\n"), { timeoutMs: 10_000, description: "the closed client to be gone" })
    const again = await RespClient.connect(port)
    expect(await again.call("PING")).toBe("PONG")
    for (const client of [...clients, again]) client.close()
  }, 60_000)

  it("holds a client that does not read its replies: reading stops at 64 MiB unread, and past 128 MiB it is disconnected", async () => {
    const port = cluster.clientPort(1)
    await waitFor(async () => Number((await info(port, "clients")).connected_clients) <= 1, { timeoutMs: 10_000, description: "the earlier clients gone" })
    const other = await RespClient.connect(port)
    const MIB = 1024 * 1024
    expect(await other.call("SET", "big", "x".repeat(MIB))).toBe("OK")
    const written = async () => Number(((await other.call("INFO", "stats")) as string).match(/total_net_output_bytes:(\d+)/)![1])
    const GET = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"

    // 40 replies of 1 MiB not read: they wait (under the limit), and all arrive once the client reads.
    const slow = await connectRaw(port)
    slow.pause()
    slow.write(GET.repeat(40))
    let received = 0
    await waitFor(async () => (await written()) > 40 * MIB, { timeoutMs: 20_000, description: "the 40 replies written" })
    slow.on("data", (chunk: Buffer) => (received += chunk.length))
    slow.resume()
    await waitFor(() => received >= 40 * (MIB + 11), { timeoutMs: 20_000, description: () => `all 40 replies (received ${received} bytes)` })
    slow.destroy()

    // 200 replies of 1 MiB, read in one chunk before reading could stop: past 128 MiB unread the
    // client is closed (the replies of the commands already read are still produced first).
    const before = await written()
    const lazy = await connectRaw(port)
    lazy.pause()
    const closed = new Promise<void>((resolve) => lazy.on("close", () => resolve()))
    lazy.write(GET.repeat(200))
    await waitFor(async () => (await written()) - before > 128 * MIB, { timeoutMs: 20_000, description: "the replies to pass 128 MiB" })
    lazy.resume()
    lazy.on("data", () => {})
    await closed
    await waitFor(() => /closing client .* bytes of replies unread/.test(cluster.logs(1)), { timeoutMs: 10_000, description: "the disconnection logged" })
    expect(await other.call("PING")).toBe("PONG")
    other.close()
  }, 60_000)

  it("with --tls-auth-clients optional, takes clients without a certificate and refuses a certificate of another CA", async () => {
    await waitFor(async () => Number((await info(cluster.clientPort(1), "clients")).connected_clients) <= 1, { timeoutMs: 10_000, description: "the earlier clients gone" })
    expect(await redisCli(tlsPort, "--tls", "--cacert", file("ca.crt"), "PING")).toBe("PONG")
    expect(await redisCli(tlsPort, "--tls", "--cacert", file("ca.crt"), "--cert", file("client.crt"), "--key", file("client.key"), "PING")).toBe("PONG")
    expect(await cliFails(tlsPort, "--tls", "--cacert", file("ca.crt"), "--cert", file("intruder.crt"), "--key", file("intruder.key"), "PING")).toBe(true)
  }, 60_000)

  it("counts TLS connections from their first byte: handshakes never finished hold the slots, the next TLS client is closed at once", async () => {
    await waitFor(async () => Number((await info(cluster.clientPort(1), "clients")).connected_clients) <= 1, { timeoutMs: 10_000, description: "the earlier clients gone" })
    const rejected = async () => Number((await info(cluster.clientPort(1), "stats")).rejected_connections)
    const before = await rejected()
    // Three sockets that never start their handshake (the node would time them out after 10 s).
    const silent = [await connectRaw(tlsPort), await connectRaw(tlsPort), await connectRaw(tlsPort)]
    expect(await cliFails(tlsPort, "--tls", "--cacert", file("ca.crt"), "PING")).toBe(true)
    expect(await rejected()).toBeGreaterThan(before)
    for (const socket of silent) socket.destroy()
    // Their slots are freed as the node sees them close.
    await waitFor(async () => (await redisCli(tlsPort, "--tls", "--cacert", file("ca.crt"), "PING").catch(() => "")) === "PONG", {
      timeoutMs: 10_000,
      description: "a TLS client admitted again"
    })
  }, 60_000)
})
