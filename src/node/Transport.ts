/**
 * The peer network as a service. Production uses TCP (TcpTransport.ts); the simulation swaps in
 * a simulated network. Inbound messages are delivered to the RaftNode mailbox by the layer.
 */
import { Context, type Effect } from "effect"
import type { Member } from "../raft/Configuration.js"
import type { NodeId } from "../raft/types.js"
import type { CommittedConfiguration } from "./Membership.js"
import type { PeerMessage } from "./PeerMessage.js"

/** What a member answered when asked for the configuration it knows to be committed. */
export interface ObservedConfiguration {
  readonly from: NodeId
  readonly committed: CommittedConfiguration
}

export interface TransportService {
  /**
   * Queue messages for one peer. Never blocks: while the peer is slow or down its bounded queue
   * buffers them, and once that is full they are dropped, which Raft tolerates (it retries by design).
   * Messages for a node that is not in the address book are dropped.
   */
  readonly send: (to: NodeId, messages: ReadonlyArray<PeerMessage>) => void
  /**
   * The address book (set by the RaftNode whenever its configuration changes): connect to these
   * members, accept messages only from them, and drop whoever left. While this node is not among
   * them (started with --join, waiting to be added) it accepts authenticated peers of any id: it
   * cannot know the leader that will add it.
   */
  readonly setMembers: (members: ReadonlyArray<Member>) => Effect.Effect<void>
  /**
   * Ask one member (the --join address first, then the members of the address book in turn)
   * which configuration it knows to be committed; undefined when it could not be asked.
   */
  readonly observeConfiguration: Effect.Effect<ObservedConfiguration | undefined>
}

export class Transport extends Context.Tag("raft-kv/Transport")<Transport, TransportService>() {}
