/**
 * A simulated peer network. Every frame really goes through the production codec (encodeFrame
 * / FrameDecoder), then waits in a queue ordered by simulated delivery time. Per link: drop
 * rate, delay range (random delays also reorder), duplication, and cuts (partitions, one-way
 * or both). All randomness comes from the simulation's seeded generator.
 *
 * Like the TCP transport, a node sends only to the members of the address book its RaftNode sets,
 * and accepts frames only from them (from anyone while it is not in its own book); a configuration
 * query is answered after a network delay with the target's committed configuration.
 */
import { Effect, Layer } from "effect"
import { deliverPeerMessages, Mailboxes, type MailboxesService } from "../../src/node/Mailboxes.js"
import { NodeStatus, type NodeStatusService } from "../../src/node/NodeStatus.js"
import { encodeFrame, FrameDecoder } from "../../src/node/PeerCodec.js"
import type { PeerMessage } from "../../src/node/PeerMessage.js"
import { Transport } from "../../src/node/Transport.js"
import type { NodeId } from "../../src/raft/types.js"
import type { SimClock } from "./SimClock.js"

export interface LinkConditions {
  /** Probability a frame is lost. */
  readonly drop: number
  /** Delivery delay in simulated ms, uniform in [min, max]. */
  readonly delayMin: number
  readonly delayMax: number
  /** Probability a frame is delivered twice. */
  readonly duplicate: number
}

export const CALM: LinkConditions = { drop: 0, delayMin: 1, delayMax: 3, duplicate: 0 }

interface InFlight {
  readonly at: number
  readonly seq: number
  readonly from: NodeId
  readonly to: NodeId
  readonly frame: Buffer
}

export class SimNetwork {
  private readonly mailboxes = new Map<NodeId, MailboxesService>()
  private readonly statuses = new Map<NodeId, NodeStatusService>()
  /** Each node's address book, and whether it is in it itself. */
  private readonly books = new Map<NodeId, { readonly ids: ReadonlySet<NodeId>; readonly member: boolean }>()
  private nextTarget = 0
  private readonly cut = new Set<string>()
  private readonly conditions = new Map<string, LinkConditions>()
  private queue: Array<InFlight> = []
  private seq = 0
  delivered = 0
  dropped = 0

