#!/usr/bin/env node
/**
 * raft-kv against redis-server on the same machine, in the same run: the real redis-benchmark
 * against fresh 3-node clusters (one per read mode: linearizable, lease, stale) and, interleaved
 * round by round, against a plain redis-server (no persistence) and a durable one (appendfsync
 * always). Every ratio is computed within one round (raft-kv and its baseline measured minutes
 * apart at most) and reported as the median of the rounds, with every round's figure shown.
 *
 *   npm run bench -- [--engine memory|level] [--rounds 3] [--requests 50000] [--host H] [--tls] [--ceilings]
 *
 * Each round measures (50 clients unless said otherwise):
 *  - `-t set,get` on the plain and durable redis-servers, and on the leader and a follower of each
 *    cluster (SET on the linearizable cluster only: the read mode changes reads, not writes);
 *  - `-P 16` SET on the leader;
 *  - `SET key v EX 100` against a plain `SET key v` (custom commands, random keys);
 *  - a 3-command transaction (MULTI; SET; INCR; EXEC, pipelined by this script's own client)
 *    against a plain SET through the same client;
 *  - HSET and ZADD into a 100,000-member collection against the same into a 10-member one.
 * Once (first round): `redis-benchmark -q -n 20000` with its default test list against the
 * leader (must exit 0) and the plain redis-server.
 *
 * --host (default $RAFT_KV_TEST_HOST or 127.0.0.1) is the loopback address every server binds.
 * With --tls, a second cluster runs beside the first with TLS on both ports and a password; its
 * leader is one more target. With --ceilings, the two Node.js ceilings (scripts/node-ceiling.mjs)
 * are measured too.
 *
 * With --memory it runs the memory phase instead: a fresh 3-node cluster on the memory engine and
 * a plain redis-server, each loaded with the same --keys distinct keys (default 1,000,000;
 * 12-byte keys and 12-byte values) by `redis-cli --pipe`, then every process's resident memory
 * (VmRSS) once settled (--settle seconds, default 60), each node against redis-server, with
 * each node's V8 heap (used and committed), its memory outside the heap, and the idle GCs it
 * logged (event=idle_gc, with their pauses). --node-flags "..." adds flags to every node (an A/B
 * of a setting, e.g. --node-flags "--idle-gc off").
 *
 *   npm run bench -- --memory [--keys 1000000] [--settle 60] [--node-flags "..."]
 *
 * With --types it runs issue 13's collection rows instead, on one cluster of --engine: each of
 * redis-benchmark's collection tests beside a SET run on the same leader (so the two share the
 * machine's load of that minute; SET first in odd rounds, second in even ones, so use an even
 * --rounds), its rate over SET's per pair, the median of --rounds, and
 * the three nodes' CPU per request over SET's (from /proc: far less disturbed by other load);
 * and HSET/ZADD into 100,000-member collections against 10-member ones. Its first row pairs SET
 * with SET: how far from 1.00x the machine's noise alone moves a pair, the yardstick for the others.
 *
 *   npm run bench -- --types [--engine memory|level] [--rounds 3] [--requests 20000] [--tests set,lpush,...]
 *
 * With --tls-cost it measures only what TLS and AUTH cost (issue 15): a plain cluster and one with
 * TLS on both ports and a password, SET and GET on each leader, alternated, for --rounds.
 *
 *   npm run bench -- --tls-cost [--rounds 3] [--requests 20000]
 *
 * With --multi-cost it measures only issue 12's transaction row: MULTI; SET; INCR; EXEC against a
 * plain SET through the script's own client on one leader, alternated, for --rounds.
 *
 *   npm run bench -- --multi-cost [--rounds 3] [--requests 20000]
 *
 * Everything it starts (nodes, redis-servers, redis-cli/redis-benchmark, temp dirs) is stopped
 * by PID and removed on exit, also on failure or Ctrl-C.
 */
import { execFile, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)
const args = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const memoryMode = args.includes("--memory")
const typesMode = args.includes("--types")
const tlsOnlyMode = args.includes("--tls-cost")
const multiMode = args.includes("--multi-cost")
const tlsMode = args.includes("--tls")
const ceilingsMode = args.includes("--ceilings")
const engine = flag("engine", "memory")
const rounds = Number(flag("rounds", "3"))
const requests = Number(flag("requests", "50000"))
const keyCount = Number(flag("keys", "1000000"))
const settleSeconds = Number(flag("settle", "60"))
const nodeFlags = flag("node-flags", "").split(" ").filter((x) => x !== "")
const host = flag("host", process.env.RAFT_KV_TEST_HOST ?? "127.0.0.1")
const defaultListRequests = flag("default-requests", "20000") // issue 13 asks for -n 20000
const clients = 50

const root = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-bench-"))
const children = []
const cleanup = () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  fs.rmSync(root, { recursive: true, force: true })
}
process.on("exit", cleanup)
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => process.exit(130))

