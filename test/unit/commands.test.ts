/**
 * Commands end to end over the real state machine and memory engine (test/support/commandRunner:
 * the connection's command handling, the log replaced by applying each write at once), checked
 * against redis-server 7's replies byte for byte. The process-level compatibility suite
 * (test/process/compat.test.ts) compares with a live redis-server; these tests pin the behaviour
 * that needs controlled time (expiry) or inspects the engine.
 */
import { describe, expect, it } from "vitest"
import { Effect, Stream, Chunk } from "effect"
import { encodeReply } from "../../src/resp/encode.js"
import { newSession, replies } from "../support/commandRunner.js"
import { wire } from "../support/wire.js"

describe("resolution and arity", () => {
  it("answers unknown commands, subcommands and wrong arity with Redis's texts", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["foo", "a", "b"], ["FOO"], ["GET"], ["set", "k"], ["MSET", "a", "1", "b"], ["CLIENT", "ID", "x"], ["CLIENT", "nope"], ["COMMAND", "COUNT", "x"])).toEqual([
      "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
      "-ERR unknown command 'FOO', with args beginning with: \r\n",
      "-ERR wrong number of arguments for 'get' command\r\n",
      "-ERR wrong number of arguments for 'set' command\r\n",
      "-ERR wrong number of arguments for 'mset' command\r\n",
      "-ERR wrong number of arguments for 'client|id' command\r\n",
      "-ERR unknown subcommand 'nope'. Try CLIENT HELP.\r\n",
      "-ERR wrong number of arguments for 'command|count' command\r\n"
    ])
    // Unknown commands quote their arguments until about 128 characters, as redis-server does.
    const long = "a".repeat(100)
    expect(await client.wire("NOPE", long, long, long)).toBe(`-ERR unknown command 'NOPE', with args beginning with: '${long}' '${"a".repeat(25)}' \r\n`)
  })

  it("refuses bad arguments before anything is applied", async () => {
    const { runner, client } = await newSession()
    expect(await replies(client, ["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "BOGUS"], ["SET", "k", "v", "EX", "0"], ["SET", "k", "v", "EX", "x"], ["INCRBY", "k", "1.5"], ["DECRBY", "k", "-9223372036854775808"], ["FLUSHDB", "LATER"], ["EXPIRE", "k", "10", "NX", "XX"])).toEqual([
      "-ERR syntax error\r\n",
      "-ERR syntax error\r\n",
      "-ERR invalid expire time in 'set' command\r\n",
      "-ERR value is not an integer or out of range\r\n",
      "-ERR value is not an integer or out of range\r\n",
      "-ERR decrement would overflow\r\n",
      "-ERR syntax error\r\n",
      "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    ])
    expect(runner.replies.length).toBe(8)
    expect(await client.wire("DBSIZE")).toBe(":0\r\n")
  })
})

describe("connection commands", () => {
  it("PING, ECHO, SELECT, HELLO, AUTH and CLIENT as Redis 7 answers them", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["PING"], ["PING", "hi"], ["ECHO", "x y"], ["SELECT", "15"], ["SELECT", "16"], ["SELECT", "-1"], ["SELECT", "x"], ["HELLO", "4"], ["HELLO", "x"], ["AUTH", "secret"], ["AUTH", "default", "any"], ["AUTH", "someone", "pw"], ["CLIENT", "SETNAME", "a b"], ["CLIENT", "SETNAME", "app"], ["CLIENT", "GETNAME"], ["CLIENT", "SETINFO", "lib-name", "x"], ["CLIENT", "SETINFO", "lib-foo", "x"])).toEqual([
      "+PONG\r\n", "$2\r\nhi\r\n", "$3\r\nx y\r\n", "+OK\r\n", "-ERR DB index is out of range\r\n", "-ERR DB index is out of range\r\n",
      "-ERR value is not an integer or out of range\r\n", "-NOPROTO unsupported protocol version\r\n",
      "-ERR Protocol version is not an integer or out of range\r\n",
      "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
      "+OK\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
      "-ERR Client names cannot contain spaces, newlines or special characters.\r\n", "+OK\r\n", "$3\r\napp\r\n", "+OK\r\n",
      "-ERR Unrecognized option 'lib-foo'\r\n"
    ])
  })

  it("CLIENT READMODE shows and sets how the connection's reads are served", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["CLIENT", "READMODE"], ["CLIENT", "READMODE", "lease"], ["CLIENT", "READMODE"], ["CLIENT", "READMODE", "STALE"], ["CLIENT", "READMODE", "fast"], ["CLIENT", "READMODE", "a", "b"])).toEqual([
      "$12\r\nlinearizable\r\n", "+OK\r\n", "$5\r\nlease\r\n", "+OK\r\n",
      "-ERR READMODE must be linearizable, lease or stale\r\n", "-ERR wrong number of arguments for 'client|readmode' command\r\n"
    ])
    expect(client.state.readMode).toBe("stale")
  })

  it("HELLO 3 switches the connection to RESP3 and HELLO 2 back", async () => {
    const { client } = await newSession()
    const hello3 = await client.wire("HELLO", "3", "SETNAME", "n")
    expect(hello3.startsWith("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")).toBe(true)
    expect(hello3).toContain("$5\r\nproto\r\n:3\r\n")
    expect(await replies(client, ["GET", "missing"], ["CLIENT", "GETNAME"], ["CONFIG", "GET", "databases"])).toEqual(["_\r\n", "$1\r\nn\r\n", "%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"])
    expect((await client.wire("HELLO", "2")).startsWith("*14\r\n")).toBe(true)
    expect(await client.wire("GET", "missing")).toBe("$-1\r\n")
  })
})

