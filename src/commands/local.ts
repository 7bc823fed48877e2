/**
 * Commands a node answers on its own, without consensus: connection handshakes and
 * introspection (PING, ECHO, SELECT, COMMAND, CONFIG GET, CLIENT, HELLO, INFO).
 */
import { array, bulk, error, integer, NIL, OK, PONG, type Reply } from "../resp/Reply.js"
import { DB_OUT_OF_RANGE, latin1, NOT_AN_INTEGER, SYNTAX_ERROR, unknownSubcommand, wrongArity } from "./errors.js"
import { globMatch } from "./glob.js"
import { parseInt64 } from "./integers.js"
import { commandTable } from "./table.js"

export const REDIS_COMPAT_VERSION = "7.0.0"
export const RAFT_KV_VERSION = "0.1.0"
const startedAt = Date.now()

/** What a connection knows about itself and its node. */
export interface ConnectionContext {
  readonly clientId: number
  clientName: Buffer | null
  /** The node's client port (INFO server). */
  readonly port: number
  /** The node's "# Raft" INFO section, CRLF-separated lines. */
  readonly info: () => string
}

const text = (s: string) => bulk(Buffer.from(s, "latin1"))

/** Redis accepts client names of printable ASCII without spaces ('!'..'~'). */
const INVALID_CLIENT_NAME = error("ERR Client names cannot contain spaces, newlines or special characters.")
const isValidClientName = (name: Uint8Array): boolean => name.every((byte) => byte >= 0x21 && byte <= 0x7e)
const AUTH_WITHOUT_PASSWORD = error(
  "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
)
/**
 * AUTH as a redis-server without passwords answers it: its only user, "default", takes any
 * password (clients configured with `redis://default:secret@host` connect); any other is refused.
 */
const authenticate = (user: Uint8Array, _password: Uint8Array): Reply | undefined =>
  latin1(user) === "default" ? undefined : error("WRONGPASS invalid username-password pair or user is disabled.")
const auth = (argv: ReadonlyArray<Uint8Array>): Reply => {
  if (argv.length === 2) return AUTH_WITHOUT_PASSWORD
  if (argv.length > 3) return SYNTAX_ERROR
  return authenticate(argv[1], argv[2]) ?? OK
}

/** Parameters CONFIG GET reports, so redis-benchmark and friends learn what they ask. */
const configParameters: ReadonlyArray<readonly [string, string]> = [
  ["appendonly", "no"],
  ["databases", "1"],
  ["maxmemory", "0"],
  ["save", ""]
]

