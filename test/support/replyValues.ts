/**
 * Reply values as plain data for assertions: bulk strings as latin1 text, integers as numbers,
 * aggregates (array, set, map, pairs) as arrays, null as null, errors as { error }.
 */
import type { Reply } from "../../src/resp/Reply.js"

export type Plain = string | number | null | { readonly error: string } | ReadonlyArray<Plain>

export const plain = (reply: Reply): Plain => {
  switch (reply._tag) {
    case "Bulk":
      return reply.value === null ? null : Buffer.from(reply.value).toString("latin1")
    case "Integer":
      return Number(reply.value)
    case "Simple":
      return reply.value
    case "Error":
      return { error: reply.message }
    case "Array":
      return reply.value === null ? null : reply.value.map(plain)
    case "Map":
    case "Set":
    case "Pairs":
      return reply.value.map(plain)
    case "Double":
      return reply.value
    case "Boolean":
      return reply.value ? 1 : 0
    case "Verbatim":
      return reply.value
    case "Encoded":
      // KEYS streams its reply as RESP bytes: compare those through a client instead.
      throw new Error("an already-encoded reply has no plain value")
  }
}

/** The elements of an aggregate reply as strings (throws for anything else). */
export const strings = (reply: Reply): Array<string> => {
  const value = plain(reply)
  if (!Array.isArray(value)) throw new Error(`not an aggregate reply: ${JSON.stringify(value)}`)
  return value.map((element) => {
    if (typeof element !== "string") throw new Error(`not a string element: ${JSON.stringify(element)}`)
    return element
  })
}

/** An HSCAN/SSCAN page: its next cursor and its elements. */
export const scanPage = (reply: Reply): { readonly cursor: string; readonly elements: Array<string> } => {
  if (reply._tag !== "Array" || reply.value === null || reply.value.length !== 2) throw new Error(`not a scan page: ${JSON.stringify(plain(reply))}`)
  const [cursor, elements] = reply.value
  return { cursor: String(plain(cursor)), elements: strings(elements) }
}
