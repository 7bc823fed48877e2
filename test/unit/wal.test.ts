/**
 * The WAL on real files: recovery of hard state and log, conflict truncation on replay, torn
 * tails cut at every byte offset, corruption in the middle reported with file and offset,
 * segment rolling, and one fsync per append.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { EntryKind, type Entry } from "../../src/raft/types.js"
import { Wal, WalLive, type WalOptions } from "../../src/node/Wal.js"
import { InlineFileSystem } from "../../src/runtime/InlineFileSystem.js"
import { SimDisk } from "../sim/SimDisk.js"

const entry = (index: number, term: number, text = `entry-${index}`): Entry => ({
  index,
  term,
  kind: EntryKind.Normal,
  data: new TextEncoder().encode(text)
})

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-wal-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const segments = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith(".log")).sort()

/** Production runs the WAL on InlineFileSystem; the rest of the node uses Node's asynchronous one. */
const fileSystems = [
  ["inline file I/O (production)", InlineFileSystem],
  ["asynchronous file I/O", NodeFileSystem.layer]
] as const

describe.each(fileSystems)("WAL on %s", (_name, fileSystem) => {
  /** Open the WAL in `dir`, run `f` with it, close it. */
  const withWal = <A, E>(dir: string, f: (wal: Wal["Type"]) => Effect.Effect<A, E>, options?: WalOptions) =>
    Effect.scoped(Effect.flatMap(Layer.build(WalLive(dir, options)), (context) => f(context.unsafeMap.get(Wal.key) as Wal["Type"]))).pipe(
      Effect.provide(fileSystem)
    )

  const recovered = (dir: string) => withWal(dir, (wal) => Effect.succeed(wal.recovered))

  it.scoped("recovers term, vote, commit and entries after reopening", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* withWal(dir, (wal) =>
        Effect.gen(function* () {
          yield* wal.append({ hardState: { term: 1, vote: 2, commit: 0 }, entries: [entry(1, 1), entry(2, 1)], sync: true })
          yield* wal.append({ hardState: { term: 2, vote: 3, commit: 2 }, entries: [entry(3, 2, "\u0000binary\r\n")], sync: true })
        })
      )
      const state = yield* recovered(dir)
      expect(state.hardState).toEqual({ term: 2, vote: 3, commit: 2 })
      expect(state.entries.map((e) => [e.index, e.term, new TextDecoder().decode(e.data)])).toEqual([
        [1, 1, "entry-1"],
        [2, 1, "entry-2"],
        [3, 2, "\u0000binary\r\n"]
      ])
    })
  )

  it.scoped("replays a batch that starts inside the log as a replacement of the tail", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* withWal(dir, (wal) =>
        Effect.gen(function* () {
          yield* wal.append({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], sync: true })
          yield* wal.append({ entries: [entry(2, 2, "replacement")], sync: true })
        })
      )
      const state = yield* recovered(dir)
      expect(state.entries.map((e) => `${e.index}:${e.term}`)).toEqual(["1:1", "2:2"])
    })
  )

  it.scoped("truncates a torn last record at any byte and keeps everything before it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* withWal(dir, (wal) =>
        Effect.gen(function* () {
          yield* wal.append({ hardState: { term: 1, vote: 1, commit: 0 }, entries: [entry(1, 1)], sync: true })
          yield* wal.append({ entries: [entry(2, 1, "the torn one")], sync: true })
        })
      )
      const file = path.join(dir, segments(dir)[0])
      const whole = fs.readFileSync(file)
      const lastRecordSize = 8 + 13 + 13 + "the torn one".length
      const goodPrefix = whole.length - lastRecordSize
      for (let cut = goodPrefix + 1; cut < whole.length; cut++) {
        fs.writeFileSync(file, whole.subarray(0, cut))
        const state = yield* recovered(dir)
        expect(state.entries.map((e) => e.index)).toEqual([1])
        expect(state.hardState.term).toBe(1)
        expect(fs.statSync(file).size).toBe(goodPrefix)
      }
      // After the repair the WAL appends cleanly again.
      yield* withWal(dir, (wal) => wal.append({ entries: [entry(2, 1, "again")], sync: true }))
      expect((yield* recovered(dir)).entries.map((e) => e.index)).toEqual([1, 2])
    })
  )

  it.scoped("treats a zero-filled tail as torn", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* withWal(dir, (wal) => wal.append({ entries: [entry(1, 1)], sync: true }))
      const file = path.join(dir, segments(dir)[0])
      fs.appendFileSync(file, Buffer.alloc(4096))
      expect((yield* recovered(dir)).entries.map((e) => e.index)).toEqual([1])
    })
  )

  it.scoped("stops with the file and offset when a record in the middle is corrupt", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* withWal(dir, (wal) =>
        Effect.gen(function* () {
          yield* wal.append({ entries: [entry(1, 1)], sync: true })
          yield* wal.append({ entries: [entry(2, 1)], sync: true })
        })
      )
      const file = path.join(dir, segments(dir)[0])
      const bytes = fs.readFileSync(file)
      bytes[20] ^= 0xff // inside the first record's payload
      fs.writeFileSync(file, bytes)
      const exit = yield* Effect.exit(recovered(dir))
      expect(Exit.isFailure(exit)).toBe(true)
      const message = Exit.isFailure(exit) ? String(JSON.stringify(exit.cause)) : ""
      expect(message).toContain(`WAL corrupt in ${file} at offset 0: checksum mismatch`)
    })
  )

  it.scoped("rolls to a new segment and recovers across segments", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* withWal(
        dir,
        (wal) =>
          Effect.gen(function* () {
            for (let i = 1; i <= 20; i++) yield* wal.append({ entries: [entry(i, 1, "x".repeat(100))], sync: true })
          }),
        { segmentBytes: 512 }
      )
      expect(segments(dir).length).toBeGreaterThan(3)
      expect((yield* recovered(dir)).entries.map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    })
  )

  it.scoped("fsyncs once per append that carries entries or asks for it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      let syncs = 0
      const counting = Layer.effect(
        FileSystem.FileSystem,
        Effect.map(FileSystem.FileSystem, (real) =>
          FileSystem.FileSystem.of({
            ...real,
            open: (p, o) =>
              Effect.map(real.open(p, o), (file) => {
                const counted = Effect.tap(file.sync, () => Effect.sync(() => syncs++))
                return new Proxy(file, { get: (target, key) => (key === "sync" ? counted : Reflect.get(target, key)) })
              })
          })
        )
      ).pipe(Layer.provide(fileSystem))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(WalLive(dir))
          const wal = context.unsafeMap.get(Wal.key) as Wal["Type"]
          const before = syncs
          yield* wal.append({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: { term: 1, vote: 1, commit: 0 }, sync: true })
          expect(syncs - before).toBe(1)
          yield* wal.append({ hardState: { term: 1, vote: 1, commit: 3 }, entries: [], sync: false })
          expect(syncs - before).toBe(1) // a commit-only record is not worth an fsync
        })
      ).pipe(Effect.provide(counting))
    })
  )
})

