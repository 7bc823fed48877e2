/**
 * The write-ahead log: segment files of CRC-checked records (WalFormat.ts) under one directory.
 * Opening it recovers the hard state and the log; `append` writes one batch with one write and,
 * when asked, one fsync; `compact` deletes the segments a durable snapshot made redundant.
 * Built on @effect/platform's FileSystem so a simulated disk can stand in.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Data, Effect, ExecutionStrategy, Exit, Layer, Scope } from "effect"
import { Metrics } from "../metrics/NodeMetrics.js"
import type { SnapshotPoint } from "../raft/api.js"
import type { Entry, HardState } from "../raft/types.js"
import { encodeBatch, readRecord } from "./WalFormat.js"

export class WalError extends Data.TaggedError("WalError")<{ readonly message: string; readonly cause?: unknown }> {}

export interface WalBatchInput {
  readonly hardState?: HardState
  /** A received snapshot replaced the log up to here: forget every earlier entry. */
  readonly logReset?: SnapshotPoint
  readonly entries: ReadonlyArray<Entry>
  readonly sync: boolean
}

export interface RecoveredLog {
  readonly hardState: HardState
  /**
   * The index just before `entries[0]` (0 for a log that was never compacted), and its term
   * when a log reset recorded it (otherwise only a snapshot can tell).
   */
  readonly offset: number
  readonly offsetTerm: number | undefined
  readonly entries: ReadonlyArray<Entry>
}

export interface WalService {
  readonly recovered: RecoveredLog
  readonly append: (batch: WalBatchInput) => Effect.Effect<void, WalError>
  /** Delete every closed segment holding only entries at or below `index` (in a durable snapshot). */
  readonly compact: (index: number) => Effect.Effect<void, WalError>
}

export class Wal extends Context.Tag("raft-kv/Wal")<Wal, WalService>() {}

export interface WalOptions {
  /** Start a new segment once the current one reaches this size. */
  readonly segmentBytes?: number
}

const SEGMENT = /^wal-(\d{16})\.log$/
const segmentName = (sequence: number) => `wal-${String(sequence).padStart(16, "0")}.log`

const fail = (message: string) => (cause: unknown) => new WalError({ message: `${message}: ${String(cause)}`, cause })

interface Recovery {
  hardState: HardState
  /** Unset until the first entries or log reset: compaction may have removed the log's start. */
  offset: number | undefined
  offsetTerm: number | undefined
  entries: Array<Entry>
}

/** Replay one segment into `recovery`; returns the highest index it holds and the offset of a torn tail to cut, if any. */
const replaySegment = (file: string, data: Buffer, isLast: boolean, recovery: Recovery) =>
  Effect.gen(function* () {
    let offset = 0
    let maxIndex = 0
    while (offset < data.length) {
      const result = readRecord(data, offset)
      if (result._tag === "record") {
        const record = result.record
        if (record.type === "hardState") recovery.hardState = record.hardState
        else if (record.type === "logReset") {
          recovery.offset = record.index
          recovery.offsetTerm = record.term
          recovery.entries = []
          maxIndex = Math.max(maxIndex, record.index)
        } else if (record.entries.length > 0) {
          const first = record.entries[0].index
          const base = recovery.offset ?? first - 1
          const last = base + recovery.entries.length
          if (first > last + 1) {
            return yield* new WalError({
              message: `WAL corrupt in ${file} at offset ${offset}: entries start at ${first} after a log ending at ${last}`
            })
          }
          if (first <= base) {
            // Conflict repair reaching below the oldest entry kept after compaction.
            recovery.offset = first - 1
            recovery.offsetTerm = undefined
            recovery.entries = []
          } else {
            recovery.offset = base
            // A batch starting at `first` replaces everything from there on (conflict repair).
            recovery.entries.length = first - 1 - base
          }
          for (const entry of record.entries) recovery.entries.push(entry)
          maxIndex = Math.max(maxIndex, first + record.entries.length - 1)
        }
        offset = result.next
        continue
      }
      // A crash mid-write leaves at most a partial last record (or zeroes) at the end of the last segment.
      const reason = result._tag === "bad" ? result.reason : "truncated record"
      const atEnd = result._tag === "incomplete" || result.next >= data.length || data.subarray(offset).every((b) => b === 0)
      if (isLast && atEnd) return { maxIndex, tornAt: offset }
      return yield* new WalError({ message: `WAL corrupt in ${file} at offset ${offset}: ${reason}` })
    }
    return { maxIndex, tornAt: undefined }
  })

