/**
 * Leader transfer (Raft dissertation §3.10): the leader takes no more proposals (the core checks
 * `target`), brings the target's log up to its own, then sends it TimeoutNow, on which the target
 * campaigns at once, skipping pre-vote and past the voters' check-quorum leases (its Vote is
 * marked `transfer`). The transfer is abandoned when the target has not taken over within an
 * election timeout. A leader that removed itself hands over the same way as it steps down.
 *
 * Sending TimeoutNow voids this leader's read lease: the candidate it wakes ignores the very
 * promises (voters refusing candidates for an election timeout) that lease reads rely on.
 */
import type { TransferResult } from "./api.js"
import { memberOf, type Configuration } from "./Configuration.js"
import type { Outbox } from "./Outbox.js"
import type { RaftLog } from "./RaftLog.js"
import type { ReadLease } from "./Reads.js"
import type { Replication } from "./Replication.js"
import type { NodeId } from "./types.js"

/** Why voter `to` cannot take leadership over from `self` (0: no voter was found); undefined: it can. */
export const refuseTransfer = (self: NodeId, configuration: Configuration, to: NodeId): TransferResult | undefined => {
  if (to === 0) return { ok: false, reason: "no-voter", message: "there is no other voter to transfer leadership to" }
  if (to === self) return { ok: false, reason: "self", message: `node ${to} is already the leader` }
  const member = memberOf(configuration, to)
  if (member === undefined) return { ok: false, reason: "unknown-id", message: `node ${to} is not a member` }
  if (member.role !== "voter") return { ok: false, reason: "learner", message: `node ${to} is a learner; only voters can lead` }
  return undefined
}

export class LeaderTransfer {
  /** The voter leadership is being handed to (0: none). */
  private to: NodeId = 0
  /** Ticks since the transfer began. */
  private elapsed = 0

  constructor(
    private readonly self: NodeId,
    private readonly log: RaftLog,
    private readonly replication: Replication,
    private readonly lease: ReadLease,
    private readonly outbox: Outbox
  ) {}

  /** The voter leadership is being handed to (0: none). */
  get target(): NodeId {
    return this.to
  }

  /** Hand leadership to voter `to`, in `term`. */
  start(to: NodeId, term: number): void {
    this.to = to
    this.elapsed = 0
    // Bring its log up to ours first (the append's answer sends TimeoutNow), or tell it now.
    if (!this.maybeHandOver(term)) this.replication.queue(to)
  }

  cancel(): void {
    this.to = 0
  }

  /** A leader's tick: abandon a transfer whose target did not take over within `electionTicks`. */
  tick(electionTicks: number): void {
    if (this.to !== 0 && ++this.elapsed >= electionTicks) this.to = 0
  }

  /** Once the target holds our whole log, tell it to campaign now. Returns whether it was told. */
  maybeHandOver(term: number): boolean {
    const pr = this.replication.get(this.to)
    if (pr === undefined || pr.match !== this.log.lastIndex()) return false
    this.handOver(this.to, term)
    return true
  }

  /** Send `to` TimeoutNow: its candidate will ignore leases, so this leader's own lease is void from now on. */
  handOver(to: NodeId, term: number): void {
    this.lease.forfeit()
    this.outbox.send({ type: "TimeoutNow", from: this.self, to, term })
  }
}
