/**
 * Commands end to end without a cluster: real command sessions (the connection's own command
 * handling: MULTI queueing, local commands, routing) over a real StateMachine and engine, with the
 * log replaced by applying each write at once as the next entry. Time is the runner's to set, so
 * expiry is tested without waiting. Several clients can share one runner (WATCH from two
 * connections). Blocking commands wait in the node's own registry (src/node/BlockedClients.ts),
 * woken by the entries applied after them and timed out by `advance`.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { AclLog } from "../../src/acl/AclLog.js"
import { Users } from "../../src/acl/Users.js"
import { encodeReply, type Protocol } from "../../src/resp/encode.js"
import type { Payload } from "../../src/commands/CommandCodec.js"
import type { BlockingCall } from "../../src/commands/blocking.js"
import type { ClientState, ClusterView, ServerView, StateRequest } from "../../src/commands/session.js"
import { StateMachine, type ReadyKey } from "../../src/commands/StateMachine.js"
import type { AdminCommand, AdminOutcome } from "../../src/node/Admin.js"
import { KvEngine, type KvEngineService } from "../../src/engine/KvEngine.js"
import { MemoryEngine } from "../../src/engine/MemoryEngine.js"
import { BlockedClients, type Waiter } from "../../src/node/BlockedClients.js"
import { OK, type Reply } from "../../src/resp/Reply.js"
import { CommandSession, newClientState } from "../../src/server/CommandSession.js"
import { INFO_SECTIONS } from "../../src/server/Info.js"

/** Build an engine Layer outside any test scope; `close` releases it (a LevelDB engine closes its files). */
export const engineOf = async (layer: Layer.Layer<KvEngine, unknown> = MemoryEngine.layer) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(layer, scope)
      return { engine: context.unsafeMap.get(KvEngine.key) as KvEngineService, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
    })
  )

/**
 * The engine as one whose point reads wait on I/O (no `getNow`; without `getMany` too unless
 * `batched`): the state machine's asynchronous read paths, which the built-in engines skip.
 */
export const withoutSynchronousReads = (engine: KvEngineService, batched: boolean): KvEngineService => {
  const { getNow: _now, getMany, ...rest } = engine
  return batched && getMany !== undefined ? { ...rest, getMany } : rest
}

export class TestClient {
  readonly state: ClientState
  readonly session: CommandSession
  private killed = false
  /** Cancels this client's blocking command, if one waits. */
  private cancelBlocked: (() => void) | undefined

  constructor(
    private readonly runner: CommandRunner,
    id: number
  ) {
    const users = runner.server.acl.users
    this.state = newClientState(
      id,
      `127.0.0.1:${40000 + id}`,
      "127.0.0.1:6379",
      "linearizable",
      () => {
        this.killed = true
      },
      { user: users.defaultUser, authenticated: users.openByDefault }
    )
    this.session = new CommandSession(this.state, runner.server, {
      reserve: () => runner.slot(),
      submit: (request, replyTo) => {
        if (request.kind !== "block") return runner.submit(request, replyTo)
        this.cancelBlocked = runner.block(request.call, (reply) => {
          this.cancelBlocked = undefined
          replyTo(reply)
        })
      },
      closeAfterReply: () => {
        this.killed = true
      }
    })
  }

  get closed(): boolean {
    return this.killed
  }

  /** Send a command and wait for its reply. */
  async call(...argv: ReadonlyArray<string | Buffer>): Promise<Reply> {
    const before = this.runner.replies.length
    this.session.onCommand(argv.map((arg) => (typeof arg === "string" ? Buffer.from(arg, "latin1") : arg)))
    await this.runner.settled()
    return this.runner.replies[before]
  }

  /** Send a command without waiting for it: the promise resolves with its reply whenever it comes (a blocking command). */
  send(...argv: ReadonlyArray<string | Buffer>): Promise<Reply> {
    const position = this.runner.replies.length
    this.session.onCommand(argv.map((arg) => (typeof arg === "string" ? Buffer.from(arg, "latin1") : arg)))
    return this.runner.replyAt(position)
  }

