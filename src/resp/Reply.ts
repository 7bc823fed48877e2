/**
 * Reply values produced by command execution, independent of the protocol a client speaks: a
 * reply is built once (often on another node's behalf, in the Applier) and encoded as RESP2 or
 * RESP3 by the connection that sends it (./encode.ts), the way redis-server's addReply* calls
 * pick their bytes from the client's protocol.
 *
 * RESP3-only types degrade as redis-server degrades them: Map → flat array, Set → array,
 * Double → bulk string, Boolean → integer, Verbatim → bulk string, null → `$-1` or `*-1`.
 */
export type Reply =
  | { readonly _tag: "Simple"; readonly value: string }
  /** `message` is the whole error line without the leading "-", e.g. "ERR syntax error". */
  | { readonly _tag: "Error"; readonly message: string }
  | { readonly _tag: "Integer"; readonly value: number | bigint }
  /** null: the null bulk string (RESP2 `$-1`, RESP3 `_`). */
  | { readonly _tag: "Bulk"; readonly value: Uint8Array | null }
  /** null: the null array (RESP2 `*-1`, RESP3 `_`). */
  | { readonly _tag: "Array"; readonly value: ReadonlyArray<Reply> | null }
  /** Keys and values alternating: RESP3 `%`, RESP2 a flat array. */
  | { readonly _tag: "Map"; readonly value: ReadonlyArray<Reply> }
  /** RESP3 `~`, RESP2 an array. */
  | { readonly _tag: "Set"; readonly value: ReadonlyArray<Reply> }
  /**
   * Pairs (member and score, field and value) alternating: RESP3 an array of 2-element arrays,
   * RESP2 a flat array (redis-server 7's ZRANGE WITHSCORES, HRANDFIELD WITHVALUES).
   */
  | { readonly _tag: "Pairs"; readonly value: ReadonlyArray<Reply> }
  /** RESP3 `,`, RESP2 a bulk string; formatted as redis-server 7.0 does (%.17g, inf, -inf). */
  | { readonly _tag: "Double"; readonly value: number }
  /** RESP3 `#t`/`#f`, RESP2 `:1`/`:0`. */
  | { readonly _tag: "Boolean"; readonly value: boolean }
  /** RESP3 `=` with format "txt", RESP2 a bulk string (INFO, CLIENT INFO, CLIENT LIST). */
  | { readonly _tag: "Verbatim"; readonly value: string }
  /**
   * Bytes already encoded, the same in RESP2 and RESP3 (an array of bulk strings): a reply too
   * large to build as Reply values and encode in one go (KEYS over a million keys), encoded by
   * its command in slices instead.
   */
  | { readonly _tag: "Encoded"; readonly chunks: ReadonlyArray<Buffer> }

export const simple = (value: string): Reply => ({ _tag: "Simple", value })
export const error = (message: string): Reply => ({ _tag: "Error", message })
export const integer = (value: number | bigint): Reply => ({ _tag: "Integer", value })
export const bulk = (value: Uint8Array | null): Reply => ({ _tag: "Bulk", value })
export const array = (value: ReadonlyArray<Reply> | null): Reply => ({ _tag: "Array", value })
export const map = (value: ReadonlyArray<Reply>): Reply => ({ _tag: "Map", value })
export const set = (value: ReadonlyArray<Reply>): Reply => ({ _tag: "Set", value })
export const pairs = (value: ReadonlyArray<Reply>): Reply => ({ _tag: "Pairs", value })
export const double = (value: number): Reply => ({ _tag: "Double", value })
export const boolean = (value: boolean): Reply => ({ _tag: "Boolean", value })
export const verbatim = (value: string): Reply => ({ _tag: "Verbatim", value })
export const encoded = (chunks: ReadonlyArray<Buffer>): Reply => ({ _tag: "Encoded", chunks })
/** A bulk string from text (latin1: one char per byte). */
export const text = (value: string): Reply => bulk(Buffer.from(value, "latin1"))

export const OK: Reply = simple("OK")
export const PONG: Reply = simple("PONG")
export const QUEUED: Reply = simple("QUEUED")
export const NIL: Reply = bulk(null)
export const NIL_ARRAY: Reply = array(null)
export const EMPTY_ARRAY: Reply = array([])
export const ZERO: Reply = integer(0)
export const ONE: Reply = integer(1)

export const isError = (reply: Reply): boolean => reply._tag === "Error"
