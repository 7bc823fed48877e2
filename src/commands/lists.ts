/**
 * List commands (redis-server 7.0's t_list.c: replies, error texts and the order in which
 * arguments and keys are checked), with the blocking ones (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BLMPOP) built on src/commands/blocking.ts, as the command table declares them. They run in
 * ./lists/ (readCommands, editCommands, endCommands) over the layout and primitives of
 * ./lists/encoding.ts, with the argument parsers of ./lists/arguments.ts.
 */
import type { Reply } from "../resp/Reply.js"
import { type BlockSpec, keysThenTimeout, lastArgument, validateTimeout } from "./blocking.js"
import { latin1, NOT_AN_INTEGER, SYNTAX_ERROR, wrongArity } from "./errors.js"
import { isReply } from "./expiryArguments.js"
import { parseInt64 } from "./integers.js"
import { KeyType } from "./keyspace/meta.js"
import { MUST_BE_POSITIVE, parseEnd, parseLposOptions, parseMpop, parseNonNegative } from "./lists/arguments.js"
import { linsert, lrem, lset, ltrim } from "./lists/editCommands.js"
import { blmove, blmpop, bpop, lmove, lmpop, pop, push } from "./lists/endCommands.js"
import { lindex, llen, lpos, lrange } from "./lists/readCommands.js"
import type { Argv, CommandSpec, Execute } from "./registry.js"

// ---------------------------------------------------------------- argument checks, run before the log

const validateIntegers =
  (...positions: ReadonlyArray<number>) =>
  (argv: Argv): Reply | undefined =>
    positions.some((position) => parseInt64(argv[position]) === undefined) ? NOT_AN_INTEGER : undefined

const validatePop = (name: string) => (argv: Argv): Reply | undefined => {
  if (argv.length > 3) return wrongArity(name)
  if (argv.length === 3 && parseNonNegative(argv[2]) === undefined) return MUST_BE_POSITIVE
  return undefined
}

const validateLinsert = (argv: Argv): Reply | undefined => {
  const where = latin1(argv[2]).toLowerCase()
  return where === "before" || where === "after" ? undefined : SYNTAX_ERROR
}

const validateEnds = (...positions: ReadonlyArray<number>) => (argv: Argv): Reply | undefined =>
  positions.some((position) => parseEnd(argv[position]) === undefined) ? SYNTAX_ERROR : undefined

const mpopKeys = (numkeysAt: number) => (argv: Argv): ReadonlyArray<number> => {
  const options = parseMpop(argv, numkeysAt)
  return isReply(options) ? [] : options.keys
}

const blockingPop = keysThenTimeout(KeyType.List)

const blockingMove = (timeoutAt: number): BlockSpec => ({ waitsFor: KeyType.List, timeoutAt: () => timeoutAt, sources: () => [1] })

const blockingMpop: BlockSpec = { waitsFor: KeyType.List, timeoutAt: () => 1, sources: mpopKeys(2) }

// ---------------------------------------------------------------- the declarations

const oneKey = { first: 1, last: 1, step: 1 }
const twoKeys = { first: 1, last: 2, step: 1 }
const state = (execute: Execute) => ({ kind: "state" as const, execute })
const ENDS_LMOVE = (argv: Argv) => [parseEnd(argv[3])!, parseEnd(argv[4])!] as const
const ENDS_RPOPLPUSH = () => ["right", "left"] as const
const PUSH_COMPLEXITY = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."

