/**
 * Sorted sets end to end over the real state machine (test/support/commandRunner): replies byte for
 * byte as redis-server 7.0 gives them (RESP2 and RESP3), every argument error refused before the
 * log, the encoding's order, what reaches the engine (an emptied set leaves no key behind), expiry,
 * WATCH, and how much of the engine each read touches (range reads read what they return).
 * test/compat/scenarios/zsets.ts compares the same commands with a live redis-server.
 */
import { Chunk, Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import type { KvEngineService } from "../../src/engine/KvEngine.js"
import type { Reply } from "../../src/resp/Reply.js"
import { decodeScore, parseScorePart, scoreFromSortable, sortableScore } from "../../src/commands/sortedSets/encoding.js"
import { Family } from "../../src/commands/keyspace/layout.js"
import { CommandRunner, engineOf, newSession, replies } from "../support/commandRunner.js"
import { bulk, bulks, SYNTAX, WRONGTYPE, NOT_FLOAT, NOT_INTEGER } from "../support/wire.js"

/** The elements of an aggregate reply, and a bulk reply's text. */
const items = (reply: Reply): Array<Reply> => (reply._tag === "Array" || reply._tag === "Pairs" ? [...(reply.value ?? [])] : [])
const textOf = (reply: Reply): string => (reply._tag === "Bulk" && reply.value !== null ? Buffer.from(reply.value).toString("latin1") : `<${reply._tag}>`)

const allEngineKeys = async (engine: KvEngineService) =>
  Chunk.toReadonlyArray(await Effect.runPromise(Stream.runCollect(engine.iterate({})))).map(([key]) => Buffer.from(key))

/** A memory engine that counts the pairs its range reads yield. */
const countingEngine = async () => {
  const { engine } = await engineOf()
  const counter = { pairs: 0 }
  const counted: KvEngineService = { ...engine, iterate: (range) => Stream.tap(engine.iterate(range), () => Effect.sync(() => void counter.pairs++)) }
  return { engine: counted, counter }
}

describe("the score encoding", () => {
  it("orders scores as numbers: random doubles, ±inf, ±0, subnormals, extremes", () => {
    const special = [0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, -2.2250738585072014e-308, 5e-324 * 3, Number.MAX_VALUE, -Number.MAX_VALUE, Infinity, -Infinity, 1, -1, 0.1, -0.1, 2 ** 53, -(2 ** 53)]
    const view = new DataView(new ArrayBuffer(8))
    const random: Array<number> = []
    let seed = 12345
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0)
    for (let i = 0; i < 5000; i++) {
      // Random bit patterns cover every exponent, subnormals included; NaNs are never stored.
      view.setUint32(0, next())
      view.setUint32(4, next())
      const value = view.getFloat64(0)
      if (!Number.isNaN(value)) random.push(value)
    }
    const values = [...special, ...random]
    const byNumber = [...values].sort((a, b) => a - b)
    const byBytes = [...values].sort((a, b) => Buffer.compare(sortableScore(a), sortableScore(b)))
    expect(byBytes.map((v) => (v === 0 ? 0 : v))).toEqual(byNumber.map((v) => (v === 0 ? 0 : v)))
    for (const value of values) expect(scoreFromSortable(sortableScore(value))).toBe(value === 0 ? 0 : value)
    // -0 and +0 are one score, so equal-score members keep their byte order.
    expect(sortableScore(-0).equals(sortableScore(0))).toBe(true)
  })
})