/** execFile, with the child recorded so that cleanup kills it if the script ends first. */
const run = (command, argv, options) => {
  const promise = execFileAsync(command, argv, { maxBuffer: 64 * 1024 * 1024, ...options })
  children.push(promise.child)
  return promise
}

/** Log lines of idle GCs (event=idle_gc), by process name. */
const idleGcLines = new Map()

const startProcess = (command, argv, name) => {
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] })
  let log = ""
  child.stdout.on("data", (d) => {
    log = (log + d).slice(-4000)
    for (const line of String(d).split("\n")) {
      if (line.includes("event=idle_gc")) idleGcLines.set(name, [...(idleGcLines.get(name) ?? []), line])
    }
  })
  child.stderr.on("data", (d) => (log = (log + d).slice(-4000)))
  child.on("exit", (code) => {
    if (code !== null && code !== 0) process.stderr.write(`${name} exited with ${code}:\n${log}\n`)
  })
  children.push(child)
  return child
}

const redisCli = async (port, ...argv) => (await run("redis-cli", ["-h", host, "-p", String(port), ...argv], { timeout: 5000 })).stdout

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const waitFor = async (what, check, timeoutMs = 20000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await check()) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

const info = async (port, section = "raft", cliArgs = []) =>
  Object.fromEntries(
    (await redisCli(port, ...cliArgs, "INFO", section))
      .split(/\r?\n/)
      .filter((line) => line.includes(":"))
      .map((line) => line.split(":"))
  )

/** Resident set size of a process in KiB (VmRSS, or VmHWM for the peak), from /proc. */
const procStatusKiB = (pid, field = "VmRSS") => {
  const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(`${field}:`))
  if (line === undefined) throw new Error(`no ${field} for pid ${pid}`)
  return Number(line.split(/\s+/)[1])
}
/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 1/100 s). */
const cpuSeconds = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1)
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(", ")
const machine = () => `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), Node ${process.versions.node}, host ${host}`

// --- servers ---
const ids = [1, 2, 3]
const BASE_PORT = 36700
/** Clusters sit 20 ports apart: client ports BASE+offset+1..3, peer ports BASE+offset+11..13. */
const clientPort = (i, offset = 0) => BASE_PORT + offset + i
const peerPort = (i, offset = 0) => BASE_PORT + offset + 10 + i

/**
 * Starts a fresh 3-node cluster (data dirs under root/<tag>) and waits for a leader. `offset`
 * moves its ports; `extraArgs` go to every node (e.g. --read-mode); `secure` gives it TLS and a
 * password.
 */
const startCluster = async (clusterEngine, tag, offset = 0, extraArgs = [], secure = undefined) => {
  const cluster = ids.map((i) => `${host}:${peerPort(i, offset)}`).join(",")
  const nodes = ids.map((i) =>
    startProcess(
      process.execPath,
      ["dist/src/main.js", "--id", String(i), "--cluster", cluster, "--host", host, "--port", String(clientPort(i, offset)),
        "--data-dir", path.join(root, tag, `node${i}`), "--engine", clusterEngine, ...extraArgs, ...(secure?.nodeArgs(i) ?? [])],
      `node${i}-${tag}`
    )
  )
  let leader = 0
  await waitFor(`a leader (${tag})`, async () => {
    const roles = await Promise.all(ids.map(async (i) => (await info(clientPort(i, offset), "raft", secure?.cliArgs ?? [])).raft_role))
    leader = roles.indexOf("leader") + 1
    return leader > 0
  })
  const follower = leader === 1 ? 2 : 1
  return { nodes, leader, follower, leaderPort: clientPort(leader, offset), followerPort: clientPort(follower, offset) }
}

const startRedis = (port, extra) => {
  const dir = path.join(root, `redis-${port}`)
  fs.mkdirSync(dir)
  const child = startProcess("redis-server", ["--port", String(port), "--bind", host, "--dir", dir, "--save", "", ...extra], `redis-${port}`)
  return { port, child }
}
const waitForPong = (port) => waitFor(`PONG on ${port}`, async () => (await redisCli(port, "PING")).trim() === "PONG")

// --- TLS and AUTH (--tls) ---
const TLS_OFFSET = 100

