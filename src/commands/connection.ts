/**
 * Connection commands, answered by the connection itself (redis-server 7's networking.c and
 * server.c): PING, ECHO, SELECT, QUIT, RESET, HELLO, AUTH and CLIENT with its subcommands.
 */
import { array, bulk, error, integer, map, OK, PONG, simple, text, verbatim, type Reply } from "../resp/Reply.js"
import { DB_OUT_OF_RANGE, INT32_OUT_OF_RANGE, latin1, NOT_AN_INTEGER, SYNTAX_ERROR, wrongArity } from "./errors.js"
import { parseInt32, parseInt64 } from "./integers.js"
import { READ_MODES, type ReadMode } from "../cli/readFlags.js"
import type { CommandSpec, LocalHandler } from "./registry.js"
import { authenticate, resetAuthentication } from "./access.js"
import { describeClient } from "./clientInfo.js"
import type { ClientSession, ClientState } from "./session.js"
import { discardTransaction } from "./transactions.js"

/** The redis-server whose replies raft-kv gives (HELLO, INFO): clients pick features by it. */
export const REDIS_COMPAT_VERSION = "7.0.15"

const INVALID_CLIENT_NAME = error("ERR Client names cannot contain spaces, newlines or special characters.")
/** Redis accepts client names of printable ASCII without spaces ('!'..'~'). */
const isValidName = (name: Uint8Array): boolean => name.every((byte) => byte >= 0x21 && byte <= 0x7e)

const AUTH_WITHOUT_PASSWORD = error(
  "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
)
const DEFAULT_USER = Buffer.from("default")
const HELLO_NOAUTH = error(
  "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
)

const local = (run: LocalHandler) => ({ kind: "local" as const, run })

const ping: LocalHandler = (session, argv) => {
  if (argv.length > 2) return wrongArity("ping")
  return argv.length === 2 ? bulk(argv[1]) : PONG
}

const select: LocalHandler = (session, argv) => {
  const index = parseInt32(argv[1])
  if (index === "not-integer") return NOT_AN_INTEGER
  if (index === "out-of-range") return INT32_OUT_OF_RANGE
  if (index < 0 || index >= 16) return DB_OUT_OF_RANGE
  session.client.db = index
  return OK
}

const helloReply = (session: ClientSession): Reply =>
  map([
    text("server"), text("redis"),
    text("version"), text(REDIS_COMPAT_VERSION),
    text("proto"), integer(session.client.protocol),
    text("id"), integer(session.client.id),
    text("mode"), text("cluster"),
    text("role"), text("master"),
    text("modules"), array([])
  ])

const hello: LocalHandler = (session, argv) => {
  let protocol: 2 | 3 | undefined
  if (argv.length >= 2) {
    const version = parseInt64(argv[1])
    if (version === undefined) return error("ERR Protocol version is not an integer or out of range")
    if (version !== 2n && version !== 3n) return error("NOPROTO unsupported protocol version")
    protocol = version === 3n ? 3 : 2
  }
  // Options take effect one by one, as redis-server 7.0 applies them: an error stops HELLO, but
  // what came before it (AUTH, SETNAME) stays done; the protocol switches only at the end.
  for (let i = 2; i < argv.length; i++) {
    const option = latin1(argv[i]).toUpperCase()
    if (option === "AUTH" && i + 2 < argv.length) {
      const refused = authenticate(session, argv[i + 1], argv[i + 2], latin1(argv[0]))
      if (refused !== undefined) return refused
      i += 2
    } else if (option === "SETNAME" && i + 1 < argv.length) {
      const name = argv[++i]
      if (!isValidName(name)) return INVALID_CLIENT_NAME
      session.client.name = name.length === 0 ? null : Buffer.from(name)
    } else return error(`ERR Syntax error in HELLO option '${latin1(argv[i])}'`)
  }
  if (!session.client.authenticated) return HELLO_NOAUTH
  if (protocol !== undefined) session.client.protocol = protocol
  return helloReply(session)
}

/** AUTH <password> (the default user) or AUTH <user> <password> (acl.c authCommand). */
const auth: LocalHandler = (session, argv) => {
  if (argv.length > 3) return SYNTAX_ERROR
  if (argv.length === 2) {
    if (session.server.acl.users.defaultUser.nopass) return AUTH_WITHOUT_PASSWORD
    return authenticate(session, DEFAULT_USER, argv[1], latin1(argv[0])) ?? OK
  }
  return authenticate(session, argv[1], argv[2], latin1(argv[0])) ?? OK
}

const reset: LocalHandler = (session) => {
  discardTransaction(session)
  const client = session.client
  client.db = 0
  client.protocol = 2
  client.name = null
  client.readMode = session.server.readMode
  resetAuthentication(session)
  return simple("RESET")
}

// ---------------------------------------------------------------- CLIENT

interface ClientFilter {
  readonly ids?: ReadonlySet<number>
  readonly address?: string
  readonly localAddress?: string
  readonly user?: string
  readonly type?: string
  readonly skipMe: boolean
}

