#!/usr/bin/env node
/**
 * What building and reclaiming a big collection costs the state machine alone (no Raft, sockets
 * or fsync): SADD of MEMBERS members, 2,500 per command, then DEL and the reaper's collect
 * entries (COLLECT_BATCH members each) until none is left. CPU µs per member for each phase.
 * Run after `npm run build`:
 *
 *   node scripts/collect-cost.mjs [memory|level] [members]
 */
import { Chunk, Effect, Layer, Scope, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StateMachine } from "../dist/src/commands/StateMachine.js"
import { KvEngine } from "../dist/src/engine/KvEngine.js"
import { LevelEngine } from "../dist/src/engine/LevelEngine.js"
import { MemoryEngine } from "../dist/src/engine/MemoryEngine.js"
import { Family, familyPrefix, readU64 } from "../dist/src/commands/keyspace/layout.js"
import { COLLECT_BATCH } from "../dist/src/node/Reaper.js"

const engineName = process.argv[2] ?? "memory"
const MEMBERS = Number(process.argv[3] ?? 1_000_000)
const PER_COMMAND = 2500
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-collect-cost-"))
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
const layer = engineName === "level" ? LevelEngine.layer(path.join(dir, "db")) : MemoryEngine.layer

const scope = await Effect.runPromise(Scope.make())
const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
const engine = context.unsafeMap.get(KvEngine.key)
const machine = await Effect.runPromise(StateMachine.load(engine))
let index = 0
const apply = async (payload) => {
  index++
  const entry = { index, command: { origin: 1, seq: index, time: Date.now(), payload } }
  return (await Effect.runPromise(machine.apply([entry], index))).replies[0]
}
const cpu = async (work) => {
  const start = process.cpuUsage()
  const wall = performance.now()
  await work()
  const used = process.cpuUsage(start)
  return { us: (used.user + used.system) / MEMBERS, ms: Math.round(performance.now() - wall) }
}

console.log(`engine ${engineName}, ${MEMBERS} members, CPU µs per member (wall ms)`)
for (let round = 1; round <= 3; round++) {
  const key = `big:${round}`
  const commands = []
  for (let from = 0; from < MEMBERS; from += PER_COMMAND) {
    const argv = ["SADD", key]
    for (let i = from; i < Math.min(MEMBERS, from + PER_COMMAND); i++) argv.push(`m${i}`)
    commands.push(argv.map((arg) => Buffer.from(arg)))
  }
  const build = await cpu(async () => {
    for (const argv of commands) await apply({ kind: "command", db: 0, argv })
  })
  await apply({ kind: "command", db: 0, argv: ["DEL", key].map((arg) => Buffer.from(arg)) })
  let entries = 0
  const collect = await cpu(async () => {
    for (;;) {
      const [garbage] = await Effect.runPromise(Effect.map(Stream.runCollect(engine.iterate({ prefix: familyPrefix(Family.Garbage), limit: 1 })), Chunk.toReadonlyArray))
      if (garbage === undefined) break
      await apply({ kind: "collect", target: "version", id: readU64(garbage[0], 1), limit: COLLECT_BATCH })
      entries++
    }
  })
  console.log(`round ${round}: build ${build.us.toFixed(2)} µs (${build.ms} ms), collect ${collect.us.toFixed(2)} µs (${collect.ms} ms, ${entries} entries)`)
}
