/**
 * Replicas apply the same committed log cut into different apply batches, and must not diverge.
 *
 * A leader applies the few entries a turn commits; a follower catching up, or a node replaying its
 * WAL at start, applies hundreds in one engine batch (src/node/Applier.ts cuts a turn only at
 * APPLY_BATCH_BYTES); a follower behind the compacted log installs a snapshot part-way
 * (engine.restore, then StateMachine.reload) and a restarted memory node restores the newest
 * snapshot into an empty engine (StateMachine.load). The state machine promises (StateMachine.ts,
 * "Determinism") that none of this changes a reply or a byte of the state, although a batch's
 * entries see each other through one Txn, the reaper's collect entries take a different path when
 * the batch wrote members of the collection they reclaim (Keyspace.collectMembers), and the machine
 * keeps state of its own between batches (MachineState, Watches).
 *
 * A seeded generator plays a leader: clients on three nodes send string, hash, list, set and
 * sorted-set commands (options, WRONGTYPE, big collections deleted, overwritten, expired, moved,
 * flushed), MULTI/EXEC (as the one `transaction` entry EXEC sends, with reads inside, some under
 * WATCH), WATCH/UNWATCH, node restarts (new incarnations); the leader stamps its clock into every
 * entry (mostly forward, sometimes back, as a new leader's clock may be) and applies the log a turn
 * at a time, and after its turns its reaper (src/node/Reaper.ts, reproduced here over the leader's
 * engine, with collect slices smaller than the node's 4,096 now and then so that slices resume
 * inside collections of a few hundred members) proposes `expire` and `collect` entries, one in
 * flight at a time, which land in the log behind whatever clients sent meanwhile. At the end time jumps and the reaper drains everything.
 *
 * Then the log is applied to replicas on the memory engine and on LevelDB: one entry per batch,
 * random batches of 1..64, one batch, random batches with a snapshot taken part-way and read while
 * the source goes on writing (restored into a fresh engine, and a memory snapshot into LevelDB too),
 * a lagging replica that installs that snapshot over its own older state (the restored ones then
 * apply the rest as the Applier cuts a long turn, APPLY_BATCH_BYTES), and on memory an engine
 * without synchronous reads (the state machine's asynchronous read paths). Every
 * replica must end with the leader's engine contents byte for byte, the same in-memory state
 * (garbage count, key counts, clock), the same answers to a set of final reads, and the same reply
 * to every entry it applied. After the drain nothing may be left behind (no garbage record, no
 * member of a dead collection).
 *
 * A failure names the seed, the replica and its batch split, and the first differing reply (with
 * the entries around it) or engine key (with the entries that named it). APPLY_DETERMINISM_SEEDS=<n>
 * runs more seeds, APPLY_DETERMINISM_SEED=<s> one seed, APPLY_DETERMINISM_ENTRIES=<n> longer logs.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Chunk, Effect, Exit, Scheduler, Scope, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { decodeCommand, encodeCommand, type LoggedCommand, type Payload, type QueuedCommand } from "../../src/commands/CommandCodec.js"
import {
  expiryBound,
  Family,
  familyPrefix,
  MEMBER_HEADER,
  parseExpiryKey,
  parseMetaKey,
  parseWatchKey,
  readU64
} from "../../src/commands/keyspace/layout.js"
import { decodeMeta, isCollection } from "../../src/commands/keyspace/meta.js"
import { type EntryToApply, StateMachine } from "../../src/commands/StateMachine.js"
import type { EngineSnapshot, KvEngineService } from "../../src/engine/KvEngine.js"
import { LevelEngine } from "../../src/engine/LevelEngine.js"
import { MemoryEngine } from "../../src/engine/MemoryEngine.js"
import { APPLY_BATCH_BYTES } from "../../src/node/Applier.js"
import { COLLECT_BATCH, EXPIRE_BATCH } from "../../src/node/Reaper.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import { encodeReply } from "../../src/resp/encode.js"
import type { Reply } from "../../src/resp/Reply.js"
import { engineOf, withoutSynchronousReads } from "../support/commandRunner.js"

const SEEDS: ReadonlyArray<number> =
  process.env.APPLY_DETERMINISM_SEED !== undefined
    ? [Number(process.env.APPLY_DETERMINISM_SEED)]
    : Array.from({ length: Number(process.env.APPLY_DETERMINISM_SEEDS ?? 4) }, (_, i) => 1 + i * 7919)
/** Client entries per log (the reaper's and the drain's come on top). */
const ENTRIES = Number(process.env.APPLY_DETERMINISM_ENTRIES ?? 600)

const START = 1_700_000_000_000
const LEADER = 1
const INCARNATION_SPAN = 2 ** 32

// ---------------------------------------------------------------- cleanup (also on failure)

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  // Engines close before their directories go (LevelDB holds files open).
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const tempDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-apply-determinism-"))
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

type EngineKind = "memory" | "level"

const newEngine = async (kind: EngineKind): Promise<KvEngineService> => {
  const { engine, close } = await engineOf(kind === "memory" ? MemoryEngine.layer : LevelEngine.layer(path.join(tempDir(), "db")))
  cleanups.push(close)
  return engine
}

// ---------------------------------------------------------------- describing entries and keys

const show = (arg: Uint8Array): string => {
  const text = Buffer.from(arg).toString("latin1")
  return text.length > 24 ? `${JSON.stringify(text.slice(0, 12))}…(${text.length} bytes)` : /^[\x21-\x7e]+$/.test(text) ? text : JSON.stringify(text)
}

