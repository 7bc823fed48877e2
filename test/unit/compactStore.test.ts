/**
 * The memory engine's CompactStore against a reference model (a Map and Buffer.compare order):
 * random puts, overwrites, deletes and range scans, with enough volume that slabs fill, dead
 * slabs are dropped and mostly-dead ones compacted, records of their own slab come and go, and
 * the hash tables grow and shrink. Views taken along the way must keep reading what was live
 * when they were taken. SortedIds (the key order) on its own against a sorted array, through
 * splits and merges of its blocks.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import { CompactStore, Record, readRecord, SMALL_VALUE_BYTES, type StoreView } from "../../src/engine/CompactStore.js"
import { abbreviate, SortedIds } from "../../src/engine/SortedIds.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
/** A value's fingerprint (values go up to 260 KiB: compared by digest, not as hex). */
const digest = (bytes: Uint8Array) => `${bytes.length}:${createHash("sha1").update(bytes).digest("hex")}`

/** A deterministic pseudo-random source. */
const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed >>> 8
}

const viewPairs = (view: StoreView) => {
  const r = new Record()
  const pairs = new Map<string, string>()
  for (let i = 0; i < view.addrs.length; i++) {
    readRecord(r, view, i)
    pairs.set(hex(r.key()), digest(r.buf.subarray(r.valueStart, r.valueStart + r.valueLength)))
  }
  return pairs
}

const scanAll = (store: CompactStore, low: Buffer | undefined, high: Buffer | undefined, reverse: boolean, page: number) => {
  const out: Array<readonly [Buffer, Buffer]> = []
  let after: Buffer | undefined
  for (;;) {
    const batch: Array<readonly [Buffer, Buffer]> = []
    const done = store.scan(low, high, after, reverse, page, batch)
    out.push(...batch)
    if (batch.length > 0) after = batch[batch.length - 1][0]
    if (done || batch.length === 0) return out
  }
}

describe("CompactStore", () => {
  it("agrees with a reference map through random writes that fill, drop and compact slabs", () => {
    const next = prng(7)
    const store = new CompactStore()
    const model = new Map<string, Buffer>()
    const keyOf = (n: number) => Buffer.from(`k${n % 3 === 0 ? "\u00ff" : ""}${n}`, "latin1")
    const valueOf = () => {
      const kind = next() % 1000
      // Mostly small, some above the copy threshold, a few large enough for a slab of their own.
      const size = kind < 800 ? next() % 40 : kind < 997 ? SMALL_VALUE_BYTES + (next() % 2000) : 256 * 1024 + (next() % 4096)
      return Buffer.alloc(size, next() & 0xff)
    }
    const views: Array<{ view: StoreView; expected: Map<string, string> }> = []
    for (let round = 0; round < 60; round++) {
      // A phase of growth, then one of churn (overwrites and deletes over the same key space).
      const space = round < 20 ? 2000 + round * 1500 : 30_000
      for (let i = 0; i < 3000; i++) {
        const key = keyOf(next() % space)
        const op = next() % 10
        if (op < (round < 20 ? 9 : 5)) {
          const value = valueOf()
          store.put(key, value)
          model.set(hex(key), value)
        } else {
          const deleted = store.delete(key)
          if (deleted !== model.delete(hex(key))) expect.fail(`delete ${hex(key)} returned ${deleted}`)
        }
        if (i % 100 === 0) store.compact()
      }
      expect(store.size).toBe(model.size)
      for (let i = 0; i < 200; i++) {
        const key = keyOf(next() % space)
        const value = store.get(key)
        const expected = model.get(hex(key))
        expect(value === undefined ? undefined : digest(value)).toBe(expected === undefined ? undefined : digest(expected))
      }
      if (round % 10 === 0) views.push({ view: store.view(), expected: new Map([...model].map(([k, v]) => [k, digest(v)])) })
    }
    // Every pair, in order and in reverse, in pages, and a bounded range.
    const sorted = [...model.keys()].map((k) => Buffer.from(k, "hex")).sort(Buffer.compare)
    expect(scanAll(store, undefined, undefined, false, 777).map(([k]) => hex(k))).toEqual(sorted.map(hex))
    expect(scanAll(store, undefined, undefined, true, 1000).map(([k]) => hex(k))).toEqual([...sorted].reverse().map(hex))
    const low = Buffer.from("k2", "latin1")
    const high = Buffer.from("k5", "latin1")
    const inside = sorted.filter((k) => Buffer.compare(k, low) >= 0 && Buffer.compare(k, high) < 0)
    expect(scanAll(store, low, high, false, 100).map(([k]) => hex(k))).toEqual(inside.map(hex))
    expect(scanAll(store, low, high, true, 100).map(([k]) => hex(k))).toEqual([...inside].reverse().map(hex))
    for (const [key, value] of scanAll(store, low, high, false, 5000)) expect(digest(value)).toBe(digest(model.get(hex(key))!))
    // Views still read the state they were taken at, after all the churn and compaction since.
    for (const { view, expected } of views) expect(viewPairs(view)).toEqual(expected)

    // Delete everything: the tables shrink back and the store is empty.
    for (const key of sorted) expect(store.delete(key)).toBe(true)
    store.compact()
    expect(store.size).toBe(0)
    expect(scanAll(store, undefined, undefined, false, 10)).toEqual([])
    store.put(Buffer.from("again"), Buffer.from("v"))
    expect(hex(store.get(Buffer.from("again"))!)).toBe(hex(Buffer.from("v")))
  })

  it("returns small values as copies and larger ones as stable views", () => {
    const store = new CompactStore()
    store.put(Buffer.from("small"), Buffer.alloc(SMALL_VALUE_BYTES, 1))
    store.put(Buffer.from("large"), Buffer.alloc(SMALL_VALUE_BYTES + 1, 2))
    const small = store.get(Buffer.from("small"))!
    small[0] = 9
    expect(store.get(Buffer.from("small"))![0]).toBe(1)
    const large = store.get(Buffer.from("large"))!
    // Overwritten and compacted away: the view keeps the bytes it was given.
    store.put(Buffer.from("large"), Buffer.alloc(10, 3))
    for (let i = 0; i < 40_000; i++) store.put(Buffer.from("churn"), Buffer.alloc(30, i & 0xff))
    store.compact()
    expect(hex(large)).toBe(hex(Buffer.alloc(SMALL_VALUE_BYTES + 1, 2)))
    expect(hex(store.get(Buffer.from("large"))!)).toBe(hex(Buffer.alloc(10, 3)))
  })
})

