/**
 * Idle garbage collection: a full collection once a node whose heap grew goes quiet.
 *
 * Why: a burst of writes (a million SETs through `redis-cli --pipe`) leaves a node with hundreds
 * of MB of garbage in V8's old generation, and V8 does not give it back on its own while the node
 * idles: its memory reducer, which should shrink the heap of an idle process, was measured not to
 * run here (an idle Raft node still allocates 1-5 MB/s for its ticks, heartbeats and the leader's
 * reaper, above the 1 MB/s V8 counts as idle), so the node's resident size stayed at 3-4 times
 * its live data for as long as it stayed idle. This part watches the node's work and the heap
 * and, when the heap has grown and the node has done (almost) nothing for a few seconds, runs two
 * full collections (the first frees the garbage, the second compacts the pages the first left
 * sparse, so V8 can unmap them).
 *
 * Idle means no client commands and no new log entries (at most `idleOperations` a sample, so a
 * monitoring INFO now and then does not count), little CPU (at most `idleCpu` of the sample: an
 * idle node uses 3-9%, one running a long KEYS or the reaper's removals far more, with only a
 * few operations a second) and no background work: no snapshot being written (the one a bulk
 * load ends with makes garbage for seconds after the last write) and no members of deleted
 * collections left to remove. Not a quiet event loop: on a busy 2-core machine
 * an idle leader's event-loop utilization measured 0.3-0.8 (its timers' work waits for a core),
 * so utilization cannot tell idle from loaded there.
 *
 * Safety: a full collection stops the event loop. With the memory engine's pairs outside the V8
 * heap (CompactStore.ts) the heap of a node holding a million keys is tens of MB of live objects
 * and a collection takes tens of ms, far below the election timeout (at least 1 s by default);
 * the pause is logged with every collection (`event=idle_gc`). It runs only after `quietMs` of an
 * idle node, only when the committed heap grew by `max(minGrowthBytes, baseline × growthRatio)`
 * since the last collection, and at most once per `minIntervalMs`: under load the node is not
 * idle, and an idle node does not grow its heap by that much, so it cannot fire again and again.
 * `--idle-gc off` turns it off.
 *
 * The decisions are a pure function (`decide`) of the samples, unit-tested; `runIdleGc` is the
 * fiber that samples the process and collects. V8 exposes `gc` only with `--expose-gc`: the flag is
 * set at run time and the function taken from a fresh context, so the node needs no command-line
 * flag of Node's own.
 */
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { performance } from "node:perf_hooks"
import { Clock, Duration, Effect } from "effect"
import { yieldToIo } from "../runtime/IoYield.js"
import { NodeStatus } from "./NodeStatus.js"
import { Stats } from "./Stats.js"

export interface IdleGcPolicy {
  /** How often the event loop and heap are sampled. */
  readonly sampleMs: number
  /** The node must have been idle this long. */
  readonly quietMs: number
  /** A sample counts as idle when the node did at most this many operations (commands and log entries) in it... */
  readonly idleOperations: number
  /** ...and used at most this fraction of the sample in CPU time (process-wide). */
  readonly idleCpu: number
  /** The committed heap must have grown by at least this much since the last collection... */
  readonly minGrowthBytes: number
  /** ...and by at least this fraction of what it was right after it. */
  readonly growthRatio: number
  /** At most one collection in this long. */
  readonly minIntervalMs: number
}

export const DEFAULT_IDLE_GC_POLICY: IdleGcPolicy = {
  sampleMs: 1000,
  quietMs: 5000,
  idleOperations: 10,
  idleCpu: 0.25,
  minGrowthBytes: 32 * 1024 * 1024,
  growthRatio: 0.5,
  minIntervalMs: 60_000
}

export interface IdleGcState {
  /** When the current run of idle samples began (undefined: the last sample was busy). */
  readonly quietSince: number | undefined
  /** When the last collection ran (or the watch started). */
  readonly lastAt: number
  /** The committed heap right after the last collection (or at the start). */
  readonly baseline: number
}

export interface IdleGcSample {
  readonly now: number
  /** Operations (client commands processed, log entries appended) since the previous sample. */
  readonly operations: number
  /** CPU time the process used since the previous sample (ms). */
  readonly cpuMs: number
  /** Whether background work was going on at the sample (a snapshot being written, garbage the reaper has still to remove). */
  readonly background: boolean
  /** V8's committed heap (`total_heap_size`). */
  readonly heapBytes: number
}