describe("ZADD and its options", () => {
  it("answers as redis-server 7.0, including the option errors in Redis's order", async () => {
    const { client } = await newSession()
    expect(
      await replies(client,
        ["ZADD", "z", "1", "a", "2", "b"], ["ZADD", "z", "NX", "10", "a", "3", "c"], ["ZADD", "z", "XX", "CH", "11", "a", "4", "d"],
        ["ZADD", "z", "GT", "CH", "5", "a", "20", "b", "1", "e"], ["ZADD", "z", "LT", "CH", "5", "a", "30", "b"],
        ["ZADD", "z", "ch", "3", "a", "4", "a", "1", "new"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZADD", "z", "INCR", "2.5", "a"], ["ZADD", "z", "NX", "INCR", "1", "a"], ["ZADD", "z", "GT", "INCR", "-1", "a"],
        ["ZADD", "nokey", "XX", "1", "a"], ["ZADD", "nokey", "XX", "INCR", "1", "a"], ["EXISTS", "nokey"],
        ["ZADD", "z", "NX", "XX", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "GT", "LT", "x", "a"], ["ZADD", "z", "NX", "GT", "1", "a"],
        ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "1", "a", "2"], ["ZADD", "z", "BOGUS", "1", "a"], ["ZADD", "z", "NX", "x", "a"],
        ["ZADD", "z", "nan", "a"], ["ZADD", "z", "1e400", "a"], ["ZADD", "z", " 1", "a"], ["ZADD", "z", "1", "ok", "x", "bad"], ["ZSCORE", "z", "ok"]
      )
    ).toEqual([
      ":2\r\n", ":1\r\n", ":1\r\n", ":2\r\n", ":1\r\n", ":3\r\n",
      bulks("e", "1", "new", "1", "c", "3", "a", "4", "b", "20"),
      bulk("6.5"), "$-1\r\n", "$-1\r\n",
      ":0\r\n", "$-1\r\n", ":0\r\n",
      "-ERR XX and NX options at the same time are not compatible\r\n", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
      "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n", "-ERR INCR option supports a single increment-element pair\r\n",
      SYNTAX, SYNTAX, NOT_FLOAT, NOT_FLOAT, NOT_FLOAT, NOT_FLOAT, NOT_FLOAT, "$-1\r\n"
    ])
  })

  it("prints scores with 17 significant digits, inf and -inf, and stores -0 as 0", async () => {
    const { client } = await newSession()
    await client.call("ZADD", "z", "1.1", "a", "1e30", "b", "inf", "c", "-inf", "d", "123456789012345678", "e", "-0", "f", "0x10", "g", "5e-324", "h")
    expect(await replies(client, ["ZSCORE", "z", "a"], ["ZSCORE", "z", "b"], ["ZSCORE", "z", "c"], ["ZSCORE", "z", "d"], ["ZSCORE", "z", "e"], ["ZSCORE", "z", "f"], ["ZSCORE", "z", "g"], ["ZSCORE", "z", "h"])).toEqual(
      ["1.1000000000000001", "1e+30", "inf", "-inf", "1.2345678901234568e+17", "0", "16", "4.9406564584124654e-324"].map(bulk)
    )
    // ZINCRBY answers the sum it computed (-0 + -0 is -0), and stores 0.
    expect(await replies(client, ["ZINCRBY", "n", "-0", "m"], ["ZSCORE", "n", "m"])).toEqual([bulk("-0"), bulk("0")])
    await client.call("HELLO", "3")
    expect(await replies(client, ["ZSCORE", "z", "a"], ["ZINCRBY", "z", "1", "c"], ["ZMSCORE", "z", "a", "nope"], ["ZSCORE", "z", "nope"])).toEqual([
      ",1.1000000000000001\r\n", ",inf\r\n", "*2\r\n,1.1000000000000001\r\n_\r\n", "_\r\n"
    ])
  })

  it("ZINCRBY refuses a NaN result and leaves the member as it was", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["ZINCRBY", "z", "inf", "a"], ["ZINCRBY", "z", "-inf", "a"], ["ZADD", "z", "INCR", "-inf", "a"], ["ZSCORE", "z", "a"], ["ZINCRBY", "z", "x", "a"], ["ZINCRBY", "z", "nan", "a"])).toEqual([
      bulk("inf"), "-ERR resulting score is not a number (NaN)\r\n", "-ERR resulting score is not a number (NaN)\r\n", bulk("inf"), NOT_FLOAT, NOT_FLOAT
    ])
  })
})

