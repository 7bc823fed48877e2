/**
 * Every command's replies and errors, checked against Redis 7's texts: classification (arity,
 * syntax, local answers) and execution by the state machine on the memory engine.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { classify, type ConnectionContext } from "../../src/commands/classify.js"
import { applyWrites, executeRead } from "../../src/commands/StateMachine.js"
import { KvEngine } from "../../src/engine/KvEngine.js"
import { MemoryEngine } from "../../src/engine/MemoryEngine.js"
import { encodeReplies } from "../../src/resp/encode.js"
import type { Reply } from "../../src/resp/Reply.js"

const argv = (...words: Array<string>) => words.map((w) => Buffer.from(w, "latin1"))
const context = (): ConnectionContext => ({ clientId: 7, clientName: null, port: 6379, info: () => "# Raft\r\nraft_role:leader" })
/** The reply as it goes on the wire, which is what a client sees. */
const wire = (reply: Reply) => encodeReplies([reply]).toString("latin1")
const classified = (...words: Array<string>) => classify(argv(...words), context())
const localReply = (...words: Array<string>) => {
  const c = classified(...words)
  if (c.kind !== "reply") throw new Error(`${words.join(" ")} was not answered locally`)
  return wire(c.reply)
}

/** Apply writes one batch each and return their wire replies. */
const run = (...commands: Array<Array<string>>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    let index = 1
    for (const command of commands) {
      const c = classify(argv(...command), context())
      if (c.kind === "reply") out.push(wire(c.reply))
      else if (c.kind === "write") out.push(wire((yield* applyWrites([c.argv], index++))[0]))
      else if (c.kind === "read") out.push(wire(yield* executeRead(c.argv)))
      else out.push("quit")
    }
    return out
  }).pipe(Effect.provide(MemoryEngine.layer))

