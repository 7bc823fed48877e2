/**
 * Rule-by-rule tests of the pure Raft core (Raft paper figure 2, §5.4; dissertation §6.4 and
 * §9.6 for pre-vote and check-quorum), on the deterministic RaftSim harness.
 */
import { describe, expect, it } from "vitest"
import { votersConfiguration } from "../../src/raft/Configuration.js"
import { makeRaft } from "../../src/raft/Raft.js"
import type { RaftCore } from "../../src/raft/api.js"
import { EntryKind, type Entry, type Message } from "../../src/raft/types.js"
import { data, prng, RaftSim } from "../support/raftSim.js"

const entry = (index: number, term: number, payload = `e${index}`): Entry => ({
  index,
  term,
  kind: EntryKind.Normal,
  data: data(payload)
})

const single = (overrides: Partial<{ entries: Array<Entry>; term: number; vote: number; commit: number }> = {}): RaftCore =>
  makeRaft(
    { id: 1, configuration: votersConfiguration([1, 2, 3]), electionTicks: 10, heartbeatTicks: 1, maxInflight: 8, maxEntriesPerAppend: 16, maxPendingProposals: 10, random: prng(1) },
    {
      hardState: { term: overrides.term ?? 1, vote: overrides.vote ?? 0, commit: overrides.commit ?? 0 },
      entries: overrides.entries ?? [],
      applied: 0
    }
  )

describe("message size", () => {
  it("keeps every Append and forwarded Propose under maxBytesPerMessage, one oversized entry alone", () => {
    const sizes: Array<{ type: string; count: number; bytes: number }> = []
    const sim = new RaftSim([1, 2, 3], 11, {
      maxBytesPerMessage: 100,
      onDeliver: (m) => {
        if (m.type === "Append" && m.entries.length > 0) sizes.push({ type: m.type, count: m.entries.length, bytes: m.entries.reduce((n, e) => n + e.data.length, 0) })
        if (m.type === "Propose") sizes.push({ type: m.type, count: m.entries.length, bytes: m.entries.reduce((n, e) => n + e.length, 0) })
      }
    })
    const leader = sim.electLeader()
    const [follower, lagging] = sim.ids.filter((id) => id !== leader)
    sim.isolate(lagging)
    // A backlog for the lagging node, and proposals a follower forwards in one turn.
    sim.core(leader).propose(Array.from({ length: 10 }, (_, i) => data(`L${i}`.padEnd(40, "."))))
    sim.core(follower).propose([...Array.from({ length: 6 }, (_, i) => data(`F${i}`.padEnd(30, "."))), data("big".padEnd(250, "."))])
    sim.stabilize()
    sim.heal()
    // The appends lost while it was cut off are noticed after an election timeout (10 ticks), then resent.
    sim.tickAll(30)
    expect(sizes.some((s) => s.type === "Propose")).toBe(true)
    expect(sizes.some((s) => s.type === "Append" && s.count > 1)).toBe(true)
    for (const size of sizes) expect(size.bytes <= 100 || size.count === 1, JSON.stringify(size)).toBe(true)
    // Nothing was lost to the split: every node applied all 17 proposals, in the same order.
    const applied = sim.appliedData(leader)
    expect(applied.filter((d) => d.length > 0)).toHaveLength(17)
    for (const id of sim.ids) expect(sim.appliedData(id)).toEqual(applied)
  })
})

