/**
 * Keeps one connection's commands in order, as Redis executes a pipeline: a read sees every
 * write sent before it on the connection, and no write sent after it. Consecutive commands of
 * the same kind are in flight together (writes keep their order in the log; reads do not
 * conflict); a change of kind waits until the previous run has been answered. A blocking command
 * (BLPOP, ...) runs alone: it waits for everything before it, and everything after it waits until
 * it is answered, as a blocked redis-server client processes nothing else meanwhile.
 */
import { TIMED_OUT } from "../commands/blocking.js"
import type { StateRequest } from "../commands/session.js"
import type { BlockingHandle, KvServiceApi } from "../node/KvService.js"
import type { ReplyTo } from "../node/messages.js"
import type { Reply } from "../resp/Reply.js"

/**
 * Writes that only add elements (they cannot take one from a blocked client): these still join a
 * run of writes in flight while clients are blocked on the node.
 */
const ONLY_ADD = new Set(["rpush", "lpush", "rpushx", "lpushx", "linsert", "zadd"])

/** Whether a write cannot take elements from a list or sorted set a blocked client waits for. */
const onlyAdds = (request: StateRequest): boolean => {
  if (request.kind !== "write" || request.payload.kind !== "command") return false
  const name = Buffer.from(request.payload.argv[0]).toString("latin1").toLowerCase()
  return ONLY_ADD.has(name)
}

interface Waiting {
  readonly request: StateRequest
  readonly replyTo: ReplyTo
}

export class ConnectionOrder {
  private runKind: StateRequest["kind"] | undefined
  private inFlight = 0
  private readonly waiting: Array<Waiting> = []
  /** The blocking command in flight, if any. */
  private blocking: BlockingHandle | undefined
  /** The blocking command in flight was ended by CLIENT UNBLOCK. */
  private unblocked = false
  private closed = false
  /** The connection closes once its replies are out: a blocking command no longer waits. */
  private closing = false
  /** Nothing more will arrive: a blocking command tries once and does not wait. */
  private inputEnded = false

  constructor(
    private readonly kv: KvServiceApi,
    /** A reply callback that threw: the connection's defect, not the caller's (the Applier's). */
    private readonly onDefect: (defect: unknown) => void
  ) {}

  submit(request: StateRequest, replyTo: ReplyTo): void {
    if (this.waiting.length === 0 && this.joins(request)) this.dispatch(request, replyTo)
    else this.waiting.push({ request, replyTo })
  }

  /** A blocking command is in flight (the client is blocked or about to be). */
  get blocked(): boolean {
    return this.blocking !== undefined
  }

  /**
   * CLIENT UNBLOCK: end the wait of the blocking command in flight, answered `reply` (default: as
   * if timed out) unless its pop in flight takes an element. False if none is in flight (or it
   * was already unblocked).
   */
  unblock(reply?: Reply): boolean {
    if (this.blocking === undefined || this.unblocked) return false
    this.unblocked = true
    this.blocking.unblock(reply)
    return true
  }

  /** A blocking command is in flight or queued. */
  get hasBlocking(): boolean {
    return this.blocking !== undefined || this.waiting.some((waiting) => waiting.request.kind === "block")
  }

  /**
   * The connection will close once its replies are out (CLIENT KILL, a node's clean stop; not
   * QUIT, which waits for a blocking command before it like any command pipelined behind one): a
   * blocking command in flight answers now (or with the pop already in the log, so no element
   * is lost), and one still queued answers as if its timeout had passed.
   */
  release(): void {
    this.closing = true
    this.blocking?.release()
  }

  /**
   * The client's input ended (its process exited, or it shut down its side): no blocking command
   * waits any more, as no one may be there to receive what it would pop. Each still pops what its
   * keys hold when its turn comes (one queued behind other commands too), else answers as if timed out.
   */
  endOfInput(): void {
    this.inputEnded = true
    this.blocking?.release()
  }

  /**
   * The connection is gone: a blocked command stops waiting, and neither it nor anything sent
   * after it runs (as redis-server frees a blocked client). Commands before it still complete.
   */
  close(): void {
    this.closed = true
    const blocking = this.blocking
    this.blocking = undefined
    if (blocking !== undefined) {
      // It will never answer: nothing is in flight any more, and nothing queued behind it runs.
      this.waiting.length = 0
      this.inFlight = 0
      this.runKind = undefined
      blocking.cancel()
    }
  }

  /**
   * Whether `request` may start now, alongside the run in flight. While clients are blocked on
   * this node, a write that may take elements waits for the writes before it to be answered: the
   * clients a push wakes are proposed before its reply goes out (see the Applier), so such a
   * write (an LPOP pipelined after an RPUSH) comes after their pops, as Redis serves blocked
   * clients before the pusher's next command.
   */
  private joins(request: StateRequest): boolean {
    if (this.inFlight === 0) return true
    if (this.runKind !== request.kind || request.kind === "block") return false
    if (request.kind !== "write") return true
    const blocked = this.kv.blockedClients
    return blocked === undefined || blocked() === 0 || onlyAdds(request)
  }

  private dispatch(request: StateRequest, replyTo: ReplyTo): void {
    if (request.kind === "block" && this.closed) {
      this.waiting.length = 0
      return
    }
    if (request.kind === "block" && this.closing) {
      replyTo(TIMED_OUT)
      return
    }
    this.runKind = request.kind
    this.inFlight++
    const done: ReplyTo = (reply) => {
      try {
        if (request.kind === "block") this.blocking = undefined
        replyTo(reply)
        this.inFlight--
        if (this.inFlight === 0) this.drain()
      } catch (defect) {
        this.onDefect(defect)
      }
    }
    if (request.kind === "write") this.kv.submitWrite(request.payload, done)
    else if (request.kind === "read") this.kv.submitRead(request.request, done, request.mode)
    else {
      const blocking = this.kv.submitBlocking(request.call, done)
      this.blocking = blocking
      this.unblocked = false
      if (this.inputEnded) blocking.release()
    }
  }

  /** Start the next run: the first waiting command and every following one of its kind. */
  private drain(): void {
    while (this.waiting.length > 0 && this.joins(this.waiting[0].request)) {
      const next = this.waiting.shift()!
      this.dispatch(next.request, next.replyTo)
    }
  }
}
