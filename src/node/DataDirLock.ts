/**
 * One node per data directory: `<data-dir>/LOCK` holds the owner's PID for the node's lifetime.
 * Two nodes appending to one WAL would corrupt it, so a second one stops at once with a clear
 * message. A lock left by a process that no longer exists (kill -9) is taken over.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Layer } from "effect"
import { WalError } from "./Wal.js"

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

export const DataDirLockLive = (dataDir: string): Layer.Layer<never, WalError, FileSystem.FileSystem> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = `${dataDir}/LOCK`
      const fail = (what: string) => (cause: unknown) => new WalError({ message: `${what} ${file}: ${String(cause)}`, cause })
      yield* fs.makeDirectory(dataDir, { recursive: true }).pipe(Effect.mapError(fail("cannot create the directory of")))
      if (yield* fs.exists(file).pipe(Effect.mapError(fail("cannot check")))) {
        const owner = Number((yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))).trim())
        if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
          return yield* new WalError({
            message: `data directory ${dataDir} is in use by process ${owner} (another node with the same --data-dir?); if that process is not a raft-kv node, delete ${file}`
          })
        }
      }
      yield* Effect.acquireRelease(
        fs.writeFileString(file, `${process.pid}\n`).pipe(Effect.mapError(fail("cannot write"))),
        () => fs.remove(file).pipe(Effect.ignore)
      )
    })
  )
