/**
 * The node's users from its configuration, read once at start: no password, `requirepass` (from
 * a file, the environment, or a flag), or an ACL file. A missing or malformed file stops the node
 * at start with the reason; what is merely risky (a password in `ps`, a file others can read, an
 * ACL file that leaves the default user open) comes back as warnings for the log.
 */
import * as fs from "node:fs"
import type { NodeConfig } from "../cli/Config.js"
import { Users, UsersError } from "./Users.js"

const readFile = (path: string, what: string): Buffer => {
  try {
    return fs.readFileSync(path)
  } catch (error) {
    throw new UsersError(`cannot read ${what} ${path}: ${(error as Error).message}`)
  }
}

const readableByOthers = (path: string): number | undefined => {
  const mode = fs.statSync(path).mode
  return (mode & 0o077) !== 0 ? mode & 0o777 : undefined
}

/** The file's bytes without one final newline (`echo secret > file`, `openssl rand -hex 32 > file`). */
const withoutFinalNewline = (bytes: Buffer): Buffer => {
  let end = bytes.length
  if (end > 0 && bytes[end - 1] === 0x0a) end--
  if (end > 0 && bytes[end - 1] === 0x0d) end--
  return bytes.subarray(0, end)
}

export const loadUsers = (
  config: Pick<NodeConfig, "requirePass" | "aclFile">,
  env: Readonly<Record<string, string | undefined>> = process.env
): { readonly users: Users; readonly warnings: ReadonlyArray<string> } => {
  const warnings: Array<string> = []
  const source = config.requirePass
  if (source !== undefined) {
    let password: Buffer
    if ("file" in source) {
      password = withoutFinalNewline(readFile(source.file, "--requirepass-file"))
      const mode = readableByOthers(source.file)
      if (mode !== undefined) warnings.push(`the password file ${source.file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`)
    } else if ("env" in source) {
      password = Buffer.from(env[source.env] ?? "", "utf8")
    } else {
      password = Buffer.from(source.value, "utf8")
      warnings.push("--requirepass puts the password where every user of this machine can read it (ps, /proc); use --requirepass-file or RAFT_KV_REQUIREPASS")
    }
    if (password.length === 0) throw new UsersError(`the default user's password (${"file" in source ? source.file : "env" in source ? source.env : "--requirepass"}) is empty`)
    return { users: Users.withPassword(password), warnings }
  }
  if (config.aclFile !== undefined) {
    const file = config.aclFile
    const users = Users.fromFile(readFile(file, "--aclfile").toString("latin1"), file)
    const mode = readableByOthers(file)
    if (mode !== undefined) warnings.push(`the ACL file ${file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`)
    if (users.defaultIsImplicit) {
      warnings.push(
        `the ACL file ${file} does not define the user 'default': connections start authenticated as 'default', with every permission and no password (add 'user default off', or give it a password)`
      )
    }
    for (const name of users.names()) {
      if (!users.get(name)!.enabled) warnings.push(`the user '${name}' in ${file} is off: nobody can authenticate as it`)
    }
    return { users, warnings }
  }
  return { users: Users.open(), warnings }
}
