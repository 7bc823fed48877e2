/**
 * One client connection: bytes in → argv → the command's declaration → answered here (local
 * commands), queued (between MULTI and EXEC), or handed to consensus through KvService; replies
 * leave in request order through the ReplyQueue, each in the protocol (RESP2 or RESP3) that was
 * in effect when its command arrived. Reading pauses while too many replies are outstanding, the
 * commands in flight hold too many bytes, or the client does not read its replies, so a
 * pipelining client cannot grow the server's memory without bound.
 */
import type * as net from "node:net"
import type { Argv } from "../commands/registry.js"
import type { ClientState, ReplyTo, ServerView, StateRequest } from "../commands/session.js"
import { endWatch } from "../commands/transactions.js"
import type { KvServiceApi } from "../node/KvService.js"
import type { StatsService } from "../node/Stats.js"
import { ARGUMENT_OVERHEAD_BYTES, RequestParser } from "../resp/RequestParser.js"
import { error } from "../resp/Reply.js"
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

  constructor(
    private readonly socket: net.Socket,
    id: number,
    private readonly deps: ConnectionDeps
  ) {
    this.client = newClientState(id, addressOf(socket.remoteAddress, socket.remotePort), addressOf(socket.localAddress, socket.localPort), deps.server.readMode, () => this.kill())
    this.order = new ConnectionOrder(deps.kv)
    this.replies = new ReplyQueue(
      (chunks) => this.write(chunks),
      () => this.drained()
    )
    this.session = new CommandSession(this.client, deps.server, {
      reserve: (protocol) => this.replies.reserve(protocol),
      submit: (request, replyTo) => this.submit(request, replyTo),
      closeAfterReply: () => this.closeAfterReply(),
      onCommand: () => deps.stats.commandsProcessed++,
      onError: () => deps.stats.errorReplies++
    })
    this.parser = new RequestParser(
      (argv) => {
        if (!this.closing) this.session.onCommand(argv)
      },
      (message) => this.onProtocolError(message)
    )
    socket.on("data", (chunk: Buffer) => this.guard(() => this.onData(chunk)))
    socket.on("drain", () => this.guard(() => this.updateFlow()))
    socket.on("end", () =>
      this.guard(() => {
        this.clientEnded = true
        if (this.replies.pending === 0) socket.end()
      })
    )
    socket.on("error", () => socket.destroy())
    socket.on("close", () => {
      // A departing client's WATCH session is ended through the log (its keys stop being tracked),
      // and a blocked command stops waiting.
      endWatch(this.session)
      this.order.close()
      deps.onClose(this.client)
    })
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

  private closeAfterReply(): void {
    this.closing = true
    this.socket.pause()
  }

  /**
   * A socket callback must never throw (an exception there would take the whole node down):
   * a defect in handling one connection's bytes closes that connection, with a log line.
   */
  private guard(run: () => void): void {
    try {
      run()
    } catch (defect) {
      process.stderr.write(`raft-kv: closing client ${this.client.address} after an internal error: ${defect instanceof Error ? (defect.stack ?? defect.message) : String(defect)}\n`)
      this.socket.destroy()
    }
  }

  private onData(chunk: Buffer): void {
    this.deps.stats.netInputBytes += chunk.length
    this.parser.push(chunk)
    this.updateFlow()
  }

  // Like Redis: report the protocol error, then close the connection (the stream is unusable).
  private onProtocolError(message: string): void {
    if (this.closing) return
    this.closing = true
    this.socket.pause()
    this.session.reply(error(`ERR ${message}`))
  }

  private kill(): void {
    // CLIENT KILL of the calling connection closes it once its reply is out, as Redis does; a
    // blocked client has no reply coming: it goes at once.
    if (this.replies.pending > 0 && !this.order.blocked) this.closeAfterReply()
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
  }

  private drained(): void {
    // After QUIT or a protocol error the connection closes, as Redis closes it, once the reply is out.
    if (this.closing && this.replies.pending === 0) this.socket.end(() => this.socket.destroy())
    else if (this.clientEnded && this.replies.pending === 0) this.socket.end()
    else this.updateFlow()
  }

  /** Stop reading while the connection holds too much; read again once it is down to half. */
  private updateFlow(): void {
    if (this.closing || this.clientEnded) return
    const socket = this.socket
    if (!this.paused) {
      if (this.replies.pending >= MAX_PENDING_REPLIES || this.pendingBytes >= MAX_PENDING_BYTES || socket.writableLength >= MAX_OUTPUT_BYTES) {
        this.paused = true
        socket.pause()
      }
    } else if (this.replies.pending < MAX_PENDING_REPLIES / 2 && this.pendingBytes < MAX_PENDING_BYTES / 2 && socket.writableLength < MAX_OUTPUT_BYTES / 2) {
      this.paused = false
      socket.resume()
    }
  }
}