/** Certificates (openssl) and a password for the secured cluster, and how to reach it. */
const tlsSetup = () => {
  const dir = path.join(root, "certs")
  fs.mkdirSync(dir)
  const openssl = (...argv) => execFileSync("openssl", argv, { cwd: dir, stdio: "pipe" })
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  openssl("req", "-x509", ...key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bench CA")
  fs.writeFileSync(path.join(dir, "node.ext"), `subjectAltName=IP:${host}\nextendedKeyUsage=serverAuth,clientAuth\n`)
  openssl("req", ...key, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=node")
  openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "node.ext", "-out", "node.crt")
  const password = "bench-password-0123456789"
  fs.writeFileSync(path.join(dir, "requirepass"), password, { mode: 0o600 })
  const file = (name) => path.join(dir, name)
  const tlsPort = (i) => clientPort(i, TLS_OFFSET) + 50
  return {
    tlsPort,
    nodeArgs: (i) => [
      "--requirepass-file", file("requirepass"),
      "--tls-port", String(tlsPort(i)), "--tls-cert-file", file("node.crt"), "--tls-key-file", file("node.key"), "--tls-auth-clients", "no",
      "--peer-tls-cert-file", file("node.crt"), "--peer-tls-key-file", file("node.key"), "--peer-tls-ca-cert-file", file("ca.crt")
    ],
    cliArgs: ["--no-auth-warning", "-a", password],
    benchArgs: ["--tls", "--cacert", file("ca.crt"), "-a", password]
  }
}

// --- measuring ---

/** One redis-benchmark run in CSV; returns { TEST: { rps, p50, p99 } } (custom commands: the command's name). */
const benchmark = async (port, argv, targetArgs = []) => {
  const { stdout } = await run(
    "redis-benchmark",
    ["-h", host, "-p", String(port), "-c", String(clients), "--csv", ...targetArgs, ...argv],
    { timeout: 600_000 }
  )
  const result = {}
  for (const line of stdout.trim().split("\n").slice(1)) {
    const [test, rps, , , p50, , p99] = line.replaceAll('"', "").split(",")
    result[test.split(" ")[0]] = { rps: Number(rps), p50: Number(p50), p99: Number(p99) }
  }
  return result
}
/** The only row of a single-test or custom-command run. */
const only = (result) => {
  const rows = Object.values(result)
  if (rows.length !== 1) throw new Error(`expected one redis-benchmark row, got ${JSON.stringify(result)}`)
  return rows[0]
}

/**
 * `redis-benchmark -q -n 20000` with its default test list, as a user would run it; the exit
 * status must be 0. Returns every row it printed: [{ test, rps, p50 }].
 */
const defaultList = async (port) => {
  const { stdout } = await run("redis-benchmark", ["-h", host, "-p", String(port), "-q", "-n", defaultListRequests], { timeout: 1_800_000 })
  const rows = []
  // Progress is redrawn with \r; the final figure of each test is the last segment of its line.
  for (const line of stdout.split("\n")) {
    const last = line.split("\r").pop().trim()
    const match = /^(.+): ([\d.]+) requests per second, p50=([\d.]+) msec$/.exec(last)
    if (match) rows.push({ test: match[1], rps: Number(match[2]), p50: Number(match[3]) })
  }
  return rows
}

/**
 * Transactions per second through `connections` connections, each sending MULTI; SET; INCR; EXEC
 * in one write and waiting for its 5 replies before the next (`kind` "multi"), or one SET per
 * round trip (`kind` "set"), `total` rounds in all. Fails on any reply it does not expect.
 */
const pipelinedClient = (port, kind, total, connections = clients) =>
  new Promise((resolve, reject) => {
    const commands = (i) => {
      const key = `tx:${i % 100000}`
      const set = `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$3\r\nxxx\r\n`
      if (kind === "set") return set
      const counter = `ctr:${i % 100000}`
      return `*1\r\n$5\r\nMULTI\r\n${set}*2\r\n$4\r\nINCR\r\n$${counter.length}\r\n${counter}\r\n*1\r\n$4\r\nEXEC\r\n`
    }
    let started = 0
    let finished = 0
    let open = connections
    const begin = process.hrtime.bigint()
    const latencies = []
    for (let c = 0; c < connections; c++) {
      const socket = net.connect(port, host)
      socket.setNoDelay(true)
      let expected = 0
      let seen = ""
      let sentAt = 0n
      const sendNext = () => {
        if (started >= total) {
          socket.end()
          return
        }
        const text = commands(started++)
        // MULTI's reply, two QUEUED, EXEC's array of 2 (+OK and :n): 6 lines; SET: 1 line
        expected = kind === "set" ? 1 : 6
        seen = ""
        sentAt = process.hrtime.bigint()
        socket.write(text)
      }
      socket.on("connect", sendNext)
      socket.on("error", reject)
      socket.on("close", () => {
        if (--open === 0) {
          const seconds = Number(process.hrtime.bigint() - begin) / 1e9
          latencies.sort((a, b) => a - b)
          resolve({ rps: finished / seconds, p50: latencies[Math.floor(latencies.length / 2)] ?? NaN })
        }
      })
      socket.on("data", (data) => {
        seen += data.toString("latin1")
        const lines = seen.split("\r\n")
        if (lines.length - 1 < expected) return
        const got = lines.slice(0, expected)
        const ok =
          kind === "set"
            ? got[0] === "+OK"
            : got[0] === "+OK" && got[1] === "+QUEUED" && got[2] === "+QUEUED" && got[3] === "*2" && got[4] === "+OK" && got[5].startsWith(":")
        if (!ok) {
          socket.destroy()
          return reject(new Error(`${kind}: unexpected replies ${JSON.stringify(got)}`))
        }
        latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6)
        finished++
        sendNext()
      })
    }
  })

