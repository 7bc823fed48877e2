/**
 * Redis semantics over the engine, deterministic so every node computes the same state and the
 * same replies from the same log. The entries of one apply turn run against one Txn (they see each
 * other's effects) and reach the engine as one atomic batch with the applied index.
 *
 * Determinism: a write's "now" is the applied clock (the highest leader append time so far, carried
 * by the entries), its randomness is seeded from the entry, and everything it depends on is
 * replicated state (including WATCH sessions and the database map), never a node's own clock,
 * random source or connections.
 */
import { Effect } from "effect"
import { EngineError, type KvEngineService } from "../engine/KvEngine.js"
import { seededRandom } from "../raft/seededRandom.js"
import { array, error, NIL_ARRAY, OK, type Reply } from "../resp/Reply.js"
import type { LoggedCommand, Payload, QueuedCommand } from "./CommandCodec.js"
import { latin1, unknownCommand } from "./errors.js"
import { Keyspace, type KeyspaceEvents } from "./keyspace/Keyspace.js"
import { expiryKey, flushedDbKey, garbageKey, justAfter, MEMBER_HEADER, metaKey, metaPrefix, parseMetaKey } from "./keyspace/layout.js"
import { MachineState } from "./keyspace/MachineState.js"
import { decodeMeta, isCollection, isExpired, type KeyType } from "./keyspace/meta.js"
import { Txn } from "./keyspace/Txn.js"
import { Watches } from "./keyspace/Watches.js"
import { keyAfterPrefix } from "../engine/KvEngine.js"
import { isWrite, keyPositions, type Argv, type CommandSpec } from "./registry.js"
import { commandName, commandTable } from "./table.js"

const EMPTY = new Uint8Array(0)
const INCARNATION_SPAN = 2 ** 32

/** One committed entry to apply: its log index and its decoded command (undefined: malformed). */
export interface EntryToApply {
  readonly index: number
  readonly command: LoggedCommand | undefined
}

/** A key a batch pushed elements to (lists, sorted sets): blocked clients may be served. */
export interface ReadyKey {
  readonly db: number
  readonly key: Uint8Array
}

export interface BatchResult {
  /** One reply per entry, in order. */
  readonly replies: ReadonlyArray<Reply>
  readonly ready: ReadonlyArray<ReadyKey>
  /** Keys removed because their time had come. */
  readonly expired: number
}

/** A read served through ReadIndex: one command, or a read-only MULTI/EXEC. */
export type ReadRequest =
  | { readonly kind: "command"; readonly db: number; readonly argv: Argv }
  | { readonly kind: "transaction"; readonly commands: ReadonlyArray<QueuedCommand> }

export interface ReadStats {
  hits: number
  misses: number
}

const internalError = (spec: CommandSpec, defect: unknown): Reply =>
  error(`ERR internal error in '${spec.name}': ${defect instanceof Error ? defect.message : String(defect)}`)

/**
 * Run one command. A defect in a command's code answers that command with an error instead of
 * stopping the node: every node would hit the same defect at the same entry, and a node that stops
 * on it would stop again when it replays the log. An engine failure is not such a defect: it is
 * this node's own (its disk, its files), thrown by a synchronous read, and answering it would let
 * the command's other writes commit here while they commit differently elsewhere. It fails the
 * batch, and the node stops (fail-stop) as for any engine failure.
 */
const run = (spec: CommandSpec, ks: Keyspace, db: number, argv: Argv, mayBlock = false): Reply | Effect.Effect<Reply, EngineError> => {
  if (spec.route?.kind !== "state") return error(`ERR '${spec.name}' cannot run here`)
  // Arguments are checked again here: a queued MULTI command was only checked for arity.
  const invalid = spec.validate?.(argv, ks.now)
  if (invalid !== undefined) return invalid
  try {
    const result = spec.route.execute({ ks, db, argv, mayBlock })
    if (!Effect.isEffect(result)) return result
    return Effect.catchAllDefect(result as Effect.Effect<Reply, EngineError>, (defect) =>
      defect instanceof EngineError ? Effect.fail(defect) : Effect.as(Effect.logError(`command '${spec.name}' failed`, defect), internalError(spec, defect))
    )
  } catch (defect) {
    return defect instanceof EngineError ? Effect.fail(defect) : internalError(spec, defect)
  }
}