  /** The connection closes: a blocking command stops waiting. */
  close(): void {
    this.killed = true
    this.cancelBlocked?.()
    this.cancelBlocked = undefined
  }

  /** The reply as it goes on the wire in the client's protocol (what a client sees). */
  async wire(...argv: ReadonlyArray<string | Buffer>): Promise<string> {
    const reply = await this.call(...argv)
    // The protocol after the command: HELLO answers in the one it switched to.
    const protocol: Protocol = this.state.protocol
    return encodeReply(reply, protocol).toString("latin1")
  }
}

export class CommandRunner {
  /** The runner's clock (epoch ms): every write applies at this time, every read reads at it. */
  now = 1_700_000_000_000
  readonly replies: Array<Reply> = []
  private index = 0
  private seq = 0
  private nextClient = 1
  private chain: Promise<unknown> = Promise.resolve()
  private watchSessions = 0
  private blockingCalls = 0
  private readonly replyWaiters = new Map<number, (reply: Reply) => void>()
  /** The node's blocked clients, as the Applier keeps them; their retries apply as the next entries. */
  readonly blocked = new BlockedClients((waiter, argv) => this.attempt(waiter, argv))
  readonly server: ServerView
  /** Refusals counted, by reason (what INFO's acl_access_denied_* show). */
  readonly denied = { auth: 0, command: 0, key: 0 }
  /** What CLUSTER and ROLE see: a single node that leads, unless a test says otherwise. */
  clusterView: ClusterView = {
    self: 1,
    leader: 1,
    term: 1,
    appliedIndex: 0,
    members: [{ id: 1, suffrage: "voter", peerAddress: "127.0.0.1:16379", clientAddress: "127.0.0.1:6379", reachable: true }]
  }
  /** Administration requests the commands made, and how the "node" answers them. */
  readonly adminRequests: Array<AdminCommand> = []
  answerAdmin: (command: AdminCommand) => AdminOutcome = (command) =>
    command.kind === "nodes" ? { kind: "nodes", leader: 1, rows: [] } : command.kind === "transfer" ? { kind: "transferred", leader: 2 } : { kind: "changed" }

  private constructor(
    readonly engine: KvEngineService,
    readonly machine: StateMachine,
    users: Users
  ) {
    this.server = {
      nodeId: 1,
      port: 6379,
      readMode: "linearizable",
      maxClients: 10000,
      infoSection: (name) => (name === "keyspace" ? `# Keyspace${machine.keyspaceInfo().map(({ db, keys, expires }) => `\r\ndb${db}:keys=${keys},expires=${expires},avg_ttl=0`).join("")}` : name === "server" ? "# Server\r\nredis_version:7.0.0" : undefined),
      infoSections: INFO_SECTIONS,
      clients: () => [],
      newWatchSession: () => 2 ** 32 + ++this.watchSessions,
      requestSnapshot: (replyTo) => replyTo?.(OK),
      lastSave: () => 0,
      acl: { users, log: new AclLog(), countDenied: (reason) => this.denied[reason]++ },
      cluster: () => this.clusterView,
      admin: (command, reply) => {
        this.adminRequests.push(command)
        reply(this.answerAdmin(command))
      }
    }
  }

  /** A runner over `engine` (default: a fresh memory engine), with `users` (default: the open default user). */
  static async make(engine?: KvEngineService, users: Users = Users.open()): Promise<CommandRunner> {
    const resolved = engine ?? (await engineOf()).engine
    return new CommandRunner(resolved, await Effect.runPromise(StateMachine.load(resolved)), users)
  }

  client(): TestClient {
    return new TestClient(this, this.nextClient++)
  }

  /** A reply slot, in the order commands were sent. */
  slot(): (reply: Reply) => void {
    const position = this.replies.length
    this.replies.push(undefined as unknown as Reply)
    return (reply) => {
      this.replies[position] = reply
      this.replyWaiters.get(position)?.(reply)
      this.replyWaiters.delete(position)
    }
  }

  /** The reply at `position`, once it is there. */
  replyAt(position: number): Promise<Reply> {
    const reply = this.replies[position]
    if (reply !== undefined) return Promise.resolve(reply)
    return new Promise((resolve) => this.replyWaiters.set(position, resolve))
  }

