/**
 * One client connection: bytes in → argv → the command's declaration → answered here (local
 * commands), queued (between MULTI and EXEC), or handed to consensus through KvService; replies
 * leave in request order through the ReplyQueue, each in the protocol (RESP2 or RESP3) that was
 * in effect when its command arrived. Reading pauses while too many replies are outstanding, the
 * commands in flight hold too many bytes, or the client does not read its replies, so a
 * pipelining client cannot grow the server's memory without bound.
 *
 * The connection is a part of the node's supervision tree (`serve`, run by ClientServer as a
 * transient part): its fiber takes the socket's bytes (SocketInput) and runs the commands, so an
 * exception there fails only that fiber, which closes the connection with a warning. Code that
 * runs outside the fiber for this connection (writing replies, completed by the Applier; the
 * socket's 'drain') is guarded: a defect there is handed to the fiber, with the same effect.
 */
import type * as net from "node:net"
import { Deferred, Effect, FiberId } from "effect"
import type { Argv } from "../commands/registry.js"
import type { ClientState, ReplyTo, ServerView, StateRequest } from "../commands/session.js"
import { endWatch } from "../commands/transactions.js"
import type { InjectedDefectsService } from "../node/InjectedDefects.js"
import type { KvServiceApi } from "../node/KvService.js"
import type { SocketClosed, SocketInput } from "../node/SocketInput.js"
import type { StatsService } from "../node/Stats.js"
import type { CommandTiming } from "../metrics/NodeMetrics.js"
import { ARGUMENT_OVERHEAD_BYTES, RequestParser } from "../resp/RequestParser.js"
import { error } from "../resp/Reply.js"
import type { AclUser } from "../acl/AclUser.js"
import { CommandSession, newClientState } from "./CommandSession.js"
import { ConnectionOrder } from "./ConnectionOrder.js"
import { ReplyQueue } from "./ReplyQueue.js"

/** Outstanding replies per connection before we stop reading from it. */
const MAX_PENDING_REPLIES = 4096
/**
 * Memory held by one connection's large commands in flight (their bytes plus
 * ARGUMENT_OVERHEAD_BYTES per argument) before we stop reading from it. Commands costing less
 * than LARGE_COMMAND_BYTES are not counted (no bookkeeping on the hot path): at most
 * MAX_PENDING_REPLIES of them are outstanding, each pinning at most its read chunk (64 KiB).
 */
const MAX_PENDING_BYTES = 64 * 1024 * 1024
const LARGE_COMMAND_BYTES = 4096
/** Replies written but not yet taken by the kernel (a client that does not read) before we stop reading. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024
/**
 * Unread replies beyond which the client is disconnected (redis-server's client-output-buffer-limit
 * hard limit): commands read before reading stopped still produce their replies, and a pipeline
 * of GETs of large values read in one chunk could otherwise hold any amount of memory.
 */
export const MAX_OUTPUT_HARD_BYTES = 2 * MAX_OUTPUT_BYTES

const commandCost = (argv: Argv): number => {
  let bytes = argv.length * ARGUMENT_OVERHEAD_BYTES
  for (const arg of argv) bytes += arg.length
  return bytes
}

/** What a request holds in memory while in flight: its commands' bytes. */
const requestCost = (request: StateRequest): number => {
  if (request.kind === "block") return commandCost(request.call.argv)
  const inner = request.kind === "write" ? request.payload : request.request
  switch (inner.kind) {
    case "command":
      return commandCost(inner.argv)
    case "transaction": {
      let bytes = 0
      for (const queued of inner.commands) bytes += commandCost(queued.argv)
      return bytes
    }
    case "watch":
      return commandCost(inner.keys)
    default:
      return 0
  }
}

const addressOf = (host: string | undefined, port: number | undefined) => `${host ?? "?"}:${port ?? 0}`

export interface ConnectionDeps {
  readonly kv: KvServiceApi
  readonly server: ServerView
  readonly stats: StatsService
  readonly defects: InjectedDefectsService
  /** The duration histogram of a command (metrics), by its lower-case name. */
  readonly commandTiming?: (name: string) => CommandTiming
  /** Called once the connection is gone. */
  readonly onClose: (client: ClientState) => void
}

