/**
 * Proposals made to a node that is not the leader: forwarded to the leader at the end of the turn
 * (in Propose messages of at most `maxBytesPerMessage` entry bytes each), or, while no leader is
 * known, held, at most `maxPendingProposals` of them (the rest are dropped and counted), until one
 * is known or this node wins an election and appends them itself.
 */
import type { RaftConfig } from "./api.js"
import type { Outbox } from "./Outbox.js"
import type { NodeId } from "./types.js"

/** Consecutive runs of `items` of at most `maxBytes` each (a larger item alone in its run). */
export const splitByBytes = (items: ReadonlyArray<Uint8Array>, maxBytes: number): Array<Array<Uint8Array>> => {
  const runs: Array<Array<Uint8Array>> = []
  let run: Array<Uint8Array> = []
  let bytes = 0
  for (const item of items) {
    if (run.length > 0 && bytes + item.length > maxBytes) {
      runs.push(run)
      run = []
      bytes = 0
    }
    run.push(item)
    bytes += item.length
  }
  if (run.length > 0) runs.push(run)
  return runs
}

export class PendingProposals {
  private pending: Array<Uint8Array> = []

  constructor(
    private readonly config: RaftConfig,
    private readonly outbox: Outbox
  ) {}

  /** Hold `data` for the leader (bounded: what does not fit is dropped). */
  hold(data: ReadonlyArray<Uint8Array>): void {
    const room = this.config.maxPendingProposals - this.pending.length
    for (let i = 0; i < data.length; i++) {
      if (i < room) this.pending.push(data[i])
      else this.outbox.proposalDropped()
    }
  }

  /** Send what is held to `leader`. */
  forward(self: NodeId, leader: NodeId, term: number): void {
    if (this.pending.length === 0) return
    for (const entries of splitByBytes(this.pending, this.config.maxBytesPerMessage ?? Number.POSITIVE_INFINITY)) {
      this.outbox.send({ type: "Propose", from: self, to: leader, term, entries })
    }
    this.pending = []
  }

  /** This node became the leader: what it held, for it to append. */
  take(): Array<Uint8Array> {
    const held = this.pending
    this.pending = []
    return held
  }
}
