/**
 * An in-process peer network for node tests: each node's Transport delivers straight into the
 * target node's RaftNode mailbox. Links can be cut and healed (both directions or one way).
 */
import { Effect, Layer } from "effect"
import type { NodeId } from "../../src/raft/types.js"
import { deliverPeerMessages, Mailboxes, type MailboxesService } from "../../src/node/Mailboxes.js"
import { Transport } from "../../src/node/Transport.js"

export class MemoryNetwork {
  private readonly inboxes = new Map<NodeId, MailboxesService>()
  private readonly cut = new Set<string>()
  delivered = 0

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
  layer(id: NodeId): Layer.Layer<Transport, never, Mailboxes> {
    return Layer.effect(
      Transport,
      Effect.gen(this, function* () {
        this.inboxes.set(id, yield* Mailboxes)
        return Transport.of({
          send: (to, messages) => {
            if (this.cut.has(`${id}>${to}`)) return
            const inbox = this.inboxes.get(to)
            if (inbox === undefined) return
            this.delivered += messages.length
            deliverPeerMessages(inbox, messages)
          }
        })
      })
    )
  }

  /** Forget a node's mailbox (it crashed); messages to it are dropped until it registers again. */
  detach(id: NodeId): void {
    this.inboxes.delete(id)
  }
}