describe("ranges", () => {
  const five = async () => {
    const { runner, client } = await newSession()
    await client.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
    return { runner, client }
  }

  it("by index: negative indexes, clamping, empty ranges, REV, WITHSCORES in RESP2 and RESP3", async () => {
    const { client } = await five()
    expect(await replies(client, ["ZRANGE", "z", "-2", "-1"], ["ZRANGE", "z", "-100", "1"], ["ZRANGE", "z", "3", "100"], ["ZRANGE", "z", "3", "1"], ["ZRANGE", "z", "5", "9"], ["ZRANGE", "z", "9223372036854775807", "-9223372036854775808"], ["ZREVRANGE", "z", "0", "1"], ["ZRANGE", "z", "0", "1", "REV", "WITHSCORES"], ["ZRANGE", "missing", "0", "-1"])).toEqual([
      bulks("d", "e"), bulks("a", "b"), bulks("d", "e"), "*0\r\n", "*0\r\n", "*0\r\n", bulks("e", "d"), bulks("e", "5", "d", "4"), "*0\r\n"
    ])
    await client.call("HELLO", "3")
    expect(await client.wire("ZRANGE", "z", "0", "1", "WITHSCORES")).toBe("*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n")
  })

  it("by score: exclusive and infinite bounds, strtod's syntax, LIMIT, REV", async () => {
    const { client } = await five()
    expect(
      await replies(client,
        ["ZRANGEBYSCORE", "z", "(1", "(4"], ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"], ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "-1"],
        ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"], ["ZRANGEBYSCORE", "z", "2", "(2"], ["ZRANGEBYSCORE", "z", "4", "2"],
        ["ZREVRANGEBYSCORE", "z", "(5", "2", "LIMIT", "1", "1", "WITHSCORES"], ["ZRANGE", "z", "5", "(3", "BYSCORE", "REV"],
        ["ZCOUNT", "z", " 2", "0x1p2"], ["ZCOUNT", "z", "", "(2"], ["ZCOUNT", "z", "(", "1e400"], ["ZCOUNT", "z", "-infinity", "3"],
        ["ZCOUNT", "z", "2 ", "3"], ["ZCOUNT", "z", "(nan", "3"], ["ZRANGEBYSCORE", "z", "0", "5", "LIMIT", "0"], ["ZRANGEBYSCORE", "z", "0", "5", "REV"]
      )
    ).toEqual([
      bulks("b", "c"), bulks("b", "c"), bulks("b", "c", "d", "e"), "*0\r\n", "*0\r\n", "*0\r\n", bulks("c", "3"), bulks("e", "d"),
      ":3\r\n", ":1\r\n", ":5\r\n", ":3\r\n",
      "-ERR min or max is not a float\r\n", "-ERR min or max is not a float\r\n", SYNTAX, SYNTAX
    ])
  })

  it("by lex: bounds, LIMIT, REV, and Redis's small-set walk when scores differ", async () => {
    const { client } = await newSession()
    await client.call("ZADD", "l", "0", "alpha", "0", "bar", "0", "cool", "0", "down", "0", "elephant")
    await client.call("ZADD", "mixed", "1", "d", "2", "a", "3", "c", "4", "b", "5", "e")
    expect(
      await replies(client,
        ["ZRANGEBYLEX", "l", "[bar", "(down"], ["ZRANGEBYLEX", "l", "(bar", "+", "LIMIT", "1", "2"], ["ZREVRANGEBYLEX", "l", "[cool", "-"], ["ZRANGEBYLEX", "l", "+", "-"],
        ["ZRANGEBYLEX", "l", "(cool", "[cool"], ["ZLEXCOUNT", "l", "[b", "[d"], ["ZRANGE", "l", "[down", "(alpha", "BYLEX", "REV", "LIMIT", "0", "2"],
        ["ZRANGEBYLEX", "mixed", "[b", "[d"], ["ZRANGEBYLEX", "mixed", "-", "[c"], ["ZREVRANGEBYLEX", "mixed", "+", "[c"], ["ZLEXCOUNT", "mixed", "[f", "+"],
        ["ZRANGEBYLEX", "l", "a", "+"], ["ZRANGEBYLEX", "l", "--", "+"], ["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"]
      )
    ).toEqual([
      bulks("bar", "cool"), bulks("down", "elephant"), bulks("cool", "bar", "alpha"), "*0\r\n", "*0\r\n", ":2\r\n", bulks("down", "cool"),
      // The listpack walk (redis-server's answer for a small set): from d, the first member >= "b" in
      // score order, while members stay <= "d".
      bulks("d", "a", "c", "b"), "*0\r\n", bulks("e"), ":0\r\n",
      "-ERR min or max not valid string range item\r\n", "-ERR min or max not valid string range item\r\n", "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"
    ])
  })

  it("ZRANGE's option errors, in Redis's order", async () => {
    const { client } = await five()
    expect(
      await replies(client,
        ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"], ["ZRANGE", "z", "0", "-1", "LIMIT", "5", "-1"], ["ZRANGE", "z", "0", "-1", "REV", "REV"], ["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"],
        ["ZRANGE", "z", "0", "x"], ["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"], ["ZREVRANGE", "z", "0", "1", "BYSCORE"], ["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"],
        ["SET", "s", "x"], ["ZRANGE", "s", "x", "1"], ["ZRANGE", "s", "0", "1"]
      )
    ).toEqual([
      "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n", bulks("a", "b", "c", "d", "e"), SYNTAX, SYNTAX,
      NOT_INTEGER, NOT_INTEGER, SYNTAX, SYNTAX, "+OK\r\n", NOT_INTEGER, WRONGTYPE
    ])
  })

  it("ZRANK and ZREVRANK from either end", async () => {
    const { client } = await newSession()
    const argv = ["ZADD", "z"]
    for (let i = 0; i < 101; i++) argv.push(String(i), `m${i}`)
    await client.call(...argv)
    for (const i of [0, 1, 49, 50, 51, 99, 100]) {
      expect(await client.wire("ZRANK", "z", `m${i}`)).toBe(`:${i}\r\n`)
      expect(await client.wire("ZREVRANK", "z", `m${i}`)).toBe(`:${100 - i}\r\n`)
    }
    expect(await replies(client, ["ZRANK", "z", "nope"], ["ZRANK", "missing", "a"])).toEqual(["$-1\r\n", "$-1\r\n"])
  })
})

describe("reads touch only what they return", () => {
  it("ZRANGE by index, score and lex, ZREVRANGE, ZPOPMAX and ZSCORE read a bounded number of keys from a large set", async () => {
    const { engine, counter } = await countingEngine()
    const runner = await CommandRunner.make(engine)
    const client = runner.client()
    for (let start = 0; start < 20_000; start += 1000) {
      const argv = ["ZADD", "z"]
      for (let i = start; i < start + 1000; i++) argv.push(String(i), `m${String(i).padStart(5, "0")}`)
      await client.call(...argv)
      const flat = ["ZADD", "flat"]
      for (let i = start; i < start + 1000; i++) flat.push("0", `m${String(i).padStart(5, "0")}`)
      await client.call(...flat)
    }
    const cost = async (...argv: Array<string>) => {
      counter.pairs = 0
      await client.call(...argv)
      return counter.pairs
    }
    expect(await cost("ZRANGE", "z", "0", "9")).toBeLessThanOrEqual(10)
    expect(await cost("ZRANGE", "z", "-10", "-1")).toBeLessThanOrEqual(10)
    expect(await cost("ZREVRANGE", "z", "0", "9")).toBeLessThanOrEqual(10)
    expect(await cost("ZRANGEBYSCORE", "z", "(15000", "+inf", "LIMIT", "0", "5")).toBeLessThanOrEqual(5)
    expect(await cost("ZREVRANGEBYSCORE", "z", "(15000", "-inf", "LIMIT", "2", "5")).toBeLessThanOrEqual(7)
    expect(await cost("ZRANGEBYLEX", "flat", "[m12000", "(m12010")).toBeLessThanOrEqual(2 + 11)
    expect(await cost("ZREVRANGEBYLEX", "flat", "[m12000", "-", "LIMIT", "0", "3")).toBeLessThanOrEqual(2 + 3)
    expect(await cost("ZSCORE", "z", "m12345")).toBe(0)
    // Positions cost a walk from the nearer end.
    expect(await cost("ZREVRANK", "z", "m19990")).toBeLessThanOrEqual(10)
    expect(await cost("ZRANK", "z", "m00010")).toBeLessThanOrEqual(10)
    expect(await cost("ZRANK", "z", "m15000")).toBeLessThanOrEqual(10_000 + 5000)
    expect(await cost("ZRANGE", "z", "-105", "-101")).toBeLessThanOrEqual(105)
    expect(await cost("ZADD", "z", "7", "new")).toBe(0)
    expect(await cost("ZPOPMAX", "z", "3")).toBeLessThanOrEqual(3)
  })
})

describe("pops, removals and empty sets", () => {
  it("ZPOPMIN/ZPOPMAX/ZMPOP replies in RESP2 and RESP3", async () => {
    const { client } = await newSession()
    await client.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    expect(await replies(client, ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "1"], ["ZPOPMIN", "z", "0"], ["ZPOPMIN", "z", "-1"], ["ZPOPMIN", "z", "1", "2"], ["ZMPOP", "2", "nope", "z", "MAX", "COUNT", "5"], ["ZMPOP", "1", "z", "MIN"], ["ZPOPMIN", "z"])).toEqual([
      bulks("a", "1"), bulks("d", "4"), "*0\r\n", "-ERR value is out of range, must be positive\r\n", SYNTAX,
      "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n", "*-1\r\n", "*0\r\n"
    ])
    await client.call("HELLO", "3")
    await client.call("ZADD", "z", "1", "a", "2", "b")
    expect(await replies(client, ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "1"], ["ZMPOP", "1", "z", "MIN"])).toEqual([
      "*2\r\n$1\r\na\r\n,1\r\n", "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "_\r\n"
    ])
  })

  it("a set emptied by ZREM, a pop or a range removal disappears and leaves no engine key behind", async () => {
    const { runner, client } = await newSession()
    const before = await allEngineKeys(runner.engine)
    for (const empty of [["ZREM", "z", "a", "b", "c"], ["ZPOPMAX", "z", "3"], ["ZREMRANGEBYSCORE", "z", "-inf", "+inf"], ["ZREMRANGEBYRANK", "z", "0", "-1"], ["ZREMRANGEBYLEX", "z", "-", "+"], ["ZMPOP", "1", "z", "MIN", "COUNT", "9"]]) {
      await client.call("ZADD", "z", "0", "a", "0", "b", "0", "c")
      await client.call(...empty)
      expect(await client.wire("EXISTS", "z")).toBe(":0\r\n")
      expect(await client.wire("DBSIZE")).toBe(":0\r\n")
    }
    // Only the state machine's own records (clock, counts, versions) changed: no member, meta or garbage key.
    const after = (await allEngineKeys(runner.engine)).filter((key) => key[0] !== 0x00)
    expect(after.map((k) => k.toString("latin1"))).toEqual(before.filter((key) => key[0] !== 0x00).map((k) => k.toString("latin1")))
  })

  it("keeps one member and one score key per member, and DEL leaves the members to the reaper", async () => {
    const { runner, client } = await newSession()
    await client.call("ZADD", "z", "1", "a", "2", "b")
    await client.call("ZADD", "z", "5", "a")
    const members = (await allEngineKeys(runner.engine)).filter((key) => key[0] === 0x73)
    expect(members).toHaveLength(4)
    const scoreKeys = members.filter((key) => key[9] === 0x02).map((key) => parseScorePart(key.subarray(9)))
    expect(scoreKeys.map(({ member, score }) => [member.toString(), score])).toEqual([["b", 2], ["a", 5]])
    await client.call("DEL", "z")
    const garbage = (await allEngineKeys(runner.engine)).filter((key) => key[0] === 0x67)
    expect(garbage).toHaveLength(1)
    expect(decodeScore(Buffer.from([0x40, 0x14, 0, 0, 0, 0, 0, 0]))).toBe(5)
  })
})

