/**
 * The node's counters for INFO stats (and, later, metrics): connections (and those refused over
 * --maxclients), commands, refusals by authentication and the ACL, keyspace hits and misses,
 * expired keys, bytes in and out. Plain numbers with one writer each (connections count commands,
 * bytes and refusals, the Applier counts lookups and expiries); readers only read.
 */
import { Context, Effect, Layer } from "effect"

/** Samples kept for instantaneous_ops_per_sec (Redis: 16 samples, one every 100 ms). */
const SAMPLES = 16

export class StatsService {
  connectionsReceived = 0
  rejectedConnections = 0
  commandsProcessed = 0
  errorReplies = 0
  /** Failed AUTH / HELLO AUTH attempts (INFO acl_access_denied_auth, as redis-server 7.2 names it). */
  aclDeniedAuth = 0
  /** Commands refused by the ACL for the command itself, and for one of its keys. */
  aclDeniedCommand = 0
  aclDeniedKey = 0
  hits = 0
  misses = 0
  expiredKeys = 0
  netInputBytes = 0
  netOutputBytes = 0
  private readonly samples: Array<{ readonly at: number; readonly commands: number }> = []

  /** Record the command count now (called every 100 ms). */
  sample(now: number): void {
    this.samples.push({ at: now, commands: this.commandsProcessed })
    if (this.samples.length > SAMPLES) this.samples.shift()
  }

  /** Commands per second over the last samples, as INFO's instantaneous_ops_per_sec. */
  opsPerSecond(): number {
    if (this.samples.length < 2) return 0
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    return last.at === first.at ? 0 : Math.round(((last.commands - first.commands) * 1000) / (last.at - first.at))
  }

  /** Count a refusal by the ACL or a failed authentication. */
  denied(reason: "auth" | "command" | "key"): void {
    if (reason === "auth") this.aclDeniedAuth++
    else if (reason === "command") this.aclDeniedCommand++
    else this.aclDeniedKey++
  }

  reset(): void {
    this.connectionsReceived = 0
    this.rejectedConnections = 0
    this.commandsProcessed = 0
    this.errorReplies = 0
    this.aclDeniedAuth = 0
    this.aclDeniedCommand = 0
    this.aclDeniedKey = 0
    this.hits = 0
    this.misses = 0
    this.expiredKeys = 0
    this.netInputBytes = 0
    this.netOutputBytes = 0
    this.samples.length = 0
  }
}

export class Stats extends Context.Tag("raft-kv/Stats")<Stats, StatsService>() {}

export const StatsLive = Layer.effect(Stats, Effect.sync(() => new StatsService()))
