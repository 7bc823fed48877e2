/**
 * Client authentication and ACLs: the rules of redis-server 7.0's ACL file syntax (the subset
 * raft-kv supports) and their errors, users described back as ACL LIST shows them, command and
 * key checks (with Redis's key-spec flags for %R~ / %W~, verified against redis-server 7.0.15),
 * constant-time password checks, and the commands end to end on the command runner: NOAUTH
 * before AUTH, WRONGPASS, NOPERM, HELLO AUTH, RESET, MULTI checked when queued, ACL's
 * subcommands, and refusals counted and logged.
 */
import { describe, expect, it } from "vitest"
import { AclUser } from "../../src/acl/AclUser.js"
import { hashPassword, passwordMatches } from "../../src/acl/Passwords.js"
import { Users, UsersError } from "../../src/acl/Users.js"
import { lookupCommand } from "../../src/commands/table.js"
import { CommandRunner, replies } from "../support/commandRunner.js"

const userWith = (...rules: Array<string>): AclUser => {
  const user = new AclUser("u")
  for (const rule of rules) {
    const refused = user.apply(rule)
    if (refused !== undefined) throw new Error(`${rule}: ${refused.message}`)
  }
  return user
}

const argv = (...words: Array<string>) => words.map((word) => Buffer.from(word, "latin1"))

/** What `user` may do with the command: "ok", "command" or "key:<position>". */
const verdict = (user: AclUser, ...words: Array<string>): string => {
  const args = argv(...words)
  const spec = lookupCommand(args)
  if (spec === undefined) throw new Error(`no command ${words[0]}`)
  const denial = user.check(spec, args)
  return denial === undefined ? "ok" : denial.reason === "command" ? "command" : `key:${denial.position}`
}

