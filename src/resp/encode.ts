/**
 * Reply encoding, RESP2 or RESP3 per connection (HELLO switches it). Replies of one flush are
 * encoded into as few Buffers as possible: small parts are copied together (up to GROUP_BYTES a
 * buffer), large values are passed on as they are (no copy, and no single allocation that grows
 * with the reply: Node refuses buffers over 4 GiB). The common fixed replies are preallocated.
 */
import { formatDouble } from "./formatDouble.js"
import { OK, type Reply } from "./Reply.js"

export type Protocol = 2 | 3

const CRLF = "\r\n"
const OK_BYTES = Buffer.from("+OK\r\n")
const NIL_BYTES = Buffer.from("$-1\r\n")
const NIL_ARRAY_BYTES = Buffer.from("*-1\r\n")
const NULL3_BYTES = Buffer.from("_\r\n")

const pushBulk = (value: Uint8Array, out: Array<Buffer | string>): void => {
  out.push(`$${value.length}${CRLF}`)
  out.push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length))
  out.push(CRLF)
}

const pushText = (value: string, out: Array<Buffer | string>): void => {
  out.push(`$${Buffer.byteLength(value, "latin1")}${CRLF}${value}${CRLF}`)
}

/** Append the encoding of `reply` to `out` (strings and buffers, concatenated once at the end). */
const encodeInto = (reply: Reply, protocol: Protocol, out: Array<Buffer | string>): void => {
  switch (reply._tag) {
    case "Simple":
      if (reply.value === "OK") out.push(OK_BYTES)
      else out.push(`+${reply.value}${CRLF}`)
      return
    case "Error":
      // As redis-server does: every CR and LF of an error line becomes a space.
      out.push(`-${reply.message.replace(/[\r\n]/g, " ")}${CRLF}`)
      return
    case "Integer":
      out.push(`:${reply.value}${CRLF}`)
      return
    case "Bulk":
      if (reply.value === null) out.push(protocol === 3 ? NULL3_BYTES : NIL_BYTES)
      else pushBulk(reply.value, out)
      return
    case "Array":
      if (reply.value === null) out.push(protocol === 3 ? NULL3_BYTES : NIL_ARRAY_BYTES)
      else {
        out.push(`*${reply.value.length}${CRLF}`)
        for (const item of reply.value) encodeInto(item, protocol, out)
      }
      return
    case "Map":
      out.push(protocol === 3 ? `%${reply.value.length / 2}${CRLF}` : `*${reply.value.length}${CRLF}`)
      for (const item of reply.value) encodeInto(item, protocol, out)
      return
    case "Set":
      out.push(`${protocol === 3 ? "~" : "*"}${reply.value.length}${CRLF}`)
      for (const item of reply.value) encodeInto(item, protocol, out)
      return
    case "Pairs":
      if (protocol === 3) {
        out.push(`*${reply.value.length / 2}${CRLF}`)
        for (let i = 0; i + 1 < reply.value.length; i += 2) {
          out.push(`*2${CRLF}`)
          encodeInto(reply.value[i], protocol, out)
          encodeInto(reply.value[i + 1], protocol, out)
        }
      } else {
        out.push(`*${reply.value.length}${CRLF}`)
        for (const item of reply.value) encodeInto(item, protocol, out)
      }
      return
    case "Double":
      if (protocol === 3) out.push(`,${formatDouble(reply.value)}${CRLF}`)
      else pushText(formatDouble(reply.value), out)
      return
    case "Boolean":
      out.push(protocol === 3 ? (reply.value ? `#t${CRLF}` : `#f${CRLF}`) : reply.value ? `:1${CRLF}` : `:0${CRLF}`)
      return
    case "Verbatim":
      if (protocol === 3) out.push(`=${Buffer.byteLength(reply.value, "latin1") + 4}${CRLF}txt:${reply.value}${CRLF}`)
      else pushText(reply.value, out)
      return
    case "Encoded":
      for (const chunk of reply.chunks) out.push(chunk)
      return
  }
}

/**
 * Builds an array of bulk strings as bytes, a piece at a time (a command can yield between
 * pieces), in buffers of about GROUP_BYTES: the reply of a command that may return millions of
 * elements, without a Reply value per element or one long encoding pass at the end.
 */
export class BulkArrayEncoder {
  private readonly chunks: Array<Buffer> = []
  private current = Buffer.allocUnsafe(GROUP_BYTES)
  private used = 0
  private count = 0

  add(value: Uint8Array): void {
    const header = `$${value.length}${CRLF}`
    const needed = header.length + value.length + 2
    if (this.used + needed > this.current.length) {
      this.seal()
      if (needed > GROUP_BYTES) {
        this.chunks.push(Buffer.from(`${header}`, "latin1"), Buffer.from(value), Buffer.from(CRLF))
        this.count++
        return
      }
    }
    this.used += this.current.write(header, this.used, "latin1")
    this.current.set(value, this.used)
    this.used += value.length
    this.current[this.used++] = 0x0d
    this.current[this.used++] = 0x0a
    this.count++
  }

  /** The whole array, its header first. */
  finish(): ReadonlyArray<Buffer> {
    this.seal()
    return [Buffer.from(`*${this.count}${CRLF}`, "latin1"), ...this.chunks]
  }

  private seal(): void {
    if (this.used > 0) this.chunks.push(this.current.subarray(0, this.used))
    this.current = Buffer.allocUnsafe(GROUP_BYTES)
    this.used = 0
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

/**
 * The bytes of `replies`, in order, as one or more buffers to write one after another.
 * `protocols[i]` is the protocol reply i is encoded in (a pipeline may switch with HELLO).
 */
export const encodeReplyChunks = (replies: ReadonlyArray<Reply>, protocols: Protocol | ReadonlyArray<Protocol> = 2): Array<Buffer> => {
  if (replies.length === 1 && replies[0] === OK) return [OK_BYTES]
  const parts: Array<Buffer | string> = []
  for (let i = 0; i < replies.length; i++) encodeInto(replies[i], typeof protocols === "number" ? protocols : protocols[i], parts)
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
export const encodeReplies = (replies: ReadonlyArray<Reply>, protocol: Protocol = 2): Buffer => {
  const chunks = encodeReplyChunks(replies, protocol)
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
}

export const encodeReply = (reply: Reply, protocol: Protocol = 2): Buffer => encodeReplies([reply], protocol)