const lookup = (argv: Argv): CommandSpec | undefined => (argv.length === 0 ? undefined : commandTable.get(commandName(argv[0])))

export class StateMachine {
  private constructor(
    private readonly engine: KvEngineService,
    private state: MachineState,
    private watches: Watches,
    /** Lets the event loop run between the pages of a long scan. */
    private readonly pause: Effect.Effect<void>
  ) {}

  static load(engine: KvEngineService, pause: Effect.Effect<void> = Effect.void): Effect.Effect<StateMachine, EngineError> {
    return Effect.map(Effect.all([MachineState.load(engine), Watches.load(engine)]), ([state, watches]) => new StateMachine(engine, state, watches, pause))
  }

  /** Re-read the cached state after the engine was restored from a snapshot. */
  reload(): Effect.Effect<void, EngineError> {
    return Effect.map(Effect.all([MachineState.load(this.engine), Watches.load(this.engine)]), ([state, watches]) => {
      this.state = state
      this.watches = watches
    })
  }

  /** The physical database logical database `db` is mapped to now. */
  physical(db: number): number {
    return this.state.physical(db)
  }

  /** Where node `id` serves clients, as it announced (undefined: not yet known). */
  clientAddressOf(id: number): string | undefined {
    return this.state.addresses.get(id)
  }

  /** The applied clock: no read's "now" is earlier. */
  get clock(): number {
    return this.state.clock
  }

  /** Members of deleted collections the reaper has still to remove (INFO raft). */
  get garbageMembers(): number {
    return this.state.garbageMembers
  }

  /** Keys and keys with an expiry per logical database (INFO keyspace). */
  keyspaceInfo(): Array<{ readonly db: number; readonly keys: number; readonly expires: number }> {
    const out: Array<{ db: number; keys: number; expires: number }> = []
    for (let db = 0; db < 16; db++) {
      const counts = this.state.countsOf(this.state.physical(db))
      if (counts.keys > 0) out.push({ db, ...counts })
    }
    return out
  }

  /**
   * Apply committed entries, in order, as one atomic engine batch recording `appliedIndex`
   * (also when nothing else is written, so no-op entries advance the applied index).
   */
  apply(entries: ReadonlyArray<EntryToApply>, appliedIndex: number): Effect.Effect<BatchResult, EngineError> {
    return Effect.gen(this, function* () {
      const txn = new Txn(this.engine, this.pause)
      const ready: Array<ReadyKey> = []
      let expired = 0
      const events: KeyspaceEvents = { ready: (db, key) => ready.push({ db, key }), expired: () => expired++ }
      const ks = new Keyspace(txn, this.state, this.state.clock, Math.random, this.watches, events)
      yield* txn.prefetch(this.keysToPrefetch(entries))
      const replies: Array<Reply> = []
      for (const { index, command } of entries) {
        if (command === undefined) {
          replies.push(error("ERR invalid log entry"))
          continue
        }
        this.state.advanceClock(command.time)
        ks.now = this.state.clock
        ks.random = seededRandom((Math.floor(command.seq) ^ Math.imul(index, 0x9e3779b1)) >>> 0)
        if (this.watches.size > 0) this.watches.dropOrphans(txn, command.origin, Math.floor(command.seq / INCARNATION_SPAN))
        const reply = yield* this.applyPayload(ks, command)
        replies.push(reply)
      }
      this.state.persist(txn)
      yield* this.engine.write(txn.ops(), appliedIndex)
      return { replies, ready, expired: expired }
    })
  }

  /** The meta records the batch's commands name, fetched in one engine call where that helps. */
  private keysToPrefetch(entries: ReadonlyArray<EntryToApply>): Array<Uint8Array> {
    if (this.engine.getNow !== undefined || this.engine.getMany === undefined) return []
    const keys: Array<Uint8Array> = []
    const add = (db: number, argv: Argv) => {
      const spec = lookup(argv)
      if (spec === undefined || db >= 16) return
      for (const position of keyPositions(spec, argv)) keys.push(metaKey(this.state.physical(db), argv[position]))
    }
    for (const { command } of entries) {
      const payload = command?.payload
      if (payload?.kind === "command") add(payload.db, payload.argv)
      else if (payload?.kind === "transaction") for (const queued of payload.commands) add(queued.db, queued.argv)
    }
    return keys
  }

