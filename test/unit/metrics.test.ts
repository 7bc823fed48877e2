/**
 * Metrics and operator logs, apart from a node: the Prometheus text rendering (checked against
 * the format's rules, and against the real `promtool` in test/process/metrics.test.ts), the
 * /health decision, the consensus events RaftNode logs, the JSON log line, and the per-command
 * timing a session records.
 */
import { Effect, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { jsonLine } from "../../src/cli/logFormat.js"
import { health } from "../../src/metrics/health.js"
import { NodeMetrics } from "../../src/metrics/NodeMetrics.js"
import { Counter, counter, escapeLabelValue, gauge, Histogram, histogram, Labelled, labelled, render } from "../../src/metrics/Registry.js"
import type { RaftStatus } from "../../src/raft/api.js"
import { EMPTY_CONFIGURATION } from "../../src/raft/Configuration.js"
import { raftEvents } from "../../src/node/RaftEvents.js"
import { ReplyQueue } from "../../src/server/ReplyQueue.js"
import { OK } from "../../src/resp/Reply.js"

describe("the Prometheus text format", () => {
  it("renders HELP, TYPE and one sample per gauge and counter", () => {
    const c = new Counter()
    c.inc()
    c.inc(4)
    expect(render([gauge("a_gauge", "A gauge.", () => 2.5), counter("b_total", "B.", c)])).toBe(
      "# HELP a_gauge A gauge.\n# TYPE a_gauge gauge\na_gauge 2.5\n# HELP b_total B.\n# TYPE b_total counter\nb_total 5\n"
    )
  })

  it("escapes label values (backslash, double quote, newline) and HELP text (backslash, newline)", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    const values = new Labelled("cmd", () => new Counter())
    values.get('we"ird\\\n').inc()
    expect(render([labelled("x_total", "line one\nback\\slash", "counter", values)])).toBe(
      '# HELP x_total line one\\nback\\\\slash\n# TYPE x_total counter\nx_total{cmd="we\\"ird\\\\\\n"} 1\n'
    )
  })

  it("renders a histogram as cumulative _bucket lines up to le=\"+Inf\", then _sum and _count", () => {
    const h = new Histogram([0.1, 1])
    for (const value of [0.05, 0.1, 0.5, 3]) h.observe(value)
    expect(render([histogram("h_seconds", "H.", h)])).toBe(
      [
        "# HELP h_seconds H.",
        "# TYPE h_seconds histogram",
        'h_seconds_bucket{le="0.1"} 2',
        'h_seconds_bucket{le="1"} 3',
        'h_seconds_bucket{le="+Inf"} 4',
        "h_seconds_sum 3.65",
        "h_seconds_count 4",
        ""
      ].join("\n")
    )
  })

  it("puts a labelled histogram's label before le, children sorted by label value", () => {
    const rtt = new Labelled("To", () => new Histogram([1]))
    rtt.get("3").observe(2)
    rtt.get("2").observe(0.5)
    const text = render([labelled("rtt_seconds", "R.", "histogram", rtt)])
    expect(text.split("\n").filter((line) => !line.startsWith("#"))).toEqual([
      'rtt_seconds_bucket{To="2",le="1"} 1',
      'rtt_seconds_bucket{To="2",le="+Inf"} 1',
      'rtt_seconds_sum{To="2"} 0.5',
      'rtt_seconds_count{To="2"} 1',
      'rtt_seconds_bucket{To="3",le="1"} 0',
      'rtt_seconds_bucket{To="3",le="+Inf"} 1',
      'rtt_seconds_sum{To="3"} 2',
      'rtt_seconds_count{To="3"} 1',
      ""
    ])
  })

  it("writes special values as Prometheus spells them", () => {
    expect(render([gauge("n", "N.", () => Number.NaN), gauge("p", "P.", () => Number.POSITIVE_INFINITY), gauge("m", "M.", () => Number.NEGATIVE_INFINITY)])).toContain(
      "n NaN\n# HELP p P.\n# TYPE p gauge\np +Inf\n# HELP m M.\n# TYPE m gauge\nm -Inf\n"
    )
  })

  it("puts an observation exactly on a bound into that bound's bucket", () => {
    const h = new Histogram([1, 2])
    h.observe(1)
    h.observe(2)
    h.observe(2.0001)
    expect(Array.from(h.counts)).toEqual([1, 1, 1])
  })
})