describe("elections", () => {
  it("elects exactly one leader that every node follows", () => {
    const sim = new RaftSim([1, 2, 3], 7)
    const leader = sim.electLeader()
    const term = sim.core(leader).status().term
    for (const id of sim.ids) {
      expect(sim.core(id).status().leader).toBe(leader)
      expect(sim.core(id).status().term).toBe(term)
    }
    expect(sim.leaders()).toEqual([leader])
  })

  it("grants a vote only to a candidate whose log is at least as up to date", () => {
    const core = single({ entries: [entry(1, 1), entry(2, 2)], term: 2 })
    const vote = (from: number, lastLogIndex: number, lastLogTerm: number): Message => ({
      type: "Vote", from, to: 1, term: 3, lastLogIndex, lastLogTerm
    })
    core.step(vote(2, 5, 1)) // longer log but older last term
    let ready = core.ready()
    expect(ready.messages).toContainEqual(expect.objectContaining({ type: "VoteResp", to: 2, reject: true }))
    core.step(vote(3, 2, 2)) // same last term and index
    ready = core.ready()
    expect(ready.messagesAfterPersist).toContainEqual(expect.objectContaining({ type: "VoteResp", to: 3, reject: false }))
    expect(ready.hardState).toEqual({ term: 3, vote: 3, commit: 0 })
    expect(ready.mustSync).toBe(true)
  })

  it("votes at most once per term", () => {
    const core = single()
    core.step({ type: "Vote", from: 2, to: 1, term: 2, lastLogIndex: 0, lastLogTerm: 0 })
    core.step({ type: "Vote", from: 3, to: 1, term: 2, lastLogIndex: 0, lastLogTerm: 0 })
    const ready = core.ready()
    expect(ready.messagesAfterPersist).toEqual([expect.objectContaining({ type: "VoteResp", to: 2, reject: false })])
    expect(ready.messages).toContainEqual(expect.objectContaining({ type: "VoteResp", to: 3, reject: true }))
  })

  it("sends vote requests only after its own vote is durable", () => {
    const core = single()
    for (let i = 0; i < 20; i++) core.tick()
    // Pre-vote first: no term change, requests leave at once.
    let ready = core.ready()
    expect(core.status().role).toBe("pre-candidate")
    expect(core.status().term).toBe(1)
    expect(ready.messages.filter((m) => m.type === "PreVote")).toHaveLength(2)
    core.step({ type: "PreVoteResp", from: 2, to: 1, term: 2, reject: false })
    ready = core.ready()
    expect(core.status()).toMatchObject({ role: "candidate", term: 2, vote: 1 })
    expect(ready.messages.filter((m) => m.type === "Vote")).toHaveLength(0)
    expect(ready.messagesAfterPersist.filter((m) => m.type === "Vote")).toHaveLength(2)
    expect(ready.mustSync).toBe(true)
  })

  it("pre-vote keeps a partitioned node from inflating its term or deposing the leader", () => {
    const sim = new RaftSim([1, 2, 3], 3)
    const leader = sim.electLeader()
    const term = sim.core(leader).status().term
    const outsider = sim.ids.find((id) => id !== leader)!
    sim.isolate(outsider)
    sim.tickAll(200) // many election timeouts on the outsider
    expect(sim.core(outsider).status().term).toBe(term)
    sim.heal()
    // The appends lost while it was cut off are noticed after an election timeout (10 ticks), then resent.
    sim.tickAll(30)
    expect(sim.leaders()).toEqual([leader])
    expect(sim.core(leader).status().term).toBe(term)
  })

  it("ignores a higher-term vote request while it hears from a live leader (lease)", () => {
    const sim = new RaftSim([1, 2, 3], 5)
    const leader = sim.electLeader()
    const follower = sim.ids.find((id) => id !== leader)!
    const other = sim.ids.find((id) => id !== leader && id !== follower)!
    const term = sim.core(follower).status().term
    sim.core(follower).step({ type: "Vote", from: other, to: follower, term: term + 5, lastLogIndex: 100, lastLogTerm: term + 4 })
    const ready = sim.core(follower).ready()
    expect(sim.core(follower).status().term).toBe(term)
    expect(ready.messagesAfterPersist).toHaveLength(0)
  })

  it("check-quorum: a leader cut off from the majority steps down", () => {
    const sim = new RaftSim([1, 2, 3], 11)
    const leader = sim.electLeader()
    sim.isolate(leader)
    sim.tickAll(25)
    expect(sim.core(leader).status().role).not.toBe("leader")
    expect(sim.core(leader).status().leader).toBe(0)
  })
})

