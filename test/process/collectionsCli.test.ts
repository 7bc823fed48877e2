/**
 * Hashes, sets and sorted sets on a real node with the real redis-cli: every command (the blocking
 * ones where they do not wait), its errors
 * and edge cases (negative indexes, empty ranges, exclusive and infinite score bounds,
 * lexicographic bounds) print what they print against a real redis-server, in RESP2 and RESP3.
 * Where Redis leaves the order unspecified (members of a hash or set come back in hash order
 * here, in insertion order from a small redis-server collection) the printed lines are compared
 * as a multiset; everything else is compared exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessCluster } from "../support/processCluster.js"
import { redisCli } from "../support/redisCli.js"
import { RedisServer } from "../support/redisServer.js"

/** A redis-cli call, and whether its lines may come in any order. */
type Call = { readonly argv: ReadonlyArray<string>; readonly anyOrder?: true }
const call = (...argv: Array<string>): Call => ({ argv })
const anyOrder = (...argv: Array<string>): Call => ({ argv, anyOrder: true })

const HASHES: ReadonlyArray<Call> = [
  call("HSET", "h", "f1", "v1", "f2", "v2", "n", "10", "x", "1.5"), call("HSET", "h", "f1", "w1"), call("HSET", "h", "odd"), call("HMSET", "h", "f3", "v3"),
  call("HSETNX", "h", "f1", "no"), call("HSETNX", "h", "f4", "v4"), call("HGET", "h", "f1"), call("HGET", "h", "none"), call("HGET", "none", "f"),
  call("HMGET", "h", "f1", "none", "f2"), call("HMGET", "none", "a", "b"), anyOrder("HGETALL", "h"), call("HGETALL", "none"), anyOrder("HKEYS", "h"), anyOrder("HVALS", "h"),
  call("HLEN", "h"), call("HLEN", "none"), call("HEXISTS", "h", "f1"), call("HEXISTS", "h", "none"), call("HSTRLEN", "h", "f1"), call("HSTRLEN", "h", "none"),
  call("HINCRBY", "h", "n", "5"), call("HINCRBY", "h", "n", "-20"), call("HINCRBY", "h", "f1", "1"), call("HINCRBY", "h", "n", "x"), call("HINCRBY", "h", "new", "9223372036854775807"), call("HINCRBY", "h", "new", "1"),
  call("HINCRBYFLOAT", "h", "x", "0.1"), call("HINCRBYFLOAT", "h", "x", "-1.6"), call("HINCRBYFLOAT", "h", "f1", "1"), call("HINCRBYFLOAT", "h", "x", "nan"), call("HINCRBYFLOAT", "h", "y", "1e3"),
  call("HDEL", "h", "f1", "f2", "none"), call("HDEL", "none", "f"), call("HRANDFIELD", "none"), call("HRANDFIELD", "h", "0"), call("HRANDFIELD", "h", "x"), call("HRANDFIELD", "h", "1", "WITHVALUE"),
  anyOrder("HRANDFIELD", "h", "100"), anyOrder("HRANDFIELD", "h", "100", "WITHVALUES"), call("HSCAN", "none", "0"), call("HSCAN", "h", "x"),
  call("HSET", "one", "f", "v"), call("HRANDFIELD", "one"), call("HRANDFIELD", "one", "-3"), call("HRANDFIELD", "one", "1", "WITHVALUES"), call("HSCAN", "one", "0"),
  call("HDEL", "one", "f"), call("EXISTS", "one"), call("SET", "str", "v"), call("HSET", "str", "f", "v"), call("HGET", "str", "f"), call("TYPE", "h")
]