const matches = (client: ClientState, filter: ClientFilter, self: ClientState): boolean =>
  (filter.ids === undefined || filter.ids.has(client.id)) &&
  (filter.address === undefined || client.address === filter.address) &&
  (filter.localAddress === undefined || client.localAddress === filter.localAddress) &&
  (filter.user === undefined || client.user.name === filter.user) &&
  (filter.type === undefined || filter.type === "normal") &&
  !(filter.skipMe && client === self)

const CLIENT_TYPES = new Set(["normal", "master", "replica", "slave", "pubsub"])

const clientList: LocalHandler = (session, argv) => {
  let ids: Set<number> | undefined
  let type: string | undefined
  if (argv.length > 2) {
    const option = latin1(argv[2]).toLowerCase()
    if (option === "type" && argv.length === 4) {
      type = latin1(argv[3]).toLowerCase()
      if (!CLIENT_TYPES.has(type)) return error(`ERR Unknown client type '${latin1(argv[3])}'`)
    } else if (option === "id" && argv.length >= 4) {
      ids = new Set()
      for (const arg of argv.slice(3)) {
        const id = parseInt64(arg)
        if (id === undefined || id <= 0n) return error("ERR Invalid client ID")
        ids.add(Number(id))
      }
    } else return SYNTAX_ERROR
  }
  const now = Date.now()
  const lines: Array<string> = []
  for (const client of session.server.clients()) {
    if (matches(client, { ...(ids !== undefined ? { ids } : {}), ...(type !== undefined ? { type } : {}), skipMe: false }, session.client)) {
      lines.push(`${describeClient(client, now)}\n`)
    }
  }
  return verbatim(lines.join(""))
}

const clientKill: LocalHandler = (session, argv) => {
  // The old form: CLIENT KILL addr:port.
  if (argv.length === 3) {
    const address = latin1(argv[2])
    for (const client of session.server.clients()) {
      if (client.address === address) {
        client.kill()
        return OK
      }
    }
    return error("ERR No such client")
  }
  const filter: { ids?: Set<number>; address?: string; localAddress?: string; user?: string; type?: string; skipMe: boolean } = { skipMe: true }
  if (argv.length % 2 !== 0) return SYNTAX_ERROR
  for (let i = 2; i + 1 < argv.length; i += 2) {
    const option = latin1(argv[i]).toLowerCase()
    const value = latin1(argv[i + 1])
    switch (option) {
      case "id": {
        const id = parseInt64(argv[i + 1])
        if (id === undefined || id <= 0n) return error("ERR client-id should be greater than 0")
        filter.ids = new Set([Number(id)])
        break
      }
      case "addr":
        filter.address = value
        break
      case "laddr":
        filter.localAddress = value
        break
      case "user":
        if (session.server.acl.users.get(value) === undefined) return error(`ERR No such user '${value}'`)
        filter.user = value
        break
      case "type":
        if (!CLIENT_TYPES.has(value.toLowerCase())) return error(`ERR Unknown client type '${value}'`)
        filter.type = value.toLowerCase()
        break
      case "skipme":
        if (value.toLowerCase() === "yes") filter.skipMe = true
        else if (value.toLowerCase() === "no") filter.skipMe = false
        else return SYNTAX_ERROR
        break
      default:
        return SYNTAX_ERROR
    }
  }
  let killed = 0
  for (const client of [...session.server.clients()]) {
    if (matches(client, filter, session.client)) {
      client.kill()
      killed++
    }
  }
  return integer(killed)
}

/**
 * CLIENT UNBLOCK id [TIMEOUT|ERROR] (networking.c): a client of this node waiting in a blocking
 * command is answered as if its timeout passed (null) or with -UNBLOCKED; 1 if it was waiting, else
 * 0. A pop of it already in the log decides first: an element it takes is delivered, never lost.
 */
const clientUnblock: LocalHandler = (session, argv) => {
  if (argv.length > 4) return SYNTAX_ERROR
  const id = parseInt64(argv[2])
  if (id === undefined) return NOT_AN_INTEGER
  let reply: Reply | undefined
  if (argv.length === 4) {
    const reason = latin1(argv[3]).toLowerCase()
    if (reason === "error") reply = error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    else if (reason !== "timeout") return error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
  }
  for (const client of session.server.clients()) {
    if (BigInt(client.id) === id) return integer(client.unblock?.(reply) === true ? 1 : 0)
  }
  return integer(0)
}

const clientSetinfo: LocalHandler = (session, argv) => {
  const attribute = latin1(argv[2]).toLowerCase()
  const value = argv[3]
  if (attribute !== "lib-name" && attribute !== "lib-ver") return error(`ERR Unrecognized option '${latin1(argv[2])}'`)
  if (!value.every((byte) => byte > 0x20 && byte <= 0x7e)) {
    return error(`ERR ${attribute} cannot contain spaces, newlines or special characters.`)
  }
  if (attribute === "lib-name") session.client.libName = latin1(value)
  else session.client.libVersion = latin1(value)
  return OK
}

