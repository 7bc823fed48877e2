/**
 * The in-memory Raft log and the indexes that describe it: what the WAL has synced
 * (`persisted`), what is committed, what has been handed to the applier, and which suffix still
 * has to be written to the WAL (`unstableFrom`). Index 0 is the empty log's sentinel (term 0).
 */
import type { Entry } from "./types.js"

export class RaftLog {
  private readonly entries: Array<Entry>
  /** First index not yet handed to the WAL in a Ready. */
  private unstableFrom: number
  persisted: number
  committed: number
  /** Highest index handed out in Ready.committed. */
  applied: number

  constructor(entries: ReadonlyArray<Entry>, commit: number, applied: number) {
    this.entries = [...entries]
    const last = this.lastIndex()
    this.unstableFrom = last + 1
    this.persisted = last
    // The engine may be ahead of the commit index last written to the WAL (commit-only hard
    // state records are not fsynced): anything it applied was committed.
    this.committed = Math.min(Math.max(commit, applied), last)
    this.applied = Math.min(applied, this.committed)
  }

  lastIndex(): number {
    return this.entries.length
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0
  }

  /** The term of the entry at `index`, 0 for the sentinel, undefined beyond the log. */
  term(index: number): number | undefined {
    if (index === 0) return 0
    if (index < 0 || index > this.entries.length) return undefined
    return this.entries[index - 1].term
  }

  entry(index: number): Entry {
    return this.entries[index - 1]
  }

  /** Entries in [from, to), at most `max` of them. */
  slice(from: number, to: number, max: number): Array<Entry> {
    const end = Math.min(to, from + max, this.entries.length + 1)
    return from >= end ? [] : this.entries.slice(from - 1, end - 1)
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
    this.entries.length = index - 1
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
    const unstable = this.unstableFrom <= this.lastIndex() ? this.entries.slice(this.unstableFrom - 1) : []
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
    const out = this.entries.slice(this.applied, upTo)
    this.applied = upTo
    return out
  }
}
