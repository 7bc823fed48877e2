/**
 * Hash commands end to end over the real state machine (test/support/commandRunner), replies
 * checked byte for byte against what redis-server 7.0.15 answers (the same commands run in
 * test/compat/scenarios/hashes.ts against a live one), plus what only the runner can show:
 * arguments refused before the log, the engine keys one field write costs, the members a deleted
 * hash leaves to the reaper, WATCH marks, expiry at a controlled time.
 */
import { describe, expect, it } from "vitest"
import { Chunk, Effect, Stream } from "effect"
import { Keyspace } from "../../src/commands/keyspace/Keyspace.js"
import { Family } from "../../src/commands/keyspace/layout.js"
import { encodeReply } from "../../src/resp/encode.js"
import { CommandRunner, engineOf, type TestClient, newSession, replies } from "../support/commandRunner.js"
import { WRONGTYPE } from "../support/wire.js"
import { countingEngine } from "../support/countingEngine.js"
import { plain, scanPage, strings } from "../support/replyValues.js"

/** The engine's keys of one family (first byte). */
const engineKeys = async (runner: CommandRunner, family: number) => {
  const pairs = Chunk.toReadonlyArray(await Effect.runPromise(Stream.runCollect(runner.engine.iterate({ prefix: Buffer.from([family]) }))))
  return pairs.map(([key]) => Buffer.from(key))
}

/** HSET `count` fields f0..f{count-1} = v0.. in commands of 500 fields. */
const fill = async (client: TestClient, key: string, count: number) => {
  for (let from = 0; from < count; from += 500) {
    const args = Array.from({ length: Math.min(500, count - from) }, (_, i) => [`f${from + i}`, `v${from + i}`]).flat()
    await client.call("HSET", key, ...args)
  }
}

