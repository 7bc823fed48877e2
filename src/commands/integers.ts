/** Redis's strict 64-bit integer parsing (util.c string2ll): what INCR and friends accept. */
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

export const parseInt64 = (bytes: Uint8Array): bigint | undefined => {
  if (bytes.length === 0 || bytes.length > 20) return undefined
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1")
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) return undefined
  const value = BigInt(text)
  return value < INT64_MIN || value > INT64_MAX ? undefined : value
}

export const inInt64Range = (value: bigint): boolean => value >= INT64_MIN && value <= INT64_MAX

const INT32_MIN = -(2n ** 31n)
const INT32_MAX = 2n ** 31n - 1n

/**
 * Redis's getIntFromObjectOrReply: a 64-bit integer that must also fit in 32 bits. Returns the
 * number, "not-integer" or "out-of-range" (each has its own error text).
 */
export const parseInt32 = (bytes: Uint8Array): number | "not-integer" | "out-of-range" => {
  const value = parseInt64(bytes)
  if (value === undefined) return "not-integer"
  return value < INT32_MIN || value > INT32_MAX ? "out-of-range" : Number(value)
}
