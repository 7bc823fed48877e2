/**
 * Node's FileSystem, except that files opened for appending write and fsync synchronously, on
 * the event loop. The WAL runs on it in production.
 *
 * Why: an asynchronous file operation is a thread-pool round trip (a futex wake-up of a worker,
 * an eventfd wake-up back, a fiber resumed), and a WAL append is two of them (write, then
 * fsync) on every node for every batch. On the VMs we measure on, where each wake-up is an
 * expensive hypervisor exit, doing both inline cut the cluster's CPU per SET by about a third
 * (docs/benchmarks.md). The price is that the node's event loop waits for the disk during an
 * append (~0.3 ms here), exactly as Redis does with `appendfsync always`; nothing else in the
 * node needs it meanwhile, since replies wait for the fsync anyway. Everything else (snapshot
 * files, reads, directories) keeps Node's asynchronous implementation. The simulation gives the
 * WAL its simulated disk instead, so the WAL code is the same either way.
 */
import * as NFS from "node:fs"
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"

const systemError = (method: string, fd: FileSystem.File.Descriptor, cause: unknown) =>
  new PlatformError.SystemError({
    module: "FileSystem",
    method,
    reason: "Unknown",
    pathOrDescriptor: fd,
    description: cause instanceof Error ? cause.message : String(cause),
    cause
  })

/**
 * `file` (opened in append mode), with writes and syncs done synchronously. `isClosed` tells
 * whether the file's scope has closed its descriptor: the number may then belong to another
 * file, so using it fails instead of writing there.
 */
const inlineAppendFile = (file: FileSystem.File, isClosed: () => boolean): FileSystem.File => {
  const fd = Number(file.fd)
  const open = () => {
    if (isClosed()) throw new Error(`file descriptor ${fd} was used after its file was closed`)
    return fd
  }
  const writeAll = (bytes: Uint8Array) =>
    Effect.try({
      try: () => {
        const fd = open()
        let offset = 0
        while (offset < bytes.length) offset += NFS.writeSync(fd, bytes, offset, bytes.length - offset)
      },
      catch: (cause) => systemError("writeAll", file.fd, cause)
    })
  return {
    [FileSystem.FileTypeId]: FileSystem.FileTypeId,
    fd: file.fd,
    get stat() {
      return file.stat
    },
    seek: (offset, from) => file.seek(offset, from),
    read: (buffer) => file.read(buffer),
    readAlloc: (size) => file.readAlloc(size),
    truncate: (length) => file.truncate(length),
    sync: Effect.try({ try: () => NFS.fsyncSync(open()), catch: (cause) => systemError("sync", file.fd, cause) }),
    write: (bytes) =>
      Effect.try({
        try: () => FileSystem.Size(NFS.writeSync(open(), bytes)),
        catch: (cause) => systemError("write", file.fd, cause)
      }),
    writeAll
  }
}

export const InlineFileSystem: Layer.Layer<FileSystem.FileSystem> = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(FileSystem.FileSystem, (fs) =>
    FileSystem.make({
      ...fs,
      open: (path, options) =>
        options?.flag?.startsWith("a") !== true
          ? fs.open(path, options)
          : Effect.gen(function* () {
              const file = yield* fs.open(path, options)
              // Finalizers run in reverse order: this one marks the file closed before it is.
              let closed = false
              yield* Effect.addFinalizer(() => Effect.sync(() => (closed = true)))
              return inlineAppendFile(file, () => closed)
            })
    })
  )
).pipe(Layer.provide(NodeFileSystem.layer))
