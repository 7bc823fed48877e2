/**
 * The leader's view of one follower's log (etcd-io/raft's Progress): `probe` sends one append at
 * a time until the follower's match index is known; `replicate` pipelines appends up to a window;
 * `snapshot` waits while the follower, behind the compacted log, receives a snapshot.
 */
export class Progress {
  match = 0
  next: number
  state: "probe" | "replicate" | "snapshot" = "probe"
  /** Snapshot: the index of the snapshot being sent, and the tick the transfer finished at (if it did). */
  pendingSnapshot = 0
  snapshotDoneTick: number | undefined
  /** Probe: an append is outstanding; wait for its answer or the next heartbeat response. */
  probeSent = false
  /** Replicate: the last index carried by each append in flight and the tick it left, oldest first. */
  inflight: Array<{ readonly index: number; readonly tick: number }> = []
  /** Heard from since the last check-quorum round. */
  recentActive = true

  constructor(lastIndex: number) {
    this.next = lastIndex + 1
  }

  isPaused(maxInflight: number): boolean {
    if (this.state === "snapshot") return true
    return this.state === "probe" ? this.probeSent : this.inflight.length >= maxInflight
  }

  /** A successful append response up to `index`. Returns whether the match index moved. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.match < index) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    if (this.next < index + 1) this.next = index + 1
    while (this.inflight.length > 0 && this.inflight[0].index <= index) this.inflight.shift()
    return updated
  }

  /** A rejected append at `rejected`; returns false if the rejection is stale. */
  maybeDecrease(rejected: number, hint: number): boolean {
    if (this.state === "snapshot") return false
    if (this.state === "replicate") {
      if (rejected <= this.match) return false
      this.becomeProbe()
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1)
    this.probeSent = false
    return true
  }

  /**
   * Appends unanswered since before `tick` were most likely lost (a dropped connection): a
   * full window would otherwise wait forever, so fall back to probing from the match index.
   */
  recoverLostAppends(tick: number): void {
    if (this.state === "replicate" && this.inflight.length > 0 && this.inflight[0].tick < tick) this.becomeProbe()
  }

  becomeProbe(): void {
    this.state = "probe"
    this.probeSent = false
    this.inflight = []
    this.next = this.match + 1
  }

  becomeSnapshot(index: number): void {
    this.state = "snapshot"
    this.pendingSnapshot = index
    this.snapshotDoneTick = undefined
    this.inflight = []
  }

  /**
   * A snapshot transfer that finished at least an election timeout before `tick` without the
   * follower acknowledging it was lost (the follower restarted, or refused it): start over.
   */
  recoverLostSnapshot(tick: number): void {
    if (this.state === "snapshot" && this.snapshotDoneTick !== undefined && this.snapshotDoneTick < tick) this.becomeProbe()
  }

  becomeReplicate(): void {
    this.state = "replicate"
    this.probeSent = false
    this.inflight = []
    this.next = this.match + 1
  }

  /** An append carrying entries up to `lastSent` left at `tick`. */
  sent(lastSent: number, carriedEntries: boolean, tick: number): void {
    if (this.state === "replicate") {
      if (carriedEntries) {
        this.next = lastSent + 1
        this.inflight.push({ index: lastSent, tick })
      }
    } else {
      this.probeSent = true
    }
  }
}
