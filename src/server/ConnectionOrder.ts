/**
 * Keeps one connection's commands in order, as Redis executes a pipeline: a read sees every
 * write sent before it on the connection, and no write sent after it. Consecutive commands of
 * the same kind are in flight together (writes keep their order in the log; reads do not
 * conflict); a change of kind waits until the previous run has been answered.
 */
import type { KvServiceApi } from "../node/KvService.js"
import type { ReplyTo } from "../node/messages.js"

type Kind = "read" | "write"

interface Waiting {
  readonly kind: Kind
  readonly argv: ReadonlyArray<Uint8Array>
  readonly replyTo: ReplyTo
}

export class ConnectionOrder {
  private runKind: Kind | undefined
  private inFlight = 0
  private readonly waiting: Array<Waiting> = []

  constructor(private readonly kv: KvServiceApi) {}

  submit(kind: Kind, argv: ReadonlyArray<Uint8Array>, replyTo: ReplyTo): void {
    if (this.waiting.length === 0 && (this.inFlight === 0 || this.runKind === kind)) this.dispatch(kind, argv, replyTo)
    else this.waiting.push({ kind, argv, replyTo })
  }

  private dispatch(kind: Kind, argv: ReadonlyArray<Uint8Array>, replyTo: ReplyTo): void {
    this.runKind = kind
    this.inFlight++
    const done: ReplyTo = (reply) => {
      replyTo(reply)
      this.inFlight--
      if (this.inFlight === 0) this.drain()
    }
    if (kind === "write") this.kv.submitWrite(argv, done)
    else this.kv.submitRead(argv, done)
  }

  /** Start the next run: the first waiting command and every following one of its kind. */
  private drain(): void {
    while (this.waiting.length > 0 && (this.inFlight === 0 || this.waiting[0].kind === this.runKind)) {
      const next = this.waiting.shift()!
      this.dispatch(next.kind, next.argv, next.replyTo)
    }
  }
}
