/**
 * Commands end to end without a cluster: real command sessions (the connection's own command
 * handling: MULTI queueing, local commands, routing) over a real StateMachine and engine, with the
 * log replaced by applying each write at once as the next entry. Time is the runner's to set, so
 * expiry is tested without waiting. Several clients can share one runner (WATCH from two
 * connections).
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { encodeReply, type Protocol } from "../../src/resp/encode.js"
import type { Payload } from "../../src/commands/CommandCodec.js"
import type { ClientState, ClusterView, ServerView, StateRequest } from "../../src/commands/session.js"
import type { AdminCommand, AdminOutcome } from "../../src/node/Admin.js"
import { StateMachine } from "../../src/commands/StateMachine.js"
import { KvEngine, type KvEngineService } from "../../src/engine/KvEngine.js"
import { MemoryEngine } from "../../src/engine/MemoryEngine.js"
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

export class TestClient {
  readonly state: ClientState
  readonly session: CommandSession
  private killed = false

  constructor(
    private readonly runner: CommandRunner,
    id: number
  ) {
    this.state = newClientState(id, `127.0.0.1:${40000 + id}`, "127.0.0.1:6379", () => {
      this.killed = true
    })
    this.session = new CommandSession(this.state, runner.server, {
      reserve: () => runner.slot(),
      submit: (request, replyTo) => runner.submit(request, replyTo),
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
  readonly server: ServerView
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
    readonly machine: StateMachine
  ) {
    this.server = {
      nodeId: 1,
      port: 6379,
      infoSection: (name) => (name === "keyspace" ? `# Keyspace${machine.keyspaceInfo().map(({ db, keys, expires }) => `\r\ndb${db}:keys=${keys},expires=${expires},avg_ttl=0`).join("")}` : name === "server" ? "# Server\r\nredis_version:7.0.0" : undefined),
      infoSections: INFO_SECTIONS,
      clients: () => [],
      newWatchSession: () => 2 ** 32 + ++this.watchSessions,
      requestSnapshot: (replyTo) => replyTo?.(OK),
      lastSave: () => 0,
      proposeInBackground: (payload) => this.submit({ kind: "write", payload }, () => {}),
      cluster: () => this.clusterView,
      admin: (command, reply) => {
        this.adminRequests.push(command)
        reply(this.answerAdmin(command))
      }
    }
  }

  static async make(engine?: KvEngineService): Promise<CommandRunner> {
    const resolved = engine ?? (await engineOf()).engine
    return new CommandRunner(resolved, await Effect.runPromise(StateMachine.load(resolved)))
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
    }
  }

  /** Apply a write as the next log entry, or serve a read, strictly in submission order. */
  submit(request: StateRequest, replyTo: (reply: Reply) => void): void {
    this.chain = this.chain.then(async () => {
      if (request.kind === "write") replyTo(await this.apply(request.payload))
      else {
        const result = this.machine.read(this.machine.readContext(this.now), request.request)
        replyTo(Effect.isEffect(result) ? await Effect.runPromise(result) : result)
      }
    })
  }

  /** Apply one entry now (also what the reaper's entries go through). */
  async apply(payload: Payload, origin = 1): Promise<Reply> {
    const index = ++this.index
    const command = { origin, seq: 2 ** 32 + ++this.seq, time: this.now, payload }
    const result = await Effect.runPromise(this.machine.apply([{ index, command }], index))
    return result.replies[0]
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
