/**
 * A test-only seam: functions the WAL writer, the Applier and each peer link call once per turn,
 * the client listener once per accepted socket and each client connection once per batch of
 * bytes, which production leaves as no-ops (a Context.Reference: no Layer is needed). Tests
 * replace them with functions that throw, to show how the supervision tree (Supervision.ts)
 * handles a defect in each part: a peer link or the client listener restarts, a client
 * connection closes, an actor stops the node.
 */
import { Context } from "effect"
import type { Entry, NodeId } from "../raft/types.js"
import type { PeerMessage } from "./PeerMessage.js"

export interface InjectedDefectsService {
  /** A peer link is about to send `messages` to `to`. */
  readonly peerLink: (to: NodeId, messages: ReadonlyArray<PeerMessage>) => void
  /** The WAL writer is about to append `entries` (possibly none). */
  readonly walWriter: (entries: ReadonlyArray<Entry>) => void
  /** The Applier is about to apply `entries`. */
  readonly applier: (entries: ReadonlyArray<Entry>) => void
  /** The client listener's accept loop took a socket. */
  readonly clientAccept: () => void
  /** A client connection is about to handle `chunks` it received. */
  readonly clientInput: (chunks: ReadonlyArray<Buffer>) => void
}

const none = () => {}

export class InjectedDefects extends Context.Reference<InjectedDefects>()("raft-kv/InjectedDefects", {
  defaultValue: (): InjectedDefectsService => ({ peerLink: none, walWriter: none, applier: none, clientAccept: none, clientInput: none })
}) {}
