/** parseDouble is Redis's string2d: ZADD scores and other strict float arguments. */
import { describe, expect, it } from "vitest"
import { parseDouble } from "../../src/commands/floats.js"

const parse = (text: string) => parseDouble(Buffer.from(text, "latin1"))

describe("parseDouble (string2d)", () => {
  it("reads plain decimals exactly as strtod rounds them", () => {
    expect(parse("0")).toBe(0)
    expect(Object.is(parse("-0"), -0)).toBe(true)
    expect(parse("00012")).toBe(12)
    expect(parse("-12.25")).toBe(-12.25)
    expect(parse("0.1")).toBe(0.1)
    expect(parse("12345678901234567.5")).toBe(12345678901234568)
    expect(parse("0.00000000000000001")).toBe(1e-17)
  })

  it("reads signs, bare fractions, exponents, hexadecimal and infinities", () => {
    expect(parse("+5")).toBe(5)
    expect(parse(".5")).toBe(0.5)
    expect(parse("1.")).toBe(1)
    expect(parse("-.5")).toBe(-0.5)
    expect(parse("1.5e3")).toBe(1500)
    expect(parse("0x1.8p3")).toBe(12)
    expect(parse("inf")).toBe(Number.POSITIVE_INFINITY)
    expect(parse("-Infinity")).toBe(Number.NEGATIVE_INFINITY)
  })

  it("refuses what string2d refuses: NaN, spaces, junk, and literals that over- or underflow", () => {
    for (const text of ["", "nan", "-nan", " 1", "1 ", "1x", "--1", "1e400", "1e-400", `0.${"0".repeat(400)}1`, `${"9".repeat(400)}`]) {
      expect(parse(text), text).toBeUndefined()
    }
  })
})
