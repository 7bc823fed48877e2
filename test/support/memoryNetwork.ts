/**
 * An in-process peer network for node tests: each node's Transport delivers straight into the
 * target node's RaftNode mailbox. Links can be cut and healed (both directions or one way).
 */
import { Effect, Layer, Queue } from "effect"
import type { Message, NodeId } from "../../src/raft/types.js"
import { Mailboxes } from "../../src/node/Mailboxes.js"
import type { RaftInput } from "../../src/node/messages.js"
import { Transport } from "../../src/node/Transport.js"

export class MemoryNetwork {
  private readonly inboxes = new Map<NodeId, Queue.Queue<RaftInput>>()
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
        const { raft } = yield* Mailboxes
        this.inboxes.set(id, raft)
        return Transport.of({
          send: (to, messages) => {
            if (this.cut.has(`${id}>${to}`)) return
            const inbox = this.inboxes.get(to)
            if (inbox === undefined) return
            this.delivered += messages.length
            Queue.unsafeOffer(inbox, { _tag: "PeerMessages", messages: messages as ReadonlyArray<Message> })
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