const showArgv = (argv: ReadonlyArray<Uint8Array>): string =>
  argv.length > 10 ? `${argv.slice(0, 8).map(show).join(" ")} … (${argv.length} args)` : argv.map(show).join(" ")

const describeEntry = (entry: EntryToApply): string => {
  const command = entry.command
  if (command === undefined) return `#${entry.index} (malformed entry)`
  const head = `#${entry.index} t=+${command.time - START}ms o${command.origin}/${command.seq % INCARNATION_SPAN}@${Math.floor(command.seq / INCARNATION_SPAN)}`
  const payload = command.payload
  switch (payload.kind) {
    case "command":
      return `${head} db${payload.db} ${showArgv(payload.argv)}`
    case "transaction":
      return `${head} EXEC${payload.session !== 0 ? ` (watch session ${payload.session % INCARNATION_SPAN})` : ""} [${payload.commands.map((queued) => `db${queued.db} ${showArgv(queued.argv)}`).join("; ")}]`
    case "watch":
      return `${head} WATCH session ${payload.session % INCARNATION_SPAN} db${payload.db} ${showArgv(payload.keys)}`
    case "unwatch":
      return `${head} UNWATCH session ${payload.session % INCARNATION_SPAN}`
    case "expire":
      return `${head} (reaper) expire ${payload.keys.map((key) => `${show(key.key)}@phys${key.db}/+${key.expireAt - START}ms`).join(" ")}`
    case "collect":
      return `${head} (reaper) collect ${payload.target} ${payload.id} limit ${payload.limit}`
    case "announce":
      return `${head} announce node ${payload.node} ${payload.address}`
  }
}

const describeKey = (key: Buffer): string => {
  switch (key[0]) {
    case Family.Meta: {
      const { db, key: name } = parseMetaKey(key)
      return `meta record of ${show(name)} in physical db ${db}`
    }
    case Family.Member:
      return `member of version ${readU64(key, 1)}, part ${key.subarray(MEMBER_HEADER).toString("hex")}`
    case Family.Expiry: {
      const { expireAt, db, key: name } = parseExpiryKey(key)
      return `expiry index of ${show(name)} in physical db ${db} at +${expireAt - START}ms`
    }
    case Family.Garbage:
      return `garbage record of version ${readU64(key, 1)}`
    case Family.FlushedDb:
      return `flushed-database record of physical db ${key.readUInt32BE(1)}`
    case Family.Watch: {
      const { origin, session } = parseWatchKey(key)
      return `watch session ${session % INCARNATION_SPAN} of node ${origin}`
    }
    default:
      return `state record ${JSON.stringify(key.toString("latin1"))}`
  }
}

/** The user key or version a differing engine key belongs to, to find the entries that touched it. */
const mentionOf = (key: Buffer): RegExp | undefined => {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  switch (key[0]) {
    case Family.Meta:
      return new RegExp(`(^|[ \\[;])${escape(show(parseMetaKey(key).key))}( |$|;|\\])`)
    case Family.Expiry:
      return new RegExp(`(^|[ \\[;])${escape(show(parseExpiryKey(key).key))}( |$|;|\\]|@)`)
    case Family.Member:
    case Family.Garbage:
      return new RegExp(`collect version ${readU64(key, 1)} `)
    default:
      return undefined
  }
}

// ---------------------------------------------------------------- the generator

class Draw {
  constructor(readonly random: () => number) {}
  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low + 1))
  }
  chance(p: number): boolean {
    return this.random() < p
  }
  pick<T>(xs: ReadonlyArray<T>): T {
    return xs[Math.floor(this.random() * xs.length)]
  }
}

type Kind = "string" | "hash" | "list" | "set" | "zset" | "any"

/** Each type has keys it prefers; they overlap, and one pick in seven is from all 20, so types collide. */
const PREFERRED: Record<Kind, ReadonlyArray<number>> = {
  string: [0, 1, 2, 3, 4, 5],
  hash: [4, 5, 6, 7, 8, 9],
  list: [8, 9, 10, 11, 12, 13],
  set: [12, 13, 14, 15, 16],
  zset: [15, 16, 17, 18, 19],
  any: Array.from({ length: 20 }, (_, i) => i)
}
const VALUES = ["", "x", "hello", "42", "-7", "0", "3.5", "1e3", "abc", "9223372036854775807", "\x00\xff\r\n"]
const SCORES = ["0", "-0", "1", "-1", "2.5", "3", "7", "1e3", "-1.5e-3", "inf", "-inf", "+inf", "12345678901234"]
const BOUNDS = ["-inf", "+inf", "0", "(0", "1", "(1", "2.5", "(3", "7", "-1"]

class CommandGenerator {
  private bulk = 0
  constructor(
    private readonly d: Draw,
    /** The applied clock's value when the entry is appended (PEXPIREAT, EXPIREAT). */
    private readonly now: () => number
  ) {}

