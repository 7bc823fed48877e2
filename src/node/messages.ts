/**
 * The typed messages the node's actors exchange. Each actor owns its state and is fed by one
 * queue; these unions are the whole vocabulary between them.
 */
import type { Reply } from "../resp/Reply.js"
import type { Entry, HardState, Message } from "../raft/types.js"

/** Where a client's reply goes once its request finishes (or fails). Called exactly once. */
export type ReplyTo = (reply: Reply) => void

/** A client request waiting for consensus, owned by one actor at a time. */
export interface PendingRequest {
  readonly argv: ReadonlyArray<Uint8Array>
  readonly replyTo: ReplyTo
  /** Epoch milliseconds (Effect Clock) after which the client gets a no-quorum error. */
  readonly deadline: number
}

/** Inputs of the RaftNode actor. */
export type RaftInput =
  | { readonly _tag: "Tick" }
  | { readonly _tag: "PeerMessages"; readonly messages: ReadonlyArray<Message> }
  | { readonly _tag: "ClientWrite"; readonly request: PendingRequest }
  | { readonly _tag: "ClientRead"; readonly request: PendingRequest }
  /** The WAL has fsynced everything up to `index` (whose term is `term`). */
  | { readonly _tag: "WalSynced"; readonly index: number; readonly term: number }

/** Inputs of the WalWriter actor: what one RaftNode turn must persist. */
export interface WalBatch {
  readonly hardState: HardState | undefined
  readonly entries: ReadonlyArray<Entry>
  readonly sync: boolean
  /** Messages to send once this batch and every earlier one are durable. */
  readonly messagesAfterPersist: ReadonlyArray<Message>
}

/** Inputs of the Applier actor. */
export type ApplierInput =
  /** A write was proposed with this sequence number: reply to it when its entry applies. */
  | { readonly _tag: "ExpectWrite"; readonly seq: number; readonly request: PendingRequest }
  | { readonly _tag: "Committed"; readonly entries: ReadonlyArray<Entry> }
  /** A linearizable read may be served once `index` is applied. */
  | { readonly _tag: "ReadReady"; readonly index: number; readonly request: PendingRequest }
  /** Time passed: give up on expected writes past their deadline. */
  | { readonly _tag: "Sweep"; readonly now: number }