const serverInfo = (context: ConnectionContext): string =>
  [
    "# Server",
    `redis_version:${REDIS_COMPAT_VERSION}`,
    `raft_kv_version:${RAFT_KV_VERSION}`,
    "redis_mode:standalone",
    `process_id:${process.pid}`,
    `tcp_port:${context.port}`,
    `uptime_in_seconds:${Math.floor((Date.now() - startedAt) / 1000)}`
  ].join("\r\n")

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(2)}M`

/** Where the process's memory is, in Redis's field names plus Node's own breakdown. */
const memoryInfo = (): string => {
  const usage = process.memoryUsage()
  const used = usage.heapUsed + usage.external
  return [
    "# Memory",
    `used_memory:${used}`,
    `used_memory_human:${mib(used)}`,
    `used_memory_rss:${usage.rss}`,
    `used_memory_rss_human:${mib(usage.rss)}`,
    `node_heap_used:${usage.heapUsed}`,
    `node_heap_total:${usage.heapTotal}`,
    `node_external:${usage.external}`,
    `node_array_buffers:${usage.arrayBuffers}`
  ].join("\r\n")
}

const info = (argv: ReadonlyArray<Uint8Array>, context: ConnectionContext): Reply => {
  const wanted = new Set(argv.slice(1).map((arg) => latin1(arg).toLowerCase()))
  const all = wanted.size === 0 || wanted.has("all") || wanted.has("default") || wanted.has("everything")
  const sections: Array<string> = []
  if (all || wanted.has("server")) sections.push(serverInfo(context))
  if (all || wanted.has("memory")) sections.push(memoryInfo())
  if (all || wanted.has("raft")) sections.push(context.info())
  return text(sections.length === 0 ? "" : `${sections.join("\r\n\r\n")}\r\n`)
}

const hello = (argv: ReadonlyArray<Uint8Array>, context: ConnectionContext): Reply => {
  if (argv.length >= 2) {
    const version = parseInt64(argv[1])
    if (version === undefined) return error("ERR Protocol version is not an integer or out of range")
    if (version !== 2n) return error("NOPROTO unsupported protocol version")
  }
  // Every option is checked before any takes effect, as redis-server does.
  let name: Uint8Array | undefined
  for (let i = 2; i < argv.length; i++) {
    const option = latin1(argv[i]).toUpperCase()
    if (option === "SETNAME" && i + 1 < argv.length) {
      name = argv[++i]
      if (!isValidClientName(name)) return INVALID_CLIENT_NAME
    } else if (option === "AUTH" && i + 2 < argv.length) {
      const refused = authenticate(argv[i + 1], argv[i + 2])
      if (refused !== undefined) return refused
      i += 2
    } else return error(`ERR Syntax error in HELLO option '${latin1(argv[i])}'`)
  }
  if (name !== undefined) context.clientName = name.length === 0 ? null : Buffer.from(name)
  return array([
    text("server"), text("redis"),
    text("version"), text(REDIS_COMPAT_VERSION),
    text("proto"), integer(2),
    text("id"), integer(context.clientId),
    text("mode"), text("standalone"),
    text("role"), text("master"),
    text("modules"), array([])
  ])
}

const client = (argv: ReadonlyArray<Uint8Array>, context: ConnectionContext): Reply => {
  const sub = latin1(argv[1]).toUpperCase()
  switch (sub) {
    case "SETNAME":
      if (argv.length !== 3) return wrongArity("client|setname")
      if (!isValidClientName(argv[2])) return INVALID_CLIENT_NAME
      context.clientName = argv[2].length === 0 ? null : Buffer.from(argv[2])
      return OK
    case "GETNAME":
      return argv.length === 2 ? bulk(context.clientName) : wrongArity("client|getname")
    case "ID":
      return argv.length === 2 ? integer(context.clientId) : wrongArity("client|id")
    case "SETINFO":
      return argv.length === 4 ? OK : wrongArity("client|setinfo")
    case "INFO":
      return text(`id=${context.clientId} name=${context.clientName?.toString("latin1") ?? ""} db=0\n`)
    default:
      return unknownSubcommand(argv[1], "CLIENT")
  }
}

const config = (argv: ReadonlyArray<Uint8Array>): Reply => {
  const sub = latin1(argv[1]).toUpperCase()
  if (sub === "GET") {
    if (argv.length < 3) return wrongArity("config|get")
    const found: Array<Reply> = []
    for (const [name, value] of configParameters) {
      if (argv.slice(2).some((pattern) => globMatch(pattern, Buffer.from(name)))) found.push(text(name), text(value))
    }
    return array(found)
  }
  if (sub === "SET" || sub === "RESETSTAT" || sub === "REWRITE") {
    return error(`ERR CONFIG ${sub} is not supported by raft-kv: configure nodes with command-line flags`)
  }
  return unknownSubcommand(argv[1], "CONFIG")
}

const command = (argv: ReadonlyArray<Uint8Array>): Reply => {
  if (argv.length === 1) return array([])
  const sub = latin1(argv[1]).toUpperCase()
  switch (sub) {
    case "COUNT":
      return argv.length === 2 ? integer(commandTable.size) : wrongArity("command|count")
    case "DOCS":
      return array([])
    case "INFO":
      return array(argv.slice(2).map(() => NIL))
    default:
      return unknownSubcommand(argv[1], "COMMAND")
  }
}

/** Answer a local command; "quit" tells the connection to close after replying. */
export const runLocal = (name: string, argv: ReadonlyArray<Uint8Array>, context: ConnectionContext): Reply | "quit" => {
  switch (name) {
    case "ping":
      if (argv.length > 2) return wrongArity("ping")
      return argv.length === 2 ? bulk(argv[1]) : PONG
    case "echo":
      return bulk(argv[1])
    case "select": {
      const index = parseInt64(argv[1])
      if (index === undefined) return NOT_AN_INTEGER
      return index === 0n ? OK : DB_OUT_OF_RANGE
    }
    case "quit":
      return "quit"
    case "command":
      return command(argv)
    case "config":
      return config(argv)
    case "client":
      return client(argv, context)
    case "hello":
      return hello(argv, context)
    case "info":
      return info(argv, context)
    case "auth":
      return auth(argv)
    default:
      // Only the table's "local" commands reach here; a new one must be given a case above.
      return error(`ERR internal: no handler for local command '${name}'`)
  }
}
