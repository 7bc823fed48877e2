/** The LevelDB engine's row cache: bounded in bytes, oldest out first, absent keys remembered. */
import { describe, expect, it } from "vitest"
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