describe("argument errors are refused before the log", () => {
  it("leaves the applied index unchanged for every malformed write", async () => {
    const { runner, client } = await newSession()
    await client.call("ZADD", "z", "1", "a")
    const applied = await Effect.runPromise(runner.engine.appliedIndex)
    const bad = [
      ["ZADD", "z", "nan", "a"], ["ZADD", "z", "NX", "XX", "1", "a"], ["ZINCRBY", "z", "x", "a"], ["ZRANGESTORE", "d", "z", "0", "x"],
      ["ZRANGESTORE", "d", "z", "(x", "1", "BYSCORE"], ["ZRANGESTORE", "d", "z", "a", "b", "BYLEX"], ["ZRANGESTORE", "d", "z", "0", "1", "BYSCORE", "LIMIT", "0", "x"],
      ["ZPOPMIN", "z", "-1"], ["ZMPOP", "0", "z", "MIN"], ["ZMPOP", "1", "z", "MIN", "COUNT", "0"], ["ZREMRANGEBYSCORE", "z", "x", "1"],
      ["ZREMRANGEBYRANK", "z", "1.5", "2"], ["ZREMRANGEBYLEX", "z", "x", "+"], ["ZUNIONSTORE", "d", "1", "z", "WEIGHTS", "nan"],
      ["ZINTERSTORE", "d", "2", "z"], ["ZDIFFSTORE", "d", "1", "z", "AGGREGATE", "SUM"], ["ZUNIONSTORE", "d", "0", "z"], ["ZUNIONSTORE", "d", "1", "z", "AGGREGATE", "AVG"]
    ]
    for (const argv of bad) expect(await client.wire(...argv)).toMatch(/^-ERR /)
    expect(await Effect.runPromise(runner.engine.appliedIndex)).toBe(applied)
  })

  it("checks a queued command's arguments again when EXEC applies it", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["MULTI"], ["ZADD", "z", "1", "a"], ["ZADD", "z", "nan", "b"], ["ZRANGEBYSCORE", "z", "x", "1"], ["ZCARD", "z"], ["EXEC"])).toEqual([
      "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", `*4\r\n:1\r\n${NOT_FLOAT}-ERR min or max is not a float\r\n:1\r\n`
    ])
  })
})