describe("classification", () => {
  it("answers unknown commands and wrong arity with Redis's texts", () => {
    expect(localReply("foo", "a", "b")).toBe("-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n")
    expect(localReply("FOO")).toBe("-ERR unknown command 'FOO', with args beginning with: \r\n")
    expect(localReply("GET")).toBe("-ERR wrong number of arguments for 'get' command\r\n")
    expect(localReply("set", "k")).toBe("-ERR wrong number of arguments for 'set' command\r\n")
    expect(localReply("MSET", "a", "1", "b")).toBe("-ERR wrong number of arguments for 'mset' command\r\n")
  })

  it("rejects bad syntax before anything reaches the log", () => {
    expect(localReply("SET", "k", "v", "NX", "XX")).toBe("-ERR syntax error\r\n")
    expect(localReply("SET", "k", "v", "BOGUS")).toBe("-ERR syntax error\r\n")
    expect(localReply("SET", "k", "v", "EX", "10")).toMatch(/^-ERR expiry options .* not supported/)
    expect(localReply("INCRBY", "k", "1.5")).toBe("-ERR value is not an integer or out of range\r\n")
    expect(localReply("DECRBY", "k", "x")).toBe("-ERR value is not an integer or out of range\r\n")
    expect(localReply("FLUSHDB", "LATER")).toBe("-ERR syntax error\r\n")
  })

  it("sorts commands into local, read and write, case-insensitively", () => {
    expect(classified("get", "k").kind).toBe("read")
    expect(classified("GeT", "k").kind).toBe("read")
    expect(classified("SET", "k", "v").kind).toBe("write")
    expect(classified("FLUSHDB", "ASYNC").kind).toBe("write")
    expect(classified("quit").kind).toBe("quit")
  })

  it("answers connection commands locally as Redis does", () => {
    expect(localReply("PING")).toBe("+PONG\r\n")
    expect(localReply("PING", "hi")).toBe("$2\r\nhi\r\n")
    expect(localReply("ECHO", "x y")).toBe("$3\r\nx y\r\n")
    expect(localReply("SELECT", "0")).toBe("+OK\r\n")
    expect(localReply("SELECT", "1")).toBe("-ERR DB index is out of range\r\n")
    expect(localReply("SELECT", "x")).toBe("-ERR value is not an integer or out of range\r\n")
    expect(localReply("HELLO", "3")).toBe("-NOPROTO unsupported protocol version\r\n")
    expect(localReply("HELLO", "2")).toContain("$5\r\nproto\r\n:2\r\n")
    expect(localReply("CONFIG", "GET", "save")).toBe("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")
    expect(localReply("CONFIG", "GET", "*append*")).toBe("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")
    expect(localReply("COMMAND", "DOCS")).toBe("*0\r\n")
    expect(localReply("CLIENT", "SETINFO", "lib-name", "x")).toBe("+OK\r\n")
    expect(localReply("CLIENT", "ID")).toBe(":7\r\n")
  })

  it("checks subcommand arity, client names and AUTH as Redis 7 does without a password", () => {
    expect(localReply("CLIENT", "ID", "x")).toBe("-ERR wrong number of arguments for 'client|id' command\r\n")
    expect(localReply("CLIENT", "GETNAME", "x")).toBe("-ERR wrong number of arguments for 'client|getname' command\r\n")
    expect(localReply("COMMAND", "COUNT", "x")).toBe("-ERR wrong number of arguments for 'command|count' command\r\n")
    const badName = "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    expect(localReply("CLIENT", "SETNAME", "caf\u00e9")).toBe(badName)
    expect(localReply("CLIENT", "SETNAME", "a\u0001")).toBe(badName)
    expect(localReply("HELLO", "2", "SETNAME", "a b")).toBe(badName)
    const noPassword = "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    expect(localReply("AUTH", "secret")).toBe(noPassword)
    expect(localReply("AUTH", "default", "anything")).toBe("+OK\r\n")
    expect(localReply("AUTH", "someone", "secret")).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    expect(localReply("AUTH", "a", "b", "c")).toBe("-ERR syntax error\r\n")
    expect(localReply("AUTH")).toBe("-ERR wrong number of arguments for 'auth' command\r\n")
    expect(localReply("HELLO", "2", "AUTH", "default", "pw")).toContain("$5\r\nproto\r\n:2\r\n")
    expect(localReply("HELLO", "2", "AUTH", "someone", "pw")).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    // HELLO checks every option before applying any; an empty name clears it.
    const ctx = context()
    const hello = (...words: Array<string>) => wire((classify(argv("HELLO", ...words), ctx) as { reply: Reply }).reply)
    expect(hello("2", "SETNAME", "x", "BOGUS")).toBe("-ERR Syntax error in HELLO option 'BOGUS'\r\n")
    expect(ctx.clientName).toBeNull()
    hello("2", "SETNAME", "x")
    expect(ctx.clientName?.toString()).toBe("x")
    hello("2", "SETNAME", "")
    expect(ctx.clientName).toBeNull()
    // Unknown commands quote their arguments until about 128 characters, as redis-server does.
    const long = "a".repeat(100)
    expect(localReply("NOPE", long, long, long)).toBe(`-ERR unknown command 'NOPE', with args beginning with: '${long}' '${"a".repeat(25)}' \r\n`)
    expect(wire((classify(argv("BGSAVE", "x"), context()) as { reply: Reply }).reply)).toBe("-ERR syntax error\r\n")
    expect(classify(argv("BGSAVE", "schedule"), context())).toEqual({ kind: "snapshot", wait: false })
  })

  it("remembers the client name", () => {
    const ctx = context()
    expect(wire((classify(argv("CLIENT", "SETNAME", "app"), ctx) as { reply: Reply }).reply)).toBe("+OK\r\n")
    expect(wire((classify(argv("CLIENT", "GETNAME"), ctx) as { reply: Reply }).reply)).toBe("$3\r\napp\r\n")
  })

  it("INFO has a server section and the node's raft section", () => {
    const info = localReply("INFO")
    expect(info).toContain("# Server\r\nredis_version:")
    expect(info).toContain("# Raft\r\nraft_role:leader")
    expect(localReply("INFO", "raft")).not.toContain("# Server")
    const memory = localReply("INFO", "memory")
    expect(memory).toContain("# Memory\r\nused_memory:")
    expect(Number(/used_memory_rss:(\d+)/.exec(memory)?.[1])).toBeGreaterThan(1024 * 1024)
    expect(memory).not.toContain("# Raft")
  })
})