  key(kind: Kind): string {
    return `k${this.d.chance(0.15) ? this.d.int(0, 19) : this.d.pick(PREFERRED[kind])}`
  }
  member(): string {
    return this.d.chance(0.85) ? `m${this.d.int(0, 24)}` : `b${this.d.int(0, 400)}`
  }
  value(): string {
    if (this.d.chance(0.01)) return this.huge()
    return this.d.chance(0.4) ? String(this.d.int(-20, 100)) : this.d.pick(VALUES)
  }
  /** Now and then a value of 64-256 KiB, so the memory engine fills, frees and compacts its 1 MiB buffers. */
  huge(): string {
    const size = this.d.int(64, 256) * 1024
    return `huge${this.d.int(0, 9999)}:`.padEnd(size, "0123456789abcdef")
  }
  score(): string {
    return this.d.chance(0.5) ? String(this.d.int(-5, 20)) : this.d.pick(SCORES)
  }
  count(): Array<string> {
    return this.d.chance(0.5) ? [] : [String(this.d.int(0, 6))]
  }
  /** 60-320 new members: big enough that deleting the collection leaves a garbage record for the reaper. */
  bulkMembers(): Array<string> {
    const n = this.d.int(60, 320)
    const from = (this.bulk += n) - n
    return Array.from({ length: n }, (_, i) => `bulk${from + i}`)
  }

  string(): Array<string> {
    const d = this.d
    const k = this.key("string")
    switch (d.int(0, 11)) {
      case 0:
      case 1:
      case 2: {
        const argv = ["SET", k, this.value()]
        const expiry = d.random()
        if (expiry < 0.15) argv.push("EX", String(d.int(1, 3)))
        else if (expiry < 0.3) argv.push("PX", String(d.int(10, 2500)))
        else if (expiry < 0.36) argv.push("KEEPTTL")
        else if (expiry < 0.4) argv.push("PXAT", String(this.now() + d.int(-200, 2500)))
        const condition = d.random()
        if (condition < 0.15) argv.push("NX")
        else if (condition < 0.3) argv.push("XX")
        if (d.chance(0.2)) argv.push("GET")
        return argv
      }
      case 3:
        return d.pick([["INCR", k], ["DECR", k], ["INCRBY", k, String(d.int(-5, 5))], ["INCRBYFLOAT", k, d.pick(["1.5", "-0.25", "1e2"])]])
      case 4:
        return ["APPEND", k, this.value()]
      case 5:
        return ["SETRANGE", k, String(d.int(0, 20)), this.value()]
      case 6:
        return d.chance(0.5) ? ["GETDEL", k] : ["GETEX", k, ...d.pick([[], ["EX", "2"], ["PX", String(d.int(10, 2000))], ["PERSIST"]])]
      case 7:
        return ["MSET", k, this.value(), this.key("string"), this.value()]
      case 8:
        return ["SETEX", k, String(d.int(1, 3)), this.value()]
      case 9:
        return ["GETSET", k, this.value()]
      case 10:
        return ["MSETNX", k, this.value(), this.key("any"), this.value()]
      default:
        return ["SETNX", k, this.value()]
    }
  }

  keyspace(): Array<string> {
    const d = this.d
    const k = this.key("any")
    switch (d.int(0, 9)) {
      case 0:
      case 1:
        return ["DEL", k, ...(d.chance(0.3) ? [this.key("any")] : [])]
      case 2:
        return ["UNLINK", k]
      case 3:
        return ["EXPIRE", k, String(d.int(1, 3)), ...(d.chance(0.3) ? [d.pick(["NX", "XX", "GT", "LT"])] : [])]
      case 4:
        return d.pick([["PEXPIRE", k, String(d.int(1, 2500))], ["PEXPIREAT", k, String(this.now() + d.int(-500, 2500))], ["PERSIST", k], ["EXPIRE", k, "-1"]])
      case 5:
        return [d.pick(["RENAME", "RENAME", "RENAMENX"]), k, this.key("any")]
      case 6:
        return ["COPY", k, this.key("any"), ...(d.chance(0.4) ? ["REPLACE"] : []), ...(d.chance(0.2) ? ["DB", String(d.int(0, 1))] : [])]
      case 7:
        return ["MOVE", k, String(d.int(0, 1))]
      case 8:
        return ["TOUCH", k]
      default:
        return ["EXPIRE", k, String(d.int(1, 2)), "NX"]
    }
  }

  hash(): Array<string> {
    const d = this.d
    const k = this.key("hash")
    switch (d.int(0, 7)) {
      case 0:
      case 1:
        return ["HSET", k, ...Array.from({ length: d.int(1, 3) }, () => [this.member(), this.value()]).flat()]
      case 2:
        return ["HDEL", k, this.member(), ...(d.chance(0.3) ? [this.member()] : [])]
      case 3:
        return ["HINCRBY", k, this.member(), String(d.int(-10, 10))]
      case 4:
        return ["HINCRBYFLOAT", k, this.member(), d.pick(["0.5", "-1.25", "3", "1e-2"])]
      case 5:
        return ["HSETNX", k, this.member(), this.value()]
      case 6:
        return ["HMSET", k, this.member(), this.value(), this.member(), this.value()]
      default:
        return ["HSET", k, ...this.bulkMembers().flatMap((field) => [field, this.value()])]
    }
  }

  list(): Array<string> {
    const d = this.d
    const k = this.key("list")
    const end = () => d.pick(["LEFT", "RIGHT"])
    switch (d.int(0, 14)) {
      case 0:
      case 1:
        return [d.pick(["LPUSH", "RPUSH"]), k, ...Array.from({ length: d.int(1, 4) }, () => this.member())]
      case 2:
        return [d.pick(["LPUSHX", "RPUSHX"]), k, this.member()]
      case 3:
      case 4:
        return [d.pick(["LPOP", "RPOP"]), k, ...this.count()]
      case 5:
        return ["LINSERT", k, d.pick(["BEFORE", "AFTER"]), this.member(), this.member()]
      case 6:
        return ["LREM", k, String(d.int(-2, 2)), this.member()]
      case 7:
        return ["LTRIM", k, String(d.int(-8, 8)), String(d.int(-8, 300))]
      case 8:
        return ["LSET", k, String(d.int(-4, 6)), this.value()]
      case 9:
        return ["LMOVE", k, this.key("list"), end(), end()]
      case 10:
        return ["RPOPLPUSH", k, this.key("list")]
      case 11:
        return ["LMPOP", "2", k, this.key("list"), end(), ...(d.chance(0.5) ? ["COUNT", String(d.int(1, 5))] : [])]
      case 12:
        return ["BLPOP", k, this.key("list"), "0"]
      case 13:
        return ["BLMOVE", k, this.key("list"), end(), end(), "0.5"]
      default:
        return [d.pick(["RPUSH", "LPUSH"]), k, ...this.bulkMembers()]
    }
  }