describe("replication", () => {
  it("commits proposals on a quorum and hands every node the same entries once", () => {
    const sim = new RaftSim([1, 2, 3], 13)
    const leader = sim.electLeader()
    sim.core(leader).propose([data("a"), data("b")])
    sim.stabilize()
    sim.core(leader).propose([data("c")])
    sim.tickAll(3)
    for (const id of sim.ids) expect(sim.appliedData(id)).toEqual(["a", "b", "c"])
    const indexes = sim.applied.get(leader)!.map((e) => e.index)
    expect(new Set(indexes).size).toBe(indexes.length)
  })

  it("a follower forwards proposals to the leader", () => {
    const sim = new RaftSim([1, 2, 3], 17)
    const leader = sim.electLeader()
    const follower = sim.ids.find((id) => id !== leader)!
    sim.core(follower).propose([data("via-follower")])
    sim.tickAll(3)
    for (const id of sim.ids) expect(sim.appliedData(id)).toEqual(["via-follower"])
  })

  it("holds proposals made without a leader and sends them once one is known", () => {
    const sim = new RaftSim([1, 2, 3], 19)
    sim.core(2).propose([data("early")])
    sim.electLeader()
    sim.tickAll(3)
    for (const id of sim.ids) expect(sim.appliedData(id)).toEqual(["early"])
  })

  it("a leader does not count itself before its own WAL confirms the entries", () => {
    const core = makeRaft(
      { id: 1, configuration: votersConfiguration([1]), electionTicks: 10, heartbeatTicks: 1, maxInflight: 8, maxEntriesPerAppend: 16, maxPendingProposals: 10, random: prng(2) },
      { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], applied: 0 }
    )
    for (let i = 0; i < 20 && core.status().role !== "leader"; i++) core.tick()
    expect(core.status().role).toBe("leader")
    core.propose([data("x")])
    const ready = core.ready()
    expect(ready.entries.map((e) => e.index)).toEqual([1, 2])
    expect(core.status().commit).toBe(0)
    expect(ready.committed).toEqual([])
    core.persisted(2, core.status().term)
    expect(core.status().commit).toBe(2)
    expect(core.ready().committed.map((e) => e.index)).toEqual([1, 2])
  })

  it("acknowledges appends only after persistence (messagesAfterPersist)", () => {
    const core = single()
    core.step({ type: "Append", from: 2, to: 1, term: 1, prevIndex: 0, prevTerm: 0, entries: [entry(1, 1)], commit: 0 })
    const ready = core.ready()
    expect(ready.entries).toHaveLength(1)
    expect(ready.messages.filter((m) => m.type === "AppendResp")).toHaveLength(0)
    expect(ready.messagesAfterPersist).toEqual([expect.objectContaining({ type: "AppendResp", index: 1, reject: false })])
  })

  it("rejects an append whose previous entry does not match, with a hint", () => {
    const core = single({ entries: [entry(1, 1), entry(2, 1)] })
    core.step({ type: "Append", from: 2, to: 1, term: 1, prevIndex: 5, prevTerm: 1, entries: [], commit: 0 })
    const ready = core.ready()
    expect(ready.messages).toContainEqual(expect.objectContaining({ type: "AppendResp", reject: true, index: 5, hint: 2 }))
  })

  it("truncates a conflicting uncommitted tail and takes the leader's entries", () => {
    const core = single({ entries: [entry(1, 1), entry(2, 1, "stale"), entry(3, 1, "stale")], term: 2 })
    core.step({ type: "Append", from: 2, to: 1, term: 2, prevIndex: 1, prevTerm: 1, entries: [entry(2, 2, "new")], commit: 2 })
    const ready = core.ready()
    expect(ready.entries).toEqual([entry(2, 2, "new")])
    expect(core.status()).toMatchObject({ lastIndex: 2, lastTerm: 2, commit: 2 })
    // Only entries the WAL confirmed are applied: index 2 was just replaced.
    expect(ready.committed.map((e) => e.index)).toEqual([1])
    core.persisted(2, 2)
    expect(core.ready().committed).toEqual([entry(2, 2, "new")])
  })

  it("repairs a follower whose log diverged over several terms", () => {
    const sim = new RaftSim([1, 2, 3], 23)
    const leader = sim.electLeader()
    const follower = sim.ids.find((id) => id !== leader)!
    sim.isolate(follower)
    for (let i = 0; i < 5; i++) sim.core(leader).propose([data(`committed-${i}`)])
    sim.tickAll(3)
    sim.heal()
    sim.tickAll(20)
    expect(sim.appliedData(follower)).toEqual(sim.appliedData(leader))
    expect(sim.appliedData(follower)).toHaveLength(5)
  })

  it("never commits an entry of an earlier term by counting replicas (figure 8)", () => {
    // Node 1 holds an entry of term 2 that nobody else has, then becomes leader in term 3.
    const core = single({ entries: [entry(1, 1), entry(2, 2)], term: 2, commit: 1 })
    for (let i = 0; i < 20; i++) core.tick()
    core.ready()
    core.step({ type: "PreVoteResp", from: 2, to: 1, term: 3, reject: false })
    core.ready()
    core.step({ type: "VoteResp", from: 2, to: 1, term: 3, reject: false })
    expect(core.status()).toMatchObject({ role: "leader", term: 3 })
    core.ready()
    // Follower 2 now stores index 2 (term 2): a majority holds it, but it is not of term 3.
    core.step({ type: "AppendResp", from: 2, to: 1, term: 3, index: 2, reject: false, hint: 0 })
    core.ready()
    expect(core.status().commit).toBe(1)
    // Once the term-3 no-op (index 3) is on a majority, everything up to it commits.
    core.persisted(3, 3)
    core.step({ type: "AppendResp", from: 2, to: 1, term: 3, index: 3, reject: false, hint: 0 })
    expect(core.status().commit).toBe(3)
  })
})

