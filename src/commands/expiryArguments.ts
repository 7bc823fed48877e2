/**
 * Expiry arguments as redis-server 7.0 reads them (t_string.c getExpireMillisecondsOrReply,
 * expire.c expireGenericCommand), with its 64-bit overflow checks done in BigInt. Relative times
 * are made absolute against `now`: at classify time (to refuse bad arguments before the log) and
 * again when the entry applies, against the entry's time, so every node computes the same instant.
 */
import { error, type Reply } from "../resp/Reply.js"
import { NOT_AN_INTEGER } from "./errors.js"
import { parseInt64 } from "./integers.js"

const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)

export type ExpiryUnit = "EX" | "PX" | "EXAT" | "PXAT"

export const invalidExpireTime = (command: string): Reply => error(`ERR invalid expire time in '${command}' command`)

/**
 * SET/GETEX/SETEX's expiry: a positive integer in `unit`, as absolute epoch milliseconds, or the
 * error reply Redis gives.
 */
export const expiryFromOption = (unit: ExpiryUnit, value: Uint8Array, command: string, now: number): number | Reply => {
  const parsed = parseInt64(value)
  if (parsed === undefined) return NOT_AN_INTEGER
  const seconds = unit === "EX" || unit === "EXAT"
  if (parsed <= 0n || (seconds && parsed > INT64_MAX / 1000n)) return invalidExpireTime(command)
  let milliseconds = seconds ? parsed * 1000n : parsed
  if (unit === "EX" || unit === "PX") milliseconds += BigInt(Math.floor(now))
  if (milliseconds > INT64_MAX) return invalidExpireTime(command) // Redis's signed overflow
  return Number(milliseconds)
}

/** EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT's time: any integer (negative deletes), absolute ms, or an error. */
export const expiryFromCommand = (value: Uint8Array, seconds: boolean, base: number, command: string): number | Reply => {
  const parsed = parseInt64(value)
  if (parsed === undefined) return NOT_AN_INTEGER
  if (seconds && (parsed > INT64_MAX / 1000n || parsed < INT64_MIN / 1000n)) return invalidExpireTime(command)
  const milliseconds = seconds ? parsed * 1000n : parsed
  if (milliseconds > INT64_MAX - BigInt(Math.floor(base))) return invalidExpireTime(command)
  return Number(milliseconds + BigInt(Math.floor(base)))
}

export interface ExpireFlags {
  readonly nx: boolean
  readonly xx: boolean
  readonly gt: boolean
  readonly lt: boolean
}

/** EXPIRE's NX/XX/GT/LT options from argv[3..], or Redis's error. */
export const parseExpireFlags = (argv: ReadonlyArray<Uint8Array>): ExpireFlags | Reply => {
  let nx = false
  let xx = false
  let gt = false
  let lt = false
  for (let i = 3; i < argv.length; i++) {
    const option = Buffer.from(argv[i]).toString("latin1")
    switch (option.toLowerCase()) {
      case "nx":
        nx = true
        break
      case "xx":
        xx = true
        break
      case "gt":
        gt = true
        break
      case "lt":
        lt = true
        break
      default:
        return error(`ERR Unsupported option ${option}`)
    }
  }
  if (nx && (xx || gt || lt)) return error("ERR NX and XX, GT or LT options at the same time are not compatible")
  if (gt && lt) return error("ERR GT and LT options at the same time are not compatible")
  return { nx, xx, gt, lt }
}

export const isReply = (value: unknown): value is Reply => typeof value === "object" && value !== null && "_tag" in value