  private applyPayload(ks: Keyspace, command: LoggedCommand): Effect.Effect<Reply, EngineError> {
    const payload = command.payload
    switch (payload.kind) {
      case "command":
        return this.applyCommand(ks, payload.db, payload.argv, true)
      case "transaction":
        return this.applyTransaction(ks, command.origin, payload)
      case "watch":
        return this.applyWatch(ks, command.origin, payload)
      case "unwatch":
        return Effect.sync(() => {
          this.watches.unwatch(ks.txn, command.origin, payload.session)
          return OK
        })
      case "expire":
        return this.applyExpire(ks, payload.keys)
      case "collect":
        return payload.target === "version" ? this.collectVersion(ks, payload.id, payload.limit) : this.collectDb(ks, payload.id, payload.limit)
      case "announce":
        return Effect.sync(() => {
          this.state.announce(ks.txn, payload.node, payload.address)
          return OK
        })
    }
  }

  /** One command; `mayBlock`: its own entry (a blocking command may wait), not one of a transaction. */
  private applyCommand(ks: Keyspace, db: number, argv: Argv, mayBlock = false): Effect.Effect<Reply, EngineError> {
    const spec = lookup(argv)
    if (spec === undefined) return Effect.succeed(unknownCommand(argv))
    if (db >= 16) return Effect.succeed(error("ERR DB index is out of range"))
    const result = run(spec, ks, db, argv, mayBlock)
    return Effect.isEffect(result) ? result : Effect.succeed(result)
  }

  /** MULTI/EXEC: nothing applies when a watched key changed; otherwise every command, in order, each with its own reply. */
  private applyTransaction(ks: Keyspace, origin: number, payload: Extract<Payload, { kind: "transaction" }>): Effect.Effect<Reply, EngineError> {
    return Effect.gen(this, function* () {
      if (payload.session !== 0) {
        const session = this.watches.take(ks.txn, origin, payload.session)
        if (session === undefined || session.dirty) return NIL_ARRAY
        // A watched key that has expired since the WATCH counts as modified (Redis 7).
        for (const watched of session.keys) {
          if (watched.expired) continue
          const meta = yield* ks.storedMeta(watched.db, Buffer.from(watched.key, "latin1"))
          if (meta !== undefined && isExpired(meta.expireAt, ks.now)) return NIL_ARRAY
        }
      }
      const replies: Array<Reply> = []
      for (const queued of payload.commands) replies.push(yield* this.applyCommand(ks, queued.db, queued.argv))
      return array(replies)
    })
  }

  private applyWatch(ks: Keyspace, origin: number, payload: Extract<Payload, { kind: "watch" }>): Effect.Effect<Reply, EngineError> {
    return Effect.gen(this, function* () {
      const keys = []
      for (const key of payload.keys) {
        const meta = yield* ks.storedMeta(payload.db, key)
        keys.push({ db: payload.db, key: latin1(key), expired: meta !== undefined && isExpired(meta.expireAt, ks.now) })
      }
      this.watches.watch(ks.txn, origin, payload.session, keys)
      return OK
    })
  }

  /** The reaper's expired keys: each is removed if it still carries that expiry and its time has come. */
  private applyExpire(ks: Keyspace, keys: ReadonlyArray<{ readonly db: number; readonly key: Uint8Array; readonly expireAt: number }>) {
    return Effect.gen(this, function* () {
      let removed = 0
      for (const { db: physical, key, expireAt } of keys) {
        const db = this.state.logicalOf(physical)
        if (db === undefined) {
          // A flushed database: its keys go with it (collectDb), and so does this index entry.
          ks.txn.del(expiryKey(expireAt, physical, key))
          continue
        }
        const meta = yield* ks.storedMeta(db, key)
        if (meta !== undefined && meta.expireAt === expireAt) {
          if (!isExpired(expireAt, ks.now)) continue
          ks.remove(db, key, meta)
          ks.noteExpired()
          removed++
        } else ks.txn.del(expiryKey(expireAt, physical, key)) // stale: the key changed since
      }
      return { _tag: "Integer", value: removed } as Reply
    })
  }

