/**
 * RESP2 reply encoding. Replies of one flush are encoded into as few Buffers as possible: small
 * parts are copied together (up to GROUP_BYTES a buffer), large values are passed on as they are
 * (no copy, and no single allocation that grows with the reply: Node refuses buffers over
 * 4 GiB). The common fixed replies are preallocated.
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

/** A value at least this large is written as its own buffer rather than copied. */
const LARGE_PART_BYTES = 64 * 1024
/** Small parts are copied together into buffers of about this size. */
const GROUP_BYTES = 1024 * 1024

const partLength = (part: Buffer | string): number => (typeof part === "string" ? Buffer.byteLength(part, "latin1") : part.length)

const concat = (parts: ReadonlyArray<Buffer | string>, start: number, end: number, size: number): Buffer => {
  if (end - start === 1 && typeof parts[start] !== "string") return parts[start] as Buffer
  const out = Buffer.allocUnsafe(size)
  let offset = 0
  for (let i = start; i < end; i++) {
    const part = parts[i]
    if (typeof part === "string") offset += out.write(part, offset, "latin1")
    else offset += part.copy(out, offset)
  }
  return out
}

/** The bytes of `replies`, in order, as one or more buffers to write one after another. */
export const encodeReplyChunks = (replies: ReadonlyArray<Reply>): Array<Buffer> => {
  if (replies.length === 1 && replies[0] === OK) return [OK_BYTES]
  const parts: Array<Buffer | string> = []
  for (const reply of replies) encodeInto(reply, parts)
  const chunks: Array<Buffer> = []
  let start = 0
  let size = 0
  for (let i = 0; i < parts.length; i++) {
    const length = partLength(parts[i])
    if (length >= LARGE_PART_BYTES) {
      if (i > start) chunks.push(concat(parts, start, i, size))
      chunks.push(parts[i] as Buffer)
      start = i + 1
      size = 0
      continue
    }
    size += length
    if (size >= GROUP_BYTES) {
      chunks.push(concat(parts, start, i + 1, size))
      start = i + 1
      size = 0
    }
  }
  if (start < parts.length) chunks.push(concat(parts, start, parts.length, size))
  return chunks
}

/** The bytes of `replies` as a single buffer (small replies: tests, one-off answers). */
export const encodeReplies = (replies: ReadonlyArray<Reply>): Buffer => {
  const chunks = encodeReplyChunks(replies)
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
}

export const encodeReply = (reply: Reply): Buffer => encodeReplies([reply])

