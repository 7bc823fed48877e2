/**
 * Read-index rounds on the leader (Raft dissertation §6.4). Every read that arrives in one turn
 * joins the same round; one heartbeat broadcast with the round's context confirms leadership
 * for all of them once a quorum acknowledges it (an ack for a newer round confirms older ones).
 *
 * Every periodic heartbeat is a round too (without reads): its quorum acknowledgement proves the
 * leader was still leader when it was sent, which is where a read lease starts (§6.4.1), and it
 * confirms any read round still waiting (a lost ack costs a heartbeat interval, not the read).
 */
import type { NodeId } from "./types.js"

/** Who asked: a local request id, or a follower's batched request. */
export type ReadRequester =
  | { readonly local: true; readonly requestId: number }
  | { readonly local: false; readonly from: NodeId; readonly requestId: number }

interface Round {
  readonly context: number
  readonly index: number
  readonly requesters: Array<ReadRequester>
  readonly acks: Set<NodeId>
  /** The leader's tick when the round's heartbeat was sent. */
  sentTick: number
}

export class ReadOnly {
  private nextContext = 1
  /** The round collecting this turn's reads; broadcast at the end of the turn. */
  private open: Round | undefined
  /** Broadcast rounds awaiting a quorum, oldest first. */
  private sent: Array<Round> = []

  add(requester: ReadRequester, commitIndex: number): void {
    if (this.open === undefined) {
      this.open = { context: this.nextContext++, index: commitIndex, requesters: [], acks: new Set(), sentTick: 0 }
    }
    this.open.requesters.push(requester)
  }

  /** Close the open round, sent at `tick`; returns its context to broadcast, if there was one. */
  takeOpenContext(tick: number): number | undefined {
    const round = this.open
    if (round === undefined) return undefined
    this.open = undefined
    round.sentTick = tick
    this.sent.push(round)
    return round.context
  }

  /**
   * A round for a periodic heartbeat sent at `tick` (carrying no reads). Unconfirmed rounds without
   * reads are dropped when a newer one starts, so a leader cut off from its followers holds at
   * most one of them: an acknowledgement of the newer one confirms everything before it anyway.
   */
  heartbeatContext(tick: number): number {
    this.sent = this.sent.filter((round) => round.requesters.length > 0)
    const round: Round = { context: this.nextContext++, index: 0, requesters: [], acks: new Set(), sentTick: tick }
    this.sent.push(round)
    return round.context
  }

  /**
   * `from` acknowledged heartbeats up to `context`. Returns the rounds confirmed by a quorum (as
   * `isQuorum` judges the set of acknowledging nodes, the leader included: only voters count),
   * with every older round (confirming a newer round confirms leadership at the older times).
   */
  ack(
    from: NodeId,
    context: number,
    self: NodeId,
    isQuorum: (acks: ReadonlySet<NodeId>) => boolean
  ): Array<{ index: number; requesters: Array<ReadRequester>; sentTick: number }> {
    let confirmed = -1
    for (let i = 0; i < this.sent.length; i++) {
      const round = this.sent[i]
      if (round.context > context) break
      round.acks.add(from)
      round.acks.add(self)
      if (isQuorum(round.acks)) confirmed = i
    }
    if (confirmed < 0) return []
    return this.sent.splice(0, confirmed + 1).map((round) => ({ index: round.index, requesters: round.requesters, sentTick: round.sentTick }))
  }

  /** Drop everything (leadership lost); returns the requesters to fail. */
  reset(): Array<ReadRequester> {
    const all = [...this.sent.flatMap((round) => round.requesters), ...(this.open?.requesters ?? [])]
    this.sent = []
    this.open = undefined
    return all
  }
}
