/**
 * Watches nodes' event loops from outside: every `intervalMs` it PINGs each node (answered by the
 * connection itself, no Raft round trip) over its own connection, one PING in flight per node, and
 * records the slowest answer. A PING still unanswered counts with its age so far, so a node that
 * stops answering altogether shows as slow, not as fine.
 *
 * The watchdog's own process can be late too (a busy machine, its own test's work): a 10 ms timer
 * measures how late this event loop runs, and the lateness that falls while a PING is in flight
 * is not charged to the node (a reply that arrived may simply not have been read yet). The raw
 * latencies are kept as well, for the report. A reply other than PONG (an error, a closed
 * connection) is kept too, as `failure()`.
 */
import { performance } from "node:perf_hooks"
import { RespClient } from "./respClient.js"

interface Probe {
  readonly id: number
  readonly client: RespClient
  /** When the PING in flight was sent (undefined: none in flight). */
  sentAt: number | undefined
  /** This process's own lateness while the PING in flight was out (ms). */
  ownLagInFlight: number
  /** The slowest PING charged to the node (its latency less this process's lateness meanwhile). */
  slowest: number
  /** The slowest PING as measured, lateness included. */
  slowestRaw: number
  answered: number
}

const LAG_TICK_MS = 10

export class PingWatchdog {
  private timer: NodeJS.Timeout | undefined
  private lagTimer: NodeJS.Timeout | undefined
  /** This process's own worst lateness since the start or the last `restart` (ms). */
  private ownLag = 0
  /** The first reply to a PING that was not PONG. */
  private firstFailure: string | undefined
  private stopped = false

  private constructor(private readonly probes: ReadonlyArray<Probe>) {}

  /** Start watching the nodes `ids` (their client ports from `portOf`). */
  static async start(ids: ReadonlyArray<number>, portOf: (id: number) => number, intervalMs = 50): Promise<PingWatchdog> {
    const probes = await Promise.all(
      ids.map(async (id) => ({ id, client: await RespClient.connect(portOf(id)), sentAt: undefined, ownLagInFlight: 0, slowest: 0, slowestRaw: 0, answered: 0 }))
    )
    const watchdog = new PingWatchdog(probes)
    watchdog.timer = setInterval(() => watchdog.tick(), intervalMs)
    let last = performance.now()
    watchdog.lagTimer = setInterval(() => {
      const now = performance.now()
      const late = Math.max(0, now - last - LAG_TICK_MS)
      last = now
      watchdog.ownLag = Math.max(watchdog.ownLag, late)
      for (const probe of watchdog.probes) if (probe.sentAt !== undefined) probe.ownLagInFlight += late
    }, LAG_TICK_MS)
    return watchdog
  }

  private tick(): void {
    for (const probe of this.probes) {
      if (probe.sentAt !== undefined) continue
      const sentAt = performance.now()
      probe.sentAt = sentAt
      probe.ownLagInFlight = 0
      void probe.client.call("PING").then((reply) => {
        if (reply !== "PONG") {
          // Its age keeps growing in `slowest()`; closing the connections in `stop` is no failure.
          if (!this.stopped) this.firstFailure ??= `node ${probe.id} answered PING with ${String(reply)}`
          return
        }
        const latency = performance.now() - sentAt
        probe.slowestRaw = Math.max(probe.slowestRaw, latency)
        probe.slowest = Math.max(probe.slowest, latency - probe.ownLagInFlight)
        probe.answered++
        probe.sentAt = undefined
      })
    }
  }

  /** The slowest PING charged to each node (ms) since the start or the last `restart`; one still in flight counts with its age. */
  slowest(): Record<number, number> {
    const now = performance.now()
    const out: Record<number, number> = {}
    for (const probe of this.probes) {
      const inFlight = probe.sentAt === undefined ? 0 : now - probe.sentAt - probe.ownLagInFlight
      out[probe.id] = Math.round(Math.max(probe.slowest, inFlight))
    }
    return out
  }

  /** The slowest PING per node as measured, this process's own lateness included (ms). */
  slowestRaw(): Record<number, number> {
    return Object.fromEntries(this.probes.map((probe) => [probe.id, Math.round(probe.slowestRaw)]))
  }

  /** This process's own worst lateness (ms) since the start or the last `restart`. */
  lag(): number {
    return Math.round(this.ownLag)
  }

  /** The first PING answered with something other than PONG, if any (since the start). */
  failure(): string | undefined {
    return this.firstFailure
  }

  /** PINGs answered per node since the start or the last `restart`. */
  answered(): Record<number, number> {
    return Object.fromEntries(this.probes.map((probe) => [probe.id, probe.answered]))
  }

  /** Start measuring afresh (one phase of a test at a time). */
  restart(): void {
    this.ownLag = 0
    for (const probe of this.probes) {
      probe.slowest = 0
      probe.slowestRaw = 0
      probe.answered = 0
    }
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.lagTimer !== undefined) clearInterval(this.lagTimer)
    for (const probe of this.probes) probe.client.close()
  }
}