  set(): Array<string> {
    const d = this.d
    const k = this.key("set")
    switch (d.int(0, 9)) {
      case 0:
      case 1:
        return ["SADD", k, ...Array.from({ length: d.int(1, 4) }, () => this.member())]
      case 2:
        return ["SREM", k, this.member(), ...(d.chance(0.3) ? [this.member()] : [])]
      case 3:
        return ["SPOP", k, ...(d.chance(0.5) ? [] : [String(d.int(0, d.chance(0.2) ? 400 : 5))])]
      case 4:
        return ["SMOVE", k, this.key("set"), this.member()]
      case 5:
        return ["SINTERSTORE", this.key("set"), k, this.key("set")]
      case 6:
        return ["SUNIONSTORE", this.key("set"), k, this.key("set"), ...(d.chance(0.3) ? [this.key("set")] : [])]
      case 7:
        return ["SDIFFSTORE", this.key("set"), k, this.key("set")]
      default:
        return ["SADD", k, ...this.bulkMembers()]
    }
  }

  zset(): Array<string> {
    const d = this.d
    const k = this.key("zset")
    const sources = () => {
      const n = d.int(1, 3)
      const keys = Array.from({ length: n }, () => this.key(d.chance(0.8) ? "zset" : "set"))
      const weights = d.chance(0.3) ? ["WEIGHTS", ...keys.map(() => d.pick(["1", "2", "-1", "0.5", "0"]))] : []
      return [String(n), ...keys, ...weights]
    }
    switch (d.int(0, 14)) {
      case 0:
      case 1: {
        const flags: Array<string> = []
        const r = d.random()
        if (r < 0.15) flags.push("NX")
        else if (r < 0.3) flags.push("XX")
        if (!flags.includes("NX") && d.chance(0.2)) flags.push(d.pick(["GT", "LT"]))
        if (d.chance(0.2)) flags.push("CH")
        if (d.chance(0.1)) return ["ZADD", k, ...flags, "INCR", this.score(), this.member()]
        return ["ZADD", k, ...flags, ...Array.from({ length: d.int(1, 3) }, () => [this.score(), this.member()]).flat()]
      }
      case 2:
        return ["ZINCRBY", k, this.score(), this.member()]
      case 3:
        return ["ZREM", k, this.member(), ...(d.chance(0.3) ? [this.member()] : [])]
      case 4:
        return [d.pick(["ZPOPMIN", "ZPOPMAX"]), k, ...this.count()]
      case 5:
        return ["ZREMRANGEBYSCORE", k, d.pick(BOUNDS), d.pick(BOUNDS)]
      case 6:
        return ["ZREMRANGEBYRANK", k, String(d.int(-5, 5)), String(d.int(-5, 50))]
      case 7:
        return ["ZREMRANGEBYLEX", k, d.pick(["-", "[m1", "(m2", "[b"]), d.pick(["+", "[m5", "(m9", "[bulk5"])]
      case 8:
        return ["ZUNIONSTORE", this.key("zset"), ...sources(), ...(d.chance(0.3) ? ["AGGREGATE", d.pick(["SUM", "MIN", "MAX"])] : [])]
      case 9:
        return ["ZINTERSTORE", this.key("zset"), ...sources()]
      case 10:
        return ["ZDIFFSTORE", this.key("zset"), "2", k, this.key("zset")]
      case 11:
        return ["ZMPOP", "2", k, this.key("zset"), d.pick(["MIN", "MAX"]), ...(d.chance(0.5) ? ["COUNT", String(d.int(1, 4))] : [])]
      case 12:
        return [d.pick(["BZPOPMIN", "BZPOPMAX"]), k, "0"]
      default:
        return ["ZADD", k, ...this.bulkMembers().flatMap((member) => [this.score(), member])]
    }
  }

  /** Reads, as they reach the log: inside MULTI/EXEC (every other read is served through ReadIndex). */
  read(): Array<string> {
    const d = this.d
    const k = this.key("any")
    return d.pick([
      ["GET", k],
      ["MGET", k, this.key("any")],
      ["STRLEN", k],
      ["GETRANGE", k, "0", "5"],
      ["HGETALL", k],
      ["HGET", k, this.member()],
      ["HLEN", k],
      ["HRANDFIELD", k, "-3"],
      ["LRANGE", k, "0", "-1"],
      ["LINDEX", k, String(d.int(-3, 3))],
      ["LLEN", k],
      ["LPOS", k, this.member()],
      ["SMEMBERS", k],
      ["SCARD", k],
      ["SISMEMBER", k, this.member()],
      ["SRANDMEMBER", k, String(d.int(-5, 5))],
      ["SINTER", k, this.key("set")],
      ["ZRANGE", k, "0", "-1", "WITHSCORES"],
      ["ZRANGE", k, d.pick(BOUNDS), d.pick(BOUNDS), "BYSCORE"],
      ["ZSCORE", k, this.member()],
      ["ZRANK", k, this.member()],
      ["ZCARD", k],
      ["ZRANDMEMBER", k, "2"],
      ["TTL", k],
      ["PTTL", k],
      ["EXPIRETIME", k],
      ["EXISTS", k, this.key("any")],
      ["TYPE", k],
      ["DBSIZE"],
      ["KEYS", "*"],
      ["SCAN", "0", "COUNT", "5"],
      ["RANDOMKEY"],
      ["HSCAN", k, "0"],
      ["SSCAN", k, "0"],
      ["ZSCAN", k, "0"]
    ])
  }

