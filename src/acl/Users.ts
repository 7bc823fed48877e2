/**
 * The node's ACL users, fixed at start: the default user alone (no password, or `requirepass`
 * as its password, as redis-server does), or the users of an ACL file in redis-server's syntax
 * (acl.c ACLLoadFromFile: one `user <name> <rules...>` per line, blank lines allowed, every error
 * reported with its line, nothing loaded if any line is wrong). A file that does not define
 * `default` gets the open default user, as Redis does.
 */
import { AclUser, hasSpaces } from "./AclUser.js"
import { passwordMatches } from "./Passwords.js"

export class UsersError extends Error {
  override readonly name = "UsersError"
}

export class Users {
  private constructor(
    private readonly byName: ReadonlyMap<string, AclUser>,
    /** Where the users came from, for messages (ACL LOAD, start-up). */
    readonly aclFile: string | undefined,
    /** The ACL file did not define `default`: it is the open default user. */
    readonly defaultIsImplicit = false
  ) {}

  /** Only the default user, without a password: every connection is authenticated (redis-server's default). */
  static open(): Users {
    return new Users(new Map([["default", AclUser.openDefault()]]), undefined)
  }

  /** The default user with `password` (redis-server's `requirepass`). */
  static withPassword(password: Uint8Array): Users {
    const user = AclUser.openDefault()
    user.apply("resetpass")
    user.apply(`>${Buffer.from(password).toString("latin1")}`)
    return new Users(new Map([["default", user]]), undefined)
  }

  /**
   * The users of an ACL file's text (read as latin1, one char per byte, so passwords keep their
   * bytes). Throws UsersError listing every problem, as `<file>:<line>: <problem>`.
   */
  static fromFile(text: string, file: string): Users {
    const users = new Map<string, AclUser>()
    const errors: Array<string> = []
    text.split("\n").forEach((raw, i) => {
      const where = `${file}:${i + 1}`
      const line = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "")
      if (line.length === 0) return
      const argv = line.split(" ")
      if (argv[0] !== "user" || argv.length < 2) {
        errors.push(`${where}: the line should start with the user keyword followed by the username`)
        return
      }
      const name = argv[1]
      if (name.length === 0 || hasSpaces(name)) {
        errors.push(`${where}: the username '${name}' contains invalid characters`)
        return
      }
      if (users.has(name)) {
        errors.push(`${where}: duplicate user '${name}'`)
        return
      }
      const user = new AclUser(name)
      users.set(name, user)
      for (const arg of argv.slice(2)) {
        const rule = arg.replace(/^[\t\r\n]+|[\t\r\n]+$/g, "")
        const refused = user.apply(rule)
        if (refused !== undefined) {
          // A password rule is not repeated in the message: it would put the password in the log.
          const shown = /^[<>#!]/.test(rule) ? "" : ` ('${rule}')`
          errors.push(`${where}: ${refused.message}${shown}`)
        }
      }
    })
    if (errors.length > 0) throw new UsersError(`the ACL file ${file} has errors: ${errors.join("; ")}`)
    const implicit = !users.has("default")
    if (implicit) users.set("default", AclUser.openDefault())
    return new Users(users, file, implicit)
  }

  get defaultUser(): AclUser {
    return this.byName.get("default")!
  }

  /** User names in byte order (as Redis's radix tree lists them). */
  names(): Array<string> {
    return [...this.byName.keys()].sort()
  }

  get(name: string): AclUser | undefined {
    return this.byName.get(name)
  }

  /** Whether a new connection starts authenticated, as the default user (on, and needing no password). */
  get openByDefault(): boolean {
    const user = this.defaultUser
    return user.enabled && user.nopass
  }

  /** The user `name` if `password` opens it (the password is hashed and compared even when there is no such user). */
  authenticate(name: Uint8Array, password: Uint8Array): AclUser | undefined {
    const user = this.byName.get(Buffer.from(name).toString("latin1"))
    if (user === undefined) {
      passwordMatches([], password)
      return undefined
    }
    return user.accepts(password) ? user : undefined
  }
}
