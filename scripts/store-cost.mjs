#!/usr/bin/env node
/**
 * The memory engine's store alone (CompactStore, no state machine): CPU µs per put of N new keys
 * shaped like one collection's members (a 9-byte collection prefix, 4 hash bytes, 8 more), in
 * random order, then per delete of all of them in key order (what the reaper does). A store of a
 * million keys spreads them over tens of MiB, so what a search reads decides its cost. Run after
 * `npm run build`:
 *
 *   node scripts/store-cost.mjs [keys, default 1000000]
 */
import * as crypto from "node:crypto"
import { CompactStore } from "../dist/src/engine/CompactStore.js"

const N = Number(process.argv[2] ?? 1_000_000)
const keys = []
for (let i = 0; i < N; i++) {
  const key = Buffer.alloc(21)
  key[0] = 0x73
  key.writeUInt32BE(7, 5)
  crypto.randomFillSync(key, 9, 4)
  key.write(`m${i}`.padEnd(8, "x").slice(0, 8), 13, "latin1")
  keys.push(key)
}
const inOrder = keys.slice().sort(Buffer.compare)
const store = new CompactStore()
const empty = Buffer.alloc(0)
const cpu = (work) => {
  const started = process.cpuUsage()
  work()
  const used = process.cpuUsage(started)
  return (used.user + used.system) / N
}
const put = cpu(() => {
  for (const key of keys) store.put(key, empty)
})
const deleted = cpu(() => {
  for (const key of inOrder) store.delete(key)
})
console.log(`${N} keys: put ${put.toFixed(2)} µs, delete in key order ${deleted.toFixed(2)} µs`)
