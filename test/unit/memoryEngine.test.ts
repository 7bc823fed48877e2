/**
 * The memory engine beyond the conformance suite: storage of any bytes (small values returned as
 * copies, larger ones as views of never-rewritten buffers), range scans against a Buffer.compare
 * reference, and snapshots that are streamed in bounded slices (yielding to the event loop), in
 * any key order, restorable by any engine.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Layer, Scope, Stream } from "effect"
import { KvEngine, type KeyRange, type KvEngineService, type WriteOp } from "../../src/engine/KvEngine.js"
import { LevelEngine } from "../../src/engine/LevelEngine.js"
import { inRange, makeMemoryEngine, SMALL_VALUE_BYTES } from "../../src/engine/MemoryEngine.js"
import { fromSnapshotChunks, SNAPSHOT_CHUNK_BYTES } from "../../src/engine/SnapshotFormat.js"

const b = (text: string) => Buffer.from(text, "latin1")
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const put = (key: Uint8Array, value: Uint8Array): WriteOp => ({ type: "put", key, value })

/** A deterministic pseudo-random byte source. */
const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed >>> 16
}

const collect = (stream: Stream.Stream<readonly [Uint8Array, Uint8Array], unknown>) =>
  Effect.map(Stream.runCollect(stream), (pairs) => Chunk.toReadonlyArray(pairs).map(([k, v]) => [hex(k), hex(v)] as const))

/** Take a snapshot in a scope of its own and read every chunk. */
const snapshotChunks = (engine: KvEngineService) =>
  Effect.scoped(
    Effect.flatMap(engine.snapshot, (snapshot) =>
      Effect.map(Stream.runCollect(snapshot.chunks), (chunks) => ({ appliedIndex: snapshot.appliedIndex, chunks: Chunk.toReadonlyArray(chunks) }))
    )
  )

const decode = (chunks: ReadonlyArray<Uint8Array>) =>
  Effect.map(Stream.runCollect(fromSnapshotChunks(Stream.fromIterable(chunks))), (pairs) =>
    Chunk.toReadonlyArray(pairs).map(([k, v]) => [hex(k), hex(v)] as const)
  )

