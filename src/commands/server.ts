/**
 * Server commands answered by the connection: INFO, COMMAND (derived from the command table),
 * CONFIG, TIME, SAVE, BGSAVE, LASTSAVE.
 */
import { array, bulk, error, integer, map, NIL, OK, set, simple, text, verbatim, type Reply } from "../resp/Reply.js"
import { latin1, SYNTAX_ERROR, unknownSubcommand, wrongArity } from "./errors.js"
import { globMatch } from "./glob.js"
import { parseInt64 } from "./integers.js"
import { arityMatches, categoriesOf, isWrite, keyPositions, type CommandSpec, type LocalHandler } from "./registry.js"
import type { ClientSession } from "./session.js"
import { commandName, commandTable, lookupCommand } from "./table.js"

const local = (run: LocalHandler) => ({ kind: "local" as const, run })

// ---------------------------------------------------------------- INFO

const info: LocalHandler = (session, argv) => {
  const server = session.server
  const wanted = argv.slice(1).map((arg) => latin1(arg).toLowerCase())
  const every = wanted.length === 0 || wanted.some((name) => name === "all" || name === "default" || name === "everything")
  const names = every ? server.infoSections : server.infoSections.filter((name) => wanted.includes(name))
  const sections = names.map((name) => server.infoSection(name)).filter((section): section is string => section !== undefined)
  return verbatim(sections.length === 0 ? "" : `${sections.join("\r\n\r\n")}\r\n`)
}

// ---------------------------------------------------------------- COMMAND

const keySpec = (spec: CommandSpec): ReadonlyArray<Reply> => {
  const keys = spec.keys
  if (keys === undefined || keys.first === 0) return []
  const lastkey = keys.last >= 0 ? keys.last - keys.first : keys.last
  const flags = isWrite(spec) ? (spec.name === "del" || spec.name === "unlink" ? ["RM", "delete"] : ["RW", "update"]) : ["RO", "access"]
  return [
    map([
      text("flags"), set(flags.map((flag) => simple(flag))),
      text("begin_search"), map([text("type"), text("index"), text("spec"), map([text("index"), integer(keys.first)])]),
      text("find_keys"), map([text("type"), text("range"), text("spec"), map([text("lastkey"), integer(lastkey), text("keystep"), integer(keys.step), text("limit"), integer(0)])])
    ])
  ]
}

/** COMMAND INFO's ten fields (Redis 7: name, arity, flags, first/last/step, ACL categories, tips, key specs, subcommands). */
export const commandInfo = (spec: CommandSpec): Reply => {
  const keys = spec.keys ?? { first: 0, last: 0, step: 0 }
  const flags = spec.keysOf !== undefined && !spec.flags.includes("movablekeys") ? [...spec.flags, "movablekeys"] : spec.flags
  return array([
    text(spec.name),
    integer(spec.arity),
    set(flags.map((flag) => simple(flag))),
    integer(keys.first),
    integer(keys.last),
    integer(keys.step),
    set(categoriesOf(spec).map((category) => simple(`@${category}`))),
    array([]),
    array(keySpec(spec)),
    array((spec.subcommands ?? []).map(commandInfo))
  ])
}

/** COMMAND DOCS's group, as Redis spells it ("sorted-set"). */
const docsGroup = (spec: CommandSpec): string => spec.group.replace("_", "-")

const commandDocs = (spec: CommandSpec): Reply => {
  const fields: Array<Reply> = [text("summary"), text(spec.summary), text("since"), text(spec.since), text("group"), text(docsGroup(spec))]
  if (spec.complexity !== undefined) fields.push(text("complexity"), text(spec.complexity))
  if (spec.subcommands !== undefined && spec.subcommands.length > 0) {
    fields.push(text("subcommands"), map(spec.subcommands.flatMap((sub) => [text(sub.name), commandDocs(sub)])))
  }
  return map(fields)
}

const allCommands = (): ReadonlyArray<CommandSpec> => [...commandTable.values()]

/** C's atoi as glibc has it (strtol, clamped to 64 bits, then cut to an int): Redis's genericGetKeys reads numkeys so. */
const atoi = (bytes: Uint8Array): number => {
  const match = /^[ \t\n\v\f\r]*([+-]?)([0-9]*)/.exec(latin1(bytes))!
  if (match[2] === "") return 0
  let value = BigInt(match[2])
  if (match[1] === "-") value = -value
  const clamped = value > INT64_MAX ? INT64_MAX : value < INT64_MIN ? INT64_MIN : value
  return Number(BigInt.asIntN(32, clamped))
}
const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)

/**
 * Redis 7.0's keys of a numkeys command: its key specs (the destination, then numkeys keys) when
 * numkeys is an integer that fits the arguments; otherwise its getkeys function, which reads
 * numkeys with atoi and lists the keys before the destination. Empty: invalid arguments.
 */