describe("hash writes", () => {
  it("HSET, HMSET, HSETNX count new fields and overwrite old ones, HGET HMGET HLEN HEXISTS HSTRLEN read them", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["HSET", "h", "a", "1", "b", "2"], ["HSET", "h", "a", "3", "c", "4", "a", "5"], ["HGET", "h", "a"], ["HGET", "h", "zz"], ["HGET", "nokey", "a"], ["HMGET", "h", "a", "zz", "b"], ["HMGET", "nokey", "a", "b"], ["HLEN", "h"], ["HLEN", "nokey"], ["HEXISTS", "h", "a"], ["HEXISTS", "h", "zz"], ["HSTRLEN", "h", "a"], ["HSTRLEN", "h", "zz"], ["HSETNX", "h", "a", "9"], ["HSETNX", "h", "d", "9"], ["HMSET", "h", "x", "1", "y", "2"], ["HLEN", "h"], ["TYPE", "h"])).toEqual([
      ":2\r\n", ":1\r\n", "$1\r\n5\r\n", "$-1\r\n", "$-1\r\n", "*3\r\n$1\r\n5\r\n$-1\r\n$1\r\n2\r\n", "*2\r\n$-1\r\n$-1\r\n", ":3\r\n", ":0\r\n", ":1\r\n", ":0\r\n",
      ":1\r\n", ":0\r\n", ":0\r\n", ":1\r\n", "+OK\r\n", ":6\r\n", "+hash\r\n"
    ])
  })

  it("HDEL removes fields, and a hash whose last field goes disappears with nothing left behind", async () => {
    const { runner, client } = await newSession()
    expect(await replies(client, ["HSET", "h", "a", "1", "b", "2", "c", "3"], ["HDEL", "h", "zz"], ["HDEL", "h", "a", "a", "b"], ["HLEN", "h"], ["HDEL", "nokey", "a"], ["HDEL", "h", "c"], ["EXISTS", "h"], ["TYPE", "h"], ["DBSIZE"], ["HGETALL", "h"])).toEqual([
      ":3\r\n", ":0\r\n", ":2\r\n", ":1\r\n", ":0\r\n", ":1\r\n", ":0\r\n", "+none\r\n", ":0\r\n", "*0\r\n"
    ])
    expect(await engineKeys(runner, Family.Member)).toEqual([])
    expect(await engineKeys(runner, Family.Meta)).toEqual([])
    // Emptied by HDEL: its members are already gone, nothing is left to the reaper.
    expect(await engineKeys(runner, Family.Garbage)).toEqual([])
    expect(runner.machine.garbageMembers).toBe(0)
  })

  it("HINCRBY and HINCRBYFLOAT with redis-server's integer and long double rules and error texts", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-10"], ["HINCRBY", "h", "n", "x"], ["HSET", "h", "max", "9223372036854775807", "s", "abc", "lead", "007"], ["HINCRBY", "h", "max", "1"], ["HINCRBY", "h", "s", "1"], ["HINCRBY", "h", "lead", "1"], ["HINCRBYFLOAT", "h", "f", "0.1"], ["HINCRBYFLOAT", "h", "f", "0.2"], ["HINCRBYFLOAT", "h", "f", "inf"], ["HINCRBYFLOAT", "h", "f", "nan"], ["HINCRBYFLOAT", "h", "f", "x"], ["HINCRBYFLOAT", "h", "s", "1"], ["HINCRBY", "h", "f", "1"], ["HSET", "h", "inf", "inf", "big", "1e400"], ["HINCRBYFLOAT", "h", "inf", "1"], ["HINCRBYFLOAT", "h", "big", "1"], ["HINCRBYFLOAT", "h", "n", "1e2"], ["HGET", "h", "f"])).toEqual([
      ":5\r\n", ":-5\r\n", "-ERR value is not an integer or out of range\r\n", ":3\r\n", "-ERR increment or decrement would overflow\r\n", "-ERR hash value is not an integer\r\n",
      "-ERR hash value is not an integer\r\n", "$3\r\n0.1\r\n", "$3\r\n0.3\r\n", "-ERR value is NaN or Infinity\r\n", "-ERR value is not a valid float\r\n", "-ERR value is not a valid float\r\n",
      "-ERR hash value is not a float\r\n", "-ERR hash value is not an integer\r\n", ":2\r\n", "-ERR increment would produce NaN or Infinity\r\n",
      // 1e400 is a long double (redis-server prints the sum with %.17Lf, all 401 digits).
      expect.stringMatching(/^\$401\r\n10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880\r\n$/),
      "$2\r\n95\r\n", "$3\r\n0.3\r\n"
    ])
  })

  it("refuses bad arguments before anything reaches the log", async () => {
    const { runner, client } = await newSession()
    const before = await Effect.runPromise(runner.engine.appliedIndex)
    expect(await replies(client, ["HSET", "h"], ["HSET", "h", "a"], ["HSET", "h", "a", "1", "b"], ["HMSET", "h", "a", "1", "b"], ["HINCRBY", "h", "f", "1.5"], ["HINCRBYFLOAT", "h", "f", "abc"], ["HINCRBYFLOAT", "h", "f", "-inf"], ["HSETNX", "h", "f"])).toEqual([
      "-ERR wrong number of arguments for 'hset' command\r\n", "-ERR wrong number of arguments for 'hset' command\r\n", "-ERR wrong number of arguments for 'hset' command\r\n",
      "-ERR wrong number of arguments for 'hmset' command\r\n", "-ERR value is not an integer or out of range\r\n", "-ERR value is not a valid float\r\n", "-ERR value is NaN or Infinity\r\n",
      "-ERR wrong number of arguments for 'hsetnx' command\r\n"
    ])
    expect(await Effect.runPromise(runner.engine.appliedIndex)).toBe(before)
    // Inside MULTI only the arity is checked at queue time; the argument error is that command's reply.
    expect(await replies(client, ["MULTI"], ["HINCRBY", "h", "f", "x"], ["HSET", "h", "f", "1"], ["EXEC"])).toEqual([
      "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n-ERR value is not an integer or out of range\r\n:1\r\n"
    ])
  })

  it("WRONGTYPE from every hash command on another type, and from other types' commands on a hash", async () => {
    const { client } = await newSession()
    await client.call("SET", "str", "v")
    await client.call("SADD", "set", "m")
    await client.call("HSET", "h", "f", "v")
    for (const key of ["str", "set"]) {
      expect(await replies(client, ["HSET", key, "a", "1"], ["HMSET", key, "a", "1"], ["HSETNX", key, "a", "1"], ["HGET", key, "a"], ["HMGET", key, "a"], ["HDEL", key, "a"], ["HLEN", key], ["HEXISTS", key, "a"], ["HSTRLEN", key, "a"], ["HINCRBY", key, "a", "1"], ["HINCRBYFLOAT", key, "a", "1"], ["HKEYS", key], ["HVALS", key], ["HGETALL", key], ["HRANDFIELD", key], ["HRANDFIELD", key, "2"], ["HSCAN", key, "0"])).toEqual(Array(17).fill(WRONGTYPE))
    }
    expect(await replies(client, ["GET", "h"], ["APPEND", "h", "x"], ["INCR", "h"], ["SADD", "h", "m"], ["SMEMBERS", "h"], ["MGET", "h"])).toEqual([WRONGTYPE, WRONGTYPE, WRONGTYPE, WRONGTYPE, WRONGTYPE, "*1\r\n$-1\r\n"])
    // SET overwrites a hash whatever it holds.
    expect(await replies(client, ["SET", "h", "now a string"], ["TYPE", "h"], ["GET", "h"])).toEqual(["+OK\r\n", "+string\r\n", "$12\r\nnow a string\r\n"])
  })
})

