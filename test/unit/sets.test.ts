/**
 * Set commands end to end over the real state machine (test/support/commandRunner), replies checked
 * byte for byte against what redis-server 7.0.15 answers (the same commands run in
 * test/compat/scenarios/sets.ts against a live one), plus what only the runner can show: SPOP's
 * choice is the same on every node and every engine, set algebra reads only what it must
 * (SINTERCARD's LIMIT), random members really are members, WATCH marks.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { LevelEngine } from "../../src/engine/LevelEngine.js"
import { CommandRunner, engineOf, type TestClient, newSession, replies } from "../support/commandRunner.js"
import { WRONGTYPE } from "../support/wire.js"
import { countingEngine } from "../support/countingEngine.js"
import { plain, scanPage, strings } from "../support/replyValues.js"

/** SADD `count` members `${prefix}0..` in commands of 500 members. */
const fill = async (client: TestClient, key: string, count: number, prefix = "m", from = 0) => {
  for (let start = 0; start < count; start += 500) {
    await client.call("SADD", key, ...Array.from({ length: Math.min(500, count - start) }, (_, i) => `${prefix}${from + start + i}`))
  }
}

const sorted = (values: Array<string>) => [...values].sort()
const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`)

describe("set writes and reads", () => {
  it("SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS; an emptied set disappears", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["SADD", "s", "a"], ["SADD", "s", "a", "b", "b", "c"], ["SREM", "s", "zz"], ["SREM", "s", "a", "a"], ["SCARD", "s"], ["SCARD", "nokey"], ["SISMEMBER", "s", "b"], ["SISMEMBER", "s", "a"], ["SISMEMBER", "nokey", "a"], ["SMISMEMBER", "s", "a", "b", "c"], ["SMISMEMBER", "nokey", "a"], ["SMEMBERS", "nokey"], ["SREM", "nokey", "a"], ["TYPE", "s"], ["SREM", "s", "b", "c"], ["EXISTS", "s"], ["DBSIZE"])).toEqual([
      ":1\r\n", ":2\r\n", ":0\r\n", ":1\r\n", ":2\r\n", ":0\r\n", ":1\r\n", ":0\r\n", ":0\r\n", "*3\r\n:0\r\n:1\r\n:1\r\n", "*1\r\n:0\r\n", "*0\r\n", ":0\r\n", "+set\r\n", ":2\r\n", ":0\r\n", ":0\r\n"
    ])
    await client.call("SADD", "s", "x", "y")
    expect(sorted(strings(await client.call("SMEMBERS", "s")))).toEqual(["x", "y"])
    await client.call("HELLO", "3")
    expect(await replies(client, ["SMEMBERS", "nokey"], ["SMEMBERS", "s"].slice(0, 2), ["SINTER", "nokey"], ["SPOP", "nokey"], ["SPOP", "nokey", "2"], ["SRANDMEMBER", "nokey"], ["SRANDMEMBER", "nokey", "2"], ["SMISMEMBER", "s", "x"])).toEqual([
      "~0\r\n", expect.stringMatching(/^~2\r\n/), "~0\r\n", "_\r\n", "~0\r\n", "_\r\n", "*0\r\n", "*1\r\n:1\r\n"
    ])
  })

  it("refuses bad arguments before anything reaches the log, with redis-server's texts", async () => {
    const { runner, client } = await newSession()
    await client.call("SADD", "s", "a", "b")
    const before = runner.replies.length
    expect(await replies(client, ["SADD", "s"], ["SREM", "s"], ["SMISMEMBER", "s"], ["SPOP", "s", "x"], ["SPOP", "s", "-1"], ["SPOP", "s", "1", "2"], ["SRANDMEMBER", "s", "x"], ["SRANDMEMBER", "s", "1", "2"], ["SRANDMEMBER", "s", "-9223372036854775808"], ["SRANDMEMBER", "s", "-1048577"], ["SINTERCARD", "0", "s"], ["SINTERCARD", "x", "s"], ["SINTERCARD", "2", "s"], ["SINTERCARD", "1", "s", "LIMIT", "-1"], ["SINTERCARD", "1", "s", "LIMIT", "x"], ["SINTERCARD", "1", "s", "foo"], ["SINTERCARD", "1", "s", "LIMIT"], ["SSCAN", "s", "x"], ["SMOVE", "a", "b"])).toEqual([
      "-ERR wrong number of arguments for 'sadd' command\r\n", "-ERR wrong number of arguments for 'srem' command\r\n", "-ERR wrong number of arguments for 'smismember' command\r\n",
      "-ERR value is out of range, must be positive\r\n", "-ERR value is out of range, must be positive\r\n", "-ERR syntax error\r\n",
      "-ERR value is not an integer or out of range\r\n", "-ERR syntax error\r\n", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
      "-ERR value is out of range, value must between -1048576 and 9223372036854775807\r\n",
      "-ERR numkeys should be greater than 0\r\n", "-ERR numkeys should be greater than 0\r\n", "-ERR Number of keys can't be greater than number of args\r\n",
      "-ERR LIMIT can't be negative\r\n", "-ERR LIMIT can't be negative\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n", "-ERR invalid cursor\r\n",
      "-ERR wrong number of arguments for 'smove' command\r\n"
    ])
    expect(runner.replies.length - before).toBe(19)
    expect(await client.wire("SCARD", "s")).toBe(":2\r\n")
  })

  it("WRONGTYPE from every set command on another type; a STORE destination of any type is replaced", async () => {
    const { client } = await newSession()
    await client.call("SET", "str", "v")
    await client.call("HSET", "h", "f", "v")
    await client.call("SADD", "s", "a")
    for (const key of ["str", "h"]) {
      expect(await replies(client, ["SADD", key, "a"], ["SREM", key, "a"], ["SMEMBERS", key], ["SISMEMBER", key, "a"], ["SMISMEMBER", key, "a"], ["SCARD", key], ["SPOP", key], ["SPOP", key, "1"], ["SRANDMEMBER", key], ["SRANDMEMBER", key, "1"], ["SINTER", "s", key], ["SINTER", "nokey", key], ["SUNION", key, "s"], ["SDIFF", "nokey", key], ["SINTERSTORE", "d", "s", key], ["SINTERCARD", "2", "nokey", key], ["SMOVE", "s", key, "a"], ["SMOVE", key, "s", "a"], ["SSCAN", key, "0"])).toEqual(Array(19).fill(WRONGTYPE))
    }
    // A missing source makes SMOVE answer 0 before any type check, as redis-server does.
    expect(await replies(client, ["SMOVE", "nokey", "str", "a"], ["SUNIONSTORE", "str", "s"], ["TYPE", "str"], ["SINTERSTORE", "h", "s", "nokey"], ["EXISTS", "h"])).toEqual([":0\r\n", ":1\r\n", "+set\r\n", ":0\r\n", ":0\r\n"])
  })
})

describe("set algebra", () => {
  it("SINTER, SUNION, SDIFF and their STORE forms; missing keys are empty sets", async () => {
    const { client } = await newSession()
    await client.call("SADD", "s1", "a", "b", "c", "d")
    await client.call("SADD", "s2", "c", "d", "e")
    await client.call("SADD", "s3", "d", "e", "f")
    const members = async (...argv: Array<string>) => sorted(strings(await client.call(...argv)))
    expect(await members("SINTER", "s1", "s2")).toEqual(["c", "d"])
    expect(await members("SINTER", "s1", "s2", "s3")).toEqual(["d"])
    expect(await members("SINTER", "s1", "nokey")).toEqual([])
    expect(await members("SINTER", "s1", "s1")).toEqual(["a", "b", "c", "d"])
    expect(await members("SUNION", "s1", "s2")).toEqual(["a", "b", "c", "d", "e"])
    expect(await members("SUNION", "nokey", "s3")).toEqual(["d", "e", "f"])
    expect(await members("SDIFF", "s1", "s2")).toEqual(["a", "b"])
    expect(await members("SDIFF", "s1", "s2", "s3")).toEqual(["a", "b"])
    expect(await members("SDIFF", "s1", "s1")).toEqual([])
    expect(await members("SDIFF", "nokey", "s1")).toEqual([])
    expect(await replies(client, ["SINTERSTORE", "d", "s1", "s2"], ["SCARD", "d"], ["SUNIONSTORE", "d", "s1", "s2", "s3"], ["SCARD", "d"], ["SDIFFSTORE", "d", "s1", "s3"], ["SISMEMBER", "d", "a"], ["SISMEMBER", "d", "d"], ["SDIFFSTORE", "d", "nokey"], ["EXISTS", "d"], ["SINTERSTORE", "s1", "s1", "s2"], ["SCARD", "s1"])).toEqual([
      ":2\r\n", ":2\r\n", ":6\r\n", ":6\r\n", ":3\r\n", ":1\r\n", ":0\r\n", ":0\r\n", ":0\r\n", ":2\r\n", ":2\r\n"
    ])
    expect(await replies(client, ["SINTERCARD", "2", "s1", "s2"], ["SINTERCARD", "3", "s1", "s2", "s3"], ["SINTERCARD", "1", "s2", "LIMIT", "2"], ["SINTERCARD", "1", "s2", "LIMIT", "0"], ["SINTERCARD", "2", "s2", "nokey"], ["SINTERCARD", "1", "s2", "LIMIT", "1", "LIMIT", "5"])).toEqual([
      ":2\r\n", ":1\r\n", ":2\r\n", ":3\r\n", ":0\r\n", ":3\r\n"
    ])
  })

  it("large sets: the algebra is right across pages, and SINTERCARD with LIMIT stops after one page", async () => {
    const { engine, counts } = countingEngine((await engineOf()).engine)
    const runner = await CommandRunner.make(engine)
    const client = runner.client()
    await fill(client, "evens", 5000, "n", 0)
    await fill(client, "low", 3000, "n", 0)
    await fill(client, "high", 3000, "n", 2000)
    expect(plain(await client.call("SINTERCARD", "2", "low", "high"))).toBe(1000)
    expect(sorted(strings(await client.call("SINTER", "low", "high")))).toEqual(sorted(range("n", 2000, 3000)))
    expect(plain(await client.call("SCARD", "evens"))).toBe(5000)
    expect(sorted(strings(await client.call("SDIFF", "low", "high")))).toEqual(sorted(range("n", 0, 2000)))
    expect(plain(await client.call("SUNIONSTORE", "all", "low", "high"))).toBe(5000)
    expect(plain(await client.call("SDIFFSTORE", "none", "all", "evens"))).toBe(0)
    counts.reset()
    expect(plain(await client.call("SINTERCARD", "2", "evens", "high", "LIMIT", "10"))).toBe(10)
    // One page of the smaller set (256 members) and one membership check each: nothing more.
    expect(counts.pairsRead).toBeLessThanOrEqual(256)
    expect(counts.pointReads).toBeLessThanOrEqual(256 + 4)
  })
})

describe("SMOVE", () => {
  it("moves a member, creates the destination, removes an emptied source, and answers redis-server's corner cases", async () => {
    const { client } = await newSession()
    await client.call("SADD", "s1", "a", "b", "c")
    await client.call("SADD", "s2", "c")
    expect(await replies(client, ["SMOVE", "s1", "s2", "a"], ["SMOVE", "s1", "s2", "zz"], ["SMOVE", "nokey", "s2", "a"], ["SMOVE", "s1", "s1", "b"], ["SMOVE", "s1", "s1", "zz"], ["SMOVE", "s1", "s2", "c"], ["SCARD", "s1"], ["SCARD", "s2"], ["SMOVE", "s1", "fresh", "b"], ["EXISTS", "s1"], ["SMEMBERS", "fresh"])).toEqual([
      ":1\r\n", ":0\r\n", ":0\r\n", ":1\r\n", ":0\r\n", ":1\r\n", ":1\r\n", ":2\r\n", ":1\r\n", ":0\r\n", "*1\r\n$1\r\nb\r\n"
    ])
    expect(sorted(strings(await client.call("SMEMBERS", "s2")))).toEqual(["a", "c"])
  })
})

describe("SPOP and SRANDMEMBER", () => {
  for (const size of [8, 3000]) {
    it(`return members of a set of ${size}: distinct for a positive count, repeating for a negative one`, async () => {
      const { client } = await newSession()
      await fill(client, "s", size)
      const all = new Set(range("m", 0, size))
      expect(all.has(plain(await client.call("SRANDMEMBER", "s")) as string)).toBe(true)
      const distinct = strings(await client.call("SRANDMEMBER", "s", "5"))
      expect(new Set(distinct).size).toBe(5)
      for (const member of distinct) expect(all.has(member)).toBe(true)
      const repeated = strings(await client.call("SRANDMEMBER", "s", "-40"))
      expect(repeated).toHaveLength(40)
      for (const member of repeated) expect(all.has(member)).toBe(true)
      expect(sorted(strings(await client.call("SRANDMEMBER", "s", String(size + 1))))).toEqual(sorted([...all]))
      expect(await client.wire("SRANDMEMBER", "s", "0")).toBe("*0\r\n")
      // SPOP removes what it returns.
      const popped = plain(await client.call("SPOP", "s")) as string
      const poppedMany = strings(await client.call("SPOP", "s", "3"))
      expect(new Set([popped, ...poppedMany]).size).toBe(4)
      for (const member of [popped, ...poppedMany]) {
        expect(all.has(member)).toBe(true)
        expect(await client.wire("SISMEMBER", "s", member)).toBe(":0\r\n")
      }
      expect(plain(await client.call("SCARD", "s"))).toBe(size - 4)
      // Popping more than is left takes the whole set and deletes the key.
      const rest = strings(await client.call("SPOP", "s", String(size)))
      expect(sorted([popped, ...poppedMany, ...rest])).toEqual(sorted([...all]))
      expect(await replies(client, ["EXISTS", "s"], ["SPOP", "s"], ["SPOP", "s", "0"])).toEqual([":0\r\n", "$-1\r\n", "*0\r\n"])
    })
  }

  it("SPOP picks the same members on every node and every engine: the choice comes from the log entry", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-sets-"))
    const level = await engineOf(LevelEngine.layer(dir))
    try {
      const runners = [await CommandRunner.make(), await CommandRunner.make(), await CommandRunner.make(level.engine), await CommandRunner.make()]
      const popped: Array<Array<string>> = []
      for (const [i, runner] of runners.entries()) {
        const client = runner.client()
        // The last runner's log has one more entry first: its SPOPs are other entries, with other seeds.
        if (i === 3) await client.call("SET", "unrelated", "x")
        await fill(client, "small", 50)
        await fill(client, "large", 2000)
        const out: Array<string> = []
        for (let i = 0; i < 5; i++) {
          out.push(plain(await client.call("SPOP", "small")) as string, ...strings(await client.call("SPOP", "large", "7")))
          out.push(plain(await client.call("SPOP", "large")) as string)
        }
        out.push(...sorted(strings(await client.call("SMEMBERS", "large"))))
        popped.push(out)
      }
      expect(popped[1]).toEqual(popped[0])
      expect(popped[2]).toEqual(popped[0])
      // The seed is the entry (its index and sequence number), not a constant.
      expect(popped[3]).not.toEqual(popped[0])
    } finally {
      await level.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a small set's picks are uniform", async () => {
    const { client } = await newSession()
    await fill(client, "s", 10)
    const counts = new Map<string, number>()
    for (const member of strings(await client.call("SRANDMEMBER", "s", "-20000"))) counts.set(member, (counts.get(member) ?? 0) + 1)
    expect(counts.size).toBe(10)
    for (const count of counts.values()) expect(Math.abs(count - 2000)).toBeLessThan(300)
  })
})

describe("SSCAN", () => {
  it("a small set comes whole; a large one is paged by hash position, every member once", async () => {
    const { client } = await newSession()
    await client.call("SADD", "small", "a", "b", "c")
    await client.call("SET", "str", "v")
    expect(await replies(client, ["SSCAN", "nokey", "0", "COUNT", "0"], ["SSCAN", "str", "0"], ["SSCAN", "small", "0", "COUNT", "0"], ["SSCAN", "small", "0", "NOVALUES"], ["SSCAN", "small", "0", "TYPE", "set"])).toEqual([
      "*2\r\n$1\r\n0\r\n*0\r\n", WRONGTYPE, "-ERR syntax error\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n"
    ])
    const small = scanPage(await client.call("SSCAN", "small", "0", "COUNT", "1"))
    expect(small.cursor).toBe("0")
    expect(sorted(small.elements)).toEqual(["a", "b", "c"])
    await fill(client, "large", 1500)
    const seen: Array<string> = []
    let cursor = "0"
    let calls = 0
    do {
      const page = scanPage(await client.call("SSCAN", "large", cursor, "COUNT", "100", "MATCH", "m*"))
      seen.push(...page.elements)
      cursor = page.cursor
      calls++
    } while (cursor !== "0")
    expect(sorted(seen)).toEqual(sorted(range("m", 0, 1500)))
    expect(calls).toBeGreaterThanOrEqual(15)
  })
})

describe("sets and the keyspace", () => {
  it("WATCH: SADD of a new member, SREM, SPOP and a STORE mark the key; no-op commands do not", async () => {
    const { runner, client } = await newSession()
    const other = runner.client()
    await client.call("SADD", "s", "a", "b", "c")
    await client.call("SADD", "src", "x", "y")
    const attempt = async (key: string, ...argv: Array<string>) => {
      await client.call("WATCH", key)
      await other.call(...argv)
      await client.call("MULTI")
      await client.call("PING")
      return client.wire("EXEC")
    }
    expect(await attempt("s", "SADD", "s", "a")).toBe("*1\r\n+PONG\r\n")
    expect(await attempt("s", "SADD", "s", "d")).toBe("*-1\r\n")
    expect(await attempt("s", "SREM", "s", "zz")).toBe("*1\r\n+PONG\r\n")
    expect(await attempt("s", "SREM", "s", "d")).toBe("*-1\r\n")
    expect(await attempt("s", "SPOP", "s", "0")).toBe("*1\r\n+PONG\r\n")
    expect(await attempt("s", "SPOP", "s")).toBe("*-1\r\n")
    expect(await attempt("dst", "SINTERSTORE", "dst", "s", "nokey")).toBe("*1\r\n+PONG\r\n")
    expect(await attempt("dst", "SUNIONSTORE", "dst", "s")).toBe("*-1\r\n")
    // SMOVE marks the destination only when it gained the member.
    await other.call("SADD", "dst", "x")
    expect(await attempt("dst", "SMOVE", "src", "dst", "x")).toBe("*1\r\n+PONG\r\n")
    expect(await attempt("src", "SMOVE", "src", "dst", "y")).toBe("*-1\r\n")
  })

  it("EXPIRE, RENAME, COPY, MOVE, SCAN TYPE and MULTI/EXEC treat a set as one key", async () => {
    const { runner, client } = await newSession()
    await fill(client, "s", 300)
    expect(await replies(client, ["PEXPIRE", "s", "500"], ["RENAME", "s", "t"], ["COPY", "t", "u"], ["PERSIST", "u"], ["SREM", "u", "m0"], ["SCARD", "t"], ["SCARD", "u"], ["MOVE", "u", "3"], ["SCAN", "0", "TYPE", "set"], ["MULTI"], ["SADD", "t", "new"], ["SCARD", "t"], ["SPOP", "t", "0"], ["EXEC"])).toEqual([
      ":1\r\n", "+OK\r\n", ":1\r\n", ":1\r\n", ":1\r\n", ":300\r\n", ":299\r\n", ":1\r\n", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nt\r\n", "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*3\r\n:1\r\n:301\r\n*0\r\n"
    ])
    runner.now += 500
    expect(await replies(client, ["SCARD", "t"], ["SELECT", "3"], ["SCARD", "u"], ["TTL", "u"])).toEqual([":0\r\n", "+OK\r\n", ":299\r\n", ":-1\r\n"])
  })

  it("members of an overwritten or expired set become garbage the reaper counts down to zero", async () => {
    const { runner, client } = await newSession()
    await fill(client, "a", 700)
    await fill(client, "b", 300)
    await client.call("SET", "a", "overwritten")
    await client.call("PEXPIRE", "b", "10")
    runner.now += 10
    await runner.apply({ kind: "expire", keys: [{ db: 0, key: Buffer.from("b"), expireAt: runner.now }] })
    expect(runner.machine.garbageMembers).toBe(1000)
    expect(await client.wire("FLUSHALL")).toBe("+OK\r\n")
    expect(runner.machine.garbageMembers).toBe(1000)
  })
})