/** Loads a RESP file through `redis-cli --pipe`; fails unless every reply arrived without an error. */
const pipeFile = async (port, file, timeoutMs = 600_000) => {
  const child = spawn("redis-cli", ["-h", host, "-p", String(port), "--pipe", "--pipe-timeout", "120"], { stdio: [fs.openSync(file, "r"), "pipe", "pipe"] })
  children.push(child)
  let output = ""
  child.stdout.on("data", (d) => (output += d))
  child.stderr.on("data", (d) => (output += d))
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
  const code = await new Promise((resolve) => child.on("exit", resolve))
  clearTimeout(timer)
  const summary = /errors: (\d+), replies: (\d+)/.exec(output)
  if (code !== 0 || summary === null || summary[1] !== "0") throw new Error(`redis-cli --pipe into ${port} failed (exit ${code}): ${output.slice(-500)}`)
  return Number(summary[2])
}

const resp = (...argv) => `*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`

/** HSET/ZADD commands that give `key` `members` members, 1000 per command. */
const collectionFile = (name, command, key, members) => {
  const file = path.join(root, name)
  const fd = fs.openSync(file, "w")
  for (let start = 0; start < members; start += 1000) {
    const argv = [command, key]
    for (let i = start; i < Math.min(members, start + 1000); i++) {
      if (command === "HSET") argv.push(`f:${i}`, "v")
      else argv.push(String(i), `m:${i}`)
    }
    fs.writeSync(fd, resp(...argv))
  }
  fs.closeSync(fd)
  return file
}