export const listCommands: ReadonlyArray<CommandSpec> = [
  { name: "lpush", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Prepend one or multiple elements to a list", since: "1.0.0", complexity: PUSH_COMPLEXITY, route: state(push("left", false)) },
  { name: "rpush", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Append one or multiple elements to a list", since: "1.0.0", complexity: PUSH_COMPLEXITY, route: state(push("right", false)) },
  { name: "lpushx", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Prepend an element to a list, only if the list exists", since: "2.2.0", complexity: PUSH_COMPLEXITY, route: state(push("left", true)) },
  { name: "rpushx", arity: -3, flags: ["write", "denyoom", "fast"], group: "list", keys: oneKey, summary: "Append an element to a list, only if the list exists", since: "2.2.0", complexity: PUSH_COMPLEXITY, route: state(push("right", true)) },
  { name: "lpop", arity: -2, flags: ["write", "fast"], group: "list", keys: oneKey, summary: "Remove and get the first elements in a list", since: "1.0.0", complexity: "O(N) where N is the number of elements returned", validate: validatePop("lpop"), route: state(pop("left")) },
  { name: "rpop", arity: -2, flags: ["write", "fast"], group: "list", keys: oneKey, summary: "Remove and get the last elements in a list", since: "1.0.0", complexity: "O(N) where N is the number of elements returned", validate: validatePop("rpop"), route: state(pop("right")) },
  { name: "llen", arity: 2, flags: ["readonly", "fast"], group: "list", keys: oneKey, summary: "Get the length of a list", since: "1.0.0", complexity: "O(1)", route: state(llen) },
  { name: "lindex", arity: 3, flags: ["readonly"], group: "list", keys: oneKey, summary: "Get an element from a list by its index", since: "1.0.0", complexity: "O(log N): one element read by its position", route: state(lindex) },
  { name: "lrange", arity: 4, flags: ["readonly"], group: "list", keys: oneKey, summary: "Get a range of elements from a list", since: "1.0.0", complexity: "O(log N + M) where M is the number of elements returned: only those are read", validate: validateIntegers(2, 3), route: state(lrange) },
  { name: "lpos", arity: -3, flags: ["readonly"], group: "list", keys: oneKey, summary: "Return the index of matching elements on a list", since: "6.0.6", complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", validate: (argv) => { const options = parseLposOptions(argv); return isReply(options) ? options : undefined }, route: state(lpos) },
  { name: "lset", arity: 4, flags: ["write", "denyoom"], group: "list", keys: oneKey, summary: "Set the value of an element in a list by its index", since: "1.0.0", complexity: "O(log N): one element written by its position", route: state(lset) },
  { name: "ltrim", arity: 4, flags: ["write"], group: "list", keys: oneKey, summary: "Trim a list to the specified range", since: "1.0.0", complexity: "O(N) where N is the smaller of the number of elements removed and kept (the larger part is reclaimed in the background)", validate: validateIntegers(2, 3), route: state(ltrim) },
  { name: "lrem", arity: 4, flags: ["write"], group: "list", keys: oneKey, summary: "Remove elements from a list", since: "1.0.0", complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.", validate: validateIntegers(2), route: state(lrem) },
  { name: "linsert", arity: 5, flags: ["write", "denyoom"], group: "list", keys: oneKey, summary: "Insert an element before or after another element in a list", since: "2.2.0", complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot; the shorter side of the list moves.", validate: validateLinsert, route: state(linsert) },
  { name: "lmove", arity: 5, flags: ["write", "denyoom"], group: "list", keys: twoKeys, summary: "Pop an element from a list, push it to another list and return it", since: "6.2.0", complexity: "O(1)", validate: validateEnds(3, 4), route: state(lmove(ENDS_LMOVE)) },
  { name: "rpoplpush", arity: 3, flags: ["write", "denyoom"], group: "list", keys: twoKeys, summary: "Remove the last element in a list, prepend it to another list and return it", since: "1.2.0", complexity: "O(1)", route: state(lmove(ENDS_RPOPLPUSH)) },
  { name: "lmpop", arity: -4, flags: ["write", "movablekeys"], group: "list", keysOf: mpopKeys(1), keynum: { numkeysAt: 1 }, summary: "Pop elements from a list", since: "7.0.0", complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.", validate: (argv) => { const options = parseMpop(argv, 1); return isReply(options) ? options : undefined }, route: state(lmpop) },
  {
    name: "blpop", arity: -3, flags: ["write", "noscript", "blocking"], group: "list", keys: { first: 1, last: -2, step: 1 }, summary: "Remove and get the first element in a list, or block until one is available", since: "2.0.0",
    complexity: "O(N) where N is the number of provided keys.", validate: validateTimeout(lastArgument), block: blockingPop, route: state(bpop("left"))
  },
  {
    name: "brpop", arity: -3, flags: ["write", "noscript", "blocking"], group: "list", keys: { first: 1, last: -2, step: 1 }, summary: "Remove and get the last element in a list, or block until one is available", since: "2.0.0",
    complexity: "O(N) where N is the number of provided keys.", validate: validateTimeout(lastArgument), block: blockingPop, route: state(bpop("right"))
  },
  {
    name: "blmove", arity: 6, flags: ["write", "denyoom", "noscript", "blocking"], group: "list", keys: twoKeys, summary: "Pop an element from a list, push it to another list and return it; or block until one is available", since: "6.2.0",
    complexity: "O(1)", validate: (argv) => validateEnds(3, 4)(argv) ?? validateTimeout(() => 5)(argv), block: blockingMove(5), route: state(blmove(ENDS_LMOVE))
  },
  {
    name: "brpoplpush", arity: 4, flags: ["write", "denyoom", "noscript", "blocking"], group: "list", keys: twoKeys, summary: "Pop an element from a list, push it to another list and return it; or block until one is available", since: "2.2.0",
    complexity: "O(1)", validate: validateTimeout(() => 3), block: blockingMove(3), route: state(blmove(ENDS_RPOPLPUSH))
  },
  {
    name: "blmpop", arity: -5, flags: ["write", "blocking", "movablekeys"], group: "list", keysOf: mpopKeys(2), keynum: { numkeysAt: 2 }, summary: "Pop elements from a list, or block until one is available", since: "7.0.0",
    complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
    validate: (argv) => {
      const options = parseMpop(argv, 2)
      return isReply(options) ? options : validateTimeout(() => 1)(argv)
    },
    block: blockingMpop, route: state(blmpop)
  }
]