export class Connection {
  readonly client: ClientState
  readonly session: CommandSession
  private readonly replies: ReplyQueue
  private readonly order: ConnectionOrder
  private readonly parser: RequestParser
  private closing = false
  /** The client shut down its side: nothing more will arrive, close once every reply is out. */
  private clientEnded = false
  private paused = false
  private pendingBytes = 0
  /** Completed (as a defect) by a guarded callback that threw; the fiber fails with it. */
  private readonly defect = Deferred.unsafeMake<never>(FiberId.none)
  private readonly closed = Deferred.unsafeMake<void>(FiberId.none)

  constructor(
    private readonly socket: net.Socket,
    private readonly input: SocketInput,
    id: number,
    login: { readonly user: AclUser; readonly authenticated: boolean },
    private readonly deps: ConnectionDeps
  ) {
    this.client = newClientState(id, addressOf(socket.remoteAddress, socket.remotePort), addressOf(socket.localAddress, socket.localPort), deps.server.readMode, () => this.kill(), login)
    this.order = new ConnectionOrder(deps.kv, (defect) => this.fail(defect))
    this.client.blocked = () => this.order.blocked
    this.client.unblock = (reply) => this.order.unblock(reply)
    this.replies = new ReplyQueue(
      (chunks) => this.write(chunks),
      () => this.drained(),
      (defect) => this.fail(defect)
    )
    this.session = new CommandSession(this.client, deps.server, {
      reserve: (protocol, timing, holdEarlier) => this.replies.reserve(protocol, timing, holdEarlier),
      ...(deps.commandTiming !== undefined ? { timing: deps.commandTiming } : {}),
      submit: (request, replyTo) => this.submit(request, replyTo),
      closeAfterReply: () => this.quit(),
      stopped: () => this.closing,
      onCommand: () => deps.stats.commandsProcessed++,
      onError: () => deps.stats.errorReplies++
    })
    this.parser = new RequestParser(
      (argv) => {
        if (!this.closing) this.session.onCommand(argv)
      },
      (message) => this.onProtocolError(message)
    )
    socket.on("drain", () => this.guard(() => this.updateFlow()))
    socket.once("close", () => Deferred.unsafeDone(this.closed, Effect.void))
  }

  /**
   * The connection's fiber: commands as their bytes arrive, until the socket closes (after the
   * replies to a client that shut down its side are out). Fails with any defect of the
   * connection; ends the WATCH session and forgets the client however it ends.
   */
  readonly serve: Effect.Effect<void> = Effect.suspend(() => {
    // A loop of its own rather than Effect.forever, which yields to the scheduler at every turn:
    // one scheduler round trip per chunk is measurable at tens of thousands of commands a second.
    // The loop cannot starve anything: it waits whenever no chunk is queued.
    const read: Effect.Effect<never, SocketClosed> = Effect.flatMap(this.input.takeChunks, (chunks) => {
      this.deps.defects.clientInput(chunks)
      for (const chunk of chunks) this.onData(chunk)
      this.updateFlow()
      return read
    })
    const untilEnd = Effect.catchTag(read, "SocketClosed", () => Effect.sync(() => this.onInputEnd()))
    return Effect.raceFirst(Effect.zipRight(untilEnd, Deferred.await(this.closed)), Deferred.await(this.defect))
  }).pipe(Effect.ensuring(Effect.sync(() => this.dispose())))

  private dispose(): void {
    // Commands still held behind an EXEC (CommandSession.holdInput) never run.
    this.closing = true
    this.socket.destroy()
    // A blocked command stops waiting; then the client's WATCH session is ended through the log
    // (its keys stop being tracked), after the writes it sent before leaving.
    this.order.close()
    endWatch(this.session)
    this.deps.onClose(this.client)
  }

  /** A defect outside the fiber: close the connection, and let its fiber fail with it (logged by the supervisor). */
  private fail(defect: unknown): void {
    Deferred.unsafeDone(this.defect, Effect.die(defect))
  }

  private guard(run: () => void): void {
    try {
      run()
    } catch (defect) {
      this.fail(defect)
    }
  }

  private submit(request: StateRequest, replyTo: ReplyTo): void {
    const bytes = requestCost(request)
    if (bytes < LARGE_COMMAND_BYTES) {
      this.order.submit(request, replyTo)
      return
    }
    this.pendingBytes += bytes
    this.order.submit(request, (answer) => {
      this.pendingBytes -= bytes
      replyTo(answer)
    })
  }

