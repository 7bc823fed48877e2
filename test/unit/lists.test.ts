/**
 * Every list command over the real state machine and memory engine (test/support/commandRunner),
 * with redis-server 7.0's replies byte for byte (RESP2, and RESP3 where it differs), error texts
 * and edge cases (negative indexes, empty ranges, counts of 0, WRONGTYPE); the blocking commands
 * with a second client pushing and with time passing; and the encoding's costs: what one write
 * puts in the engine and what a range read takes from it.
 */
import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import type { KvEngineService, WriteOp } from "../../src/engine/KvEngine.js"
import { encodeReply } from "../../src/resp/encode.js"
import type { Reply } from "../../src/resp/Reply.js"
import { CommandRunner, engineOf, type TestClient, newSession, replies } from "../support/commandRunner.js"
import { wire, bulks, WRONGTYPE, NOT_INTEGER } from "../support/wire.js"

describe("pushing and popping", () => {
  it("LPUSH, RPUSH, LPUSHX, RPUSHX: order, lengths, and only-if-it-exists", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["LPUSHX", "l", "a"], ["RPUSHX", "l", "a"], ["EXISTS", "l"], ["RPUSH", "l", "a", "b"], ["LPUSH", "l", "c", "d"], ["RPUSHX", "l", "e"], ["LPUSHX", "l", "f", "g"], ["LRANGE", "l", "0", "-1"], ["TYPE", "l"])).toEqual([
      ":0\r\n", ":0\r\n", ":0\r\n", ":2\r\n", ":4\r\n", ":5\r\n", ":7\r\n", bulks("g", "f", "d", "c", "a", "b", "e"), "+list\r\n"
    ])
  })

  it("LPOP and RPOP, with and without a count", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["LPOP", "l"], ["LPOP", "l", "0"], ["LPOP", "l", "2"], ["RPUSH", "l", "a", "b", "c", "d", "e"], ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "0"], ["RPOP", "l", "2"], ["LPOP", "l", "5"], ["EXISTS", "l"])).toEqual([
      "$-1\r\n", "*-1\r\n", "*-1\r\n", ":5\r\n", "$1\r\na\r\n", "$1\r\ne\r\n", "*0\r\n", bulks("d", "c"), bulks("b"), ":0\r\n"
    ])
    await client.call("HELLO", "3")
    expect(await replies(client, ["LPOP", "l"], ["LPOP", "l", "1"])).toEqual(["_\r\n", "_\r\n"])
  })

  it("refuses a bad count before the log, in Redis's order", async () => {
    const { runner, client } = await newSession()
    expect(await replies(client, ["LPOP", "l", "-1"], ["RPOP", "l", "x"], ["LPOP", "l", "1", "2"], ["RPOP", "l", "9223372036854775808"])).toEqual([
      "-ERR value is out of range, must be positive\r\n", "-ERR value is out of range, must be positive\r\n",
      "-ERR wrong number of arguments for 'lpop' command\r\n", "-ERR value is out of range, must be positive\r\n"
    ])
    expect(await runner.apply({ kind: "command", db: 0, argv: ["LPOP", "l", "-1"].map((a) => Buffer.from(a)) }).then((r) => wire(r))).toBe("-ERR value is out of range, must be positive\r\n")
  })

  it("a list that becomes empty disappears, and a push makes a new one", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["RPUSH", "l", "a"], ["EXPIRE", "l", "100"], ["RPOP", "l"], ["EXISTS", "l"], ["DBSIZE"], ["RPUSH", "l", "b"], ["TTL", "l"])).toEqual([
      ":1\r\n", ":1\r\n", "$1\r\na\r\n", ":0\r\n", ":0\r\n", ":1\r\n", ":-1\r\n"
    ])
  })

  it("WRONGTYPE from every list command on a string, and from string commands on a list", async () => {
    const { client } = await newSession()
    await client.call("SET", "s", "v")
    const commands = [
      ["LPUSH", "s", "a"], ["RPUSHX", "s", "a"], ["LPOP", "s"], ["RPOP", "s", "2"], ["LLEN", "s"], ["LINDEX", "s", "0"], ["LSET", "s", "0", "a"],
      ["LRANGE", "s", "0", "-1"], ["LTRIM", "s", "0", "1"], ["LREM", "s", "0", "a"], ["LINSERT", "s", "BEFORE", "a", "b"], ["LPOS", "s", "a"],
      ["LMOVE", "s", "d", "LEFT", "LEFT"], ["RPOPLPUSH", "s", "d"], ["LMPOP", "1", "s", "LEFT"], ["BLPOP", "s", "0"], ["BRPOP", "x", "s", "0"],
      ["BLMOVE", "s", "d", "LEFT", "LEFT", "0"], ["BRPOPLPUSH", "s", "d", "0"], ["BLMPOP", "0", "1", "s", "LEFT"]
    ]
    for (const command of commands) expect(await client.wire(...command), command.join(" ")).toBe(WRONGTYPE)
    await client.call("RPUSH", "l", "a")
    expect(await replies(client, ["GET", "l"], ["INCR", "l"], ["APPEND", "l", "x"])).toEqual([WRONGTYPE, WRONGTYPE, WRONGTYPE])
    expect(await client.wire("LLEN", "l")).toBe(":1\r\n")
  })
})

