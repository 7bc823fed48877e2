/**
 * Client requests from a TCP byte stream, parsed as redis-server parses them (networking.c:
 * processMultibulkBuffer and processInlineBuffer), with its error texts: each command is either
 * a RESP array of bulk strings (`*<n>\r\n` then n × `$<len>\r\n<bytes>\r\n`, what client
 * libraries and redis-cli send) or an inline line (`SET k "a b"\r\n`, as typed into telnet),
 * decided by its first byte.
 *
 * Not redis-parser: that is a parser of server replies. It accepts any reply type inside a
 * request, reads lengths without validating them (`$abc` becomes 5451 bytes), and a declared
 * array length of 2^32 throws a RangeError from `new Array(n)` that took the whole node down.
 * Here every length is checked before anything is buffered for it, and one command is at most
 * MAX_COMMAND_BYTES on the wire, so a client cannot make a node hold unbounded memory, and a
 * command always fits in one log entry and one peer frame.
 */

const CR = 0x0d
const NEWLINE = 0x0a
const STAR = 0x2a
const DOLLAR = 0x24

/** Redis's limit for an inline line and for a length line (PROTO_INLINE_MAX_SIZE). */
const MAX_LINE_BYTES = 64 * 1024
/** An argument at least this large is read into a buffer of its exact size (redis-server: PROTO_MBULK_BIG_ARG). */
const BIG_ARGUMENT_BYTES = 32 * 1024
/** Redis rejects a multibulk count above INT_MAX. */
const MAX_ARGUMENTS = 2 ** 31 - 1
/**
 * The largest command accepted, counted on the wire (headers included): it becomes one Raft log
 * entry, which must fit in one peer frame (PeerCodec's 64 MiB limit) with room to spare.
 * redis-server's own limit is 512 MB per argument (proto-max-bulk-len).
 */
export const MAX_COMMAND_BYTES = 32 * 1024 * 1024
/**
 * What one argument costs in memory beyond its bytes (a Buffer view and its array slot: ~106 B
 * measured), counted against MAX_COMMAND_BYTES so that millions of empty arguments cannot hold
 * twenty times the command's wire size.
 */
export const ARGUMENT_OVERHEAD_BYTES = 128
export const COMMAND_TOO_LARGE = `Protocol error: command too large (over ${MAX_COMMAND_BYTES} bytes, counting ${ARGUMENT_OVERHEAD_BYTES} per argument; each command is replicated as one log entry)`

/**
 * A length as redis-server's string2ll reads it: optional '-', then digits with no leading zero
 * (except "0" itself), nothing else. Undefined when malformed or above `limit`; any negative
 * value is returned as -1 (the callers only need its sign).
 */
const parseLength = (bytes: Buffer, start: number, end: number, limit: number): number | undefined => {
  let i = start
  const negative = bytes[i] === 0x2d
  if (negative) i++
  if (i >= end || end - i > 19) return undefined
  if (bytes[i] === 0x30 && (end - i > 1 || negative)) return undefined
  let value = 0
  for (; i < end; i++) {
    const digit = bytes[i] - 0x30
    if (digit < 0 || digit > 9) return undefined
    value = value * 10 + digit
  }
  if (negative) return -1
  return value > limit ? undefined : value
}

const isSpace = (byte: number): boolean => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)
const hexValue = (byte: number): number =>
  byte >= 0x30 && byte <= 0x39 ? byte - 0x30 : byte >= 0x61 && byte <= 0x66 ? byte - 0x57 : byte >= 0x41 && byte <= 0x46 ? byte - 0x37 : -1
const ESCAPES: Readonly<Record<number, number>> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 }

/**
 * Split an inline line into arguments as redis-server's sdssplitargs does: blanks separate
 * arguments; "double quotes" take \n \r \t \b \a \xHH and \<char> escapes; 'single quotes'
 * take \' only; a closing quote must end the argument. Undefined for unbalanced quotes.
 */
