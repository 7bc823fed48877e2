/**
 * The actors' queues, provided as one Layer so every actor (and the transport, which delivers
 * peer messages) can reach the queues it feeds without reaching into another actor's state.
 */
import { Context, Effect, Layer, Queue } from "effect"
import type { ApplierInput, RaftInput, WalBatch } from "./messages.js"

export interface MailboxesService {
  readonly raft: Queue.Queue<RaftInput>
  readonly wal: Queue.Queue<WalBatch>
  readonly applier: Queue.Queue<ApplierInput>
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
    applier: Queue.unbounded<ApplierInput>()
  })
)