describe("ACL rules", () => {
  it("describes users as redis-server's ACL LIST does", () => {
    expect(AclUser.openDefault().describe()).toBe("on nopass ~* &* +@all")
    expect(userWith("on", ">alicepw", "~cached:*", "+get", "+set", "-@dangerous").describe()).toBe(
      `on #${hashPassword(Buffer.from("alicepw"))} ~cached:* resetchannels -@all +get +set`
    )
    expect(userWith("off", ">bobpw", "~*", "+@all").describe()).toBe(`off #${hashPassword(Buffer.from("bobpw"))} ~* resetchannels +@all`)
    expect(userWith("on", "nopass", "%R~r:*", "%W~w:*", "+@all", "-keys").describe()).toBe("on nopass %R~r:* %W~w:* resetchannels +@all -keys")
    expect(userWith("on", "nopass", "allkeys", "+@read").describe()).toBe("on nopass ~* resetchannels -@all +@read")
    // reset: off, no passwords, no keys, no channels, no commands, sanitize-payload (as Redis).
    expect(userWith("on", ">x", "~*", "&*", "+@all", "reset").describe()).toBe("off sanitize-payload resetchannels -@all")
    // Duplicate patterns merge their permissions; %RW~ is ~.
    expect(userWith("%R~k:*", "%W~k:*", "%RW~j:*").keyRules()).toEqual(["~k:*", "~j:*"])
  })

  it("keeps passwords as SHA-256 and takes them added, by hash, removed, or none", () => {
    const user = userWith("on", ">one", `#${hashPassword(Buffer.from("two"))}`, ">one")
    expect(user.passwords).toEqual([hashPassword(Buffer.from("one")), hashPassword(Buffer.from("two"))])
    expect(user.accepts(Buffer.from("one")) && user.accepts(Buffer.from("two"))).toBe(true)
    expect(user.accepts(Buffer.from("three"))).toBe(false)
    user.apply("<one")
    expect(user.accepts(Buffer.from("one"))).toBe(false)
    user.apply(`!${hashPassword(Buffer.from("two"))}`)
    expect(user.passwords).toEqual([])
    expect(user.accepts(Buffer.from(""))).toBe(false)
    user.apply("nopass")
    expect(user.accepts(Buffer.from("anything"))).toBe(true)
    user.apply("off")
    expect(user.accepts(Buffer.from("anything"))).toBe(false)
    user.apply("on")
    user.apply(">again")
    expect(user.nopass).toBe(false)
    user.apply("resetpass")
    expect(user.accepts(Buffer.from("again"))).toBe(false)
  })

  it("refuses what Redis refuses, with its messages, and what raft-kv does not support, saying so", () => {
    const refusal = (rule: string, ...before: Array<string>) => userWith(...before).apply(rule)?.message
    expect(refusal("+nosuchcommand")).toBe("Unknown command or category name in ACL")
    expect(refusal("-@nosuchcategory")).toBe("Unknown command or category name in ACL")
    expect(refusal("+config|nosuch")).toBe("Unknown command or category name in ACL")
    expect(refusal("+config|get|x")).toBe("Allowing first-arg of a subcommand is not supported")
    expect(refusal("+config|")).toBe("Syntax error")
    expect(refusal("bogus")).toBe("Syntax error")
    expect(refusal("%X~k")).toBe("Syntax error")
    expect(refusal("#abc")).toBe("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
    expect(refusal("<never-added")).toBe("The password you are trying to remove from the user does not exist")
    expect(refusal("~k:*", "allkeys")).toMatch(/^Adding a pattern after the \* pattern \(or the 'allkeys' flag\)/)
    expect(refusal("&c", "allchannels")).toMatch(/^Adding a pattern after the \* pattern \(or the 'allchannels' flag\)/)
    expect(refusal("+select|0")).toBe("Allowing one first argument of a command ('+command|arg') is not supported by raft-kv")
    expect(refusal("(~k +get)")).toBe("Selectors ('(...)') are not supported by raft-kv: give each set of permissions its own user")
    // Rule names are case-insensitive, as in Redis.
    expect(userWith("ON", "NOPASS", "+GET", "+@READ", "ALLKEYS").check(lookupCommand(argv("get", "k"))!, argv("get", "k"))).toBeUndefined()
  })

  it("checks commands, subcommands and categories", () => {
    const reader = userWith("on", "nopass", "allkeys", "+@read", "+@connection", "-client|kill")
    expect(verdict(reader, "GET", "k")).toBe("ok")
    expect(verdict(reader, "SET", "k", "v")).toBe("command")
    expect(verdict(reader, "CLIENT", "ID")).toBe("ok")
    expect(verdict(reader, "CLIENT", "KILL", "ID", "1")).toBe("command")
    // AUTH, HELLO, QUIT and RESET (no_auth) are always allowed.
    expect(verdict(userWith("on", "nopass"), "AUTH", "a", "b")).toBe("ok")
    expect(verdict(userWith("on", "nopass"), "PING")).toBe("command")
    const config = userWith("on", "nopass", "+config|get")
    expect(verdict(config, "CONFIG", "GET", "port")).toBe("ok")
    expect(verdict(config, "CONFIG", "SET", "port", "1")).toBe("command")
    // A container brings its subcommands; taking one away leaves the others.
    const acl = userWith("on", "nopass", "+acl", "-acl|list")
    expect(verdict(acl, "ACL", "WHOAMI")).toBe("ok")
    expect(verdict(acl, "ACL", "LIST")).toBe("command")
    expect(acl.commandRules()).toContain("-acl|list")
  })

  it("checks every key against the patterns, with the read/write flags of Redis's key specs", () => {
    // Verified against redis-server 7.0.15 with `user carol on nopass %R~r:* %W~w:* +@all`.
    const carol = userWith("on", "nopass", "%R~r:*", "%W~w:*", "+@all")
    const cases: Array<[Array<string>, string]> = [
      [["SET", "w:1", "1"], "ok"],
      [["SET", "w:1", "1", "GET"], "key:1"],
      [["GET", "w:1"], "key:1"],
      [["GET", "r:1"], "ok"],
      [["INCR", "w:1"], "key:1"],
      [["APPEND", "w:1", "x"], "ok"],
      [["SETRANGE", "w:1", "0", "x"], "ok"],
      [["EXISTS", "w:1"], "ok"],
      [["EXISTS", "r:1"], "ok"],
      [["EXISTS", "z"], "key:1"],
      [["DEL", "w:1"], "ok"],
      [["RENAME", "w:1", "w:2"], "key:1"],
      [["COPY", "r:1", "w:3"], "ok"],
      [["MSET", "w:5", "1", "w:6", "2"], "ok"],
      [["MSET", "w:5", "1", "r:6", "2"], "key:3"],
      [["MGET", "r:1", "w:1"], "key:2"],
      [["WATCH", "z"], "key:1"],
      [["WATCH", "r:1"], "ok"],
      [["TTL", "w:1"], "key:1"],
      [["EXPIRE", "w:1", "10"], "ok"]
    ]
    for (const [words, expected] of cases) expect([words.join(" "), verdict(carol, ...words)]).toEqual([words.join(" "), expected])
    const app = userWith("on", "nopass", "~app:*", "+@all")
    expect(verdict(app, "SET", "app:1", "v")).toBe("ok")
    expect(verdict(app, "SET", "other", "v")).toBe("key:1")
    // Commands without keys are not restricted by key patterns.
    expect(verdict(app, "DBSIZE")).toBe("ok")
  })
})

describe("passwords", () => {
  it("are compared by their SHA-256 digests, every stored hash each time", () => {
    const hashes = ["a", "b", "c"].map((p) => hashPassword(Buffer.from(p)))
    expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/)
    expect(passwordMatches(hashes, Buffer.from("c"))).toBe(true)
    expect(passwordMatches(hashes, Buffer.from("d"))).toBe(false)
    expect(passwordMatches([], Buffer.from(""))).toBe(false)
    // Binary passwords keep their bytes.
    expect(passwordMatches([hashPassword(Buffer.from([0, 255, 10]))], Buffer.from([0, 255, 10]))).toBe(true)
  })
})