export const splitInline = (line: Buffer): Array<Buffer> | undefined => {
  const args: Array<Buffer> = []
  const nul = line.indexOf(0)
  const end = nul >= 0 ? nul : line.length // sdssplitargs reads a C string: it ends at NUL
  let p = 0
  for (;;) {
    while (p < end && isSpace(line[p])) p++
    if (p >= end) return args
    const current: Array<number> = []
    let inDouble = false
    let inSingle = false
    for (let done = false; !done; ) {
      const c = p < end ? line[p] : -1
      const next = p + 1 < end ? line[p + 1] : -1
      if (inDouble) {
        if (c === -1) return undefined
        if (c === 0x5c && next === 0x78 && p + 3 < end && hexValue(line[p + 2]) >= 0 && hexValue(line[p + 3]) >= 0) {
          current.push(hexValue(line[p + 2]) * 16 + hexValue(line[p + 3]))
          p += 3
        } else if (c === 0x5c && next !== -1) {
          p++
          current.push(ESCAPES[next] ?? next)
        } else if (c === 0x22) {
          if (next !== -1 && !isSpace(next)) return undefined
          done = true
        } else current.push(c)
      } else if (inSingle) {
        if (c === -1) return undefined
        if (c === 0x5c && next === 0x27) {
          p++
          current.push(0x27)
        } else if (c === 0x27) {
          if (next !== -1 && !isSpace(next)) return undefined
          done = true
        } else current.push(c)
      } else if (c === -1 || c === 0x20 || c === NEWLINE || c === CR || c === 0x09) done = true
      else if (c === 0x22) inDouble = true
      else if (c === 0x27) inSingle = true
      else current.push(c)
      if (c !== -1) p++
    }
    args.push(Buffer.from(current))
  }
}

export class RequestParser {
  /** Unconsumed bytes start at `pos` in `buf`. */
  private buf: Buffer = Buffer.alloc(0)
  private pos = 0
  /**
   * Chunks received while waiting (for the end of a line, or for an argument below
   * BIG_ARGUMENT_BYTES), joined with the rest of `buf` once parsing can progress: each byte is
   * copied once, however small the chunks.
   */
  private parts: Array<Buffer> = []
  private partsBytes = 0
  /** Bytes needed from `pos` before parsing can progress (an argument and its CRLF); 0 while waiting for a line end. */
  private need = 0
  /** A large argument (and its CRLF) being filled in place, and how much of it has arrived. */
  private big: Buffer | undefined
  private bigFilled = 0
  /** The array being read: arguments still to come, the current one's length (-1: its header is next). */
  private argumentsLeft = 0
  private bulkLength = -1
  private argv: Array<Buffer> = []
  private commandBytes = 0
  private failed = false

