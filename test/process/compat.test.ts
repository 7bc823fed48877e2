/**
 * raft-kv answers as redis-server 7 does: every scenario of test/compat/scenarios runs against a
 * 3-node cluster (on the leader, and on a follower for the scenarios marked `follower`) and a real
 * redis-server at the same time, on RESP2 and on RESP3, and every reply is compared byte for byte
 * (test/support/differential.ts).
 *
 * First the harness checks itself: every scenario must agree between two redis-servers, redis-server
 * must know every command it sends and answer what the scenarios document (`expect`), so neither a
 * harness bug nor a nondeterministic scenario can make raft-kv look right or wrong.
 *
 * Scenarios that raft-kv does not pass yet are listed in test/compat/expectedFailures.ts: they must
 * fail (a listed run that passes fails the test, so the list only shrinks). To see every difference,
 * run with COMPAT_STRICT=1; to rewrite the list after a change, run with
 * COMPAT_WRITE_EXPECTED=test/compat/expectedFailures.ts. COMPAT_FILTER=<regex> runs matching scenarios.
 */
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectedFailures } from "../compat/expectedFailures.js"
import { allScenarios } from "../compat/scenarios/index.js"
import { type Protocol, runScenario, type Scenario, type Side } from "../support/differential.js"
import { ProcessCluster } from "../support/processCluster.js"
import { RedisServer } from "../support/redisServer.js"
import { TEST_HOST } from "../support/testHost.js"

const filter = process.env.COMPAT_FILTER ? new RegExp(process.env.COMPAT_FILTER) : undefined
const strict = process.env.COMPAT_STRICT === "1"
const writeExpected = process.env.COMPAT_WRITE_EXPECTED
/** A file to write redis-server's replies to every step into (the self-check's transcripts). */
const transcriptFile = process.env.COMPAT_TRANSCRIPT
const scenarios = allScenarios.filter((s) => filter === undefined || filter.test(s.name))
const protocols: ReadonlyArray<Protocol> = [2, 3]

const names = new Set<string>()
for (const scenario of allScenarios) {
  if (names.has(scenario.name)) throw new Error(`two scenarios are named ${JSON.stringify(scenario.name)}`)
  names.add(scenario.name)
}

type Target = "leader" | "follower"
export const runId = (scenario: Scenario, protocol: Protocol, target: Target) => `${scenario.name} | RESP${protocol} | ${target}`

const runs: Array<{ id: string; scenario: Scenario; protocol: Protocol; target: Target }> = []
for (const scenario of scenarios) {
  for (const protocol of scenario.protocols ?? protocols) {
    runs.push({ id: runId(scenario, protocol, "leader"), scenario, protocol, target: "leader" })
    if (scenario.follower) runs.push({ id: runId(scenario, protocol, "follower"), scenario, protocol, target: "follower" })
  }
}

let reference: RedisServer
let second: RedisServer
/** COMPAT_BASE_PORT moves the cluster (base+1.., peers base+101..) and the two redis-servers (base+151, base+152), so runs from several worktrees do not meet. */
const basePort = Number(process.env.COMPAT_BASE_PORT ?? 24200)
const cluster = new ProcessCluster({ basePort })
let leader = 0
let follower = 0

const redisSide = (server: () => RedisServer, label: string): Side => ({
  label,
  endpoint: () => ({ port: server().port, host: TEST_HOST })
})

// Cluster client ports 24201-24203, peer ports 24301-24303; the redis-servers 24351-24352.
beforeAll(async () => {
  ;[reference, second] = await Promise.all([RedisServer.start({ port: basePort + 151 }), RedisServer.start({ port: basePort + 152 })])
}, 30_000)

afterAll(async () => {
  await reference?.stop()
  await second?.stop()
})

describe("the harness checks itself: redis-server vs redis-server", () => {
  for (const protocol of protocols) {
    it(`every scenario agrees between two redis-servers on RESP${protocol}, and redis-server answers what they document`, async () => {
      const failures: Array<string> = []
      const transcripts: Array<string> = []
      for (const scenario of scenarios) {
        if (!(scenario.protocols ?? protocols).includes(protocol)) continue
        const result = await runScenario(scenario, {
          protocol,
          subject: redisSide(() => second, "redis-server 2"),
          reference: redisSide(() => reference, "redis-server"),
          checkReference: true
        })
        if (!result.ok) failures.push(result.message)
        transcripts.push(`## ${scenario.name} (RESP${protocol})`, ...result.transcript, "")
      }
      if (transcriptFile !== undefined) fs.writeFileSync(`${transcriptFile}.resp${protocol}`, transcripts.join("\n"))
      expect(failures.join("\n\n")).toBe("")
    }, 120_000)
  }
})

describe("raft-kv answers as redis-server", () => {
  beforeAll(async () => {
    await cluster.startAll()
    leader = await cluster.waitForLeader()
    follower = cluster.ids.find((id) => id !== leader)!
  }, 60_000)
  afterAll(() => cluster.shutdown())

  const outcomes = new Map<string, string | undefined>()
  afterAll(() => {
    if (writeExpected === undefined) return
    const failing = runs.filter((run) => outcomes.has(run.id) && outcomes.get(run.id) !== undefined)
    const lines = failing.map((run) => {
      const message = outcomes.get(run.id)!
      const step = message.split("\n").find((l) => l.trim().startsWith("step") || l.includes("connection setup") || l.includes("error:"))?.trim() ?? ""
      return `  [${JSON.stringify(run.id)}, ${JSON.stringify(step.slice(0, 160))}],`
    })
    fs.writeFileSync(
      writeExpected,
      `/**\n * Compatibility runs raft-kv does not pass yet (scenario | protocol | node), each with the first step that\n * differed when the list was written. Generated by COMPAT_WRITE_EXPECTED (see test/process/compat.test.ts).\n */\nexport const expectedFailures: ReadonlyMap<string, string> = new Map([\n${lines.join("\n")}\n])\n`
    )
  })

  for (const run of runs) {
    it(run.id, async () => {
      const raftKv: Side = {
        label: `raft-kv ${run.target}`,
        // On a follower run the first connection goes to a follower and the others to the leader.
        endpoint: (_name, index) => ({
          port: cluster.clientPort(run.target === "follower" && index === 0 ? follower : leader),
          host: TEST_HOST
        })
      }
      const result = await runScenario(run.scenario, { protocol: run.protocol, subject: raftKv, reference: redisSide(() => reference, "redis-server") })
      outcomes.set(run.id, result.ok ? undefined : result.message)
      const known = expectedFailures.get(run.id)
      if (strict || writeExpected !== undefined || known === undefined) {
        if (!result.ok && writeExpected === undefined) throw new Error(result.message)
      } else if (result.ok) {
        throw new Error(`${run.id} passes now: remove it from test/compat/expectedFailures.ts`)
      }
    })
  }
})
