/**
 * One ACL user, with redis-server 7.0's rules (acl.c ACLSetUser / ACLSetSelector) for the subset
 * raft-kv supports: on/off, passwords (`>pw`, `#sha256`, `<pw`, `!sha256`, nopass, resetpass),
 * key patterns (`~pattern`, `%R~`, `%W~`, `%RW~`, allkeys, resetkeys), channel patterns (kept
 * and shown, there is no pub/sub yet), commands (`+cmd`, `-cmd`, `+cmd|sub`, `+@category`,
 * `-@category`, allcommands, nocommands) and reset. Selectors `(...)` and first-argument rules
 * (`+select|0`) are refused with a message that says so.
 *
 * Permissions are a set of allowed command names (subcommands as `parent|sub`), as Redis keeps a
 * bit per command; `describe` gives them back in Redis's compact form (+@all or -@all, the best
 * fitting categories, then single commands), as ACL LIST and ACL GETUSER show them.
 */
import { stringMatch } from "../commands/glob.js"
import { ALL_CATEGORIES, categoriesOf, keyPositions, type Argv, type CommandSpec } from "../commands/registry.js"
import { commandTable } from "../commands/table.js"
import { keyAccess } from "./keyAccess.js"
import { hashPassword, isPasswordHash, passwordMatches } from "./Passwords.js"

export interface KeyPattern {
  readonly pattern: Buffer
  read: boolean
  write: boolean
}

/** Why a command may not run: its name, or the position of a key no pattern grants. */
export type Denial = { readonly reason: "command" } | { readonly reason: "key"; readonly position: number }

/** A rule that cannot be applied, with redis-server's wording (ACLSetUserStringError). */
export class RuleError {
  constructor(readonly message: string) {}
}

