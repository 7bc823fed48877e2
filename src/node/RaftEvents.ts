/**
 * The consensus events an operator reads in the log, as RaftNode sees them between two turns:
 * one INFO line each, with an `event` annotation (a stable name to grep or query for) and the
 * event's fields as annotations of their own.
 */
import { Effect } from "effect"
import type { RaftStatus } from "../raft/api.js"

export interface LogEvent {
  readonly message: string
  readonly fields: Readonly<Record<string, string | number | boolean>>
}

/** One INFO line for the event (its fields as log annotations). */
export const logEvent = (event: LogEvent) => Effect.logInfo(event.message).pipe(Effect.annotateLogs(event.fields))

/** What changed in leadership and term from `before` to `after` (in the order it happened). */
export const raftEvents = (before: RaftStatus, after: RaftStatus): Array<LogEvent> => {
  const events: Array<LogEvent> = []
  if (before.leader !== 0 && after.leader === 0) {
    events.push({
      message: `lost the leader: node ${before.leader} of term ${before.term}`,
      fields: { event: "leader_lost", previousLeader: before.leader, previousTerm: before.term, term: after.term, role: after.role }
    })
  }
  if (after.term !== before.term) {
    events.push({
      message: `term ${after.term} began (was ${before.term})`,
      fields: { event: "term_changed", term: after.term, previousTerm: before.term, role: after.role }
    })
  }
  if (after.leader !== 0 && after.leader !== before.leader) {
    const self = after.leader === after.id
    events.push({
      message: self ? `leader elected: this node (${after.id}) leads term ${after.term}` : `leader elected: node ${after.leader} leads term ${after.term}`,
      fields: { event: "leader_elected", leader: after.leader, term: after.term, self }
    })
  }
  return events
}
