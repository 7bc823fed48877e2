/**
 * Collections of 1,000,000 members with real processes (a 3-node cluster, on the memory engine and
 * on LevelDB): one is deleted (DEL), one expires (PEXPIRE, removed by the leader's reaper), one is
 * overwritten by a string (SET). Each is O(1) for the command; the members are then removed by the
 * reaper through the log in slices of 4,096. Throughout, a watchdog PINGs every node every 50 ms:
 * no node's event loop may stall for a second, no election may happen (the term never changes),
 * and every node's count of members still to remove (INFO raft_garbage_members) must come back to
 * 0 within a bounded time: the members really are gone from every node's engine.
 *
 * `npm test` runs it on the memory engine (the default one) to stay within its time budget; LevelDB
 * with BIG_COLLECTIONS_ENGINES=level (or memory,level). BIG_COLLECTIONS_MEMBERS changes the size.
 */
import { performance } from "node:perf_hooks"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PingWatchdog } from "../support/pingWatchdog.js"
import { ProcessCluster } from "../support/processCluster.js"
import { info, redisCli } from "../support/redisCli.js"
import { RespClient } from "../support/respClient.js"
import { waitFor } from "../support/waitFor.js"

const MEMBERS = Number(process.env.BIG_COLLECTIONS_MEMBERS ?? 1_000_000)
/**
 * Members (or fields) per SADD (HSET), and how many such commands are in flight at once on the
 * connection (each sent as soon as one is answered): 400 commands per collection, with about
 * 10,000 members in flight, well within the request timeout on a busy machine.
 */
const PER_COMMAND = 2500
const IN_FLIGHT = 4
/** No PING may take longer: a node whose event loop is held this long is stalled. */
const STALL_MS = 1000
const RECLAIM_TIMEOUT_MS = 300_000

const engines = (process.env.BIG_COLLECTIONS_ENGINES ?? "memory").split(",") as Array<"memory" | "level">

/** Add MEMBERS members (or fields) m0, m1, ... to `key`, PER_COMMAND per command, IN_FLIGHT commands at a time. */
const build = async (client: RespClient, type: "set" | "hash", key: string): Promise<void> => {
  let next = 0
  let failed = false
  const send = async () => {
    while (next < MEMBERS && !failed) {
      const from = next
      const to = Math.min(MEMBERS, from + PER_COMMAND)
      next = to
      const argv = [type === "set" ? "SADD" : "HSET", key]
      for (let i = from; i < to; i++) {
        if (type === "set") argv.push(`m${i}`)
        else argv.push(`m${i}`, "v")
      }
      const reply = await client.call(...argv)
      if (reply !== to - from) {
        failed = true
        throw new Error(`building ${key} from member ${from}: ${String(reply)}`)
      }
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, send))
}

