/**
 * The clients blocked on this node (BLPOP, BLMOVE, BLMPOP, ...): per key, a FIFO of the clients
 * waiting on it, their timeouts, and when to propose their pops again. Pure bookkeeping owned by
 * the Applier, which feeds it each attempt's outcome and the keys that received elements; it
 * answers with proposals (`propose`) and with the clients' replies.
 *
 * A client's life: its command's first attempt is an ordinary write; if it answers WOULD_BLOCK
 * the client is registered here (inside the Applier's turn, so no later entry can be missed). When
 * an apply batch makes elements available under a key, the first waiting clients of that key (as
 * many as it has elements, less the attempts already in flight) are proposed again, each with
 * that key first; one that finds nothing again keeps its place (and its keys are checked again,
 * as it was counted for each of them while its retry was in flight). The client leaves with a reply
 * (its pop, an error, or the timeout's null once its deadline passed and no attempt is in flight:
 * an attempt in flight decides), or when its connection closes.
 */
import { retryArgv, SOURCE_WRONGTYPE, TIMED_OUT, WOULD_BLOCK, type BlockingCall } from "../commands/blocking.js"
import type { KeyType } from "../commands/keyspace/meta.js"
import type { Argv } from "../commands/registry.js"
import type { ReadyKey } from "../commands/StateMachine.js"
import type { Reply } from "../resp/Reply.js"
import { writeOvertaken } from "./clientErrors.js"
import type { ReplyTo } from "./messages.js"

/** One client's blocking command, from its first attempt to its reply. */
export interface Waiter {
  readonly id: number
  readonly call: BlockingCall
  /**
   * Node clock (ms) at which it gets the timeout reply; Infinity: never. Moved to now when its
   * connection is closed gracefully (KvService's `release`).
   */
  deadline: number
  readonly replyTo: ReplyTo
  /** Aborted when the client's connection closes: no reply is wanted any more. */
  readonly signal: AbortSignal
  /** What it gets instead of the timeout's null once its wait ends (CLIENT UNBLOCK ERROR). */
  endReply?: Reply
}

/** A key whose contents decide how many of its waiting clients to wake ("db:key" as `id`). */
export interface KeyToCheck {
  readonly id: string
  readonly db: number
  readonly key: Uint8Array
}

/** What a checked key holds now: its type (undefined: nothing) and number of elements. */
export interface KeyContents {
  readonly type: KeyType | undefined
  readonly size: number
}

interface Blocked {
  readonly waiter: Waiter
  /** Where it waits: "db:key" of each key (distinct). */
  readonly keys: ReadonlyArray<string>
  /** A retry is in the log: the client counts as served-to-be for its keys until it returns. */
  attempting: boolean
  /** Its deadline is in the heap. */
  timed: boolean
}

const NONE: ReadonlyArray<KeyToCheck> = []

const keyId = (db: number, key: Uint8Array): string => `${db}:${Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1")}`

const keyOfId = (id: string): { readonly db: number; readonly key: Buffer } => {
  const colon = id.indexOf(":")
  return { db: Number(id.slice(0, colon)), key: Buffer.from(id.slice(colon + 1), "latin1") }
}

/** A binary min-heap of deadlines; entries are checked against the registry when they surface. */
class Deadlines {
  private readonly heap: Array<{ readonly at: number; readonly id: number }> = []

  push(at: number, id: number): void {
    const heap = this.heap
    heap.push({ at, id })
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent].at <= heap[i].at) break
      ;[heap[parent], heap[i]] = [heap[i], heap[parent]]
      i = parent
    }
  }

  peek(): { readonly at: number; readonly id: number } | undefined {
    return this.heap[0]
  }

  pop(): void {
    const heap = this.heap
    const last = heap.pop()!
    if (heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && heap[left].at < heap[smallest].at) smallest = left
      if (right < heap.length && heap[right].at < heap[smallest].at) smallest = right
      if (smallest === i) break
      ;[heap[smallest], heap[i]] = [heap[i], heap[smallest]]
      i = smallest
    }
  }
}