describe("hash reads and reply types", () => {
  it("HGETALL is a map, HKEYS and HVALS arrays, HMGET nulls, on RESP2 and RESP3", async () => {
    const { client } = await newSession()
    await client.call("HSET", "h", "a", "1")
    expect(await replies(client, ["HGETALL", "h"], ["HGETALL", "nokey"], ["HKEYS", "h"], ["HVALS", "h"], ["HMGET", "h", "a", "zz"])).toEqual([
      "*2\r\n$1\r\na\r\n$1\r\n1\r\n", "*0\r\n", "*1\r\n$1\r\na\r\n", "*1\r\n$1\r\n1\r\n", "*2\r\n$1\r\n1\r\n$-1\r\n"
    ])
    await client.call("HELLO", "3")
    expect(await replies(client, ["HGETALL", "h"], ["HGETALL", "nokey"], ["HKEYS", "h"], ["HVALS", "nokey"], ["HMGET", "h", "a", "zz"], ["HGET", "h", "zz"], ["HRANDFIELD", "nokey"], ["HRANDFIELD", "h", "1", "WITHVALUES"], ["HINCRBYFLOAT", "h", "a", "0.5"])).toEqual([
      "%1\r\n$1\r\na\r\n$1\r\n1\r\n", "%0\r\n", "*1\r\n$1\r\na\r\n", "*0\r\n", "*2\r\n$1\r\n1\r\n_\r\n", "_\r\n", "_\r\n", "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", "$3\r\n1.5\r\n"
    ])
  })

  it("HGETALL, HKEYS and HVALS agree with each other and with every field written", async () => {
    const { client } = await newSession()
    await fill(client, "h", 300)
    const all = strings(await client.call("HGETALL", "h"))
    const keys = strings(await client.call("HKEYS", "h"))
    const values = strings(await client.call("HVALS", "h"))
    expect(all.filter((_, i) => i % 2 === 0)).toEqual(keys)
    expect(all.filter((_, i) => i % 2 === 1)).toEqual(values)
    expect([...keys].sort()).toEqual(Array.from({ length: 300 }, (_, i) => `f${i}`).sort())
    for (let i = 0; i < all.length; i += 2) expect(all[i + 1]).toBe(`v${all[i].slice(1)}`)
  })
})

