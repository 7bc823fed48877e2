/**
 * The bytes of a state-machine entry in the Raft log: which node proposed it and its sequence
 * number there (so that node can answer the waiting client when it applies), the time the leader
 * appended it (every node evaluates expiry against this same instant), then the payload:
 *
 *   u16 origin | f64 seq | f64 time | u8 kind | payload
 *   command      u8 db | argv
 *   transaction  f64 session | u32 count | count × (u8 db | argv)     (MULTI ... EXEC as one entry)
 *   watch        f64 session | u8 db | argv (the keys)
 *   unwatch      f64 session
 *   expire       u32 count | count × (u32 physical db | f64 expireAt | u32 length | key)
 *   collect      u8 target (0 collection version, 1 physical db) | f64 id | u32 limit
 *   announce     u16 node | u32 length | address ("host:port" where the node serves clients)
 *   argv = u32 argc | argc × (u32 length | bytes)
 *
 * `expire` and `collect` come from the leader's reaper: keys whose time has come and members of
 * deleted collections or flushed databases, removed in bounded slices through the log so every
 * node removes the same ones.
 */
export type Argv = ReadonlyArray<Uint8Array>

export interface QueuedCommand {
  readonly db: number
  readonly argv: Argv
}

export interface ExpiringKey {
  /** Physical database id (layout.ts). */
  readonly db: number
  readonly key: Uint8Array
  readonly expireAt: number
}

export type Payload =
  | { readonly kind: "command"; readonly db: number; readonly argv: Argv }
  /** `session` 0: no WATCH. */
  | { readonly kind: "transaction"; readonly session: number; readonly commands: ReadonlyArray<QueuedCommand> }
  | { readonly kind: "watch"; readonly session: number; readonly db: number; readonly keys: Argv }
  | { readonly kind: "unwatch"; readonly session: number }
  | { readonly kind: "expire"; readonly keys: ReadonlyArray<ExpiringKey> }
  | { readonly kind: "collect"; readonly target: "version" | "db"; readonly id: number; readonly limit: number }
  /** A node tells the cluster where it serves clients (INFO replication, CLUSTER, ROLE). */
  | { readonly kind: "announce"; readonly node: number; readonly address: string }

export interface LoggedCommand {
  readonly origin: number
  readonly seq: number
  /** Epoch ms stamped by the leader when it appended the entry (0 until then). */
  readonly time: number
  readonly payload: Payload
}

const KIND = { command: 0, transaction: 1, watch: 2, unwatch: 3, expire: 4, collect: 5, announce: 6 } as const
const HEADER = 2 + 8 + 8 + 1
/** Where the leader writes the append time into an entry. */
export const TIME_OFFSET = 10

const argvSize = (argv: Argv): number => {
  let size = 4
  for (const arg of argv) size += 4 + arg.length
  return size
}

class Writer {
  offset: number
  constructor(
    readonly out: Buffer,
    offset: number
  ) {
    this.offset = offset
  }
  u8(value: number) {
    this.out[this.offset++] = value
  }
  u32(value: number) {
    this.out.writeUInt32BE(value, this.offset)
    this.offset += 4
  }
  f64(value: number) {
    this.out.writeDoubleBE(value, this.offset)
    this.offset += 8
  }
  bytes(value: Uint8Array) {
    this.out.set(value, this.offset)
    this.offset += value.length
  }
  argv(argv: Argv) {
    this.u32(argv.length)
    for (const arg of argv) {
      this.u32(arg.length)
      this.bytes(arg)
    }
  }
}

const payloadSize = (payload: Payload): number => {
  switch (payload.kind) {
    case "command":
      return 1 + argvSize(payload.argv)
    case "transaction": {
      let size = 8 + 4
      for (const command of payload.commands) size += 1 + argvSize(command.argv)
      return size
    }
    case "watch":
      return 8 + 1 + argvSize(payload.keys)
    case "unwatch":
      return 8
    case "expire": {
      let size = 4
      for (const key of payload.keys) size += 4 + 8 + 4 + key.key.length
      return size
    }
    case "collect":
      return 1 + 8 + 4
    case "announce":
      return 2 + 4 + Buffer.byteLength(payload.address, "latin1")
  }
}

export const encodeCommand = (command: { readonly origin: number; readonly seq: number; readonly time?: number; readonly payload: Payload }): Buffer => {
  const { payload } = command
  const writer = new Writer(Buffer.allocUnsafe(HEADER + payloadSize(payload)), 0)
  writer.out.writeUInt16BE(command.origin, 0)
  writer.out.writeDoubleBE(command.seq, 2)
  writer.out.writeDoubleBE(command.time ?? 0, TIME_OFFSET)
  writer.out[18] = KIND[payload.kind]
  writer.offset = HEADER
  switch (payload.kind) {
    case "command":
      writer.u8(payload.db)
      writer.argv(payload.argv)
      break
    case "transaction":
      writer.f64(payload.session)
      writer.u32(payload.commands.length)
      for (const queued of payload.commands) {
        writer.u8(queued.db)
        writer.argv(queued.argv)
      }
      break
    case "watch":
      writer.f64(payload.session)
      writer.u8(payload.db)
      writer.argv(payload.keys)
      break
    case "unwatch":
      writer.f64(payload.session)
      break
    case "expire":
      writer.u32(payload.keys.length)
      for (const key of payload.keys) {
        writer.u32(key.db)
        writer.f64(key.expireAt)
        writer.u32(key.key.length)
        writer.bytes(key.key)
      }
      break
    case "collect":
      writer.u8(payload.target === "version" ? 0 : 1)
      writer.f64(payload.id)
      writer.u32(payload.limit)
      break
    case "announce": {
      writer.out.writeUInt16BE(payload.node, writer.offset)
      writer.offset += 2
      const address = Buffer.from(payload.address, "latin1")
      writer.u32(address.length)
      writer.bytes(address)
      break
    }
  }
  return writer.out
}

