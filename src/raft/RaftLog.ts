/**
 * The in-memory Raft log and the indexes that describe it: what the WAL has synced
 * (`persisted`), what is committed, what has been handed to the applier, and which suffix still
 * has to be written to the WAL (`unstableFrom`). Entries up to `offset` were compacted into a
 * snapshot; `offset` itself keeps its term (`offsetTerm`) so appends after it can be checked.
 * A new log has offset 0, the sentinel of term 0.
 */
import type { Entry } from "./types.js"

export class RaftLog {
  private entries: Array<Entry>
  /** Index of the last compacted entry (entries[0] is offset + 1). */
  offset: number
  offsetTerm: number
  /** First index not yet handed to the WAL in a Ready. */
  private unstableFrom: number
  persisted: number
  committed: number
  /** Highest index handed out in Ready.committed. */
  applied: number

  constructor(
    entries: ReadonlyArray<Entry>,
    commit: number,
    applied: number,
    snapshot: { readonly index: number; readonly term: number } = { index: 0, term: 0 }
  ) {
    this.entries = [...entries]
    this.offset = snapshot.index
    this.offsetTerm = snapshot.term
    if (entries.length > 0 && entries[0].index !== snapshot.index + 1) {
      throw new Error(`raft: log starts at ${entries[0].index}, expected ${snapshot.index + 1}`)
    }
    const last = this.lastIndex()
    this.unstableFrom = last + 1
    this.persisted = last
    // The engine may be ahead of the commit index last written to the WAL (commit-only hard
    // state records are not fsynced): anything it applied was committed.
    this.committed = Math.min(Math.max(commit, applied, snapshot.index), last)
    this.applied = Math.max(Math.min(applied, this.committed), snapshot.index)
  }

  lastIndex(): number {
    return this.offset + this.entries.length
  }

  /** The first index still held in memory (lastIndex() + 1 when there is none). */
  firstIndex(): number {
    return this.offset + 1
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0
  }

  /** The term of the entry at `index`: undefined when compacted away or beyond the log. */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm
    if (index < this.offset || index > this.lastIndex()) return undefined
    return this.entries[index - this.offset - 1].term
  }

  /** The entry at `index`, undefined when compacted away or beyond the log. */
  entry(index: number): Entry | undefined {
    return index > this.offset && index <= this.lastIndex() ? this.entries[index - this.offset - 1] : undefined
  }

  /** Entries in [from, to), at most `max` of them; `from` must not be compacted. */
  slice(from: number, to: number, max: number, maxBytes = Number.POSITIVE_INFINITY): Array<Entry> {
    let end = Math.min(to, from + max, this.lastIndex() + 1)
    if (maxBytes !== Number.POSITIVE_INFINITY) {
      // Stop before the entry that would pass maxBytes, but always take the first one.
      let bytes = 0
      for (let index = from; index < end; index++) {
        bytes += this.entries[index - this.offset - 1].data.length
        if (bytes > maxBytes && index > from) {
          end = index
          break
        }
      }
    }
    return from >= end ? [] : this.entries.slice(from - this.offset - 1, end - this.offset - 1)
  }

  /** Raft §5.4.1: is a candidate's log at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /** Leader append: entries continue the log. */
  append(entries: ReadonlyArray<Entry>): void {
    for (const entry of entries) this.entries.push(entry)
  }

  /**
   * Follower append (figure 2, AppendEntries 2-5). Returns the index of the last entry the
   * message covers, or undefined when the log does not contain prevIndex/prevTerm.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: ReadonlyArray<Entry>): number | undefined {
    if (this.term(prevIndex) !== prevTerm) return undefined
    const lastNew = prevIndex + entries.length
    let i = 0
    // Skip entries we already have; truncate at the first conflict.
    while (i < entries.length && this.term(entries[i].index) === entries[i].term) i++
    if (i < entries.length) {
      const from = entries[i].index
      if (from <= this.committed) throw new Error(`raft: entry ${from} conflicts with the committed log`)
      this.truncateFrom(from)
      for (; i < entries.length; i++) this.entries.push(entries[i])
    }
    this.commitTo(Math.min(leaderCommit, lastNew))
    return lastNew
  }

  private truncateFrom(index: number): void {
    this.entries.length = index - this.offset - 1
    if (this.unstableFrom > index) this.unstableFrom = index
    if (this.persisted >= index) this.persisted = index - 1
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false
    this.committed = Math.min(index, this.lastIndex())
    return true
  }

  /**
   * The first index of the term that `index` belongs to, minus one: where a leader should
   * probe next after a conflict at `index`, skipping a whole divergent term in one round trip.
   */
  conflictHint(index: number): number {
    const last = this.lastIndex()
    if (index > last) return last
    const term = this.term(index)
    let i = index
    while (i > this.committed && i > 0 && this.term(i - 1) === term) i--
    return Math.max(i - 1, 0)
  }

  /** Entries the WAL has not been given yet; marks them given. */
  takeUnstable(): Array<Entry> {
    const unstable = this.unstableFrom <= this.lastIndex() ? this.entries.slice(this.unstableFrom - this.offset - 1) : []
    this.unstableFrom = this.lastIndex() + 1
    return unstable
  }

  /** The WAL synced up to `index` (term `term`); ignored if that entry has since been replaced. */
  markPersisted(index: number, term: number): void {
    if (index > this.persisted && index <= this.lastIndex() && this.term(index) === term) this.persisted = index
  }

  /** Committed entries that are also durable here and were not handed out yet. */
  takeCommitted(): Array<Entry> {
    const upTo = Math.min(this.committed, this.persisted)
    if (upTo <= this.applied) return []
    const out = this.entries.slice(this.applied - this.offset, upTo - this.offset)
    this.applied = upTo
    return out
  }

  /**
   * Drop the entries up to `index` (already in a durable snapshot). Only applied and persisted
   * entries go: the rest are still needed here.
   */
  compact(index: number): void {
    const upTo = Math.min(index, this.applied, this.persisted)
    if (upTo <= this.offset) return
    this.offsetTerm = this.term(upTo)!
    this.entries = this.entries.slice(upTo - this.offset)
    this.offset = upTo
  }

  /**
   * Replace the whole log with a snapshot's state (a follower that fell behind the leader's
   * compacted log): everything up to `index` is committed, applied and durable by construction.
   */
  restore(index: number, term: number): void {
    this.entries = []
    this.offset = index
    this.offsetTerm = term
    this.unstableFrom = index + 1
    this.persisted = index
    this.committed = index
    this.applied = index
  }
}