// --- the throughput comparison ---
const throughputPhase = async () => {
  const loadBefore = loadAverage()
  const startedAt = new Date()
  const plain = startRedis(36781, ["--appendonly", "no"])
  const durable = startRedis(36782, ["--appendonly", "yes", "--appendfsync", "always"])
  const modes = ["linearizable", "lease", "stale"]
  const clusters = {}
  for (const [k, mode] of modes.entries()) clusters[mode] = await startCluster(engine, mode, k * 20, ["--read-mode", mode])
  await Promise.all([waitForPong(plain.port), waitForPong(durable.port)])
  const lin = clusters.linearizable

  // GET reads an existing key everywhere (redis-benchmark's GET key is `key:__rand_int__`).
  for (const port of [plain.port, durable.port, ...modes.map((m) => clusters[m].leaderPort)]) await redisCli(port, "SET", "key:__rand_int__", "xxx")
  // The collections for HSET/ZADD: 100,000 members against 10, on the linearizable cluster.
  for (const [command, key, members] of [["HSET", "bighash", 100_000], ["HSET", "smallhash", 10], ["ZADD", "bigzset", 100_000], ["ZADD", "smallzset", 10]]) {
    await pipeFile(lin.leaderPort, collectionFile(`${key}.resp`, command, key, members))
  }

  const targets = [
    ["redis (no persistence)", plain.port],
    ["redis (appendfsync always)", durable.port],
    ...modes.flatMap((mode) => [
      [`raft-kv leader, ${mode}`, clusters[mode].leaderPort],
      [`raft-kv follower, ${mode}`, clusters[mode].followerPort]
    ])
  ]
  if (ceilingsMode) {
    const startCeiling = (port, extra) => {
      startProcess(process.execPath, ["scripts/node-ceiling.mjs", "--port", String(port), "--host", host, ...extra], `node-ceiling-${port}`)
      return port
    }
    targets.push(["Node ceiling (no work)", startCeiling(36783, [])], ["Node ceiling (fsync per turn)", startCeiling(36784, ["--fsync", path.join(root, "node-ceiling.log")])])
    await waitFor("Node ceilings", async () => (await redisCli(36783, "PING")).trim() === "" && (await redisCli(36784, "PING")).trim() === "")
  }
  if (tlsMode) {
    const secure = tlsSetup()
    const tlsCluster = await startCluster(engine, "tls", TLS_OFFSET, [], secure)
    await redisCli(clientPort(tlsCluster.leader, TLS_OFFSET), ...secure.cliArgs, "SET", "key:__rand_int__", "xxx")
    targets.push([`raft-kv leader, TLS both ports + AUTH`, secure.tlsPort(tlsCluster.leader), secure.benchArgs])
  }

  /** rows[name] = one entry per round: { rps, p50, p99 }. */
  const rows = new Map()
  const record = (name, round, value) => {
    if (!rows.has(name)) rows.set(name, [])
    rows.get(name)[round] = value
    process.stderr.write(`round ${round + 1}/${rounds} ${name}: ${Math.round(value.rps)}/s p50 ${value.p50} ms\n`)
  }
  const n = String(requests)
  const small = String(Math.min(requests, 20000))
  let defaults

  for (let round = 0; round < rounds; round++) {
    for (const [name, port, targetArgs] of targets) {
      // SET only where it differs: the read mode changes reads, not writes.
      const tests = name.includes("raft-kv") && !name.includes("linearizable") && !name.includes("TLS") ? "get" : "set,get"
      const r = await benchmark(port, ["-t", tests, "-n", n], targetArgs)
      for (const test of Object.keys(r)) record(`${test} | ${name}`, round, r[test])
    }
    record("SET -P 16 | redis (appendfsync always)", round, only(await benchmark(durable.port, ["-t", "set", "-n", n, "-P", "16"])))
    record("SET -P 16 | raft-kv leader", round, only(await benchmark(lin.leaderPort, ["-t", "set", "-n", n, "-P", "16"])))
    // SET with and without expiry: custom commands, 100,000 random keys, same value.
    for (const [name, port] of [["redis (no persistence)", plain.port], ["raft-kv leader", lin.leaderPort]]) {
      record(`SET k v | ${name}`, round, only(await benchmark(port, ["-n", small, "-r", "100000", "SET", "k:__rand_int__", "xxx"])))
      record(`SET k v EX 100 | ${name}`, round, only(await benchmark(port, ["-n", small, "-r", "100000", "SET", "k:__rand_int__", "xxx", "EX", "100"])))
    }
    // A transaction against a plain SET, through the same client.
    for (const [name, port] of [["redis (no persistence)", plain.port], ["raft-kv leader", lin.leaderPort]]) {
      record(`client SET | ${name}`, round, await pipelinedClient(port, "set", Number(small)))
      record(`client MULTI;SET;INCR;EXEC | ${name}`, round, await pipelinedClient(port, "multi", Number(small)))
    }
    // Writes into a big collection against a small one.
    for (const [label, argv] of [
      ["HSET into 100,000 fields", ["-r", "100000", "HSET", "bighash", "f:__rand_int__", "w"]],
      ["HSET into 10 fields", ["-r", "10", "HSET", "smallhash", "f:__rand_int__", "w"]],
      ["ZADD into 100,000 members", ["-r", "100000", "ZADD", "bigzset", "__rand_int__", "m:__rand_int__"]],
      ["ZADD into 10 members", ["-r", "10", "ZADD", "smallzset", "__rand_int__", "m:__rand_int__"]]
    ]) {
      record(`${label} | raft-kv leader`, round, only(await benchmark(lin.leaderPort, ["-n", small, ...argv])))
    }
    if (round === 0) {
      defaults = { redis: await defaultList(plain.port), raftKv: await defaultList(lin.leaderPort) }
    }
  }

  // --- report ---
  const loadAfter = loadAverage()
  const roundsOf = (name) => rows.get(name) ?? []
  const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "?")
  console.log(`\n## npm run bench -- --engine ${engine} --rounds ${rounds} --requests ${requests}`)
  console.log(`started ${startedAt.toISOString()}, ${machine()}; load average before ${loadBefore}, after ${loadAfter}`)
  console.log(`redis-benchmark -c ${clients}, -n ${requests} for -t set,get and -P 16, -n ${small} for the other rows`)
  console.log(`\n| row | requests/s, rounds | median | p50 ms, rounds | median p50 |`)
  console.log(`| --- | --- | ---: | --- | ---: |`)
  for (const [name, list] of rows) {
    console.log(`| ${name.replace(" | ", ": ")} | ${list.map((x) => Math.round(x.rps)).join(", ")} | ${Math.round(median(list.map((x) => x.rps)))} | ${list.map((x) => x.p50.toFixed(3)).join(", ")} | ${median(list.map((x) => x.p50)).toFixed(3)} |`)
  }

  /** A ratio per round (`of(round)`), its median, and whether the median meets `met`. */
  const targetsTable = [
    ["SET leader / durable redis", ">= 0.45", (r) => roundsOf("SET | raft-kv leader, linearizable")[r].rps / roundsOf("SET | redis (appendfsync always)")[r].rps, (x) => x >= 0.45],
    ["SET via follower / durable redis", ">= 0.40", (r) => roundsOf("SET | raft-kv follower, linearizable")[r].rps / roundsOf("SET | redis (appendfsync always)")[r].rps, (x) => x >= 0.4],
    ...modes.flatMap((mode) => [
      [`GET leader (${mode}) / plain redis`, mode === "linearizable" ? ">= 0.8" : "", (r) => roundsOf(`GET | raft-kv leader, ${mode}`)[r].rps / roundsOf("GET | redis (no persistence)")[r].rps, (x) => mode !== "linearizable" || x >= 0.8],
      [`GET follower (${mode}) / plain redis`, mode === "linearizable" ? ">= 0.6" : "", (r) => roundsOf(`GET | raft-kv follower, ${mode}`)[r].rps / roundsOf("GET | redis (no persistence)")[r].rps, (x) => mode !== "linearizable" || x >= 0.6]
    ]),
    ["SET p50 leader / durable redis SET p50", "<= 2.5", (r) => roundsOf("SET | raft-kv leader, linearizable")[r].p50 / roundsOf("SET | redis (appendfsync always)")[r].p50, (x) => x <= 2.5],
    ["GET p50 leader (linearizable) / plain redis GET p50", "<= 2", (r) => roundsOf("GET | raft-kv leader, linearizable")[r].p50 / roundsOf("GET | redis (no persistence)")[r].p50, (x) => x <= 2],
    ["GET p50 leader (lease) / plain redis GET p50", "", (r) => roundsOf("GET | raft-kv leader, lease")[r].p50 / roundsOf("GET | redis (no persistence)")[r].p50, () => true],
    ["-P 16 SET / unpipelined SET, leader", ">= 5", (r) => roundsOf("SET -P 16 | raft-kv leader")[r].rps / roundsOf("SET | raft-kv leader, linearizable")[r].rps, (x) => x >= 5],
    ["SET EX cost / SET cost, leader", "<= 1.5", (r) => roundsOf("SET k v | raft-kv leader")[r].rps / roundsOf("SET k v EX 100 | raft-kv leader")[r].rps, (x) => x <= 1.5],
    ["MULTI/EXEC (3 commands) cost / SET cost, leader", "<= 1.5", (r) => roundsOf("client SET | raft-kv leader")[r].rps / roundsOf("client MULTI;SET;INCR;EXEC | raft-kv leader")[r].rps, (x) => x <= 1.5],
    ["HSET cost, 100,000 fields / 10 fields", "<= 2", (r) => roundsOf("HSET into 10 fields | raft-kv leader")[r].rps / roundsOf("HSET into 100,000 fields | raft-kv leader")[r].rps, (x) => x <= 2],
    ["ZADD cost, 100,000 members / 10 members", "<= 2", (r) => roundsOf("ZADD into 10 members | raft-kv leader")[r].rps / roundsOf("ZADD into 100,000 members | raft-kv leader")[r].rps, (x) => x <= 2]
  ]
  console.log(`\n| ratio in the same round | target | rounds | median | met? |`)
  console.log(`| --- | --- | --- | ---: | --- |`)
  for (const [name, target, of, met] of targetsTable) {
    const values = Array.from({ length: rounds }, (_, r) => of(r))
    const m = median(values)
    console.log(`| ${name} | ${target || "(reported)"} | ${values.map((x) => fmt(x)).join(", ")} | ${fmt(m)}x | ${target ? (met(m) ? "yes" : "no") : ""} |`)
  }

  console.log(`\nredis-benchmark -q -n ${defaultListRequests}, default test list (round 1): exit status 0 on both`)
  console.log(`| test | redis (no persistence) /s | raft-kv leader /s | raft-kv p50 ms | raft-kv / redis | raft-kv / its SET |`)
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`)
  const raftSet = defaults.raftKv.find((x) => x.test === "SET")?.rps
  for (const row of defaults.raftKv) {
    const base = defaults.redis.find((x) => x.test === row.test)?.rps ?? NaN
    console.log(`| ${row.test} | ${Math.round(base)} | ${Math.round(row.rps)} | ${row.p50} | ${fmt(row.rps / base)}x | ${fmt(row.rps / raftSet)}x |`)
  }
  const expected = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)", "LRANGE_300 (first 300 elements)", "LRANGE_500 (first 500 elements)", "LRANGE_600 (first 600 elements)", "MSET (10 keys)"]
  const missing = expected.filter((t) => !defaults.raftKv.some((x) => x.test === t))
  console.log(missing.length === 0 ? `every default test printed a row (${defaults.raftKv.length})` : `MISSING rows: ${missing.join(", ")}`)
}

// --- the memory phase ---
const memoryKey = (i) => `key:${String(i).padStart(8, "0")}` // 12 bytes
const memoryValue = (i) => `val:${String(i).padStart(8, "0")}` // 12 bytes

/** The SETs of the memory phase as one RESP file, for `redis-cli --pipe`. */
const keysFile = (count) => {
  const file = path.join(root, "keys.resp")
  const fd = fs.openSync(file, "w")
  let chunk = ""
  for (let i = 0; i < count; i++) {
    chunk += `*3\r\n$3\r\nSET\r\n$12\r\n${memoryKey(i)}\r\n$12\r\n${memoryValue(i)}\r\n`
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk)
      chunk = ""
    }
  }
  fs.writeSync(fd, chunk)
  fs.closeSync(fd)
  return file
}

const memoryPhase = async () => {
  const loadBefore = loadAverage()
  const file = keysFile(keyCount)
  const redis = startRedis(36781, ["--appendonly", "no"])
  const cluster = await startCluster("memory", "memory", 0, nodeFlags)
  await waitForPong(redis.port)
  const pids = cluster.nodes.map((n) => n.pid)
  // Let the freshly started processes settle (JIT, first heartbeats) before the baseline.
  await sleep(2000)
  const before = [...pids, redis.child.pid].map((pid) => procStatusKiB(pid) * 1024)

  process.stderr.write(`memory phase: loading ${keyCount} keys into redis-server, then through raft-kv node${cluster.leader}\n`)
  await pipeFile(redis.port, file)
  let started = Date.now()
  const replies = await pipeFile(cluster.leaderPort, file)
  const loadSeconds = (Date.now() - started) / 1000
  if (replies !== keyCount) throw new Error(`${replies} replies for ${keyCount} SETs`)

  let applied = 0
  let infos = []
  await waitFor("every node to apply the load", async () => {
    infos = await Promise.all(ids.map((i) => info(clientPort(i))))
    const indexes = infos.map((x) => Number(x.raft_applied_index))
    applied = indexes[0]
    return indexes.every((x) => x === applied && x >= keyCount)
  }, 120_000)
  const sizes = await Promise.all([...ids.map((i) => clientPort(i)), redis.port].map(async (port) => Number((await redisCli(port, "DBSIZE")).trim())))
  if (sizes.some((s) => s !== keyCount)) throw new Error(`DBSIZE ${sizes.join(", ")}, expected ${keyCount}`)
  await sleep(2000)
  const afterLoad = [...pids, redis.child.pid].map((pid) => procStatusKiB(pid) * 1024)
  process.stderr.write(`loaded; settling ${settleSeconds} s\n`)
  await sleep(settleSeconds * 1000)
  const settled = [...pids, redis.child.pid].map((pid) => procStatusKiB(pid) * 1024)
  const peak = [...pids, redis.child.pid].map((pid) => procStatusKiB(pid, "VmHWM") * 1024)
  const memory = await Promise.all(ids.map((i) => info(clientPort(i), "memory")))
  const redisSettled = settled[3]

  console.log(`\n## npm run bench -- --memory --keys ${keyCount} --settle ${settleSeconds}${nodeFlags.length > 0 ? ` --node-flags "${nodeFlags.join(" ")}"` : ""}`)
  console.log(`${machine()}; load average before ${loadBefore}, after ${loadAverage()}`)
  console.log(`${keyCount} keys (12-byte keys key:NNNNNNNN, 12-byte values) loaded with redis-cli --pipe into a plain redis-server and through raft-kv node${cluster.leader} (the leader) in ${loadSeconds.toFixed(1)} s; DBSIZE ${keyCount} everywhere, raft_applied_index ${applied} on every node, raft_term ${infos.map((x) => x.raft_term).join("/")}`)
  console.log(`| process | role | RSS before MiB | RSS 2 s after load MiB | settled RSS (${settleSeconds} s idle) MiB | peak MiB | V8 heap used / committed MiB | outside the heap MiB | settled RSS / redis-server's |`)
  console.log(`| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`)
  for (const [k, i] of ids.entries()) {
    const heap = `${mib(Number(memory[k].node_heap_used))} / ${mib(Number(memory[k].node_heap_total))}`
    console.log(`| node${i} | ${infos[k].raft_role} | ${mib(before[k])} | ${mib(afterLoad[k])} | ${mib(settled[k])} | ${mib(peak[k])} | ${heap} | ${mib(Number(memory[k].node_external))} | ${(settled[k] / redisSettled).toFixed(2)}x |`)
  }
  console.log(`| redis-server | (no persistence) | ${mib(before[3])} | ${mib(afterLoad[3])} | ${mib(settled[3])} | ${mib(peak[3])} | | | 1.00x |`)
  const worst = Math.max(...settled.slice(0, 3)) / redisSettled
  console.log(`target: settled RSS per node <= 2.5x redis-server's; worst node ${worst.toFixed(2)}x: ${worst <= 2.5 ? "met" : "not met"}`)
  for (const i of ids) {
    const lines = idleGcLines.get(`node${i}-memory`) ?? []
    const pauses = lines.map((line) => /pauses ([\d.]+ \+ [\d.]+ ms)/.exec(line)?.[1] ?? "?")
    console.log(`node${i}: ${lines.length === 0 ? "no idle GC" : `idle GC ${lines.length}x, pauses ${pauses.join(", ")}`}`)
  }
}

