/**
 * The real file system with a fault hook in front of writes and renames, so a test can stop a
 * node at an exact point of its disk I/O (say, just before a snapshot file is renamed into
 * place), crash it there, and check what a restart makes of the files it left.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Deferred, Effect, Layer } from "effect"

export type DiskOperation = "write" | "rename"

/** Decides, before each operation, whether to let it through (the default) or hang there. */
export class FaultPlan {
  private trigger: { readonly operation: DiskOperation; readonly pathIncludes: string } | undefined
  /** Resolves once a node reaches the armed operation (and hangs there, as if crashed). */
  reached = Effect.runSync(Deferred.make<string>())

  /** Hang the next `operation` on a path containing `pathIncludes`. */
  arm(operation: DiskOperation, pathIncludes: string): void {
    this.trigger = { operation, pathIncludes }
    this.reached = Effect.runSync(Deferred.make<string>())
  }

  disarm(): void {
    this.trigger = undefined
  }

  /** Wait (bounded) until a node reached the armed operation. */
  waitReached(timeoutMs: number): Promise<string> {
    return Effect.runPromise(Deferred.await(this.reached).pipe(Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error("the armed disk operation was never reached") })))
  }

  before(operation: DiskOperation, path: string): Effect.Effect<void> {
    const trigger = this.trigger
    if (trigger === undefined || trigger.operation !== operation || !path.includes(trigger.pathIncludes)) return Effect.void
    this.trigger = undefined
    return Effect.zipRight(Deferred.succeed(this.reached, path), Effect.never)
  }
}

export const faultyFileSystem = (plan: FaultPlan): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.gen(function* () {
      const base = yield* FileSystem.FileSystem
      const open: FileSystem.FileSystem["open"] = (path, options) =>
        Effect.map(base.open(path, options), (file) => {
          // Inherit every method of the real file; only writes pass the hook first.
          const wrapped: FileSystem.File = Object.create(file)
          return Object.assign(wrapped, {
            writeAll: (buffer: Uint8Array) => Effect.zipRight(plan.before("write", path), file.writeAll(buffer))
          })
        })
      return {
        ...base,
        open,
        rename: (from: string, to: string) => Effect.zipRight(plan.before("rename", from), base.rename(from, to))
      }
    })
  ).pipe(Layer.provide(NodeFileSystem.layer))