describe("/health", () => {
  const healthy = { leader: 2, term: 7, commitIndex: 100, appliedIndex: 95, member: true, stopping: false, maxApplyLag: 10 }

  it("is 200 with the leader, term and indexes when a leader is known and applied is close to commit", () => {
    expect(health(healthy)).toEqual({ status: 200, body: { health: "true", leader: 2, term: 7, commitIndex: 100, appliedIndex: 95 } })
    expect(health({ ...healthy, appliedIndex: 90 }).status).toBe(200)
  })

  it("is 503 with a reason otherwise", () => {
    expect(health({ ...healthy, leader: 0 })).toEqual({ status: 503, body: { health: "false", reason: "no leader" } })
    expect(health({ ...healthy, appliedIndex: 89 })).toEqual({ status: 503, body: { health: "false", reason: "applied index 89 is 11 entries behind commit" } })
    expect(health({ ...healthy, member: false }).body).toEqual({ health: "false", reason: "not a member of the cluster" })
    expect(health({ ...healthy, stopping: true }).body).toEqual({ health: "false", reason: "stopping" })
  })
})

describe("consensus events", () => {
  const status = (fields: Partial<RaftStatus>): RaftStatus => ({
    id: 1, role: "follower", term: 3, vote: 0, leader: 0, commit: 0, applied: 0, lastIndex: 0, lastTerm: 0, persisted: 0,
    snapshotIndex: 0, firstIndex: 1, configuration: EMPTY_CONFIGURATION, configurationIndex: 0, transferee: 0, lease: false,
    ...fields
  })

  it("logs a new term and the leader elected in it, with their fields", () => {
    const events = raftEvents(status({ term: 3 }), status({ term: 4, leader: 2 }))
    expect(events.map((e) => e.fields)).toEqual([
      { event: "term_changed", term: 4, previousTerm: 3, role: "follower" },
      { event: "leader_elected", leader: 2, term: 4, self: false }
    ])
    expect(events[1].message).toBe("leader elected: node 2 leads term 4")
    expect(raftEvents(status({ term: 4, role: "candidate" }), status({ term: 4, role: "leader", leader: 1 }))[0].fields).toEqual({
      event: "leader_elected", leader: 1, term: 4, self: true
    })
  })

  it("logs a lost leader once, and nothing when nothing changed", () => {
    expect(raftEvents(status({ term: 4, leader: 2 }), status({ term: 4, leader: 0, role: "pre-candidate" })).map((e) => e.fields)).toEqual([
      { event: "leader_lost", previousLeader: 2, previousTerm: 4, term: 4, role: "pre-candidate" }
    ])
    expect(raftEvents(status({ term: 4, leader: 2 }), status({ term: 4, leader: 2, commit: 9 }))).toEqual([])
  })
})

describe("--log-format json", () => {
  it("writes one JSON object with time, level, message and every annotation as a field", () => {
    const lines: Array<string> = []
    const capture = Logger.replace(Logger.defaultLogger, Logger.map(jsonLine, (line) => lines.push(line)))
    Effect.runSync(
      Effect.logInfo("leader elected: node 2 leads term 4").pipe(
        Effect.annotateLogs({ event: "leader_elected", leader: 2, term: 4 }),
        Effect.annotateLogs("node", 1),
        Effect.provide(capture)
      )
    )
    expect(lines).toHaveLength(1)
    const parsed = JSON.parse(lines[0])
    expect(parsed).toMatchObject({ level: "INFO", message: "leader elected: node 2 leads term 4", event: "leader_elected", leader: 2, term: 4, node: 1 })
    expect(new Date(parsed.time).getTime()).toBeGreaterThan(0)
  })
})

describe("command timing", () => {
  it("observes each timed reply slot once, when it is filled, and counts nothing for untimed ones", async () => {
    const metrics = new NodeMetrics()
    const queue = new ReplyQueue(() => {}, () => {})
    const set = metrics.commandTiming("set")
    const fill = queue.reserve(2, set)
    queue.reserve(2)(OK)
    expect(set.count).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 20))
    fill(OK)
    expect(set.count).toBe(1)
    expect(set.sum).toBeGreaterThanOrEqual(0.015)
    expect(metrics.commandTiming("set")).toBe(set)
  })
})
