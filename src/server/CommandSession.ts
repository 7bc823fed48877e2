/**
 * One client's command handling, independent of its socket: find each command's declaration,
 * queue it between MULTI and EXEC, answer it here (local commands), or hand it to consensus.
 * The connection supplies the I/O (reply slots in request order, ordered submission, closing);
 * tests drive the same class without a socket.
 */
import type { AclUser } from "../acl/AclUser.js"
import { admit } from "../commands/access.js"
import { blockingCall } from "../commands/blocking.js"
import { resolve } from "../commands/classify.js"
import { parseInt64 } from "../commands/integers.js"
import { isWrite, type Argv, type CommandSpec } from "../commands/registry.js"
import type { ClientSession, ClientState, ReplyTo, ServerView, StateRequest } from "../commands/session.js"
import { commandName } from "../commands/table.js"
import { discardTransaction, TRANSACTION_CONTROL } from "../commands/transactions.js"
import type { ReadMode } from "../cli/readFlags.js"
import type { CommandTiming } from "../metrics/NodeMetrics.js"
import type { Protocol } from "../resp/encode.js"
import { error, QUEUED, type Reply } from "../resp/Reply.js"

const NOT_IN_MULTI = error("ERR Command not allowed inside a transaction")

/** What a session needs from its connection. */
export interface SessionIo {
  /** A reply slot in request order, encoded in `protocol`; `timing` observes the time until it is filled. */
  readonly reserve: (protocol: Protocol, timing?: CommandTiming, holdEarlier?: boolean) => ReplyTo
  /** The duration histogram of a command, by name (metrics); absent: commands are not timed. */
  readonly timing?: (name: string) => CommandTiming
  /** Hand a request to consensus in the connection's command order. */
  readonly submit: (request: StateRequest, replyTo: ReplyTo) => void
  readonly closeAfterReply: () => void
  /** The connection is closing (QUIT, CLIENT KILL, gone): commands held until now are dropped, not run. */
  readonly stopped?: () => boolean
  /** Counts a command (INFO total_commands_processed) and an error reply. */
  readonly onCommand?: () => void
  readonly onError?: () => void
}

export class CommandSession implements ClientSession {
  constructor(
    readonly client: ClientState,
    readonly server: ServerView,
    private readonly io: SessionIo
  ) {}

  /** The running command's duration histogram, taken by the first reply slot the command reserves. */
  private timing: CommandTiming | undefined = undefined

  reserve = (options?: { readonly holdEarlier?: boolean }): ReplyTo => {
    const timing = this.timing
    this.timing = undefined
    return this.io.reserve(this.client.protocol, timing, options?.holdEarlier === true)
  }

  submit = (request: StateRequest, replyTo: ReplyTo): void => this.io.submit(request, replyTo)

  closeAfterReply = (): void => this.io.closeAfterReply()

  /**
   * What was read while the input is held (see `holdInput`), in order: commands, and steps of the
   * connection's own (a protocol error's reply). Undefined: the input is not held.
   */
  private held: Array<Argv | (() => void)> | undefined = undefined

  /** Commands read now wait (EXEC with queued local commands, until consensus answers it). */
  get holding(): boolean {
    return this.held !== undefined
  }

  holdInput = (): (() => void) => {
    this.held ??= []
    let released = false
    return () => {
      if (released) return
      released = true
      this.releaseHeld()
    }
  }

  /** Run `step` in order with the commands read before it: now, or once the held ones have run. */
  inOrder(step: () => void): void {
    if (this.held !== undefined) this.held.push(step)
    else step()
  }

  /** Run what was held, in order, until one of them (another EXEC) holds the input again. */
  private releaseHeld(): void {
    const items = this.held
    this.held = undefined
    if (items === undefined) return
    for (let i = 0; i < items.length; i++) {
      // (TypeScript narrowed `held` to undefined above; a step may have held the input again.)
      const again = this.held as Array<Argv | (() => void)> | undefined
      if (again !== undefined) {
        // Nothing is read while a step runs: the new hold's list is still empty.
        again.push(...items.slice(i))
        return
      }
      const item = items[i]
      if (typeof item === "function") item()
      else if (this.io.stopped?.() !== true) this.onCommand(item)
    }
  }