describe("reading", () => {
  it("LLEN, LINDEX with negative and out-of-range indexes, and Redis's order of checks", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "l", "a", "b", "c")
    expect(await replies(client, ["LLEN", "l"], ["LLEN", "missing"], ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "-3"], ["LINDEX", "l", "3"], ["LINDEX", "l", "-4"], ["LINDEX", "missing", "x"], ["LINDEX", "l", "x"], ["LINDEX", "l", "99999999999999999999"])).toEqual([
      ":3\r\n", ":0\r\n", "$1\r\na\r\n", "$1\r\nc\r\n", "$1\r\na\r\n", "$-1\r\n", "$-1\r\n", "$-1\r\n", NOT_INTEGER, NOT_INTEGER
    ])
  })

  it("LRANGE: negative indexes, empty and clamped ranges, and bad integers refused whether the key exists or not", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "l", "a", "b", "c", "d", "e")
    expect(await replies(client, ["LRANGE", "l", "0", "-1"], ["LRANGE", "l", "1", "2"], ["LRANGE", "l", "-2", "-1"], ["LRANGE", "l", "-100", "1"], ["LRANGE", "l", "3", "100"], ["LRANGE", "l", "4", "3"], ["LRANGE", "l", "5", "10"], ["LRANGE", "l", "0", "-6"], ["LRANGE", "l", "-9223372036854775808", "9223372036854775807"], ["LRANGE", "missing", "0", "-1"], ["LRANGE", "missing", "x", "1"], ["LRANGE", "l", "0", "1.5"])).toEqual([
      bulks("a", "b", "c", "d", "e"), bulks("b", "c"), bulks("d", "e"), bulks("a", "b"), bulks("d", "e"), "*0\r\n", "*0\r\n", "*0\r\n", bulks("a", "b", "c", "d", "e"), "*0\r\n", NOT_INTEGER, NOT_INTEGER
    ])
  })

  it("LPOS with RANK, COUNT and MAXLEN (the examples of Redis's documentation and its edge cases)", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    expect(await replies(client, ["LPOS", "l", "c"], ["LPOS", "l", "c", "RANK", "2"], ["LPOS", "l", "c", "RANK", "-1"], ["LPOS", "l", "c", "COUNT", "2"], ["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"], ["LPOS", "l", "c", "COUNT", "0"], ["LPOS", "l", "c", "RANK", "-2", "COUNT", "0"], ["LPOS", "l", "c", "MAXLEN", "3"], ["LPOS", "l", "c", "MAXLEN", "2"], ["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"], ["LPOS", "l", "z"], ["LPOS", "l", "z", "COUNT", "0"], ["LPOS", "missing", "c"], ["LPOS", "missing", "c", "COUNT", "1"], ["LPOS", "l", "c", "RANK", "4"], ["LPOS", "l", "c", "RANK", "-9223372036854775808"], ["LPOS", "l", "c", "RANK", "-9223372036854775808", "COUNT", "1"])).toEqual([
      ":2\r\n", ":6\r\n", ":7\r\n", "*2\r\n:2\r\n:6\r\n", "*2\r\n:7\r\n:6\r\n", "*3\r\n:2\r\n:6\r\n:7\r\n", "*2\r\n:6\r\n:2\r\n", ":2\r\n", "$-1\r\n", "*2\r\n:2\r\n:6\r\n", "$-1\r\n", "*0\r\n", "$-1\r\n", "*0\r\n", "$-1\r\n", ":7\r\n",
      // redis-server negates LONG_MIN into itself: every match counts, and COUNT never stops the scan.
      "*3\r\n:7\r\n:6\r\n:2\r\n"
    ])
    expect(await replies(client, ["LPOS", "l", "c", "RANK", "0"], ["LPOS", "l", "c", "COUNT", "-1"], ["LPOS", "l", "c", "MAXLEN", "-1"], ["LPOS", "l", "c", "RANK", "x"], ["LPOS", "l", "c", "COUNT", "x"], ["LPOS", "l", "c", "FOO", "1"], ["LPOS", "l", "c", "RANK"], ["LPOS", "missing", "c", "RANK", "0"])).toEqual([
      "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
      "-ERR COUNT can't be negative\r\n", "-ERR MAXLEN can't be negative\r\n", NOT_INTEGER, "-ERR COUNT can't be negative\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n",
      "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"
    ])
  })
})

