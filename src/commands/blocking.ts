/**
 * What the blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, and the sorted-set ones
 * built the same way) share with the node that blocks them.
 *
 * A blocking command is an ordinary write: its entry pops if an element is there. When every key
 * it waits on is empty, its reply is WOULD_BLOCK, a value no client ever sees: the client's node
 * then keeps the client in its registry of blocked clients (src/node/BlockedClients.ts) and
 * proposes the command again when an entry makes elements available under one of its keys. Inside
 * MULTI a blocking command never blocks (Redis answers null at once): the state machine tells the
 * handler through `ExecContext.mayBlock`.
 */
import { error, NIL_ARRAY, type Reply } from "../resp/Reply.js"
import { WRONGTYPE } from "./errors.js"
import { timeoutMilliseconds } from "./floats.js"
import type { CollectionType } from "./keyspace/meta.js"
import type { Argv } from "./registry.js"

/** The entry found nothing to pop: the client waits (compared by identity, never sent). */
export const WOULD_BLOCK: Reply = error("ERR internal: the command would block (a client that cannot wait got this)")

/**
 * WRONGTYPE because a key the command pops from holds another type (same text, its own identity).
 * A client already waiting keeps waiting on this answer, as redis-server 7.0 serves a woken client
 * only from a key of the right type; to a client's first attempt it is the ordinary error.
 */
export const SOURCE_WRONGTYPE: Reply = { ...WRONGTYPE }

/** What a client whose timeout passed gets: redis-server's null array (RESP2 `*-1`, RESP3 `_`). */
export const TIMED_OUT: Reply = NIL_ARRAY

const TIMEOUT_NOT_A_FLOAT = error("ERR timeout is not a float or out of range")
const TIMEOUT_NEGATIVE = error("ERR timeout is negative")

/** A timeout argument in seconds: milliseconds (0: forever) or Redis's error. */
export const parseTimeout = (bytes: Uint8Array): number | Reply => {
  const milliseconds = timeoutMilliseconds(bytes)
  if (milliseconds === "not a float") return TIMEOUT_NOT_A_FLOAT
  if (milliseconds === "negative") return TIMEOUT_NEGATIVE
  return milliseconds
}

/** A blocking command's timeout argument (at position `at(argv)`), checked before the log. */
export const validateTimeout = (at: (argv: Argv) => number) => (argv: Argv): Reply | undefined => {
  const timeout = parseTimeout(argv[at(argv)])
  return typeof timeout === "number" ? undefined : timeout
}

/** The timeout is the last argument (BLPOP, BZPOPMIN, ...). */
export const lastArgument = (argv: Argv): number => argv.length - 1

/** KEY [KEY ...] TIMEOUT, waiting for elements of `waitsFor` (BLPOP, BRPOP, BZPOPMIN, BZPOPMAX). */
export const keysThenTimeout = (waitsFor: CollectionType): BlockSpec => ({
  waitsFor,
  timeoutAt: lastArgument,
  sources: (argv) => Array.from({ length: argv.length - 2 }, (_, i) => i + 1)
})

/** How a command blocks (part of its declaration in the command table). */
export interface BlockSpec {
  /** The type whose elements serve it (a list for BLPOP, a sorted set for BZPOPMIN). */
  readonly waitsFor: CollectionType
  /** The position of the timeout argument. */
  readonly timeoutAt: (argv: Argv) => number
  /** The positions of the keys it pops from, in the order it tries them. */
  readonly sources: (argv: Argv) => ReadonlyArray<number>
}

/** One client's blocking command, as its node keeps it while the client waits. */
export interface BlockingCall {
  /** The logical database the client had selected. */
  readonly db: number
  readonly argv: Argv
  /** Positions of the keys it waits on. */
  readonly sources: ReadonlyArray<number>
  readonly waitsFor: CollectionType
  /** How long the client waits, in ms of its node's clock; 0: forever. */
  readonly timeoutMs: number
}

/** The call for a validated blocking command (its timeout parses). */
export const blockingCall = (spec: BlockSpec, db: number, argv: Argv): BlockingCall => {
  const timeout = parseTimeout(argv[spec.timeoutAt(argv)])
  return { db, argv, sources: spec.sources(argv), waitsFor: spec.waitsFor, timeoutMs: typeof timeout === "number" ? timeout : 0 }
}

/**
 * The command to propose again for a client woken by `ready`: the same command with that key
 * moved first among its sources, so the client is served from the key that received elements
 * (redis-server serves a woken client from the key that became ready).
 */
export const retryArgv = (call: BlockingCall, ready: Uint8Array): Argv => {
  const positions = call.sources
  const at = positions.findIndex((position) => Buffer.compare(call.argv[position], ready) === 0)
  if (at <= 0) return call.argv
  const argv = [...call.argv]
  const keys = positions.map((position) => call.argv[position])
  const reordered = [keys[at], ...keys.slice(0, at), ...keys.slice(at + 1)]
  positions.forEach((position, i) => {
    argv[position] = reordered[i]
  })
  return argv
}
