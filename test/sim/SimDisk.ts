/**
 * A simulated disk: an in-memory FileSystem (the @effect/platform service the WAL, the snapshot
 * store and the incarnation file are written against) that knows which bytes are durable.
 *
 * - `sync` makes a file's current content durable, after a configurable latency (simulated
 *   time), or fails when the disk is told to fail fsyncs.
 * - `crash()` keeps only what was synced: each file falls back to its durable content, plus,
 *   when a seeded coin says so, a torn prefix of the bytes appended since (a write the kernel
 *   had partly flushed).
 * - Directory operations (create, rename, remove) take effect at once and are durable: the
 *   node fsyncs directories after them anyway, and modelling lost renames is left for later.
 *
 * Only what raft-kv's services use is implemented; anything else fails loudly.
 */
import { FileSystem, Error as PlatformError } from "@effect/platform"
import { Effect, Layer, Option } from "effect"

interface SimFile {
  current: Buffer
  durable: Buffer
}

export interface DiskFaults {
  /** Simulated milliseconds an fsync takes. */
  fsyncLatencyMs: number
  /** Every fsync fails (the node must stop rather than acknowledge). */
  failFsync: boolean
  /**
   * Bug injection: the WAL's fsync reports success without making anything durable, which is
   * what a node that acknowledges appends and votes before its fsync looks like after a crash.
   */
  fsyncLies: boolean
}

const error = (method: string, reason: PlatformError.SystemErrorReason, path: string) =>
  new PlatformError.SystemError({ module: "FileSystem", method, reason, pathOrDescriptor: path, description: `${reason}: ${path}` })

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf("/")))

export class SimDisk {
  private readonly files = new Map<string, SimFile>()
  private readonly dirs = new Set<string>([""])
  readonly faults: DiskFaults = { fsyncLatencyMs: 0, failFsync: false, fsyncLies: false }
  /** Set while the node is down: a crashed process does no more I/O. */
  private down = false
  private nextFd = 3

  constructor(private readonly random: () => number) {}

  /** The process died: keep the durable bytes, and maybe a torn piece of what followed them. */
  crash(): void {
    this.down = true
    for (const file of this.files.values()) {
      const { current, durable } = file
      const extends_ = current.length > durable.length && current.subarray(0, durable.length).equals(durable)
      let kept = durable
      if (extends_ && this.random() < 0.3) {
        const torn = Math.floor(this.random() * (current.length - durable.length))
        kept = Buffer.from(current.subarray(0, durable.length + torn))
      }
      file.current = Buffer.from(kept)
      file.durable = Buffer.from(kept)
    }
  }

  /** The node starts again on what survived. */
  restart(): void {
    this.down = false
  }

  /** Total bytes stored (for reports). */
  bytes(): number {
    let total = 0
    for (const file of this.files.values()) total += file.current.length
    return total
  }

  private guard(method: string, path: string): Effect.Effect<void, PlatformError.SystemError> {
    return this.down ? Effect.fail(error(method, "Unknown", `${path} (the node crashed)`)) : Effect.void
  }

  private makeFile(path: string, file: SimFile, append: boolean): FileSystem.File {
    const disk = this
    let position = append ? file.current.length : 0
    const fd = FileSystem.FileDescriptor(this.nextFd++)
    const write = (bytes: Uint8Array) =>
      Effect.flatMap(disk.guard("write", path), () =>
        Effect.sync(() => {
          if (append) position = file.current.length
          const end = position + bytes.length
          if (end > file.current.length) {
            const grown = Buffer.alloc(end)
            file.current.copy(grown)
            file.current = grown
          }
          file.current.set(bytes, position)
          position = end
          return FileSystem.Size(bytes.length)
        })
      )
    const handle = {
      [FileSystem.FileTypeId]: FileSystem.FileTypeId,
      fd,
      stat: Effect.sync(() => disk.info(file.current.length, "File")),
      seek: (offset: FileSystem.SizeInput) => Effect.sync(() => void (position = Number(offset))),
      sync: Effect.gen(function* () {
        yield* disk.guard("sync", path)
        if (disk.faults.failFsync) return yield* error("sync", "Unknown", `${path}: fsync failed (injected)`)
        const upTo = Buffer.from(file.current)
        if (disk.faults.fsyncLatencyMs > 0) yield* Effect.sleep(disk.faults.fsyncLatencyMs)
        if (!(disk.faults.fsyncLies && path.includes("/wal/")) && !disk.down) file.durable = upTo
      }),
      read: (buffer: Uint8Array) =>
        Effect.sync(() => {
          const n = Math.max(0, Math.min(buffer.length, file.current.length - position))
          buffer.set(file.current.subarray(position, position + n))
          position += n
          return FileSystem.Size(n)
        }),
      readAlloc: (size: FileSystem.SizeInput) =>
        Effect.sync(() => {
          const n = Math.max(0, Math.min(Number(size), file.current.length - position))
          if (n === 0) return Option.none()
          const out = Buffer.from(file.current.subarray(position, position + n))
          position += n
          return Option.some(new Uint8Array(out))
        }),
      truncate: (length?: FileSystem.SizeInput) =>
        Effect.sync(() => {
          const n = Number(length ?? 0)
          file.current = Buffer.from(file.current.subarray(0, n))
          if (file.durable.length > n) file.durable = Buffer.from(file.durable.subarray(0, n))
        }),
      write,
      writeAll: (bytes: Uint8Array) => Effect.asVoid(write(bytes))
    }
    return handle as unknown as FileSystem.File
  }

