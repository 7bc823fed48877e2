/**
 * An in-process peer network for node tests: each node's Transport delivers straight into the
 * target node's RaftNode mailbox. Links can be cut and healed (both directions or one way). Like
 * the TCP transport, a node sends only to the members of its address book and accepts messages
 * only from them (from anyone while it is not in its own book), and answers configuration queries
 * with its committed configuration.
 */
import { Effect, Layer } from "effect"
import type { NodeId } from "../../src/raft/types.js"
import { deliverPeerMessages, Mailboxes, type MailboxesService } from "../../src/node/Mailboxes.js"
import { NodeStatus, type NodeStatusService } from "../../src/node/NodeStatus.js"
import { Transport } from "../../src/node/Transport.js"

export class MemoryNetwork {
  private readonly inboxes = new Map<NodeId, MailboxesService>()
  private readonly statuses = new Map<NodeId, NodeStatusService>()
  /** Each node's address book, and whether it is in it itself. */
  private readonly books = new Map<NodeId, { readonly ids: ReadonlySet<NodeId>; readonly member: boolean }>()
  private readonly cut = new Set<string>()
  private nextTarget = 0
  delivered = 0

  private accepts(receiver: NodeId, sender: NodeId): boolean {
    const book = this.books.get(receiver)
    return book === undefined || !book.member || book.ids.has(sender)
  }

  /** Stop delivering from `from` to `to` (one way). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`)
  }

  /** Cut every link between `id` and the other nodes, both ways. */
  isolate(id: NodeId, all: ReadonlyArray<NodeId>): void {
    for (const other of all) {
      if (other === id) continue
      this.cutLink(id, other)
      this.cutLink(other, id)
    }
  }

  healAll(): void {
    this.cut.clear()
  }

  /** The Transport layer for node `id`; registers its mailbox for delivery. */
  layer(id: NodeId): Layer.Layer<Transport, never, Mailboxes | NodeStatus> {
    return Layer.effect(
      Transport,
      Effect.gen(this, function* () {
        this.inboxes.set(id, yield* Mailboxes)
        this.statuses.set(id, yield* NodeStatus)
        this.books.delete(id)
        return Transport.of({
          send: (to, messages) => {
            if (this.cut.has(`${id}>${to}`) || !this.books.get(id)?.ids.has(to) || !this.accepts(to, id)) return
            const inbox = this.inboxes.get(to)
            if (inbox === undefined) return
            this.delivered += messages.length
            deliverPeerMessages(inbox, messages)
          },
          setMembers: (members) =>
            Effect.sync(() => {
              this.books.set(id, { ids: new Set(members.map((m) => m.id).filter((m) => m !== id)), member: members.some((m) => m.id === id) })
            }),
          observeConfiguration: Effect.sync(() => {
            const book = [...(this.books.get(id)?.ids ?? [])]
            const targets = book.length > 0 ? book : [...this.statuses.keys()].filter((other) => other !== id)
            if (targets.length === 0) return undefined
            const target = targets[this.nextTarget++ % targets.length]
            const status = this.statuses.get(target)
            if (status === undefined || this.cut.has(`${id}>${target}`) || this.cut.has(`${target}>${id}`)) return undefined
            return { from: target, committed: status.committedConfiguration }
          })
        })
      })
    )
  }

  /** Forget a node's mailbox (it crashed); messages to it are dropped until it registers again. */
  detach(id: NodeId): void {
    this.inboxes.delete(id)
    this.statuses.delete(id)
  }
}
