/**
 * The command table: each command's arity (Redis's convention: N exactly N words including the
 * name, -N at least N), whether it is answered locally, read through ReadIndex or written
 * through the log, and the syntax checks that keep bad commands out of the log.
 */
import type { Reply } from "../resp/Reply.js"
import { DECREMENT_OVERFLOW, NOT_AN_INTEGER, SYNTAX_ERROR, wrongArity } from "./errors.js"
import { parseInt64 } from "./integers.js"
import { isReply, parseSetOptions } from "./setOptions.js"
import { latin1 } from "./errors.js"

/** "snapshot": SAVE and BGSAVE, handed to the node's snapshotter. */
export type CommandKind = "local" | "read" | "write" | "snapshot"

export interface CommandSpec {
  readonly name: string
  readonly arity: number
  readonly kind: CommandKind
  /** Syntax checks beyond arity; an error reply rejects the command before it is proposed. */
  readonly validate?: (argv: ReadonlyArray<Uint8Array>) => Reply | undefined
}

const integerArgument = (position: number) => (argv: ReadonlyArray<Uint8Array>) =>
  parseInt64(argv[position]) === undefined ? NOT_AN_INTEGER : undefined

const specs: ReadonlyArray<CommandSpec> = [
  // Answered by the connection, no consensus needed.
  { name: "ping", arity: -1, kind: "local" },
  { name: "save", arity: 1, kind: "snapshot" },
  {
    name: "bgsave",
    arity: -1,
    kind: "snapshot",
    validate: (argv) => (argv.length === 1 || (argv.length === 2 && latin1(argv[1]).toUpperCase() === "SCHEDULE") ? undefined : SYNTAX_ERROR)
  },
  { name: "echo", arity: 2, kind: "local" },
  { name: "select", arity: 2, kind: "local" },
  { name: "quit", arity: -1, kind: "local" },
  { name: "command", arity: -1, kind: "local" },
  { name: "config", arity: -2, kind: "local" },
  { name: "client", arity: -2, kind: "local" },
  { name: "hello", arity: -1, kind: "local" },
  { name: "info", arity: -1, kind: "local" },
  { name: "auth", arity: -2, kind: "local" },
  // Linearizable reads.
  { name: "get", arity: 2, kind: "read" },
  { name: "exists", arity: -2, kind: "read" },
  { name: "keys", arity: 2, kind: "read" },
  { name: "mget", arity: -2, kind: "read" },
  { name: "strlen", arity: 2, kind: "read" },
  { name: "dbsize", arity: 1, kind: "read" },
  // Writes, agreed through the log.
  {
    name: "set",
    arity: -3,
    kind: "write",
    validate: (argv) => {
      const options = parseSetOptions(argv)
      return isReply(options) ? options : undefined
    }
  },
  { name: "setnx", arity: 3, kind: "write" },
  { name: "del", arity: -2, kind: "write" },
  { name: "mset", arity: -3, kind: "write", validate: (argv) => (argv.length % 2 === 1 ? undefined : wrongArity("mset")) },
  { name: "incr", arity: 2, kind: "write" },
  { name: "decr", arity: 2, kind: "write" },
  { name: "incrby", arity: 3, kind: "write", validate: integerArgument(2) },
  {
    name: "decrby",
    arity: 3,
    kind: "write",
    // Negating INT64_MIN overflows: redis-server refuses it before touching the key.
    validate: (argv) => {
      const delta = parseInt64(argv[2])
      if (delta === undefined) return NOT_AN_INTEGER
      return delta === -(2n ** 63n) ? DECREMENT_OVERFLOW : undefined
    }
  },
  { name: "append", arity: 3, kind: "write" },
  { name: "getdel", arity: 2, kind: "write" },
  {
    name: "flushdb",
    arity: -1,
    kind: "write",
    validate: (argv) => {
      if (argv.length > 2) return SYNTAX_ERROR
      if (argv.length === 2 && !["ASYNC", "SYNC"].includes(latin1(argv[1]).toUpperCase())) return SYNTAX_ERROR
      return undefined
    }
  }
]

export const commandTable: ReadonlyMap<string, CommandSpec> = new Map(specs.map((spec) => [spec.name, spec]))

/** Lower-case command name from its bytes (command names are ASCII and case-insensitive). */
export const commandName = (bytes: Uint8Array): string => latin1(bytes).toLowerCase()

export const arityMatches = (spec: CommandSpec, argc: number): boolean =>
  spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity
