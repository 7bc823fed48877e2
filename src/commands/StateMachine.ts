/**
 * Redis semantics over the engine, deterministic so every node computes the same state and
 * the same replies from the same log. Writes of one apply turn run against a BatchView (they see
 * each other's effects) and reach the engine as one atomic batch with the applied index.
 */
import { Effect, Stream } from "effect"
import { KvEngine, type EngineError, type KvEngineService, type WriteOp } from "../engine/KvEngine.js"
import { array, bulk, error, integer, NIL, OK, ONE, ZERO, type Reply } from "../resp/Reply.js"
import { latin1, NOT_AN_INTEGER, OVERFLOW, unknownCommand } from "./errors.js"
import { globMatch } from "./glob.js"
import { inInt64Range, parseInt64 } from "./integers.js"
import { isReply, parseSetOptions } from "./setOptions.js"
import { commandName } from "./table.js"

type Argv = ReadonlyArray<Uint8Array>

/** The engine as seen from inside one write batch: reads see the batch's earlier writes. */
class BatchView {
  /**
   * The batch's writes by key (null: deleted), built from `ops` at the batch's first read and
   * kept up to date after it: a batch of plain SETs never reads, so it never pays for it.
   */
  private overlay: Map<string, Uint8Array | null> | undefined
  private cleared = false
  readonly ops: Array<WriteOp> = []

  constructor(private readonly engine: KvEngineService) {}

  get(key: Uint8Array): Effect.Effect<Uint8Array | undefined, EngineError> {
    const local = this.writes().get(latin1(key))
    if (local !== undefined) return Effect.succeed(local ?? undefined)
    if (this.cleared) return Effect.succeed(undefined)
    return this.engine.get(key)
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.overlay?.set(latin1(key), value)
    this.ops.push({ type: "put", key, value })
  }

  del(key: Uint8Array): void {
    this.overlay?.set(latin1(key), null)
    this.ops.push({ type: "del", key })
  }

  clear(): void {
    this.overlay?.clear()
    this.cleared = true
    this.ops.push({ type: "clear" })
  }

  private writes(): Map<string, Uint8Array | null> {
    if (this.overlay === undefined) {
      const overlay = new Map<string, Uint8Array | null>()
      for (const op of this.ops) {
        if (op.type === "put") overlay.set(latin1(op.key), op.value)
        else if (op.type === "del") overlay.set(latin1(op.key), null)
        else overlay.clear()
      }
      this.overlay = overlay
    }
    return this.overlay
  }
}

const incrementBy = (view: BatchView, key: Uint8Array, delta: bigint) =>
  Effect.gen(function* () {
    const current = yield* view.get(key)
    const value = current === undefined ? 0n : parseInt64(current)
    if (value === undefined) return NOT_AN_INTEGER
    const next = value + delta
    if (!inInt64Range(next)) return OVERFLOW
    view.put(key, Buffer.from(next.toString(), "latin1"))
    return integer(next)
  })

const write = (view: BatchView, argv: Argv): Effect.Effect<Reply, EngineError> =>
  Effect.gen(function* () {
    if (argv.length === 0) return error("ERR invalid log entry")
    const name = commandName(argv[0])
    switch (name) {
      case "set": {
        const options = parseSetOptions(argv)
        if (isReply(options)) return options
        // Only NX, XX and GET need the old value (a plain SET never reads: see blindWrite).
        const old = yield* view.get(argv[1])
        const allowed = options.condition === undefined || (options.condition === "NX") === (old === undefined)
        if (allowed) view.put(argv[1], argv[2])
        if (options.get) return bulk(old ?? null)
        return allowed ? OK : NIL
      }
      case "setnx": {
        if ((yield* view.get(argv[1])) !== undefined) return ZERO
        view.put(argv[1], argv[2])
        return ONE
      }
      case "mset":
        for (let i = 1; i + 1 < argv.length; i += 2) view.put(argv[i], argv[i + 1])
        return OK
      case "del": {
        let removed = 0
        for (const key of argv.slice(1)) {
          if ((yield* view.get(key)) === undefined) continue
          view.del(key)
          removed++
        }
        return integer(removed)
      }
      case "getdel": {
        const old = yield* view.get(argv[1])
        if (old !== undefined) view.del(argv[1])
        return bulk(old ?? null)
      }
      case "incr":
        return yield* incrementBy(view, argv[1], 1n)
      case "decr":
        return yield* incrementBy(view, argv[1], -1n)
      case "incrby":
      case "decrby": {
        const delta = parseInt64(argv[2])
        if (delta === undefined) return NOT_AN_INTEGER
        return yield* incrementBy(view, argv[1], name === "incrby" ? delta : -delta)
      }
      case "append": {
        const old = yield* view.get(argv[1])
        const value = old === undefined ? Buffer.from(argv[2]) : Buffer.concat([old, argv[2]])
        view.put(argv[1], value)
        return integer(value.length)
      }
      case "flushdb":
        view.clear()
        return OK
      default:
        return unknownCommand(argv)
    }
  })