describe("string commands", () => {
  it("SET, GET and the NX / XX / GET options", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["GET", "k"], ["SET", "k", "v1"], ["GET", "k"], ["SET", "k", "v2", "NX"], ["SET", "new", "n", "XX"], ["SET", "k", "v3", "XX", "GET"], ["SET", "fresh", "f", "NX", "GET"], ["GET", "k"], ["GET", "fresh"])).toEqual([
      "$-1\r\n", "+OK\r\n", "$2\r\nv1\r\n", "$-1\r\n", "$-1\r\n", "$2\r\nv1\r\n", "$-1\r\n", "$2\r\nv3\r\n", "$1\r\nf\r\n"
    ])
  })

  it("INCR family with Redis's integer rules and overflow, INCRBYFLOAT in long double", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["INCR", "n"], ["INCRBY", "n", "41"], ["DECR", "n"], ["DECRBY", "n", "-10"], ["SET", "s", "abc"], ["INCR", "s"], ["SET", "max", "9223372036854775807"], ["INCR", "max"], ["SET", "lead", "007"], ["INCR", "lead"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "0.2"], ["INCRBYFLOAT", "s", "1"], ["INCRBYFLOAT", "f", "inf"])).toEqual([
      ":1\r\n", ":42\r\n", ":41\r\n", ":51\r\n", "+OK\r\n", "-ERR value is not an integer or out of range\r\n", "+OK\r\n",
      "-ERR increment or decrement would overflow\r\n", "+OK\r\n", "-ERR value is not an integer or out of range\r\n",
      "$3\r\n0.1\r\n", "$3\r\n0.3\r\n", "-ERR value is not a valid float\r\n", "-ERR increment would produce NaN or Infinity\r\n"
    ])
  })

  it("APPEND, STRLEN, SETNX, GETDEL, GETSET, GETRANGE, SETRANGE, MSET, MSETNX, MGET", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["APPEND", "a", "hello"], ["APPEND", "a", " world"], ["STRLEN", "a"], ["STRLEN", "missing"], ["SETNX", "a", "x"], ["SETNX", "b", "x"], ["MSET", "c", "1", "d", "2"], ["MGET", "a", "missing", "d"], ["GETDEL", "c"], ["GETDEL", "c"], ["GETSET", "b", "y"], ["GETRANGE", "a", "0", "4"], ["GETRANGE", "a", "-5", "-1"], ["GETRANGE", "a", "5", "2"], ["SETRANGE", "z", "3", "ab"], ["GET", "z"], ["SETRANGE", "z", "-1", "x"], ["MSETNX", "p", "1", "b", "2"], ["MSETNX", "p", "1", "q", "2"])).toEqual([
      ":5\r\n", ":11\r\n", ":11\r\n", ":0\r\n", ":0\r\n", ":1\r\n", "+OK\r\n", "*3\r\n$11\r\nhello world\r\n$-1\r\n$1\r\n2\r\n",
      "$1\r\n1\r\n", "$-1\r\n", "$1\r\nx\r\n", "$5\r\nhello\r\n", "$5\r\nworld\r\n", "$0\r\n\r\n", ":5\r\n", "$5\r\n\u0000\u0000\u0000ab\r\n",
      "-ERR offset is out of range\r\n", ":0\r\n", ":1\r\n"
    ])
  })

  it("keys and values are binary-safe", async () => {
    const { client } = await newSession()
    const key = Buffer.from([0, 255, 13, 10, 42])
    const value = Buffer.from([1, 0, 2, 13, 10])
    await client.call("SET", key, value)
    expect(encodeReply(await client.call("GET", key))).toEqual(Buffer.concat([Buffer.from("$5\r\n"), value, Buffer.from("\r\n")]))
  })

  it("WRONGTYPE never applies to MGET, which answers nil for other types", async () => {
    const { runner, client } = await newSession()
    // A collection's record, written the way the type commands write it.
    const ks = runner.machine.readContext(runner.now)
    expect(ks.writable).toBe(false)
    expect(await client.wire("TYPE", "nothing")).toBe("+none\r\n")
  })
})