describe("changing elements in place", () => {
  it("LSET: Redis checks the key before the index", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["LSET", "missing", "x", "v"], ["LSET", "missing", "0", "v"], ["RPUSH", "l", "a", "b", "c"], ["LSET", "l", "x", "v"], ["LSET", "l", "3", "v"], ["LSET", "l", "-4", "v"], ["LSET", "l", "-1", "C"], ["LSET", "l", "0", "A"], ["LRANGE", "l", "0", "-1"])).toEqual([
      "-ERR no such key\r\n", "-ERR no such key\r\n", ":3\r\n", NOT_INTEGER, "-ERR index out of range\r\n", "-ERR index out of range\r\n", "+OK\r\n", "+OK\r\n", bulks("A", "b", "C")
    ])
  })

  it("LTRIM: ranges as LRANGE's, an empty range deletes the key, a missing key is OK", async () => {
    const { client } = await newSession()
    const trim = async (start: string, end: string) => {
      await client.call("DEL", "l")
      await client.call("RPUSH", "l", "a", "b", "c", "d", "e")
      return [await client.wire("LTRIM", "l", start, end), await client.wire("LRANGE", "l", "0", "-1")]
    }
    expect(await trim("1", "-2")).toEqual(["+OK\r\n", bulks("b", "c", "d")])
    expect(await trim("0", "0")).toEqual(["+OK\r\n", bulks("a")])
    expect(await trim("-2", "100")).toEqual(["+OK\r\n", bulks("d", "e")])
    expect(await trim("0", "-1")).toEqual(["+OK\r\n", bulks("a", "b", "c", "d", "e")])
    expect(await trim("3", "1")).toEqual(["+OK\r\n", "*0\r\n"])
    expect(await client.wire("EXISTS", "l")).toBe(":0\r\n")
    expect(await replies(client, ["LTRIM", "missing", "0", "1"], ["LTRIM", "missing", "x", "1"])).toEqual(["+OK\r\n", NOT_INTEGER])
  })

  it("LTRIM that keeps a few elements of many keeps the key's expiry and its elements in order", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "l", ...Array.from({ length: 50 }, (_, i) => `e${i}`))
    await client.call("EXPIRE", "l", "100")
    expect(await replies(client, ["LTRIM", "l", "10", "12"], ["LRANGE", "l", "0", "-1"], ["TTL", "l"], ["LPUSH", "l", "x"], ["RPUSH", "l", "y"], ["LRANGE", "l", "0", "-1"])).toEqual([
      "+OK\r\n", bulks("e10", "e11", "e12"), ":100\r\n", ":4\r\n", ":5\r\n", bulks("x", "e10", "e11", "e12", "y")
    ])
  })

  it("LREM from the head, from the tail, all; the key goes when emptied", async () => {
    const { client } = await newSession()
    const rem = async (count: string, element: string) => {
      await client.call("DEL", "l")
      await client.call("RPUSH", "l", "a", "b", "a", "c", "a", "b")
      return [await client.wire("LREM", "l", count, element), await client.wire("LRANGE", "l", "0", "-1")]
    }
    expect(await rem("1", "a")).toEqual([":1\r\n", bulks("b", "a", "c", "a", "b")])
    expect(await rem("2", "a")).toEqual([":2\r\n", bulks("b", "c", "a", "b")])
    expect(await rem("-1", "a")).toEqual([":1\r\n", bulks("a", "b", "a", "c", "b")])
    expect(await rem("-2", "b")).toEqual([":2\r\n", bulks("a", "a", "c", "a")])
    expect(await rem("0", "a")).toEqual([":3\r\n", bulks("b", "c", "b")])
    expect(await rem("0", "z")).toEqual([":0\r\n", bulks("a", "b", "a", "c", "a", "b")])
    await client.call("DEL", "l")
    await client.call("RPUSH", "l", "x", "x")
    expect(await replies(client, ["LREM", "l", "0", "x"], ["EXISTS", "l"], ["LREM", "missing", "0", "x"], ["LREM", "l", "x", "x"])).toEqual([":2\r\n", ":0\r\n", ":0\r\n", NOT_INTEGER])
  })

  it("LINSERT before and after, near either end; -1 without the pivot, 0 without the key, syntax first", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "l", "a", "b", "c", "d", "e")
    expect(await replies(client, ["LINSERT", "l", "BEFORE", "b", "x"], ["LINSERT", "l", "after", "d", "y"], ["LINSERT", "l", "AFTER", "e", "z"], ["LINSERT", "l", "before", "a", "w"], ["LRANGE", "l", "0", "-1"], ["LINSERT", "l", "BEFORE", "nope", "x"], ["LINSERT", "missing", "BEFORE", "a", "x"], ["LINSERT", "missing", "MIDDLE", "a", "x"], ["LINSERT", "l", "MIDDLE", "a", "x"], ["LLEN", "l"])).toEqual([
      ":6\r\n", ":7\r\n", ":8\r\n", ":9\r\n", bulks("w", "a", "x", "b", "c", "d", "y", "e", "z"), ":-1\r\n", ":0\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n", ":9\r\n"
    ])
  })
})

