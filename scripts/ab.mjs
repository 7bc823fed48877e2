#!/usr/bin/env node
/**
 * A/B of two raft-kv variants in the same minutes: a fresh 3-node cluster per variant and pair,
 * A and B alternated, redis-benchmark against the leader, and the CPU time the three node
 * processes used per request (utime + stime from /proc), which these shared machines disturb
 * far less than requests/s.
 *
 *   node scripts/ab.mjs [--pairs 3] [--a "VAR=x"] [--b "VAR=y"] [--a-main dist/src/main.js] [--b-main ...]
 *                       [--tests set,get] [--set-requests 20000] [--get-requests 50000] [--node-args "--read-mode lease"]
 *
 * A test with spaces in it is a custom command, run with -r 100000 and --set-requests requests:
 * --tests "SET k:__rand_int__ xxx;SET k:__rand_int__ xxx EX 100" (tests separated by ';' then;
 * each test once: results are keyed by the test). Tests run in the order given, on one cluster.
 *
 * A variant is an environment (comma-separated VAR=value) and/or a main.js (e.g. a build of
 * another commit). Host: $RAFT_KV_TEST_HOST or 127.0.0.1. Every process it starts is stopped by
 * PID and its temp dirs removed on exit.
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)
const args = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const host = flag("host", process.env.RAFT_KV_TEST_HOST ?? "127.0.0.1")
const pairs = Number(flag("pairs", "3"))
const testList = flag("tests", "set,get")
const tests = testList.includes(";") || testList.includes(" ") ? testList.split(";") : testList.split(",")
const isCustom = (test) => test.includes(" ")
const requestsFor = (test) => (test === "get" ? flag("get-requests", "50000") : flag("set-requests", "20000"))
const nodeArgs = flag("node-args", "").split(" ").filter((x) => x !== "")
const variant = (name) => ({
  name,
  env: Object.fromEntries(flag(name, "").split(",").filter((x) => x.includes("=")).map((x) => x.split("="))),
  main: flag(`${name}-main`, "dist/src/main.js")
})
const variants = [variant("a"), variant("b")]

const root = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-ab-"))
const children = []
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  fs.rmSync(root, { recursive: true, force: true })
})
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => process.exit(130))

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const cli = async (port, ...argv) => {
  const p = execFileAsync("redis-cli", ["-h", host, "-p", String(port), ...argv], { timeout: 5000 })
  children.push(p.child)
  return (await p).stdout
}
/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
const cpuSeconds = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100 // clock ticks (getconf CLK_TCK: 100 on Linux)
}

const BASE = 36900
const runVariant = async (v, tag) => {
  const ids = [1, 2, 3]
  const cluster = ids.map((i) => `${host}:${BASE + 10 + i}`).join(",")
  const nodes = ids.map((i) => {
    const child = spawn(process.execPath, [v.main, "--id", String(i), "--cluster", cluster, "--host", host, "--port", String(BASE + i),
      "--data-dir", path.join(root, tag, `n${i}`), ...nodeArgs], { stdio: "ignore", env: { ...process.env, ...v.env } })
    children.push(child)
    return child
  })
  let leader = 0
  for (const deadline = Date.now() + 30000; leader === 0; ) {
    if (Date.now() > deadline) throw new Error("no leader")
    await sleep(200)
    for (const i of ids) {
      try {
        if ((await cli(BASE + i, "INFO", "raft")).includes("raft_role:leader")) leader = i
      } catch {}
    }
  }
  await cli(BASE + leader, "SET", "key:__rand_int__", "xxx")
  const result = {}
  for (const test of tests) {
    const before = nodes.map((n) => cpuSeconds(n.pid))
    const what = isCustom(test) ? ["-r", "100000", ...test.split(" ")] : ["-t", test]
    const p = execFileAsync("redis-benchmark", ["-h", host, "-p", String(BASE + leader), "-n", requestsFor(test), "-c", "50", "--csv", ...what], { timeout: 600000 })
    children.push(p.child)
    const { stdout } = await p
    const after = nodes.map((n) => cpuSeconds(n.pid))
    const [, rps, , , p50] = stdout.trim().split("\n")[1].replaceAll('"', "").split(",")
    const cpu = after.reduce((s, x, k) => s + x - before[k], 0)
    result[test] = { rps: Number(rps), p50: Number(p50), cpuUs: (cpu / Number(requestsFor(test))) * 1e6 }
  }
  for (const n of nodes) n.kill("SIGKILL")
  await sleep(500)
  return result
}

const results = { a: [], b: [] }
console.log(`A = ${JSON.stringify(variants[0])}, B = ${JSON.stringify(variants[1])}, node args ${JSON.stringify(nodeArgs)}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(", ")}`)
for (let pair = 1; pair <= pairs; pair++) {
  for (const v of pair % 2 === 1 ? variants : [...variants].reverse()) {
    const r = await runVariant(v, `${v.name}${pair}`)
    results[v.name].push(r)
    console.log(`pair ${pair} ${v.name.toUpperCase()}: ${tests.map((t) => `${isCustom(t) ? t : t.toUpperCase()} ${Math.round(r[t].rps)}/s p50 ${r[t].p50} ms, ${Math.round(r[t].cpuUs)} µs CPU/request`).join("; ")}`)
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
for (const t of tests) {
  for (const v of variants) {
    const list = results[v.name]
    console.log(`${isCustom(t) ? t : t.toUpperCase()} ${v.name.toUpperCase()}: median ${Math.round(median(list.map((r) => r[t].rps)))}/s, p50 ${median(list.map((r) => r[t].p50))} ms, ${Math.round(median(list.map((r) => r[t].cpuUs)))} µs CPU/request`)
  }
}
console.log(`load average after ${os.loadavg().map((x) => x.toFixed(2)).join(", ")}`)
process.exit(0)
