/**
 * What one turn of the Raft core produces for its driver, besides the log: messages (those that
 * may leave now, and those that must wait for the WAL's fsync), the outcomes of read requests,
 * the count of dropped proposals, the snapshots to stream, and whether the hard state changed.
 * Every part of the core writes its outputs here, in the order they happen; `ready()` takes them
 * all at once.
 */
import type { ReadState, SnapshotToSend } from "./api.js"
import type { HardState, Message } from "./types.js"

export interface TurnOutputs {
  readonly messages: Array<Message>
  readonly messagesAfterPersist: Array<Message>
  readonly readStates: Array<ReadState>
  readonly readFailures: Array<number>
  readonly droppedProposals: number
  readonly snapshotsToSend: Array<SnapshotToSend>
}

export class Outbox {
  private messages: Array<Message> = []
  private messagesAfterPersist: Array<Message> = []
  private readStates: Array<ReadState> = []
  private readFailures: Array<number> = []
  private droppedProposals = 0
  private snapshotsToSend: Array<SnapshotToSend> = []

  /** `lastHardState`: the hard state recovered at start-up (already durable). */
  constructor(private lastHardState: HardState) {}

  /** A message that may leave at once. */
  send(message: Message): void {
    this.messages.push(message)
  }

  /** A message that promises durability (a vote, an acknowledgement): it leaves after the fsync. */
  sendAfterPersist(message: Message): void {
    this.messagesAfterPersist.push(message)
  }

  /** A read request confirmed: serve it once `index` is applied. */
  readConfirmed(requestId: number, index: number): void {
    this.readStates.push({ requestId, index })
  }

  /** A read request that could not be confirmed (the caller may retry it). */
  readFailed(requestId: number): void {
    this.readFailures.push(requestId)
  }

  proposalDropped(): void {
    this.droppedProposals++
  }

  snapshotToSend(snapshot: SnapshotToSend): void {
    this.snapshotsToSend.push(snapshot)
  }

  /**
   * `current` if it differs from the hard state of the last call (the WAL records it), and whether
   * its term or vote did (then the WAL must sync before the messages that wait for it leave).
   */
  hardStateChange(current: HardState): { readonly hardState: HardState | undefined; readonly termOrVoteChanged: boolean } {
    const previous = this.lastHardState
    const termOrVoteChanged = current.term !== previous.term || current.vote !== previous.vote
    const changed = termOrVoteChanged || current.commit !== previous.commit
    this.lastHardState = current
    return { hardState: changed ? current : undefined, termOrVoteChanged }
  }

  /** Everything collected since the last call; the outbox starts empty again. */
  take(): TurnOutputs {
    const outputs: TurnOutputs = {
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      readStates: this.readStates,
      readFailures: this.readFailures,
      droppedProposals: this.droppedProposals,
      snapshotsToSend: this.snapshotsToSend
    }
    this.snapshotsToSend = []
    this.messages = []
    this.messagesAfterPersist = []
    this.readStates = []
    this.readFailures = []
    this.droppedProposals = 0
    return outputs
  }
}
