/**
 * The sorted-set commands (redis-server 7.0's t_zset.c semantics, error texts and RESP3 reply
 * shapes included) as the command table declares them; they run in ./sortedSets/ (readCommands,
 * rangeCommands, randomMembers, writeCommands, setOperationCommands) over the layout of
 * ./sortedSets/encoding.ts.
 */
import type { Reply } from "../resp/Reply.js"
import { INVALID_CURSOR } from "./errors.js"
import { parseCursor } from "./keys.js"
import type { Argv, CommandSpec, Execute } from "./registry.js"
import {
  isReply,
  MAX_REPEATED_PICKS,
  mpopKeyPositions,
  parseMpop,
  parsePopCount,
  parseRandomMember,
  parseRange,
  parseSetOperationKeys,
  parseZadd,
  parseZincrby,
  setOperationKeyPositions,
  validateSetOperation,
  type RangeCommand,
  type SetOperationCommand
} from "./sortedSets/arguments.js"
import { zrandmember } from "./sortedSets/randomMembers.js"
import { zrange, zremrangebylex, zremrangebyrank, zremrangebyscore } from "./sortedSets/rangeCommands.js"
import { parseLexRange, parseScoreRange, NOT_A_FLOAT_RANGE, NOT_A_LEX_RANGE } from "./sortedSets/ranges.js"
import { zcard, zcount, zlexcount, zmscore, zrank, zscan, zscore } from "./sortedSets/readCommands.js"
import { setOperation } from "./sortedSets/setOperationCommands.js"
import { bzmpop, bzpop, zaddWith, zmpop, zpop, zrem } from "./sortedSets/writeCommands.js"
import { keysThenTimeout, lastArgument, validateTimeout } from "./blocking.js"
import { KeyType } from "./keyspace/meta.js"

const oneKey = { first: 1, last: 1, step: 1 }

// ---------------------------------------------------------------- argument checks, run before the log

const validateWith = (parse: (argv: Argv) => unknown) => (argv: Argv): Reply | undefined => {
  const parsed = parse(argv)
  return isReply(parsed) ? parsed : undefined
}

const validateRankArguments = (argv: Argv): Reply | undefined => validateWith((a) => parseRange([a[0], a[1], a[2], a[3]], { keyIndex: 1, store: false, kind: "rank" }))(argv)
const validateScoreArguments = (argv: Argv): Reply | undefined => (parseScoreRange(argv[2], argv[3]) === undefined ? NOT_A_FLOAT_RANGE : undefined)
const validateLexArguments = (argv: Argv): Reply | undefined => (parseLexRange(argv[2], argv[3]) === undefined ? NOT_A_LEX_RANGE : undefined)

// ---------------------------------------------------------------- declarations shared by a family

const rangeSpec = (name: string, command: RangeCommand, rest: Omit<CommandSpec, "name" | "route" | "validate" | "group" | "keys">): CommandSpec => ({
  name,
  group: "sorted_set",
  keys: command.store ? { first: 1, last: 2, step: 1 } : oneKey,
  validate: validateWith((argv) => parseRange(argv, command)),
  route: { kind: "state", execute: zrange(command) },
  ...rest
})

const setOperationSpec = (command: SetOperationCommand, rest: Omit<CommandSpec, "name" | "route" | "validate" | "group" | "keysOf" | "keys">): CommandSpec => ({
  name: command.name,
  group: "sorted_set",
  ...(command.store ? { keys: oneKey } : {}),
  keysOf: setOperationKeyPositions(command),
  keynum: { numkeysAt: command.numkeysIndex, ...(command.store ? { store: 1 } : {}) },
  // Reads answer WRONGTYPE before option errors, as Redis; writes refuse every bad argument before the log.
  validate: command.store ? validateSetOperation(command) : validateWith((argv) => parseSetOperationKeys(argv, command)),
  route: { kind: "state", execute: setOperation(command) },
  ...rest
})

// ---------------------------------------------------------------- the table

const state = (execute: Execute) => ({ kind: "state" as const, execute })

const unionStore: SetOperationCommand = { name: "zunionstore", operation: "union", numkeysIndex: 2, store: true }
const interStore: SetOperationCommand = { name: "zinterstore", operation: "inter", numkeysIndex: 2, store: true }
const diffStore: SetOperationCommand = { name: "zdiffstore", operation: "diff", numkeysIndex: 2, store: true }
const union: SetOperationCommand = { name: "zunion", operation: "union", numkeysIndex: 1, store: false }
const inter: SetOperationCommand = { name: "zinter", operation: "inter", numkeysIndex: 1, store: false }
const diff: SetOperationCommand = { name: "zdiff", operation: "diff", numkeysIndex: 1, store: false }
const interCard: SetOperationCommand = { name: "zintercard", operation: "inter", numkeysIndex: 1, store: false, cardinality: true }