describe("InlineFileSystem", () => {
  it.scoped("an append is in the file when writeAll returns, and a failed write is a SystemError", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const file = path.join(dir, "log")
      const fsService = yield* Effect.provide(FileSystem.FileSystem, InlineFileSystem)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const handle = yield* fsService.open(file, { flag: "a" })
          yield* handle.writeAll(Buffer.from("first "))
          yield* handle.writeAll(Buffer.from("second"))
          expect(fs.readFileSync(file, "utf8")).toBe("first second")
          yield* handle.sync
        })
      )
      // The handle's descriptor is closed with its scope (and its number may be reused by the
      // next file opened): writing or syncing through it now fails instead of writing there.
      const closed = yield* Effect.scoped(fsService.open(file, { flag: "a" }))
      const other = path.join(dir, "other")
      fs.writeFileSync(other, "")
      const reuse = fs.openSync(other, "a")
      try {
        const failure = yield* Effect.flip(closed.writeAll(Buffer.from("late")))
        expect(failure._tag).toBe("SystemError")
        expect(failure.message).toContain("used after its file was closed")
        expect((yield* Effect.flip(closed.sync))._tag).toBe("SystemError")
      } finally {
        fs.closeSync(reuse)
      }
      expect(fs.readFileSync(other, "utf8")).toBe("")
      expect(fs.readFileSync(file, "utf8")).toBe("first second")
    })
  )
})

describe("WAL on a simulated disk (crashes lose unsynced bytes)", () => {
  /** Open the WAL on `disk`, run `f`, close it. */
  const onDisk = <A, E>(disk: SimDisk, f: (wal: Wal["Type"]) => Effect.Effect<A, E>) =>
    Effect.scoped(Effect.flatMap(Layer.build(WalLive("/wal")), (context) => f(context.unsafeMap.get(Wal.key) as Wal["Type"]))).pipe(
      Effect.provide(disk.layer())
    )

  it.effect("compaction and a crash never leave a torn record in a closed segment", () =>
    Effect.gen(function* () {
      // The coin always tears: whatever was not synced is cut part-way.
      const disk = new SimDisk(() => 0.1)
      yield* onDisk(disk, (wal) =>
        Effect.gen(function* () {
          yield* wal.append({ entries: [entry(1, 1), entry(2, 1)], sync: true })
          // A commit-only hard state is written without fsync...
          yield* wal.append({ hardState: { term: 1, vote: 1, commit: 2 }, entries: [], sync: false })
          // ...then compaction closes the segment and later writes go to a new one.
          yield* wal.compact(0)
          yield* wal.append({ entries: [entry(3, 1)], sync: true })
        })
      )
      disk.crash()
      disk.restart()
      const log = yield* onDisk(disk, (wal) => Effect.succeed(wal.recovered))
      expect(log.entries.map((e) => e.index)).toEqual([1, 2, 3])
      expect(log.hardState.commit).toBe(2)
    })
  )

  it.effect("a log reset (a received snapshot) replaces every earlier entry after recovery", () =>
    Effect.gen(function* () {
      const disk = new SimDisk(() => 0.9)
      yield* onDisk(disk, (wal) =>
        Effect.gen(function* () {
          yield* wal.append({ entries: [entry(1, 1), entry(2, 1), entry(3, 2)], sync: true })
          yield* wal.append({ logReset: { index: 10, term: 3 }, entries: [entry(11, 3)], sync: true })
        })
      )
      const log = yield* onDisk(disk, (wal) => Effect.succeed(wal.recovered))
      expect({ offset: log.offset, offsetTerm: log.offsetTerm, entries: log.entries.map((e) => e.index) }).toEqual({ offset: 10, offsetTerm: 3, entries: [11] })
    })
  )
})