  constructor(
    private readonly onCommand: (argv: Array<Buffer>) => void,
    private readonly onProtocolError: (message: string) => void
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) return
    if (this.big !== undefined) {
      const used = Math.min(chunk.length, this.big.length - this.bigFilled)
      chunk.copy(this.big, this.bigFilled, 0, used)
      this.bigFilled += used
      if (this.bigFilled < this.big.length) return
      const argument = this.big.subarray(0, this.bulkLength)
      this.big = undefined
      this.takeArgument(argument)
      chunk = chunk.subarray(used)
      this.buf = chunk
      this.pos = 0
    } else if (this.pos >= this.buf.length) {
      this.buf = chunk
      this.pos = 0
    } else {
      const previous = this.parts.length > 0 ? this.parts[this.parts.length - 1] : this.buf
      const endedWithCr = previous[previous.length - 1] === CR // a length line needs one byte after its '\r'
      this.parts.push(chunk)
      this.partsBytes += chunk.length
      const waiting = this.buf.length - this.pos + this.partsBytes
      const lineEnd = this.argumentsLeft === 0 && this.buf[this.pos] !== STAR ? NEWLINE : CR // inline line, or a length line
      const progress = this.need > 0 ? waiting >= this.need : endedWithCr || chunk.includes(lineEnd) || waiting > MAX_LINE_BYTES
      if (!progress) return
      this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.parts])
      this.pos = 0
      this.parts = []
      this.partsBytes = 0
    }
    this.need = 0
    this.parse()
  }

  private takeArgument(argument: Buffer): void {
    this.argv.push(argument)
    this.bulkLength = -1
    if (--this.argumentsLeft === 0) {
      const argv = this.argv
      this.argv = []
      this.onCommand(argv)
    }
  }

  private parse(): void {
    while (!this.failed && this.pos < this.buf.length) {
      if (this.argumentsLeft === 0) {
        const progressed = this.buf[this.pos] === STAR ? this.readArrayHeader() : this.readInline()
        if (!progressed) return
        continue
      }
      if (this.bulkLength < 0 && !this.readBulkHeader()) return
      const available = this.buf.length - this.pos
      if (available < this.bulkLength + 2) {
        if (this.bulkLength + 2 >= BIG_ARGUMENT_BYTES) {
          try {
            this.big = Buffer.allocUnsafe(this.bulkLength + 2)
          } catch {
            return void this.fail(`Protocol error: cannot allocate ${this.bulkLength} bytes for an argument`)
          }
          this.bigFilled = this.buf.copy(this.big, 0, this.pos)
          this.pos = this.buf.length
        } else this.need = this.bulkLength + 2
        return
      }
      // Like redis-server, the two bytes after the argument are skipped unchecked.
      const argument = this.buf.subarray(this.pos, this.pos + this.bulkLength)
      this.pos += this.bulkLength + 2
      this.takeArgument(argument)
    }
  }

  /** The end of the length line starting at `pos` (its '\r'), or undefined if it is not all here. */
  private lineEnd(tooLong: string): number | undefined {
    const cr = this.buf.indexOf(CR, this.pos)
    if (cr < 0 || cr + 1 >= this.buf.length) {
      if (this.buf.length - this.pos > MAX_LINE_BYTES) this.fail(tooLong)
      return undefined
    }
    return cr
  }

  private readArrayHeader(): boolean {
    const cr = this.lineEnd("Protocol error: too big mbulk count string")
    if (cr === undefined) return false
    const count = parseLength(this.buf, this.pos + 1, cr, MAX_ARGUMENTS)
    if (count === undefined) return this.fail("Protocol error: invalid multibulk length")
    this.commandBytes = cr + 2 - this.pos
    this.pos = cr + 2
    // `*0` and `*-1` are ignored, as redis-server does.
    if (count > 0) this.argumentsLeft = count
    return true
  }

  private readBulkHeader(): boolean {
    const cr = this.lineEnd("Protocol error: too big bulk count string")
    if (cr === undefined) return false
    const first = this.buf[this.pos]
    if (first !== DOLLAR) return this.fail(`Protocol error: expected '$', got '${String.fromCharCode(first)}'`)
    const length = parseLength(this.buf, this.pos + 1, cr, MAX_COMMAND_BYTES)
    if (length === undefined || length < 0) return this.fail("Protocol error: invalid bulk length")
    this.commandBytes += cr + 2 - this.pos + length + 2 + ARGUMENT_OVERHEAD_BYTES
    if (this.commandBytes > MAX_COMMAND_BYTES) return this.fail(COMMAND_TOO_LARGE)
    this.pos = cr + 2
    this.bulkLength = length
    return true
  }

  private readInline(): boolean {
    const newline = this.buf.indexOf(NEWLINE, this.pos)
    if (newline < 0) {
      if (this.buf.length - this.pos > MAX_LINE_BYTES) this.fail("Protocol error: too big inline request")
      return false
    }
    const end = newline > this.pos && this.buf[newline - 1] === CR ? newline - 1 : newline
    const argv = splitInline(this.buf.subarray(this.pos, end))
    this.pos = newline + 1
    if (argv === undefined) return this.fail("Protocol error: unbalanced quotes in request")
    if (argv.length > 0) this.onCommand(argv)
    return true
  }

  private fail(message: string): false {
    this.failed = true
    this.onProtocolError(message)
    return false
  }
}
