/**
 * Who may run what, as redis-server 7.0's processCommand decides it after finding a command and
 * checking its arity: a client that has not authenticated (while the default user needs a
 * password) may only run the commands flagged no_auth (AUTH, HELLO, QUIT, RESET); then the
 * client's ACL user must be allowed the command and every key it names. Refusals are counted
 * (INFO stats) and recorded in ACL LOG. Also AUTH's check of a user and password.
 */
import type { DenialReason } from "../acl/AclLog.js"
import { error, type Reply } from "../resp/Reply.js"
import { describeClient } from "./clientInfo.js"
import { latin1 } from "./errors.js"
import type { Argv, CommandSpec } from "./registry.js"
import type { ClientSession } from "./session.js"

export const NOAUTH = error("NOAUTH Authentication required.")
export const WRONGPASS = error("WRONGPASS invalid username-password pair or user is disabled.")
const NOPERM_KEY = error("NOPERM this user has no permissions to access one of the keys used as arguments")

const record = (session: ClientSession, reason: DenialReason, object: string, username: string): void => {
  const client = session.client
  const acl = session.server.acl
  acl.countDenied(reason)
  const now = Date.now()
  acl.log.add({ reason, context: client.multi !== undefined ? "multi" : "toplevel", object, username, at: now, clientInfo: describeClient(client, now) })
}

/** The refusal for `spec` with `argv` from this client, or undefined if it may run. */
export const admit = (session: ClientSession, spec: CommandSpec, argv: Argv): Reply | undefined => {
  const client = session.client
  if (!client.authenticated && !spec.flags.includes("no_auth")) return NOAUTH
  const user = client.user
  if (user.unrestricted) return undefined
  const denial = user.check(spec, argv)
  if (denial === undefined) return undefined
  if (denial.reason === "command") {
    record(session, "command", spec.name, user.name)
    return error(`NOPERM this user has no permissions to run the '${spec.name}' command`)
  }
  record(session, "key", latin1(argv[denial.position]), user.name)
  return NOPERM_KEY
}

/**
 * Authenticate the connection as `name` with `password` (AUTH, HELLO AUTH). On success the
 * connection runs as that user; on failure nothing changes, and the attempt is counted and
 * logged (`via`: the command, as ACL LOG's object).
 */
export const authenticate = (session: ClientSession, name: Uint8Array, password: Uint8Array, via: string): Reply | undefined => {
  const user = session.server.acl.users.authenticate(name, password)
  if (user === undefined) {
    record(session, "auth", via, latin1(name))
    return WRONGPASS
  }
  session.client.user = user
  session.client.authenticated = true
  return undefined
}

/** Back to the default user, authenticated only if it needs no password (RESET). */
export const resetAuthentication = (session: ClientSession): void => {
  const users = session.server.acl.users
  session.client.user = users.defaultUser
  session.client.authenticated = users.openByDefault
}