export class BlockedClients {
  /** Every registered client, in the order they blocked. */
  private readonly clients = new Map<number, Blocked>()
  /** Per key, its clients in the order they blocked on it. */
  private readonly byKey = new Map<string, Map<number, Blocked>>()
  private readonly deadlines = new Deadlines()
  /** Keys whose waiting clients may have been left unserved by a client that just left. */
  private recheck: Array<string> = []

  constructor(
    /** Put one attempt of `waiter` (the command `argv`) in the log; its outcome comes back through `attempted`. */
    private readonly propose: (waiter: Waiter, argv: Argv) => void,
    /** Deliver a client's reply (the Applier may hold it until the turn's retries are proposed). */
    private readonly deliver: (waiter: Waiter, reply: Reply) => void = (waiter, reply) => waiter.replyTo(reply)
  ) {}

  /** Whether an apply batch must look at the blocked clients: one is registered, or keys are to be checked again. */
  get active(): boolean {
    return this.clients.size > 0 || this.recheck.length > 0
  }

  /** Registered clients (INFO blocked_clients). */
  get count(): number {
    return this.clients.size
  }

  /** The outcome of one of `waiter`'s attempts (its first one included), at node time `now`. */
  attempted(waiter: Waiter, reply: Reply, now: number): void {
    const blocked = this.clients.get(waiter.id)
    if (waiter.signal.aborted) {
      if (blocked !== undefined) this.leave(blocked)
      return
    }
    // A client already waiting keeps waiting on a key of another type (redis-server 7.0 serves it
    // only from a list); on its first attempt that is the client's error.
    if (reply === WOULD_BLOCK || (blocked !== undefined && reply === SOURCE_WRONGTYPE)) {
      if (now >= waiter.deadline) return this.finish(waiter, blocked, waiter.endReply ?? TIMED_OUT)
      if (blocked === undefined) this.register(waiter)
      else {
        // Its retry took nothing: while in flight it was counted for every key it waits on, so
        // an element under another of its keys may have woken no one. Those keys are checked
        // again (an element never waits while a client does).
        if (blocked.attempting) for (const id of blocked.keys) this.recheck.push(id)
        blocked.attempting = false
        if (!blocked.timed) this.time(blocked)
      }
      return
    }
    // Lost in a leader change and overtaken by a later write of this node: it never applied.
    if (reply === writeOvertaken) return this.propose(waiter, waiter.call.argv)
    this.finish(waiter, blocked, reply)
  }

  /**
   * The client's connection is being closed gracefully (its deadline was moved to now): a client
   * only waiting gets the timeout reply at once; one with an attempt in flight gets that attempt's
   * outcome (an element it popped is delivered, never lost) or, if it would wait again, the timeout.
   */
  release(id: number): void {
    const blocked = this.clients.get(id)
    if (blocked !== undefined && !blocked.attempting) this.finish(blocked.waiter, blocked, blocked.waiter.endReply ?? TIMED_OUT)
  }

  /** The client's connection closed: forget it (an attempt in flight is answered to no one). */
  cancel(id: number): void {
    const blocked = this.clients.get(id)
    if (blocked !== undefined) this.leave(blocked)
  }

  /**
   * The keys whose sizes decide whom to wake after an apply batch: those the batch made elements
   * available under, and those a departing client may have left unserved, each once, if a client
   * waits on it.
   */
  keysToCheck(ready: ReadonlyArray<ReadyKey>): ReadonlyArray<KeyToCheck> {
    // The common case, on every apply batch: nobody waits.
    if (this.clients.size === 0 && this.recheck.length === 0) return NONE
    const out: Array<KeyToCheck> = []
    const recheck = this.recheck
    this.recheck = []
    const seen = new Set<string>()
    const consider = (id: string, db: number, key: Uint8Array) => {
      if (seen.has(id)) return
      seen.add(id)
      const waiting = this.byKey.get(id)
      if (waiting === undefined) return
      for (const blocked of waiting.values()) {
        if (blocked.attempting) continue
        out.push({ id, db, key })
        return
      }
    }
    for (const { db, key } of ready) consider(keyId(db, key), db, key)
    for (const id of recheck) {
      const { db, key } = keyOfId(id)
      consider(id, db, key)
    }
    return out
  }