describe("linearizable reads (ReadIndex)", () => {
  it("answers a leader read only after a heartbeat round reaches a quorum", () => {
    const sim = new RaftSim([1, 2, 3], 29)
    const leader = sim.electLeader()
    sim.core(leader).propose([data("v")])
    sim.tickAll(2)
    const commit = sim.core(leader).status().commit
    sim.core(leader).readIndex(42)
    const ready = sim.flush(leader)
    expect(ready.readStates).toEqual([])
    expect(ready.messages.filter((m) => m.type === "Heartbeat" && m.context > 0)).toHaveLength(2)
    sim.stabilize()
    expect(sim.readStates.get(leader)).toEqual([{ requestId: 42, index: commit }])
  })

  it("cannot confirm a read on a leader cut off from the majority", () => {
    const sim = new RaftSim([1, 2, 3], 31)
    const leader = sim.electLeader()
    sim.isolate(leader)
    sim.core(leader).readIndex(1)
    sim.stabilize()
    expect(sim.readStates.get(leader)).toEqual([])
    sim.tickAll(25) // check-quorum makes it step down; the read fails and may be retried
    expect(sim.readFailures.get(leader)).toContain(1)
    expect(sim.readStates.get(leader)).toEqual([])
  })

  it("serves a follower's reads through one request to the leader", () => {
    const sim = new RaftSim([1, 2, 3], 37)
    const leader = sim.electLeader()
    const follower = sim.ids.find((id) => id !== leader)!
    sim.core(leader).propose([data("v")])
    sim.tickAll(2)
    sim.core(follower).readIndex(1)
    sim.core(follower).readIndex(2)
    const ready = sim.flush(follower)
    expect(ready.messages.filter((m) => m.type === "ReadIndex")).toHaveLength(1)
    sim.stabilize()
    const commit = sim.core(leader).status().commit
    expect(sim.readStates.get(follower)).toEqual([
      { requestId: 1, index: commit },
      { requestId: 2, index: commit }
    ])
  })

  it("fails reads at once when no leader is known", () => {
    const core = single()
    core.readIndex(9)
    expect(core.ready().readFailures).toEqual([9])
  })
})