describe("SortedIds", () => {
  /** Ids that stand for keys: the key of id i is keys[i]. */
  const overKeys = (keys: ReadonlyArray<Uint8Array>) =>
    new SortedIds(
      (id, key) => Buffer.compare(keys[id], key),
      (id) => keys[id].slice(),
      (id, offset) => abbreviate(keys[id], offset)
    )

  /**
   * Keys like the engine's: a few families, long shared prefixes (a collection's members), and
   * runs that share more than the 4 bytes of an abbreviation, of different lengths; key `n` is a
   * function of the number n, so the test can name any key.
   */
  const keyOf = (n: number): Uint8Array => {
    const family = ["m", "s", "sv"][n % 3]
    const shared = n % 5 === 0 ? "same-four-bytes-and-more:" : ""
    return Buffer.from(`${family}:collection-7:${shared}${(n >>> 3).toString(36)}`, "latin1")
  }

  it("keeps ids in key order through inserts and deletes that split and merge blocks, and walks from any key", () => {
    const next = prng(11)
    // Ids stand for keys: the key of id i is keys[i] (keyOf of a number).
    const keys: Array<Uint8Array> = []
    const ids = overKeys(keys)
    const insert = (id: number) => ids.insert(id, keys[id])
    const remove = (id: number) => ids.delete(id, keys[id])
    const live: Array<number> = []
    const used = new Set<string>()
    const sorted = () => [...live].sort((a, b) => Buffer.compare(keys[a], keys[b]))
    const hex = (id: number) => Buffer.from(keys[id]).toString("hex")
    /** The first index of `order` whose key is at or after `from`. */
    const firstAtOrAfter = (order: ReadonlyArray<number>, from: Uint8Array) => {
      let lo = 0
      let hi = order.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (Buffer.compare(keys[order[mid]], from) >= 0) hi = mid
        else lo = mid + 1
      }
      return lo
    }
    for (let round = 0; round < 40; round++) {
      const inserting = round < 15 || round % 3 !== 0
      for (let i = 0; i < 2000; i++) {
        if (inserting ? next() % 4 !== 0 : next() % 4 === 0) {
          let key = keyOf(next() % 4_000_000)
          while (used.has(Buffer.from(key).toString("hex"))) key = keyOf(next() % 4_000_000)
          const id = keys.push(key) - 1
          used.add(hex(id))
          insert(id)
          live.push(id)
        } else if (live.length > 0) {
          const at = next() % live.length
          const id = live[at]
          expect(remove(id)).toBe(true)
          live[at] = live[live.length - 1]
          live.pop()
          used.delete(hex(id))
        }
      }
      expect(ids.size).toBe(live.length)
      const expected = sorted()
      expect(ids.toArray()).toEqual(expected)
      for (let k = 0; k < 40; k++) {
        const from = keyOf(next() % 4_000_000)
        const start = firstAtOrAfter(expected, from)
        const forward: Array<number> = []
        ids.walk(from, false, (id) => forward.push(id) < 25)
        expect(forward).toEqual(expected.slice(start, start + 25))
        const backward: Array<number> = []
        ids.walk(from, true, (id) => backward.push(id) < 25)
        expect(backward).toEqual(expected.slice(Math.max(0, start - 25), start).reverse())
      }
    }
    // A missing id is not deleted, also where the last delete left off (the reaper's path: deletes in key order).
    let missing = 0
    while (used.has(Buffer.from(keyOf(missing)).toString("hex"))) missing++
    expect(remove(keys.push(keyOf(missing)) - 1)).toBe(false)
    const inOrder = sorted()
    const firstHalf = inOrder.slice(0, inOrder.length >> 1)
    for (const id of firstHalf) expect(remove(id)).toBe(true)
    expect(remove(firstHalf[firstHalf.length - 1])).toBe(false)
    expect(ids.toArray()).toEqual(inOrder.slice(firstHalf.length))
    for (const id of inOrder.slice(firstHalf.length)) expect(remove(id)).toBe(true)
    expect(ids.size).toBe(0)
    const none: Array<number> = []
    ids.walk(undefined, false, (id) => none.push(id) > 0)
    ids.walk(undefined, true, (id) => none.push(id) > 0)
    expect(none).toEqual([])
  })

  it("merges a block of short shared prefix with one of long shared prefix, and still finds every key", () => {
    const stored: Array<Uint8Array> = []
    const ids = overKeys(stored)
    const add = (key: string) => {
      const bytes = Buffer.from(key)
      ids.insert(stored.push(bytes) - 1, bytes)
    }
    // In ascending order: splits leave one block of "a:" keys and blocks of keys sharing 30 bytes.
    for (let i = 0; i < 256; i++) add(`a:${String(i).padStart(3, "0")}`)
    for (let i = 0; i < 600; i++) add(`b:a-long-prefix-shared-by-all:${String(i).padStart(3, "0")}`)
    // Deleting most "a:" keys merges their block with the next one.
    for (let id = 0; id < 200; id++) expect(ids.delete(id, stored[id])).toBe(true)
    const live = stored.map((_, id) => id).filter((id) => id >= 200)
    expect(ids.toArray()).toEqual(live)
    for (const id of live) {
      const found: Array<number> = []
      ids.walk(stored[id], false, (other) => found.push(other) < 1)
      expect(found).toEqual([id])
    }
    for (let i = 0; i < 600; i += 7) add(`b:a-long-prefix-shared-by-all:${String(i).padStart(3, "0")}+`)
    expect(ids.toArray()).toEqual(stored.map((_, id) => id).filter((id) => id >= 200).sort((a, b) => Buffer.compare(stored[a], stored[b])))
  })

  it("orders keys inserted in ascending and descending runs (list pushes) and keys that are prefixes of others", () => {
    const stored: Array<Uint8Array> = []
    const ids = overKeys(stored)
    const add = (key: Uint8Array) => ids.insert(stored.push(key) - 1, key)
    // RPUSH-like ascending positions, LPUSH-like descending ones, then each key's own prefixes.
    for (let i = 0; i < 3000; i++) add(Buffer.from(`s:list:${String(1_000_000 + i)}`))
    for (let i = 0; i < 3000; i++) add(Buffer.from(`s:list:${String(999_999 - i).padStart(7, "0")}`))
    for (let i = 1; i < "s:list:1000000".length; i++) add(Buffer.from("s:list:1000000".slice(0, i)))
    const expected = stored.map((_, id) => id).sort((a, b) => Buffer.compare(stored[a], stored[b]))
    expect(ids.toArray()).toEqual(expected)
    // From just after each key (often between two blocks, sharing less of the next block's prefix
    // than its keys do): the next key; backwards from each key: the one before.
    const firstFrom = (from: Uint8Array, reverse: boolean) => {
      let found: number | undefined
      ids.walk(from, reverse, (id) => {
        found = id
        return false
      })
      return found
    }
    expected.forEach((id, i) => {
      expect(firstFrom(Buffer.concat([stored[id], Buffer.of(0)]), false)).toBe(expected[i + 1])
      expect(firstFrom(stored[id], true)).toBe(expected[i - 1])
    })
    for (const id of expected.filter((_, i) => i % 2 === 0)) expect(ids.delete(id, stored[id])).toBe(true)
    expect(ids.toArray()).toEqual(expected.filter((_, i) => i % 2 === 1))
  })
})