describe("ACL files", () => {
  it("loads redis-server's syntax, and gives the open default user when the file does not define it", () => {
    const users = Users.fromFile("user alice on >pw ~* +@all\n\n  user bob off\r\n", "users.acl")
    expect(users.names()).toEqual(["alice", "bob", "default"])
    expect(users.defaultIsImplicit).toBe(true)
    expect(users.openByDefault).toBe(true)
    expect(users.authenticate(Buffer.from("alice"), Buffer.from("pw"))?.name).toBe("alice")
    expect(users.authenticate(Buffer.from("alice"), Buffer.from("nope"))).toBeUndefined()
    expect(users.authenticate(Buffer.from("bob"), Buffer.from(""))).toBeUndefined()
    expect(users.authenticate(Buffer.from("nobody"), Buffer.from("pw"))).toBeUndefined()
    const closed = Users.fromFile("user default on >secret ~* &* +@all\n", "users.acl")
    expect(closed.openByDefault).toBe(false)
    expect(closed.defaultIsImplicit).toBe(false)
  })

  it("reports every wrong line with its number and loads nothing, never repeating a password", () => {
    const text = ["user ok on nopass +@all ~*", "# a comment", "user bad on +nosuch", "user ok on", "user pw on <never-added", "usr x"].join("\n")
    let message = ""
    try {
      Users.fromFile(text, "users.acl")
    } catch (error) {
      expect(error).toBeInstanceOf(UsersError)
      message = (error as Error).message
    }
    expect(message).toBe(
      "the ACL file users.acl has errors: " +
        [
          "users.acl:2: the line should start with the user keyword followed by the username",
          "users.acl:3: Unknown command or category name in ACL ('+nosuch')",
          "users.acl:4: duplicate user 'ok'",
          "users.acl:5: The password you are trying to remove from the user does not exist",
          "users.acl:6: the line should start with the user keyword followed by the username"
        ].join("; ")
    )
    expect(message).not.toContain("never-added")
  })

  it("requirepass is the default user's password", () => {
    const users = Users.withPassword(Buffer.from("s3cret"))
    expect(users.openByDefault).toBe(false)
    expect(users.names()).toEqual(["default"])
    expect(users.defaultUser.describe()).toBe(`on #${hashPassword(Buffer.from("s3cret"))} ~* &* +@all`)
    expect(Users.open().defaultUser.describe()).toBe("on nopass ~* &* +@all")
  })
})

const ACL_FILE = [
  "user default on >adminpw ~* &* +@all",
  "user reader on >readpw ~* +@read",
  "user app on >apppw ~app:* +@all -@dangerous",
  "user off off >offpw ~* +@all"
].join("\n")

const session = async (text = ACL_FILE) => {
  const runner = await CommandRunner.make(undefined, Users.fromFile(text, "users.acl"))
  return { runner, client: runner.client() }
}

