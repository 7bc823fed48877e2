/**
 * Cluster administration inside the RaftNode: membership changes, leader transfers and the
 * RAFT.NODES view, accepted on any node. The leader acts on a request itself; a follower forwards
 * it to the leader over the peer connection (an AdminRequest, answered by an AdminResponse) and
 * relays the answer; a node that knows no leader holds the request until one is known. Answers
 * come when the outcome is known: a change once its configuration entry is committed, a transfer
 * once the target leads, or an error with the reason.
 *
 * Owned by the RaftNode fiber (no concurrency); it only calls the core and queues messages.
 */
import type { ConfigChangeResult, RaftCore, Ready, RaftStatus } from "../raft/api.js"
import { applyChange, type ConfigChange, memberOf, voterIds } from "../raft/Configuration.js"
import type { NodeId } from "../raft/types.js"
import type { AdminCommand, AdminOutcome, AdminRequest, NodeRow } from "./Admin.js"
import { parseHostPort } from "./Membership.js"
import type { AdminMessage, PeerMessage } from "./PeerMessage.js"

export interface AdministrationDeps {
  readonly self: NodeId
  readonly core: RaftCore
  readonly send: (to: NodeId, messages: ReadonlyArray<PeerMessage>) => void
  /** Whether node `id` ever wrote to the log (its id must not be given to a new node). */
  readonly hasWritten: (id: NodeId) => boolean
  /** When this node last heard from each peer (epoch ms). */
  readonly lastHeard: ReadonlyMap<NodeId, number>
  readonly requestTimeoutMs: number
  /** A member heard from within this long is taken to be up (an election timeout). */
  readonly electionMs: number
}

const error = (message: string): AdminOutcome => ({ kind: "error", message })

interface PendingChange {
  readonly index: number
  readonly term: number
  readonly reply: (outcome: AdminOutcome) => void
  readonly deadline: number
}

interface PendingTransfer {
  readonly target: NodeId
  readonly reply: (outcome: AdminOutcome) => void
  readonly deadline: number
}

/** Refusals that go away by themselves shortly: the request is tried again on the next tick. */
const TRANSIENT = new Set(["not-ready", "transferring"])

export class Administration {
  private changes: Array<PendingChange> = []
  private transfers: Array<PendingTransfer> = []
  /** Requests waiting for a leader to be known (or for a transient refusal to pass). */
  private waiting: Array<AdminRequest> = []
  /** Requests forwarded to the leader, by request id. */
  private readonly forwarded = new Map<number, AdminRequest>()
  private nextRequestId = 1

  constructor(private readonly deps: AdministrationDeps) {}

  /** Whether anything is still waiting for an outcome. */
  get busy(): boolean {
    return this.changes.length + this.transfers.length + this.waiting.length + this.forwarded.size > 0
  }

  /** A request made on this node. */
  submit(request: AdminRequest, now: number): void {
    const status = this.deps.core.status()
    if (status.role === "leader") return this.lead(request, now)
    if (status.leader !== 0) return this.forward(request, status.leader)
    // Without a leader, this node's own view is the best RAFT.NODES can show.
    if (request.command.kind === "nodes") return request.reply(this.nodesView(now))
    this.waiting.push(request)
  }

  /** A forwarded request or an answer, from peer `from`. */
  received(message: AdminMessage, now: number): void {
    if (message.type === "AdminResponse") {
      const request = this.forwarded.get(message.requestId)
      if (request === undefined) return
      this.forwarded.delete(message.requestId)
      // Leadership moved meanwhile: ask the new leader.
      if (message.outcome.kind === "not-leader") this.waiting.push(request)
      else request.reply(message.outcome)
      return
    }
    const { from, requestId } = message
    const term = this.deps.core.status().term
    const answer = (outcome: AdminOutcome) =>
      this.deps.send(from, [{ type: "AdminResponse", from: this.deps.self, to: from, term, requestId, outcome }])
    if (this.deps.core.status().role !== "leader") return answer({ kind: "not-leader" })
    this.lead({ command: message.command, reply: answer, deadline: now + this.deps.requestTimeoutMs }, now)
  }

  /** After each turn's Ready: settle what the turn decided, and hand held requests to a leader now known. */
  afterTurn(ready: Ready, status: RaftStatus, now: number): void {
    if (this.changes.length > 0) this.settleChanges(ready)
    if (this.transfers.length > 0) this.settleTransfers(status)
    if (this.waiting.length > 0 && status.leader !== 0) this.retryWaiting(now)
  }

  /** Once per tick: deadlines, and another try for requests refused for a passing reason. */
  tick(now: number): void {
    const timeout = `within ${this.deps.requestTimeoutMs} ms`
    this.changes = this.changes.filter((change) => {
      if (change.deadline > now) return true
      change.reply(error(`ERR the change (configuration entry ${change.index}) was not committed ${timeout}; it may still be: check RAFT.NODES`))
      return false
    })
    this.transfers = this.transfers.filter((transfer) => {
      if (transfer.deadline > now) return true
      transfer.reply(error(`ERR leadership did not move to node ${transfer.target} ${timeout}`))
      return false
    })
    for (const [id, request] of this.forwarded) {
      if (request.deadline > now) continue
      this.forwarded.delete(id)
      request.reply(error(`ERR no answer from the leader ${timeout}; a change may or may not have been made: check RAFT.NODES`))
    }
    this.retryWaiting(now)
  }

  private retryWaiting(now: number): void {
    const waiting = this.waiting
    this.waiting = []
    for (const request of waiting) {
      if (request.deadline <= now) {
        request.reply(error(`ERR ${this.deps.core.status().leader === 0 ? "no leader is known" : "the leader did not take the request"}: retry later`))
      } else this.submit(request, now)
    }
  }

