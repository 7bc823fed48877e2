/**
 * The actors' queues, provided as one Layer so every actor (and the transport, which delivers
 * peer messages) can reach the queues it feeds without reaching into another actor's state.
 */
import { Chunk, Context, Effect, Layer, Queue } from "effect"
import type { Message } from "../raft/types.js"
import type { ApplierInput, RaftInput, SnapshotterInput, WalBatch } from "./messages.js"
import { type AdminMessage, isSnapshotTransfer, type PeerMessage } from "./PeerMessage.js"

export interface MailboxesService {
  readonly raft: Queue.Queue<RaftInput>
  readonly wal: Queue.Queue<WalBatch>
  readonly applier: Queue.Queue<ApplierInput>
  readonly snapshotter: Queue.Queue<SnapshotterInput>
}

export class Mailboxes extends Context.Tag("raft-kv/Mailboxes")<Mailboxes, MailboxesService>() {}

/**
 * Unbounded on purpose: every producer is already bounded upstream (clients wait for replies,
 * peers by the Raft inflight window, the WAL and applier by one batch per RaftNode turn), and
 * dropping an internal message would break the actors' protocol.
 */
export const MailboxesLive = Layer.effect(
  Mailboxes,
  Effect.all({
    raft: Queue.unbounded<RaftInput>(),
    wal: Queue.unbounded<WalBatch>(),
    applier: Queue.unbounded<ApplierInput>(),
    snapshotter: Queue.unbounded<SnapshotterInput>()
  })
)

/**
 * One actor turn's inputs: wait for a message, then take every message already queued.
 * (`Queue.takeBetween(queue, 1, Infinity)` is not enough: a taker woken by `offerAll` receives
 * only the first element, and the rest would wait for another turn.)
 */
export const takeBatch = <A>(queue: Queue.Dequeue<A>): Effect.Effect<ReadonlyArray<A>> =>
  Effect.flatMap(Queue.take(queue), (first) =>
    Effect.map(Queue.takeAll(queue), (rest) => (Chunk.isEmpty(rest) ? [first] : [first, ...Chunk.toReadonlyArray(rest)]))
  )

/**
 * Hand validated inbound peer messages to their actor: Raft's and administration to the RaftNode,
 * snapshot transfers to the Snapshotter.
 */
export const deliverPeerMessages = (mailboxes: MailboxesService, messages: ReadonlyArray<PeerMessage>): void => {
  let raft: Array<Message | AdminMessage> | undefined
  for (const message of messages) {
    if (isSnapshotTransfer(message)) Queue.unsafeOffer(mailboxes.snapshotter, { _tag: "Transfer", message })
    else (raft ??= []).push(message)
  }
  if (raft !== undefined) Queue.unsafeOffer(mailboxes.raft, { _tag: "PeerMessages", messages: raft })
}
