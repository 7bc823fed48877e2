/**
 * RESP2 reply encoding. Replies of one flush are encoded into a single Buffer; the common
 * fixed replies are preallocated.
 */
import { OK, type Reply } from "./Reply.js"

const CRLF = "\r\n"
const OK_BYTES = Buffer.from("+OK\r\n")
const NIL_BYTES = Buffer.from("$-1\r\n")
const NIL_ARRAY_BYTES = Buffer.from("*-1\r\n")

/** Append the encoding of `reply` to `out` (strings and buffers, concatenated once at the end). */
const encodeInto = (reply: Reply, out: Array<Buffer | string>): void => {
  switch (reply._tag) {
    case "Simple":
      if (reply.value === "OK") out.push(OK_BYTES)
      else out.push(`+${reply.value}${CRLF}`)
      return
    case "Error":
      out.push(`-${reply.message.replace(/[\r\n]+/g, " ")}${CRLF}`)
      return
    case "Integer":
      out.push(`:${reply.value}${CRLF}`)
      return
    case "Bulk":
      if (reply.value === null) out.push(NIL_BYTES)
      else {
        out.push(`$${reply.value.length}${CRLF}`)
        out.push(Buffer.isBuffer(reply.value) ? reply.value : Buffer.from(reply.value.buffer, reply.value.byteOffset, reply.value.length))
        out.push(CRLF)
      }
      return
    case "Array":
      if (reply.value === null) out.push(NIL_ARRAY_BYTES)
      else {
        out.push(`*${reply.value.length}${CRLF}`)
        for (const item of reply.value) encodeInto(item, out)
      }
      return
  }
}

const concat = (parts: Array<Buffer | string>): Buffer => {
  let size = 0
  for (const part of parts) size += typeof part === "string" ? Buffer.byteLength(part, "latin1") : part.length
  const out = Buffer.allocUnsafe(size)
  let offset = 0
  for (const part of parts) {
    if (typeof part === "string") offset += out.write(part, offset, "latin1")
    else offset += part.copy(out, offset)
  }
  return out
}

export const encodeReplies = (replies: ReadonlyArray<Reply>): Buffer => {
  if (replies.length === 1 && replies[0] === OK) return OK_BYTES
  const parts: Array<Buffer | string> = []
  for (const reply of replies) encodeInto(reply, parts)
  return concat(parts)
}

export const encodeReply = (reply: Reply): Buffer => encodeReplies([reply])

