/**
 * RESP2 and RESP3 replies as they are on the wire: a connection that sends argv arrays and hands
 * back each reply as a `Frame` holding its exact bytes (`raw`) and its parsed structure, so tests
 * can compare servers byte for byte and still look inside a reply where bytes legitimately differ.
 */
import * as net from "node:net"
import { TEST_HOST } from "./testHost.js"

/** The RESP type bytes: RESP2 `+ - : $ *`, RESP3 `_ , # ! = ( % ~ > |`. */
export type FrameType = "+" | "-" | ":" | "$" | "*" | "_" | "," | "#" | "!" | "=" | "(" | "%" | "~" | ">" | "|"

export interface Frame {
  readonly type: FrameType
  /** The reply's exact bytes, attribute included. */
  readonly raw: Buffer
  /** The line after the type byte for `+ - : , # ( _` and the length/count line for the others. */
  readonly line: string
  /** Payload of `$ ! =` (null for RESP2's `$-1`). */
  readonly data?: Buffer | null
  /** Elements of `* ~ > %` (a map's keys and values alternate), null for RESP2's `*-1`. */
  readonly children?: ReadonlyArray<Frame> | null
  /** A RESP3 attribute (`|`) that preceded the reply. */
  readonly attribute?: Frame
}

const AGGREGATES = new Set(["*", "~", ">", "%", "|"])
const BLOBS = new Set(["$", "!", "="])
const LINES = new Set(["+", "-", ":", "_", ",", "#", "("])

export class ProtocolError extends Error {}

/**
 * Parse one frame at `offset`; undefined when the buffer does not hold all of it yet. Throws
 * ProtocolError on bytes that are not RESP.
 */
export const parseFrame = (buf: Buffer, offset = 0): { frame: Frame; end: number } | undefined => {
  if (offset >= buf.length) return undefined
  const type = String.fromCharCode(buf[offset])
  const eol = buf.indexOf("\r\n", offset + 1, "latin1")
  if (eol < 0) return undefined
  const line = buf.toString("latin1", offset + 1, eol)
  let end = eol + 2
  if (LINES.has(type)) {
    return { frame: { type: type as FrameType, raw: buf.subarray(offset, end), line }, end }
  }
  if (BLOBS.has(type)) {
    const length = Number(line)
    if (!Number.isInteger(length) || length < -1) throw new ProtocolError(`bad length line ${JSON.stringify(type + line)}`)
    if (length === -1) return { frame: { type: type as FrameType, raw: buf.subarray(offset, end), line, data: null }, end }
    if (buf.length < end + length + 2) return undefined
    if (buf[end + length] !== 0x0d || buf[end + length + 1] !== 0x0a) throw new ProtocolError(`payload of ${type}${line} not followed by CRLF`)
    const data = buf.subarray(end, end + length)
    end += length + 2
    return { frame: { type: type as FrameType, raw: buf.subarray(offset, end), line, data }, end }
  }
  if (AGGREGATES.has(type)) {
    const count = Number(line)
    if (!Number.isInteger(count) || count < -1) throw new ProtocolError(`bad count line ${JSON.stringify(type + line)}`)
    if (count === -1) return { frame: { type: type as FrameType, raw: buf.subarray(offset, end), line, children: null }, end }
    const elements = type === "%" || type === "|" ? count * 2 : count
    const children: Array<Frame> = []
    for (let i = 0; i < elements; i++) {
      const next = parseFrame(buf, end)
      if (next === undefined) return undefined
      children.push(next.frame)
      end = next.end
    }
    if (type === "|") {
      // An attribute decorates the reply that follows it: keep them together as one reply.
      const decorated = parseFrame(buf, end)
      if (decorated === undefined) return undefined
      const frame = { ...decorated.frame, raw: buf.subarray(offset, decorated.end), attribute: { type: "|" as const, raw: buf.subarray(offset, end), line, children } }
      return { frame, end: decorated.end }
    }
    return { frame: { type: type as FrameType, raw: buf.subarray(offset, end), line, children }, end }
  }
  throw new ProtocolError(`unknown reply type byte 0x${buf[offset].toString(16)} in ${escapeBytes(buf.subarray(offset, offset + 40))}`)
}

