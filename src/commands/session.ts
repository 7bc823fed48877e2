/**
 * What connection-local commands (CLIENT, HELLO, MULTI, INFO, ...) work with: the client's own
 * state, a read-only view of its node, and the connection's ways of answering. The server
 * (src/server) implements these interfaces; the commands only see them.
 */
import type { AdminCommand, AdminOutcome } from "../node/Admin.js"
import type { Reply } from "../resp/Reply.js"
import type { Payload, QueuedCommand } from "./CommandCodec.js"
import type { Argv, CommandSpec } from "./registry.js"
import type { ReadRequest } from "./StateMachine.js"

export type ReplyTo = (reply: Reply) => void

/** A command queued between MULTI and EXEC. */
export interface QueuedEntry {
  readonly spec: CommandSpec
  readonly argv: Argv
  /** The database it runs in (SELECT inside MULTI changes it for the commands after). */
  readonly db: number
}

export interface MultiState {
  readonly queue: Array<QueuedEntry>
  /** A command was refused while queuing: EXEC answers EXECABORT. */
  aborted: boolean
  /** The database after the queued SELECTs (the client's once the transaction runs). */
  db: number
}

/** A connection's state, as CLIENT LIST shows it and local commands change it. */
export interface ClientState {
  readonly id: number
  name: Buffer | null
  libName: string
  libVersion: string
  protocol: 2 | 3
  /** The selected logical database. */
  db: number
  /** "host:port" of the client and of the server side of the connection. */
  readonly address: string
  readonly localAddress: string
  readonly createdAt: number
  lastCommandAt: number
  lastCommand: string
  multi: MultiState | undefined
  /** The WATCH session this client's watched keys belong to (0: none). */
  watchSession: number
  user: string
  authenticated: boolean
  /** Close the connection (CLIENT KILL). */
  readonly kill: () => void
}

/** A state-machine request from a connection. */
export type StateRequest =
  | { readonly kind: "read"; readonly request: ReadRequest }
  | { readonly kind: "write"; readonly payload: Payload }

/** One member of the cluster, as CLUSTER and RAFT.NODES show it. */
export interface ClusterMember {
  readonly id: number
  readonly suffrage: "voter" | "learner"
  /** "host:port" where peers reach it. */
  readonly peerAddress: string
  /** "host:port" where it serves clients, as it announced it (undefined: not known yet). */
  readonly clientAddress: string | undefined
  /** Heard from within the last two election timeouts (always true for this node). */
  readonly reachable: boolean
}

/** The cluster as this node knows it: one shard, led by `leader`. */
export interface ClusterView {
  readonly self: number
  /** 0: no leader known. */
  readonly leader: number
  readonly term: number
  readonly appliedIndex: number
  readonly members: ReadonlyArray<ClusterMember>
}

/** The node, as local commands see it. */
export interface ServerView {
  readonly nodeId: number
  readonly port: number
  /** INFO's sections, by lower-case name, each "# Title\r\nfield:value..." (no trailing CRLF). */
  readonly infoSection: (name: string) => string | undefined
  /** INFO's section names, in the order INFO (without arguments) prints them. */
  readonly infoSections: ReadonlyArray<string>
  readonly clients: () => Iterable<ClientState>
  /** A new WATCH session number for this node (unique across restarts). */
  readonly newWatchSession: () => number
  /** Take a snapshot; `replyTo` (if any) learns when it is durable. */
  readonly requestSnapshot: (replyTo: ReplyTo | undefined) => void
  /** Unix time of the last durable snapshot (LASTSAVE). */
  readonly lastSave: () => number
  /** Propose an entry no client waits for (UNWATCH of a departing client). */
  readonly proposeInBackground: (payload: Payload) => void
  /** The members, roles and addresses (CLUSTER, ROLE). */
  readonly cluster: () => ClusterView
  /** Membership changes, leader transfer, RAFT.NODES: answered once the outcome is known. */
  readonly admin: (command: AdminCommand, reply: (outcome: AdminOutcome) => void) => void
}

export interface ClientSession {
  readonly client: ClientState
  readonly server: ServerView
  /** A reply slot, answered later but written in request order. */
  readonly reserve: () => ReplyTo
  /** Hand a request to consensus, in the connection's command order. */
  readonly submit: (request: StateRequest, replyTo: ReplyTo) => void
  /** Close the connection once this command's reply is written (QUIT). */
  readonly closeAfterReply: () => void
}

export type { QueuedCommand }