export const initialIdleGcState = (now: number, heapBytes: number): IdleGcState => ({ quietSince: undefined, lastAt: now, baseline: heapBytes })

/** Whether to collect now, and the state after this sample. The sample's window ends at `now`. */
export const decide = (policy: IdleGcPolicy, state: IdleGcState, sample: IdleGcSample): { readonly state: IdleGcState; readonly collect: boolean } => {
  const idle = sample.operations <= policy.idleOperations && sample.cpuMs <= policy.idleCpu * policy.sampleMs && !sample.background
  const quietSince = idle ? (state.quietSince ?? sample.now - policy.sampleMs) : undefined
  const next: IdleGcState = { ...state, quietSince }
  const grown = sample.heapBytes - state.baseline >= Math.max(policy.minGrowthBytes, state.baseline * policy.growthRatio)
  const collect =
    quietSince !== undefined && sample.now - quietSince >= policy.quietMs && sample.now - state.lastAt >= policy.minIntervalMs && grown
  return { state: next, collect }
}

/** The state after a collection that ended at `now` and left `heapBytes` committed. */
export const collected = (state: IdleGcState, now: number, heapBytes: number): IdleGcState => ({
  quietSince: undefined,
  lastAt: now,
  baseline: heapBytes
})

/** V8's `gc`, without Node's `--expose-gc` on the command line; undefined if V8 refuses. */
const exposeGc = (): (() => void) | undefined => {
  try {
    v8.setFlagsFromString("--expose-gc")
    const gc: unknown = vm.runInNewContext("gc")
    return typeof gc === "function" ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024)

/** The fiber: sample every `policy.sampleMs`, collect when `decide` says so. Production only (it reads the real process). */
export const runIdleGc = (policy: IdleGcPolicy = DEFAULT_IDLE_GC_POLICY) =>
  Effect.gen(function* () {
    const gc = exposeGc()
    if (gc === undefined) {
      yield* Effect.logWarning("idle GC unavailable: V8 did not expose gc; the node runs without it")
      return yield* Effect.never
    }
    const stats = yield* Stats
    const status = yield* NodeStatus
    const work = () => stats.commandsProcessed + status.raft.lastIndex
    let done = work()
    let cpuMark = process.cpuUsage()
    let state = initialIdleGcState(yield* Clock.currentTimeMillis, v8.getHeapStatistics().total_heap_size)
    for (;;) {
      yield* Effect.sleep(Duration.millis(policy.sampleMs))
      const operations = Math.max(0, work() - done)
      done = work()
      const cpuUsed = process.cpuUsage(cpuMark)
      cpuMark = process.cpuUsage()
      const decision = decide(policy, state, {
        now: yield* Clock.currentTimeMillis,
        operations,
        cpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
        background: status.snapshotting || status.garbageMembers() > 0,
        heapBytes: v8.getHeapStatistics().total_heap_size
      })
      state = decision.state
      if (!decision.collect) continue
      const before = process.memoryUsage()
      const cpuBefore = process.cpuUsage()
      const first = performance.now()
      gc()
      const firstMs = performance.now() - first
      // Let the sockets and timers that came due run between the two pauses.
      yield* yieldToIo
      const second = performance.now()
      gc()
      const secondMs = performance.now() - second
      const cpu = process.cpuUsage(cpuBefore)
      const after = process.memoryUsage()
      state = collected(state, yield* Clock.currentTimeMillis, after.heapTotal)
      cpuMark = process.cpuUsage()
      yield* Effect.logInfo(
        `idle GC: heap ${mib(before.heapUsed)}/${mib(before.heapTotal)} -> ${mib(after.heapUsed)}/${mib(after.heapTotal)} MiB used/committed, ` +
          `RSS ${mib(before.rss)} -> ${mib(after.rss)} MiB, pauses ${firstMs.toFixed(0)} + ${secondMs.toFixed(0)} ms ` +
          `(CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, GC threads included)`
      ).pipe(
        Effect.annotateLogs({
          event: "idle_gc",
          pauseMs: Math.round(Math.max(firstMs, secondMs)),
          heapUsedBefore: before.heapUsed,
          heapUsedAfter: after.heapUsed,
          rssBefore: before.rss,
          rssAfter: after.rss
        })
      )
    }
  })