describe("authentication and permissions, end to end", () => {
  it("allows only AUTH, HELLO, QUIT and RESET before authentication; unknown commands and arity still come first", async () => {
    const { client } = await session()
    expect(await replies(client, ["PING"], ["GET", "k"], ["MULTI"], ["CLIENT", "ID"], ["NOPE"], ["GET"], ["AUTH"], ["AUTH", "a", "b", "c"])).toEqual([
      "-NOAUTH Authentication required.\r\n",
      "-NOAUTH Authentication required.\r\n",
      "-NOAUTH Authentication required.\r\n",
      "-NOAUTH Authentication required.\r\n",
      "-ERR unknown command 'NOPE', with args beginning with: \r\n",
      "-ERR wrong number of arguments for 'get' command\r\n",
      "-ERR wrong number of arguments for 'auth' command\r\n",
      "-ERR syntax error\r\n"
    ])
    expect(await client.wire("HELLO", "3")).toBe(
      "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
    )
    expect(client.state.protocol).toBe(2)
    expect(await client.wire("AUTH", "wrong")).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    expect(await client.wire("AUTH", "adminpw")).toBe("+OK\r\n")
    expect(await client.wire("ACL", "WHOAMI")).toBe("$7\r\ndefault\r\n")
    expect(await client.wire("PING")).toBe("+PONG\r\n")
  })

  it("AUTH <user> <password> and HELLO AUTH switch users; a failed attempt keeps the current one; RESET logs out", async () => {
    const { runner, client } = await session()
    expect(await client.wire("AUTH", "reader", "readpw")).toBe("+OK\r\n")
    expect(await client.wire("ACL", "WHOAMI")).toBe("-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n")
    expect(await client.wire("GET", "k")).toBe("$-1\r\n")
    expect(await client.wire("SET", "k", "v")).toBe("-NOPERM this user has no permissions to run the 'set' command\r\n")
    expect(await client.wire("AUTH", "app", "wrong")).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    expect(client.state.user.name).toBe("reader")
    expect(await client.wire("AUTH", "off", "offpw")).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    expect(await client.wire("HELLO", "3", "AUTH", "app", "apppw", "SETNAME", "worker")).toMatch(/^%7\r\n/)
    expect(client.state.user.name).toBe("app")
    expect(client.state.name?.toString()).toBe("worker")
    expect(await client.wire("SET", "app:1", "v")).toBe("+OK\r\n")
    expect(await client.wire("SET", "other", "v")).toBe("-NOPERM this user has no permissions to access one of the keys used as arguments\r\n")
    expect(await client.wire("FLUSHALL")).toBe("-NOPERM this user has no permissions to run the 'flushall' command\r\n")
    expect(await client.wire("RESET")).toBe("+RESET\r\n")
    expect(client.state.user.name).toBe("default")
    expect(await client.wire("GET", "app:1")).toBe("-NOAUTH Authentication required.\r\n")
    expect(runner.denied).toEqual({ auth: 2, command: 3, key: 1 })
  })

  it("checks commands inside MULTI when they are queued: a refused one aborts EXEC, and a refused EXEC says why", async () => {
    const { client } = await session()
    await client.wire("AUTH", "app", "apppw")
    expect(await replies(client, ["MULTI"], ["SET", "app:1", "1"], ["SET", "nope", "1"], ["EXEC"])).toEqual([
      "+OK\r\n",
      "+QUEUED\r\n",
      "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
      "-EXECABORT Transaction discarded because of previous errors.\r\n"
    ])
    expect(await client.wire("GET", "app:1")).toBe("$-1\r\n")
    const limited = await session("user default on nopass ~* +@all -exec")
    expect(await replies(limited.client, ["MULTI"], ["SET", "k", "1"], ["EXEC"])).toEqual([
      "+OK\r\n",
      "+QUEUED\r\n",
      "-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n"
    ])
    expect(limited.client.state.multi).toBeUndefined()
  })

  it("answers ACL WHOAMI, USERS, LIST, CAT, GETUSER, DRYRUN, GENPASS and LOG; refuses changes to the users, saying why", async () => {
    const { client } = await session()
    await client.wire("AUTH", "wrong")
    await client.wire("AUTH", "adminpw")
    expect(await client.wire("ACL", "USERS")).toBe("*4\r\n$3\r\napp\r\n$7\r\ndefault\r\n$3\r\noff\r\n$6\r\nreader\r\n")
    const list = await client.call("ACL", "LIST")
    expect(list._tag === "Array" && list.value?.map((line) => (line._tag === "Bulk" ? Buffer.from(line.value!).toString() : ""))).toEqual([
      `user app on #${hashPassword(Buffer.from("apppw"))} ~app:* resetchannels +@all -@dangerous`,
      `user default on #${hashPassword(Buffer.from("adminpw"))} ~* &* +@all`,
      `user off off #${hashPassword(Buffer.from("offpw"))} ~* resetchannels +@all`,
      `user reader on #${hashPassword(Buffer.from("readpw"))} ~* resetchannels -@all +@read`
    ])
    expect(await client.wire("ACL", "CAT")).toMatch(/^\*21\r\n\$8\r\nkeyspace\r\n\$4\r\nread\r\n/)
    expect(await client.wire("ACL", "CAT", "transaction")).toBe("*5\r\n$5\r\nmulti\r\n$4\r\nexec\r\n$7\r\ndiscard\r\n$5\r\nwatch\r\n$7\r\nunwatch\r\n")
    expect(await client.wire("ACL", "CAT", "nosuch")).toBe("-ERR Unknown category 'nosuch'\r\n")
    expect(await client.wire("ACL", "GETUSER", "nobody")).toBe("$-1\r\n")
    expect(await client.wire("ACL", "GETUSER", "app")).toBe(
      `*12\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$9\r\npasswords\r\n*1\r\n$64\r\n${hashPassword(Buffer.from("apppw"))}\r\n$8\r\ncommands\r\n$17\r\n+@all -@dangerous\r\n` +
        "$4\r\nkeys\r\n$6\r\n~app:*\r\n$8\r\nchannels\r\n$0\r\n\r\n$9\r\nselectors\r\n*0\r\n"
    )
    expect(await replies(client, ["ACL", "DRYRUN", "app", "SET", "app:1", "v"], ["ACL", "DRYRUN", "app", "SET", "x", "v"], ["ACL", "DRYRUN", "reader", "SET", "x", "v"], ["ACL", "DRYRUN", "nobody", "GET", "x"], ["ACL", "DRYRUN", "app", "NOPE"])).toEqual([
      "+OK\r\n",
      "$50\r\nThis user has no permissions to access the 'x' key\r\n",
      "$53\r\nThis user has no permissions to run the 'set' command\r\n",
      "-ERR User 'nobody' not found\r\n",
      "-ERR Command 'NOPE' not found\r\n"
    ])
    expect(await client.wire("ACL", "GENPASS")).toMatch(/^\$64\r\n[0-9a-f]{64}\r\n$/)
    expect(await client.wire("ACL", "GENPASS", "5")).toMatch(/^\$2\r\n[0-9a-f]{2}\r\n$/)
    expect(await client.wire("ACL", "GENPASS", "0")).toBe("-ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096\r\n")
    const log = await client.call("ACL", "LOG")
    expect(log._tag === "Array" && log.value?.length).toBe(1)
    expect(await client.wire("ACL", "LOG", "1")).toContain("$6\r\nreason\r\n$4\r\nauth\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$4\r\nAUTH\r\n$8\r\nusername\r\n$7\r\ndefault\r\n")
    expect(await client.wire("ACL", "LOG", "RESET")).toBe("+OK\r\n")
    expect(await client.wire("ACL", "LOG")).toBe("*0\r\n")
    for (const sub of ["SETUSER", "DELUSER"]) expect(await client.wire("ACL", sub, "x")).toMatch(new RegExp(`^-ERR ACL ${sub} is not supported by raft-kv: users are read from the ACL file users.acl at start`))
    expect(await client.wire("ACL", "LOAD")).toMatch(/^-ERR ACL LOAD is not supported by raft-kv/)
  })

  it("without passwords, behaves as a redis-server without one: AUTH <password> is an error, any password opens the default user", async () => {
    const runner = await CommandRunner.make()
    const client = runner.client()
    expect(await replies(client, ["PING"], ["AUTH", "x"], ["AUTH", "default", "anything"], ["AUTH", "other", "x"], ["ACL", "WHOAMI"], ["ACL", "LIST"])).toEqual([
      "+PONG\r\n",
      "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
      "+OK\r\n",
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
      "$7\r\ndefault\r\n",
      "*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n"
    ])
  })
})
