/** RESP2: reply encoding and request parsing (pipelining, split chunks, inline, protocol errors). */
import { describe, expect, it } from "vitest"
import { formatDouble } from "../../src/resp/formatDouble.js"
import { encodeReplies, encodeReply, encodeReplyChunks } from "../../src/resp/encode.js"
import { ARGUMENT_OVERHEAD_BYTES, COMMAND_TOO_LARGE, MAX_COMMAND_BYTES, RequestParser } from "../../src/resp/RequestParser.js"
import { ReplyQueue } from "../../src/server/ReplyQueue.js"
import { array, boolean, bulk, double, error, integer, map, NIL, OK, pairs, set, simple, text, verbatim } from "../../src/resp/Reply.js"

const parse = (...chunks: Array<Buffer | string>) => {
  const commands: Array<Array<string>> = []
  const errors: Array<string> = []
  const parser = new RequestParser(
    (argv) => commands.push(argv.map((a) => a.toString("latin1"))),
    (message) => errors.push(message)
  )
  for (const chunk of chunks) parser.push(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk)
  return { commands, errors }
}

const resp = (...argv: Array<string>) => `*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a, "latin1")}\r\n${a}\r\n`).join("")}`

describe("reply encoding", () => {
  it("passes large values on as their own buffers instead of copying every reply into one", () => {
    const large = Buffer.alloc(1024 * 1024, 0x61)
    const replies = [OK, bulk(large), array([bulk(large), integer(3)]), bulk(Buffer.from("small"))]
    const chunks = encodeReplyChunks(replies)
    expect(chunks.filter((chunk) => chunk === large)).toHaveLength(2) // the very buffers, not copies
    expect(Buffer.concat(chunks).equals(encodeReplies(replies))).toBe(true)
    const expected = `+OK\r\n$${large.length}\r\n${large}\r\n*2\r\n$${large.length}\r\n${large}\r\n:3\r\n$5\r\nsmall\r\n`
    expect(Buffer.concat(chunks).toString()).toBe(expected)
    // Many small replies are grouped into buffers of about a megabyte, not one per reply.
    const many = encodeReplyChunks(Array.from({ length: 100_000 }, () => bulk(Buffer.from("0123456789012345678901234567890"))))
    expect(many.length).toBeGreaterThan(1)
    expect(many.length).toBeLessThan(10)
  })

  it("encodes every reply type", () => {
    const encoded = encodeReplies([
      OK, simple("PONG"), error("ERR bad\r\nthing"), integer(-5), integer(2n ** 63n - 1n),
      bulk(Buffer.from([0, 13, 10])), NIL, array([integer(1), array([]), bulk(null)]), array(null)
    ]).toString("latin1")
    expect(encoded).toBe(
      // As redis-server: each CR and LF of an error becomes a space.
      "+OK\r\n+PONG\r\n-ERR bad  thing\r\n:-5\r\n:9223372036854775807\r\n$3\r\n\u0000\r\n\r\n$-1\r\n*3\r\n:1\r\n*0\r\n$-1\r\n*-1\r\n"
    )
  })

  it("encodes RESP3's types, and degrades them in RESP2 as redis-server does", () => {
    const replies = [
      NIL,
      array(null),
      map([text("a"), integer(1)]),
      set([text("x")]),
      pairs([text("m"), double(1.5)]),
      double(1.1),
      double(Number.POSITIVE_INFINITY),
      double(-0.0001),
      boolean(true),
      boolean(false),
      verbatim("# Keyspace\r\n")
    ]
    expect(replies.map((reply) => encodeReply(reply, 3).toString("latin1"))).toEqual([
      "_\r\n", "_\r\n", "%1\r\n$1\r\na\r\n:1\r\n", "~1\r\n$1\r\nx\r\n", "*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n",
      ",1.1000000000000001\r\n", ",inf\r\n", ",-0.0001\r\n", "#t\r\n", "#f\r\n", "=16\r\ntxt:# Keyspace\r\n\r\n"
    ])
    expect(replies.map((reply) => encodeReply(reply, 2).toString("latin1"))).toEqual([
      "$-1\r\n", "*-1\r\n", "*2\r\n$1\r\na\r\n:1\r\n", "*1\r\n$1\r\nx\r\n", "*2\r\n$1\r\nm\r\n$3\r\n1.5\r\n",
      "$18\r\n1.1000000000000001\r\n", "$3\r\ninf\r\n", "$7\r\n-0.0001\r\n", ":1\r\n", ":0\r\n", "$12\r\n# Keyspace\r\n\r\n"
    ])
  })

  it("prints doubles as C's %.17g with ties to even (what redis-server 7.0 prints)", () => {
    const cases: Array<[number, string]> = [
      [1.1, "1.1000000000000001"], [0.1, "0.10000000000000001"], [3, "3"], [-2.5, "-2.5"], [1e17, "1e+17"], [1e16, "10000000000000000"],
      [1e-4, "0.0001"], [1e-5, "1.0000000000000001e-05"], [1.7976931348623157e308, "1.7976931348623157e+308"], [5e-324, "4.9406564584124654e-324"],
      [40147422001056.8125, "40147422001056.812"], [Number.NEGATIVE_INFINITY, "-inf"], [-0, "-0"]
    ]
    for (const [value, expected] of cases) expect(formatDouble(value)).toBe(expected)
  })
})

describe("request parsing", () => {
  it("parses pipelined commands in order, binary-safe", () => {
    const { commands, errors } = parse(resp("SET", "k\r\n\u0000", "v") + resp("GET", "k") + resp("PING"))
    expect(commands).toEqual([["SET", "k\r\n\u0000", "v"], ["GET", "k"], ["PING"]])
    expect(errors).toEqual([])
  })

  it("yields exactly one command wherever the bytes are split", () => {
    const bytes = Buffer.from(resp("SET", "key", "a longer value") + resp("GET", "key"), "latin1")
    for (let cut = 1; cut < bytes.length; cut++) {
      const { commands } = parse(bytes.subarray(0, cut), bytes.subarray(cut))
      expect(commands).toEqual([["SET", "key", "a longer value"], ["GET", "key"]])
    }
  })

  it("accepts inline commands between RESP messages", () => {
    const { commands } = parse("PING\r\n", "SET a  b\n", resp("GET", "a"), "ECHO x\r\n")
    expect(commands).toEqual([["PING"], ["SET", "a", "b"], ["GET", "a"], ["ECHO", "x"]])
  })

  it("accepts inline commands and blank lines right after RESP commands in the same chunk (redis-cli --pipe)", () => {
    const { commands, errors } = parse(resp("SET", "a", "1") + resp("SET", "b", "2") + "\r\n" + resp("ECHO", "done") + "PING\r\n" + resp("GET", "a"))
    expect(errors).toEqual([])
    expect(commands).toEqual([["SET", "a", "1"], ["SET", "b", "2"], ["ECHO", "done"], ["PING"], ["GET", "a"]])
  })

  it("reports a protocol error once and stops", () => {
    const { commands, errors } = parse("*2\r\n$1\r\na\r\n!junk\r\n", resp("PING"))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^Protocol error/)
    expect(commands).toEqual([])
    expect(parse("*1\r\n:5\r\n").errors).toEqual(["Protocol error: expected '$', got ':'"])
  })

  it("rejects malformed and oversized lengths with redis-server's errors, before buffering anything for them", () => {
    const cases: Array<[string, string]> = [
      ["*99999999999\r\n", "Protocol error: invalid multibulk length"],
      ["*4294967296\r\n", "Protocol error: invalid multibulk length"],
      ["*2\r\n$4\r\nECHO\r\n*4294967296\r\n", "Protocol error: expected '$', got '*'"],
      ["*abc\r\n$4\r\nPING\r\n", "Protocol error: invalid multibulk length"],
      ["*01\r\n$4\r\nPING\r\n", "Protocol error: invalid multibulk length"],
      ["*-0\r\n", "Protocol error: invalid multibulk length"],
      ["*1\r\n$abc\r\nPING\r\n", "Protocol error: invalid bulk length"],
      ["*1\r\n$4 \r\nPING\r\n", "Protocol error: invalid bulk length"],
      ["*1\r\n$04\r\nPING\r\n", "Protocol error: invalid bulk length"],
      ["*1\r\n$-1\r\n", "Protocol error: invalid bulk length"],
      ["*2\r\n$4\r\nECHO\r\n$999999999999\r\n", "Protocol error: invalid bulk length"],
      [`*2\r\n$3\r\nGET\r\n$${MAX_COMMAND_BYTES + 1}\r\n`, "Protocol error: invalid bulk length"],
      ["*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"],
      ["ECHO \"unbalanced\r\n", "Protocol error: unbalanced quotes in request"],
      ["ECHO \"a\"b\r\n", "Protocol error: unbalanced quotes in request"],
      ["ECHO 'a\r\n", "Protocol error: unbalanced quotes in request"]
    ]
    for (const [input, error] of cases) {
      const { commands, errors } = parse(input, resp("PING"))
      expect({ input, commands, errors }).toEqual({ input, commands: [], errors: [error] })
    }
  })

  it("refuses a command whose arguments add up to more than the limit", () => {
    const half = MAX_COMMAND_BYTES / 2
    const { commands, errors } = parse(`*4\r\n$4\r\nMSET\r\n$1\r\nk\r\n$${half}\r\n`, Buffer.alloc(half + 2, 0x61), `$${half}\r\n`)
    expect(commands.length).toBe(0)
    expect(errors).toEqual([COMMAND_TOO_LARGE])
  })

  it("counts a fixed overhead per argument, so millions of empty arguments are refused too", () => {
    const emptyArguments = (count: number) => [`*${count}\r\n`, Buffer.from("$0\r\n\r\n".repeat(count))] as const
    const perArgument = 6 + ARGUMENT_OVERHEAD_BYTES
    const fits = Math.floor((MAX_COMMAND_BYTES - 16) / perArgument)
    const accepted = parse(...emptyArguments(fits))
    expect(accepted.errors).toEqual([])
    expect(accepted.commands.map((argv) => argv.length)).toEqual([fits])
    const refused = parse(...emptyArguments(fits + 10))
    expect(refused.commands.length).toBe(0)
    expect(refused.errors).toEqual([COMMAND_TOO_LARGE])
  })

  it("reports a length line or an inline line that never ends once it passes 64 KiB", () => {
    expect(parse("*1\r\n$" + "1".repeat(70_000)).errors).toEqual(["Protocol error: too big bulk count string"])
    expect(parse("*" + "1".repeat(70_000)).errors).toEqual(["Protocol error: too big mbulk count string"])
    expect(parse("PING " + "x".repeat(70_000)).errors).toEqual(["Protocol error: too big inline request"])
  })

  it("ignores empty and null arrays, as redis-server does", () => {
    expect(parse("*0\r\n*-1\r\n*-5\r\n" + resp("PING"))).toEqual({ commands: [["PING"]], errors: [] })
  })

  it("splits inline commands with quotes and escapes as redis-cli and redis-server do", () => {
    const { commands, errors } = parse(
      'SET "qk" "qv"\r\n',
      'SET "a b" \'c d\'\r\n',
      'ECHO "\\x41\\n\\"q\\"" \'it\\\'s\'\r\n',
      "ECHO a\rb\n",
      'SET k"ey" v\r\n'
    )
    expect(errors).toEqual([])
    expect(commands).toEqual([["SET", "qk", "qv"], ["SET", "a b", "c d"], ["ECHO", 'A\n"q"', "it's"], ["ECHO", "a", "b"], ["SET", "key", "v"]])
  })

  it("completes a length line whose '\\r' ended one read as soon as the next byte arrives", () => {
    expect(parse("*1\r\n$4\r", "\n", "PING\r\n").commands).toEqual([["PING"]])
    expect(parse("*1\r", "\n", "$4\r\nPING\r\n").commands).toEqual([["PING"]])
  })

  it("parses the same commands when every byte arrives alone, a large argument included", () => {
    const large = "L".repeat(40_000) // over the size read into a buffer of its own
    const bytes = Buffer.from(resp("SET", "k", "v") + 'SET "a b" c\r\n' + resp("SET", "big", large) + resp("GET", "k"), "latin1")
    const commands: Array<Array<string>> = []
    const parser = new RequestParser((argv) => commands.push(argv.map((a) => a.toString("latin1"))), (message) => expect.fail(message))
    for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1))
    expect(commands).toEqual([["SET", "k", "v"], ["SET", "a b", "c"], ["SET", "big", large], ["GET", "k"]])
  })

  it("joins a large argument once it has arrived in many small chunks", () => {
    const value = Buffer.alloc(1_000_000, 0x78)
    value[0] = 0x2a // a '*' inside a value is data, not a header
    const bytes = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`), value, Buffer.from("\r\n" + resp("GET", "k"))])
    const chunks: Array<Buffer> = []
    for (let offset = 0; offset < bytes.length; offset += 1000) chunks.push(bytes.subarray(offset, offset + 1000))
    const seen: Array<Array<Buffer>> = []
    const parser = new RequestParser((argv) => seen.push(argv), (message) => expect.fail(message))
    for (const chunk of chunks) parser.push(chunk)
    expect(seen.map((argv) => argv.length)).toEqual([3, 2])
    expect(seen[0][2].equals(value)).toBe(true)
    expect(seen[1].map(String)).toEqual(["GET", "k"])
  })
})