  private forward(request: AdminRequest, leader: NodeId): void {
    const requestId = this.nextRequestId++
    this.forwarded.set(requestId, request)
    const term = this.deps.core.status().term
    this.deps.send(leader, [{ type: "AdminRequest", from: this.deps.self, to: leader, term, requestId, command: request.command }])
  }

  /** This node leads: act on the request. */
  private lead(request: AdminRequest, now: number): void {
    const command: AdminCommand = request.command
    switch (command.kind) {
      case "nodes":
        return request.reply(this.nodesView(now))
      case "transfer": {
        const result = this.deps.core.transferLeader(command.target === 0 ? undefined : command.target)
        if (!result.ok) return request.reply(error(`ERR ${result.message}`))
        this.transfers.push({ target: result.target, reply: request.reply, deadline: request.deadline })
        return
      }
      case "change": {
        const refused = this.refuseChange(command.change, now)
        if (refused !== undefined) return request.reply(error(refused))
        const result: ConfigChangeResult = this.deps.core.proposeConfigChange(command.change)
        if (!result.ok) {
          if (TRANSIENT.has(result.reason)) return void this.waiting.push(request)
          return request.reply(error(`ERR ${result.message}`))
        }
        this.changes.push({ index: result.index, term: result.term, reply: request.reply, deadline: request.deadline })
        return
      }
    }
  }

  /** Whether a member is up as far as the leader can tell (it answered within an election timeout). */
  private isUp(id: NodeId, now: number): boolean {
    if (id === this.deps.self) return true
    const heard = this.deps.lastHeard.get(id)
    return heard !== undefined && now - heard <= this.deps.electionMs
  }

  /**
   * What the node refuses before the core looks at a change (the core refuses the rest: a pending
   * change, the last voter, a learner far behind, unknown or taken ids): a malformed address, an id
   * that a node that left had (ids are never reused: see Membership.provesRemoval), promoting a
   * learner that is not answering, and any change after which the voters that are up would not make
   * a quorum of the new configuration (etcd's strict reconfiguration check): such a change would
   * leave the cluster unable to commit anything, this change's successor included.
   */
  private refuseChange(change: ConfigChange, now: number): string | undefined {
    const configuration = this.deps.core.status().configuration
    if (change.type === "add-voter" || change.type === "add-learner") {
      if (parseHostPort(change.address) === undefined) return `ERR invalid peer address '${change.address}': expected host:port`
      if (memberOf(configuration, change.id) === undefined && this.deps.hasWritten(change.id)) {
        return `ERR node id ${change.id} belonged to a node that left the cluster; ids are never reused: give the new node another id`
      }
    }
    if (change.type === "promote" && memberOf(configuration, change.id)?.role === "learner" && !this.isUp(change.id, now)) {
      return `ERR learner ${change.id} is not answering: it must be running and caught up (RAFT.NODES) before it is promoted`
    }
    const next = applyChange(configuration, change)
    if (!next.ok) return undefined // the core words the refusal
    const voters = voterIds(next.configuration)
    const up = voters.filter((id) => this.isUp(id, now)).length
    if (voters.length > 0 && up <= voters.length / 2) {
      return (
        `ERR after this change only ${up} of its ${voters.length} voters would be up, not a quorum: ` +
        `the cluster could commit nothing; bring the others back (or remove failed nodes) first`
      )
    }
    return undefined
  }

  private settleChanges(ready: Ready): void {
    const committed = ready.committed
    const restoredTo = ready.snapshot?.index ?? 0
    if (committed.length === 0 && restoredTo === 0) return
    const first = committed.length > 0 ? committed[0].index : Number.POSITIVE_INFINITY
    const last = committed.length > 0 ? committed[committed.length - 1].index : 0
    this.changes = this.changes.filter((change) => {
      if (change.index >= first && change.index <= last) {
        const entry = committed[change.index - first]
        change.reply(
          entry.term === change.term
            ? { kind: "changed" }
            : error("ERR the change was lost: leadership changed before it was committed; check RAFT.NODES and retry")
        )
        return false
      }
      if (change.index <= restoredTo) {
        change.reply(error("ERR the outcome of the change is unknown (this node installed a snapshot past it): check RAFT.NODES"))
        return false
      }
      return true
    })
  }

  private settleTransfers(status: RaftStatus): void {
    this.transfers = this.transfers.filter((transfer) => {
      if (status.leader === transfer.target) {
        transfer.reply({ kind: "transferred", leader: transfer.target })
        return false
      }
      if (status.role === "leader" && status.transferee !== transfer.target) {
        transfer.reply(error(`ERR node ${transfer.target} did not take over within an election timeout; this node still leads`))
        return false
      }
      if (status.leader !== 0 && status.leader !== this.deps.self) {
        transfer.reply(error(`ERR leadership moved to node ${status.leader}, not to node ${transfer.target}`))
        return false
      }
      return true
    })
  }

  /** The members as this node sees them (match indexes and last contacts are the leader's knowledge). */
  nodesView(now: number): AdminOutcome {
    const status = this.deps.core.status()
    const progress = new Map(this.deps.core.progress().map((p) => [p.id, p]))
    const rows: Array<NodeRow> = status.configuration.members.map((member) => {
      const self = member.id === this.deps.self
      const heard = this.deps.lastHeard.get(member.id)
      return {
        id: member.id,
        suffrage: member.role,
        peerAddress: member.address,
        match: self ? status.lastIndex : (progress.get(member.id)?.match ?? null),
        lastContactMs: self ? 0 : heard === undefined ? null : Math.max(0, now - heard)
      }
    })
    return { kind: "nodes", leader: status.leader, rows }
  }
}