describe("moving between lists", () => {
  it("LMOVE every way, RPOPLPUSH, a missing source, a destination of another type", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "src", "a", "b", "c")
    expect(await replies(client, ["LMOVE", "src", "dst", "LEFT", "RIGHT"], ["LMOVE", "src", "dst", "RIGHT", "LEFT"], ["RPOPLPUSH", "src", "dst"], ["EXISTS", "src"], ["LRANGE", "dst", "0", "-1"], ["LMOVE", "src", "dst", "LEFT", "LEFT"], ["RPOPLPUSH", "src", "dst"], ["SET", "s", "v"], ["LMOVE", "dst", "s", "LEFT", "LEFT"], ["LRANGE", "dst", "0", "-1"], ["LMOVE", "missing", "s", "LEFT", "LEFT"], ["LMOVE", "dst", "x", "UP", "LEFT"], ["LMOVE", "missing", "x", "LEFT", "DOWN"])).toEqual([
      "$1\r\na\r\n", "$1\r\nc\r\n", "$1\r\nb\r\n", ":0\r\n", bulks("b", "c", "a"), "$-1\r\n", "$-1\r\n", "+OK\r\n", WRONGTYPE, bulks("b", "c", "a"), "$-1\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n"
    ])
  })

  it("a list moved onto itself rotates, and a single element keeps its key and expiry", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "l", "a", "b", "c")
    expect(await replies(client, ["LMOVE", "l", "l", "LEFT", "RIGHT"], ["LRANGE", "l", "0", "-1"], ["RPOPLPUSH", "l", "l"], ["LRANGE", "l", "0", "-1"], ["LMOVE", "l", "l", "LEFT", "LEFT"], ["LRANGE", "l", "0", "-1"])).toEqual([
      "$1\r\na\r\n", bulks("b", "c", "a"), "$1\r\na\r\n", bulks("a", "b", "c"), "$1\r\na\r\n", bulks("a", "b", "c")
    ])
    await client.call("RPUSH", "one", "x")
    await client.call("EXPIRE", "one", "50")
    expect(await replies(client, ["LMOVE", "one", "one", "RIGHT", "LEFT"], ["LRANGE", "one", "0", "-1"], ["TTL", "one"])).toEqual(["$1\r\nx\r\n", bulks("x"), ":50\r\n"])
  })

  it("LMPOP: the first non-empty list, a count, and its argument errors", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "b", "1", "2", "3")
    expect(await replies(client, ["LMPOP", "2", "a", "b", "LEFT"], ["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"], ["EXISTS", "b"], ["LMPOP", "1", "a", "LEFT"])).toEqual([
      "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n", "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n", ":0\r\n", "*-1\r\n"
    ])
    await client.call("HELLO", "3")
    expect(await client.wire("LMPOP", "1", "a", "LEFT")).toBe("_\r\n")
    await client.call("HELLO", "2")
    expect(await replies(client, ["LMPOP", "0", "a", "LEFT"], ["LMPOP", "x", "a", "LEFT"], ["LMPOP", "2", "a", "LEFT"], ["LMPOP", "1", "a", "MIDDLE"], ["LMPOP", "1", "a", "LEFT", "COUNT", "0"], ["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"], ["LMPOP", "1", "a", "LEFT", "FOO"], ["LMPOP", "9223372036854775807", "a", "LEFT"], ["LMPOP", "9223372036854775808", "a", "LEFT"])).toEqual([
      "-ERR numkeys should be greater than 0\r\n", "-ERR numkeys should be greater than 0\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n", "-ERR count should be greater than 0\r\n",
      "-ERR syntax error\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n", "-ERR numkeys should be greater than 0\r\n"
    ])
    expect(await client.wire("COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT")).toBe(bulks("a", "b"))
    expect(await client.wire("COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "3")).toBe(bulks("a", "b"))
    expect(await client.wire("COMMAND", "GETKEYS", "BLPOP", "a", "b", "0")).toBe(bulks("a", "b"))
  })
})