const keynumPositions = (keynum: NonNullable<CommandSpec["keynum"]>, argv: ReadonlyArray<Uint8Array>): Array<number> => {
  const first = keynum.numkeysAt + 1
  const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)
  const numkeys = parseInt64(argv[keynum.numkeysAt])
  if (numkeys !== undefined && numkeys >= 0n) {
    const last = first + Number(BigInt.asIntN(32, numkeys)) - 1
    if (last < argv.length && last >= first) return [...(keynum.store !== undefined ? [keynum.store] : []), ...range(first, last - first + 1)]
  }
  const count = atoi(argv[keynum.numkeysAt])
  if (count < 1 || count > argv.length - first) return []
  return [...range(first, count), ...(keynum.store !== undefined ? [keynum.store] : [])]
}

const commandGetkeys = (argv: ReadonlyArray<Uint8Array>): Reply => {
  const target = argv.slice(2)
  const spec = lookupCommand(target)
  if (spec === undefined) return error("ERR Invalid command specified")
  if (spec.keynum === undefined && spec.keysOf === undefined && (spec.keys === undefined || spec.keys.first === 0)) return error("ERR The command has no key arguments")
  if (!arityMatches(spec, target.length)) return error("ERR Invalid number of arguments specified for command")
  const positions = spec.keynum !== undefined ? keynumPositions(spec.keynum, target) : keyPositions(spec, target)
  if (positions.length === 0) return error("ERR Invalid arguments specified for command")
  return array(positions.map((position) => bulk(target[position])))
}

const commandList = (argv: ReadonlyArray<Uint8Array>): Reply => {
  const names = allCommands().flatMap((spec) => [spec, ...(spec.subcommands ?? [])])
  if (argv.length === 2) return array(names.map((spec) => text(spec.name)))
  if (argv.length !== 5 || latin1(argv[2]).toUpperCase() !== "FILTERBY") return SYNTAX_ERROR
  const filter = latin1(argv[3]).toUpperCase()
  const value = argv[4]
  switch (filter) {
    case "MODULE":
      return array([])
    case "ACLCAT": {
      const category = latin1(value).toLowerCase()
      return array(names.filter((spec) => categoriesOf(spec).includes(category)).map((spec) => text(spec.name)))
    }
    case "PATTERN":
      return array(names.filter((spec) => globMatch(value, Buffer.from(spec.name))).map((spec) => text(spec.name)))
    default:
      return SYNTAX_ERROR
  }
}

const commandSub = (name: string, arity: number, run: LocalHandler, summary: string): CommandSpec => ({
  name: `command|${name}`,
  arity,
  flags: ["loading", "stale"],
  group: "server",
  summary,
  since: "2.8.13",
  route: local(run)
})

