/** Replies a client gets when consensus cannot answer in time (Redis Cluster's wording). */
import { error, type Reply } from "../resp/Reply.js"

export const writeTimedOut = (timeoutMs: number): Reply =>
  error(
    `CLUSTERDOWN no quorum: the write was not committed within ${timeoutMs} ms (it may still be applied later)`
  )

export const readTimedOut = (timeoutMs: number): Reply =>
  error(`CLUSTERDOWN no quorum: the read could not be confirmed by a quorum within ${timeoutMs} ms`)

/** The node replaced its state with a snapshot that may or may not include the write. */
export const writeOutcomeUnknown: Reply = error(
  "ERR the write's outcome is unknown: this node caught up from a snapshot that may include it; read before retrying"
)

/** A re-sent proposal committed after a later one of the same node: applying it now would reorder writes. */
export const writeOvertaken: Reply = error(
  "ERR the write was not applied: it was lost in a leader change and overtaken by a later write; retry it"
)
