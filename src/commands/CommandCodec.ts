/**
 * The bytes of a client command inside a log entry: which node proposed it and its sequence
 * number there (so that node can answer the waiting client when the entry applies), then argv.
 *
 *   u16 origin | f64 seq | u32 argc | argc × (u32 length | bytes)
 */
export interface LoggedCommand {
  readonly origin: number
  readonly seq: number
  readonly argv: ReadonlyArray<Uint8Array>
}

const HEADER = 2 + 8 + 4

export const encodeCommand = (command: LoggedCommand): Uint8Array => {
  let size = HEADER
  for (const arg of command.argv) size += 4 + arg.length
  const out = Buffer.allocUnsafe(size)
  out.writeUInt16BE(command.origin, 0)
  out.writeDoubleBE(command.seq, 2)
  out.writeUInt32BE(command.argv.length, 10)
  let offset = HEADER
  for (const arg of command.argv) {
    out.writeUInt32BE(arg.length, offset)
    out.set(arg, offset + 4)
    offset += 4 + arg.length
  }
  return out
}

/** Decode and validate; undefined for anything malformed. Arguments are views into `data`. */
export const decodeCommand = (data: Uint8Array): LoggedCommand | undefined => {
  if (data.length < HEADER) return undefined
  const view = Buffer.from(data.buffer, data.byteOffset, data.length)
  const origin = view.readUInt16BE(0)
  const seq = view.readDoubleBE(2)
  const argc = view.readUInt32BE(10)
  if (!Number.isSafeInteger(seq) || seq < 0 || argc > (data.length - HEADER) / 4) return undefined
  const argv: Array<Uint8Array> = new Array(argc)
  let offset = HEADER
  for (let i = 0; i < argc; i++) {
    if (offset + 4 > data.length) return undefined
    const length = view.readUInt32BE(offset)
    offset += 4
    if (offset + length > data.length) return undefined
    argv[i] = view.subarray(offset, offset + length)
    offset += length
  }
  return offset === data.length ? { origin, seq, argv } : undefined
}

/** Just the origin node and sequence number of a Normal entry, without decoding argv. */
export const commandOrigin = (entry: { readonly kind: number; readonly data: Uint8Array }) => {
  if (entry.kind !== 0 || entry.data.length < HEADER) return undefined
  const view = Buffer.from(entry.data.buffer, entry.data.byteOffset, HEADER)
  return { node: view.readUInt16BE(0), seq: view.readDoubleBE(2) }
}