const RANGE_COST = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned. Here positions cost O(position) from the nearer end of the set (docs/architecture.md)."
const SCORE_RANGE_COST = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."

export const sortedSetCommands: ReadonlyArray<CommandSpec> = [
  { name: "zadd", arity: -4, flags: ["write", "denyoom", "fast"], group: "sorted_set", keys: oneKey, summary: "Add one or more members to a sorted set, or update its score if it already exists", since: "1.2.0", complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", validate: validateWith(parseZadd), route: state(zaddWith(parseZadd)) },
  { name: "zincrby", arity: 4, flags: ["write", "denyoom", "fast"], group: "sorted_set", keys: oneKey, summary: "Increment the score of a member in a sorted set", since: "1.2.0", complexity: "O(log(N)) where N is the number of elements in the sorted set.", validate: validateWith(parseZincrby), route: state(zaddWith(parseZincrby)) },
  { name: "zrem", arity: -3, flags: ["write", "fast"], group: "sorted_set", keys: oneKey, summary: "Remove one or more members from a sorted set", since: "1.2.0", complexity: "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", route: state(zrem) },
  { name: "zcard", arity: 2, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Get the number of members in a sorted set", since: "1.2.0", complexity: "O(1)", route: state(zcard) },
  { name: "zscore", arity: 3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Get the score associated with the given member in a sorted set", since: "1.2.0", complexity: "O(1)", route: state(zscore) },
  { name: "zmscore", arity: -3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Get the score associated with the given members in a sorted set", since: "6.2.0", complexity: "O(N) where N is the number of members being requested.", route: state(zmscore) },
  { name: "zcount", arity: 4, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Count the members in a sorted set with scores within the given values", since: "2.0.0", complexity: "O(log(N)+M) here (M: the members counted; Redis: O(log(N))).", validate: validateScoreArguments, route: state(zcount) },
  { name: "zlexcount", arity: 4, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Count the number of members in a sorted set between a given lexicographical range", since: "2.8.9", complexity: "O(log(N)+M) here (M: the members counted; Redis: O(log(N))).", validate: validateLexArguments, route: state(zlexcount) },
  { name: "zrank", arity: 3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Determine the index of a member in a sorted set", since: "2.0.0", complexity: "O(min(rank, N)) here, counting from the nearer end (Redis: O(log(N))).", route: state(zrank(false)) },
  { name: "zrevrank", arity: 3, flags: ["readonly", "fast"], group: "sorted_set", keys: oneKey, summary: "Determine the index of a member in a sorted set, with scores ordered from high to low", since: "2.0.0", complexity: "O(min(rank, N)) here, counting from the nearer end (Redis: O(log(N))).", route: state(zrank(true)) },
  rangeSpec("zrange", { keyIndex: 1, store: false }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set", since: "1.2.0", complexity: RANGE_COST }),
  rangeSpec("zrangestore", { keyIndex: 2, store: true }, { arity: -5, flags: ["write", "denyoom"], summary: "Store a range of members from sorted set into another key", since: "6.2.0", complexity: RANGE_COST }),
  rangeSpec("zrangebyscore", { keyIndex: 1, store: false, kind: "score", reverse: false }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by score", since: "1.0.5", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrevrangebyscore", { keyIndex: 1, store: false, kind: "score", reverse: true }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by score, with scores ordered from high to low", since: "2.2.0", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrangebylex", { keyIndex: 1, store: false, kind: "lex", reverse: false }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by lexicographical range", since: "2.8.9", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrevrangebylex", { keyIndex: 1, store: false, kind: "lex", reverse: true }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", since: "2.8.9", complexity: SCORE_RANGE_COST }),
  rangeSpec("zrevrange", { keyIndex: 1, store: false, kind: "rank", reverse: true }, { arity: -4, flags: ["readonly"], summary: "Return a range of members in a sorted set, by index, with scores ordered from high to low", since: "1.2.0", complexity: RANGE_COST }),
  { name: "zpopmin", arity: -2, flags: ["write", "fast"], group: "sorted_set", keys: oneKey, summary: "Remove and return members with the lowest scores in a sorted set", since: "5.0.0", complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", validate: validateWith(parsePopCount), route: state(zpop(false)) },
  { name: "zpopmax", arity: -2, flags: ["write", "fast"], group: "sorted_set", keys: oneKey, summary: "Remove and return members with the highest scores in a sorted set", since: "5.0.0", complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", validate: validateWith(parsePopCount), route: state(zpop(true)) },
  { name: "zmpop", arity: -4, flags: ["write"], group: "sorted_set", keysOf: mpopKeyPositions(1), keynum: { numkeysAt: 1 }, summary: "Remove and return members with scores in a sorted set", since: "7.0.0", complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", validate: validateWith(parseMpop), route: state(zmpop) },
  {
    name: "bzpopmin", arity: -3, flags: ["write", "noscript", "blocking", "fast"], group: "sorted_set", keys: { first: 1, last: -2, step: 1 }, summary: "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", since: "5.0.0",
    complexity: "O(log(N)) with N being the number of elements in the sorted set.", validate: validateTimeout(lastArgument), block: keysThenTimeout(KeyType.ZSet), route: state(bzpop(false))
  },
  {
    name: "bzpopmax", arity: -3, flags: ["write", "noscript", "blocking", "fast"], group: "sorted_set", keys: { first: 1, last: -2, step: 1 }, summary: "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", since: "5.0.0",
    complexity: "O(log(N)) with N being the number of elements in the sorted set.", validate: validateTimeout(lastArgument), block: keysThenTimeout(KeyType.ZSet), route: state(bzpop(true))
  },
  {
    name: "bzmpop", arity: -5, flags: ["write", "blocking", "movablekeys"], group: "sorted_set", keysOf: mpopKeyPositions(2), keynum: { numkeysAt: 2 }, summary: "Remove and return members with scores in a sorted set or block until one is available", since: "7.0.0",
    complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
    validate: (argv) => validateWith((a) => parseMpop(a, 2))(argv) ?? validateTimeout(() => 1)(argv),
    block: { waitsFor: KeyType.ZSet, timeoutAt: () => 1, sources: mpopKeyPositions(2) }, route: state(bzmpop)
  },
  { name: "zrandmember", arity: -2, flags: ["readonly"], group: "sorted_set", keys: oneKey, summary: "Get one or multiple random elements from a sorted set", since: "6.2.0", complexity: `O(N) where N is the number of elements returned (at most ${MAX_REPEATED_PICKS} with repetition).`, validate: validateWith(parseRandomMember), route: state(zrandmember) },
  setOperationSpec(unionStore, { arity: -4, flags: ["write", "denyoom"], summary: "Add multiple sorted sets and store the resulting sorted set in a new key", since: "2.0.0", complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(interStore, { arity: -4, flags: ["write", "denyoom"], summary: "Intersect multiple sorted sets and store the resulting sorted set in a new key", since: "2.0.0", complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(diffStore, { arity: -4, flags: ["write", "denyoom"], summary: "Subtract multiple sorted sets and store the resulting sorted set in a new key", since: "6.2.0", complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set." }),
  setOperationSpec(union, { arity: -3, flags: ["readonly"], summary: "Add multiple sorted sets", since: "6.2.0", complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(inter, { arity: -3, flags: ["readonly"], summary: "Intersect multiple sorted sets", since: "6.2.0", complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set." }),
  setOperationSpec(diff, { arity: -3, flags: ["readonly"], summary: "Subtract multiple sorted sets", since: "6.2.0", complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set." }),
  setOperationSpec(interCard, { arity: -3, flags: ["readonly"], summary: "Intersect multiple sorted sets and return the cardinality of the result", since: "7.0.0", complexity: "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets." }),
  { name: "zremrangebyscore", arity: 4, flags: ["write"], group: "sorted_set", keys: oneKey, summary: "Remove all members in a sorted set within the given scores", since: "1.2.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", validate: validateScoreArguments, route: state(zremrangebyscore) },
  { name: "zremrangebyrank", arity: 4, flags: ["write"], group: "sorted_set", keys: oneKey, summary: "Remove all members in a sorted set within the given indexes", since: "2.0.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation. Here positions cost O(position) from the nearer end.", validate: validateRankArguments, route: state(zremrangebyrank) },
  { name: "zremrangebylex", arity: 4, flags: ["write"], group: "sorted_set", keys: oneKey, summary: "Remove all members in a sorted set between the given lexicographical range", since: "2.8.9", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", validate: validateLexArguments, route: state(zremrangebylex) },
  { name: "zscan", arity: -3, flags: ["readonly"], group: "sorted_set", keys: oneKey, summary: "Incrementally iterate sorted sets elements and associated scores", since: "2.8.0", complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", validate: (argv) => (parseCursor(argv[2]) === undefined ? INVALID_CURSOR : undefined), route: state(zscan) }
]
