/**
 * The in-memory Raft log and the indexes that describe it: what the WAL has synced
 * (`persisted`), what is committed, what has been handed to the applier, and which suffix still
 * has to be written to the WAL (`unstableFrom`). Entries up to `offset` were compacted into a
 * snapshot; `offset` itself keeps its term (`offsetTerm`) so appends after it can be checked.
 * A new log has offset 0, the sentinel of term 0.
 *
 * Memory: the log holds up to `--snapshot-entries` + 5,000 entries between snapshots (105,000 by
 * default), so it is kept compact: terms and kinds in arrays of numbers and every entry's bytes
 * copied into 1 MiB buffers (`EntryBytes`), instead of an object, a typed array and an
 * ArrayBuffer per entry (~330 bytes and four heap objects for a 45-byte SET, all promoted to the
 * old generation before the next snapshot frees them). An `Entry` is built when one is asked for;
 * its `data` is a view of bytes that are never written again.
 */
import type { Entry, EntryKind } from "./types.js"

const CHUNK_SHIFT = 20
const CHUNK_BYTES = 1 << CHUNK_SHIFT
/** Entries this large get a buffer of their own. */
const OWN_CHUNK_BYTES = CHUNK_BYTES / 4
const EMPTY = new Uint8Array(0)

/**
 * Append-only storage for entry bytes: buffers numbered in append order, so every byte appended
 * later has a higher address (chunk number · 2^20 + offset) and the chunks below the first kept
 * entry can be released. Nothing is ever overwritten, so views handed out stay valid.
 */
class EntryBytes {
  /** chunks[i] is chunk number base + i. */
  private chunks: Array<Uint8Array> = []
  private base = 0
  /** Where the next append goes in the last chunk; CHUNK_BYTES when a new chunk is needed. */
  private used = CHUNK_BYTES

  /** Copy `data` in; returns its address. */
  append(data: Uint8Array): number {
    const length = data.length
    if (length === 0) return 0
    if (length >= OWN_CHUNK_BYTES) {
      this.chunks.push(data.slice())
      this.used = CHUNK_BYTES // the next small entry starts a new chunk, after this one
      return (this.base + this.chunks.length - 1) * CHUNK_BYTES
    }
    if (this.used + length > CHUNK_BYTES) {
      this.chunks.push(new Uint8Array(CHUNK_BYTES))
      this.used = 0
    }
    const chunk = this.chunks[this.chunks.length - 1]
    chunk.set(data, this.used)
    const address = (this.base + this.chunks.length - 1) * CHUNK_BYTES + this.used
    this.used += length
    return address
  }

  view(address: number, length: number): Uint8Array {
    if (length === 0) return EMPTY
    const number = Math.floor(address / CHUNK_BYTES)
    const start = address - number * CHUNK_BYTES
    return this.chunks[number - this.base].subarray(start, start + length)
  }

  /** Release the chunks wholly below `address` (the first byte still needed). */
  releaseBelow(address: number): void {
    const number = Math.floor(address / CHUNK_BYTES)
    const drop = Math.min(number - this.base, this.chunks.length - 1)
    if (drop <= 0) return
    this.chunks = this.chunks.slice(drop)
    this.base += drop
  }

  /** Release everything. */
  clear(): void {
    this.base += this.chunks.length
    this.chunks = []
    this.used = CHUNK_BYTES
  }
}