for (const engine of engines) {
  describe(`collections of ${MEMBERS.toLocaleString("en")} members (${engine} engine)`, () => {
    const cluster = new ProcessCluster({ basePort: engine === "memory" ? 30000 : 30200, engine, startTimeoutMs: 60_000 })
    let watchdog: PingWatchdog | undefined
    let client: RespClient | undefined
    let leader = 0
    let term = ""
    beforeAll(async () => {
      await cluster.startAll()
      leader = await cluster.waitForLeader()
      term = (await info(cluster.clientPort(leader))).raft_term
      watchdog = await PingWatchdog.start(cluster.ids, (id) => cluster.clientPort(id))
      watchdog.restart()
      client = await RespClient.connect(cluster.clientPort(leader))
    }, 90_000)
    afterAll(async () => {
      watchdog?.stop()
      client?.close()
      await cluster.shutdown()
    })

    /** Every node has the collection whole (reads through ReadIndex on each node). */
    const expectSizeEverywhere = async (command: string, key: string, size: number) => {
      for (const id of cluster.ids) expect(await redisCli(cluster.clientPort(id), command, key)).toBe(String(size))
    }

    /** Wait until no node has members left to remove; returns how long it took (ms). */
    const reclaimed = async (): Promise<number> => {
      const started = performance.now()
      const pending = async () => Promise.all(cluster.ids.map(async (id) => Number((await info(cluster.clientPort(id))).raft_garbage_members)))
      await waitFor(async () => (await pending()).every((members) => members === 0), {
        timeoutMs: RECLAIM_TIMEOUT_MS,
        intervalMs: 250,
        description: "every node to remove the deleted members"
      })
      return Math.round(performance.now() - started)
    }

    /**
     * Measure a phase: the slowest PING charged to each node (the watchdog's own lateness taken
     * out), reported with the raw figures; checked by `expectHealthy` once the test's collection
     * is gone (a failed check must not leave a million members behind for the next test).
     */
    const phases: Array<{ readonly phase: string; readonly slowest: Record<number, number> }> = []
    const endPhase = (phase: string) => {
      const slowest = watchdog!.slowest()
      console.log(
        `[${engine}] ${phase}: slowest PING per node ${JSON.stringify(slowest)} ms (as measured ${JSON.stringify(watchdog!.slowestRaw())}, ` +
          `the watchdog's own worst lateness ${watchdog!.lag()} ms), PINGs answered ${JSON.stringify(watchdog!.answered())}`
      )
      phases.push({ phase, slowest })
      watchdog!.restart()
    }

    /** No stall on any node in any phase so far, and no election. */
    const expectHealthy = async () => {
      for (const { phase, slowest } of phases.splice(0)) {
        for (const id of cluster.ids) expect(slowest[id], `node ${id}'s slowest PING while ${phase}`).toBeLessThan(STALL_MS)
      }
      for (const id of cluster.ids) {
        const raft = await info(cluster.clientPort(id))
        expect(raft.raft_term, `node ${id}'s term`).toBe(term)
        expect(Number(raft.raft_leader_id)).toBe(leader)
      }
    }

    const timed = async <A>(work: () => Promise<A>): Promise<{ value: A; ms: number }> => {
      const started = performance.now()
      const value = await work()
      return { value, ms: Math.round(performance.now() - started) }
    }

    it("DEL of a set of 1,000,000 members: O(1), then reclaimed in the background without a stall", async () => {
      const built = await timed(() => build(client!, "set", "big:deleted"))
      await expectSizeEverywhere("SCARD", "big:deleted", MEMBERS)
      endPhase("building a set")
      const deleted = await timed(() => client!.call("DEL", "big:deleted"))
      expect(deleted.value).toBe(1)
      expect(Number((await info(cluster.clientPort(leader))).raft_garbage_members)).toBeGreaterThan(0)
      const reclaim = await reclaimed()
      console.log(`[${engine}] built in ${built.ms} ms, DEL answered in ${deleted.ms} ms, members reclaimed on every node in ${reclaim} ms`)
      await expectSizeEverywhere("EXISTS", "big:deleted", 0)
      endPhase("deleting it and reclaiming its members")
      await expectHealthy()
    }, 600_000)

    it("a hash of 1,000,000 fields that expires: removed by the reaper, then reclaimed, without a stall", async () => {
      const built = await timed(() => build(client!, "hash", "big:expiring"))
      await expectSizeEverywhere("HLEN", "big:expiring", MEMBERS)
      endPhase("building a hash")
      expect(await client!.call("PEXPIRE", "big:expiring", "200")).toBe(1)
      const expired = await timed(() =>
        waitFor(async () => (await Promise.all(cluster.ids.map((id) => info(cluster.clientPort(id), "keyspace")))).every((keyspace) => keyspace.db0 === undefined), {
          timeoutMs: 30_000,
          description: "the expired hash to be removed from every node's keyspace"
        })
      )
      const reclaim = await reclaimed()
      console.log(`[${engine}] built in ${built.ms} ms, expired key removed everywhere ${expired.ms} ms after its time, members reclaimed in ${reclaim} ms`)
      endPhase("expiring it and reclaiming its fields")
      await expectHealthy()
    }, 600_000)

    it("SET over a set of 1,000,000 members: the string replaces it at once, the members are reclaimed without a stall", async () => {
      const built = await timed(() => build(client!, "set", "big:overwritten"))
      await expectSizeEverywhere("SCARD", "big:overwritten", MEMBERS)
      endPhase("building a set")
      const overwritten = await timed(() => client!.call("SET", "big:overwritten", "now a string"))
      expect(overwritten.value).toBe("OK")
      for (const id of cluster.ids) expect(await redisCli(cluster.clientPort(id), "GET", "big:overwritten")).toBe("now a string")
      const reclaim = await reclaimed()
      console.log(`[${engine}] built in ${built.ms} ms, SET answered in ${overwritten.ms} ms, members reclaimed in ${reclaim} ms`)
      for (const id of cluster.ids) {
        const memory = await info(cluster.clientPort(id), "memory")
        console.log(`[${engine}] node ${id}: used_memory ${memory.used_memory_human}, rss ${memory.used_memory_rss_human}`)
      }
      endPhase("overwriting it and reclaiming its members")
      await expectHealthy()
    }, 600_000)
  })
}