describe("blocking commands", () => {
  it("answer at once when an element is there, and with nil inside MULTI when none is", async () => {
    const { client } = await newSession()
    await client.call("RPUSH", "l", "a", "b", "c", "d")
    expect(await replies(client, ["BLPOP", "missing", "l", "0"], ["BRPOP", "l", "0"], ["BLMOVE", "l", "m", "LEFT", "RIGHT", "0"], ["BRPOPLPUSH", "l", "m", "0"], ["LRANGE", "m", "0", "-1"], ["EXISTS", "l"], ["BLMPOP", "0", "2", "l", "m", "LEFT", "COUNT", "5"])).toEqual([
      bulks("l", "a"), bulks("l", "d"), "$1\r\nb\r\n", "$1\r\nc\r\n", bulks("c", "b"), ":0\r\n", "*2\r\n$1\r\nm\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
    ])
    const inMulti = [["BLPOP", "l", "0"], ["BRPOP", "l", "0"], ["BLMOVE", "l", "m", "LEFT", "RIGHT", "0"], ["BRPOPLPUSH", "l", "m", "0"], ["BLMPOP", "0", "1", "l", "LEFT"]]
    await client.call("MULTI")
    for (const command of inMulti) await client.call(...command)
    const exec = await client.call("EXEC")
    expect(wire(exec)).toBe("*5\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n")
    expect(wire(exec, 3)).toBe("*5\r\n_\r\n_\r\n_\r\n_\r\n_\r\n")
  })

  it("check the timeout before the log, with redis-server's texts (and its rounding up to whole ms)", async () => {
    const { runner, client } = await newSession()
    expect(await replies(client, ["BLPOP", "l", "x"], ["BLPOP", "l", "-1"], ["BLPOP", "l", "inf"], ["BLPOP", "l", "1e16"], ["BLPOP", "l", "1e5000"], ["BLPOP", "l", ""], ["BRPOPLPUSH", "l", "m", "-0.5"], ["BLMOVE", "l", "m", "UP", "LEFT", "-1"], ["BLMOVE", "l", "m", "LEFT", "LEFT", "-1"], ["BLMPOP", "x", "0", "l", "LEFT"], ["BLMPOP", "-1", "1", "l", "MIDDLE"], ["BLMPOP", "-1", "1", "l", "LEFT"])).toEqual([
      "-ERR timeout is not a float or out of range\r\n", "-ERR timeout is negative\r\n", "-ERR timeout is negative\r\n", "-ERR timeout is negative\r\n",
      "-ERR timeout is not a float or out of range\r\n", "-ERR timeout is not a float or out of range\r\n", "-ERR timeout is negative\r\n", "-ERR syntax error\r\n",
      "-ERR timeout is negative\r\n", "-ERR numkeys should be greater than 0\r\n", "-ERR syntax error\r\n", "-ERR timeout is negative\r\n"
    ])
    // 0.0001 s is 1 ms (it times out); -0.0001 rounds up to 0 (forever).
    const short = client.send("BLPOP", "l", "0.0001")
    await runner.settled()
    runner.advance(1)
    expect(wire(await short)).toBe("*-1\r\n")
    const other = runner.client()
    const forever = other.send("BLPOP", "l", "-0.0001")
    await runner.settled()
    runner.advance(10_000_000)
    await client.call("RPUSH", "l", "v")
    expect(wire(await forever)).toBe(bulks("l", "v"))
  })

  it("wait for a push from another client, and are served from the key that received it", async () => {
    const { runner, client } = await newSession()
    const pusher = runner.client()
    const waiting = client.send("BLPOP", "a", "b", "0")
    await runner.settled()
    expect(runner.replies.at(-1)).toBeUndefined()
    expect(runner.blocked.count).toBe(1)
    expect(wire(await pusher.call("RPUSH", "b", "x", "y"))).toBe(":2\r\n")
    expect(wire(await waiting)).toBe(bulks("b", "x"))
    expect(runner.blocked.count).toBe(0)
    expect(await replies(pusher, ["LRANGE", "b", "0", "-1"])).toEqual([bulks("y")])
  })

  it("time out with a null array: RESP2 *-1, RESP3 _", async () => {
    const { runner, client } = await newSession()
    await client.call("HELLO", "3")
    const resp2 = runner.client()
    const three = client.send("BLPOP", "k", "1.5")
    const two = resp2.send("BLMOVE", "k", "d", "LEFT", "LEFT", "1")
    await runner.settled()
    runner.advance(999)
    await runner.settled()
    expect(runner.blocked.count).toBe(2)
    runner.advance(1)
    expect(wire(await two)).toBe("*-1\r\n")
    runner.advance(500)
    expect(encodeReply(await three, 3).toString("latin1")).toBe("_\r\n")
    expect(runner.blocked.count).toBe(0)
  })

  it("serve the clients blocked on a key in the order they blocked, one element each", async () => {
    const { runner } = await newSession()
    const [first, second, third, pusher] = [runner.client(), runner.client(), runner.client(), runner.client()]
    const answers: Array<string> = []
    const wait = (client: TestClient, name: string) => client.send("BRPOP", "q", "0").then((reply) => answers.push(`${name} ${wire(reply)}`))
    const all = [wait(first, "first"), wait(second, "second"), wait(third, "third")]
    await runner.settled()
    await pusher.call("LPUSH", "q", "1")
    expect(answers).toEqual([`first ${bulks("q", "1")}`])
    await pusher.call("LPUSH", "q", "2", "3")
    await Promise.all(all)
    expect(answers).toEqual([`first ${bulks("q", "1")}`, `second ${bulks("q", "2")}`, `third ${bulks("q", "3")}`])
    expect(await pusher.wire("EXISTS", "q")).toBe(":0\r\n")
  })

  it("BLMOVE's push wakes a client blocked on its destination; BLMPOP takes its count", async () => {
    const { runner } = await newSession()
    const [mover, popper, pusher] = [runner.client(), runner.client(), runner.client()]
    const moved = mover.send("BLMOVE", "in", "out", "RIGHT", "LEFT", "0")
    const popped = popper.send("BLMPOP", "0", "1", "out", "LEFT", "COUNT", "3")
    await runner.settled()
    await pusher.call("RPUSH", "in", "a", "b")
    expect(wire(await moved)).toBe("$1\r\nb\r\n")
    expect(wire(await popped)).toBe("*2\r\n$3\r\nout\r\n*1\r\n$1\r\nb\r\n")
    expect(await pusher.wire("LRANGE", "in", "0", "-1")).toBe(bulks("a"))
  })

  it("keep waiting when a key gets another type, and serve a list renamed onto the key", async () => {
    const { runner, client } = await newSession()
    const other = runner.client()
    const waiting = client.send("BLPOP", "k", "0")
    await runner.settled()
    expect(await replies(other, ["SET", "k", "string"], ["DEL", "k"], ["RPUSH", "src", "v"], ["RENAME", "src", "k"])).toEqual(["+OK\r\n", ":1\r\n", ":1\r\n", "+OK\r\n"])
    expect(wire(await waiting)).toBe(bulks("k", "v"))
  })

  it("a client that goes away stops waiting, and the element goes to the next one", async () => {
    const { runner } = await newSession()
    const [gone, next, pusher] = [runner.client(), runner.client(), runner.client()]
    let goneReply: Reply | undefined
    void gone.send("BLPOP", "k", "0").then((reply) => (goneReply = reply))
    const served = next.send("BLPOP", "k", "0")
    await runner.settled()
    gone.close()
    expect(runner.blocked.count).toBe(1)
    await pusher.call("RPUSH", "k", "v")
    expect(wire(await served)).toBe(bulks("k", "v"))
    expect(goneReply).toBeUndefined()
  })
})

