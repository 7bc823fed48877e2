/**
 * Range checks on every decoded peer message, before it can reach the Raft core or the
 * Snapshotter. The codec already refuses numbers that are not non-negative safe integers; this
 * module refuses values no correct node sends: a term the core could not increment, an index
 * whose successor is not exact, entries whose terms break the log's order. One forged or
 * corrupted number must not be able to poison the cluster's state for good (a term near 2^53
 * adopted by every node would leave no next term to elect a leader in).
 *
 * Stateless and allocation-free: a few comparisons per message and per entry.
 */
import type { PeerMessage } from "./PeerMessage.js"

/**
 * The largest term accepted. Terms only grow by one per election, so real clusters stay many
 * orders of magnitude below; above this a node could not add one (a candidate's term, a
 * pre-vote's term + 1) and stay exact in a double.
 */
export const MAX_TERM = Number.MAX_SAFE_INTEGER - 2
/** The largest log index (commit, match, snapshot index) accepted: its successor stays exact. */
export const MAX_INDEX = Number.MAX_SAFE_INTEGER - 2
/** Read-index request ids and heartbeat contexts: counters that must stay exact. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER - 1
/** Snapshot byte offsets: far beyond any real snapshot, and offset + chunk stays exact. */
export const MAX_SNAPSHOT_BYTES = 2 ** 50

/** Why `m` must be refused, or undefined when every field is in range. */
export const peerMessageProblem = (m: PeerMessage): string | undefined => {
  if (m.term > MAX_TERM) return `term ${m.term} is above ${MAX_TERM} (it could not be incremented safely)`
  switch (m.type) {
    case "PreVote":
    case "Vote":
      if (m.lastLogIndex > MAX_INDEX) return `lastLogIndex ${m.lastLogIndex} is above ${MAX_INDEX}`
      // A candidate's last entry was written in its term or earlier (a pre-vote asks for term + 1).
      if (m.lastLogTerm > m.term) return `lastLogTerm ${m.lastLogTerm} is above the message's term ${m.term}`
      return undefined
    case "PreVoteResp":
    case "VoteResp":
      return undefined
    case "Append":
      return appendProblem(m)
    case "AppendResp":
      if (m.index > MAX_INDEX) return `index ${m.index} is above ${MAX_INDEX}`
      if (m.hint > MAX_INDEX) return `hint ${m.hint} is above ${MAX_INDEX}`
      return undefined
    case "Heartbeat":
      if (m.commit > MAX_INDEX) return `commit ${m.commit} is above ${MAX_INDEX}`
      if (m.context > MAX_COUNTER) return `context ${m.context} is above ${MAX_COUNTER}`
      return undefined
    case "HeartbeatResp":
      if (m.context > MAX_COUNTER) return `context ${m.context} is above ${MAX_COUNTER}`
      return undefined
    case "Propose":
      return undefined
    case "ReadIndex":
      if (m.requestId > MAX_COUNTER) return `requestId ${m.requestId} is above ${MAX_COUNTER}`
      return undefined
    case "ReadIndexResp":
      if (m.requestId > MAX_COUNTER) return `requestId ${m.requestId} is above ${MAX_COUNTER}`
      if (m.index > MAX_INDEX) return `index ${m.index} is above ${MAX_INDEX}`
      return undefined
    case "SnapshotChunk":
      if (m.index > MAX_INDEX) return `snapshot index ${m.index} is above ${MAX_INDEX}`
      if (m.snapshotTerm > m.term) return `snapshot term ${m.snapshotTerm} is above the sender's term ${m.term}`
      if (m.offset + m.data.length > MAX_SNAPSHOT_BYTES) return `snapshot offset ${m.offset} is above ${MAX_SNAPSHOT_BYTES} bytes`
      return undefined
    case "SnapshotAck":
      if (m.index > MAX_INDEX) return `snapshot index ${m.index} is above ${MAX_INDEX}`
      if (m.received > MAX_SNAPSHOT_BYTES) return `received ${m.received} is above ${MAX_SNAPSHOT_BYTES} bytes`
      return undefined
    case "AdminRequest":
    case "AdminResponse":
      // The payload was checked by its Schema when it was decoded.
      if (m.requestId > MAX_COUNTER) return `requestId ${m.requestId} is above ${MAX_COUNTER}`
      return undefined
  }
}

/** A leader's log: terms never decrease along it and never exceed the leader's own term. */
const appendProblem = (m: Extract<PeerMessage, { type: "Append" }>): string | undefined => {
  if (m.commit > MAX_INDEX) return `commit ${m.commit} is above ${MAX_INDEX}`
  if (m.prevIndex + m.entries.length > MAX_INDEX) return `entries up to ${m.prevIndex + m.entries.length} reach above index ${MAX_INDEX}`
  if (m.prevTerm > m.term) return `prevTerm ${m.prevTerm} is above the leader's term ${m.term}`
  let previous = m.prevTerm
  for (const entry of m.entries) {
    if (entry.term === 0) return `entry ${entry.index} has term 0`
    if (entry.term > m.term) return `entry ${entry.index} has term ${entry.term}, above the leader's term ${m.term}`
    if (entry.term < previous) return `entry ${entry.index} has term ${entry.term}, below the term ${previous} before it`
    previous = entry.term
  }
  return undefined
}