  /** A blocking command: its first attempt applies as the next entry; if it must wait, it waits in `blocked`. Returns its cancellation. */
  block(call: BlockingCall, replyTo: (reply: Reply) => void): () => void {
    const cancelled = new AbortController()
    const waiter: Waiter = {
      id: ++this.blockingCalls,
      call,
      deadline: call.timeoutMs === 0 ? Number.POSITIVE_INFINITY : this.now + call.timeoutMs,
      replyTo,
      signal: cancelled.signal
    }
    this.attempt(waiter, call.argv)
    return () => {
      cancelled.abort()
      this.blocked.cancel(waiter.id)
    }
  }

  /** Let time pass: blocked clients whose timeout came get their null reply. */
  advance(ms: number): void {
    this.now += ms
    this.blocked.expire(this.now)
  }

  private attempt(waiter: Waiter, argv: ReadonlyArray<Uint8Array>): void {
    this.chain = this.chain.then(async () => {
      const { reply, ready } = await this.applyEntry({ kind: "command", db: waiter.call.db, argv })
      this.blocked.attempted(waiter, reply, this.now)
      await this.wakeBlocked(ready)
    })
  }

  /** What the Applier does after a batch: wake the blocked clients the new elements may serve. */
  private async wakeBlocked(ready: ReadonlyArray<ReadyKey>): Promise<void> {
    const keys = this.blocked.keysToCheck(ready)
    if (keys.length === 0) return
    const contents = await Effect.runPromise(this.machine.contents(keys, this.now))
    this.blocked.wake(keys.map((key, i) => ({ ...key, ...contents[i] })))
  }

  /** Apply a write as the next log entry, or serve a read, strictly in submission order. */
  submit(request: StateRequest, replyTo: (reply: Reply) => void): void {
    this.chain = this.chain.then(async () => {
      if (request.kind === "write") {
        const { reply, ready } = await this.applyEntry(request.payload)
        replyTo(reply)
        await this.wakeBlocked(ready)
      } else if (request.kind === "read") {
        const result = this.machine.read(this.machine.readContext(this.now), request.request)
        replyTo(Effect.isEffect(result) ? await Effect.runPromise(result) : result)
      } else this.block(request.call, replyTo)
    })
  }

  /** Apply one entry now (also what the reaper's entries go through). */
  async apply(payload: Payload, origin = 1): Promise<Reply> {
    return (await this.applyEntry(payload, origin)).reply
  }

  /** Apply `payloads` as consecutive entries of one batch (as an applier takes them); their replies. */
  async applyAll(payloads: ReadonlyArray<Payload>, origin = 1): Promise<ReadonlyArray<Reply>> {
    const entries = payloads.map((payload) => ({ index: ++this.index, command: { origin, seq: 2 ** 32 + ++this.seq, time: this.now, payload } }))
    return (await Effect.runPromise(this.machine.apply(entries, this.index))).replies
  }

  private async applyEntry(payload: Payload, origin = 1): Promise<{ reply: Reply; ready: ReadonlyArray<ReadyKey> }> {
    const index = ++this.index
    const command = { origin, seq: 2 ** 32 + ++this.seq, time: this.now, payload }
    const result = await Effect.runPromise(this.machine.apply([{ index, command }], index))
    return { reply: result.replies[0], ready: result.ready }
  }

  /** Wait until every submitted request has been answered. */
  async settled(): Promise<void> {
    let current: Promise<unknown>
    do {
      current = this.chain
      await current
    } while (current !== this.chain)
  }
}

/** A runner on the memory engine and its first client. */
export const newSession = async (): Promise<{ readonly runner: CommandRunner; readonly client: TestClient }> => {
  const runner = await CommandRunner.make()
  return { runner, client: runner.client() }
}

/** Each command in turn, and its wire reply (RESP2 unless the client switched). */
export const replies = async (client: TestClient, ...commands: Array<Array<string>>): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const command of commands) out.push(await client.wire(...command))
  return out
}