const UNKNOWN_NAME = new RuleError("Unknown command or category name in ACL")
const SYNTAX = new RuleError("Syntax error")
const AFTER_ALL_KEYS = new RuleError(
  "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
)
const AFTER_ALL_CHANNELS = new RuleError(
  "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
)
const NO_SUCH_PASSWORD = new RuleError("The password you are trying to remove from the user does not exist")
const BAD_HASH = new RuleError("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
const SUBCOMMAND_FIRST_ARG = new RuleError("Allowing first-arg of a subcommand is not supported")
const NO_SELECTORS = new RuleError("Selectors ('(...)') are not supported by raft-kv: give each set of permissions its own user")
const NO_FIRST_ARGS = new RuleError("Allowing one first argument of a command ('+command|arg') is not supported by raft-kv")

/** Whitespace or NUL: not allowed in user names and patterns (acl.c ACLStringHasSpaces). */
export const hasSpaces = (text: string): boolean => /[ \t\n\v\f\r\0]/.test(text)

/** Every command and subcommand, in table order, each followed by its subcommands. */
const allSpecs = (): ReadonlyArray<CommandSpec> => {
  const specs: Array<CommandSpec> = []
  for (const spec of commandTable.values()) {
    specs.push(spec)
    for (const sub of spec.subcommands ?? []) specs.push(sub)
  }
  return specs
}

/** A command by name (`name` or `parent|sub`, any case), as acl.c ACLLookupCommand. */
const lookup = (name: string): CommandSpec | undefined => {
  const lower = name.toLowerCase()
  const bar = lower.indexOf("|")
  if (bar < 0) return commandTable.get(lower)
  const parent = commandTable.get(lower.slice(0, bar))
  return parent?.subcommands?.find((sub) => sub.name === lower)
}

export class AclUser {
  enabled = false
  nopass = false
  sanitizePayload: "skip" | "sanitize" | undefined = undefined
  /** Hex SHA-256 of each password, in the order they were added. */
  readonly passwords: Array<string> = []
  allKeys = false
  readonly keyPatterns: Array<KeyPattern> = []
  allChannels = false
  readonly channelPatterns: Array<string> = []
  /** Fast path (SELECTOR_FLAG_ALLCOMMANDS): set by +@all, cleared by any command taken away. */
  allCommands = false
  /** +@all was given (and no -@all since): the user may also run commands added later. */
  futureCommands = false
  readonly allowed = new Set<string>()

  constructor(readonly name: string) {}

  /** The default user of a server without passwords (acl.c ACLCreateDefaultUser). */
  static openDefault(): AclUser {
    const user = new AclUser("default")
    for (const rule of ["+@all", "~*", "&*", "on", "nopass"]) user.apply(rule)
    return user
  }

  /** Every command on every key: no check needed per command. */
  get unrestricted(): boolean {
    return this.allCommands && this.allKeys
  }

  /** Whether `password` opens this user (an enabled user; any password with nopass). */
  accepts(password: Uint8Array): boolean {
    const matched = this.nopass || passwordMatches(this.passwords, password)
    return this.enabled && matched
  }

  // ---------------------------------------------------------------- rules

  /** Apply one rule; a RuleError leaves the user as it was before the rule. */
  apply(rule: string): RuleError | undefined {
    if (rule.length === 0) return undefined
    const lower = rule.toLowerCase()
    switch (lower) {
      case "on":
        this.enabled = true
        return undefined
      case "off":
        this.enabled = false
        return undefined
      case "skip-sanitize-payload":
        this.sanitizePayload = "skip"
        return undefined
      case "sanitize-payload":
        this.sanitizePayload = "sanitize"
        return undefined
      case "nopass":
        this.nopass = true
        this.passwords.length = 0
        return undefined
      case "resetpass":
        this.nopass = false
        this.passwords.length = 0
        return undefined
      case "clearselectors":
        return undefined
      case "reset":
        for (const step of ["resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "-@all"]) this.apply(step)
        return undefined
    }
    switch (rule[0]) {
      case ">":
      case "#": {
        const hash = rule[0] === ">" ? hashPassword(Buffer.from(rule.slice(1), "latin1")) : rule.slice(1)
        if (!isPasswordHash(hash)) return BAD_HASH
        if (!this.passwords.includes(hash)) this.passwords.push(hash)
        this.nopass = false
        return undefined
      }
      case "<":
      case "!": {
        const hash = rule[0] === "<" ? hashPassword(Buffer.from(rule.slice(1), "latin1")) : rule.slice(1)
        if (!isPasswordHash(hash)) return BAD_HASH
        const at = this.passwords.indexOf(hash)
        if (at < 0) return NO_SUCH_PASSWORD
        this.passwords.splice(at, 1)
        return undefined
      }
      case "(":
        return NO_SELECTORS
    }
    return this.applySelectorRule(rule, lower)
  }

  private applySelectorRule(rule: string, lower: string): RuleError | undefined {
    if (lower === "allkeys" || rule === "~*") {
      this.allKeys = true
      this.keyPatterns.length = 0
      return undefined
    }
    if (lower === "resetkeys") {
      this.allKeys = false
      this.keyPatterns.length = 0
      return undefined
    }
    if (lower === "allchannels" || rule === "&*") {
      this.allChannels = true
      this.channelPatterns.length = 0
      return undefined
    }
    if (lower === "resetchannels") {
      this.allChannels = false
      this.channelPatterns.length = 0
      return undefined
    }
    if (lower === "allcommands" || lower === "+@all") {
      for (const spec of allSpecs()) this.allowed.add(spec.name)
      this.allCommands = true
      this.futureCommands = true
      return undefined
    }
    if (lower === "nocommands" || lower === "-@all") {
      this.allowed.clear()
      this.allCommands = false
      this.futureCommands = false
      return undefined
    }
    if (rule[0] === "~" || rule[0] === "%") return this.addKeyPattern(rule)
    if (rule[0] === "&") {
      if (this.allChannels) return AFTER_ALL_CHANNELS
      const pattern = rule.slice(1)
      if (hasSpaces(pattern)) return SYNTAX
      if (!this.channelPatterns.includes(pattern)) this.channelPatterns.push(pattern)
      return undefined
    }
    if ((rule[0] === "+" || rule[0] === "-") && rule[1] === "@") {
      const category = lower.slice(2)
      if (!ALL_CATEGORIES.includes(category)) return UNKNOWN_NAME
      this.setCategory(category, rule[0] === "+")
      return undefined
    }
    if (rule[0] === "+") return this.allowCommand(rule.slice(1))
    if (rule[0] === "-") {
      const spec = lookup(rule.slice(1))
      if (spec === undefined) return UNKNOWN_NAME
      this.changePermission(spec, false)
      return undefined
    }
    return SYNTAX
  }

  private addKeyPattern(rule: string): RuleError | undefined {
    if (this.allKeys) return AFTER_ALL_KEYS
    let read = true
    let write = true
    let offset = 1
    if (rule[0] === "%") {
      read = false
      write = false
      for (;;) {
        if (offset >= rule.length) return SYNTAX
        const c = rule[offset].toUpperCase()
        offset++
        if (c === "R" && !read) read = true
        else if (c === "W" && !write) write = true
        else if (c === "~") break
        else return SYNTAX
      }
    }
    const text = rule.slice(offset)
    if (hasSpaces(text)) return SYNTAX
    const pattern = Buffer.from(text, "latin1")
    const existing = this.keyPatterns.find((candidate) => candidate.pattern.equals(pattern))
    if (existing !== undefined) {
      existing.read ||= read
      existing.write ||= write
    } else this.keyPatterns.push({ pattern, read, write })
    return undefined
  }

  private allowCommand(name: string): RuleError | undefined {
    const bar = name.lastIndexOf("|")
    if (bar < 0) {
      const spec = lookup(name)
      if (spec === undefined) return UNKNOWN_NAME
      this.changePermission(spec, true)
      return undefined
    }
    const parent = lookup(name.slice(0, bar))
    if (parent === undefined) return UNKNOWN_NAME
    if (parent.name.includes("|")) return SUBCOMMAND_FIRST_ARG
    if (bar === name.length - 1) return SYNTAX
    if (parent.subcommands === undefined) return NO_FIRST_ARGS
    const sub = lookup(name)
    if (sub === undefined) return UNKNOWN_NAME
    this.changePermission(sub, true)
    return undefined
  }

  /** Allow or block a command; a container's subcommands follow it (acl.c ACLChangeSelectorPerm). */
  private changePermission(spec: CommandSpec, allow: boolean): void {
    for (const each of [spec, ...(spec.subcommands ?? [])]) {
      if (allow) this.allowed.add(each.name)
      else {
        this.allowed.delete(each.name)
        this.allCommands = false
      }
    }
  }

  /** Every command in `category` (a container in it brings all its subcommands). */
  private setCategory(category: string, allow: boolean): void {
    for (const spec of commandTable.values()) {
      if (categoriesOf(spec).includes(category)) this.changePermission(spec, allow)
      for (const sub of spec.subcommands ?? []) if (categoriesOf(sub).includes(category)) this.changePermission(sub, allow)
    }
  }

  // ---------------------------------------------------------------- checks

  /** Whether this user may run `spec` with `argv` (acl.c ACLSelectorCheckCmd); undefined: yes. */
  check(spec: CommandSpec, argv: Argv): Denial | undefined {
    if (!this.allCommands && !spec.flags.includes("no_auth") && !this.allowed.has(spec.name)) return { reason: "command" }
    if (this.allKeys) return undefined
    const positions = keyPositions(spec, argv)
    for (let i = 0; i < positions.length; i++) {
      if (!this.mayAccess(argv[positions[i]], keyAccess(spec, argv, i))) return { reason: "key", position: positions[i] }
    }
    return undefined
  }

  private mayAccess(key: Uint8Array, access: { readonly read: boolean; readonly write: boolean }): boolean {
    for (const pattern of this.keyPatterns) {
      if ((access.read && !pattern.read) || (access.write && !pattern.write)) continue
      if (stringMatch(pattern.pattern, key)) return true
    }
    return false
  }

  // ---------------------------------------------------------------- description

  /** The flags ACL GETUSER lists, in Redis's order. */
  flags(): Array<string> {
    const flags: Array<string> = [this.enabled ? "on" : "off"]
    if (this.nopass) flags.push("nopass")
    if (this.sanitizePayload === "skip") flags.push("skip-sanitize-payload")
    if (this.sanitizePayload === "sanitize") flags.push("sanitize-payload")
    return flags
  }

  /** Key patterns as rules (`~*`, or each `~p`, `%R~p`, `%W~p`), as ACL LIST shows them. */
  keyRules(): Array<string> {
    if (this.allKeys) return ["~*"]
    return this.keyPatterns.map(({ pattern, read, write }) => `${read && write ? "~" : read ? "%R~" : "%W~"}${pattern.toString("latin1")}`)
  }

  channelRules(): Array<string> {
    return this.allChannels ? ["&*"] : this.channelPatterns.map((pattern) => `&${pattern}`)
  }

  /** The user in ACL file syntax, without `user <name>` (acl.c ACLDescribeUser). */
  describe(): string {
    const parts = [...this.flags(), ...this.passwords.map((hash) => `#${hash}`), ...this.keyRules()]
    if (!this.allChannels) parts.push("resetchannels")
    parts.push(...this.channelRules(), this.commandRules())
    return parts.join(" ")
  }

  /**
   * The command permissions as the shortest-looking rules that recreate them, by Redis's own
   * method (acl.c ACLDescribeSelectorCommandRules): +@all or -@all, then greedily the category
   * that fits best, then single commands for what is left.
   */
  commandRules(): string {
    const rules: Array<string> = []
    const additive = !this.futureCommands
    const fake = new AclUser("")
    const first = additive ? "-@all" : "+@all"
    rules.push(first)
    fake.apply(first)
    const temp = new AclUser("")
    for (const name of this.allowed) temp.allowed.add(name)
    const applied = new Set<string>()
    const specs = allSpecs()
    for (;;) {
      let best: string | undefined
      let minDiff = Number.MAX_SAFE_INTEGER
      let maxSame = 0
      for (const category of ALL_CATEGORIES) {
        if (applied.has(category)) continue
        let on = 0
        let off = 0
        for (const spec of specs) {
          if (!categoriesOf(spec).includes(category)) continue
          if (temp.allowed.has(spec.name)) on++
          else off++
        }
        const diff = additive ? off : on
        const same = additive ? on : off
        if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
          best = category
          minDiff = diff
          maxSame = same
        }
      }
      if (best === undefined) break
      fake.setCategory(best, additive)
      temp.setCategory(best, !additive)
      rules.push(`${additive ? "+" : "-"}@${best}`)
      applied.add(best)
    }
    for (const spec of specs) {
      const mine = this.allowed.has(spec.name)
      if (mine !== fake.allowed.has(spec.name)) {
        rules.push(`${mine ? "+" : "-"}${spec.name}`)
        fake.changePermission(spec, mine)
      }
    }
    return rules.join(" ")
  }
}
