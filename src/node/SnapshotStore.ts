/**
 * Snapshot files under `<data-dir>/snap`: `snap-<index>.snap`, in the CRC-framed format of
 * SnapshotFile.ts. A snapshot becomes visible only complete and durable (written to a temporary
 * file, fsynced, renamed, directory fsynced), and is verified end to end before it is trusted.
 * Built on @effect/platform's FileSystem so a simulated disk can stand in.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Data, Effect, Layer, Option, type Scope, Stream } from "effect"
import { EngineError } from "../engine/KvEngine.js"
import {
  decodePayload,
  encodeChunk,
  encodeEnd,
  encodeHeader,
  FRAME_HEADER,
  readFrameHeader,
  type SnapshotMeta,
  type SnapshotRecord
} from "./SnapshotFile.js"

export class SnapshotError extends Data.TaggedError("SnapshotError")<{ readonly message: string; readonly cause?: unknown }> {}

export interface StoredSnapshot {
  readonly meta: SnapshotMeta
  readonly path: string
  /** Size of the file in bytes. */
  readonly bytes: number
}

/** A snapshot file opened for streaming to a follower. */
export interface SnapshotReader {
  readonly bytes: number
  readonly read: (offset: number, length: number) => Effect.Effect<Uint8Array, SnapshotError>
}

/** A snapshot arriving from the leader, written at increasing offsets. */
export interface IncomingSnapshot {
  readonly received: number
  readonly append: (data: Uint8Array) => Effect.Effect<void, SnapshotError>
  /**
   * fsync, verify and publish it; fails (and leaves nothing behind) if the file is invalid or
   * is not the snapshot announced (`expected` index and term).
   */
  readonly finish: (expected: { readonly index: number; readonly term: number }) => Effect.Effect<StoredSnapshot, SnapshotError>
}

export interface SnapshotStoreService {
  readonly directory: string
  /** Where the snapshot at `index` lives (it may not exist). */
  readonly pathOf: (index: number) => string
  /** Write a snapshot durably; returns it once it is safe to compact the log behind it. */
  readonly write: (meta: SnapshotMeta, chunks: Stream.Stream<Uint8Array, EngineError>) => Effect.Effect<StoredSnapshot, SnapshotError | EngineError>
  /**
   * The newest snapshot that verifies. A newer one that does not is reported and skipped (it is
   * moved aside as `*.corrupt` so it is never trusted again): the caller decides whether the
   * log still reaches back far enough for the older one.
   */
  readonly loadNewest: Effect.Effect<StoredSnapshot | undefined, SnapshotError>
  /** The header of a verified snapshot file. */
  readonly readMeta: (path: string) => Effect.Effect<SnapshotMeta, SnapshotError>
  /** The engine chunks of a verified snapshot file, read a frame at a time. */
  readonly chunks: (path: string) => Stream.Stream<Uint8Array, SnapshotError>
  readonly open: (path: string) => Effect.Effect<SnapshotReader, SnapshotError, Scope.Scope>
  /** Start receiving a snapshot (discarding any earlier partial one). */
  readonly receive: Effect.Effect<IncomingSnapshot, SnapshotError, Scope.Scope>
  /** Delete all but the newest `keep` snapshots; returns the index of the oldest kept one. */
  readonly prune: (keep: number) => Effect.Effect<number, SnapshotError>
}

export class SnapshotStore extends Context.Tag("raft-kv/SnapshotStore")<SnapshotStore, SnapshotStoreService>() {}

const SNAPSHOT = /^snap-(\d{16})\.snap$/
const fileName = (index: number) => `snap-${String(index).padStart(16, "0")}.snap`
const fail = (message: string) => (cause: unknown) => new SnapshotError({ message: `${message}: ${String(cause)}`, cause })