  /**
   * Wake the clients of each key in the order they blocked: of those waiting for the type the key
   * holds, as many as it has elements, less their attempts already in flight. Each is proposed
   * again with that key first.
   */
  wake(keys: ReadonlyArray<KeyToCheck & KeyContents>): void {
    for (const { id, key, type, size } of keys) {
      const waiting = this.byKey.get(id)
      if (waiting === undefined || type === undefined) continue
      let available = size
      for (const blocked of waiting.values()) if (blocked.attempting && blocked.waiter.call.waitsFor === type) available--
      for (const blocked of waiting.values()) {
        if (available <= 0) break
        if (blocked.attempting || blocked.waiter.call.waitsFor !== type) continue
        blocked.attempting = true
        available--
        this.propose(blocked.waiter, retryArgv(blocked.waiter.call, key))
      }
    }
  }

  /** Propose every waiting client again (the state was replaced by a snapshot: any key may have elements). */
  wakeAll(): void {
    for (const blocked of this.clients.values()) {
      if (blocked.attempting) continue
      blocked.attempting = true
      this.propose(blocked.waiter, blocked.waiter.call.argv)
    }
  }

  /** Answer the waiting clients whose deadline is at or before `now` (those with an attempt in flight wait for it). */
  expire(now: number): void {
    for (let next = this.deadlines.peek(); next !== undefined && next.at <= now; next = this.deadlines.peek()) {
      this.deadlines.pop()
      const blocked = this.clients.get(next.id)
      if (blocked === undefined) continue
      blocked.timed = false
      if (!blocked.attempting) this.finish(blocked.waiter, blocked, blocked.waiter.endReply ?? TIMED_OUT)
    }
  }

  /** The earliest deadline still to come, if any (when to call `expire`). */
  nextDeadline(): number | undefined {
    for (let next = this.deadlines.peek(); next !== undefined; next = this.deadlines.peek()) {
      if (this.clients.has(next.id)) return next.at
      this.deadlines.pop()
    }
    return undefined
  }

  // ---------------------------------------------------------------- bookkeeping

  private register(waiter: Waiter): void {
    const keys = [...new Set(waiter.call.sources.map((position) => keyId(waiter.call.db, waiter.call.argv[position])))]
    const blocked: Blocked = { waiter, keys, attempting: false, timed: false }
    this.clients.set(waiter.id, blocked)
    for (const id of keys) {
      const waiting = this.byKey.get(id)
      if (waiting === undefined) this.byKey.set(id, new Map([[waiter.id, blocked]]))
      else waiting.set(waiter.id, blocked)
    }
    this.time(blocked)
  }

  private time(blocked: Blocked): void {
    if (blocked.waiter.deadline === Number.POSITIVE_INFINITY) return
    blocked.timed = true
    this.deadlines.push(blocked.waiter.deadline, blocked.waiter.id)
  }

  /** Remove a client; if its attempt was counted for its keys, their other clients are checked again. */
  private leave(blocked: Blocked): void {
    this.clients.delete(blocked.waiter.id)
    for (const id of blocked.keys) {
      const waiting = this.byKey.get(id)
      if (waiting === undefined) continue
      waiting.delete(blocked.waiter.id)
      if (waiting.size === 0) this.byKey.delete(id)
      else if (blocked.attempting) this.recheck.push(id)
    }
  }

  private finish(waiter: Waiter, blocked: Blocked | undefined, reply: Reply): void {
    if (blocked !== undefined) this.leave(blocked)
    this.deliver(waiter, reply)
  }
}
