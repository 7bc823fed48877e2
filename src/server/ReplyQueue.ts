/**
 * Keeps a connection's replies in request order while commands finish out of order: pipelined
 * writes and reads complete whenever consensus answers, but Redis clients expect replies in
 * the order they sent the commands. Completed replies at the head are flushed in one write.
 */
import { encodeReplyChunks, type Protocol } from "../resp/encode.js"
import type { Reply } from "../resp/Reply.js"
import type { Histogram } from "../metrics/Registry.js"

export class ReplyQueue {
  /** Replies from absolute position `base` on; positions handed out by `reserve` never move. */
  private readonly slots: Array<Reply | undefined> = []
  /**
   * The protocol each reply is encoded in: the one in effect when its command arrived (a pipelined
   * HELLO switches it for the commands after it only).
   */
  private readonly protocols: Array<Protocol> = []
  private base = 0
  /** Absolute position of the next reply to write. */
  private head = 0
  private flushScheduled = false
  /**
   * Positions of pending replies that hold the ready ones before them (EXEC after its queued
   * commands): those go out with it, in one write, as redis-server answers a pipelined
   * transaction. Such a reply comes after one consensus round, never after a blocking wait.
   */
  private readonly holding = new Set<number>()

  constructor(
    /** Called with the encoding of every reply ready at a flush, in order (one buffer, or more for large replies). */
    private readonly write: (chunks: ReadonlyArray<Buffer>) => void,
    private readonly onDrained: () => void,
    /** A flush that threw (it runs in a microtask, where an exception would end the process). */
    private readonly onDefect: (defect: unknown) => void = (defect) => {
      throw defect
    }
  ) {}

  /** Replies reserved but not yet written. */
  get pending(): number {
    return this.base + this.slots.length - this.head
  }

  /**
   * Reserve the next position; returns the function that fills it. With `timing`, the time from
   * now until it is filled is observed there (captured by the closure made anyway: no allocation).
   */
  reserve(protocol: Protocol, timing?: Histogram, holdEarlier = false): (reply: Reply) => void {
    const position = this.base + this.slots.length
    this.slots.push(undefined)
    this.protocols.push(protocol)
    if (holdEarlier) this.holding.add(position)
    const started = timing === undefined ? 0 : performance.now()
    return (reply) => {
      if (timing !== undefined) timing.observe((performance.now() - started) / 1000)
      this.slots[position - this.base] = reply
      const held = holdEarlier && this.holding.delete(position)
      if (position === this.head || held) this.scheduleFlush()
    }
  }

  push(reply: Reply, protocol: Protocol): void {
    const position = this.base + this.slots.length
    this.slots.push(reply)
    this.protocols.push(protocol)
    if (position === this.head) this.scheduleFlush()
  }

  /** Write every completed reply at the head now. */
  flush(): void {
    this.flushScheduled = false
    if (this.holding.size > 0 && this.heldBack()) return
    const ready: Array<Reply> = []
    const protocols: Array<Protocol> = []
    let resp3 = false
    while (this.head - this.base < this.slots.length) {
      const reply = this.slots[this.head - this.base]
      if (reply === undefined) break
      const protocol = this.protocols[this.head - this.base]
      ready.push(reply)
      protocols.push(protocol)
      if (protocol === 3) resp3 = true
      this.head++
    }
    // Drop written replies (all of them, or a large run) so the arrays do not grow forever.
    const written = this.head - this.base
    if (written === this.slots.length || written > 1024) {
      this.slots.splice(0, written)
      this.protocols.splice(0, written)
      this.base = this.head
    }
    if (ready.length > 0) {
      this.write(encodeReplyChunks(ready, resp3 ? protocols : 2))
      this.onDrained()
    }
  }

  /** Whether the ready replies at the head wait for a pending reply that holds them. */
  private heldBack(): boolean {
    let position = this.head
    while (position - this.base < this.slots.length && this.slots[position - this.base] !== undefined) position++
    return position > this.head && position - this.base < this.slots.length && this.holding.has(position)
  }

  /** Coalesce replies completed in the same tick (e.g. one applier batch) into one write. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    queueMicrotask(() => {
      try {
        this.flush()
      } catch (defect) {
        this.onDefect(defect)
      }
    })
  }
}