  write(): Array<string> {
    const r = this.d.random()
    if (r < 0.2) return this.string()
    if (r < 0.34) return this.keyspace()
    if (r < 0.49) return this.hash()
    if (r < 0.66) return this.list()
    if (r < 0.82) return this.set()
    return this.zset()
  }
}

const argvOf = (argv: ReadonlyArray<string>) => argv.map((arg) => Buffer.from(arg, "latin1"))

interface Log {
  readonly seed: number
  readonly entries: ReadonlyArray<EntryToApply>
  /** Each entry's size in the log (bytes): how the Applier cuts a turn into batches. */
  readonly sizes: ReadonlyArray<number>
  /** The leader's replies, RESP3 bytes (latin1), one per entry. */
  readonly replies: ReadonlyArray<string>
  /** The leader's apply batches, as [first, last] indexes. */
  readonly batches: ReadonlyArray<readonly [number, number]>
  readonly final: FinalState
  /** The leader's clock at the end: the final reads' now. */
  readonly now: number
}

const wire = (reply: Reply): string => encodeReply(reply, 3).toString("latin1")

/**
 * Effects run on a scheduler that yields with setImmediate: the default one falls back to
 * setTimeout(0) after 2,048 ticks, and the file spent a third of its time waiting on those.
 */
const scheduler = Scheduler.makeBatched((runBatch) => setImmediate(runBatch))
const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(Effect.withScheduler(effect, scheduler))

const apply = async (machine: StateMachine, batch: ReadonlyArray<EntryToApply>): Promise<ReadonlyArray<Reply>> =>
  (await run(machine.apply(batch, batch[batch.length - 1].index))).replies

const collect = <A>(stream: Stream.Stream<A, unknown>): Promise<ReadonlyArray<A>> => run(Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray))

/** What the leader's reaper would propose now (src/node/Reaper.ts, reapOnce), `now` its clock; small slices now and then. */
const reaperProposal = async (engine: KvEngineService, now: number, d: Draw): Promise<Payload | undefined> => {
  const due = await collect(engine.iterate({ gte: familyPrefix(Family.Expiry), lt: expiryBound(now + 1), limit: EXPIRE_BATCH }))
  if (due.length > 0) {
    return {
      kind: "expire",
      keys: due.map(([key]) => {
        const parsed = parseExpiryKey(key)
        return { db: parsed.db, key: Buffer.from(parsed.key), expireAt: parsed.expireAt }
      })
    }
  }
  // The node always asks for COLLECT_BATCH; smaller slices make the resumption points (and the
  // batches that hold a slice's neighbours) happen with collections of a few hundred members.
  const limit = d.chance(0.5) ? COLLECT_BATCH : d.int(1, 120)
  const [garbage] = await collect(engine.iterate({ prefix: familyPrefix(Family.Garbage), limit: 1 }))
  if (garbage !== undefined) return { kind: "collect", target: "version", id: readU64(garbage[0], 1), limit }
  const [flushed] = await collect(engine.iterate({ prefix: familyPrefix(Family.FlushedDb), limit: 1 }))
  if (flushed !== undefined) return { kind: "collect", target: "db", id: Buffer.from(flushed[0]).readUInt32BE(1), limit }
  return undefined
}

/**
 * The log a leader builds: client entries from three nodes, the leader's clock in each, applied by
 * the leader a turn at a time, its reaper's entries proposed after its turns (one in flight).
 */
