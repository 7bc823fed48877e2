/**
 * The deterministic simulation in `npm test`: a fixed set of seeds, each a cluster of real nodes
 * under partitions, crashes with torn writes, lossy and slow links and disk faults, checked for
 * Raft's safety properties after every turn, liveness after healing, and a linearizable client
 * history. Then proof that it catches bugs: deliberately broken rules make known seeds fail.
 * Long campaigns: `npm run sim -- --seeds 10000 --from N`.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Crash, FaultPlan, Heal, Partition, Restart } from "./Faults.js"
import { runSimulation, type SimulationResult } from "./Simulation.js"

const report = (result: SimulationResult) =>
  result.ok ? "ok" : `seed ${result.seed}: ${result.violations.join("; ")}\n--- trace ---\n${result.trace.slice(-60).join("\n")}`

describe("deterministic simulation", () => {
  it.each(Array.from({ length: 30 }, (_, i) => i + 1))("seed %i (3 nodes): safe, live and linearizable under random faults", (seed) => {
    const result = runSimulation({ seed })
    expect(report(result)).toBe("ok")
    expect(result.stats.acknowledged).toBeGreaterThan(0)
  })

  it.each([101, 102, 103, 104, 105])("seed %i (5 nodes): safe, live and linearizable under random faults", (seed) => {
    expect(report(runSimulation({ seed, nodes: 5 }))).toBe("ok")
  })

  it.each([201, 202, 203, 204, 205])("seed %i (3 nodes, elections profile: leader crashes, short outages, slow links)", (seed) => {
    expect(report(runSimulation({ seed, profile: "elections" }))).toBe("ok")
  })

  it("exercises what it claims: crashes, snapshots taken and installed, across the fixed seeds", () => {
    const totals = { crashes: 0, snapshotsTaken: 0, snapshotsInstalled: 0 }
    for (let seed = 1; seed <= 10; seed++) {
      const { stats } = runSimulation({ seed })
      totals.crashes += stats.crashes
      totals.snapshotsTaken += stats.snapshotsTaken
      totals.snapshotsInstalled += stats.snapshotsInstalled
    }
    expect(totals.crashes).toBeGreaterThan(5)
    expect(totals.snapshotsTaken).toBeGreaterThan(10)
    expect(totals.snapshotsInstalled).toBeGreaterThan(0)
  })

  it("reproduces a seed exactly: same trace, same history", () => {
    const first = runSimulation({ seed: 7, durationMs: 4000 })
    const second = runSimulation({ seed: 7, durationMs: 4000 })
    expect(second.trace).toEqual(first.trace)
    expect(second.history).toEqual(first.history)
  })

  it("runs a hand-written plan: the leader's side of a partition loses, a crash and restart lose nothing", () => {
    const plan = [
      new Partition({ at: 1000, groups: [[1], [2, 3]] }),
      new Heal({ at: 3000 }),
      new Crash({ at: 3500, node: 2 }),
      new Crash({ at: 3600, node: 3 }),
      new Restart({ at: 4500, node: 2 }),
      new Restart({ at: 4600, node: 3 })
    ]
    const result = runSimulation({ seed: 42, plan, durationMs: 6000 })
    expect(report(result)).toBe("ok")
    expect(result.stats.crashes).toBe(2)
  })

  it("reads fault plans from JSON, and rejects malformed ones", () => {
    const decode = Schema.decodeUnknownEither(FaultPlan)
    const plan = decode([{ _tag: "Partition", at: 10, groups: [[1], [2, 3]] }, { _tag: "DiskFault", at: 20, node: 2, fsyncLatencyMs: 5, failFsync: false }])
    expect(plan._tag).toBe("Right")
    expect(decode([{ _tag: "Crash", at: -1, node: 1 }])._tag).toBe("Left")
    expect(decode([{ _tag: "Meteor", at: 1 }])._tag).toBe("Left")
  })
})

describe("the simulation catches consensus bugs", () => {
  // Seeds found with `npm run sim -- --bug <name> --profile elections --seeds N`; without the
  // bug the same seeds pass.
  it.each([
    { bug: "forgetVote" as const, seed: 1, expected: /durable vote/ },
    { bug: "acknowledgeBeforeFsync" as const, seed: 1, expected: /durable vote|election safety|state-machine safety|leader completeness|log matching/ }
  ])("$bug makes seed $seed fail", ({ bug, seed, expected }) => {
    const broken = runSimulation({ seed, profile: "elections", bugs: { [bug]: true } })
    expect(broken.ok).toBe(false)
    expect(broken.violations.join("; ")).toMatch(expected)
    expect(report(runSimulation({ seed, profile: "elections" }))).toBe("ok")
  })
})