describe("set operations", () => {
  it("ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE with WEIGHTS and AGGREGATE, an empty result deleting the destination", async () => {
    const { client } = await newSession()
    await client.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
    await client.call("ZADD", "y", "10", "a", "20", "x")
    expect(
      await replies(client,
        ["ZUNIONSTORE", "d", "2", "z", "y", "WEIGHTS", "1", "2", "AGGREGATE", "MAX"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZINTERSTORE", "d", "2", "z", "y", "AGGREGATE", "MIN"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZDIFFSTORE", "d", "2", "z", "y"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZINTERSTORE", "d", "2", "z", "missing"], ["EXISTS", "d"],
        ["ZINTERCARD", "2", "z", "y"], ["ZINTERCARD", "1", "z", "LIMIT", "2"], ["ZINTERCARD", "1", "z", "LIMIT", "-1"],
        ["ZUNION", "2", "z", "y", "WITHSCORES"], ["ZDIFF", "2", "y", "z"]
      )
    ).toEqual([
      ":4\r\n", bulks("b", "2", "c", "3", "a", "20", "x", "40"), ":1\r\n", bulks("a", "1"), ":2\r\n", bulks("b", "2", "c", "3"), ":0\r\n", ":0\r\n",
      ":1\r\n", ":2\r\n", "-ERR LIMIT can't be negative\r\n", bulks("b", "2", "c", "3", "a", "11", "x", "20"), bulks("x")
    ])
  })

  it("combines inputs from the smallest to the largest, NaN weights and sums counting 0, as Redis", async () => {
    const { client } = await newSession()
    await client.call("ZADD", "z1", "inf", "a")
    await client.call("ZADD", "z2", "-inf", "a", "1", "b")
    await client.call("ZADD", "z3", "5", "a", "1", "c", "1", "d")
    await client.call("ZADD", "z0", "0", "a")
    expect(await replies(client, ["ZUNION", "3", "z3", "z2", "z1", "WITHSCORES"], ["ZINTER", "2", "z0", "z1", "WEIGHTS", "inf", "1", "WITHSCORES"], ["ZUNION", "1", "z0", "WEIGHTS", "-1", "WITHSCORES"], ["ZUNIONSTORE", "d", "1", "z0", "WEIGHTS", "-1"], ["ZSCORE", "d", "a"])).toEqual([
      bulks("b", "1", "c", "1", "d", "1", "a", "5"), bulks("a", "inf"), bulks("a", "-0"), ":1\r\n", bulk("0")
    ])
  })

  it("reads answer WRONGTYPE before option errors; writes refuse the options first", async () => {
    const { client } = await newSession()
    await client.call("SET", "s", "x")
    expect(await replies(client, ["ZUNION", "1", "s", "WEIGHTS", "x"], ["ZUNIONSTORE", "d", "1", "s", "WEIGHTS", "x"], ["ZUNIONSTORE", "d", "1", "s"], ["ZINTERCARD", "0", "s"])).toEqual([
      WRONGTYPE, "-ERR weight value is not a float\r\n", WRONGTYPE, "-ERR at least 1 input key is needed for 'zintercard' command\r\n"
    ])
  })
})

describe("ZRANDMEMBER", () => {
  it("picks members of the set: distinct for a positive count, repeated for a negative one", async () => {
    const { client } = await newSession()
    const argv = ["ZADD", "z"]
    for (let i = 0; i < 50; i++) argv.push(String(i), `m${i}`)
    await client.call(...argv)
    const members = (reply: Reply) => items(reply).map(textOf)
    for (const count of [1, 5, 16, 17, 49, 50, 80]) {
      const picked = members(await client.call("ZRANDMEMBER", "z", String(count)))
      expect(picked).toHaveLength(Math.min(count, 50))
      expect(new Set(picked).size).toBe(picked.length)
      for (const m of picked) expect(m).toMatch(/^m\d+$/)
    }
    const repeated = members(await client.call("ZRANDMEMBER", "z", "-200"))
    expect(repeated).toHaveLength(200)
    expect(new Set(repeated).size).toBeGreaterThan(20)
    const withScores = await client.call("ZRANDMEMBER", "z", "-3", "WITHSCORES")
    expect(withScores._tag).toBe("Pairs")
    expect(items(withScores)).toHaveLength(6)
    expect(await replies(client, ["ZRANDMEMBER", "z", "0"], ["ZRANDMEMBER", "missing"], ["ZRANDMEMBER", "missing", "3"], ["ZRANDMEMBER", "z", "-1048577"], ["ZRANDMEMBER", "z", "-9223372036854775808"], ["ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES"], ["ZRANDMEMBER", "z", "1", "x"])).toEqual([
      "*0\r\n", "$-1\r\n", "*0\r\n", "-ERR value is out of range, value must between -1048576 and 9223372036854775807\r\n", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n", "-ERR value is out of range\r\n", SYNTAX
    ])
  })
})

describe("ZSCAN", () => {
  it("iterates every member once by hash cursor, with scores as a small set's listpack shows them", async () => {
    const { client } = await newSession()
    const argv = ["ZADD", "z"]
    for (let i = 0; i < 300; i++) argv.push(String(i / 4), `m${i}`)
    await client.call(...argv)
    await client.call("ZADD", "z", "4611686018427387904", "big", "9e18", "bigger", "1e30", "huge", "0.1", "tenth")
    const seen = new Map<string, string>()
    let cursor = "0"
    let calls = 0
    do {
      const [next, found] = items(await client.call("ZSCAN", "z", cursor, "COUNT", "20"))
      cursor = textOf(next)
      const page = items(found).map(textOf)
      for (let i = 0; i < page.length; i += 2) {
        expect(seen.has(page[i])).toBe(false)
        seen.set(page[i], page[i + 1])
      }
      calls++
    } while (cursor !== "0")
    expect(seen.size).toBe(304)
    expect(calls).toBeGreaterThan(5)
    expect([seen.get("m3"), seen.get("m4"), seen.get("big"), seen.get("bigger"), seen.get("huge"), seen.get("tenth")]).toEqual(["0.75", "1", "4611686018427387904", "9e+18", "1e+30", "0.10000000000000001"])
    // A set of up to 128 members comes back whole, in score order, as redis-server's listpack.
    await client.call("ZADD", "small", "2", "b", "1", "a", "1.5", "c")
    expect(await client.wire("ZSCAN", "small", "0", "COUNT", "1")).toBe(`*2\r\n$1\r\n0\r\n${bulks("a", "1", "c", "1.5", "b", "2")}`)
    expect(await client.wire("ZSCAN", "small", "0", "MATCH", "[bc]")).toBe(`*2\r\n$1\r\n0\r\n${bulks("c", "1.5", "b", "2")}`)
    expect(await client.wire("ZSCAN", "small", "77")).toBe(`*2\r\n$1\r\n0\r\n${bulks("a", "1", "c", "1.5", "b", "2")}`)
    expect(await replies(client, ["ZSCAN", "missing", "0", "BOGUS"], ["ZSCAN", "z", "x"], ["ZSCAN", "z", "0", "COUNT", "0"], ["ZSCAN", "z", "4294967296"])).toEqual([
      "*2\r\n$1\r\n0\r\n*0\r\n", "-ERR invalid cursor\r\n", SYNTAX, "*2\r\n$1\r\n0\r\n*0\r\n"
    ])
  })
})

describe("sorted sets and the keyspace", () => {
  it("WRONGTYPE across types, TYPE, expiry kept by ZADD, an expired set gone", async () => {
    const { runner, client } = await newSession()
    await client.call("SET", "s", "x")
    for (const argv of [["ZADD", "s", "1", "a"], ["ZSCORE", "s", "a"], ["ZRANGE", "s", "0", "-1"], ["ZPOPMIN", "s"], ["ZRANDMEMBER", "s"], ["ZSCAN", "s", "0"], ["ZMPOP", "1", "s", "MAX"], ["ZCARD", "s"]]) {
      expect(await client.wire(...argv)).toBe(WRONGTYPE)
    }
    await client.call("ZADD", "z", "1", "a")
    expect(await replies(client, ["GET", "z"], ["TYPE", "z"], ["PEXPIRE", "z", "1000"], ["ZADD", "z", "2", "b"], ["PTTL", "z"])).toEqual([WRONGTYPE, "+zset\r\n", ":1\r\n", ":1\r\n", ":1000\r\n"])
    runner.now += 1000
    expect(await replies(client, ["ZCARD", "z"], ["ZADD", "z", "3", "c"], ["ZRANGE", "z", "0", "-1"], ["TTL", "z"])).toEqual([":0\r\n", ":1\r\n", bulks("c"), ":-1\r\n"])
  })

  it("a score change alone marks a WATCHed set modified", async () => {
    const runner = await CommandRunner.make()
    const a = runner.client()
    const b = runner.client()
    await a.call("ZADD", "z", "1", "m")
    await a.call("WATCH", "z")
    await b.call("ZADD", "z", "2", "m")
    await a.call("MULTI")
    await a.call("ZCARD", "z")
    expect(await a.wire("EXEC")).toBe("*-1\r\n")
    // No change (same score, NX on a member) leaves the watch alone.
    await a.call("WATCH", "z")
    await b.call("ZADD", "z", "2", "m")
    await b.call("ZADD", "z", "NX", "5", "m")
    await a.call("MULTI")
    await a.call("ZCARD", "z")
    expect(await a.wire("EXEC")).toBe("*1\r\n:1\r\n")
  })

  it("RENAME moves, COPY duplicates both indexes", async () => {
    const { client } = await newSession()
    await client.call("ZADD", "z", "1", "a", "2", "b")
    expect(await replies(client, ["RENAME", "z", "y"], ["COPY", "y", "x"], ["ZADD", "x", "0", "c"], ["ZRANGE", "y", "0", "-1", "WITHSCORES"], ["ZRANGE", "x", "0", "-1", "WITHSCORES"], ["ZRANK", "x", "b"], ["ZSCORE", "x", "a"])).toEqual([
      "+OK\r\n", ":1\r\n", ":1\r\n", bulks("a", "1", "b", "2"), bulks("c", "0", "a", "1", "b", "2"), ":2\r\n", bulk("1")
    ])
  })
})

describe("a deleted sorted set", () => {
  it("counts both index keys of each member as garbage, and the reaper's slices bring the count back to 0", async () => {
    const runner = await CommandRunner.make((await engineOf()).engine)
    const client = runner.client()
    const members = Array.from({ length: 300 }, (_, i) => [String(i), `m${i}`]).flat()
    expect(await client.wire("ZADD", "z", ...members)).toBe(":300\r\n")
    expect(await client.wire("DEL", "z")).toBe(":1\r\n")
    expect(runner.machine.garbageMembers).toBe(600)
    const garbage = await Effect.runPromise(Stream.runCollect(runner.engine.iterate({ prefix: Uint8Array.of(Family.Garbage) })))
    const [key] = Chunk.toReadonlyArray(garbage)[0]
    const version = Buffer.from(key).readUInt32BE(1) * 2 ** 32 + Buffer.from(key).readUInt32BE(5)
    const removed: Array<number> = []
    for (let slice = 0; slice < 5 && runner.machine.garbageMembers > 0; slice++) {
      const reply = await runner.apply({ kind: "collect", target: "version", id: version, limit: 256 })
      removed.push(reply._tag === "Integer" ? Number(reply.value) : -1)
    }
    expect(removed).toEqual([256, 256, 88])
    expect(runner.machine.garbageMembers).toBe(0)
  })
})
