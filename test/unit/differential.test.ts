/**
 * The compatibility harness's own pieces, without servers: RESP2/RESP3 frames parsed from raw
 * bytes (also when split anywhere), and the comparisons that decide whether two replies agree.
 * A harness that called different replies equal would make raft-kv look compatible.
 */
import { describe, expect, it } from "vitest"
import { compareFrames, type Compare } from "../support/differential.js"
import { encodeCommand, escapeBytes, type Frame, parseFrame } from "../support/respWire.js"

const frame = (raw: string): Frame => {
  const parsed = parseFrame(Buffer.from(raw, "latin1"))
  if (parsed === undefined) throw new Error(`incomplete: ${raw}`)
  expect(parsed.end).toBe(Buffer.byteLength(raw, "latin1"))
  return parsed.frame
}
const agree = (a: string, b: string, compare: Compare) => compareFrames(frame(a), frame(b), compare) === undefined

const EXACT: Compare = { kind: "exact" }
const SHAPE: Compare = { kind: "shape" }
const TYPE_ONLY: Compare = { kind: "typeOnly" }
const UNORDERED: Compare = { kind: "unordered" }

describe("RESP frames", () => {
  const samples = [
    "+OK\r\n", "-ERR x\r\n", ":-12\r\n", "$3\r\nabc\r\n", "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
    "*2\r\n$1\r\na\r\n*1\r\n:1\r\n", "_\r\n", ",1.5\r\n", "#t\r\n", "!3\r\nerr\r\n", "=8\r\ntxt:abcd\r\n",
    "(12345678901234567890\r\n", "%1\r\n$1\r\nk\r\n$1\r\nv\r\n", "~2\r\n:1\r\n:2\r\n", ">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n",
    "|1\r\n+key\r\n+value\r\n:7\r\n", "$4\r\na\r\nb\r\n"
  ]

  it("parses every RESP2 and RESP3 type, and keeps the exact bytes", () => {
    for (const raw of samples) expect(frame(raw).raw.toString("latin1")).toBe(raw)
    expect(frame("%1\r\n$1\r\nk\r\n$1\r\nv\r\n").children).toHaveLength(2)
    expect(frame("|1\r\n+key\r\n+value\r\n:7\r\n").type).toBe(":")
    expect(frame("$4\r\na\r\nb\r\n").data?.toString()).toBe("a\r\nb")
  })

  it("waits for the rest of a frame split anywhere", () => {
    for (const raw of samples) {
      const bytes = Buffer.from(raw, "latin1")
      for (let cut = 0; cut < bytes.length; cut++) expect(parseFrame(bytes.subarray(0, cut))).toBeUndefined()
    }
  })

  it("rejects bytes that are not RESP", () => {
    expect(() => parseFrame(Buffer.from("?x\r\n"))).toThrow(/unknown reply type/)
    expect(() => parseFrame(Buffer.from("$3\r\nabcd\r\n"))).toThrow(/CRLF/)
  })

  it("encodes commands as arrays of bulk strings and escapes bytes readably", () => {
    expect(encodeCommand(["SET", "k", Buffer.from([0, 255])]).toString("latin1")).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\x00\xff\r\n")
    expect(escapeBytes(Buffer.from('a\r\n"\\\x00\xff', "latin1"))).toBe('"a\\r\\n\\"\\\\\\x00\\xff"')
  })
})

describe("comparing replies", () => {
  it("exact: byte for byte, so RESP2 and RESP3 nulls differ", () => {
    expect(agree("+OK\r\n", "+OK\r\n", EXACT)).toBe(true)
    expect(agree("$-1\r\n", "_\r\n", EXACT)).toBe(false)
    expect(agree(":1\r\n", "$1\r\n1\r\n", EXACT)).toBe(false)
    expect(agree("%1\r\n$1\r\nk\r\n$1\r\nv\r\n", "*2\r\n$1\r\nk\r\n$1\r\nv\r\n", EXACT)).toBe(false)
    expect(compareFrames(frame("-ERR a\r\n"), frame("-ERR b\r\n"), EXACT)).toMatch(/offset 5/)
  })

  it("shape: same types and sizes all the way down, any scalar contents", () => {
    expect(agree("*2\r\n$10\r\n1796168822\r\n$6\r\n229521\r\n", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n", SHAPE)).toBe(true)
    expect(agree("*2\r\n$1\r\n1\r\n$1\r\n2\r\n", "*2\r\n$1\r\n1\r\n:2\r\n", SHAPE)).toBe(false)
    expect(agree("*2\r\n$1\r\n1\r\n$1\r\n2\r\n", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n", SHAPE)).toBe(false)
    expect(agree("$3\r\nabc\r\n", "$-1\r\n", SHAPE)).toBe(false)
    expect(agree("=8\r\ntxt:abcd\r\n", "=8\r\nmkd:abcd\r\n", SHAPE)).toBe(false)
    expect(agree("=8\r\ntxt:abcd\r\n", "$4\r\nabcd\r\n", SHAPE)).toBe(false)
  })

  it("typeOnly: the top-level type", () => {
    expect(agree("$5\r\nhello\r\n", "$1\r\nx\r\n", TYPE_ONLY)).toBe(true)
    expect(agree("$5\r\nhello\r\n", "=5\r\ntxt:x\r\n", TYPE_ONLY)).toBe(false)
  })

  it("unordered: a multiset of elements, map entries kept as pairs", () => {
    expect(agree("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$1\r\nb\r\n$1\r\na\r\n", UNORDERED)).toBe(true)
    expect(agree("*2\r\n$1\r\na\r\n$1\r\na\r\n", "*2\r\n$1\r\na\r\n$1\r\nb\r\n", UNORDERED)).toBe(false)
    expect(agree("*2\r\n$1\r\na\r\n$1\r\nb\r\n", "~2\r\n$1\r\nb\r\n$1\r\na\r\n", UNORDERED)).toBe(false)
    expect(agree("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "%2\r\n$1\r\nb\r\n:2\r\n$1\r\na\r\n:1\r\n", UNORDERED)).toBe(true)
    // Swapping values between keys is a different map even though the multiset of all elements is the same.
    expect(agree("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "%2\r\n$1\r\na\r\n:2\r\n$1\r\nb\r\n:1\r\n", UNORDERED)).toBe(false)
  })

  it("near: numbers within a tolerance, same type", () => {
    expect(agree(":100\r\n", ":99\r\n", { kind: "near", tolerance: 2 })).toBe(true)
    expect(agree(":100\r\n", ":97\r\n", { kind: "near", tolerance: 2 })).toBe(false)
    expect(agree(":-1\r\n", ":1\r\n", { kind: "near", tolerance: 1 })).toBe(false)
    expect(agree(":100\r\n", "$3\r\n100\r\n", { kind: "near", tolerance: 2 })).toBe(false)
  })
})