describe("the encoding: what a command costs the engine", () => {
  /** The memory engine, counting the keys each write batch carries and the list elements reads take from it. */
  const countingRunner = async () => {
    const { engine } = await engineOf()
    const counts = { written: [] as Array<Array<WriteOp>>, membersRead: 0 }
    const isMember = (key: Uint8Array) => key[0] === 0x73
    const counting: KvEngineService = {
      ...engine,
      write: (ops, index) => {
        counts.written.push([...ops])
        return engine.write(ops, index)
      },
      getNow: (key) => {
        if (isMember(key)) counts.membersRead++
        return engine.getNow!(key)
      },
      iterate: (range) => Stream.tap(engine.iterate(range), ([key]) => Effect.sync(() => (isMember(key) ? counts.membersRead++ : undefined)))
    }
    const runner = await CommandRunner.make(counting)
    return { runner, client: runner.client(), counts }
  }
  /** Member keys ('s' family) written by the last batch. */
  const membersWritten = (ops: ReadonlyArray<WriteOp>) => ops.filter((op) => op.type !== "clear" && op.key[0] === 0x73).length

  it("a push, a pop, LINDEX and LSET touch one element of a list of thousands; LRANGE reads only what it returns", async () => {
    const { client, counts } = await countingRunner()
    for (let i = 0; i < 10; i++) await client.call("RPUSH", "l", ...Array.from({ length: 500 }, (_, j) => `e${i * 500 + j}`))
    for (const command of [["RPUSH", "l", "x"], ["LPUSH", "l", "y"], ["LPOP", "l"], ["RPOP", "l"], ["LSET", "l", "2500", "z"]]) {
      await client.call(...command)
      expect(membersWritten(counts.written.at(-1)!), command.join(" ")).toBe(1)
    }
    await client.call("LMOVE", "l", "l2", "LEFT", "RIGHT")
    expect(membersWritten(counts.written.at(-1)!)).toBe(2)
    counts.membersRead = 0
    expect(await client.wire("LRANGE", "l", "1000", "1009")).toBe(bulks(...Array.from({ length: 10 }, (_, i) => `e${1001 + i}`)))
    expect(counts.membersRead).toBe(10)
    expect(await client.wire("LINDEX", "l", "-1")).toBe("$5\r\ne4999\r\n")
    expect(counts.membersRead).toBe(11)
    // A range too long for point reads is one range read, still of exactly its elements.
    counts.membersRead = 0
    const long = await client.call("LRANGE", "l", "100", "2099")
    expect(counts.membersRead).toBe(2000)
    const items = long._tag === "Array" && long.value !== null ? long.value.map((item) => (item._tag === "Bulk" ? Buffer.from(item.value!).toString() : "")) : []
    expect(items).toEqual(Array.from({ length: 2000 }, (_, i) => `e${i + 101}`))
  })

  it("LINSERT and LREM move only the shorter side; LTRIM of most of a list and DEL are not proportional to it", async () => {
    const { client, counts } = await countingRunner()
    await client.call("RPUSH", "l", ...Array.from({ length: 1000 }, (_, i) => `e${i}`))
    await client.call("LINSERT", "l", "AFTER", "e997", "x")
    expect(membersWritten(counts.written.at(-1)!)).toBe(3)
    await client.call("LINSERT", "l", "BEFORE", "e2", "y")
    expect(membersWritten(counts.written.at(-1)!)).toBe(3)
    await client.call("LREM", "l", "1", "e5")
    // e0..e4 and y move one place towards the tail; the old head goes.
    expect(membersWritten(counts.written.at(-1)!)).toBe(7)
    expect(await client.wire("LRANGE", "l", "0", "6")).toBe(bulks("e0", "e1", "y", "e2", "e3", "e4", "e6"))
    await client.call("LTRIM", "l", "0", "9")
    expect(membersWritten(counts.written.at(-1)!)).toBe(10)
    expect(await client.wire("LLEN", "l")).toBe(":10\r\n")
    await client.call("RPUSH", "big", ...Array.from({ length: 1000 }, (_, i) => `e${i}`))
    await client.call("DEL", "big")
    expect(counts.written.at(-1)!.length).toBeLessThan(10)
  })
})

describe("the command table", () => {
  it("declares the list commands as redis-server 7.0 does", async () => {
    const { client } = await newSession()
    expect(await client.wire("COMMAND", "INFO", "blpop")).toContain("$5\r\nblpop\r\n:-3\r\n*3\r\n+write\r\n+noscript\r\n+blocking\r\n:1\r\n:-2\r\n:1\r\n")
    expect(await client.wire("COMMAND", "INFO", "lmpop")).toContain("$5\r\nlmpop\r\n:-4\r\n*2\r\n+write\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n")
    expect(await client.wire("COMMAND", "INFO", "lpush")).toContain("$5\r\nlpush\r\n:-3\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n")
  })
})

