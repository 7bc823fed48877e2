/**
 * The duplicate filter for writes (Raft dissertation §6.3): the highest sequence number applied
 * per proposing node. A proposal re-sent after a leader change may commit twice; only its first
 * copy applies. It is state-machine state: snapshots carry it, and restarts rebuild it.
 */
import { decodeCommand } from "../commands/CommandCodec.js"
import { EntryKind, type Entry } from "../raft/types.js"

export class WriteSessions {
  private readonly highest: Map<number, number>

  constructor(sessions: Iterable<readonly [number, number]> = []) {
    this.highest = new Map(sessions)
  }

  /** Whether a write numbered `seq` from `origin` already applied (or a later one overtook it). */
  isDuplicate(origin: number, seq: number): boolean {
    return seq <= (this.highest.get(origin) ?? -1)
  }

  /** The highest sequence number applied for `origin` (-1: none). */
  highestOf(origin: number): number {
    return this.highest.get(origin) ?? -1
  }

  record(origin: number, seq: number): void {
    // The highest, not the last: a skipped duplicate copy may sit after a later proposal.
    if (!this.isDuplicate(origin, seq)) this.highest.set(origin, seq)
  }

  /** Account for an entry the engine already holds (replayed at start-up). */
  observe(entry: Entry): void {
    if (entry.kind !== EntryKind.Normal) return
    const command = decodeCommand(entry.data)
    if (command !== undefined) this.record(command.origin, command.seq)
  }

  entries(): Array<readonly [number, number]> {
    return [...this.highest]
  }
}
