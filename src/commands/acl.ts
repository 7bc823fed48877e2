/**
 * ACL and its subcommands (redis-server 7.0's acl.c aclCommand), over the node's users. Users
 * are fixed at start (the default user, `requirepass`, or `--aclfile`), so the subcommands that
 * change them (SETUSER, DELUSER, LOAD, SAVE) answer an error that says so: a change made on one
 * node would not reach the others (users are node configuration, not replicated state), and
 * changing them in the file and restarting the nodes one at a time keeps every node alike.
 */
import * as crypto from "node:crypto"
import { array, bulk, double, error, integer, map, NIL, OK, set, simple, text, type Reply } from "../resp/Reply.js"
import { latin1, NOT_AN_INTEGER } from "./errors.js"
import { parseInt64 } from "./integers.js"
import { ALL_CATEGORIES, categoriesOf, type CommandSpec, type LocalHandler } from "./registry.js"
import type { ClientSession } from "./session.js"
import { commandTable, lookupCommand } from "./table.js"

const local = (run: LocalHandler) => ({ kind: "local" as const, run })

const readOnlyUsers = (session: ClientSession, what: string): Reply => {
  const file = session.server.acl.users.aclFile
  return error(
    `ERR ${what} is not supported by raft-kv: users are read from ${file === undefined ? "the node's flags (--requirepass, --aclfile)" : `the ACL file ${file}`} at start; change the file on every node and restart the nodes one at a time`
  )
}

const getuser: LocalHandler = (session, argv) => {
  const user = session.server.acl.users.get(latin1(argv[2]))
  if (user === undefined) return NIL
  return map([
    text("flags"), set(user.flags().map(text)),
    text("passwords"), array(user.passwords.map(text)),
    text("commands"), text(user.commandRules()),
    text("keys"), text(user.keyRules().join(" ")),
    text("channels"), text(user.channelRules().join(" ")),
    text("selectors"), array([])
  ])
}

const list: LocalHandler = (session) => {
  const users = session.server.acl.users
  return array(users.names().map((name) => text(`user ${name} ${users.get(name)!.describe()}`)))
}

const cat: LocalHandler = (_session, argv) => {
  if (argv.length === 2) return array(ALL_CATEGORIES.map(text))
  const category = latin1(argv[2]).toLowerCase()
  if (!ALL_CATEGORIES.includes(category)) return error(`ERR Unknown category '${latin1(argv[2]).slice(0, 128)}'`)
  const names: Array<Reply> = []
  for (const spec of commandTable.values()) {
    if (categoriesOf(spec).includes(category)) names.push(text(spec.name))
    for (const sub of spec.subcommands ?? []) if (categoriesOf(sub).includes(category)) names.push(text(sub.name))
  }
  return array(names)
}

const genpass: LocalHandler = (_session, argv) => {
  let bits = 256
  if (argv.length === 3) {
    const value = parseInt64(argv[2])
    if (value === undefined) return NOT_AN_INTEGER
    if (value <= 0n || value > 4096n) return error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
    bits = Number(value)
  }
  const chars = Math.floor((bits + 3) / 4)
  return text(crypto.randomBytes(Math.ceil(chars / 2)).toString("hex").slice(0, chars))
}

const log: LocalHandler = (session, argv) => {
  const aclLog = session.server.acl.log
  let count = 10
  if (argv.length === 3) {
    if (latin1(argv[2]).toLowerCase() === "reset") {
      aclLog.reset()
      return OK
    }
    const value = parseInt64(argv[2])
    if (value === undefined) return NOT_AN_INTEGER
    count = value < 0n ? 0 : Number(value > 1_000_000n ? 1_000_000n : value)
  }
  const now = Date.now()
  return array(
    aclLog.newest(count).map((entry) =>
      map([
        text("count"), integer(entry.count),
        text("reason"), text(entry.reason),
        text("context"), text(entry.context),
        text("object"), text(entry.object),
        text("username"), text(entry.username),
        text("age-seconds"), double((now - entry.at) / 1000),
        text("client-info"), text(entry.clientInfo)
      ])
    )
  )
}