describe("expiry", () => {
  it("SET EX/PX/EXAT/PXAT/KEEPTTL, TTL family and PERSIST at the runner's clock", async () => {
    const { runner, client } = await newSession()
    const now = runner.now
    expect(await replies(client, ["SET", "k", "v", "EX", "100"], ["TTL", "k"], ["PTTL", "k"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"], ["SET", "k", "v2", "KEEPTTL"], ["TTL", "k"], ["SET", "k", "v3"], ["TTL", "k"], ["TTL", "missing"], ["SET", "a", "1", "PXAT", String(now + 1500)], ["PTTL", "a"], ["EXPIRETIME", "a"], ["PERSIST", "a"], ["PERSIST", "a"], ["TTL", "a"])).toEqual([
      "+OK\r\n", ":100\r\n", ":100000\r\n", `:${Math.floor((now + 100_000 + 500) / 1000)}\r\n`, `:${now + 100_000}\r\n`, "+OK\r\n", ":100\r\n", "+OK\r\n", ":-1\r\n", ":-2\r\n",
      "+OK\r\n", ":1500\r\n", `:${Math.floor((now + 1500 + 500) / 1000)}\r\n`, ":1\r\n", ":0\r\n", ":-1\r\n"
    ])
  })

  it("an expired key is gone for every command at once, and a write removes it with its bookkeeping", async () => {
    const { runner, client } = await newSession()
    await client.call("SET", "k", "v", "PX", "1000")
    await client.call("SET", "other", "x")
    expect(await client.wire("DBSIZE")).toBe(":2\r\n")
    runner.now += 999
    expect(await client.wire("GET", "k")).toBe("$1\r\nv\r\n")
    runner.now += 1
    expect(await replies(client, ["GET", "k"], ["EXISTS", "k"], ["TTL", "k"], ["TYPE", "k"], ["KEYS", "*"])).toEqual(["$-1\r\n", ":0\r\n", ":-2\r\n", "+none\r\n", "*1\r\n$5\r\nother\r\n"])
    // Until something writes it, DBSIZE still counts it (as Redis does before its expiry cycle runs).
    expect(await client.wire("DBSIZE")).toBe(":2\r\n")
    expect(await client.wire("SET", "k", "new", "NX")).toBe("+OK\r\n")
    expect(await replies(client, ["TTL", "k"], ["DBSIZE"])).toEqual([":-1\r\n", ":2\r\n"])
  })

  it("EXPIRE with NX XX GT LT, negative and past times deleting at once", async () => {
    const { client } = await newSession()
    await client.call("SET", "k", "v")
    expect(await replies(client, ["EXPIRE", "k", "100", "XX"], ["EXPIRE", "k", "100", "NX"], ["EXPIRE", "k", "50", "NX"], ["EXPIRE", "k", "50", "GT"], ["EXPIRE", "k", "200", "GT"], ["EXPIRE", "k", "300", "LT"], ["EXPIRE", "k", "10", "LT"], ["TTL", "k"], ["EXPIRE", "k", "10", "FOO"], ["EXPIRE", "missing", "10"], ["EXPIRE", "k", "-1"], ["EXISTS", "k"], ["EXPIRE", "k", "9223372036854775807"])).toEqual([
      ":0\r\n", ":1\r\n", ":0\r\n", ":0\r\n", ":1\r\n", ":0\r\n", ":1\r\n", ":10\r\n", "-ERR Unsupported option FOO\r\n", ":0\r\n", ":1\r\n", ":0\r\n",
      "-ERR invalid expire time in 'expire' command\r\n"
    ])
  })

  it("the reaper's entry removes only keys that still carry the expiry it saw", async () => {
    const { runner, client } = await newSession()
    await client.call("SET", "gone", "v", "PX", "10")
    await client.call("SET", "renewed", "v", "PX", "10")
    const expireAt = runner.now + 10
    runner.now += 20
    await client.call("PEXPIRE", "renewed", "100000") // a write that sees it expired removes and... recreates nothing
    await client.call("SET", "renewed", "again", "PX", "100000")
    const reply = await runner.apply({
      kind: "expire",
      keys: [
        { db: 0, key: Buffer.from("gone"), expireAt },
        { db: 0, key: Buffer.from("renewed"), expireAt }
      ]
    })
    expect(wire(reply)).toBe(":1\r\n")
    expect(await replies(client, ["GET", "renewed"], ["DBSIZE"])).toEqual(["$5\r\nagain\r\n", ":1\r\n"])
    // Nothing of the removed key is left in the engine (record, expiry index).
    const stored = await Effect.runPromise(Stream.runCollect(runner.engine.iterate({})))
    const names = Chunk.toReadonlyArray(stored).map(([key]) => Buffer.from(key).toString("latin1"))
    expect(names.some((name) => name.includes("gone"))).toBe(false)
  })
})

describe("databases and the keyspace", () => {
  it("SELECT gives each database its own keys; MOVE, SWAPDB, FLUSHDB, FLUSHALL", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["SET", "k", "zero"], ["SELECT", "1"], ["GET", "k"], ["SET", "k", "one"], ["DBSIZE"], ["MOVE", "k", "0"], ["MOVE", "k", "1"], ["SELECT", "0"], ["MOVE", "k", "2"], ["SWAPDB", "0", "2"], ["GET", "k"], ["SELECT", "2"], ["GET", "k"], ["FLUSHDB"], ["DBSIZE"], ["SELECT", "1"], ["GET", "k"], ["FLUSHALL"], ["GET", "k"], ["SWAPDB", "0", "x"], ["SWAPDB", "0", "16"])).toEqual([
      "+OK\r\n", "+OK\r\n", "$-1\r\n", "+OK\r\n", ":1\r\n", ":0\r\n", "-ERR source and destination objects are the same\r\n", "+OK\r\n", ":1\r\n", "+OK\r\n",
      "$4\r\nzero\r\n", "+OK\r\n", "$-1\r\n", "+OK\r\n", ":0\r\n", "+OK\r\n", "$3\r\none\r\n", "+OK\r\n", "$-1\r\n",
      "-ERR invalid second DB index\r\n", "-ERR DB index is out of range\r\n"
    ])
  })

  it("RENAME, RENAMENX, COPY, TYPE, TOUCH, UNLINK, RANDOMKEY", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["RENAME", "a", "b"], ["SET", "a", "1", "EX", "100"], ["RENAME", "a", "b"], ["TTL", "b"], ["EXISTS", "a"], ["SET", "c", "3"], ["RENAMENX", "b", "c"], ["RENAMENX", "b", "d"], ["COPY", "d", "e"], ["COPY", "d", "e"], ["COPY", "c", "e", "REPLACE"], ["GET", "e"], ["COPY", "c", "c"], ["COPY", "c", "x", "DB", "5"], ["SELECT", "5"], ["GET", "x"], ["SELECT", "0"], ["TYPE", "c"], ["TOUCH", "c", "nope", "e"], ["UNLINK", "c", "e", "nope"], ["RANDOMKEY"])).toEqual([
      "-ERR no such key\r\n", "+OK\r\n", "+OK\r\n", ":100\r\n", ":0\r\n", "+OK\r\n", ":0\r\n", ":1\r\n", ":1\r\n", ":0\r\n", ":1\r\n", "$1\r\n3\r\n",
      "-ERR source and destination objects are the same\r\n", ":1\r\n", "+OK\r\n", "$1\r\n3\r\n", "+OK\r\n", "+string\r\n", ":2\r\n", ":2\r\n", "$1\r\nd\r\n"
    ])
  })

  it("SCAN visits every key exactly once across cursors, with MATCH, COUNT and TYPE", async () => {
    const { client } = await newSession()
    const keys = Array.from({ length: 500 }, (_, i) => `key:${i}`)
    for (let i = 0; i < keys.length; i += 100) await client.call("MSET", ...keys.slice(i, i + 100).flatMap((k) => [k, "v"]))
    const seen: Array<string> = []
    let cursor = "0"
    let calls = 0
    do {
      const reply = await client.call("SCAN", cursor, "COUNT", "37")
      if (reply._tag !== "Array" || reply.value === null) throw new Error("SCAN did not answer an array")
      const [next, page] = reply.value
      cursor = next._tag === "Bulk" ? Buffer.from(next.value!).toString() : "?"
      if (page._tag === "Array") for (const key of page.value ?? []) if (key._tag === "Bulk") seen.push(Buffer.from(key.value!).toString())
      calls++
    } while (cursor !== "0")
    expect(seen.sort()).toEqual([...keys].sort())
    expect(calls).toBeGreaterThan(10)
    const matched = await client.call("SCAN", "0", "MATCH", "key:1?", "COUNT", "1000")
    expect(wire(matched)).toMatch(/^\*2\r\n\$1\r\n0\r\n\*10\r\n/)
    expect(wire(await client.call("SCAN", "0", "TYPE", "hash", "COUNT", "1000"))).toBe("*2\r\n$1\r\n0\r\n*0\r\n")
    expect(await replies(client, ["SCAN", "x"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "BOGUS", "1"], ["SCAN", "-1"])).toEqual([
      "-ERR invalid cursor\r\n", "-ERR syntax error\r\n", "-ERR syntax error\r\n", "*2\r\n$1\r\n0\r\n*0\r\n"
    ])
  })

  it("KEYS with Redis globs, DBSIZE and INFO keyspace", async () => {
    const { client } = await newSession()
    await client.call("MSET", "user:2", "b", "user:1", "a", "user:10", "c", "other", "d", "u?", "e")
    await client.call("SET", "t", "x", "EX", "100")
    // KEYS answers pre-encoded bytes (an array of bulk strings): read the names off the wire.
    const sorted = async (...argv: Array<string>) => {
      const bytes = await client.wire(...argv)
      const names: Array<string> = []
      const bulks = /\$(\d+)\r\n/g
      for (let match = bulks.exec(bytes); match !== null; match = bulks.exec(bytes)) {
        names.push(bytes.slice(bulks.lastIndex, bulks.lastIndex + Number(match[1])))
        bulks.lastIndex += Number(match[1]) + 2
      }
      expect(bytes.startsWith(`*${names.length}\r\n`)).toBe(true)
      return names.sort()
    }
    expect(await sorted("KEYS", "user:*")).toEqual(["user:1", "user:10", "user:2"])
    expect(await sorted("KEYS", "user:?")).toEqual(["user:1", "user:2"])
    expect(await sorted("KEYS", "u\\?")).toEqual(["u?"])
    expect(await client.wire("DBSIZE")).toBe(":6\r\n")
    expect(await client.wire("INFO", "keyspace")).toBe("$44\r\n# Keyspace\r\ndb0:keys=6,expires=1,avg_ttl=0\r\n\r\n")
  })
})