const buildLog = async (seed: number): Promise<Log> => {
  const d = new Draw(seededRandom(seed))
  const engine = await newEngine("memory")
  const machine = await run(StateMachine.load(engine))
  const entries: Array<EntryToApply> = []
  const sizes: Array<number> = []
  const replies: Array<string> = []
  const batches: Array<readonly [number, number]> = []
  let clock = START
  const generate = new CommandGenerator(d, () => clock)
  /** Per node: incarnation, last sequence number, its client's watch session (0: none) and that client's db. */
  const nodes = new Map([1, 2, 3].map((id) => [id, { incarnation: 1, counter: 0, sessions: 0, watching: 0, db: 0 }]))
  const append = (origin: number, payload: Payload | undefined) => {
    const node = nodes.get(origin)!
    const seq = node.incarnation * INCARNATION_SPAN + ++node.counter
    const index = entries.length + 1
    if (payload === undefined) {
      entries.push({ index, command: undefined })
      sizes.push(19)
      return
    }
    // Through the codec, as every entry reaches the state machine (argv are views of the entry's bytes).
    const data = encodeCommand({ origin, seq, time: clock, payload })
    const command: LoggedCommand | undefined = decodeCommand(data)
    if (command === undefined) throw new Error(`entry ${index} does not decode: ${JSON.stringify(payload)}`)
    entries.push({ index, command })
    sizes.push(data.length)
  }
  let applied = 0
  let reaperInFlight = 0
  const leaderTurn = async (upTo: number) => {
    const batch = entries.slice(applied, upTo)
    for (const reply of await apply(machine, batch)) replies.push(wire(reply))
    batches.push([applied + 1, upTo])
    applied = upTo
  }
  const reaperLooks = async () => {
    if (reaperInFlight > applied) return false
    const proposal = await reaperProposal(engine, clock, d)
    if (proposal === undefined) return false
    append(LEADER, proposal)
    reaperInFlight = entries.length
    return true
  }

  const clientEntry = () => {
    const origin = d.int(1, 3)
    const node = nodes.get(origin)!
    const r = d.random()
    if (r < 0.004) {
      // The node restarts: a new incarnation; its client's watch session is orphaned.
      node.incarnation++
      node.counter = 0
      node.sessions = 0
      node.watching = 0
      return
    }
    if (r < 0.007) return append(origin, { kind: "announce", node: origin, address: `10.0.0.${origin}:${d.int(6379, 6390)}` })
    if (r < 0.009) return append(origin, undefined)
    if (r < 0.012) return append(origin, { kind: "command", db: d.int(0, 1), argv: argvOf(["FLUSHDB"]) })
    if (r < 0.0135) return append(origin, { kind: "command", db: 0, argv: argvOf(d.chance(0.5) ? ["FLUSHALL"] : ["SWAPDB", "0", "1"]) })
    if (r < 0.05) {
      // WATCH (again), then later EXEC or UNWATCH.
      if (node.watching === 0) {
        node.watching = node.incarnation * INCARNATION_SPAN + ++node.sessions
        node.db = d.chance(0.85) ? 0 : 1
      }
      const keys = Array.from({ length: d.int(1, 3) }, () => generate.key("any"))
      return append(origin, { kind: "watch", session: node.watching, db: node.db, keys: argvOf(keys) })
    }
    if (r < 0.13) {
      const db = node.watching !== 0 ? node.db : d.chance(0.85) ? 0 : 1
      const commands: Array<QueuedCommand> = Array.from({ length: d.int(1, 6) }, () => ({ db, argv: argvOf(d.chance(0.45) ? generate.read() : generate.write()) }))
      const session = node.watching
      node.watching = 0
      return append(origin, { kind: "transaction", session, commands })
    }
    if (r < 0.14 && node.watching !== 0) {
      const session = node.watching
      node.watching = 0
      return append(origin, { kind: "unwatch", session })
    }
    append(origin, { kind: "command", db: d.chance(0.9) ? 0 : 1, argv: argvOf(generate.write()) })
  }

  while (entries.length < ENTRIES) {
    // The leader's clock: mostly small steps, sometimes a second or more (expiries come due),
    // now and then back a little (a new leader whose clock is behind: the applied clock holds).
    const step = d.random()
    clock += step < 0.05 ? d.int(500, 3000) : step < 0.07 ? -d.int(1, 400) : d.int(0, 25)
    if (applied < entries.length && d.chance(0.3)) {
      await leaderTurn(Math.min(entries.length, applied + d.int(1, 6)))
      if (d.chance(0.7)) await reaperLooks()
      continue
    }
    clientEntry()
  }
  // The end: everything applies, time moves past every expiry, and the reaper drains its backlog.
  clock += 10_000
  for (let rounds = 0; ; rounds++) {
    if (applied < entries.length) await leaderTurn(entries.length)
    if (!(await reaperLooks())) break
    if (rounds > 2000) throw new Error(`seed ${seed}: the reaper did not drain`)
  }
  return { seed, entries, sizes, replies, batches, final: await finalState(engine, machine, clock), now: clock }
}

// ---------------------------------------------------------------- replicas

interface FinalState {
  /** Every engine pair, in engine order. */
  readonly dump: ReadonlyArray<readonly [Buffer, Buffer]>
  readonly appliedIndex: number
  /** The machine's in-memory state: what INFO reports and what the next batch starts from. */
  readonly memory: string
  /** Replies to reads of every key, served as the node serves reads. */
  readonly reads: ReadonlyArray<string>
}

/** Served as the node serves reads (at the leader's last clock): the contents are in the dump, these check the machine's view of them. */
const FINAL_READS: ReadonlyArray<ReadonlyArray<string>> = [
  ["DBSIZE"],
  ["KEYS", "*"],
  ...Array.from({ length: 20 }, (_, i) => `k${i}`).flatMap((k) => [
    ["TYPE", k],
    ["PTTL", k]
  ])
]

const finalState = async (engine: KvEngineService, machine: StateMachine, now: number): Promise<FinalState> => {
  const dump = (await collect(engine.iterate({}))).map(([key, value]) => [Buffer.from(key), Buffer.from(value)] as const)
  const reads: Array<string> = []
  for (const db of [0, 1]) {
    const ks = machine.readContext(now)
    for (const argv of FINAL_READS) {
      const reply = machine.read(ks, { kind: "command", db, argv: argvOf(argv) })
      reads.push(`db${db} ${argv.join(" ")} -> ${wire(Effect.isEffect(reply) ? await run(reply) : reply)}`)
    }
  }
  const memory = JSON.stringify({
    garbageMembers: machine.garbageMembers,
    keyspace: machine.keyspaceInfo(),
    clock: machine.clock,
    physical: Array.from({ length: 16 }, (_, db) => machine.physical(db)),
    addresses: [1, 2, 3].map((id) => machine.clientAddressOf(id) ?? null)
  })
  return { dump, appliedIndex: await run(engine.appliedIndex), memory, reads }
}