/** Record the leader's append time in an entry (in place: the entry is not yet in any log). */
export const stampTime = (data: Uint8Array, time: number): void => {
  if (data.length < HEADER) return
  Buffer.from(data.buffer, data.byteOffset, data.length).writeDoubleBE(time, TIME_OFFSET)
}

class Reader {
  offset = HEADER
  constructor(readonly view: Buffer) {}
  get remaining() {
    return this.view.length - this.offset
  }
  u8(): number | undefined {
    return this.remaining >= 1 ? this.view[this.offset++] : undefined
  }
  u32(): number | undefined {
    if (this.remaining < 4) return undefined
    const value = this.view.readUInt32BE(this.offset)
    this.offset += 4
    return value
  }
  f64(): number | undefined {
    if (this.remaining < 8) return undefined
    const value = this.view.readDoubleBE(this.offset)
    this.offset += 8
    return value
  }
  bytes(length: number): Buffer | undefined {
    if (this.remaining < length) return undefined
    const value = this.view.subarray(this.offset, this.offset + length)
    this.offset += length
    return value
  }
  argv(): Array<Uint8Array> | undefined {
    const argc = this.u32()
    // Each argument takes at least its 4-byte length: bound argc before allocating.
    if (argc === undefined || argc > this.remaining / 4) return undefined
    const argv: Array<Uint8Array> = new Array(argc)
    for (let i = 0; i < argc; i++) {
      const length = this.u32()
      if (length === undefined) return undefined
      const arg = this.bytes(length)
      if (arg === undefined) return undefined
      argv[i] = arg
    }
    return argv
  }
}

const isSession = (value: number | undefined): value is number => value !== undefined && Number.isSafeInteger(value) && value >= 0

const decodePayload = (kind: number, reader: Reader): Payload | undefined => {
  switch (kind) {
    case KIND.command: {
      const db = reader.u8()
      const argv = reader.argv()
      return db === undefined || argv === undefined || argv.length === 0 ? undefined : { kind: "command", db, argv }
    }
    case KIND.transaction: {
      const session = reader.f64()
      const count = reader.u32()
      if (!isSession(session) || count === undefined || count > reader.remaining / 5) return undefined
      const commands: Array<QueuedCommand> = []
      for (let i = 0; i < count; i++) {
        const db = reader.u8()
        const argv = reader.argv()
        if (db === undefined || argv === undefined || argv.length === 0) return undefined
        commands.push({ db, argv })
      }
      return { kind: "transaction", session, commands }
    }
    case KIND.watch: {
      const session = reader.f64()
      const db = reader.u8()
      const keys = reader.argv()
      return !isSession(session) || db === undefined || keys === undefined ? undefined : { kind: "watch", session, db, keys }
    }
    case KIND.unwatch: {
      const session = reader.f64()
      return isSession(session) ? { kind: "unwatch", session } : undefined
    }
    case KIND.expire: {
      const count = reader.u32()
      if (count === undefined || count > reader.remaining / 16) return undefined
      const keys: Array<ExpiringKey> = []
      for (let i = 0; i < count; i++) {
        const db = reader.u32()
        const expireAt = reader.f64()
        const length = reader.u32()
        const key = length === undefined ? undefined : reader.bytes(length)
        if (db === undefined || expireAt === undefined || key === undefined) return undefined
        keys.push({ db, expireAt, key })
      }
      return { kind: "expire", keys }
    }
    case KIND.collect: {
      const target = reader.u8()
      const id = reader.f64()
      const limit = reader.u32()
      // A slice of nothing would have no last member to resume after.
      if ((target !== 0 && target !== 1) || !isSession(id) || limit === undefined || limit === 0) return undefined
      return { kind: "collect", target: target === 0 ? "version" : "db", id, limit }
    }
    case KIND.announce: {
      if (reader.remaining < 2) return undefined
      const node = reader.view.readUInt16BE(reader.offset)
      reader.offset += 2
      const length = reader.u32()
      const address = length === undefined ? undefined : reader.bytes(length)
      return address === undefined ? undefined : { kind: "announce", node, address: address.toString("latin1") }
    }
    default:
      return undefined
  }
}

/** Decode and validate; undefined for anything malformed. Arguments are views into `data`. */
export const decodeCommand = (data: Uint8Array): LoggedCommand | undefined => {
  if (data.length < HEADER) return undefined
  const view = Buffer.from(data.buffer, data.byteOffset, data.length)
  const origin = view.readUInt16BE(0)
  const seq = view.readDoubleBE(2)
  const time = view.readDoubleBE(TIME_OFFSET)
  if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isFinite(time)) return undefined
  const reader = new Reader(view)
  const payload = decodePayload(view[18], reader)
  return payload !== undefined && reader.remaining === 0 ? { origin, seq, time, payload } : undefined
}

/** Just the origin node and sequence number of a Normal entry, without decoding the payload. */
export const commandOrigin = (entry: { readonly kind: number; readonly data: Uint8Array }) => {
  if (entry.kind !== 0 || entry.data.length < HEADER) return undefined
  const view = Buffer.from(entry.data.buffer, entry.data.byteOffset, HEADER)
  return { node: view.readUInt16BE(0), seq: view.readDoubleBE(2) }
}