const onOff = (argv: ReadonlyArray<Uint8Array>): Reply => {
  const value = latin1(argv[2]).toLowerCase()
  return value === "on" || value === "off" ? OK : SYNTAX_ERROR
}

const sub = (name: string, arity: number, run: LocalHandler, summary: string, flags: CommandSpec["flags"] = []): CommandSpec => ({
  name: `client|${name}`,
  arity,
  flags: ["noscript", "loading", "stale", ...flags],
  group: "connection",
  summary,
  since: "2.4.0",
  route: local(run)
})

const clientSubcommands: ReadonlyArray<CommandSpec> = [
  sub("id", 2, (session) => integer(session.client.id), "Returns the client ID for the current connection"),
  sub("getname", 2, (session) => bulk(session.client.name), "Get the current connection name"),
  sub("setname", 3, (session, argv) => {
    if (!isValidName(argv[2])) return INVALID_CLIENT_NAME
    session.client.name = argv[2].length === 0 ? null : Buffer.from(argv[2])
    return OK
  }, "Set the current connection name"),
  sub("setinfo", 4, clientSetinfo, "Set client or connection specific info"),
  sub("info", 2, (session) => verbatim(`${describeClient(session.client, Date.now())}\n`), "Returns information about the current client connection."),
  sub("list", -2, clientList, "Get the list of client connections", ["admin"]),
  sub("kill", -3, clientKill, "Kill the connection of a client", ["admin"]),
  sub("unblock", -3, clientUnblock, "Unblock a client blocked in a blocking command from a different connection", ["admin"]),
  sub("no-evict", 3, (_session, argv) => onOff(argv), "Set client eviction mode for the current connection", ["admin"]),
  sub("no-touch", 3, (_session, argv) => onOff(argv), "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access."),
  sub("reply", 3, (_session, argv) => {
    const mode = latin1(argv[2]).toLowerCase()
    if (mode === "on") return OK
    return mode === "off" || mode === "skip" ? error("ERR CLIENT REPLY OFF|SKIP is not supported by raft-kv") : SYNTAX_ERROR
  }, "Instruct the server whether to reply to commands"),
  sub("readmode", -2, (session, argv) => {
    if (argv.length === 2) return text(session.client.readMode)
    if (argv.length > 3) return wrongArity("client|readmode")
    const mode = latin1(argv[2]).toLowerCase()
    if (!READ_MODES.includes(mode as ReadMode)) return error("ERR READMODE must be linearizable, lease or stale")
    session.client.readMode = mode as ReadMode
    return OK
  }, "raft-kv: how this connection's reads are served (linearizable, lease or stale), or the current mode"),
  sub("getredir", 2, () => integer(-1), "Get tracking notifications redirection client ID if any"),
  sub("help", 2, () => array(["CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "ID", "GETNAME", "SETNAME <name>", "SETINFO <option> <value>", "INFO", "LIST [TYPE <type>|ID <id> ...]", "KILL <ip:port>|<filter> <value> ...", "UNBLOCK <clientid> [TIMEOUT|ERROR]", "NO-EVICT (ON|OFF)", "NO-TOUCH (ON|OFF)", "REPLY ON", "READMODE [LINEARIZABLE|LEASE|STALE]", "GETREDIR", "HELP"].map((line) => simple(line))), "Show helpful text about the different subcommands")
]

export const connectionCommands: ReadonlyArray<CommandSpec> = [
  { name: "ping", arity: -1, flags: ["fast"], group: "connection", summary: "Ping the server", since: "1.0.0", complexity: "O(1)", route: local(ping) },
  { name: "echo", arity: 2, flags: ["fast"], group: "connection", summary: "Echo the given string", since: "1.0.0", complexity: "O(1)", route: local((_session, argv) => bulk(argv[1])) },
  { name: "select", arity: 2, flags: ["loading", "stale", "fast"], group: "connection", summary: "Change the selected database for the current connection", since: "1.0.0", complexity: "O(1)", route: local(select) },
  { name: "quit", arity: -1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], group: "connection", summary: "Close the connection", since: "1.0.0", complexity: "O(1)", route: local((session) => { session.closeAfterReply(); return OK }) },
  { name: "reset", arity: 1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], group: "connection", summary: "Reset the connection", since: "6.2.0", complexity: "O(1)", route: local(reset) },
  { name: "hello", arity: -1, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], group: "connection", summary: "Handshake with Redis", since: "6.0.0", complexity: "O(1)", route: local(hello) },
  { name: "auth", arity: -2, flags: ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], group: "connection", summary: "Authenticate to the server", since: "1.0.0", complexity: "O(N) where N is the number of passwords defined for the user", route: local(auth) },
  { name: "client", arity: -2, flags: [], group: "connection", summary: "A container for client connection commands", since: "2.4.0", subcommands: clientSubcommands }
]
