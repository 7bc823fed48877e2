/**
 * What connection-local commands (CLIENT, HELLO, MULTI, INFO, ...) work with: the client's own
 * state, a read-only view of its node, and the connection's ways of answering. The server
 * (src/server) implements these interfaces; the commands only see them.
 */
import type { ReadMode } from "../cli/readFlags.js"
import type { AclLog, DenialReason } from "../acl/AclLog.js"
import type { AclUser } from "../acl/AclUser.js"
import type { Users } from "../acl/Users.js"
import type { AdminCommand, AdminOutcome } from "../node/Admin.js"
import type { Reply } from "../resp/Reply.js"
import type { BlockingCall } from "./blocking.js"
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
  /** The ACL user the connection runs as (the default user until AUTH or HELLO AUTH). */
  user: AclUser
  /** False until the client authenticates, when the default user needs a password (NOAUTH). */
  authenticated: boolean
  /** How this connection's reads are served (CLIENT READMODE; the node's --read-mode at first). */
  readMode: ReadMode
  /** Close the connection (CLIENT KILL). */
  readonly kill: () => void
  /** Whether a blocking command of this client is waiting (CLIENT LIST flag `b`); absent: never. */
  blocked?: () => boolean
  /** CLIENT UNBLOCK: end its blocking command's wait, answered `reply` (default: the timeout's null); false if none waits. */
  unblock?: (reply?: Reply) => boolean
}

/** A state-machine request from a connection (a read says how it may be served). */
export type StateRequest =
  | { readonly kind: "read"; readonly request: ReadRequest; readonly mode: ReadMode }
  | { readonly kind: "write"; readonly payload: Payload }
  /** A blocking command (BLPOP, ...): answered when it pops, or when its timeout passes; nothing after it on the connection runs meanwhile. */
  | { readonly kind: "block"; readonly call: BlockingCall }

/** The node's users and its record of refusals (AUTH, HELLO, NOAUTH, NOPERM, ACL). */
export interface AclView {
  readonly users: Users
  readonly log: AclLog
  /** Count a refusal (INFO stats acl_access_denied_*). */
  readonly countDenied: (reason: DenialReason) => void
}

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
  /** The node's --read-mode: a new connection's. */
  readonly readMode: ReadMode
  /** --maxclients (CONFIG GET maxclients). */
  readonly maxClients: number
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
  readonly acl: AclView
  /** The members, roles and addresses (CLUSTER, ROLE). */
  readonly cluster: () => ClusterView
  /** Membership changes, leader transfer, RAFT.NODES: answered once the outcome is known. */
  readonly admin: (command: AdminCommand, reply: (outcome: AdminOutcome) => void) => void
}

export interface ClientSession {
  readonly client: ClientState
  readonly server: ServerView
  /**
   * A reply slot, answered later but written in request order. `holdEarlier`: the ready replies
   * before it wait and go out with it (EXEC: its queued commands' QUEUED replies).
   */
  readonly reserve: (options?: { readonly holdEarlier?: boolean }) => ReplyTo
  /** Hand a request to consensus, in the connection's command order. */
  readonly submit: (request: StateRequest, replyTo: ReplyTo) => void
  /** Close the connection once this command's reply is written (QUIT). */
  readonly closeAfterReply: () => void
  /**
   * Process none of the commands read after this one until the returned function is called
   * (EXEC whose queued local commands change the session only once consensus has answered).
   */
  readonly holdInput: () => () => void
}

export type { QueuedCommand }