const commandSubcommands: ReadonlyArray<CommandSpec> = [
  commandSub("count", 2, () => integer(commandTable.size), "Get total number of Redis commands"),
  commandSub("info", -2, (_session, argv) => {
    if (argv.length === 2) return array(allCommands().map(commandInfo))
    return array(argv.slice(2).map((name) => {
      const spec = lookupCommand([name])
      return spec === undefined ? NIL : commandInfo(spec)
    }))
  }, "Get array of specific Redis command details, or all when no argument is given."),
  commandSub("docs", -2, (_session, argv) => {
    const specs = argv.length === 2 ? allCommands() : argv.slice(2).map((name) => commandTable.get(commandName(name))).filter((spec): spec is CommandSpec => spec !== undefined)
    return map(specs.flatMap((spec) => [text(spec.name), commandDocs(spec)]))
  }, "Get array of specific Redis command documentation"),
  commandSub("list", -2, (_session, argv) => commandList(argv), "Get an array of Redis command names"),
  commandSub("getkeys", -4, (_session, argv) => commandGetkeys(argv), "Extract keys given a full Redis command"),
  commandSub("help", 2, () => array(["COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "(no subcommand)", "COUNT", "INFO [<command-name> ...]", "DOCS [<command-name> ...]", "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]", "GETKEYS <full-command>", "HELP"].map((line) => simple(line))), "Show helpful text about the different subcommands")
]

// ---------------------------------------------------------------- CONFIG

/** Parameters CONFIG GET reports, so redis-benchmark, redis-cli and client libraries learn what they ask. */
const configParameters = (session: ClientSession): ReadonlyArray<readonly [string, string]> => [
  ["appendonly", "no"],
  ["cluster-enabled", "yes"],
  ["databases", "16"],
  ["maxclients", String(session.server.maxClients)],
  ["maxmemory", "0"],
  ["maxmemory-policy", "noeviction"],
  ["port", String(session.server.port)],
  ["proto-max-bulk-len", String(32 * 1024 * 1024)],
  ["save", ""],
  ["timeout", "0"]
]

const configSubcommands: ReadonlyArray<CommandSpec> = [
  {
    name: "config|get", arity: -3, flags: ["admin", "noscript", "loading", "stale"], group: "server", summary: "Get the values of configuration parameters", since: "2.0.0",
    // As config.c: a name without glob characters is looked up case-insensitively and echoed as
    // given; a pattern matches names case-insensitively; each parameter is listed once.
    route: local((session, argv) => {
      const parameters = configParameters(session)
      const found: Array<Reply> = []
      const listed = new Set<string>()
      for (const requested of argv.slice(2)) {
        const name = latin1(requested)
        if (!/[[*?]/.test(name)) {
          const parameter = parameters.find(([candidate]) => candidate === name.toLowerCase())
          if (parameter !== undefined && !listed.has(parameter[0])) {
            listed.add(parameter[0])
            found.push(text(name), text(parameter[1]))
          }
          continue
        }
        for (const [candidate, value] of parameters) {
          if (!listed.has(candidate) && globMatch(requested, Buffer.from(candidate), true)) {
            listed.add(candidate)
            found.push(text(candidate), text(value))
          }
        }
      }
      return map(found)
    })
  },
  {
    name: "config|set", arity: -4, flags: ["admin", "noscript", "loading", "stale"], group: "server", summary: "Set configuration parameters to the given values", since: "2.0.0",
    route: local(() => error("ERR CONFIG SET is not supported by raft-kv: configure nodes with command-line flags"))
  },
  {
    name: "config|resetstat", arity: 2, flags: ["admin", "noscript", "loading", "stale"], group: "server", summary: "Reset the stats returned by INFO", since: "2.0.0",
    route: local(() => OK)
  },
  {
    name: "config|rewrite", arity: 2, flags: ["admin", "noscript", "loading", "stale"], group: "server", summary: "Rewrite the configuration file with the in memory configuration", since: "2.8.0",
    route: local(() => error("ERR CONFIG REWRITE is not supported by raft-kv: configure nodes with command-line flags"))
  }
]

// ---------------------------------------------------------------- persistence, time

const save: LocalHandler = (session) => {
  session.server.requestSnapshot(session.reserve())
  return undefined
}

const bgsave: LocalHandler = (session, argv) => {
  if (argv.length === 2 && latin1(argv[1]).toUpperCase() !== "SCHEDULE") return SYNTAX_ERROR
  if (argv.length > 2) return SYNTAX_ERROR
  session.server.requestSnapshot(undefined)
  return simple("Background saving started")
}

const time: LocalHandler = () => {
  const now = process.hrtime.bigint()
  const micros = BigInt(Date.now()) * 1000n + ((now / 1000n) % 1000n)
  return array([text(String(micros / 1_000_000n)), text(String(micros % 1_000_000n))])
}

export const serverCommands: ReadonlyArray<CommandSpec> = [
  { name: "info", arity: -1, flags: ["loading", "stale"], group: "server", categories: ["dangerous"], summary: "Get information and statistics about the server", since: "1.0.0", complexity: "O(1)", route: local(info) },
  { name: "command", arity: -1, flags: ["loading", "stale"], group: "server", categories: ["connection"], summary: "Get array of Redis command details", since: "2.8.13", complexity: "O(N) where N is the total number of Redis commands", route: local(() => array(allCommands().map(commandInfo))), subcommands: commandSubcommands },
  { name: "config", arity: -2, flags: [], group: "server", summary: "A container for server configuration commands", since: "2.0.0", subcommands: configSubcommands },
  { name: "time", arity: 1, flags: ["loading", "stale", "fast"], group: "server", summary: "Return the current server time", since: "2.6.0", complexity: "O(1)", route: local(time) },
  { name: "save", arity: 1, flags: ["admin", "noscript", "no_multi"], group: "server", summary: "Synchronously save the dataset to disk", since: "1.0.0", complexity: "O(N) where N is the total number of keys in all databases", route: local(save) },
  { name: "bgsave", arity: -1, flags: ["admin", "noscript"], group: "server", summary: "Asynchronously save the dataset to disk", since: "1.0.0", complexity: "O(N) where N is the total number of keys in all databases", route: local(bgsave) },
  { name: "lastsave", arity: 1, flags: ["loading", "stale", "fast"], group: "server", categories: ["admin", "dangerous"], summary: "Get the UNIX time stamp of the last successful save to disk", since: "1.0.0", complexity: "O(1)", route: local((session) => integer(session.server.lastSave())) }
]

export { unknownSubcommand, wrongArity }