/** Bytes as a readable, unambiguous string: printable ASCII as is, `\r \n \\ "` and others escaped. */
export const escapeBytes = (bytes: Uint8Array): string => {
  let out = ""
  for (const b of bytes) {
    if (b === 0x0d) out += "\\r"
    else if (b === 0x0a) out += "\\n"
    else if (b === 0x5c) out += "\\\\"
    else if (b === 0x22) out += '\\"'
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b)
    else out += `\\x${b.toString(16).padStart(2, "0")}`
  }
  return `"${out}"`
}

export type Arg = string | Uint8Array

/** A command as RESP: an array of bulk strings (strings are sent as UTF-8). */
export const encodeCommand = (argv: ReadonlyArray<Arg>): Buffer => {
  const parts: Array<Buffer> = [Buffer.from(`*${argv.length}\r\n`)]
  for (const arg of argv) {
    const bytes = typeof arg === "string" ? Buffer.from(arg) : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"))
  }
  return Buffer.concat(parts)
}

interface Waiter {
  readonly resolve: (frame: Frame) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

/** One client connection that returns replies as frames, in order; every reply waits at most `replyTimeoutMs`. */
export class WireConnection {
  private buffer: Buffer = Buffer.alloc(0)
  private readonly waiting: Array<Waiter> = []
  private closed: Error | undefined
  /** Frames that arrived while nobody waited (e.g. RESP3 pushes): kept for inspection. */
  readonly unsolicited: Array<Frame> = []

  private constructor(
    readonly socket: net.Socket,
    readonly name: string,
    private readonly replyTimeoutMs: number
  ) {
    socket.on("data", (chunk) => this.receive(chunk))
    const fail = (error?: Error) => {
      this.closed = error ?? new Error(`${name}: connection closed`)
      for (const waiter of this.waiting.splice(0)) {
        clearTimeout(waiter.timer)
        waiter.reject(this.closed)
      }
    }
    socket.on("close", () => fail())
    socket.on("error", (error) => fail(new Error(`${name}: ${error.message}`)))
  }

  static connect(port: number, options: { host?: string; name?: string; replyTimeoutMs?: number } = {}): Promise<WireConnection> {
    const host = options.host ?? TEST_HOST
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off("error", reject)
        socket.setNoDelay(true)
        resolve(new WireConnection(socket, options.name ?? `${host}:${port}`, options.replyTimeoutMs ?? 10_000))
      })
      socket.once("error", reject)
    })
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    let offset = 0
    for (;;) {
      let parsed: { frame: Frame; end: number } | undefined
      try {
        parsed = parseFrame(this.buffer, offset)
      } catch (error) {
        this.socket.destroy(error as Error)
        return
      }
      if (parsed === undefined) break
      // Copy: the frame outlives the receive buffer it was cut from.
      const frame = copyFrame(parsed.frame)
      offset = parsed.end
      const waiter = this.waiting.shift()
      if (waiter === undefined) this.unsolicited.push(frame)
      else {
        clearTimeout(waiter.timer)
        waiter.resolve(frame)
      }
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : Buffer.from(this.buffer.subarray(offset))
  }

  /** Send commands in one write and resolve with their replies, in order. */
  pipeline(commands: ReadonlyArray<ReadonlyArray<Arg>>): Promise<Array<Frame>> {
    if (this.closed) return Promise.reject(this.closed)
    const replies = commands.map(
      (argv) =>
        new Promise<Frame>((resolve, reject) => {
          const timer = setTimeout(() => {
            reject(new Error(`${this.name}: no reply within ${this.replyTimeoutMs} ms to ${argv.map((a) => escapeBytes(Buffer.from(a))).join(" ")}`))
            // Replies would be out of step from here on: this connection is no longer usable.
            this.socket.destroy()
          }, this.replyTimeoutMs)
          this.waiting.push({ resolve, reject, timer })
        })
    )
    this.socket.write(Buffer.concat(commands.map(encodeCommand)))
    return Promise.all(replies)
  }

  async call(...argv: Array<Arg>): Promise<Frame> {
    return (await this.pipeline([argv]))[0]
  }

  close(): void {
    this.socket.destroy()
  }
}

const copyFrame = (frame: Frame): Frame => {
  const raw = Buffer.from(frame.raw)
  // Re-parse the copy: sub-frames then point into it, not into the shared receive buffer.
  return parseFrame(raw, 0)!.frame
}

/** A bulk-string-ish frame's payload as latin1 text, or the line for simple types. */
export const frameText = (frame: Frame): string | null => {
  if (frame.data !== undefined) return frame.data === null ? null : frame.data.toString("latin1")
  return frame.line
}