const dryrun: LocalHandler = (session, argv) => {
  const user = session.server.acl.users.get(latin1(argv[2]))
  if (user === undefined) return error(`ERR User '${latin1(argv[2])}' not found`)
  const target = argv.slice(3)
  const spec = lookupCommand(target)
  if (spec === undefined) return error(`ERR Command '${latin1(argv[3])}' not found`)
  const denial = user.check(spec, target)
  if (denial === undefined) return OK
  if (denial.reason === "command") return text(`This user has no permissions to run the '${spec.name}' command`)
  return text(`This user has no permissions to access the '${latin1(target[denial.position])}' key`)
}

const HELP = [
  "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CAT [<category>]",
  "    List all commands that belong to <category>, or all command categories",
  "    when no category is specified.",
  "DELUSER <username> [<username> ...]",
  "    Delete a list of users.",
  "DRYRUN <username> <command> [<arg> ...]",
  "    Returns whether the user can execute the given command without executing the command.",
  "GETUSER <username>",
  "    Get the user's details.",
  "GENPASS [<bits>]",
  "    Generate a secure 256-bit user password. The optional `bits` argument can",
  "    be used to specify a different size.",
  "LIST",
  "    Show users details in config file format.",
  "LOAD",
  "    Reload users from the ACL file.",
  "LOG [<count> | RESET]",
  "    Show the ACL log entries.",
  "SAVE",
  "    Save the current config to the ACL file.",
  "SETUSER <username> <attribute> [<attribute> ...]",
  "    Create or modify a user with the specified attributes.",
  "USERS",
  "    List all the registered usernames.",
  "WHOAMI",
  "    Return the current connection username.",
  "HELP",
  "    Prints this help."
]

const admin = ["admin", "noscript", "loading", "stale"] as const
const plain = ["noscript", "loading", "stale"] as const

const sub = (name: string, arity: number, flags: CommandSpec["flags"], run: LocalHandler, summary: string, complexity: string): CommandSpec => ({
  name: `acl|${name}`,
  arity,
  flags,
  group: "server",
  summary,
  since: "6.0.0",
  complexity,
  route: local(run)
})

const aclSubcommands: ReadonlyArray<CommandSpec> = [
  sub("cat", -2, plain, cat, "List the ACL categories or the commands inside a category", "O(1) since the categories and commands are a fixed set."),
  sub("deluser", -3, admin, (session) => readOnlyUsers(session, "ACL DELUSER"), "Remove the specified ACL users and the associated rules", "O(1) amortized time considering the typical user."),
  { ...sub("dryrun", -4, admin, dryrun, "Returns whether the user can execute the given command without executing the command.", "O(1)."), since: "7.0.0" },
  sub("genpass", -2, plain, genpass, "Generate a pseudorandom secure password to use for ACL users", "O(1)"),
  sub("getuser", 3, admin, getuser, "Get the rules for a specific ACL user", "O(N). Where N is the number of password, command and pattern rules that the user has."),
  sub("help", 2, ["loading", "stale"], () => array(HELP.map((line) => simple(line))), "Show helpful text about the different subcommands", "O(1)"),
  sub("list", 2, admin, list, "List the current ACL rules in ACL config file format", "O(N). Where N is the number of configured users."),
  sub("load", 2, admin, (session) => readOnlyUsers(session, "ACL LOAD"), "Reload the ACLs from the configured ACL file", "O(N). Where N is the number of configured users."),
  sub("log", -2, admin, log, "List latest events denied because of ACLs in place", "O(N) with N being the number of entries shown."),
  sub("save", 2, admin, (session) => readOnlyUsers(session, "ACL SAVE"), "Save the current ACL rules in the configured ACL file", "O(N). Where N is the number of configured users."),
  sub("setuser", -3, admin, (session) => readOnlyUsers(session, "ACL SETUSER"), "Modify or create the rules for a specific ACL user", "O(N). Where N is the number of rules provided."),
  sub("users", 2, admin, (session) => array(session.server.acl.users.names().map(text)), "List the username of all the configured ACL rules", "O(N). Where N is the number of configured users."),
  sub("whoami", 2, plain, (session) => bulk(Buffer.from(session.client.user.name, "latin1")), "Return the name of the user associated to the current connection", "O(1)")
]

export const aclCommands: ReadonlyArray<CommandSpec> = [
  { name: "acl", arity: -2, flags: [], group: "server", summary: "A container for Access List Control commands", since: "6.0.0", complexity: "Depends on subcommand.", subcommands: aclSubcommands }
]
