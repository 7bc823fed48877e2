#!/usr/bin/env node
/**
 * What the state machine alone costs per command: redis-benchmark's collection tests and SET as
 * redis-benchmark sends them (no -r: one key, one element), applied in batches of 50 entries
 * (what a loaded leader's applier takes per turn) straight to a StateMachine over an engine,
 * without Raft, sockets or fsync. CPU µs per command (process.cpuUsage), each test 20,000
 * commands, three rounds (the first warms the JIT); then GET and LRANGE 0 99 (of a list of 100
 * elements or more) served as reads. Run after `npm run build`:
 *
 *   node scripts/apply-cost.mjs [memory|level] [set,lpush,...]   (the second: only these tests, no reads)
 */
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StateMachine } from "../dist/src/commands/StateMachine.js"
import { KvEngine } from "../dist/src/engine/KvEngine.js"
import { LevelEngine } from "../dist/src/engine/LevelEngine.js"
import { MemoryEngine } from "../dist/src/engine/MemoryEngine.js"

const engineName = process.argv[2] ?? "memory"
const only = process.argv[3]?.split(",")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-apply-cost-"))
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
const layer = engineName === "level" ? LevelEngine.layer(path.join(dir, "db")) : MemoryEngine.layer

const TESTS = {
  set: ["SET", "key:000000000000", "xxx"],
  lpush: ["LPUSH", "mylist", "xxx"],
  rpush: ["RPUSH", "mylist", "xxx"],
  lpop: ["LPOP", "mylist"],
  rpop: ["RPOP", "mylist"],
  sadd: ["SADD", "myset", "element:000000000000"],
  hset: ["HSET", "myhash", "element:000000000000", "xxx"],
  spop: ["SPOP", "myset"],
  zadd: ["ZADD", "myzset", "0", "element:000000000000"],
  zpopmin: ["ZPOPMIN", "myzset"]
}
const COMMANDS = 20000
const BATCH = 50

const scope = await Effect.runPromise(Scope.make())
const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
const machine = await Effect.runPromise(StateMachine.load(context.unsafeMap.get(KvEngine.key)))
let index = 0
const costOf = async (argv) => {
  const args = argv.map((arg) => Buffer.from(arg))
  const start = process.cpuUsage()
  for (let done = 0; done < COMMANDS; done += BATCH) {
    const entries = []
    for (let i = 0; i < BATCH; i++) {
      index++
      entries.push({ index, command: { origin: 1, seq: index, time: Date.now(), payload: { kind: "command", db: 0, argv: args } } })
    }
    await Effect.runPromise(machine.apply(entries, index))
  }
  const used = process.cpuUsage(start)
  return (used.user + used.system) / COMMANDS
}
/** The same for a read served by the state machine (as the leader serves one after ReadIndex). */
const readCostOf = async (argv) => {
  const args = argv.map((arg) => Buffer.from(arg))
  const start = process.cpuUsage()
  for (let done = 0; done < COMMANDS; done += BATCH) {
    const ks = machine.readContext(Date.now())
    for (let i = 0; i < BATCH; i++) {
      const reply = machine.read(ks, { kind: "command", db: 0, argv: args })
      if (Effect.isEffect(reply)) await Effect.runPromise(reply)
    }
  }
  const used = process.cpuUsage(start)
  return (used.user + used.system) / COMMANDS
}
const READS = { get: ["GET", "key:000000000000"], lrange_100: ["LRANGE", "mylist", "0", "99"] }

console.log(`engine ${engineName}, ${COMMANDS} commands per test in batches of ${BATCH}, CPU µs per command`)
for (let round = 1; round <= 3; round++) {
  const costs = []
  for (const [name, argv] of Object.entries(TESTS).filter(([name]) => only === undefined || only.includes(name))) costs.push(`${name} ${(await costOf(argv)).toFixed(1)}`)
  // redis-benchmark's LRANGE_100 reads a list its LPUSH test left long.
  const push = ["RPUSH", "mylist", ...Array.from({ length: 100 }, () => "xxx")].map((arg) => Buffer.from(arg))
  index++
  await Effect.runPromise(machine.apply([{ index, command: { origin: 1, seq: index, time: Date.now(), payload: { kind: "command", db: 0, argv: push } } }], index))
  if (only === undefined) for (const [name, argv] of Object.entries(READS)) costs.push(`${name} ${(await readCostOf(argv)).toFixed(1)}`)
  console.log(`round ${round}: ${costs.join(", ")}`)
}
await Effect.runPromise(Scope.close(scope, Exit.void))
