/**
 * Client requests from a TCP byte stream. RESP arrays of bulk strings (what every client library
 * and redis-cli send) are parsed by `redis-parser`; inline commands (`PING\r\n`, as typed into
 * telnet) are split here when they start between two RESP messages, as Redis allows.
 */
import RedisParser from "redis-parser"

const STAR = 0x2a
const NEWLINE = 0x0a
/** Redis's own limit for an inline request line. */
const MAX_INLINE_BYTES = 64 * 1024

export class RequestParser {
  private readonly parser: RedisParser
  private inline: Buffer | undefined
  private failed = false
  /** Where the last complete RESP command ended inside the parser's buffer (two fields: no allocation per command). */
  private boundaryBuffer: Buffer | undefined
  private boundaryOffset = 0
  /** Bytes after a RESP command that are not RESP (an inline command, say): parsed inline next. */
  private leftover: Buffer | undefined

  constructor(
    private readonly onCommand: (argv: Array<Buffer>) => void,
    private readonly onProtocolError: (message: string) => void
  ) {
    this.parser = new RedisParser({
      returnBuffers: true,
      returnReply: (reply) => {
        this.boundaryBuffer = this.parser.buffer!
        this.boundaryOffset = this.parser.offset
        this.onReply(reply)
      },
      returnError: () => this.fail("Protocol error: expected '*', got '-'"),
      returnFatalError: (error) => {
        // Redis decides RESP or inline per command: a non-'*' byte right after a complete
        // command starts an inline one (redis-cli --pipe sends a bare CRLF, for one).
        if (this.boundaryBuffer !== undefined && (error as { offset?: number }).offset === this.boundaryOffset + 1) {
          this.leftover = this.boundaryBuffer.subarray(this.boundaryOffset)
          return
        }
        this.fail(error.message.replace(/ as reply type byte$/, ""))
      },
    })
  }

  push(chunk: Buffer): void {
    let rest: Buffer | undefined = chunk
    while (rest !== undefined && rest.length > 0 && !this.failed) {
      if (this.inline === undefined && (this.parser.buffer !== null || rest[0] === STAR)) {
        this.boundaryBuffer = undefined
        this.parser.execute(rest)
        if (this.leftover === undefined) return
        // Resume after the parser returned: it still touches its own state on the way out.
        rest = this.leftover
        this.leftover = undefined
        this.parser.reset()
        continue
      }
      rest = this.pushInline(rest)
    }
  }

  /** Consume an inline command line; returns the bytes after it, if the line is complete. */
  private pushInline(chunk: Buffer): Buffer | undefined {
    const data = this.inline === undefined ? chunk : Buffer.concat([this.inline, chunk])
    const end = data.indexOf(NEWLINE)
    if (end < 0) {
      if (data.length > MAX_INLINE_BYTES) this.fail("Protocol error: too big inline request")
      else this.inline = data
      return undefined
    }
    this.inline = undefined
    const line = data.subarray(0, end).toString("latin1").replace(/\r$/, "")
    const argv = line.split(/[ \t]+/).filter((word) => word.length > 0)
    if (argv.length > 0) this.onCommand(argv.map((word) => Buffer.from(word, "latin1")))
    return data.subarray(end + 1)
  }

  private onReply(reply: unknown): void {
    if (this.failed) return
    if (reply === null) return // *-1: Redis ignores a null array
    if (!Array.isArray(reply)) return this.fail("Protocol error: expected an array of bulk strings")
    if (reply.length === 0) return
    for (const arg of reply) {
      if (!Buffer.isBuffer(arg)) return this.fail("Protocol error: expected an array of bulk strings")
    }
    this.onCommand(reply as Array<Buffer>)
  }

  private fail(message: string): void {
    if (this.failed) return
    this.failed = true
    this.onProtocolError(message)
  }
}
