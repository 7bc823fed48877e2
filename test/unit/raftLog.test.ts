/**
 * The Raft log's storage (src/raft/RaftLog.ts): entries kept as bytes in append-only buffers and
 * built on demand. Every entry reads back as appended across buffer boundaries, empty and large
 * entries included; a conflicting tail is replaced without changing bytes handed out before;
 * compaction and a snapshot restore keep every later entry intact.
 */
import { describe, expect, it } from "vitest"
import { RaftLog } from "../../src/raft/RaftLog.js"
import { type Entry, EntryKind } from "../../src/raft/types.js"

const bytesOf = (index: number, term: number, size: number) => {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff
  return data
}
/** Sizes that cross the 1 MiB buffers, with empty entries and ones that get a buffer of their own. */
const sizeOf = (index: number) => (index % 97 === 0 ? 0 : index % 1013 === 0 ? 300 * 1024 + index : 40 + (index % 150))
const entry = (index: number, term: number, size = sizeOf(index)): Entry => ({
  index,
  term,
  kind: size === 0 ? EntryKind.Noop : EntryKind.Normal,
  data: bytesOf(index, term, size)
})
const same = (a: Entry | undefined, b: Entry) => {
  expect(a).toBeDefined()
  expect([a!.index, a!.term, a!.kind, a!.data.length]).toEqual([b.index, b.term, b.kind, b.data.length])
  expect(Buffer.compare(Buffer.from(a!.data), Buffer.from(b.data))).toBe(0)
}

describe("RaftLog storage", () => {
  it("reads back every entry as appended, across buffers, and hands out entries as the WAL and applier take them", () => {
    const log = new RaftLog([], 0, 0)
    const all: Array<Entry> = []
    for (let index = 1; index <= 30_000; index += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => entry(index + i, 1))
      log.append(batch)
      all.push(...batch)
    }
    expect(log.lastIndex()).toBe(30_000)
    for (const index of [1, 97, 1013, 2026, 15_000, 29_999, 30_000]) same(log.entry(index), all[index - 1])
    const unstable = log.takeUnstable()
    expect(unstable.length).toBe(30_000)
    for (let i = 0; i < unstable.length; i += 37) same(unstable[i], all[i])
    same(unstable[1012], all[1012])
    log.markPersisted(30_000, 1)
    log.commitTo(20_000)
    const committed = log.takeCommitted()
    expect(committed.map((e) => e.index)).toEqual(all.slice(0, 20_000).map((e) => e.index))
    same(committed[19_999], all[19_999])
    // A byte budget stops a slice before the entry that would pass it (but takes one at least).
    const slice = log.slice(1013, 2000, 1000, 1024)
    expect(slice.map((e) => e.index)).toEqual([1013])
    expect(log.slice(1, 100, 10).map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it("replaces a conflicting tail without changing the bytes of entries handed out before", () => {
    const log = new RaftLog([], 0, 0)
    log.append(Array.from({ length: 500 }, (_, i) => entry(i + 1, 1)))
    const handedOut = log.takeUnstable()
    const copies = handedOut.map((e) => Buffer.from(e.data))
    // The leader of term 2 has different entries from 301 on.
    const replacement = Array.from({ length: 300 }, (_, i) => entry(301 + i, 2, 64))
    expect(log.maybeAppend(300, 1, 0, replacement)).toBe(600)
    expect(log.lastIndex()).toBe(600)
    same(log.entry(300), entry(300, 1))
    same(log.entry(301), replacement[0])
    same(log.entry(600), replacement[299])
    expect(log.takeUnstable().map((e) => e.index)).toEqual(replacement.map((e) => e.index))
    handedOut.forEach((e, i) => expect(Buffer.compare(Buffer.from(e.data), copies[i])).toBe(0))
  })

  it("keeps every entry after a compaction intact, and starts over after a snapshot restore", () => {
    const log = new RaftLog([], 0, 0)
    const all = Array.from({ length: 40_000 }, (_, i) => entry(i + 1, 3))
    for (let i = 0; i < all.length; i += 1000) log.append(all.slice(i, i + 1000))
    log.takeUnstable()
    log.markPersisted(40_000, 3)
    log.commitTo(40_000)
    log.takeCommitted()
    log.compact(35_000)
    expect(log.firstIndex()).toBe(35_001)
    expect(log.term(35_000)).toBe(3)
    expect(log.entry(35_000)).toBeUndefined()
    for (let index = 35_001; index <= 40_000; index += 7) same(log.entry(index), all[index - 1])
    log.append([entry(40_001, 3)])
    same(log.entry(40_001), entry(40_001, 3))

    log.restore(50_000, 4)
    expect([log.firstIndex(), log.lastIndex(), log.term(50_000)]).toEqual([50_001, 50_000, 4])
    log.append([entry(50_001, 4), entry(50_002, 4)])
    same(log.entry(50_002), entry(50_002, 4))
  })

  it("recovers from entries given at start (a WAL replay)", () => {
    const recovered = Array.from({ length: 2000 }, (_, i) => entry(101 + i, 2))
    const log = new RaftLog(recovered, 1500, 1200, { index: 100, term: 1 })
    expect([log.firstIndex(), log.lastIndex(), log.committed, log.applied]).toEqual([101, 2100, 1500, 1200])
    same(log.entry(101), recovered[0])
    same(log.entry(2100), recovered[1999])
  })
})
