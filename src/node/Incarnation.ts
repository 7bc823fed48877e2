/**
 * A number that grows by one at every start of this node, kept in `<data-dir>/INCARNATION` and
 * fsynced before use. Write sequence numbers are `incarnation · 2^32 + counter`, so they grow
 * strictly across restarts without trusting the wall clock, which is what lets the applier drop
 * duplicate proposals by comparing sequence numbers.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Effect, Layer } from "effect"
import { WalError } from "./Wal.js"

export class Incarnation extends Context.Tag("raft-kv/Incarnation")<Incarnation, number>() {}

/** Incarnations must leave room for a 32-bit counter below 2^53. */
const MAX_INCARNATION = 2 ** 21 - 1

export const IncarnationLive = (dataDir: string): Layer.Layer<Incarnation, WalError, FileSystem.FileSystem> =>
  Layer.effect(
    Incarnation,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = `${dataDir}/INCARNATION`
      const fail = (what: string) => (cause: unknown) => new WalError({ message: `${what} ${file}: ${String(cause)}`, cause })
      yield* fs.makeDirectory(dataDir, { recursive: true }).pipe(Effect.mapError(fail("cannot create the directory of")))
      const previous = (yield* fs.exists(file).pipe(Effect.mapError(fail("cannot check"))))
        ? Number((yield* fs.readFileString(file).pipe(Effect.mapError(fail("cannot read")))).trim())
        : 0
      if (!Number.isSafeInteger(previous) || previous < 0 || previous >= MAX_INCARNATION) {
        return yield* new WalError({ message: `${file} holds an invalid incarnation number` })
      }
      const next = previous + 1
      const temporary = `${file}.tmp`
      yield* Effect.scoped(
        Effect.gen(function* () {
          const handle = yield* fs.open(temporary, { flag: "w" })
          yield* handle.writeAll(new TextEncoder().encode(`${next}\n`))
          yield* handle.sync
        })
      ).pipe(Effect.mapError(fail("cannot write")))
      yield* fs.rename(temporary, file).pipe(Effect.mapError(fail("cannot replace")))
      // The rename must be durable before any sequence number of this incarnation is used.
      yield* Effect.scoped(Effect.flatMap(fs.open(dataDir, { flag: "r" }), (dir) => dir.sync)).pipe(
        Effect.mapError(fail("cannot fsync the directory of"))
      )
      return next
    })
  )
