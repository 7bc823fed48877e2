/**
 * Floating-point arguments and values as redis-server reads and writes them.
 *
 * - `parseDouble` is Redis's string2d (strtod, strict): what ZADD scores, EXPIRE-free float
 *   arguments and BLPOP timeouts accept.
 * - `incrementLongDouble` is INCRBYFLOAT / HINCRBYFLOAT: Redis parses both numbers as x87 long
 *   doubles (64-bit significand), adds them, and prints the sum with `%.17Lf`, trailing zeros
 *   removed. Doing the same in doubles would print 0.1 + 0.2 as 0.30000000000000004 where Redis
 *   prints 0.3, so the long double arithmetic is emulated exactly with BigInts (it is also
 *   deterministic on every node, which the replicated state needs).
 */

/** strtod's decimal syntax (no leading space, nothing after), plus inf/infinity/nan. */
const DECIMAL = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/
/** strtod also reads hexadecimal floats: 0x1.8p3. */
const HEXADECIMAL = /^([+-]?)0[xX](?=\.?[0-9a-fA-F])([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/
const INFINITY = /^([+-]?)inf(?:inity)?$/i
const NAN = /^[+-]?nan$/i
/** A decimal that Number() reads as strtod does: no exponent, and too few digits to overflow or underflow. */
const PLAIN_DECIMAL = /^-?\d{1,17}(?:\.\d{1,17})?$/

/** A parsed number: sign · digits · base^exponent (base 10, or 2 for hexadecimal floats). */
interface Decimal {
  readonly negative: boolean
  readonly digits: bigint
  readonly exponent: number
  readonly base: 10 | 2
}

const parseDecimal = (text: string): Decimal | "inf" | "-inf" | "nan" | undefined => {
  const match = DECIMAL.exec(text)
  if (match === null) {
    const hex = HEXADECIMAL.exec(text)
    if (hex !== null) {
      const fraction = hex[3] ?? ""
      const exponent = hex[4] === undefined ? 0 : Math.max(-100_000, Math.min(100_000, Number(hex[4])))
      return { negative: hex[1] === "-", digits: BigInt(`0x${(hex[2] + fraction) || "0"}`), exponent: exponent - 4 * fraction.length, base: 2 }
    }
    const infinity = INFINITY.exec(text)
    if (infinity !== null) return infinity[1] === "-" ? "-inf" : "inf"
    return NAN.test(text) ? "nan" : undefined
  }
  const integerPart = match[2] ?? ""
  const fraction = match[3] ?? match[4] ?? ""
  const exponentText = match[5]
  // An exponent beyond any representable value still parses (to inf or 0): clamp it.
  const exponent = exponentText === undefined ? 0 : Math.max(-100_000, Math.min(100_000, Number(exponentText)))
  const digitsText = (integerPart + fraction).replace(/^0+/, "")
  return { negative: match[1] === "-", digits: digitsText === "" ? 0n : BigInt(digitsText), exponent: exponent - fraction.length, base: 10 }
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1")

/**
 * Redis's string2d: the strict strtod syntax, no NaN, and no value that over- or underflows
 * (a finite literal that rounds to ±inf or a non-zero one that rounds to 0). Undefined: invalid.
 */
export const parseDouble = (bytes: Uint8Array): number | undefined => {
  if (bytes.length === 0 || bytes.length > 5000) return undefined
  const text = latin1(bytes)
  // The common score (digits, maybe a fraction, no exponent) can neither overflow nor underflow.
  if (PLAIN_DECIMAL.test(text)) return Number(text)
  const parsed = parseDecimal(text)
  if (parsed === undefined || parsed === "nan") return undefined
  if (parsed === "inf") return Number.POSITIVE_INFINITY
  if (parsed === "-inf") return Number.NEGATIVE_INFINITY
  const value =
    parsed.base === 2
      ? (parsed.negative ? -1 : 1) * Number(parsed.digits) * 2 ** parsed.exponent
      : Number(text.startsWith("+") ? text.slice(1) : text.startsWith(".") || text.startsWith("-.") ? text.replace(".", "0.") : text)
  if (!Number.isFinite(value)) return undefined
  if (value === 0 && parsed.digits !== 0n) return undefined
  return value
}

/** C's isspace: what strtod skips before a number. */
const LEADING_SPACE = /^[ \t\n\v\f\r]*/

/**
 * C's strtod over a whole argument, NaN refused: what ZRANGEBYSCORE's and ZCOUNT's bounds accept
 * (t_zset.c zslParseRange). Unlike `parseDouble` it skips leading white space, reads "" as 0, and
 * takes a literal out of range as ±inf or 0 rather than refusing it. Undefined: not a number.
 */
export const parseStrtod = (bytes: Uint8Array): number | undefined => {
  const text = latin1(bytes).replace(LEADING_SPACE, "")
  // strtod reads nothing from "" and the end is right there: the whole (empty) argument is read.
  if (bytes.length === 0) return 0
  const parsed = parseDecimal(text)
  if (parsed === undefined || parsed === "nan") return undefined
  if (parsed === "inf") return Number.POSITIVE_INFINITY
  if (parsed === "-inf") return Number.NEGATIVE_INFINITY
  if (parsed.base === 2) return (parsed.negative ? -1 : 1) * Number(parsed.digits) * 2 ** parsed.exponent
  const value = Number(text.startsWith("+") ? text.slice(1) : text.startsWith(".") || text.startsWith("-.") ? text.replace(".", "0.") : text)
  return Number.isNaN(value) ? undefined : value
}

// ---------------------------------------------------------------- x87 long double emulation

/** A finite long double: (-1)^negative · significand · 2^exponent, significand < 2^64. */
interface LongDouble {
  readonly negative: boolean
  readonly significand: bigint
  readonly exponent: number
}

const SIGNIFICAND_BITS = 64
/** The largest finite long double is just under 2^16384. */
const MAX_BINARY_EXPONENT = 16384
/** The smallest positive (subnormal) long double is 2^-16445. */
const MIN_BINARY_EXPONENT = -16445

const bitLength = (value: bigint): number => (value === 0n ? 0 : value.toString(2).length)

/** numerator / denominator (positive) rounded to 64 significant bits, ties to even. */
const roundQuotient = (negative: boolean, numerator: bigint, denominator: bigint): LongDouble | "inf" => {
  if (numerator === 0n) return { negative, significand: 0n, exponent: 0 }
  // Choose the exponent so the quotient has exactly 64 bits before rounding.
  let exponent = bitLength(numerator) - bitLength(denominator) - SIGNIFICAND_BITS
  for (;;) {
    const scaledNumerator = exponent < 0 ? numerator << BigInt(-exponent) : numerator
    const scaledDenominator = exponent > 0 ? denominator << BigInt(exponent) : denominator
    let quotient = scaledNumerator / scaledDenominator
    if (bitLength(quotient) > SIGNIFICAND_BITS) {
      exponent++
      continue
    }
    if (bitLength(quotient) < SIGNIFICAND_BITS) {
      exponent--
      continue
    }
    const twiceRemainder = 2n * (scaledNumerator - quotient * scaledDenominator)
    if (twiceRemainder > scaledDenominator || (twiceRemainder === scaledDenominator && (quotient & 1n) === 1n)) quotient++
    if (bitLength(quotient) > SIGNIFICAND_BITS) {
      quotient >>= 1n
      exponent++
    }
    if (exponent + SIGNIFICAND_BITS > MAX_BINARY_EXPONENT) return "inf"
    if (exponent + SIGNIFICAND_BITS < MIN_BINARY_EXPONENT) return { negative, significand: 0n, exponent: 0 }
    return { negative, significand: quotient, exponent }
  }
}

const fromDecimal = (decimal: Decimal): LongDouble | "inf" => {
  const { negative, digits, exponent } = decimal
  if (digits === 0n) return { negative, significand: 0n, exponent: 0 }
  if (decimal.base === 2) {
    if (exponent + bitLength(digits) > MAX_BINARY_EXPONENT) return "inf"
    if (exponent + bitLength(digits) < MIN_BINARY_EXPONENT) return { negative, significand: 0n, exponent: 0 }
    return exponent >= 0 ? roundQuotient(negative, digits << BigInt(exponent), 1n) : roundQuotient(negative, digits, 1n << BigInt(-exponent))
  }
  // Anything this far out is certainly out of range (and would make huge BigInts).
  if (exponent + digits.toString().length > 4940) return "inf"
  if (exponent + digits.toString().length < -4960) return { negative, significand: 0n, exponent: 0 }
  return exponent >= 0 ? roundQuotient(negative, digits * 10n ** BigInt(exponent), 1n) : roundQuotient(negative, digits, 10n ** BigInt(-exponent))
}

/** Redis's string2ld: a long double, or undefined when the text is not a valid float. */
const parseLongDouble = (bytes: Uint8Array): LongDouble | "inf" | "-inf" | undefined => {
  if (bytes.length === 0 || bytes.length >= 5 * 1024) return undefined
  const parsed = parseDecimal(latin1(bytes))
  if (parsed === undefined || parsed === "nan") return undefined
  if (parsed === "inf" || parsed === "-inf") return parsed
  const value = fromDecimal(parsed)
  // strtold reports over- and underflow (ERANGE), which string2ld refuses.
  if (value === "inf") return undefined
  if (value.significand === 0n && parsed.digits !== 0n) return undefined
  return value
}

const add = (a: LongDouble, b: LongDouble): LongDouble | "inf" => {
  const exponent = Math.min(a.exponent, b.exponent)
  const signed = (x: LongDouble) => (x.negative ? -1n : 1n) * (x.significand << BigInt(x.exponent - exponent))
  const sum = signed(a) + signed(b)
  if (sum === 0n) return { negative: false, significand: 0n, exponent: 0 }
  const negative = sum < 0n
  const magnitude = negative ? -sum : sum
  return exponent >= 0 ? roundQuotient(negative, magnitude << BigInt(exponent), 1n) : roundQuotient(negative, magnitude, 1n << BigInt(-exponent))
}

/** `%.17Lf` with trailing zeros (and a bare point) removed, and "-0" printed as "0". */
const formatHuman = (value: LongDouble): string => {
  const { significand, exponent } = value
  // value · 10^17, rounded half to even, as glibc prints the exact binary value.
  const numerator = significand * 10n ** 17n * (exponent > 0 ? 1n << BigInt(exponent) : 1n)
  const denominator = exponent < 0 ? 1n << BigInt(-exponent) : 1n
  let scaled = numerator / denominator
  const twiceRemainder = 2n * (numerator - scaled * denominator)
  if (twiceRemainder > denominator || (twiceRemainder === denominator && (scaled & 1n) === 1n)) scaled++
  const digits = scaled.toString().padStart(18, "0")
  const integerPart = digits.slice(0, -17)
  const fraction = digits.slice(-17).replace(/0+$/, "")
  const text = fraction.length > 0 ? `${integerPart}.${fraction}` : integerPart
  return value.negative && text !== "0" ? `-${text}` : text
}

export type FloatIncrement = { readonly value: string } | { readonly error: "not a float" | "nan or infinity" }

/**
 * INCRBYFLOAT's arithmetic: `current` (undefined: the key is missing, i.e. 0) plus `increment`,
 * as Redis 7 computes and prints it.
 */
export const incrementLongDouble = (current: Uint8Array | undefined, increment: Uint8Array): FloatIncrement => {
  const base = current === undefined ? ({ negative: false, significand: 0n, exponent: 0 } as LongDouble) : parseLongDouble(current)
  const delta = parseLongDouble(increment)
  if (base === undefined || delta === undefined) return { error: "not a float" }
  if (typeof base === "string" || typeof delta === "string") return { error: "nan or infinity" }
  const sum = add(base, delta)
  if (sum === "inf") return { error: "nan or infinity" }
  return { value: formatHuman(sum) }
}

/** Whether `bytes` is a float INCRBYFLOAT accepts as an increment (checked before the log). */
export const isLongDouble = (bytes: Uint8Array): boolean => parseLongDouble(bytes) !== undefined

/** 2^63: the first value a long long cannot hold. */
const LONG_LONG_LIMIT = 1n << 63n

/**
 * A blocking command's timeout in seconds as redis-server 7.0 reads it (timeout.c
 * getTimeoutFromObjectOrReply): a long double, times 1000 (rounded to the long double), rounded up
 * (`ceill`, so 0.0001 is 1 ms and not "forever") and converted to a long long, where x86 turns any
 * value out of range (infinities included) into LLONG_MIN. Returns the milliseconds (0: wait
 * forever; -0.0001 rounds up to 0 too), or why Redis refuses it.
 */
export const timeoutMilliseconds = (bytes: Uint8Array): number | "not a float" | "negative" => {
  const value = parseLongDouble(bytes)
  if (value === undefined) return "not a float"
  if (value === "inf" || value === "-inf") return "negative"
  if (value.significand === 0n) return 0
  const { significand, exponent } = value
  const product =
    exponent >= 0 ? roundQuotient(value.negative, (significand * 1000n) << BigInt(exponent), 1n) : roundQuotient(value.negative, significand * 1000n, 1n << BigInt(-exponent))
  if (product === "inf") return "negative"
  let whole: bigint
  let fraction: boolean
  if (product.exponent >= 0) {
    whole = product.significand << BigInt(product.exponent)
    fraction = false
  } else {
    const shift = BigInt(-product.exponent)
    whole = product.significand >> shift
    fraction = (product.significand & ((1n << shift) - 1n)) !== 0n
  }
  if (product.negative) return whole === 0n ? 0 : "negative"
  const milliseconds = fraction ? whole + 1n : whole
  return milliseconds >= LONG_LONG_LIMIT ? "negative" : Number(milliseconds)
}
