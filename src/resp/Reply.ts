/**
 * RESP2 reply values produced by command execution. Encoding to bytes lives in ./encode.ts.
 */
export type Reply =
  | { readonly _tag: "Simple"; readonly value: string }
  /** `message` is the whole error line without the leading "-", e.g. "ERR syntax error". */
  | { readonly _tag: "Error"; readonly message: string }
  | { readonly _tag: "Integer"; readonly value: number | bigint }
  | { readonly _tag: "Bulk"; readonly value: Uint8Array | null }
  | { readonly _tag: "Array"; readonly value: ReadonlyArray<Reply> | null }

export const simple = (value: string): Reply => ({ _tag: "Simple", value })
export const error = (message: string): Reply => ({ _tag: "Error", message })
export const integer = (value: number | bigint): Reply => ({ _tag: "Integer", value })
export const bulk = (value: Uint8Array | null): Reply => ({ _tag: "Bulk", value })
export const array = (value: ReadonlyArray<Reply> | null): Reply => ({ _tag: "Array", value })

export const OK: Reply = simple("OK")
export const PONG: Reply = simple("PONG")
export const NIL: Reply = bulk(null)
export const ZERO: Reply = integer(0)
export const ONE: Reply = integer(1)
