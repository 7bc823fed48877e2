/** Redis's error texts, in one place so every command answers exactly as Redis does. */
import { error, type Reply } from "../resp/Reply.js"

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1")

/** As redis-server words it: the arguments are quoted until about 128 characters are shown. */
export const unknownCommand = (argv: ReadonlyArray<Uint8Array>): Reply => {
  let args = ""
  for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${latin1(argv[i].subarray(0, 128 - args.length))}' `
  return error(`ERR unknown command '${latin1(argv[0].subarray(0, 128))}', with args beginning with: ${args}`)
}

export const wrongArity = (name: string): Reply => error(`ERR wrong number of arguments for '${name}' command`)
export const unknownSubcommand = (sub: Uint8Array, command: string): Reply =>
  error(`ERR unknown subcommand '${latin1(sub).slice(0, 128)}'. Try ${command} HELP.`)
export const SYNTAX_ERROR: Reply = error("ERR syntax error")
export const NOT_AN_INTEGER: Reply = error("ERR value is not an integer or out of range")
export const NOT_A_FLOAT: Reply = error("ERR value is not a valid float")
export const OVERFLOW: Reply = error("ERR increment or decrement would overflow")
export const DECREMENT_OVERFLOW: Reply = error("ERR decrement would overflow")
export const DB_OUT_OF_RANGE: Reply = error("ERR DB index is out of range")
export const WRONGTYPE: Reply = error("WRONGTYPE Operation against a key holding the wrong kind of value")
export const NO_SUCH_KEY: Reply = error("ERR no such key")
export const SAME_OBJECT: Reply = error("ERR source and destination objects are the same")
export const STRING_TOO_LONG: Reply = error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
export const OFFSET_OUT_OF_RANGE: Reply = error("ERR offset is out of range")
export const INVALID_CURSOR: Reply = error("ERR invalid cursor")
export const INT32_OUT_OF_RANGE: Reply = error("ERR value is out of range, value must between -2147483648 and 2147483647")

export { latin1 }