describe("string commands", () => {
  it.effect("SET, GET and the NX / XX / GET options", () =>
    Effect.gen(function* () {
      expect(
        yield* run(
          ["GET", "k"],
          ["SET", "k", "v1"],
          ["GET", "k"],
          ["SET", "k", "v2", "NX"],
          ["SET", "new", "n", "XX"],
          ["SET", "k", "v3", "XX", "GET"],
          ["SET", "fresh", "f", "NX", "GET"],
          ["GET", "k"],
          ["GET", "fresh"]
        )
      ).toEqual(["$-1\r\n", "+OK\r\n", "$2\r\nv1\r\n", "$-1\r\n", "$-1\r\n", "$2\r\nv1\r\n", "$-1\r\n", "$2\r\nv3\r\n", "$1\r\nf\r\n"])
    })
  )

  it.effect("INCR family with Redis's integer rules and overflow", () =>
    Effect.gen(function* () {
      expect(
        yield* run(
          ["INCR", "n"],
          ["INCRBY", "n", "41"],
          ["DECR", "n"],
          ["DECRBY", "n", "-10"],
          ["SET", "s", "abc"],
          ["INCR", "s"],
          ["SET", "max", "9223372036854775807"],
          ["INCR", "max"],
          ["SET", "min", "-9223372036854775808"],
          ["DECR", "min"],
          ["SET", "lead", "007"],
          ["INCR", "lead"],
          ["INCRBY", "big", "9223372036854775807"]
        )
      ).toEqual([
        ":1\r\n", ":42\r\n", ":41\r\n", ":51\r\n", "+OK\r\n",
        "-ERR value is not an integer or out of range\r\n", "+OK\r\n",
        "-ERR increment or decrement would overflow\r\n", "+OK\r\n",
        "-ERR increment or decrement would overflow\r\n", "+OK\r\n",
        "-ERR value is not an integer or out of range\r\n", ":9223372036854775807\r\n"
      ])
    })
  )

  it.effect("APPEND, STRLEN, SETNX, GETDEL, DEL, EXISTS, MSET, MGET", () =>
    Effect.gen(function* () {
      expect(
        yield* run(
          ["APPEND", "a", "hello"],
          ["APPEND", "a", " world"],
          ["STRLEN", "a"],
          ["STRLEN", "missing"],
          ["SETNX", "a", "x"],
          ["SETNX", "b", "x"],
          ["MSET", "c", "1", "d", "2"],
          ["MGET", "a", "missing", "d"],
          ["EXISTS", "a", "a", "missing"],
          ["DEL", "a", "a", "b", "missing"],
          ["GETDEL", "c"],
          ["GETDEL", "c"],
          ["EXISTS", "a", "b", "c"]
        )
      ).toEqual([
        ":5\r\n", ":11\r\n", ":11\r\n", ":0\r\n", ":0\r\n", ":1\r\n", "+OK\r\n",
        "*3\r\n$11\r\nhello world\r\n$-1\r\n$1\r\n2\r\n", ":2\r\n", ":2\r\n", "$1\r\n1\r\n", "$-1\r\n", ":0\r\n"
      ])
    })
  )

  it.effect("KEYS with Redis globs in byte order, DBSIZE, FLUSHDB", () =>
    Effect.gen(function* () {
      const replies = yield* run(
        ["MSET", "user:2", "b", "user:1", "a", "user:10", "c", "other", "d", "u?", "e"],
        ["KEYS", "user:*"],
        ["KEYS", "user:?"],
        ["KEYS", "u[s]er:1*"],
        ["KEYS", "u\\?"],
        ["DBSIZE"],
        ["FLUSHDB"],
        ["DBSIZE"],
        ["KEYS", "*"]
      )
      expect(replies).toEqual([
        "+OK\r\n",
        "*3\r\n$6\r\nuser:1\r\n$7\r\nuser:10\r\n$6\r\nuser:2\r\n",
        "*2\r\n$6\r\nuser:1\r\n$6\r\nuser:2\r\n",
        "*2\r\n$6\r\nuser:1\r\n$7\r\nuser:10\r\n",
        "*1\r\n$2\r\nu?\r\n",
        ":5\r\n", "+OK\r\n", ":0\r\n", "*0\r\n"
      ])
    })
  )

  it.effect("a batch sees its own earlier writes and lands atomically with its index", () =>
    Effect.gen(function* () {
      const replies = yield* applyWrites(
        [argv("SET", "x", "1"), argv("INCR", "x"), argv("FLUSHDB"), argv("SET", "y", "after"), argv("GET-unknown")],
        9
      )
      expect(replies.map(wire)).toEqual([
        "+OK\r\n", ":2\r\n", "+OK\r\n", "+OK\r\n",
        "-ERR unknown command 'GET-unknown', with args beginning with: \r\n"
      ])
      const engine = yield* KvEngine
      expect(yield* engine.appliedIndex).toBe(9)
      expect(yield* engine.get(Buffer.from("x"))).toBeUndefined()
      expect(Buffer.from((yield* engine.get(Buffer.from("y")))!).toString()).toBe("after")
      yield* applyWrites([], 12) // a no-op entry still advances the applied index
      expect(yield* engine.appliedIndex).toBe(12)
    }).pipe(Effect.provide(MemoryEngine.layer))
  )

  it.effect("keys and values are binary-safe", () =>
    Effect.gen(function* () {
      const key = Buffer.from([0, 255, 13, 10, 42])
      const value = Buffer.from([1, 0, 2, 13, 10])
      yield* applyWrites([[Buffer.from("SET"), key, value]], 1)
      const reply = yield* executeRead([Buffer.from("GET"), key])
      expect(encodeReplies([reply])).toEqual(Buffer.concat([Buffer.from("$5\r\n"), value, Buffer.from("\r\n")]))
    }).pipe(Effect.provide(MemoryEngine.layer))
  )
})