// --- the collection-types phase (issue 13) ---

// "set" first: SET against SET, the control row that shows what the machine's noise alone gives.
// --tests picks some of them (e.g. --tests set,lpush,rpush for an A/B of a list change).
const TYPE_TESTS = ["set", "lpush", "rpush", "lpop", "rpop", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100"].filter((test) =>
  flag("tests", test).split(",").includes(test)
)

const typesPhase = async () => {
  const loadBefore = loadAverage()
  const cluster = await startCluster(engine, "types")
  const port = clientPort(cluster.leader)
  const n = String(requests)
  const pairs = new Map(TYPE_TESTS.map((test) => [test, []]))
  const sizes = { hset: [], zadd: [] }
  // The three nodes' CPU per request: the machine's other load disturbs it far less than the rate.
  const clusterCpu = () => cluster.nodes.reduce((sum, node) => sum + cpuSeconds(node.pid), 0)
  const measured = async (argv) => {
    const before = clusterCpu()
    const row = Object.values(await benchmark(port, ["-n", n, ...argv])).at(-1)
    return { ...row, cpu: (clusterCpu() - before) / requests }
  }
  for (let round = 0; round < rounds; round++) {
    for (const test of TYPE_TESTS) {
      // The second of two runs back to back is faster (by ~10% here), so odd rounds run the
      // test first: over an even number of rounds the order cancels out of the median.
      const setFirst = round % 2 === 0
      const first = await measured(["-t", setFirst ? "set" : test])
      const second = await measured(["-t", setFirst ? test : "set"])
      const [set, row] = setFirst ? [first, second] : [second, first]
      pairs.get(test).push({ set: set.rps, rps: row.rps, setCpu: set.cpu, cpu: row.cpu })
    }
    for (const [type, big, small] of [
      ["hset", ["-r", "100000", "HSET", "bighash", "f:__rand_int__", "w"], ["-r", "10", "HSET", "smallhash", "f:__rand_int__", "w"]],
      ["zadd", ["-r", "100000", "ZADD", "bigzset", "__rand_int__", "m:__rand_int__"], ["-r", "10", "ZADD", "smallzset", "__rand_int__", "m:__rand_int__"]]
    ].filter(([type]) => TYPE_TESTS.includes(type))) {
      const large = only(await benchmark(port, ["-n", n, ...big]))
      const tiny = only(await benchmark(port, ["-n", n, ...small]))
      sizes[type].push(tiny.rps / large.rps)
    }
  }
  const fmt = (x) => x.toFixed(2)
  console.log(`\n## npm run bench -- --types --engine ${engine} --rounds ${rounds} --requests ${requests}`)
  console.log(`${machine()}; load average before ${loadBefore}, after ${loadAverage()}; redis-benchmark -c ${clients} -n ${requests}, the raft-kv leader`)
  console.log(`| test | its rate / SET's rate beside it (SET first in rounds 1, 3, ...), rounds | median | at least as fast as SET? | cluster CPU per request / SET's, rounds | median |`)
  console.log(`| --- | --- | ---: | --- | --- | ---: |`)
  for (const [test, list] of pairs) {
    const ratios = list.map((x) => x.rps / x.set)
    const costs = list.map((x) => x.cpu / x.setCpu)
    const verdict = test === "set" ? "(control: SET against SET)" : median(ratios) >= 1 ? "yes" : "no"
    console.log(`| ${test} | ${ratios.map(fmt).join(", ")} | ${fmt(median(ratios))}x | ${verdict} | ${costs.map(fmt).join(", ")} | ${fmt(median(costs))}x |`)
  }
  for (const [type, ratios] of Object.entries(sizes)) {
    if (ratios.length === 0) continue
    console.log(`| ${type.toUpperCase()} cost, 100,000 members / 10 | ${ratios.map(fmt).join(", ")} | ${fmt(median(ratios))}x | ${median(ratios) <= 2 ? "within 2x" : "beyond 2x"} |`)
  }
}

