/**
 * The idle-GC policy (src/node/IdleGc.ts) decision by decision: it collects once the heap grew and
 * the node has been idle long enough, never under load, and not again until the heap grows
 * again and the minimum interval has passed.
 */
import { describe, expect, it } from "vitest"
import { collected, decide, DEFAULT_IDLE_GC_POLICY, type IdleGcPolicy, type IdleGcState, initialIdleGcState } from "../../src/node/IdleGc.js"

const MiB = 1024 * 1024
const policy: IdleGcPolicy = { ...DEFAULT_IDLE_GC_POLICY, sampleMs: 1000, quietMs: 5000, idleOperations: 10, idleCpu: 0.25, minGrowthBytes: 32 * MiB, growthRatio: 0.5, minIntervalMs: 60_000 }

/** Feed one sample a second from `start`; returns the seconds (relative to start) at which it collected. */
const run = (state: IdleGcState, start: number, samples: ReadonlyArray<{ readonly operations: number; readonly heap: number; readonly background?: boolean; readonly cpuMs?: number }>, afterCollect = (heap: number) => heap) => {
  const collections: Array<number> = []
  samples.forEach((sample, i) => {
    const now = start + (i + 1) * 1000
    const decision = decide(policy, state, { now, operations: sample.operations, cpuMs: sample.cpuMs ?? 40, background: sample.background === true, heapBytes: sample.heap })
    state = decision.state
    if (decision.collect) {
      collections.push(i + 1)
      state = collected(state, now, afterCollect(sample.heap))
    }
  })
  return { collections, state }
}

const repeat = <A>(n: number, a: A): Array<A> => Array.from({ length: n }, () => a)

describe("idle GC policy", () => {
  it("collects once the heap grew and the node has been idle for quietMs", () => {
    const start = 100_000
    const state = initialIdleGcState(start - 60_000, 40 * MiB)
    const { collections } = run(state, start, [...repeat(10, { operations: 5000, heap: 400 * MiB }), ...repeat(10, { operations: 2, heap: 400 * MiB })], () => 60 * MiB)
    // Busy for 10 s, then idle: the 5th idle sample completes 5 s of quiet.
    expect(collections).toEqual([15])
  })

  it("never collects under load, however much the heap grows", () => {
    const state = initialIdleGcState(0, 40 * MiB)
    const samples = Array.from({ length: 600 }, (_, i) => ({ operations: i % 7 === 0 ? 3 : 800, heap: (40 + i) * MiB }))
    expect(run(state, 120_000, samples).collections).toEqual([])
  })

  it("a sample with more than idleOperations restarts the quiet period", () => {
    const state = initialIdleGcState(0, 40 * MiB)
    const idle = { operations: 1, heap: 200 * MiB }
    const busy = { operations: 11, heap: 200 * MiB }
    const { collections } = run(state, 120_000, [...repeat(4, idle), busy, ...repeat(4, idle), busy, ...repeat(5, idle)])
    expect(collections).toEqual([15])
  })

  it("a busy CPU with few operations (a long KEYS, the reaper's removals) is not idle", () => {
    const state = initialIdleGcState(0, 40 * MiB)
    const keys = { operations: 1, heap: 300 * MiB, cpuMs: 700 }
    const { collections } = run(state, 120_000, [...repeat(20, keys), ...repeat(5, { operations: 1, heap: 300 * MiB, cpuMs: 250 })])
    expect(collections).toEqual([25])
  })

  it("waits for background work (a snapshot being written, garbage the reaper removes) to finish", () => {
    const state = initialIdleGcState(0, 40 * MiB)
    const writing = { operations: 0, heap: 300 * MiB, background: true }
    const { collections } = run(state, 120_000, [...repeat(12, writing), ...repeat(6, { operations: 0, heap: 400 * MiB })])
    expect(collections).toEqual([17])
  })

  it("does not collect when the heap did not grow by max(minGrowthBytes, growthRatio of the baseline)", () => {
    // Baseline 100 MiB: growth must reach 50 MiB (the ratio), not only the 32 MiB floor.
    expect(run(initialIdleGcState(0, 100 * MiB), 120_000, repeat(30, { operations: 0, heap: 140 * MiB })).collections).toEqual([])
    expect(run(initialIdleGcState(0, 100 * MiB), 120_000, repeat(30, { operations: 0, heap: 150 * MiB })).collections).toEqual([5])
    // Small baseline: the 32 MiB floor applies.
    expect(run(initialIdleGcState(0, 20 * MiB), 120_000, repeat(30, { operations: 0, heap: 50 * MiB })).collections).toEqual([])
    expect(run(initialIdleGcState(0, 20 * MiB), 120_000, repeat(30, { operations: 0, heap: 52 * MiB })).collections).toEqual([5])
  })

  it("does not fire again while idle: the baseline is the heap right after the collection", () => {
    const state = initialIdleGcState(0, 40 * MiB)
    // The collection leaves 60 MiB; idle allocation creeps the committed heap up by 0.05 MiB a second for 10 minutes.
    const samples = Array.from({ length: 600 }, (_, i) => ({ operations: 2, heap: (i < 5 ? 400 : 60 + (i - 5) * 0.05) * MiB }))
    expect(run(state, 120_000, samples, () => 60 * MiB).collections).toEqual([5])
  })

  it("waits minIntervalMs after a collection even when the heap grows back at once", () => {
    const state = initialIdleGcState(0, 40 * MiB)
    // Right after each collection the heap is back at 400 MiB (as if the collection freed nothing).
    const { collections } = run(state, 120_000, repeat(200, { operations: 0, heap: 400 * MiB }), () => 60 * MiB)
    expect(collections).toEqual([5, 65, 125, 185])
  })

  it("never collects within minIntervalMs of the start", () => {
    const { collections } = run(initialIdleGcState(120_000, 20 * MiB), 120_000, repeat(90, { operations: 0, heap: 400 * MiB }))
    expect(collections).toEqual([60])
  })
})