export const WalLive = (dir: string, options: WalOptions = {}): Layer.Layer<Wal, WalError, FileSystem.FileSystem> =>
  Layer.scoped(
    Wal,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const metrics = yield* Metrics
      const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024
      const layerScope = yield* Effect.scope

      const syncDirectory = Effect.scoped(
        Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) => handle.sync)
      ).pipe(Effect.mapError(fail(`cannot fsync directory ${dir}`)))

      yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(fail(`cannot create WAL directory ${dir}`)))
      const names = (yield* fs.readDirectory(dir).pipe(Effect.mapError(fail(`cannot list ${dir}`))))
        .filter((name) => SEGMENT.test(name))
        .sort()

      const recovery: Recovery = { hardState: { term: 0, vote: 0, commit: 0 }, offset: undefined, offsetTerm: undefined, entries: [] }
      /** Closed segments, oldest first, with the highest log index each holds. */
      const closed: Array<{ readonly path: string; readonly maxIndex: number }> = []
      let lastSize = 0
      let currentMaxIndex = 0
      for (let i = 0; i < names.length; i++) {
        const file = `${dir}/${names[i]}`
        const data = Buffer.from(yield* fs.readFile(file).pipe(Effect.mapError(fail(`cannot read ${file}`))))
        const { maxIndex, tornAt } = yield* replaySegment(file, data, i === names.length - 1, recovery)
        if (i < names.length - 1) closed.push({ path: file, maxIndex })
        else currentMaxIndex = maxIndex
        lastSize = data.length
        if (tornAt !== undefined) {
          yield* Effect.logWarning(`WAL: truncating a torn record at the end of ${file} (offset ${tornAt}, ${data.length - tornAt} bytes)`)
          yield* fs.truncate(file, tornAt).pipe(Effect.mapError(fail(`cannot truncate ${file}`)))
          lastSize = tornAt
        }
      }
      const offset = recovery.offset ?? 0
      yield* Effect.logInfo(
        `WAL recovered from ${dir}: term ${recovery.hardState.term}, vote ${recovery.hardState.vote}, commit ${recovery.hardState.commit}, entries ${offset + 1}..${offset + recovery.entries.length}`
      )
      let hardState = recovery.hardState

      // The segment being appended to, opened in a scope of its own so rolling can close it.
      let sequence = names.length > 0 ? Number(SEGMENT.exec(names[names.length - 1])![1]) : 0
      let size = names.length > 0 ? lastSize : 0
      const openSegment = Effect.gen(function* () {
        const scope = yield* Scope.fork(layerScope, ExecutionStrategy.sequential)
        const path = `${dir}/${segmentName(sequence)}`
        const file = yield* fs.open(path, { flag: "a" }).pipe(
          Scope.extend(scope),
          Effect.mapError(fail(`cannot open ${path}`))
        )
        if (size === 0) {
          // Every segment starts with the hard state, so deleting older segments never loses it.
          const bytes = encodeBatch(hardState, [])
          yield* file.writeAll(bytes).pipe(Effect.mapError(fail(`WAL write to ${path} failed`)))
          size = bytes.length
        }
        yield* file.sync.pipe(Effect.mapError(fail(`cannot fsync ${path}`)))
        yield* syncDirectory
        return { file, scope, path }
      })
      let current = yield* openSegment

      const roll = Effect.gen(function* () {
        // A closed segment must be wholly durable: records written without fsync (commit-only
        // hard states) would otherwise be lost in a crash and leave a torn record in the middle
        // of the log, which recovery rightly treats as corruption. (Found by the simulation.)
        yield* current.file.sync.pipe(Effect.mapError(fail(`WAL fsync of ${current.path} failed`)))
        yield* Scope.close(current.scope, Exit.void)
        closed.push({ path: current.path, maxIndex: currentMaxIndex })
        sequence++
        size = 0
        currentMaxIndex = 0
        current = yield* openSegment
      })

      // Appends and compaction both move the current segment: one at a time.
      const lock = yield* Effect.makeSemaphore(1)

      const append = (batch: WalBatchInput) =>
        Effect.gen(function* () {
          if (batch.hardState === undefined && batch.entries.length === 0 && batch.logReset === undefined) return
          const bytes = encodeBatch(batch.hardState, batch.entries, batch.logReset)
          yield* current.file.writeAll(bytes).pipe(Effect.mapError(fail(`WAL write to ${current.path} failed`)))
          if (batch.sync || batch.entries.length > 0 || batch.logReset !== undefined) {
            const started = performance.now()
            yield* current.file.sync.pipe(Effect.mapError(fail(`WAL fsync of ${current.path} failed`)))
            metrics.walFsync.observe((performance.now() - started) / 1000)
          }
          if (batch.hardState !== undefined) hardState = batch.hardState
          if (batch.logReset !== undefined) currentMaxIndex = Math.max(currentMaxIndex, batch.logReset.index)
          const last = batch.entries[batch.entries.length - 1]
          if (last !== undefined) currentMaxIndex = Math.max(currentMaxIndex, last.index)
          size += bytes.length
          if (size >= segmentBytes) yield* roll
        }).pipe(lock.withPermits(1))

      const compact = (index: number) =>
        Effect.gen(function* () {
          // Start a new segment so that the current one, too, can go at a later compaction: each
          // segment then spans about one snapshot interval.
          if (currentMaxIndex > 0) yield* roll
          let removed = 0
          while (closed.length > 0 && closed[0].maxIndex <= index) {
            const segment = closed.shift()!
            yield* fs.remove(segment.path).pipe(Effect.mapError(fail(`cannot delete ${segment.path}`)))
            removed++
          }
          if (removed > 0) {
            yield* syncDirectory
            yield* Effect.logDebug(`WAL: deleted ${removed} segment(s) up to index ${index}`)
          }
        }).pipe(lock.withPermits(1))

      return Wal.of({
        recovered: { hardState: recovery.hardState, offset, offsetTerm: recovery.offsetTerm, entries: recovery.entries },
        append,
        compact
      })
    })
  )
