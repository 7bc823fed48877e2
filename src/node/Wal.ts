/**
 * The write-ahead log: segment files of CRC-checked records (WalFormat.ts) under one directory.
 * Opening it recovers the hard state and the log; `append` writes one batch with one write and,
 * when asked, one fsync. Built on @effect/platform's FileSystem so a simulated disk can stand in.
 */
import { FileSystem } from "@effect/platform"
import { Context, Data, Effect, ExecutionStrategy, Exit, Layer, Scope } from "effect"
import type { Entry, HardState } from "../raft/types.js"
import { encodeBatch, readRecord } from "./WalFormat.js"

export class WalError extends Data.TaggedError("WalError")<{ readonly message: string; readonly cause?: unknown }> {}

export interface WalBatchInput {
  readonly hardState?: HardState
  readonly entries: ReadonlyArray<Entry>
  readonly sync: boolean
}

export interface WalService {
  readonly recovered: { readonly hardState: HardState; readonly entries: ReadonlyArray<Entry> }
  readonly append: (batch: WalBatchInput) => Effect.Effect<void, WalError>
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
  entries: Array<Entry>
}

/** Replay one segment into `recovery`; returns the offset of a torn tail to cut, if any. */
const replaySegment = (file: string, data: Buffer, isLast: boolean, recovery: Recovery) =>
  Effect.gen(function* () {
    let offset = 0
    while (offset < data.length) {
      const result = readRecord(data, offset)
      if (result._tag === "record") {
        const record = result.record
        if (record.type === "hardState") recovery.hardState = record.hardState
        else if (record.entries.length > 0) {
          const first = record.entries[0].index
          if (first > recovery.entries.length + 1) {
            return yield* new WalError({
              message: `WAL corrupt in ${file} at offset ${offset}: entries start at ${first} after a log ending at ${recovery.entries.length}`
            })
          }
          // A batch starting at `first` replaces everything from there on (conflict repair).
          recovery.entries.length = first - 1
          for (const entry of record.entries) recovery.entries.push(entry)
        }
        offset = result.next
        continue
      }
      // A crash mid-write leaves at most a partial last record (or zeroes) at the end of the last segment.
      const reason = result._tag === "bad" ? result.reason : "truncated record"
      const atEnd = result._tag === "incomplete" || result.next >= data.length || data.subarray(offset).every((b) => b === 0)
      if (isLast && atEnd) return offset
      return yield* new WalError({ message: `WAL corrupt in ${file} at offset ${offset}: ${reason}` })
    }
    return undefined
  })

export const WalLive = (dir: string, options: WalOptions = {}): Layer.Layer<Wal, WalError, FileSystem.FileSystem> =>
  Layer.scoped(
    Wal,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024
      const layerScope = yield* Effect.scope

      const syncDirectory = Effect.scoped(
        Effect.flatMap(fs.open(dir, { flag: "r" }), (handle) => handle.sync)
      ).pipe(Effect.mapError(fail(`cannot fsync directory ${dir}`)))

      yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(fail(`cannot create WAL directory ${dir}`)))
      const names = (yield* fs.readDirectory(dir).pipe(Effect.mapError(fail(`cannot list ${dir}`))))
        .filter((name) => SEGMENT.test(name))
        .sort()

      const recovery: Recovery = { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] }
      let lastSize = 0
      for (let i = 0; i < names.length; i++) {
        const file = `${dir}/${names[i]}`
        const data = Buffer.from(yield* fs.readFile(file).pipe(Effect.mapError(fail(`cannot read ${file}`))))
        const tornAt = yield* replaySegment(file, data, i === names.length - 1, recovery)
        lastSize = data.length
        if (tornAt !== undefined) {
          yield* Effect.logWarning(`WAL: truncating a torn record at the end of ${file} (offset ${tornAt}, ${data.length - tornAt} bytes)`)
          yield* fs.truncate(file, tornAt).pipe(Effect.mapError(fail(`cannot truncate ${file}`)))
          lastSize = tornAt
        }
      }
      yield* Effect.logInfo(
        `WAL recovered from ${dir}: term ${recovery.hardState.term}, vote ${recovery.hardState.vote}, commit ${recovery.hardState.commit}, ${recovery.entries.length} entries`
      )

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
        yield* file.sync.pipe(Effect.mapError(fail(`cannot fsync ${path}`)))
        yield* syncDirectory
        return { file, scope, path }
      })
      let current = yield* openSegment

      const append = (batch: WalBatchInput) =>
        Effect.gen(function* () {
          if (batch.hardState === undefined && batch.entries.length === 0) return
          const bytes = encodeBatch(batch.hardState, batch.entries)
          yield* current.file.writeAll(bytes).pipe(Effect.mapError(fail(`WAL write to ${current.path} failed`)))
          if (batch.sync || batch.entries.length > 0) {
            yield* current.file.sync.pipe(Effect.mapError(fail(`WAL fsync of ${current.path} failed`)))
          }
          size += bytes.length
          if (size >= segmentBytes) {
            yield* Scope.close(current.scope, Exit.void)
            sequence++
            size = 0
            current = yield* openSegment
          }
        })

      return Wal.of({ recovered: recovery, append })
    })
  )
