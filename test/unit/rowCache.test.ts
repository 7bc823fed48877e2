/** The LevelDB engine's row cache: bounded in bytes, oldest out first, absent keys remembered. */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { makeLevelEngine } from "../../src/engine/LevelEngine.js"
import { ROW_CACHE_MAX_VALUE, RowCache } from "../../src/engine/RowCache.js"

describe("RowCache", () => {
  it("answers what it was given: a value, null for a known-absent key, undefined when it does not know", () => {
    const cache = new RowCache(1 << 20)
    cache.set("a", Buffer.from("1"))
    cache.set("b", null)
    expect(cache.get("a")).toEqual(Buffer.from("1"))
    expect(cache.get("b")).toBeNull()
    expect(cache.get("c")).toBeUndefined()
    cache.set("a", Buffer.from("2"))
    expect(cache.get("a")).toEqual(Buffer.from("2"))
    cache.delete("a")
    expect(cache.get("a")).toBeUndefined()
    cache.clear()
    expect(cache.size).toBe(0)
  })

  it("drops exactly the oldest entries through deletes, keys set again (which become the newest) and clears", () => {
    // Keys and values of one size, so every entry costs the same and the cache holds a fixed number.
    const cache = new RowCache(20_000)
    const keyOf = (n: number) => `key${String(n).padStart(5, "0")}`
    for (let n = 0; cache.size === n; n++) cache.set(keyOf(n), Buffer.alloc(8))
    const capacity = cache.size
    cache.clear()
    let order: Array<string> = []
    let seed = 5
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    for (let step = 0; step < 20_000; step++) {
      const key = keyOf(next() % 300)
      const roll = next() % 100
      if (roll < 70) {
        cache.set(key, Buffer.alloc(8, step))
        order = order.filter((k) => k !== key).concat(key)
        if (order.length > capacity) order = order.slice(order.length - capacity)
      } else if (roll < 99) {
        cache.delete(key)
        order = order.filter((k) => k !== key)
      } else {
        cache.clear()
        order = []
      }
      if (step % 97 === 0) for (let n = 0; n < 300; n++) expect(cache.get(keyOf(n)) !== undefined, keyOf(n)).toBe(order.includes(keyOf(n)))
    }
    expect(cache.size).toBe(order.length)
  })

  it("stays within its bytes by dropping the oldest entries first", () => {
    const cache = new RowCache(10_000)
    for (let i = 0; i < 1000; i++) cache.set(`key${i}`, Buffer.alloc(100))
    expect(cache.size).toBeGreaterThan(10)
    expect(cache.size).toBeLessThan(100)
    expect(cache.get("key999")).toBeDefined()
    expect(cache.get("key0")).toBeUndefined()
  })

  it("does not keep a value larger than its limit, and forgets the smaller one it replaces", () => {
    const cache = new RowCache(1 << 20)
    cache.set("k", Buffer.from("small"))
    cache.set("k", Buffer.alloc(ROW_CACHE_MAX_VALUE + 1))
    expect(cache.get("k")).toBeUndefined()
  })
})

describe("the LevelDB engine's row cache", () => {
  it("holds what was read synchronously and what was written; a delete updates only a key it holds", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-rowcache-"))
    const cache = new RowCache(1 << 20)
    const id = (key: string) => Buffer.from(key).toString("latin1")
    try {
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const engine = yield* makeLevelEngine(dir, cache)
            const key = (name: string) => Buffer.from(name)
            // Written values are cached as copies of their own: the caller may reuse its buffer.
            const reused = Buffer.from("1")
            yield* engine.write([{ type: "put", key: key("hot"), value: reused }, { type: "put", key: key("cold"), value: Buffer.from("x") }], 1)
            reused.fill(0)
            expect(cache.get(id("hot"))).toEqual(Buffer.from("1"))
            expect(engine.getNow!(key("absent"))).toBeUndefined()
            expect(cache.get(id("absent"))).toBeNull()
            // The reaper's deletes of keys nobody read stay out; a cached key deleted is known absent.
            yield* engine.write(
              [
                { type: "put", key: key("absent"), value: Buffer.from("now here") },
                { type: "del", key: key("never read") },
                { type: "del", key: key("cold") }
              ],
              2
            )
            expect(cache.get(id("absent"))).toEqual(Buffer.from("now here"))
            expect(cache.get(id("never read"))).toBeUndefined()
            expect(cache.get(id("cold"))).toBeNull()
            expect(cache.size).toBe(3)
          })
        )
      )
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