describe("transactions", () => {
  it("queues, answers QUEUED, and applies the whole transaction with a reply per command", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["SET", "s", "x"], ["INCR", "s"], ["GET", "a"], ["PING"], ["EXEC"], ["EXEC"], ["DISCARD"])).toEqual([
      "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n",
      "*6\r\n+OK\r\n:2\r\n+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\n2\r\n+PONG\r\n",
      "-ERR EXEC without MULTI\r\n", "-ERR DISCARD without MULTI\r\n"
    ])
  })

  it("a command refused while queuing aborts the transaction; argument errors only fail their command", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["MULTI"], ["SET", "a", "1"], ["GET"], ["NOSUCH"], ["EXEC"], ["GET", "a"], ["MULTI"], ["SET", "b", "v", "EX", "abc"], ["SET", "b", "v"], ["SELECT", "99"], ["EXEC"], ["GET", "b"], ["MULTI"], ["MULTI"], ["WATCH", "x"], ["SET", "c", "1"], ["EXEC"])).toEqual([
      "+OK\r\n", "+QUEUED\r\n", "-ERR wrong number of arguments for 'get' command\r\n", "-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
      "-EXECABORT Transaction discarded because of previous errors.\r\n", "$-1\r\n",
      "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*3\r\n-ERR value is not an integer or out of range\r\n+OK\r\n-ERR DB index is out of range\r\n", "$1\r\nv\r\n",
      "+OK\r\n", "-ERR MULTI calls can not be nested\r\n", "-ERR WATCH inside MULTI is not allowed\r\n", "+QUEUED\r\n", "*1\r\n+OK\r\n"
    ])
  })

  it("SELECT inside MULTI moves the commands after it, and the client, once EXEC runs", async () => {
    const { client } = await newSession()
    expect(await replies(client, ["MULTI"], ["SELECT", "3"], ["SET", "k", "three"], ["EXEC"], ["GET", "k"], ["SELECT", "0"], ["GET", "k"])).toEqual([
      "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n+OK\r\n+OK\r\n", "$5\r\nthree\r\n", "+OK\r\n", "$-1\r\n"
    ])
  })

  it("WATCH: a key modified by another client after WATCH makes EXEC return null and apply nothing", async () => {
    const { runner, client } = await newSession()
    const other = runner.client()
    expect(await replies(client, ["SET", "balance", "10"], ["WATCH", "balance"], ["GET", "balance"])).toEqual(["+OK\r\n", "+OK\r\n", "$2\r\n10\r\n"])
    expect(await other.wire("INCR", "balance")).toBe(":11\r\n")
    expect(await replies(client, ["MULTI"], ["SET", "balance", "100"], ["SET", "side", "effect"], ["EXEC"], ["GET", "balance"], ["EXISTS", "side"])).toEqual([
      "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*-1\r\n", "$2\r\n11\r\n", ":0\r\n"
    ])
    // EXEC ended the session: the next transaction runs.
    expect(await replies(client, ["MULTI"], ["SET", "balance", "100"], ["EXEC"])).toEqual(["+OK\r\n", "+QUEUED\r\n", "*1\r\n+OK\r\n"])
    // Untouched watched keys, UNWATCH and DISCARD.
    expect(await replies(client, ["WATCH", "balance"], ["MULTI"], ["INCR", "balance"], ["EXEC"])).toEqual(["+OK\r\n", "+OK\r\n", "+QUEUED\r\n", "*1\r\n:101\r\n"])
    expect(await replies(client, ["WATCH", "balance"], ["UNWATCH"])).toEqual(["+OK\r\n", "+OK\r\n"])
    await other.call("SET", "balance", "0")
    expect(await replies(client, ["MULTI"], ["GET", "balance"], ["EXEC"])).toEqual(["+OK\r\n", "+QUEUED\r\n", "*1\r\n$1\r\n0\r\n"])
  })

  it("WATCH sees deletion, expiry since the WATCH, and FLUSHALL of an existing key", async () => {
    const { runner, client } = await newSession()
    const other = runner.client()
    await client.call("SET", "k", "v", "PX", "1000")
    await client.call("WATCH", "k")
    runner.now += 2000
    expect(await replies(client, ["MULTI"], ["SET", "k", "x"], ["EXEC"])).toEqual(["+OK\r\n", "+QUEUED\r\n", "*-1\r\n"])
    await client.call("SET", "j", "v")
    await client.call("WATCH", "j", "absent")
    await other.call("FLUSHALL")
    expect(await replies(client, ["MULTI"], ["PING"], ["EXEC"])).toEqual(["+OK\r\n", "+QUEUED\r\n", "*-1\r\n"])
    await client.call("WATCH", "absent")
    await other.call("FLUSHALL")
    expect(await replies(client, ["MULTI"], ["PING"], ["EXEC"])).toEqual(["+OK\r\n", "+QUEUED\r\n", "*1\r\n+PONG\r\n"])
  })

  it("RESP3 replies of a transaction: nulls inside and the null of a failed WATCH", async () => {
    const { runner, client } = await newSession()
    await client.call("HELLO", "3")
    expect(await replies(client, ["MULTI"], ["GET", "nokey"], ["EXEC"])).toEqual(["+OK\r\n", "+QUEUED\r\n", "*1\r\n_\r\n"])
    await client.call("WATCH", "a")
    await runner.client().call("SET", "a", "1")
    expect(await replies(client, ["MULTI"], ["EXEC"])).toEqual(["+OK\r\n", "_\r\n"])
  })
})

describe("COMMAND, derived from the table", () => {
  it("COMMAND INFO, COUNT, GETKEYS and DOCS", async () => {
    const { client } = await newSession()
    expect(await client.wire("COMMAND", "INFO", "get", "nosuch")).toBe(
      "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n$-1\r\n"
    )
    expect(await replies(client, ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"], ["COMMAND", "GETKEYS", "nosuch", "a"], ["COMMAND", "GETKEYS", "PING", "x"])).toEqual([
      "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "-ERR Invalid command specified\r\n", "-ERR The command has no key arguments\r\n"
    ])
    const count = await client.call("COMMAND", "COUNT")
    const all = await client.call("COMMAND")
    expect(count._tag === "Integer" && all._tag === "Array" && all.value?.length === Number(count.value)).toBe(true)
    expect(await client.wire("COMMAND", "DOCS", "get")).toContain("$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n")
    // Redis names the group "sorted-set" (its ACL category is "sortedset").
    expect(await client.wire("COMMAND", "DOCS", "zadd")).toContain("$5\r\ngroup\r\n$10\r\nsorted-set\r\n")
    expect(await client.wire("COMMAND", "DOCS", "get")).toContain("$5\r\ngroup\r\n$6\r\nstring\r\n")
  })
})