export const SnapshotStoreLive = (directory: string): Layer.Layer<SnapshotStore, SnapshotError, FileSystem.FileSystem> =>
  Layer.effect(
    SnapshotStore,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory(directory, { recursive: true }).pipe(Effect.mapError(fail(`cannot create ${directory}`)))
      const incomingPath = `${directory}/incoming.tmp`
      const writingPath = `${directory}/writing.tmp`
      // Leftovers of a crash mid-write are never trusted.
      for (const leftover of [incomingPath, writingPath]) {
        yield* fs.remove(leftover, { force: true }).pipe(Effect.mapError(fail(`cannot remove ${leftover}`)))
      }

      const syncDirectory = Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (handle) => handle.sync)).pipe(
        Effect.mapError(fail(`cannot fsync directory ${directory}`))
      )

      const listed = Effect.map(
        fs.readDirectory(directory).pipe(Effect.mapError(fail(`cannot list ${directory}`))),
        (names) => names.filter((name) => SNAPSHOT.test(name)).sort().reverse()
      )

      /** Each record of a snapshot file in order; the file must end with a matching end record. */
      const records = (path: string): Stream.Stream<SnapshotRecord, SnapshotError> =>
        Stream.unwrapScoped(
          Effect.gen(function* () {
            const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(fail(`cannot open ${path}`)))
            let offset = 0
            let chunks = 0
            let bytes = 0
            let ended = false
            const corrupt = (reason: string) => new SnapshotError({ message: `snapshot ${path} is corrupt at offset ${offset}: ${reason}` })
            const readExactly = (length: number) =>
              Effect.flatMap(file.readAlloc(length).pipe(Effect.mapError(fail(`cannot read ${path}`))), (data) =>
                Option.isSome(data) && data.value.length === length ? Effect.succeed(data.value) : Effect.fail(corrupt("truncated"))
              )
            const next: Effect.Effect<Option.Option<SnapshotRecord>, SnapshotError> = Effect.gen(function* () {
              if (ended) {
                const extra = yield* file.readAlloc(1).pipe(Effect.mapError(fail(`cannot read ${path}`)))
                if (Option.isSome(extra)) return yield* corrupt("data after the end record")
                return Option.none()
              }
              const { length, crc } = readFrameHeader(yield* readExactly(FRAME_HEADER))
              const record = decodePayload(yield* readExactly(length), crc)
              if (typeof record === "string") return yield* corrupt(record)
              if ((offset === 0) !== (record.type === "header")) return yield* corrupt("misplaced header")
              if (record.type === "chunk") {
                chunks++
                bytes += record.chunk.length
              } else if (record.type === "end") {
                if (record.chunks !== chunks || record.bytes !== bytes) return yield* corrupt("end record does not match the chunks")
                ended = true
              }
              offset += FRAME_HEADER + length
              return Option.some(record)
            })
            return Stream.repeatEffectOption(Effect.flatMap(Effect.mapError(next, Option.some), (record) =>
              Option.isSome(record) ? Effect.succeed(record.value) : Effect.fail(Option.none())
            ))
          })
        )

      /** Read the whole file, checking every frame; returns its header. */
      const verify = (path: string) =>
        Effect.gen(function* () {
          let meta: SnapshotMeta | undefined
          yield* records(path).pipe(Stream.runForEach((record) => Effect.sync(() => {
            if (record.type === "header") meta = record.meta
          })))
          if (meta === undefined) return yield* new SnapshotError({ message: `snapshot ${path} is empty` })
          const expected = fileName(meta.index)
          if (!path.endsWith(`/${expected}`)) {
            return yield* new SnapshotError({ message: `snapshot ${path} holds index ${meta.index}, not what its name says` })
          }
          const info = yield* fs.stat(path).pipe(Effect.mapError(fail(`cannot stat ${path}`)))
          return { meta, path, bytes: Number(info.size) } satisfies StoredSnapshot
        })

      /** Make a complete temporary file the snapshot `snap-<index>.snap`, durably. */
      const publish = (temporary: string, index: number) =>
        Effect.gen(function* () {
          const path = `${directory}/${fileName(index)}`
          yield* fs.rename(temporary, path).pipe(Effect.mapError(fail(`cannot rename ${temporary} to ${path}`)))
          yield* syncDirectory
          return path
        })

      const write: SnapshotStoreService["write"] = (meta, chunks) =>
        Effect.scoped(
          Effect.gen(function* () {
            const file = yield* fs.open(writingPath, { flag: "w" }).pipe(Effect.mapError(fail(`cannot create ${writingPath}`)))
            const writeAll = (bytes: Uint8Array) => file.writeAll(bytes).pipe(Effect.mapError(fail(`cannot write ${writingPath}`)))
            let count = 0
            let total = 0
            yield* writeAll(encodeHeader(meta))
            yield* Stream.runForEach(chunks, (chunk) => {
              count++
              total += chunk.length
              return writeAll(encodeChunk(chunk))
            })
            yield* writeAll(encodeEnd(count, total))
            yield* file.sync.pipe(Effect.mapError(fail(`cannot fsync ${writingPath}`)))
            const info = yield* file.stat.pipe(Effect.mapError(fail(`cannot stat ${writingPath}`)))
            return Number(info.size)
          })
        ).pipe(
          Effect.flatMap((bytes) => Effect.map(publish(writingPath, meta.index), (path) => ({ meta, path, bytes }))),
          Effect.tapError(() => Effect.ignore(fs.remove(writingPath, { force: true })))
        )

      const loadNewest = Effect.gen(function* () {
        for (const name of yield* listed) {
          const path = `${directory}/${name}`
          const verified = yield* Effect.either(verify(path))
          if (verified._tag === "Right") return verified.right
          yield* Effect.logError(`${verified.left.message}; moving it aside and trying an older snapshot`)
          yield* fs.rename(path, `${path}.corrupt`).pipe(Effect.mapError(fail(`cannot move ${path} aside`)))
        }
        return undefined
      })

      const chunks = (path: string) =>
        records(path).pipe(Stream.filterMap((record) => (record.type === "chunk" ? Option.some(record.chunk) : Option.none())))

      const readMeta = (path: string) =>
        records(path).pipe(
          Stream.runHead,
          Effect.flatMap((first) =>
            Option.isSome(first) && first.value.type === "header"
              ? Effect.succeed(first.value.meta)
              : Effect.fail(new SnapshotError({ message: `snapshot ${path} has no header` }))
          )
        )

      const open = (path: string) =>
        Effect.gen(function* () {
          const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(fail(`cannot open ${path}`)))
          const info = yield* file.stat.pipe(Effect.mapError(fail(`cannot stat ${path}`)))
          return {
            bytes: Number(info.size),
            read: (offset: number, length: number) =>
              Effect.gen(function* () {
                yield* file.seek(offset, "start")
                const data = yield* file.readAlloc(length).pipe(Effect.mapError(fail(`cannot read ${path}`)))
                return Option.getOrElse(data, () => new Uint8Array(0))
              })
          } satisfies SnapshotReader
        })

      const receive = Effect.gen(function* () {
        const file = yield* fs.open(incomingPath, { flag: "w" }).pipe(Effect.mapError(fail(`cannot create ${incomingPath}`)))
        let received = 0
        const incoming: IncomingSnapshot = {
          get received() {
            return received
          },
          append: (data) =>
            Effect.map(file.writeAll(data).pipe(Effect.mapError(fail(`cannot write ${incomingPath}`))), () => {
              received += data.length
            }),
          finish: (expected) => Effect.gen(function* () {
            yield* file.sync.pipe(Effect.mapError(fail(`cannot fsync ${incomingPath}`)))
            // Verify under the temporary name first: only a sound file ever gets a snapshot's name.
            let meta: SnapshotMeta | undefined
            yield* records(incomingPath).pipe(Stream.runForEach((record) => Effect.sync(() => {
              if (record.type === "header") meta = record.meta
            })))
            if (meta === undefined) return yield* new SnapshotError({ message: "received snapshot is empty" })
            if (meta.index !== expected.index || meta.term !== expected.term) {
              return yield* new SnapshotError({
                message: `received snapshot holds index ${meta.index} term ${meta.term}, announced as ${expected.index} term ${expected.term}`
              })
            }
            const path = yield* publish(incomingPath, meta.index)
            return { meta, path, bytes: received }
          }).pipe(Effect.tapError(() => Effect.ignore(fs.remove(incomingPath, { force: true }))))
        }
        return incoming
      })

      const prune = (keep: number) =>
        Effect.gen(function* () {
          const names = yield* listed
          for (const name of names.slice(keep)) {
            // force: a concurrent prune (a received and a taken snapshot) may have removed it already.
            yield* fs.remove(`${directory}/${name}`, { force: true }).pipe(Effect.mapError(fail(`cannot remove ${name}`)))
          }
          const oldest = names.slice(0, keep).at(-1)
          return oldest === undefined ? 0 : Number(SNAPSHOT.exec(oldest)![1])
        })

      return SnapshotStore.of({ directory, pathOf: (index) => `${directory}/${fileName(index)}`, write, loadNewest, readMeta, chunks, open, receive, prune })
    })
  )

/** A snapshot file's chunks as an engine's restore takes them. */
export const snapshotChunksForEngine = (store: SnapshotStoreService, path: string) =>
  store.chunks(path).pipe(
    Stream.mapError((error) => new EngineError({ operation: "restore", message: error.message, cause: error }))
  )