  /**
   * Remove up to `limit` members of a deleted collection; the garbage record goes with the last.
   * The record keeps the last member removed, so each slice starts where the previous one ended
   * instead of stepping over the deleted ones again (LevelDB keeps them as tombstones until it
   * compacts: a collection of a million members would otherwise cost each slice more than the last).
   */
  private collectVersion(ks: Keyspace, version: number, limit: number) {
    return Effect.gen(this, function* () {
      const resumeAfter = yield* ks.txn.get(garbageKey(version))
      // No record: already collected (a stale proposal), and never a live collection's members.
      if (resumeAfter === undefined) return { _tag: "Integer", value: 0 } as Reply
      const keys = yield* ks.collectMembers(version, resumeAfter, limit)
      this.state.adjustGarbageMembers(-keys.length)
      if (keys.length < limit) ks.txn.del(garbageKey(version))
      else ks.txn.put(garbageKey(version), Buffer.from(keys[keys.length - 1].subarray(MEMBER_HEADER)))
      return { _tag: "Integer", value: keys.length } as Reply
    })
  }

  /** Remove up to `limit` keys of a flushed physical database (collections become garbage), resuming after the last one removed. */
  private collectDb(ks: Keyspace, physical: number, limit: number) {
    return Effect.gen(this, function* () {
      if (this.state.logicalOf(physical) !== undefined) {
        // Still in use (cannot happen unless the record is stale): never delete live keys.
        ks.txn.del(flushedDbKey(physical))
        return { _tag: "Integer", value: 0 } as Reply
      }
      const resumeAfter = yield* ks.txn.get(flushedDbKey(physical))
      if (resumeAfter === undefined) return { _tag: "Integer", value: 0 } as Reply
      const prefix = metaPrefix(physical)
      const records = yield* ks.txn.range({ gte: resumeAfter.length > 0 ? justAfter(resumeAfter) : prefix, lt: keyAfterPrefix(prefix)!, limit })
      for (const [stored, value] of records) {
        ks.txn.del(stored)
        const meta = decodeMeta(value)
        if (meta === undefined) continue
        if (meta.expireAt !== 0) ks.txn.del(expiryKey(meta.expireAt, physical, parseMetaKey(stored).key))
        if (isCollection(meta)) {
          ks.txn.put(garbageKey(meta.version), EMPTY)
          this.state.adjustGarbageMembers(meta.size)
        }
      }
      if (records.length < limit) ks.txn.del(flushedDbKey(physical))
      else ks.txn.put(flushedDbKey(physical), Buffer.from(records[records.length - 1][0]))
      return { _tag: "Integer", value: records.length } as Reply
    })
  }

  // ---------------------------------------------------------------- reads

  /**
   * What each key holds now (its type, undefined when absent or expired, and its number of
   * elements): how many clients blocked on it may be served. The node clock `now` decides expiry,
   * as for any read.
   */
  contents(keys: ReadonlyArray<{ readonly db: number; readonly key: Uint8Array }>, now: number): Effect.Effect<Array<{ readonly type: KeyType | undefined; readonly size: number }>, EngineError> {
    const ks = this.readContext(now)
    return Effect.forEach(keys, ({ db, key }) =>
      Effect.map(ks.meta(db, key), (meta) => (meta === undefined ? { type: undefined, size: 0 } : { type: meta.type, size: isCollection(meta) ? meta.size : 0 }))
    )
  }

  /**
   * A context for the reads due now: they see the applied state at `now` (the node's clock, never
   * before the applied clock). Reads change nothing, so one context serves many.
   */
  readContext(now: number, stats?: ReadStats): Keyspace {
    const events: KeyspaceEvents | undefined = stats === undefined ? undefined : { lookup: (hit) => (hit ? stats.hits++ : stats.misses++) }
    return new Keyspace(new Txn(this.engine, this.pause), this.state, Math.max(now, this.state.clock), Math.random, undefined, events)
  }

  /** Serve a read: synchronously when the engine allows, else as an Effect. */
  read(ks: Keyspace, request: ReadRequest): Reply | Effect.Effect<Reply, EngineError> {
    if (request.kind === "command") {
      const spec = lookup(request.argv)
      if (spec === undefined) return unknownCommand(request.argv)
      if (isWrite(spec)) return error(`ERR '${spec.name}' is a write`)
      return run(spec, ks, request.db, request.argv)
    }
    return Effect.gen(function* () {
      const replies: Array<Reply> = []
      for (const queued of request.commands) {
        const spec = lookup(queued.argv)
        if (spec === undefined) {
          replies.push(unknownCommand(queued.argv))
          continue
        }
        const result = run(spec, ks, queued.db, queued.argv)
        replies.push(Effect.isEffect(result) ? yield* result : result)
      }
      return array(replies)
    })
  }
}
