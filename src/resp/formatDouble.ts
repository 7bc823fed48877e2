/**
 * Doubles as redis-server 7.0 prints them in replies: C's `%.17g` (17 significant digits,
 * rounded half to even on the exact binary value, trailing zeros dropped, exponent form below
 * 1e-4 and from 1e17 with at least two exponent digits), and `inf` / `-inf` spelled out. So
 * ZSCORE of 1.1 is "1.1000000000000001", as Redis answers.
 *
 * JavaScript's toExponential/toFixed round exact ties away from zero where glibc rounds them to
 * even; ties are only possible when the exact decimal expansion of the double has exactly 18
 * significant digits, which the fast path detects and hands to an exact BigInt formatter.
 */
export const formatDouble = (value: number): string => {
  if (value === Number.POSITIVE_INFINITY) return "inf"
  if (value === Number.NEGATIVE_INFINITY) return "-inf"
  if (Number.isNaN(value)) return "nan"
  if (value === 0) return Object.is(value, -0) ? "-0" : "0"
  const magnitude = Math.abs(value)
  if (magnitude >= 1e17 || mayTie(magnitude)) return (value < 0 ? "-" : "") + formatExact(magnitude)
  // toExponential(16) rounds to 17 significant digits, as %.17g does, and tells the exponent.
  const exponential = value.toExponential(16)
  const e = exponential.indexOf("e")
  const exponent = Number(exponential.slice(e + 1))
  if (exponent < -4 || exponent >= 17) return withExponent(stripZeros(exponential.slice(0, e)), exponent)
  return stripZeros(value.toFixed(16 - exponent))
}

const withExponent = (mantissa: string, exponent: number): string =>
  `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`

/** %g drops trailing zeros of the fraction, and the point when nothing follows it. */
const stripZeros = (text: string): string => {
  if (!text.includes(".")) return text
  let end = text.length
  while (text.charCodeAt(end - 1) === 48) end-- // "0"
  if (text.charCodeAt(end - 1) === 46) end-- // "."
  return text.slice(0, end)
}

const bits = new DataView(new ArrayBuffer(8))

/** A positive finite double as mantissa · 2^exponent with an odd mantissa. */
const decompose = (value: number): { mantissa: bigint; exponent: number } => {
  bits.setFloat64(0, value)
  const high = bits.getUint32(0)
  const low = bits.getUint32(4)
  const biased = (high >>> 20) & 0x7ff
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low)
  let exponent = -1074
  if (biased !== 0) {
    mantissa |= 1n << 52n
    exponent = biased - 1075
  }
  while ((mantissa & 1n) === 0n) {
    mantissa >>= 1n
    exponent++
  }
  return { mantissa, exponent }
}

/**
 * Whether the exact decimal expansion of a fractional double may have 18 significant digits
 * (mantissa · 5^k for value = mantissa · 2^-k), the only case where a tie can occur.
 */
const mayTie = (magnitude: number): boolean => {
  if (Number.isInteger(magnitude)) return false // below 1e17 an integer has at most 17 digits
  const { mantissa, exponent } = decompose(magnitude)
  const digits = Math.log10(Number(mantissa)) - exponent * Math.LOG10E * Math.log(5) + 1
  return digits > 17 && digits < 19
}

/** %.17g of a positive finite double from its exact decimal expansion, ties to even. */
const formatExact = (magnitude: number): string => {
  const { mantissa, exponent } = decompose(magnitude)
  // value = digits · 10^scale exactly.
  const digits = exponent >= 0 ? (mantissa << BigInt(exponent)).toString() : (mantissa * 5n ** BigInt(-exponent)).toString()
  let scale = exponent >= 0 ? 0 : exponent
  let kept = digits
  if (digits.length > 17) {
    kept = digits.slice(0, 17)
    const rest = digits.slice(17)
    scale += rest.length
    const first = rest.charCodeAt(0) - 48
    const beyondHalf = first > 5 || (first === 5 && /[1-9]/.test(rest.slice(1)))
    const tie = first === 5 && !beyondHalf
    const lastOdd = (kept.charCodeAt(16) - 48) % 2 === 1
    if (beyondHalf || (tie && lastOdd)) kept = (BigInt(kept) + 1n).toString()
  }
  // The decimal exponent of the leading digit.
  const leading = kept.length - 1 + scale
  const significant = kept.replace(/0+$/, "") || "0"
  if (leading < -4 || leading >= 17) {
    const mantissaText = significant.length > 1 ? `${significant[0]}.${significant.slice(1)}` : significant
    return withExponent(mantissaText, leading)
  }
  if (leading >= 0) {
    const integerPart = significant.slice(0, leading + 1).padEnd(leading + 1, "0")
    const fraction = significant.slice(leading + 1)
    return fraction.length > 0 ? `${integerPart}.${fraction}` : integerPart
  }
  return `0.${"0".repeat(-leading - 1)}${significant}`
}