  /** Answer now (in order with the earlier replies), in the client's current protocol. */
  reply(reply: Reply): void {
    if (reply._tag === "Error") this.io.onError?.()
    this.reserve()(reply)
  }

  onCommand(argv: Argv): void {
    if (this.held !== undefined) {
      this.held.push(argv)
      return
    }
    const client = this.client
    this.io.onCommand?.()
    client.lastCommandAt = Date.now()
    let resolved = resolve(argv)
    // Authentication and the ACL come before anything else, also between MULTI and EXEC (Redis's processCommand).
    if ("spec" in resolved) {
      const refused = admit(this, resolved.spec, argv)
      if (refused !== undefined) resolved = { error: refused }
    }
    if ("error" in resolved && commandName(argv[0]) === "exec") {
      // A refused EXEC ends the transaction (and its watches), as redis-server's execCommandAbort does.
      discardTransaction(this)
      const reason = resolved.error._tag === "Error" ? resolved.error.message.replace(/^ERR /, "") : ""
      return this.reply(error(`EXECABORT Transaction discarded because of: ${reason}`))
    }
    const multi = client.multi
    if (multi !== undefined && !("spec" in resolved && TRANSACTION_CONTROL.has(resolved.spec.name))) {
      // Between MULTI and EXEC: queue (Redis only checks existence and arity here).
      if ("error" in resolved) {
        multi.aborted = true
        return this.reply(resolved.error)
      }
      if (resolved.spec.flags.includes("no_multi")) {
        multi.aborted = true
        return this.reply(NOT_IN_MULTI)
      }
      multi.queue.push({ spec: resolved.spec, argv, db: multi.db })
      if (resolved.spec.name === "select") {
        const index = parseInt64(argv[1])
        if (index !== undefined && index >= 0n && index < 16n) multi.db = Number(index)
      }
      return this.reply(QUEUED)
    }
    if ("error" in resolved) return this.reply(resolved.error)
    this.run(resolved.spec, argv)
  }

  private run(spec: CommandSpec, argv: Argv): void {
    this.timing = this.io.timing?.(spec.name)
    try {
      this.dispatch(spec, argv)
    } finally {
      this.timing = undefined
    }
  }

  private dispatch(spec: CommandSpec, argv: Argv): void {
    const client = this.client
    client.lastCommand = spec.name
    const invalid = spec.validate?.(argv, Date.now())
    if (invalid !== undefined) return this.reply(invalid)
    const route = spec.route
    if (route === undefined) return this.reply(error(`ERR '${spec.name}' needs a subcommand`))
    if (route.kind === "local") {
      const reply = route.run(this, argv)
      if (reply !== undefined) this.reply(reply)
      return
    }
    const request: StateRequest =
      spec.block !== undefined
        ? { kind: "block", call: blockingCall(spec.block, client.db, argv) }
        : isWrite(spec)
          ? { kind: "write", payload: { kind: "command", db: client.db, argv } }
          : { kind: "read", request: { kind: "command", db: client.db, argv }, mode: client.readMode }
    this.submit(request, this.reserve())
  }
}

/** A new client's state: the default user, authenticated unless it needs a password. */
export const newClientState = (
  id: number,
  address: string,
  localAddress: string,
  readMode: ReadMode,
  kill: () => void,
  login: { readonly user: AclUser; readonly authenticated: boolean }
): ClientState => {
  const now = Date.now()
  return {
    id,
    name: null,
    libName: "",
    libVersion: "",
    protocol: 2,
    db: 0,
    address,
    localAddress,
    createdAt: now,
    lastCommandAt: now,
    lastCommand: "NULL",
    multi: undefined,
    watchSession: 0,
    user: login.user,
    authenticated: login.authenticated,
    readMode,
    kill
  }
}