  /**
   * QUIT: nothing after it is read, and the connection closes once every reply is out. A blocking
   * command before it is not cut short: it waits its turn as a blocked redis-server client does
   * (QUIT is read only once it is answered). Input is still read (and dropped) while one is in
   * flight, so the end of the client's input still frees the blocked client.
   */
  private quit(): void {
    this.closing = true
    if (!this.order.hasBlocking) this.input.pauseReading(true)
    else if (this.paused) {
      // Reading may have stopped before QUIT (flow control, an EXEC holding the input), and
      // updateFlow no longer runs once closing: read on, so a client that leaves is seen.
      this.paused = false
      this.input.pauseReading(false)
    }
  }

  private closeAfterReply(): void {
    this.closing = true
    this.input.pauseReading(true)
    // A blocking command ends: it answers now, or once the pop it has in flight is decided (see ConnectionOrder.release).
    this.order.release()
  }

  private onData(chunk: Buffer): void {
    this.deps.stats.netInputBytes += chunk.length
    this.parser.push(chunk)
  }

  /** The client shut down its side (or the socket is gone): close once every reply is out. */
  private onInputEnd(): void {
    this.clientEnded = true
    // A blocked command stops waiting (redis-server frees a client at end of input): a client
    // that has gone would otherwise take the next element pushed, into a socket nobody reads.
    this.order.endOfInput()
    if (this.replies.pending === 0) this.socket.end()
  }

  // Like Redis: report the protocol error, then close the connection (the stream is unusable).
  // Commands parsed before the bad bytes but held behind an EXEC are answered first.
  private onProtocolError(message: string): void {
    this.session.inOrder(() => {
      if (this.closing) return
      this.closing = true
      this.input.pauseReading(true)
      this.session.reply(error(`ERR ${message}`))
    })
  }

  private kill(): void {
    // CLIENT KILL (or a node's clean stop) closes the connection once the replies to the commands
    // it read are out, as Redis does for the calling connection. A blocked client is answered
    // first (null, or the element its pop already in the log took: an element is never lost).
    if (this.replies.pending > 0) this.closeAfterReply()
    else this.socket.destroy()
  }

  // ---------------------------------------------------------------- output and flow control

  private write(chunks: ReadonlyArray<Buffer>): void {
    if (this.socket.destroyed) return
    for (const chunk of chunks) this.deps.stats.netOutputBytes += chunk.length
    if (chunks.length === 1) this.socket.write(chunks[0])
    else {
      // Several buffers (a large reply): one writev, no copy into one buffer.
      this.socket.cork()
      for (const chunk of chunks) this.socket.write(chunk)
      this.socket.uncork()
    }
    if (this.socket.writableLength > MAX_OUTPUT_HARD_BYTES) {
      process.stdout.write(
        `raft-kv: closing client ${this.client.address}: ${this.socket.writableLength} bytes of replies unread (over ${MAX_OUTPUT_HARD_BYTES}; the client does not read what it asked for)\n`
      )
      this.socket.destroy()
    }
  }

  private drained(): void {
    // After QUIT or a protocol error the connection closes, as Redis closes it, once the reply is out.
    if (this.closing && this.replies.pending === 0) this.socket.end(() => this.socket.destroy())
    else if (this.clientEnded && this.replies.pending === 0) this.socket.end()
    else this.updateFlow()
  }

  /**
   * Stop reading while the connection holds too much, or holds the commands read behind an EXEC
   * (their number is bounded by what one read brought); read again once it is down to half.
   */
  private updateFlow(): void {
    if (this.closing || this.clientEnded) return
    const socket = this.socket
    const holding = this.session.holding
    if (!this.paused) {
      if (holding || this.replies.pending >= MAX_PENDING_REPLIES || this.pendingBytes >= MAX_PENDING_BYTES || socket.writableLength >= MAX_OUTPUT_BYTES) {
        this.paused = true
        this.input.pauseReading(true)
      }
    } else if (!holding && this.replies.pending < MAX_PENDING_REPLIES / 2 && this.pendingBytes < MAX_PENDING_BYTES / 2 && socket.writableLength < MAX_OUTPUT_BYTES / 2) {
      this.paused = false
      this.input.pauseReading(false)
    }
  }
}