const SETS: ReadonlyArray<Call> = [
  call("SADD", "s", "a", "b", "c", "d"), call("SADD", "s", "a", "e"), call("SADD", "t", "c", "d", "e", "f"), call("SADD", "u", "x"),
  anyOrder("SMEMBERS", "s"), call("SMEMBERS", "none"), call("SISMEMBER", "s", "a"), call("SISMEMBER", "s", "z"), call("SMISMEMBER", "s", "a", "z", "b"),
  call("SCARD", "s"), call("SCARD", "none"), anyOrder("SINTER", "s", "t"), call("SINTER", "s", "none"), anyOrder("SUNION", "s", "t", "none"), anyOrder("SDIFF", "s", "t"), call("SDIFF", "none", "s"),
  call("SINTERCARD", "2", "s", "t"), call("SINTERCARD", "2", "s", "t", "LIMIT", "1"), call("SINTERCARD", "0", "s"), call("SINTERCARD", "3", "s", "t"), call("SINTERCARD", "2", "s", "t", "LIMIT", "-1"),
  call("SINTERSTORE", "dst", "s", "t"), anyOrder("SMEMBERS", "dst"), call("SUNIONSTORE", "dst", "s", "u"), call("SDIFFSTORE", "dst", "s", "s"), call("EXISTS", "dst"),
  call("SMOVE", "s", "u", "a"), call("SMOVE", "s", "u", "zz"), call("SMOVE", "none", "u", "a"), call("SREM", "s", "b", "zz"), call("SREM", "none", "a"),
  call("SRANDMEMBER", "none"), call("SRANDMEMBER", "s", "0"), call("SRANDMEMBER", "s", "x"), anyOrder("SRANDMEMBER", "s", "100"), call("SPOP", "none"), call("SPOP", "s", "-1"),
  call("SSCAN", "none", "0"), call("SSCAN", "u", "0", "MATCH", "x*"), call("SADD", "one", "m"), call("SPOP", "one"), call("EXISTS", "one"),
  call("SET", "str", "v"), call("SADD", "str", "a"), call("SMEMBERS", "str"), call("SINTER", "s", "str"), call("TYPE", "t")
]