describe("memory engine", () => {
  it.effect("stores any bytes exactly, around the small-value threshold too, and copies its inputs", () =>
    Effect.gen(function* () {
      const engine = makeMemoryEngine()
      const frame = Buffer.alloc(3 * SMALL_VALUE_BYTES)
      for (let i = 0; i < frame.length; i++) frame[i] = (i * 131 + 7) & 0xff
      const sizes = [0, 1, 16, SMALL_VALUE_BYTES - 1, SMALL_VALUE_BYTES, SMALL_VALUE_BYTES + 1, 2 * SMALL_VALUE_BYTES]
      const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      const ops = sizes.map((size, i) => put(Buffer.concat([allBytes, Buffer.from([i])]), frame.subarray(i, i + size)))
      const expected = ops.map((op) => hex((op as Extract<WriteOp, { type: "put" }>).value))
      yield* engine.write(ops, 1)
      frame.fill(0) // the engine kept copies, not views into the frame
      for (const [i, op] of ops.entries()) {
        const value = yield* engine.get((op as Extract<WriteOp, { type: "put" }>).key)
        expect(value).toBeInstanceOf(Uint8Array)
        expect(hex(value!)).toBe(expected[i])
      }
      // A small value is returned as a fresh copy each time: changing one does not change the store.
      const small = (yield* engine.get(ops[2].type === "put" ? ops[2].key : b("")))!
      small[0] ^= 0xff
      expect(hex((yield* engine.get(ops[2].type === "put" ? ops[2].key : b("")))!)).toBe(expected[2])
    })
  )

  it.effect("scans ranges of binary keys in Buffer.compare order", () =>
    Effect.gen(function* () {
      const engine = makeMemoryEngine()
      const next = prng(42)
      const alphabet = [0x00, 0x01, 0x41, 0x61, 0x7f, 0x80, 0xc3, 0xfe, 0xff]
      const keys = new Map<string, Buffer>()
      for (let i = 0; i < 2000; i++) {
        const key = Buffer.from(Array.from({ length: next() % 5 }, () => alphabet[next() % alphabet.length]))
        keys.set(hex(key), key)
      }
      yield* engine.write([...keys.values()].map((key) => put(key, key)), 1)
      const sorted = [...keys.values()].sort(Buffer.compare)
      const bound = () => Buffer.from(Array.from({ length: next() % 4 }, () => alphabet[next() % alphabet.length]))
      for (let round = 0; round < 200; round++) {
        const range: { -readonly [K in keyof KeyRange]: KeyRange[K] } = {}
        if (next() % 2) range.prefix = bound()
        if (next() % 2) range.gte = bound()
        if (next() % 2) range.lt = bound()
        if (next() % 3 === 0) range.limit = next() % 20
        const reference = sorted.filter((key) => inReference(key, range)).slice(0, range.limit ?? Infinity)
        const got = yield* collect(engine.iterate(range))
        expect(got).toEqual(reference.map((key) => [hex(key), hex(key)]))
        for (const key of sorted.slice(0, 50)) expect(inRange(key, range)).toBe(inReference(key, range))
      }
    })
  )

  it.effect("an empty engine snapshots to no chunks, and restoring them empties an engine", () =>
    Effect.gen(function* () {
      const { chunks, appliedIndex } = yield* snapshotChunks(makeMemoryEngine())
      expect(chunks).toEqual([])
      expect(appliedIndex).toBe(0)
      const other = makeMemoryEngine()
      yield* other.write([put(b("k"), b("v"))], 3)
      yield* other.restore(Stream.fromIterable(chunks), 0)
      expect(yield* other.size).toBe(0)
    })
  )

  it.live("streams a large snapshot in bounded chunks, letting the event loop run between slices", () =>
    Effect.gen(function* () {
      const engine = makeMemoryEngine()
      const count = 60_000
      for (let i = 0; i < count; i += 1000) {
        yield* engine.write(Array.from({ length: 1000 }, (_, j) => put(b(`key:${i + j}`), Buffer.alloc(16, (i + j) & 0xff))), i + 1)
      }
      // A big value gets a chunk of its own, larger than SNAPSHOT_CHUNK_BYTES.
      const big = Buffer.alloc(3 * SNAPSHOT_CHUNK_BYTES, 7)
      yield* engine.write([put(b("big"), big)], count + 1)

      let ticks = 0
      const timer = setInterval(() => ticks++, 0)
      const { chunks, appliedIndex } = yield* snapshotChunks(engine).pipe(Effect.ensuring(Effect.sync(() => clearInterval(timer))))
      expect(appliedIndex).toBe(count + 1)
      expect(ticks).toBeGreaterThan(0)
      for (const chunk of chunks) {
        if (chunk.length > SNAPSHOT_CHUNK_BYTES) expect(chunk.length).toBe(8 + 3 + big.length)
      }
      expect(chunks.length).toBeGreaterThan(20)

      const pairs = yield* decode(chunks)
      expect(pairs.length).toBe(count + 1)
      expect(new Set(pairs.map(([k]) => k)).size).toBe(count + 1)
      expect(new Map(pairs).get(hex(b("key:12345")))).toBe(hex(Buffer.alloc(16, 12345 & 0xff)))
      expect(new Map(pairs).get(hex(b("big")))).toBe(hex(big))
    })
  )

  it.scoped("a snapshot is the state when it was taken, whatever is written (or cleared) after", () =>
    Effect.gen(function* () {
      const engine = makeMemoryEngine()
      yield* engine.write(Array.from({ length: 10_000 }, (_, i) => put(b(`k${i}`), b(`v${i}`))), 5)
      const expected = yield* collect(engine.iterate({}))
      const scope = yield* Scope.make()
      const snapshot = yield* engine.snapshot.pipe(Scope.extend(scope))
      yield* engine.write([put(b("k1"), b("changed")), { type: "del", key: b("k2") }, put(b("new"), b("x"))], 6)
      yield* engine.write([{ type: "clear" }, put(b("k3"), b("after clear"))], 7)
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(snapshot.chunks))
      expect(snapshot.appliedIndex).toBe(5)
      const decoded = yield* decode(chunks)
      expect([...decoded].sort((x, y) => Buffer.compare(Buffer.from(x[0], "hex"), Buffer.from(y[0], "hex")))).toEqual(expected)

      // Once the scope closes the view is released: reading it again fails instead of truncating.
      yield* Scope.close(scope, Exit.void)
      const late = yield* Effect.either(Stream.runDrain(snapshot.chunks))
      expect(late._tag).toBe("Left")
      if (late._tag === "Left") expect(late.left._tag).toBe("EngineError")
    })
  )

  it.scoped("its unsorted snapshot restores into the LevelDB engine, and back", () =>
    Effect.gen(function* () {
      const engine = makeMemoryEngine()
      // Inserted in descending order: the snapshot follows the records' ids (insertion order), not key order.
      const ops = Array.from({ length: 5000 }, (_, i) => put(Buffer.from([0xff - (i % 256), i >> 8, 0x00]), Buffer.alloc(i % 40, i & 0xff)))
      yield* engine.write(ops.reverse(), 9)
      yield* engine.write([put(b("large"), Buffer.alloc(SMALL_VALUE_BYTES * 2, 3))], 10)
      const expected = yield* collect(engine.iterate({}))
      const { chunks, appliedIndex } = yield* snapshotChunks(engine)

      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-memory-engine-"))),
        (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
      )
      const level = (yield* Layer.build(LevelEngine.layer(dir))).unsafeMap.get(KvEngine.key) as KvEngineService
      yield* level.restore(Stream.fromIterable(chunks), appliedIndex)
      expect(yield* level.appliedIndex).toBe(10)
      expect(yield* collect(level.iterate({}))).toEqual(expected)

      const back = makeMemoryEngine()
      yield* back.restore(Stream.fromIterable((yield* snapshotChunks(level)).chunks), 10)
      expect(yield* collect(back.iterate({}))).toEqual(expected)
      expect(yield* back.size).toBe(expected.length)
    })
  )
})

/** The reference range check, on Buffers. */
const inReference = (key: Buffer, range: KeyRange) =>
  (range.prefix === undefined || (key.length >= range.prefix.length && Buffer.compare(key.subarray(0, range.prefix.length), range.prefix) === 0)) &&
  (range.gte === undefined || Buffer.compare(key, range.gte) >= 0) &&
  (range.lt === undefined || Buffer.compare(key, range.lt) < 0)
