/**
 * The peer network as a service. Production uses TCP (TcpTransport.ts); the simulation swaps in
 * a simulated network. Inbound messages are delivered to the RaftNode mailbox by the layer.
 */
import { Context } from "effect"
import type { NodeId } from "../raft/types.js"
import type { PeerMessage } from "./PeerMessage.js"

export interface TransportService {
  /**
   * Queue messages for one peer. Never blocks: while the peer is slow or down its bounded queue
   * buffers them, and once that is full they are dropped, which Raft tolerates (it retries by design).
   */
  readonly send: (to: NodeId, messages: ReadonlyArray<PeerMessage>) => void
}

export class Transport extends Context.Tag("raft-kv/Transport")<Transport, TransportService>() {}
