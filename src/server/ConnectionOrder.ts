/**
 * Keeps one connection's commands in order, as Redis executes a pipeline: a read sees every
 * write sent before it on the connection, and no write sent after it. Consecutive commands of
 * the same kind are in flight together (writes keep their order in the log; reads do not
 * conflict); a change of kind waits until the previous run has been answered.
 */
import type { StateRequest } from "../commands/session.js"
import type { KvServiceApi } from "../node/KvService.js"
import type { ReplyTo } from "../node/messages.js"

interface Waiting {
  readonly request: StateRequest
  readonly replyTo: ReplyTo
}

export class ConnectionOrder {
  private runKind: StateRequest["kind"] | undefined
  private inFlight = 0
  private readonly waiting: Array<Waiting> = []

  constructor(
    private readonly kv: KvServiceApi,
    /** A reply callback that threw: the connection's defect, not the caller's (the Applier's). */
    private readonly onDefect: (defect: unknown) => void
  ) {}

  submit(request: StateRequest, replyTo: ReplyTo): void {
    if (this.waiting.length === 0 && (this.inFlight === 0 || this.runKind === request.kind)) this.dispatch(request, replyTo)
    else this.waiting.push({ request, replyTo })
  }

  private dispatch(request: StateRequest, replyTo: ReplyTo): void {
    this.runKind = request.kind
    this.inFlight++
    const done: ReplyTo = (reply) => {
      try {
        replyTo(reply)
        this.inFlight--
        if (this.inFlight === 0) this.drain()
      } catch (defect) {
        this.onDefect(defect)
      }
    }
    if (request.kind === "write") this.kv.submitWrite(request.payload, done)
    else this.kv.submitRead(request.request, done)
  }

  /** Start the next run: the first waiting command and every following one of its kind. */
  private drain(): void {
    while (this.waiting.length > 0 && (this.inFlight === 0 || this.waiting[0].request.kind === this.runKind)) {
      const next = this.waiting.shift()!
      this.dispatch(next.request, next.replyTo)
    }
  }
}