/**
 * The writes that need no read of the current value (plain SET, MSET), applied without an Effect:
 * the common case of a write-heavy load, and no engine round trip (LevelDB's gets are
 * asynchronous). Returns undefined for everything else.
 */
const blindWrite = (view: BatchView, argv: Argv): Reply | undefined => {
  if (argv.length === 3 && commandName(argv[0]) === "set") {
    view.put(argv[1], argv[2])
    return OK
  }
  if (argv.length >= 3 && argv.length % 2 === 1 && commandName(argv[0]) === "mset") {
    for (let i = 1; i + 1 < argv.length; i += 2) view.put(argv[i], argv[i + 1])
    return OK
  }
  return undefined
}

/**
 * Apply the committed write commands of one turn, in log order, then write them to the engine
 * as one atomic batch recording `appliedIndex` (also when there is nothing else to write, so
 * no-op entries advance the applied index). Returns one reply per command.
 */
export const applyWrites = (commands: ReadonlyArray<Argv>, appliedIndex: number) =>
  Effect.gen(function* () {
    const engine = yield* KvEngine
    const view = new BatchView(engine)
    const replies: Array<Reply> = []
    for (const argv of commands) replies.push(blindWrite(view, argv) ?? (yield* write(view, argv)))
    yield* engine.write(view.ops, appliedIndex)
    return replies
  })

/**
 * The common reads answered synchronously, for an engine that provides `getNow`; undefined
 * when the command (or the engine) needs the Effect path of `executeRead`.
 */
export const executeReadNow = (engine: KvEngineService, argv: Argv): Reply | undefined =>
  engine.getNow === undefined ? undefined : executeReadWith(engine.getNow, argv)

/** The keys a GET, STRLEN, EXISTS or MGET reads; undefined for any other read. */
export const keysRead = (argv: Argv): ReadonlyArray<Uint8Array> | undefined => {
  switch (commandName(argv[0])) {
    case "get":
    case "strlen":
      return [argv[1]]
    case "exists":
    case "mget":
      return argv.slice(1)
    default:
      return undefined
  }
}

/**
 * GET, STRLEN, EXISTS and MGET answered from `lookup` (the engine's getNow, or the values one
 * getMany fetched); undefined for any other read.
 */
export const executeReadWith = (getNow: (key: Uint8Array) => Uint8Array | undefined, argv: Argv): Reply | undefined => {
  switch (commandName(argv[0])) {
    case "get":
      return bulk(getNow(argv[1]) ?? null)
    case "strlen":
      return integer(getNow(argv[1])?.length ?? 0)
    case "exists": {
      let found = 0
      for (let i = 1; i < argv.length; i++) if (getNow(argv[i]) !== undefined) found++
      return integer(found)
    }
    case "mget": {
      const values: Array<Reply> = []
      for (let i = 1; i < argv.length; i++) values.push(bulk(getNow(argv[i]) ?? null))
      return array(values)
    }
    default:
      return undefined
  }
}

/** Execute a read command against the engine's applied state. */
export const executeRead = (argv: Argv) =>
  Effect.gen(function* () {
    const engine = yield* KvEngine
    switch (commandName(argv[0])) {
      case "get":
        return bulk((yield* engine.get(argv[1])) ?? null)
      case "strlen":
        return integer((yield* engine.get(argv[1]))?.length ?? 0)
      case "exists": {
        let found = 0
        for (const key of argv.slice(1)) if ((yield* engine.get(key)) !== undefined) found++
        return integer(found)
      }
      case "mget": {
        const values: Array<Reply> = []
        for (const key of argv.slice(1)) values.push(bulk((yield* engine.get(key)) ?? null))
        return array(values)
      }
      case "keys": {
        const pattern = argv[1]
        const keys = yield* engine.iterate({}).pipe(
          Stream.filter(([key]) => globMatch(pattern, key)),
          Stream.map(([key]) => bulk(key)),
          Stream.runCollect
        )
        return array([...keys])
      }
      case "dbsize":
        return integer(yield* engine.size)
      default:
        return unknownCommand(argv)
    }
  })