  constructor(
    private readonly clock: SimClock,
    private readonly random: () => number,
    private readonly trace: (line: string) => void,
    /** Sees every frame's messages as they leave their node. */
    private readonly onSend: (messages: ReadonlyArray<PeerMessage>) => void = () => {}
  ) {}

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`)
  }

  heal(): void {
    this.cut.clear()
    this.conditions.clear()
  }

  setConditions(from: NodeId, to: NodeId, conditions: LinkConditions): void {
    this.conditions.set(`${from}>${to}`, conditions)
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`)
  }

  /** The Transport of node `id`: registers its mailboxes for delivery while it runs. */
  layer(id: NodeId): Layer.Layer<Transport, never, Mailboxes | NodeStatus> {
    return Layer.scoped(
      Transport,
      Effect.gen(this, function* () {
        const mailboxes = yield* Mailboxes
        const status = yield* NodeStatus
        this.mailboxes.set(id, mailboxes)
        this.statuses.set(id, status)
        this.books.delete(id)
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (this.mailboxes.get(id) === mailboxes) this.mailboxes.delete(id)
            if (this.statuses.get(id) === status) this.statuses.delete(id)
          })
        )
        return Transport.of({
          send: (to, messages) => this.send(id, to, messages),
          setMembers: (members) =>
            Effect.sync(() => {
              this.books.set(id, { ids: new Set(members.map((m) => m.id).filter((m) => m !== id)), member: members.some((m) => m.id === id) })
            }),
          observeConfiguration: Effect.suspend(() => {
            const book = [...(this.books.get(id)?.ids ?? [])]
            const targets = book.length > 0 ? book : [...this.statuses.keys()].filter((other) => other !== id)
            if (targets.length === 0) return Effect.succeed(undefined)
            const target = targets[this.nextTarget++ % targets.length]
            // A round trip later, if both directions are up and the target runs.
            return Effect.map(Effect.sleep(4), () => {
              const status = this.statuses.get(target)
              if (status === undefined || this.cut.has(`${id}>${target}`) || this.cut.has(`${target}>${id}`)) return undefined
              this.trace(`${id}→${target} configuration query: ${target} answers index ${status.committedConfiguration.index}`)
              return { from: target, committed: status.committedConfiguration }
            })
          })
        })
      })
    )
  }

  /** Whether `receiver` takes frames from `sender` (the TCP transport refuses the others' connections). */
  private accepts(receiver: NodeId, sender: NodeId): boolean {
    const book = this.books.get(receiver)
    return book === undefined || !book.member || book.ids.has(sender)
  }

  /** A crashed node receives nothing until it registers again. */
  detach(id: NodeId): void {
    this.mailboxes.delete(id)
    this.statuses.delete(id)
  }

  private send(from: NodeId, to: NodeId, messages: ReadonlyArray<PeerMessage>): void {
    // No link to a node outside the address book.
    if (!this.books.get(from)?.ids.has(to)) return
    this.onSend(messages)
    const link = this.conditions.get(`${from}>${to}`) ?? CALM
    if (this.cut.has(`${from}>${to}`) || this.random() < link.drop) {
      this.dropped++
      return
    }
    const frame = encodeFrame(messages)
    const copies = this.random() < link.duplicate ? 2 : 1
    for (let i = 0; i < copies; i++) {
      const at = this.clock.now + link.delayMin + Math.floor(this.random() * (link.delayMax - link.delayMin + 1))
      const item: InFlight = { at, seq: this.seq++, from, to, frame }
      let j = this.queue.length
      while (j > 0 && (this.queue[j - 1].at > at || (this.queue[j - 1].at === at && this.queue[j - 1].seq > item.seq))) j--
      this.queue.splice(j, 0, item)
    }
  }

  next(): number | undefined {
    return this.queue[0]?.at
  }

  /** Deliver every frame due by now; frames on a link cut meanwhile are lost. */
  deliverDue(): void {
    while (this.queue.length > 0 && this.queue[0].at <= this.clock.now) {
      const item = this.queue.shift()!
      const mailboxes = this.mailboxes.get(item.to)
      if (mailboxes === undefined || this.cut.has(`${item.from}>${item.to}`) || !this.accepts(item.to, item.from)) {
        this.dropped++
        continue
      }
      const messages = new FrameDecoder().push(item.frame)
      for (const m of messages) this.trace(describeMessage(m))
      this.delivered++
      deliverPeerMessages(mailboxes, messages)
    }
  }
}

/** One readable line per message, for traces. */
export const describeMessage = (m: PeerMessage): string => {
  const head = `${m.from}→${m.to} ${m.type} t${m.term}`
  switch (m.type) {
    case "Append":
      return `${head} prev ${m.prevIndex}/${m.prevTerm} entries ${m.entries.length === 0 ? "-" : `${m.entries[0].index}..${m.entries[m.entries.length - 1].index}`} commit ${m.commit}`
    case "AppendResp":
      return `${head} ${m.reject ? `reject ${m.index} hint ${m.hint}` : `ok ${m.index}`}`
    case "PreVote":
    case "Vote":
      return `${head} last ${m.lastLogIndex}/${m.lastLogTerm}${m.transfer === true ? " transfer" : ""}`
    case "PreVoteResp":
    case "VoteResp":
      return `${head} ${m.reject ? "rejected" : "granted"}`
    case "Heartbeat":
      return `${head} commit ${m.commit} ctx ${m.context}`
    case "HeartbeatResp":
      return `${head} ctx ${m.context}`
    case "Propose":
      return `${head} ${m.entries.length} proposals`
    case "ReadIndex":
      return `${head} req ${m.requestId}`
    case "ReadIndexResp":
      return `${head} req ${m.requestId} ${m.reject ? "rejected" : `index ${m.index}`}`
    case "SnapshotChunk":
      return `${head} snapshot ${m.index} @${m.offset}+${m.data.length}${m.last ? " last" : ""}`
    case "SnapshotAck":
      return `${head} snapshot ${m.index} received ${m.received}${m.done ? " done" : ""}`
    case "TimeoutNow":
      return head
    case "AdminRequest":
      return `${head} req ${m.requestId} ${JSON.stringify(m.command)}`
    case "AdminResponse":
      return `${head} req ${m.requestId} ${JSON.stringify(m.outcome)}`
  }
}