  private info(size: number, type: FileSystem.File.Type): FileSystem.File.Info {
    return {
      type, mtime: Option.none(), atime: Option.none(), birthtime: Option.none(), dev: 0, ino: Option.none(), mode: 0o644,
      nlink: Option.none(), uid: Option.none(), gid: Option.none(), rdev: Option.none(), size: FileSystem.Size(size),
      blksize: Option.none(), blocks: Option.none()
    }
  }

  /** The FileSystem service over this disk. */
  layer(): Layer.Layer<FileSystem.FileSystem> {
    const disk = this
    const normalize = (path: string) => path.replace(/\/+$/, "").replace(/\/\.\//g, "/")
    const readFile = (path: string) =>
      Effect.suspend(() => {
        const file = disk.files.get(normalize(path))
        return file === undefined ? Effect.fail(error("readFile", "NotFound", path)) : Effect.succeed(new Uint8Array(Buffer.from(file.current)))
      })
    // layerNoop fills in what is not given here with stubs (even `exists`), so give every method used.
    return FileSystem.layerNoop({
      access: (path) =>
        Effect.suspend(() => {
          const p = normalize(path)
          return disk.files.has(p) || disk.dirs.has(p) ? Effect.void : Effect.fail(error("access", "NotFound", p))
        }),
      exists: (path) => Effect.sync(() => disk.files.has(normalize(path)) || disk.dirs.has(normalize(path))),
      readFileString: (path) => Effect.map(readFile(path), (bytes) => new TextDecoder().decode(bytes)),
      makeDirectory: (path, options) =>
        Effect.flatMap(disk.guard("makeDirectory", path), () =>
          Effect.sync(() => {
            let p = normalize(path)
            const created: Array<string> = []
            while (p !== "" && !disk.dirs.has(p)) {
              created.push(p)
              if (options?.recursive !== true) break
              p = parentOf(p)
            }
            for (const dir of created) disk.dirs.add(dir)
          })
        ),
      readDirectory: (path) =>
        Effect.suspend(() => {
          const p = normalize(path)
          if (!disk.dirs.has(p)) return Effect.fail(error("readDirectory", "NotFound", p))
          const names = new Set<string>()
          for (const name of [...disk.files.keys(), ...disk.dirs]) if (name !== p && parentOf(name) === p) names.add(name.slice(p.length + 1))
          return Effect.succeed([...names].sort())
        }),
      readFile,
      stat: (path) =>
        Effect.suspend(() => {
          const p = normalize(path)
          const file = disk.files.get(p)
          if (file !== undefined) return Effect.succeed(disk.info(file.current.length, "File"))
          return disk.dirs.has(p) ? Effect.succeed(disk.info(0, "Directory")) : Effect.fail(error("stat", "NotFound", p))
        }),
      truncate: (path, length) =>
        Effect.flatMap(disk.guard("truncate", path), () =>
          Effect.suspend(() => {
            const file = disk.files.get(normalize(path))
            if (file === undefined) return Effect.fail(error("truncate", "NotFound", path))
            const n = Number(length ?? 0)
            file.current = Buffer.from(file.current.subarray(0, n))
            if (file.durable.length > n) file.durable = Buffer.from(file.durable.subarray(0, n))
            return Effect.void
          })
        ),
      remove: (path, options) =>
        Effect.flatMap(disk.guard("remove", path), () =>
          Effect.suspend(() => {
            const p = normalize(path)
            if (disk.files.delete(p)) return Effect.void
            if (disk.dirs.has(p)) {
              for (const name of [...disk.files.keys()]) if (name.startsWith(`${p}/`)) disk.files.delete(name)
              for (const dir of [...disk.dirs]) if (dir === p || dir.startsWith(`${p}/`)) disk.dirs.delete(dir)
              return Effect.void
            }
            return options?.force === true ? Effect.void : Effect.fail(error("remove", "NotFound", p))
          })
        ),
      rename: (from, to) =>
        Effect.flatMap(disk.guard("rename", from), () =>
          Effect.suspend(() => {
            const file = disk.files.get(normalize(from))
            if (file === undefined) return Effect.fail(error("rename", "NotFound", from))
            disk.files.delete(normalize(from))
            disk.files.set(normalize(to), file)
            return Effect.void
          })
        ),
      open: (path, options) =>
        Effect.flatMap(disk.guard("open", path), () =>
          Effect.suspend(() => {
            const p = normalize(path)
            const flag = options?.flag ?? "r"
            if (disk.dirs.has(p)) {
              // Opening a directory is only done to fsync it: durable already in this model.
              return Effect.succeed(disk.makeFile(p, { current: Buffer.alloc(0), durable: Buffer.alloc(0) }, false))
            }
            if (!disk.dirs.has(parentOf(p))) return Effect.fail(error("open", "NotFound", p))
            let file = disk.files.get(p)
            if (flag === "r") {
              if (file === undefined) return Effect.fail(error("open", "NotFound", p))
            } else if (file === undefined || flag === "w") {
              // Truncating makes the empty file the durable one: a crash before the next fsync
              // would leave an empty or torn file, which is how the node's own code treats it.
              file = { current: Buffer.alloc(0), durable: Buffer.alloc(0) }
              disk.files.set(p, file)
            }
            return Effect.succeed(disk.makeFile(p, file, flag === "a"))
          })
        )
    })
  }
}