const SORTED_SETS: ReadonlyArray<Call> = [
  call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "-inf", "lo", "+inf", "hi"), call("ZADD", "z", "NX", "10", "a", "5", "e"), call("ZADD", "z", "XX", "CH", "20", "a", "1", "zz"),
  call("ZADD", "z", "GT", "1", "a"), call("ZADD", "z", "LT", "CH", "1", "a"), call("ZADD", "z", "INCR", "2", "b"), call("ZADD", "z", "NX", "XX", "1", "a"), call("ZADD", "z", "nan", "a"), call("ZADD", "z", "1"),
  call("ZSCORE", "z", "a"), call("ZSCORE", "z", "none"), call("ZMSCORE", "z", "a", "none", "hi"), call("ZINCRBY", "z", "0.1", "c"), call("ZINCRBY", "z", "x", "c"), call("ZCARD", "z"), call("ZCARD", "none"),
  call("ZRANGE", "z", "0", "-1", "WITHSCORES"), call("ZRANGE", "z", "-2", "-1"), call("ZRANGE", "z", "5", "1"), call("ZRANGE", "z", "-100", "100"), call("ZREVRANGE", "z", "0", "1", "WITHSCORES"),
  call("ZRANGE", "z", "(1", "4", "BYSCORE"), call("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"), call("ZRANGE", "z", "+inf", "(2", "BYSCORE", "REV", "WITHSCORES"), call("ZRANGE", "z", "x", "1", "BYSCORE"),
  call("ZRANGEBYSCORE", "z", "(1", "(4"), call("ZREVRANGEBYSCORE", "z", "4", "-inf", "LIMIT", "0", "2"), call("ZCOUNT", "z", "(1", "+inf"), call("ZCOUNT", "z", "x", "1"),
  call("ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"), call("ZRANGE", "lex", "[b", "(d", "BYLEX"), call("ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "0", "2"), call("ZRANGEBYLEX", "lex", "-", "[c"),
  call("ZREVRANGEBYLEX", "lex", "(e", "-"), call("ZLEXCOUNT", "lex", "[a", "(c"), call("ZRANGEBYLEX", "lex", "a", "c"), call("ZREMRANGEBYLEX", "lex", "[d", "+"), call("ZRANGE", "lex", "0", "-1"),
  call("ZRANK", "z", "c"), call("ZREVRANK", "z", "c"), call("ZRANK", "z", "none"), call("ZREM", "z", "zz", "none"), call("ZPOPMIN", "z"), call("ZPOPMAX", "z", "2"), call("ZPOPMIN", "none"),
  call("ZMPOP", "2", "none", "z", "MIN", "COUNT", "2"), call("ZMPOP", "1", "none", "MAX"), call("ZMPOP", "0", "z", "MIN"),
  call("ZADD", "bz", "1", "a", "2", "b", "3", "c"), call("BZPOPMIN", "none", "bz", "0"), call("BZPOPMAX", "bz", "0.01"), call("BZPOPMIN", "none", "0.01"), call("BZPOPMIN", "bz", "x"),
  call("BZPOPMIN", "bz", "-1"), call("BZPOPMIN", "bz"), call("BZMPOP", "0", "2", "none", "bz", "MAX", "COUNT", "5"), call("BZMPOP", "0.01", "1", "bz", "MIN"), call("BZMPOP", "x", "1", "bz", "MIN"),
  call("BZMPOP", "0", "0", "bz", "MIN"), call("BZMPOP", "0", "1", "bz", "UP"), call("BZMPOP", "0", "1", "bz", "MIN", "COUNT", "0"), call("EXISTS", "bz"),
  call("ZADD", "w", "1", "c", "5", "x"), call("ZUNIONSTORE", "out", "2", "z", "w", "WEIGHTS", "2", "3"), call("ZRANGE", "out", "0", "-1", "WITHSCORES"), call("ZINTERSTORE", "out", "2", "z", "w", "AGGREGATE", "MAX"),
  call("ZRANGE", "out", "0", "-1", "WITHSCORES"), call("ZDIFFSTORE", "out", "2", "z", "w"), call("ZRANGE", "out", "0", "-1", "WITHSCORES"), call("ZUNIONSTORE", "out", "2", "z", "w", "WEIGHTS", "1"),
  call("ZUNION", "2", "z", "w", "WITHSCORES"), call("ZINTER", "2", "z", "w"), call("ZDIFF", "2", "z", "w"), call("ZINTERCARD", "2", "z", "w"),
  call("ZRANGESTORE", "dst", "z", "0", "0"), call("ZRANGE", "dst", "0", "-1"), call("ZREMRANGEBYSCORE", "out", "-inf", "(10"), call("ZREMRANGEBYRANK", "w", "0", "0"), call("ZRANGE", "w", "0", "-1"),
  call("ZRANDMEMBER", "none"), call("ZRANDMEMBER", "w", "0"), call("ZRANDMEMBER", "w", "-2"), anyOrder("ZRANDMEMBER", "z", "100", "WITHSCORES"), call("ZSCAN", "w", "0"), call("ZSCAN", "none", "0"),
  call("SET", "str", "v"), call("ZADD", "str", "1", "a"), call("ZRANGE", "str", "0", "-1"), call("BZPOPMIN", "str", "0"), call("BZMPOP", "0", "1", "str", "MIN"), call("TYPE", "z")
]

/** redis-cli's printed lines; sorted when the order is unspecified. */
const lines = (output: string, unordered: boolean): ReadonlyArray<string> => {
  const all = output.split("\n")
  return unordered ? [...all].sort() : all
}

describe("hashes, sets and sorted sets with redis-cli, against redis-server", () => {
  const cluster = new ProcessCluster({ basePort: 29600, nodes: 1 })
  let reference: RedisServer
  beforeAll(async () => {
    ;[reference] = await Promise.all([RedisServer.start({ port: 29651 }), cluster.startAll()])
  }, 60_000)
  afterAll(async () => {
    await cluster.shutdown()
    await reference?.stop()
  })

  it.each([
    ["hash", HASHES],
    ["set", SETS],
    ["sorted-set", SORTED_SETS]
  ] as const)("every %s command prints what redis-server's does, errors and edge cases included (RESP2 and RESP3)", async (_, session) => {
    await cluster.waitForLeader()
    for (const protocol of [[], ["-3"]]) {
      await Promise.all([redisCli(cluster.clientPort(1), "FLUSHALL"), redisCli(reference.port, "FLUSHALL")])
      for (const { argv, anyOrder } of session) {
        const [ours, theirs] = await Promise.all([redisCli(cluster.clientPort(1), ...protocol, ...argv), redisCli(reference.port, ...protocol, ...argv)])
        expect(lines(ours, anyOrder === true), `redis-cli ${[...protocol, ...argv].join(" ")}`).toEqual(lines(theirs, anyOrder === true))
      }
    }
  }, 120_000)
})