describe("snapshots and log compaction", () => {
  it("compacts the log and catches up a follower behind it with the snapshot", () => {
    const sim = new RaftSim([1, 2, 3], 3, { snapshotEvery: 20, keepEntries: 5 })
    const leader = sim.electLeader()
    const lagging = sim.ids.find((id) => id !== leader)!
    sim.isolate(lagging)
    for (let i = 0; i < 60; i++) {
      sim.core(leader).propose([data(`w${i}`)])
      sim.tickAll()
    }
    const status = sim.core(leader).status()
    expect(status.snapshotIndex).toBeGreaterThanOrEqual(40)
    // The leader no longer holds the entries the lagging node needs.
    expect(status.firstIndex).toBeGreaterThan(sim.core(lagging).status().lastIndex + 1)
    sim.heal()
    // The appends lost while it was cut off are noticed after an election timeout (10 ticks), then resent.
    sim.tickAll(30)
    expect(sim.core(lagging).status().snapshotIndex).toBeGreaterThan(0)
    expect(sim.appliedData(lagging)).toEqual(sim.appliedData(leader))
    expect(sim.appliedData(lagging)).toHaveLength(60)
    // And it keeps replicating from the log after the snapshot.
    sim.core(leader).propose([data("after")])
    sim.tickAll(3)
    expect(sim.appliedData(lagging).at(-1)).toBe("after")
  })

  it("a follower whose log already holds the snapshot's entry only advances its commit index", () => {
    const core = single({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)] })
    core.step({ type: "Heartbeat", from: 2, to: 1, term: 1, commit: 0, context: 0 })
    core.ready()
    expect(core.restoreSnapshot(2, 1, 2, votersConfiguration([1, 2, 3]))).toBe(false)
    const ready = core.ready()
    expect(ready.snapshot).toBeUndefined()
    expect(core.status().commit).toBe(2)
    expect(ready.messagesAfterPersist).toContainEqual(expect.objectContaining({ type: "AppendResp", to: 2, index: 2, reject: false }))
  })

  it("a follower with a conflicting log replaces it with the snapshot, acknowledged after persistence", () => {
    const core = single({ entries: [entry(1, 1), entry(2, 1)] })
    expect(core.restoreSnapshot(5, 2, 2, votersConfiguration([1, 2, 3]))).toBe(true)
    const ready = core.ready()
    expect(ready.snapshot).toEqual({ index: 5, term: 2 })
    expect(ready.mustSync).toBe(true)
    expect(ready.committed).toEqual([])
    expect(ready.messagesAfterPersist).toContainEqual(expect.objectContaining({ type: "AppendResp", to: 2, index: 5 }))
    expect(core.status()).toMatchObject({ lastIndex: 5, lastTerm: 2, commit: 5, applied: 5, snapshotIndex: 5, firstIndex: 6 })
    // The log continues after the snapshot.
    core.step({ type: "Append", from: 2, to: 1, term: 2, prevIndex: 5, prevTerm: 2, commit: 6, entries: [entry(6, 2)] })
    expect(core.ready().entries.map((e) => e.index)).toEqual([6])
  })

  it("a snapshot older than the commit index is ignored", () => {
    const core = single({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], commit: 3 })
    expect(core.restoreSnapshot(2, 1, 2, votersConfiguration([1, 2, 3]))).toBe(false)
    expect(core.ready().messages).toContainEqual(expect.objectContaining({ type: "AppendResp", to: 2, index: 3, reject: false }))
  })

  it("a lost snapshot transfer is retried", () => {
    const sim = new RaftSim([1, 2, 3], 5, { snapshotEvery: 10, keepEntries: 0 })
    const leader = sim.electLeader()
    const lagging = sim.ids.find((id) => id !== leader)!
    sim.isolate(lagging)
    for (let i = 0; i < 30; i++) {
      sim.core(leader).propose([data(`w${i}`)])
      sim.tickAll()
    }
    sim.heal()
    sim.dropRate = 1 // every snapshot (and message) is lost for a while
    sim.tickAll(5)
    sim.dropRate = 0
    sim.tickAll(40)
    expect(sim.appliedData(lagging)).toEqual(sim.appliedData(leader))
  })
})

