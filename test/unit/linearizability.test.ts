/** The history checker accepts linearizable histories and rejects the classic anomalies. */
import { describe, expect, it } from "vitest"
import { checkLinearizable, type KvOperation } from "../support/linearizability.js"

const set = (value: string, called: number, returned: number, key = "x"): KvOperation => ({ key, input: { op: "set", value }, called, returned })
const get = (output: string | null, called: number, returned: number, key = "x"): KvOperation => ({ key, input: { op: "get" }, output, called, returned })
const incr = (output: number | undefined, called: number, returned: number): KvOperation => ({ key: "n", input: { op: "incr" }, output, called, returned })
const del = (output: number, called: number, returned: number): KvOperation => ({ key: "x", input: { op: "del" }, output, called, returned })
const incr2 = (output: number, called: number, returned: number): KvOperation => ({ key: "x", input: { op: "incr" }, output, called, returned })
const ok = (...history: Array<KvOperation>) => checkLinearizable(history).linearizable

describe("linearizability checker", () => {
  it("accepts a sequential history and overlapping reads that see either side of a write", () => {
    expect(ok(set("1", 0, 1), get("1", 2, 3), del(1, 4, 5), get(null, 6, 7))).toBe(true)
    expect(ok(set("1", 0, 1), set("2", 2, 10), get("1", 3, 4), get("2", 5, 6))).toBe(true)
  })

  it("rejects a stale read after a completed write", () => {
    expect(ok(set("1", 0, 1), get(null, 2, 3))).toBe(false)
  })

  it("rejects a lost write", () => {
    expect(ok(set("1", 0, 1), set("2", 2, 3), get("1", 4, 5))).toBe(false)
  })

  it("rejects a phantom value nobody wrote", () => {
    expect(ok(set("1", 0, 1), get("3", 2, 3))).toBe(false)
  })

  it("rejects reads that go back in time", () => {
    expect(ok(set("1", 0, 1), set("2", 2, 10), get("2", 3, 4), get("1", 5, 6))).toBe(false)
  })

  it("lets a timed-out write take effect late or never, but not un-happen", () => {
    const lost = set("5", 0, Infinity)
    expect(ok(lost, get(null, 1, 2), get("5", 3, 4))).toBe(true)
    expect(ok(lost, get(null, 1, 2), get(null, 3, 4))).toBe(true)
    expect(ok(lost, get("5", 1, 2), get(null, 3, 4))).toBe(false)
  })

  it("counts increments: two sequential INCRs cannot both return 1", () => {
    expect(ok(incr(1, 0, 1), incr(2, 2, 3))).toBe(true)
    expect(ok(incr(1, 0, 5), incr(2, 1, 6))).toBe(true)
    expect(ok(incr(1, 0, 1), incr(1, 2, 3))).toBe(false)
    expect(ok(incr(undefined, 0, Infinity), incr(2, 1, 2))).toBe(true)
  })

  it("checks keys independently and names the failing one", () => {
    const result = checkLinearizable([set("1", 0, 1, "a"), get("1", 2, 3, "a"), set("1", 0, 1, "b"), get("2", 2, 3, "b")])
    expect(result).toEqual({ linearizable: false, failingKey: "b" })
  })

  it("handles a larger concurrent history in reasonable time", () => {
    const history: Array<KvOperation> = []
    for (let i = 0; i < 200; i++) {
      history.push(set(String(i), i * 10, i * 10 + 15))
      history.push(get(String(i), i * 10 + 16, i * 10 + 18))
    }
    expect(ok(...history)).toBe(true)
  })

  describe("expiry, transactions, check-and-set", () => {
    const setPx = (value: string, ttlMs: number, called: number, returned: number): KvOperation => ({ key: "x", input: { op: "set", value, ttlMs }, output: "OK", called, returned })
    const tx = (commands: ReadonlyArray<import("../support/linearizability.js").RegisterInput>, output: ReadonlyArray<string | number | null> | undefined, called: number, returned: number): KvOperation => ({
      key: "x", input: { op: "tx", commands }, output, called, returned
    })
    const cas = (expected: string | null, value: string, output: "OK" | null | undefined, called: number, returned: number): KvOperation => ({ key: "x", input: { op: "cas", expected, value }, output, called, returned })

    it("an expiring key is seen until its time and never after it", () => {
      // SET at [0, 10] with 100 ms: it expires somewhere in [100, 110].
      expect(ok(setPx("v", 100, 0, 10), get("v", 20, 30), get(null, 120, 130))).toBe(true)
      // Around its expiry either answer is possible.
      expect(ok(setPx("v", 100, 0, 10), get("v", 104, 106))).toBe(true)
      expect(ok(setPx("v", 100, 0, 10), get(null, 104, 106))).toBe(true)
      // Gone before it could have expired, or back after it was seen gone: not possible.
      expect(ok(setPx("v", 100, 0, 10), get(null, 50, 60))).toBe(false)
      expect(ok(setPx("v", 100, 0, 10), get(null, 104, 106), get("v", 107, 108))).toBe(false)
      expect(ok(setPx("v", 100, 0, 10), get("v", 200, 210))).toBe(false)
    })

    it("INCR keeps the expiry; an expired counter starts again from 1", () => {
      expect(ok(setPx("5", 100, 0, 10), incr2(6, 20, 30), get("6", 40, 50), get(null, 200, 210))).toBe(true)
      expect(ok(setPx("5", 100, 0, 10), incr2(1, 200, 210))).toBe(true)
      expect(ok(setPx("5", 100, 0, 10), incr2(1, 20, 30))).toBe(false)
    })

    it("a transaction's commands happen at one instant, with nothing in between", () => {
      expect(ok(set("1", 0, 1), tx([{ op: "incr" }, { op: "get" }], [2, "2"], 2, 10), set("9", 3, 4), get("9", 11, 12))).toBe(true)
      // Another write between the INCR and the GET of the same transaction cannot happen.
      expect(ok(set("1", 0, 1), tx([{ op: "incr" }, { op: "get" }], [2, "9"], 2, 10), set("9", 3, 4))).toBe(false)
      // A failing command fails alone.
      expect(ok(set("a", 0, 1), tx([{ op: "incr" }, { op: "set", value: "3" }, { op: "incr" }], ["ERR", "OK", 4], 2, 3), get("4", 4, 5))).toBe(true)
    })

    it("a check-and-set applies only over the value it saw; an abort changes nothing", () => {
      expect(ok(set("1", 0, 1), cas("1", "2", "OK", 2, 10), get("2", 11, 12))).toBe(true)
      // It succeeded although the value it watched had changed before its EXEC: not possible.
      expect(ok(set("1", 0, 1), set("3", 2, 3), cas("1", "2", "OK", 4, 10))).toBe(false)
      expect(ok(set("1", 0, 1), set("3", 2, 3), cas("1", "2", null, 4, 10), get("3", 11, 12))).toBe(true)
      expect(ok(cas(null, "n", "OK", 0, 1), get("n", 2, 3))).toBe(true)
    })
  })

  describe("lists", () => {
    const push = (value: string, length: number | undefined, called: number, returned: number, op: "lpush" | "rpush" = "rpush"): KvOperation => ({ key: "l", input: { op, value }, output: length, called, returned })
    const rpop = (output: string | null, called: number, returned: number): KvOperation => ({ key: "l", input: { op: "rpop" }, output, called, returned })
    const blpop = (output: string | null | undefined, called: number, returned: number): KvOperation => ({ key: "l", input: { op: "blpop" }, output, called, returned })
    const lrange = (output: ReadonlyArray<string>, called: number, returned: number): KvOperation => ({ key: "l", input: { op: "lrange" }, output, called, returned })

    it("accepts a queue used from both ends, and overlapping pushes in either order", () => {
      expect(ok(push("a", 1, 0, 1), push("b", 2, 2, 3), push("c", 3, 4, 5, "lpush"), lrange(["c", "a", "b"], 6, 7), rpop("b", 8, 9), blpop("c", 10, 11), lrange(["a"], 12, 13))).toBe(true)
      expect(ok(push("a", 2, 0, 5), push("b", 1, 1, 4), lrange(["b", "a"], 6, 7))).toBe(true)
    })

    it("rejects an element handed out twice, a lost element, and a pop from the wrong end", () => {
      expect(ok(push("a", 1, 0, 1), rpop("a", 2, 3), blpop("a", 4, 5))).toBe(false)
      expect(ok(push("a", 1, 0, 1), push("b", 2, 2, 3), lrange(["b"], 4, 5))).toBe(false)
      expect(ok(push("a", 1, 0, 1), push("b", 2, 2, 3), blpop("b", 4, 5))).toBe(false)
    })

    it("a blocking pop that timed out saw the list empty at some point of its wait", () => {
      // Someone else took the element while it waited: fine.
      expect(ok(blpop(null, 0, 100), push("a", 1, 10, 11), rpop("a", 20, 21))).toBe(true)
      // The element was there all along: it should have been served.
      expect(ok(push("a", 1, 0, 1), blpop(null, 2, 100), lrange(["a"], 101, 102))).toBe(false)
      // Served by a push made while it waited.
      expect(ok(blpop("a", 0, 100), push("a", 1, 10, 11), lrange([], 101, 102))).toBe(true)
    })

    it("an interrupted pop may have taken the head, or not", () => {
      expect(ok(push("a", 1, 0, 1), blpop(undefined, 2, Infinity), lrange([], 3, 4))).toBe(true)
      expect(ok(push("a", 1, 0, 1), blpop(undefined, 2, Infinity), lrange(["a"], 3, 4))).toBe(true)
    })
  })
})