interface Replica {
  readonly name: string
  engine: KvEngineService
  machine: StateMachine
  /** Its reply to each entry it applied (undefined: covered by a snapshot it installed). */
  readonly replies: Array<string | undefined>
  readonly batches: Array<readonly [number, number]>
  /** How its history went, for the failure message. */
  readonly notes: Array<string>
  /** The entries a snapshot it installed covered (first, last): it never applied them itself. */
  covered?: readonly [number, number]
}

const newReplica = async (name: string, engine: KvEngineService): Promise<Replica> => ({
  name,
  engine,
  machine: await run(StateMachine.load(engine)),
  replies: [],
  batches: [],
  notes: []
})

/** Apply entries from..to-1 (positions) in batches of `size(at)` entries, `at` the batch's first position. */
const applyRange = async (replica: Replica, entries: ReadonlyArray<EntryToApply>, from: number, to: number, size: (at: number) => number): Promise<void> => {
  let at = from
  while (at < to) {
    const end = Math.min(to, at + Math.max(1, size(at)))
    const batch = entries.slice(at, end)
    const replies = await apply(replica.machine, batch)
    replies.forEach((reply, i) => (replica.replies[at + i] = wire(reply)))
    replica.batches.push([at + 1, end])
    at = end
  }
}

const describeBatches = (batches: ReadonlyArray<readonly [number, number]>, around?: number): string => {
  const sizes = batches.map(([first, last]) => last - first + 1)
  const summary = `${batches.length} batches (sizes ${sizes.length > 30 ? `${sizes.slice(0, 30).join(",")},…` : sizes.join(",")})`
  if (around === undefined) return summary
  const holding = batches.find(([first, last]) => first <= around && around <= last)
  return holding === undefined ? summary : `${summary}; entry #${around} applied in the batch #${holding[0]}..#${holding[1]}`
}

const compare = (log: Log, expected: FinalState, replica: Replica, actual: FinalState): void => {
  const header = `seed ${log.seed}, replica "${replica.name}"${replica.notes.length > 0 ? ` (${replica.notes.join("; ")})` : ""}, ${describeBatches(replica.batches)}`
  const around = (index: number, radius = 6) =>
    log.entries
      .slice(Math.max(0, index - 1 - radius), index + radius)
      .map((entry) => `${entry.index === index ? ">" : " "} ${describeEntry(entry)}`)
      .join("\n")
  for (let i = 0; i < log.entries.length; i++) {
    const got = replica.replies[i]
    const covered = replica.covered !== undefined && replica.covered[0] <= i + 1 && i + 1 <= replica.covered[1]
    if (covered !== (got === undefined)) throw new Error(`${header}\nentry #${i + 1} ${covered ? "is covered by the snapshot, yet was applied" : "was never applied"}`)
    if (got === undefined || got === log.replies[i]) continue
    throw new Error(
      `${header}\nreply to entry #${i + 1} differs (${describeBatches(replica.batches, i + 1)}; the leader: ${describeBatches(log.batches, i + 1)})\n` +
        `  leader:  ${JSON.stringify(log.replies[i].slice(0, 600))}\n  replica: ${JSON.stringify(got.slice(0, 600))}\nentries around it:\n${around(i + 1)}`
    )
  }
  const a = expected.dump
  const b = actual.dump
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length && i < b.length && a[i][0].equals(b[i][0]) && a[i][1].equals(b[i][1])) continue
    const key = i >= a.length ? b[i][0] : i >= b.length ? a[i][0] : Buffer.compare(a[i][0], b[i][0]) <= 0 ? a[i][0] : b[i][0]
    const valueIn = (dump: ReadonlyArray<readonly [Buffer, Buffer]>) => {
      const found = dump.find(([k]) => k.equals(key))
      return found === undefined ? "(absent)" : found[1].length === 0 ? "(empty value)" : found[1].length > 80 ? `${found[1].subarray(0, 80).toString("hex")}… (${found[1].length} bytes)` : found[1].toString("hex")
    }
    const mention = mentionOf(key)
    const touching = mention === undefined ? [] : log.entries.filter((entry) => mention.test(describeEntry(entry))).slice(-12)
    throw new Error(
      `${header}\nengine contents differ (${a.length} pairs on the leader, ${b.length} on the replica) first at engine key ${key.toString("hex")}: ${describeKey(key)}\n` +
        `  leader:  ${valueIn(a)}\n  replica: ${valueIn(b)}\n` +
        `the last entries that name it:\n${touching.map((entry) => `  ${describeEntry(entry)}  [${describeBatches(replica.batches, entry.index).split("; ")[1] ?? ""}]`).join("\n") || "  (none found)"}`
    )
  }
  expect(actual.appliedIndex, `${header}: applied index`).toBe(expected.appliedIndex)
  expect(actual.memory, `${header}: the machine's in-memory state`).toBe(expected.memory)
  expect(actual.reads, `${header}: final reads`).toEqual(expected.reads)
}

/** After the drain: no garbage record, no flushed database left, every member belongs to a live collection. */
const expectNothingLeftBehind = (log: Log): void => {
  const live = new Set<number>()
  const leftovers: Array<string> = []
  for (const [key, value] of log.final.dump) {
    if (key[0] === Family.Meta) {
      const meta = decodeMeta(value)
      if (meta !== undefined && isCollection(meta)) live.add(meta.version)
    }
  }
  for (const [key] of log.final.dump) {
    if (key[0] === Family.Garbage || key[0] === Family.FlushedDb || (key[0] === Family.Member && !live.has(readU64(key, 1)))) leftovers.push(describeKey(key))
  }
  expect(leftovers.slice(0, 10), `seed ${log.seed}: left behind after the reaper drained (${leftovers.length})`).toEqual([])
  expect(JSON.parse(log.final.memory).garbageMembers, `seed ${log.seed}: garbage members counted after the drain`).toBe(0)
}