describe("reply ordering", () => {
  it("answers thousands of pipelined commands in request order whatever order they finish in", async () => {
    const written: Array<string> = []
    const queue = new ReplyQueue((chunks) => written.push(Buffer.concat(chunks).toString()), () => {})
    const count = 10_000
    const fills = Array.from({ length: count }, () => queue.reserve(2))
    // Finish the first half in order (flushed as it goes), the rest in a scrambled order.
    for (let i = 0; i < count / 2; i++) {
      fills[i](integer(i))
      if (i % 100 === 0) await Promise.resolve()
    }
    await Promise.resolve()
    const rest = Array.from({ length: count / 2 }, (_, i) => count / 2 + i).sort((a, b) => ((a * 7919) % 10007) - ((b * 7919) % 10007))
    for (const i of rest) {
      fills[i](integer(i))
      if (i % 97 === 0) await Promise.resolve()
    }
    await Promise.resolve()
    expect(queue.pending).toBe(0)
    expect(written.join("")).toBe(Array.from({ length: count }, (_, i) => `:${i}\r\n`).join(""))
  })
})

describe("replies held for a transaction", () => {
  it("MULTI's +OK and the QUEUED replies wait for EXEC's reply and go out with it in one write; other pending replies hold nothing", async () => {
    const written: Array<string> = []
    const queue = new ReplyQueue((chunks) => written.push(Buffer.concat(chunks).toString()), () => {})
    queue.reserve(2)(OK)
    queue.reserve(2)(simple("QUEUED"))
    const exec = queue.reserve(2, undefined, true)
    await Promise.resolve()
    expect(written).toEqual([])
    exec(array([integer(1)]))
    await Promise.resolve()
    expect(written).toEqual(["+OK\r\n+QUEUED\r\n*1\r\n:1\r\n"])
    expect(queue.pending).toBe(0)

    // A pending reply that does not hold: the ready ones before it are written at once.
    queue.reserve(2)(OK)
    const later = queue.reserve(2)
    await Promise.resolve()
    expect(written).toEqual(["+OK\r\n+QUEUED\r\n*1\r\n:1\r\n", "+OK\r\n"])
    later(integer(2))
    await Promise.resolve()
    expect(written.at(-1)).toBe(":2\r\n")
  })
})
