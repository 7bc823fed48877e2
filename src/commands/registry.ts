/**
 * What a command is, declared once: name, arity, Redis's command flags, key positions, group,
 * docs, argument checks, and how it runs. Everything else is derived from the declaration:
 * routing (answered by the connection, read through ReadIndex, or written through the log),
 * arity errors, ACL categories, COMMAND / COMMAND INFO / COMMAND DOCS / COMMAND GETKEYS, the keys a
 * batch prefetches. Adding a command is adding one declaration to its group's module.
 */
import type { Effect } from "effect"
import type { EngineError } from "../engine/KvEngine.js"
import type { Reply } from "../resp/Reply.js"
import type { BlockSpec } from "./blocking.js"
import type { Keyspace } from "./keyspace/Keyspace.js"
import type { ClientSession } from "./session.js"

export type Argv = ReadonlyArray<Uint8Array>

/** Redis's command flags, as COMMAND INFO lists them. */
export type CommandFlag =
  | "write"
  | "readonly"
  | "denyoom"
  | "admin"
  | "pubsub"
  | "noscript"
  | "blocking"
  | "loading"
  | "stale"
  | "skip_monitor"
  | "skip_slowlog"
  | "fast"
  | "no_auth"
  | "may_replicate"
  | "no_multi"
  | "movablekeys"
  | "allow_busy"

/** Redis's command groups (COMMAND DOCS), which also give the type ACL category. */
export type CommandGroup =
  | "generic"
  | "string"
  | "list"
  | "set"
  | "sorted_set"
  | "hash"
  | "connection"
  | "server"
  | "transactions"
  | "cluster"

/** What a state-machine command runs against: the keyspace, the client's database, its arguments. */
export interface ExecContext {
  readonly ks: Keyspace
  /** The logical database (0..15) the client had selected. */
  readonly db: number
  readonly argv: Argv
  /**
   * A blocking command may answer WOULD_BLOCK (its own entry: the client waits); false inside
   * MULTI/EXEC, where it answers null at once as redis-server does.
   */
  readonly mayBlock?: boolean
}

/** A state-machine command: a reply, or an Effect when it must wait for the engine. */
export type Execute = (context: ExecContext) => Reply | Effect.Effect<Reply, EngineError>

/** Where a command runs. */
export type Route =
  /** Answered by the connection itself (PING, CLIENT, MULTI, ...). */
  | { readonly kind: "local"; readonly run: LocalHandler }
  /** Executed by the state machine: through the log when it writes, through ReadIndex when it reads. */
  | { readonly kind: "state"; readonly execute: Execute }

/**
 * A connection-local command. Returns its reply, or undefined when it has arranged to answer
 * later itself (through the session's reply slots).
 */
export type LocalHandler = (session: ClientSession, argv: Argv) => Reply | undefined

export interface KeySpec {
  /** Position of the first key (1-based like Redis; 0: none). */
  readonly first: number
  /** Position of the last key; negative counts from the end (-1: the last argument). */
  readonly last: number
  readonly step: number
}

export interface CommandSpec {
  readonly name: string
  /** Redis's convention: N exactly N words including the name, -N at least N. */
  readonly arity: number
  readonly flags: ReadonlyArray<CommandFlag>
  readonly group: CommandGroup
  readonly summary: string
  readonly since: string
  readonly complexity?: string
  /** Fixed key positions; absent: the command takes no keys. */
  readonly keys?: KeySpec
  /** Key positions computed from the arguments (commands with the "movablekeys" flag). */
  readonly keysOf?: (argv: Argv) => ReadonlyArray<number>
  /**
   * A numkeys command's layout, as Redis's key specs declare it (an optional destination key, a
   * count, then that many keys): COMMAND GETKEYS answers from it exactly as Redis does, also for
   * arguments the command itself would refuse.
   */
  readonly keynum?: { readonly numkeysAt: number; readonly store?: number }
  /** ACL categories beyond the derived ones (e.g. "dangerous"). */
  readonly categories?: ReadonlyArray<string>
  /**
   * Argument checks beyond arity: run before anything reaches the log (`now` is the node's clock),
   * and again when the command runs (`now` is the entry's time, so every node decides the same).
   * An error reply refuses the command.
   */
  readonly validate?: (argv: Argv, now: number) => Reply | undefined
  readonly route?: Route
  /** How the command blocks (BLPOP, BLMOVE, ...): a client whose keys are empty waits on its node. */
  readonly block?: BlockSpec
  /** Subcommands (CLIENT SETNAME, CONFIG GET, ...): each declared like a command, named "parent|sub". */
  readonly subcommands?: ReadonlyArray<CommandSpec>
}

export const isWrite = (spec: CommandSpec): boolean => spec.flags.includes("write")

export const arityMatches = (spec: CommandSpec, argc: number): boolean => (spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity)

/** The positions of a command's keys in `argv` (what ACLs, prefetching and COMMAND GETKEYS use). */
export const keyPositions = (spec: CommandSpec, argv: Argv): Array<number> => {
  if (spec.keysOf !== undefined) return [...spec.keysOf(argv)]
  const keys = spec.keys
  if (keys === undefined || keys.first === 0) return []
  const last = keys.last < 0 ? argv.length + keys.last : keys.last
  const positions: Array<number> = []
  for (let i = keys.first; i <= last && i < argv.length; i += keys.step) positions.push(i)
  return positions
}

const GROUP_CATEGORY: Record<CommandGroup, string | undefined> = {
  generic: "keyspace",
  string: "string",
  list: "list",
  set: "set",
  sorted_set: "sortedset",
  hash: "hash",
  connection: "connection",
  server: undefined,
  transactions: "transaction",
  cluster: undefined
}

/** The command's ACL categories, derived as Redis derives them (plus any declared ones), in Redis's order. */
export const categoriesOf = (spec: CommandSpec): Array<string> => {
  const categories: Array<string> = []
  const flags = new Set(spec.flags)
  if (flags.has("write")) categories.push("write")
  if (flags.has("readonly") && spec.group !== "connection") categories.push("read")
  if (flags.has("admin")) categories.push("admin", "dangerous")
  if (flags.has("pubsub")) categories.push("pubsub")
  categories.push(flags.has("fast") ? "fast" : "slow")
  if (flags.has("blocking")) categories.push("blocking")
  const group = GROUP_CATEGORY[spec.group]
  if (group !== undefined && !categories.includes(group)) categories.push(group)
  for (const extra of spec.categories ?? []) if (!categories.includes(extra)) categories.push(extra)
  // Redis lists a command's categories in its fixed category order.
  return categories.sort((a, b) => ALL_CATEGORIES.indexOf(a) - ALL_CATEGORIES.indexOf(b))
}

/** Every ACL category a command can have, in Redis's order (ACL CAT). */
export const ALL_CATEGORIES: ReadonlyArray<string> = [
  "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream",
  "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting"
]
