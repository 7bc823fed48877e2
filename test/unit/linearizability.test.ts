/** The history checker accepts linearizable histories and rejects the classic anomalies. */
import { describe, expect, it } from "vitest"
import { checkLinearizable, type KvOperation } from "../support/linearizability.js"

const set = (value: string, called: number, returned: number, key = "x"): KvOperation => ({ key, input: { op: "set", value }, called, returned })
const get = (output: string | null, called: number, returned: number, key = "x"): KvOperation => ({ key, input: { op: "get" }, output, called, returned })
const incr = (output: number | undefined, called: number, returned: number): KvOperation => ({ key: "n", input: { op: "incr" }, output, called, returned })
const del = (output: number, called: number, returned: number): KvOperation => ({ key: "x", input: { op: "del" }, output, called, returned })
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
})
