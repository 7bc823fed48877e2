/** SET's options, parsed once at classify time (to reject bad ones) and again when applied. */
import type { Reply } from "../resp/Reply.js"
import { EXPIRY_UNSUPPORTED, latin1, SYNTAX_ERROR } from "./errors.js"

export interface SetOptions {
  readonly condition: "NX" | "XX" | undefined
  readonly get: boolean
}

export const parseSetOptions = (argv: ReadonlyArray<Uint8Array>): SetOptions | Reply => {
  let condition: "NX" | "XX" | undefined
  let get = false
  for (let i = 3; i < argv.length; i++) {
    const option = latin1(argv[i]).toUpperCase()
    switch (option) {
      case "NX":
      case "XX":
        if (condition !== undefined && condition !== option) return SYNTAX_ERROR
        condition = option
        break
      case "GET":
        get = true
        break
      case "EX":
      case "PX":
      case "EXAT":
      case "PXAT":
      case "KEEPTTL":
        return EXPIRY_UNSUPPORTED
      default:
        return SYNTAX_ERROR
    }
  }
  return { condition, get }
}

export const isReply = (value: SetOptions | Reply): value is Reply => "_tag" in value