describe("safety under random faults", () => {
  it.each(Array.from({ length: 30 }, (_, i) => i + 1))("seed %i: one leader per term, identical committed prefixes (partitions, loss, restarts)", (seed) => {
    const sim = new RaftSim([1, 2, 3, 4, 5], seed)
    const random = prng(seed * 7919)
    let proposed = 0
    for (let step = 0; step < 300; step++) {
      const r = random()
      if (r < 0.05) sim.isolate(1 + Math.floor(random() * 5))
      else if (r < 0.1) sim.heal()
      else if (r < 0.13) sim.boot(1 + Math.floor(random() * 5)) // crash and restart from its disk
      sim.dropRate = random() < 0.2 ? 0.3 : 0
      const leaders = sim.leaders()
      if (leaders.length > 0 && random() < 0.5) sim.core(leaders[0]).propose([data(`p${proposed++}`)])
      sim.tickAll()
    }
    sim.heal()
    sim.dropRate = 0
    sim.tickAll(60)
    for (const [term, leaders] of sim.leadersByTerm) expect([term, leaders.size]).toEqual([term, 1])
    // A restarted node re-applies from index 1, so its record is the whole committed log again.
    const logs = sim.ids.map((id) => sim.applied.get(id)!.map((e) => `${e.index}:${e.term}`))
    const longest = logs.reduce((a, b) => (a.length >= b.length ? a : b))
    for (const log of logs) expect(longest.slice(0, log.length)).toEqual(log)
    // After healing, everyone converges on the same committed log.
    for (const log of logs) expect(log).toEqual(longest)
  })

  it.each(Array.from({ length: 20 }, (_, i) => i + 1))("seed %i with snapshots: every node converges on the same state (compaction, installs, restarts)", (seed) => {
    const sim = new RaftSim([1, 2, 3, 4, 5], seed, { snapshotEvery: 15, keepEntries: 3 })
    const random = prng(seed * 104729)
    let proposed = 0
    for (let step = 0; step < 300; step++) {
      const r = random()
      if (r < 0.05) sim.isolate(1 + Math.floor(random() * 5))
      else if (r < 0.1) sim.heal()
      else if (r < 0.13) sim.boot(1 + Math.floor(random() * 5))
      sim.dropRate = random() < 0.2 ? 0.3 : 0
      const leaders = sim.leaders()
      if (leaders.length > 0 && random() < 0.6) sim.core(leaders[0]).propose([data(`p${proposed++}`)])
      sim.tickAll()
    }
    sim.heal()
    sim.dropRate = 0
    sim.tickAll(80)
    for (const [term, leaders] of sim.leadersByTerm) expect([term, leaders.size]).toEqual([term, 1])
    const states = sim.ids.map((id) => sim.applied.get(id)!.map((e) => `${e.index}:${e.term}`))
    for (const state of states) expect(state).toEqual(states[0])
    // Compaction happened and at least one node caught up through a snapshot somewhere.
    expect(Math.max(...sim.ids.map((id) => sim.core(id).status().firstIndex))).toBeGreaterThan(1)
  })
})