// --- what TLS and AUTH cost (issue 15) ---

const tlsCostPhase = async () => {
  const loadBefore = loadAverage()
  const secure = tlsSetup()
  const plain = await startCluster(engine, "plain")
  const tls = await startCluster(engine, "tls", TLS_OFFSET, [], secure)
  const ratios = { SET: [], GET: [] }
  for (let round = 0; round < rounds; round++) {
    const open = await benchmark(clientPort(plain.leader), ["-n", String(requests), "-t", "set,get"])
    const locked = await benchmark(secure.tlsPort(tls.leader), ["-n", String(requests), "-t", "set,get"], secure.benchArgs)
    for (const test of ["SET", "GET"]) ratios[test].push(locked[test].rps / open[test].rps)
  }
  console.log(`\n## npm run bench -- --tls-cost --engine ${engine} --rounds ${rounds} --requests ${requests}`)
  console.log(`${machine()}; load average before ${loadBefore}, after ${loadAverage()}; redis-benchmark -c ${clients}, each leader`)
  console.log(`| test | TLS + AUTH rate / plain rate, rounds | median | cost (1 - median) |`)
  console.log(`| --- | --- | ---: | ---: |`)
  for (const [test, list] of Object.entries(ratios)) {
    const m = median(list)
    console.log(`| ${test} | ${list.map((x) => x.toFixed(2)).join(", ")} | ${m.toFixed(2)}x | ${((1 - m) * 100).toFixed(0)}% |`)
  }
}

const multiCostPhase = async () => {
  const loadBefore = loadAverage()
  const cluster = await startCluster(engine, "multi")
  const port = clientPort(cluster.leader)
  const costs = []
  for (let round = 0; round < rounds; round++) {
    const set = await pipelinedClient(port, "set", requests)
    const multi = await pipelinedClient(port, "multi", requests)
    costs.push(set.rps / multi.rps)
  }
  console.log(`\n## npm run bench -- --multi-cost --engine ${engine} --rounds ${rounds} --requests ${requests}`)
  console.log(`${machine()}; load average before ${loadBefore}, after ${loadAverage()}; ${clients} connections, the leader`)
  console.log(`MULTI;SET;INCR;EXEC cost / SET cost, rounds ${costs.map((x) => x.toFixed(2)).join(", ")}: median ${median(costs).toFixed(2)}x (target <= 1.5x)`)
}

if (memoryMode) await memoryPhase()
else if (multiMode) await multiCostPhase()
else if (typesMode) await typesPhase()
else if (tlsOnlyMode) await tlsCostPhase()
else await throughputPhase()
process.exit(0)