describe("HRANDFIELD", () => {
  it("argument checks in redis-server's order, and raft-kv's bound on repeated picks", async () => {
    const { client } = await newSession()
    await client.call("HSET", "h", "a", "1")
    expect(await replies(client, ["HRANDFIELD", "h", "x"], ["HRANDFIELD", "nokey", "x"], ["HRANDFIELD", "h", "1", "WITHVALUE"], ["HRANDFIELD", "h", "1", "WITHVALUES", "x"], ["HRANDFIELD", "h", "-9223372036854775808"], ["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"], ["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"], ["HRANDFIELD", "h", "-1048577"], ["HRANDFIELD", "h", "0"], ["HRANDFIELD", "nokey", "3"], ["HRANDFIELD", "nokey", "3", "WITHVALUES"])).toEqual([
      "-ERR value is not an integer or out of range\r\n", "-ERR value is not an integer or out of range\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n",
      "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n", "-ERR value is out of range\r\n", "-ERR value is out of range\r\n",
      "-ERR value is out of range, value must between -1048576 and 9223372036854775807\r\n", "*0\r\n", "*0\r\n", "*0\r\n"
    ])
  })

  for (const size of [5, 2000]) {
    it(`counts and pairs from a hash of ${size} fields (${size > 128 ? "seeks from random hashes" : "read whole, uniform"})`, async () => {
      const { client } = await newSession()
      await fill(client, "h", size)
      const fields = new Set(Array.from({ length: size }, (_, i) => `f${i}`))
      const one = plain(await client.call("HRANDFIELD", "h"))
      expect(fields.has(one as string)).toBe(true)
      const distinct = strings(await client.call("HRANDFIELD", "h", "3"))
      expect(distinct).toHaveLength(3)
      expect(new Set(distinct).size).toBe(3)
      for (const field of distinct) expect(fields.has(field)).toBe(true)
      const repeated = strings(await client.call("HRANDFIELD", "h", "-50"))
      expect(repeated).toHaveLength(50)
      for (const field of repeated) expect(fields.has(field)).toBe(true)
      // WITHVALUES: each field with its own value.
      const withValues = strings(await client.call("HRANDFIELD", "h", "-20", "WITHVALUES"))
      expect(withValues).toHaveLength(40)
      for (let i = 0; i < withValues.length; i += 2) expect(withValues[i + 1]).toBe(`v${withValues[i].slice(1)}`)
      // A count beyond the size: every field once.
      const everything = strings(await client.call("HRANDFIELD", "h", String(size + 10)))
      expect(new Set(everything)).toEqual(fields)
      expect(everything).toHaveLength(size)
    })
  }

  it("a small hash's picks are uniform", async () => {
    const { client } = await newSession()
    await fill(client, "h", 10)
    const counts = new Map<string, number>()
    for (const field of strings(await client.call("HRANDFIELD", "h", "-20000"))) counts.set(field, (counts.get(field) ?? 0) + 1)
    expect(counts.size).toBe(10)
    // 2000 expected each, standard deviation ~42: ±300 is over 7 of them.
    for (const count of counts.values()) expect(Math.abs(count - 2000)).toBeLessThan(300)
  })
})