const logs = new Map<number, Promise<Log>>()
/** One log per seed, shared by the memory and LevelDB cases (its leader's engine is a memory engine, closed with the file). */
const logFor = (seed: number): Promise<Log> => {
  let log = logs.get(seed)
  if (log === undefined) {
    log = buildLog(seed)
    logs.set(seed, log)
  }
  return log
}

/** Every replica of one engine kind applies `log`; each is compared with the leader. The seed also draws the batch sizes and the snapshot point. */
const replicate = async (log: Log, kind: EngineKind): Promise<void> => {
  const d = new Draw(seededRandom(log.seed ^ (kind === "memory" ? 0x51ed270b : 0x2545f491)))
  const n = log.entries.length
  const random = () => d.int(1, 64)
  /** As the Applier cuts a long turn (a follower catching up, a node replaying its log): entries up to APPLY_BATCH_BYTES, at least one. */
  const applierCut = (at: number) => {
    let bytes = log.sizes[at]
    let count = 1
    while (at + count < n && bytes + log.sizes[at + count] <= APPLY_BATCH_BYTES) bytes += log.sizes[at + count++]
    return count
  }
  const check = async (replica: Replica) => compare(log, log.final, replica, await finalState(replica.engine, replica.machine, log.now))

  const single = await newReplica(`${kind}: one entry per batch`, await newEngine(kind))
  await applyRange(single, log.entries, 0, n, () => 1)
  await check(single)

  const randomBatches = await newReplica(`${kind}: batches of 1..64`, await newEngine(kind))
  await applyRange(randomBatches, log.entries, 0, n, random)
  await check(randomBatches)

  const one = await newReplica(`${kind}: one batch`, await newEngine(kind))
  await applyRange(one, log.entries, 0, n, () => n)
  await check(one)

  if (kind === "memory") {
    const waiting = await newReplica("memory without synchronous reads: batches of 1..64", withoutSynchronousReads(await newEngine("memory"), d.chance(0.5)))
    await applyRange(waiting, log.entries, 0, n, random)
    await check(waiting)
  }

  // A snapshot part-way: the source goes on applying while the snapshot is read (as the Snapshotter
  // writes the file while the Applier goes on); it is restored into a fresh engine (a memory node
  // restarting), and installed over a lagging replica's older state (a follower behind the
  // compacted log); both then apply the rest as the Applier cuts a long turn.
  const source = await newReplica(`${kind}: batches of 1..64, snapshot source`, await newEngine(kind))
  const snapshotAt = d.int(Math.floor(n * 0.15), Math.floor(n * 0.85))
  await applyRange(source, log.entries, 0, snapshotAt, random)
  const at = source.batches[source.batches.length - 1]?.[1] ?? 0
  const scope = await run(Scope.make())
  cleanups.push(() => run(Scope.close(scope, Exit.void)))
  const snapshot: EngineSnapshot = await run(Scope.extend(source.engine.snapshot, scope))
  expect(snapshot.appliedIndex).toBe(at)
  source.notes.push(`snapshot taken after #${at}`)
  const halfway = at + Math.floor((n - at) / 2)
  await applyRange(source, log.entries, at, halfway, random)

  const restored: Array<Replica> = []
  // A memory node's snapshot may reach a LevelDB node: the chunk format is the engines' common one.
  for (const target of kind === "memory" ? (["memory", "level"] as const) : (["level"] as const)) {
    const engine = await newEngine(target)
    await run(engine.restore(snapshot.chunks, snapshot.appliedIndex))
    const replica = await newReplica(`${target}: restored from the ${kind} snapshot at #${at} into a fresh engine, then the log after it in the Applier's batches`, engine)
    replica.notes.push(`snapshot read after the source applied up to #${halfway}`)
    replica.covered = [1, at]
    restored.push(replica)
  }
  const lagging = await newReplica(`${kind}: batches of 1..64, installs the snapshot at #${at}, then the Applier's batches`, await newEngine(kind))
  const lagTo = d.int(0, at)
  await applyRange(lagging, log.entries, 0, lagTo, random)
  await applyRange(source, log.entries, halfway, n, random)
  // As the Applier's restore: the engine replaced, the machine's cached state reloaded.
  await run(lagging.engine.restore(snapshot.chunks, snapshot.appliedIndex))
  await run(lagging.machine.reload())
  lagging.notes.push(`applied up to #${lagTo}, installed the snapshot at #${at} after the source applied everything`)
  if (lagTo < at) lagging.covered = [lagTo + 1, at]
  await run(Scope.close(scope, Exit.void))
  await check(source)
  for (const replica of [...restored, lagging]) {
    await applyRange(replica, log.entries, at, n, applierCut)
    await check(replica)
  }
}

describe("replicas applying the same log in different batches end identical", () => {
  it.each(SEEDS)("memory engine, seed %i", async (seed) => {
    const log = await logFor(seed)
    expectNothingLeftBehind(log)
    await replicate(log, "memory")
  })

  it.each(SEEDS)("LevelDB engine, seed %i", async (seed) => {
    await replicate(await logFor(seed), "level")
  })
})
