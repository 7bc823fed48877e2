/**
 * Lease reads in the pure core (Raft dissertation §6.4.1), rule by rule: a leader serves a lease
 * read at once only while, since a heartbeat a quorum acknowledged was sent, less than the lease
 * has passed; it never inherits one, loses it when cut off, forfeits it with a TimeoutNow, and a
 * restarted voter keeps the promise its acknowledgement made by refusing votes for an election
 * timeout.
 */
import { describe, expect, it } from "vitest"
import { data, RaftSim } from "../support/raftSim.js"

const ELECTION = 10
const LEASE = 8

const leaseSim = (seed: number, ids: ReadonlyArray<number> = [1, 2, 3]) =>
  new RaftSim(ids, seed, { electionTicks: ELECTION, leaseTicks: LEASE, holdVotesAfterStart: true })

/** Elect a leader whose lease a quorum has confirmed (one heartbeat round after its no-op commits). */
const leaderWithLease = (sim: RaftSim) => {
  const leader = sim.electLeader()
  sim.core(leader).propose([data("v")])
  sim.tickAll(2)
  expect(sim.core(leader).status().lease).toBe(true)
  return leader
}

describe("lease reads", () => {
  it("a leader holding a lease answers a lease read at once, with no heartbeat round", () => {
    const sim = leaseSim(3)
    const leader = leaderWithLease(sim)
    const commit = sim.core(leader).status().commit
    sim.core(leader).readIndex(7, true)
    const ready = sim.flush(leader)
    expect(ready.readStates).toEqual([{ requestId: 7, index: commit }])
    expect(ready.messages.filter((m) => m.type === "Heartbeat")).toHaveLength(0)
  })

  it("a read without `lease` still takes a round on a leader that holds one", () => {
    const sim = leaseSim(5)
    const leader = leaderWithLease(sim)
    sim.core(leader).readIndex(8)
    const ready = sim.flush(leader)
    expect(ready.readStates).toEqual([])
    expect(ready.messages.filter((m) => m.type === "Heartbeat" && m.context > 0)).toHaveLength(2)
  })

  it("a new leader has no lease until a quorum acknowledges one of its heartbeats", () => {
    const sim = leaseSim(7)
    const leader = sim.electLeader()
    const core = sim.core(leader)
    // Before anything is acknowledged in this term, a lease read is an ordinary ReadIndex round.
    expect(core.status().lease).toBe(false)
    core.readIndex(1, true)
    expect(sim.flush(leader).readStates).toEqual([])
    sim.stabilize()
    expect(sim.readStates.get(leader)!.map((state) => state.requestId)).toEqual([1])
  })

  it("a leader cut off from its followers loses its lease after the lease time, before anyone may elect another", () => {
    const sim = leaseSim(11)
    const leader = leaderWithLease(sim)
    sim.isolate(leader)
    let ticks = 0
    while (sim.core(leader).status().lease) {
      sim.tickAll()
      ticks++
      expect(ticks).toBeLessThanOrEqual(LEASE)
    }
    // The followers could not have elected anyone yet: each refuses candidates for an election
    // timeout after it last heard the leader (LEASE < ELECTION).
    const others = sim.ids.filter((id) => id !== leader)
    expect(others.every((id) => sim.core(id).status().role !== "leader")).toBe(true)
    sim.core(leader).readIndex(3, true)
    expect(sim.flush(leader).readStates).toEqual([])
  })

  it("a follower's lease reads are answered by the leader from its lease, without a round", () => {
    const sim = leaseSim(13)
    const leader = leaderWithLease(sim)
    const follower = sim.ids.find((id) => id !== leader)!
    const heartbeatsBefore: Array<number> = []
    sim.core(follower).readIndex(1, true)
    sim.core(follower).readIndex(2, true)
    const ready = sim.flush(follower)
    const requests = ready.messages.filter((m) => m.type === "ReadIndex")
    expect(requests).toHaveLength(1)
    expect(requests[0].type === "ReadIndex" && requests[0].lease).toBe(true)
    // Deliver only the request: the leader answers in the same step, no heartbeat round needed.
    sim.inflight = []
    sim.core(leader).step(requests[0])
    const answer = sim.flush(leader)
    expect(answer.messages.filter((m) => m.type === "ReadIndexResp" && !m.reject)).toHaveLength(1)
    expect(answer.messages.filter((m) => m.type === "Heartbeat").length).toBe(heartbeatsBefore.length)
  })

  it("a leader that sends TimeoutNow forfeits its lease for the rest of its term", () => {
    const sim = leaseSim(17)
    const leader = leaderWithLease(sim)
    const target = sim.ids.find((id) => id !== leader)!
    // The TimeoutNow is lost on the way: the target never campaigns, the transfer is abandoned
    // after an election timeout, and the leader stays leader with the third node's acks...
    sim.cutLink(leader, target)
    expect(sim.core(leader).transferLeader(target).ok).toBe(true)
    const sent = sim.flush(leader)
    expect(sent.messages.some((m) => m.type === "TimeoutNow")).toBe(true)
    sim.tickAll(ELECTION + 2)
    expect(sim.core(leader).status().role).toBe("leader")
    expect(sim.core(leader).status().transferee).toBe(0)
    // ...but the TimeoutNow could have been delivered (and its candidate ignores leases): no lease.
    expect(sim.core(leader).status().lease).toBe(false)
    sim.core(leader).readIndex(4, true)
    expect(sim.flush(leader).readStates).toEqual([])
  })

  it("a restarted voter refuses candidates for its first election timeout (it may have promised a lease)", () => {
    const sim = leaseSim(19)
    const leader = leaderWithLease(sim)
    const voter = sim.ids.find((id) => id !== leader)!
    sim.boot(voter)
    const candidate = sim.ids.find((id) => id !== leader && id !== voter)!
    const request = { type: "Vote" as const, from: candidate, to: voter, term: 99, lastLogIndex: 100, lastLogTerm: 98 }
    sim.core(voter).step(request)
    const refused = sim.flush(voter)
    expect(refused.messagesAfterPersist.filter((m) => m.type === "VoteResp" && !m.reject)).toHaveLength(0)
    expect(sim.core(voter).status().term).toBeLessThan(99)
    // After an election timeout it votes again.
    for (let i = 0; i < ELECTION; i++) sim.core(voter).tick()
    sim.flush(voter)
    sim.core(voter).step({ ...request, term: 100 })
    const granted = sim.flush(voter)
    expect([...granted.messages, ...granted.messagesAfterPersist].some((m) => m.type === "VoteResp" && !m.reject)).toBe(true)
  })

  it("without leaseTicks a lease read is an ordinary ReadIndex round", () => {
    const sim = new RaftSim([1, 2, 3], 23)
    const leader = sim.electLeader()
    sim.core(leader).propose([data("v")])
    sim.tickAll(2)
    expect(sim.core(leader).status().lease).toBe(false)
    sim.core(leader).readIndex(5, true)
    expect(sim.flush(leader).readStates).toEqual([])
    sim.stabilize()
    expect(sim.readStates.get(leader)!.map((state) => state.requestId)).toEqual([5])
  })

  it("a single-node cluster answers at once in every mode", () => {
    const sim = leaseSim(29, [1])
    const leader = sim.electLeader()
    sim.core(leader).readIndex(1, true)
    sim.core(leader).readIndex(2)
    expect(sim.flush(leader).readStates.map((state) => state.requestId)).toEqual([1, 2])
  })
})