describe("HSCAN", () => {
  it("a small hash comes whole with cursor 0; options are checked only once the key holds a hash", async () => {
    const { client } = await newSession()
    await client.call("HSET", "h", "a", "1", "b", "2")
    await client.call("SET", "str", "v")
    expect(await replies(client, ["HSCAN", "h", "0"], ["HSCAN", "h", "0", "MATCH", "a", "COUNT", "1"], ["HSCAN", "nokey", "0", "BOGUS"], ["HSCAN", "nokey", "x"], ["HSCAN", "h", "x"], ["HSCAN", "h", "0", "COUNT", "0"], ["HSCAN", "h", "0", "NOVALUES"], ["HSCAN", "h", "0", "TYPE", "hash"], ["HSCAN", "str", "0", "COUNT", "0"], ["HSCAN", "h", "18446744073709551615"])).toEqual([
      "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", "*2\r\n$1\r\n0\r\n*0\r\n", "-ERR invalid cursor\r\n",
      "-ERR invalid cursor\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n", WRONGTYPE, "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    ])
  })

  it("a large hash is paged by hash position: every field once, pages near COUNT, cursors that are field hashes", async () => {
    const { client } = await newSession()
    await fill(client, "h", 1000)
    const seen: Array<string> = []
    let cursor = "0"
    let calls = 0
    do {
      const page = scanPage(await client.call("HSCAN", "h", cursor, "COUNT", "25"))
      expect(page.elements.length).toBeGreaterThanOrEqual(page.cursor === "0" ? 0 : 50)
      for (let i = 0; i < page.elements.length; i += 2) {
        seen.push(page.elements[i])
        expect(page.elements[i + 1]).toBe(`v${page.elements[i].slice(1)}`)
      }
      // The cursor is a position in the 32-bit hash space: the next page starts there.
      expect(Number(page.cursor)).toBeLessThan(2 ** 32)
      cursor = page.cursor
      calls++
    } while (cursor !== "0")
    expect(seen).toHaveLength(1000)
    expect(new Set(seen).size).toBe(1000)
    expect(calls).toBeGreaterThanOrEqual(35)
    // MATCH filters a page after it is read (COUNT counts examined fields, as in redis-server).
    let matched: Array<string> = []
    cursor = "0"
    do {
      const page = scanPage(await client.call("HSCAN", "h", cursor, "MATCH", "f1?", "COUNT", "100"))
      matched = matched.concat(page.elements.filter((_, i) => i % 2 === 0))
      cursor = page.cursor
    } while (cursor !== "0")
    expect(matched.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `f1${i}`).sort())
  })
})

/** Pairs of distinct field names with the same 32-bit hash (FNV-1a), found by brute force. */
const collidingPairs = (wanted: number): Array<[string, string]> => {
  const byHash = new Map<number, string>()
  const pairs: Array<[string, string]> = []
  for (let i = 0; pairs.length < wanted; i++) {
    const name = `c${i}`
    const hash = Keyspace.hashOf(Buffer.from(name))
    const other = byHash.get(hash)
    if (other !== undefined) pairs.push([other, name])
    else byHash.set(hash, name)
  }
  return pairs
}

describe("HSCAN and colliding field hashes", () => {
  it("never splits fields that share a hash between two pages, even with COUNT 1", async () => {
    const { client } = await newSession()
    const colliding = collidingPairs(4)
    await fill(client, "h", 200)
    await client.call("HSET", "h", ...colliding.flat().flatMap((name) => [name, "x"]))
    let cursor = "0"
    const seen: Array<string> = []
    for (let calls = 0; ; calls++) {
      expect(calls, "the scan must end").toBeLessThan(1000)
      const page = scanPage(await client.call("HSCAN", "h", cursor, "COUNT", "1"))
      const fields = page.elements.filter((_, i) => i % 2 === 0)
      for (const [a, b] of colliding) expect(fields.includes(a)).toBe(fields.includes(b))
      seen.push(...fields)
      cursor = page.cursor
      if (cursor === "0") break
    }
    expect(seen).toHaveLength(208)
    expect(new Set(seen).size).toBe(208)
  })
})

describe("the cost of a field", () => {
  it("a write to one field of a 20,000-field hash writes two engine keys at most, as in a 10-field hash", async () => {
    const { engine, counts } = countingEngine((await engineOf()).engine)
    const runner = await CommandRunner.make(engine)
    const client = runner.client()
    await fill(client, "small", 10)
    await fill(client, "big", 20_000)
    const cost = async (...argv: Array<string>) => {
      counts.reset()
      await client.call(...argv)
      const ops = counts.batches.flat().length
      const read = counts.pairsRead
      return { ops, read }
    }
    for (const key of ["small", "big"]) {
      // A new field: its member key and the record (size); an existing one: the member key only.
      expect(await cost("HSET", key, "new", "x")).toEqual({ ops: 2, read: 0 })
      expect(await cost("HSET", key, "new", "y")).toEqual({ ops: 1, read: 0 })
      expect(await cost("HINCRBY", key, "counter", "1")).toEqual({ ops: 2, read: 0 })
      expect(await cost("HDEL", key, "new")).toEqual({ ops: 2, read: 0 })
      // One random field is one seek, one HSCAN page reads about COUNT fields.
      expect((await cost("HRANDFIELD", key)).read).toBeLessThanOrEqual(key === "big" ? 2 : 11)
      expect((await cost("HSCAN", key, "0", "COUNT", "10")).read).toBeLessThanOrEqual(key === "big" ? 12 : 11)
    }
  })
})

describe("hashes and the keyspace", () => {
  it("EXPIRE, TTL, RENAME, COPY, DEL and SCAN's TYPE filter treat a hash as one key", async () => {
    const { runner, client } = await newSession()
    await client.call("HSET", "h", "a", "1", "b", "2")
    expect(await replies(client, ["EXPIRE", "h", "10"], ["TTL", "h"], ["RENAME", "h", "h2"], ["HGET", "h2", "b"], ["TTL", "h2"], ["COPY", "h2", "h3"], ["HSET", "h3", "a", "changed"], ["HGET", "h2", "a"], ["HGET", "h3", "a"], ["SCAN", "0", "TYPE", "hash"], ["DBSIZE"], ["INFO", "keyspace"])).toEqual([
      ":1\r\n", ":10\r\n", "+OK\r\n", "$1\r\n2\r\n", ":10\r\n", ":1\r\n", ":0\r\n", "$1\r\n1\r\n", "$7\r\nchanged\r\n",
      expect.stringMatching(/^\*2\r\n\$1\r\n0\r\n\*2\r\n\$2\r\nh[23]\r\n\$2\r\nh[23]\r\n$/), ":2\r\n", "$44\r\n# Keyspace\r\ndb0:keys=2,expires=2,avg_ttl=0\r\n\r\n"
    ])
    runner.now += 10_000
    expect(await replies(client, ["HGET", "h2", "a"], ["HLEN", "h3"], ["EXISTS", "h2", "h3"])).toEqual(["$-1\r\n", ":0\r\n", ":0\r\n"])
  })

  it("a deleted hash leaves its fields to the reaper, whose slices resume where the last one ended", async () => {
    const { engine, counts } = countingEngine((await engineOf()).engine)
    const runner = await CommandRunner.make(engine)
    const client = runner.client()
    await fill(client, "h", 2500)
    expect(await client.wire("DEL", "h")).toBe(":1\r\n")
    expect(runner.machine.garbageMembers).toBe(2500)
    const [garbage] = await engineKeys(runner, Family.Garbage)
    const version = garbage.readUInt32BE(1) * 2 ** 32 + garbage.readUInt32BE(5)
    const removed: Array<unknown> = []
    for (let slice = 0; slice < 5 && (await engineKeys(runner, Family.Garbage)).length > 0; slice++) {
      counts.reset()
      removed.push(plain(await runner.apply({ kind: "collect", target: "version", id: version, limit: 1024 })))
      // Each slice reads only the members it removes (plus the next one's absence), never the deleted ones again.
      expect(counts.pairsRead).toBeLessThanOrEqual(1024)
    }
    expect(removed).toEqual([1024, 1024, 452])
    expect(runner.machine.garbageMembers).toBe(0)
    expect(await engineKeys(runner, Family.Member)).toEqual([])
    // A stale collect entry for a version already collected removes nothing.
    expect(plain(await runner.apply({ kind: "collect", target: "version", id: version, limit: 1024 }))).toBe(0)

    // Slices of one batch: each resumes after the one before it, though none is written yet.
    await fill(client, "h", 2500)
    expect(await client.wire("DEL", "h")).toBe(":1\r\n")
    const [next] = await engineKeys(runner, Family.Garbage)
    const nextVersion = next.readUInt32BE(1) * 2 ** 32 + next.readUInt32BE(5)
    const slice = { kind: "collect", target: "version", id: nextVersion, limit: 1024 } as const
    expect((await runner.applyAll([slice, slice, slice, slice])).map(plain)).toEqual([1024, 1024, 452, 0])
    expect(runner.machine.garbageMembers).toBe(0)
    expect(await engineKeys(runner, Family.Member)).toEqual([])
    expect(await engineKeys(runner, Family.Garbage)).toEqual([])

  })

  it("a collect applied in the same batch as the writes that built the collection removes them too (a replay or catch-up batch)", async () => {
    const command = (...argv: Array<string>) => ({ kind: "command", db: 0, argv: argv.map((arg) => Buffer.from(arg)) }) as const
    // The leader applied each entry alone; learn the version the list gets.
    const leader = await CommandRunner.make((await engineOf()).engine)
    await leader.applyAll([command("RPUSH", "L", "a", "b", "c")])
    await leader.applyAll([command("DEL", "L")])
    const [garbage] = await engineKeys(leader, Family.Garbage)
    const version = garbage.readUInt32BE(1) * 2 ** 32 + garbage.readUInt32BE(5)
    const collect = { kind: "collect", target: "version", id: version, limit: 2 } as const
    expect((await leader.applyAll([collect, collect])).map(plain)).toEqual([2, 1])
    expect(await engineKeys(leader, Family.Member)).toEqual([])
    // A node replaying the same log applies it in one batch, or in two that split the members' writes from the rest.
    for (const cut of [4, 1]) {
      const log = [command("RPUSH", "L", "a", "b", "c"), command("DEL", "L"), collect, collect]
      const replica = await CommandRunner.make((await engineOf()).engine)
      const replies = [...(await replica.applyAll(log.slice(0, cut))), ...(cut < log.length ? await replica.applyAll(log.slice(cut)) : [])]
      expect(replies.map(plain)).toEqual([3, 1, 2, 1])
      expect(replica.machine.garbageMembers).toBe(0)
      expect(await engineKeys(replica, Family.Member)).toEqual([])
      expect(await engineKeys(replica, Family.Garbage)).toEqual([])
    }
  })

  it("WATCH: HSET marks the key modified; HSETNX of an existing field and HDEL of a missing one do not", async () => {
    const { runner, client } = await newSession()
    const other = runner.client()
    await client.call("HSET", "h", "a", "1")
    const attempt = async (...argv: Array<string>) => {
      await client.call("WATCH", "h")
      await other.call(...argv)
      await client.call("MULTI")
      await client.call("PING")
      return client.wire("EXEC")
    }
    expect(await attempt("HSET", "h", "a", "1")).toBe("*-1\r\n")
    expect(await attempt("HSETNX", "h", "a", "2")).toBe("*1\r\n+PONG\r\n")
    expect(await attempt("HDEL", "h", "zz")).toBe("*1\r\n+PONG\r\n")
    expect(await attempt("HINCRBY", "h", "n", "1")).toBe("*-1\r\n")
    expect(await attempt("HGET", "h", "a")).toBe("*1\r\n+PONG\r\n")
  })

  it("binary-safe fields and values", async () => {
    const { client } = await newSession()
    const field = Buffer.from([0, 255, 13, 10])
    const value = Buffer.from([1, 0, 2, 13, 10])
    await client.call("HSET", "h", field, value)
    expect(encodeReply(await client.call("HGET", "h", field))).toEqual(Buffer.concat([Buffer.from("$5\r\n"), value, Buffer.from("\r\n")]))
    expect(encodeReply(await client.call("HKEYS", "h"))).toEqual(Buffer.concat([Buffer.from("*1\r\n$4\r\n"), field, Buffer.from("\r\n")]))
  })
})
