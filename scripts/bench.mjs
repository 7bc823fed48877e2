#!/usr/bin/env node
/**
 * Side-by-side benchmark: the real redis-benchmark against a fresh 3-node raft-kv cluster (leader
 * and a follower) and, in the same run and interleaved, against a plain redis-server (no
 * persistence) and a durable one (appendfsync always). Prints requests/s, p50/p99 and ratios.
 *
 *   npm run bench -- [--engine memory|level] [--rounds 3] [--requests 100000]
 *
 * Everything it starts (nodes, redis-servers, temp dirs) is stopped and removed on exit.
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)
const args = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const engine = flag("engine", "memory")
const rounds = Number(flag("rounds", "3"))
const requests = Number(flag("requests", "100000"))
const clients = 50

const root = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-bench-"))
const children = []
const cleanup = () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  fs.rmSync(root, { recursive: true, force: true })
}
process.on("exit", cleanup)
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130))

const startProcess = (command, argv, name) => {
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] })
  let log = ""
  child.stdout.on("data", (d) => (log = (log + d).slice(-4000)))
  child.stderr.on("data", (d) => (log = (log + d).slice(-4000)))
  child.on("exit", (code) => {
    if (code !== null && code !== 0) process.stderr.write(`${name} exited with ${code}:\n${log}\n`)
  })
  children.push(child)
  return child
}

const redisCli = async (port, ...argv) => (await run("redis-cli", ["-p", String(port), ...argv], { timeout: 5000 })).stdout

const waitFor = async (what, check, timeoutMs = 20000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if (await check()) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const info = async (port) =>
  Object.fromEntries(
    (await redisCli(port, "INFO", "raft"))
      .split(/\r?\n/)
      .filter((line) => line.includes(":"))
      .map((line) => line.split(":"))
  )

// --- the cluster ---
const clientPort = (i) => 26790 + i
const peerPort = (i) => 26890 + i
const cluster = [1, 2, 3].map((i) => `127.0.0.1:${peerPort(i)}`).join(",")
const nodes = [1, 2, 3].map((i) =>
  startProcess(
    process.execPath,
    ["dist/src/main.js", "--id", String(i), "--cluster", cluster, "--port", String(clientPort(i)),
      "--data-dir", path.join(root, `node${i}`), "--engine", engine],
    `node${i}`
  )
)
let leader = 0
await waitFor("a leader", async () => {
  const roles = await Promise.all([1, 2, 3].map(async (i) => (await info(clientPort(i))).raft_role))
  leader = roles.indexOf("leader") + 1
  return leader > 0
})
const follower = leader === 1 ? 2 : 1

// --- the baselines ---
const startRedis = (port, extra) => {
  const dir = path.join(root, `redis-${port}`)
  fs.mkdirSync(dir)
  startProcess("redis-server", ["--port", String(port), "--dir", dir, "--save", "", ...extra], `redis-${port}`)
  return port
}
const plainRedis = startRedis(26781, ["--appendonly", "no"])
const durableRedis = startRedis(26782, ["--appendonly", "yes", "--appendfsync", "always"])
await waitFor("redis-servers", async () => (await redisCli(plainRedis, "PING")).trim() === "PONG" && (await redisCli(durableRedis, "PING")).trim() === "PONG")

const targets = [
  ["redis (no persistence)", plainRedis],
  ["redis (appendfsync always)", durableRedis],
  [`raft-kv leader (${engine})`, clientPort(leader)],
  [`raft-kv follower (${engine})`, clientPort(follower)]
]
const scenarios = [
  ["-c 50", []],
  ["-c 50 -P 16", ["-P", "16"]],
  ["-c 50 -d 1024", ["-d", "1024"]]
]

/** One redis-benchmark run; returns { SET: {rps, p50, p99}, GET: {...} } from its CSV output. */
const benchmark = async (port, extra) => {
  const { stdout } = await run(
    "redis-benchmark",
    ["-p", String(port), "-t", "set,get", "-n", String(requests), "-c", String(clients), "--csv", ...extra],
    { timeout: 300_000 }
  )
  const result = {}
  for (const line of stdout.trim().split("\n").slice(1)) {
    const [test, rps, , , p50, , p99] = line.replaceAll('"', "").split(",")
    result[test] = { rps: Number(rps), p50: Number(p50), p99: Number(p99) }
  }
  return result
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const results = new Map()
for (let round = 1; round <= rounds; round++) {
  for (const [scenario, extra] of scenarios) {
    for (const [name, port] of targets) {
      const r = await benchmark(port, extra)
      for (const test of ["SET", "GET"]) {
        const key = `${scenario}|${test}|${name}`
        if (!results.has(key)) results.set(key, [])
        results.get(key).push(r[test])
      }
      process.stderr.write(`round ${round}/${rounds} ${scenario} ${name}: SET ${r.SET?.rps} GET ${r.GET?.rps}\n`)
    }
  }
}

const rss = (pid) => {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS"))
    return line ? `${Math.round(Number(line.split(/\s+/)[1]) / 1024)} MiB` : "?"
  } catch {
    return "?"
  }
}

console.log(`\nredis-benchmark -t set,get -n ${requests} -c ${clients} (median of ${rounds} interleaved rounds), engine ${engine}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ""}`)
console.log(`| scenario | test | target | requests/s | p50 ms | p99 ms | vs plain redis | vs durable redis |`)
console.log(`| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |`)
for (const [scenario] of scenarios) {
  for (const test of ["SET", "GET"]) {
    const med = (name) => {
      const list = results.get(`${scenario}|${test}|${name}`) ?? []
      return { rps: median(list.map((x) => x.rps)), p50: median(list.map((x) => x.p50)), p99: median(list.map((x) => x.p99)) }
    }
    const plain = med(targets[0][0]).rps
    const durable = med(targets[1][0]).rps
    for (const [name] of targets) {
      const m = med(name)
      console.log(`| ${scenario} | ${test} | ${name} | ${Math.round(m.rps)} | ${m.p50} | ${m.p99} | ${(m.rps / plain).toFixed(2)}x | ${(m.rps / durable).toFixed(2)}x |`)
    }
  }
}
console.log(`\nresident memory after the run: ${nodes.map((n, i) => `node${i + 1} ${rss(n.pid)}`).join(", ")}`)
process.exit(0)