export class RaftLog {
  /** Per entry held (position i is index offset + 1 + i): term, kind, and where its bytes are. */
  private terms: Array<number> = []
  private kinds: Array<EntryKind> = []
  private addresses: Array<number> = []
  private lengths: Array<number> = []
  private readonly bytes = new EntryBytes()
  /** Index of the last compacted entry (the first held entry is offset + 1). */
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
    this.offset = snapshot.index
    this.offsetTerm = snapshot.term
    if (entries.length > 0 && entries[0].index !== snapshot.index + 1) {
      throw new Error(`raft: log starts at ${entries[0].index}, expected ${snapshot.index + 1}`)
    }
    this.push(entries, 0)
    const last = this.lastIndex()
    this.unstableFrom = last + 1
    this.persisted = last
    // The engine may be ahead of the commit index last written to the WAL (commit-only hard
    // state records are not fsynced): anything it applied was committed.
    this.committed = Math.min(Math.max(commit, applied, snapshot.index), last)
    this.applied = Math.max(Math.min(applied, this.committed), snapshot.index)
  }

  /** Hold `entries[from..]` after the last entry (their bytes copied). */
  private push(entries: ReadonlyArray<Entry>, from: number): void {
    for (let i = from; i < entries.length; i++) {
      const entry = entries[i]
      this.terms.push(entry.term)
      this.kinds.push(entry.kind)
      this.addresses.push(this.bytes.append(entry.data))
      this.lengths.push(entry.data.length)
    }
  }

  /** The entry at position `i` of the held entries, built now. */
  private at(i: number): Entry {
    return { index: this.offset + 1 + i, term: this.terms[i], kind: this.kinds[i], data: this.bytes.view(this.addresses[i], this.lengths[i]) }
  }

  /** The held entries at positions [from, to), built now. */
  private range(from: number, to: number): Array<Entry> {
    const out: Array<Entry> = new Array(Math.max(0, to - from))
    for (let i = from; i < to; i++) out[i - from] = this.at(i)
    return out
  }

  lastIndex(): number {
    return this.offset + this.terms.length
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
    return this.terms[index - this.offset - 1]
  }

  /** The entry at `index`, undefined when compacted away or beyond the log. */
  entry(index: number): Entry | undefined {
    return index > this.offset && index <= this.lastIndex() ? this.at(index - this.offset - 1) : undefined
  }

  /** Entries in [from, to), at most `max` of them; `from` must not be compacted. */
  slice(from: number, to: number, max: number, maxBytes = Number.POSITIVE_INFINITY): Array<Entry> {
    let end = Math.min(to, from + max, this.lastIndex() + 1)
    if (maxBytes !== Number.POSITIVE_INFINITY) {
      // Stop before the entry that would pass maxBytes, but always take the first one.
      let bytes = 0
      for (let index = from; index < end; index++) {
        bytes += this.lengths[index - this.offset - 1]
        if (bytes > maxBytes && index > from) {
          end = index
          break
        }
      }
    }
    return from >= end ? [] : this.range(from - this.offset - 1, end - this.offset - 1)
  }

  /** Raft §5.4.1: is a candidate's log at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /** Leader append: entries continue the log. */
  append(entries: ReadonlyArray<Entry>): void {
    this.push(entries, 0)
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
      this.push(entries, i)
    }
    this.commitTo(Math.min(leaderCommit, lastNew))
    return lastNew
  }

  private truncateFrom(index: number): void {
    // The removed entries' bytes stay where they are (views of them may still be in use); later
    // appends go after them.
    const held = index - this.offset - 1
    this.terms.length = held
    this.kinds.length = held
    this.addresses.length = held
    this.lengths.length = held
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
    const unstable = this.unstableFrom <= this.lastIndex() ? this.range(this.unstableFrom - this.offset - 1, this.terms.length) : []
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
    const out = this.range(this.applied - this.offset, upTo - this.offset)
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
    const drop = upTo - this.offset
    this.terms = this.terms.slice(drop)
    this.kinds = this.kinds.slice(drop)
    this.addresses = this.addresses.slice(drop)
    this.lengths = this.lengths.slice(drop)
    this.offset = upTo
    // Free the byte chunks no held entry uses (empty entries use none: look for the first that does).
    const firstWithBytes = this.lengths.findIndex((length) => length > 0)
    if (firstWithBytes >= 0) this.bytes.releaseBelow(this.addresses[firstWithBytes])
  }

  /**
   * Replace the whole log with a snapshot's state (a follower that fell behind the leader's
   * compacted log): everything up to `index` is committed, applied and durable by construction.
   */
  restore(index: number, term: number): void {
    this.terms = []
    this.kinds = []
    this.addresses = []
    this.lengths = []
    this.bytes.clear()
    this.offset = index
    this.offsetTerm = term
    this.unstableFrom = index + 1
    this.persisted = index
    this.committed = index
    this.applied = index
  }
}
