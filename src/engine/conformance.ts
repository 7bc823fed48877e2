/**
 * The engine conformance suite. Any KvEngine Layer proves itself with one call from a vitest
 * test file:
 *
 *   import { runEngineConformance } from "../src/engine/conformance.js"
 *   runEngineConformance("my-engine", { makeLayer: (dir) => MyEngine.layer(dir), durable: true })
 *
 * `makeLayer(dir)` must open the engine's state in `dir` (a fresh temp directory per test;
 * the same `dir` again for the reopen checks of a durable engine).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, type Scope, Stream } from "effect"
import { collectionScenarios } from "./conformanceCollections.js"
import { KvEngine, type KeyRange, type KvEngineService, type WriteOp } from "./KvEngine.js"

export interface ConformanceOptions {
  readonly makeLayer: (directory: string) => Layer.Layer<KvEngine, unknown>
  /** Whether state (and the applied index) must survive closing and reopening. */
  readonly durable: boolean
}

const b = (text: string) => Buffer.from(text, "latin1")
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const put = (key: Uint8Array, value: Uint8Array): WriteOp => ({ type: "put", key, value })
const del = (key: Uint8Array): WriteOp => ({ type: "del", key })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-conformance-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Open the engine in `dir` for the duration of `use`. */
const withEngine = <A, E>(
  options: ConformanceOptions,
  dir: string,
  use: (engine: KvEngineService) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const context = yield* Layer.build(options.makeLayer(dir))
      return yield* use(context.unsafeMap.get(KvEngine.key) as KvEngineService)
    })
  )

const hexOrNone = (value: Uint8Array | undefined) => (value === undefined ? "none" : hex(value))

const keysOf = (engine: KvEngineService, range: KeyRange) =>
  Effect.map(Stream.runCollect(engine.iterate(range)), (pairs) => Chunk.toReadonlyArray(pairs).map(([k]) => hex(k)))

export const runEngineConformance = (name: string, options: ConformanceOptions) =>
  describe(`${name} engine conformance`, () => {
    const scenario = (title: string, body: (engine: KvEngineService, dir: string) => Effect.Effect<void, unknown, Scope.Scope>) =>
      it.scoped(title, () => Effect.flatMap(tempDir, (dir) => withEngine(options, dir, (engine) => body(engine, dir))), 60_000)

    scenario("reads what it wrote; a missing key is undefined", (engine) =>
      Effect.gen(function* () {
        expect(yield* engine.get(b("missing"))).toBeUndefined()
        yield* engine.write([put(b("k"), b("v")), put(b(""), b("empty key"))], 1)
        expect(hex((yield* engine.get(b("k")))!)).toBe(hex(b("v")))
        expect(hex((yield* engine.get(b("")))!)).toBe(hex(b("empty key")))
        yield* engine.write([del(b("k"))], 2)
        expect(yield* engine.get(b("k"))).toBeUndefined()
        expect(yield* engine.size).toBe(1)
      })
    )

    scenario("getNow, where provided, agrees with get after every batch", (engine) =>
      Effect.gen(function* () {
        const getNow = engine.getNow
        if (getNow === undefined) return
        const keys = [b("a"), b("b"), b(""), Buffer.from([0xff, 0x00])]
        const agree = Effect.forEach(keys, (key) =>
          Effect.map(engine.get(key), (value) => expect(hexOrNone(getNow(key))).toBe(hexOrNone(value)))
        )
        yield* agree
        yield* engine.write([put(b("a"), b("1")), put(b(""), b("empty key")), put(Buffer.from([0xff, 0x00]), b("bin"))], 1)
        yield* agree
        expect(hexOrNone(getNow(b("a")))).toBe(hex(b("1")))
        yield* engine.write([del(b("a")), put(b("b"), b("2"))], 2)
        yield* agree
        expect(getNow(b("a"))).toBeUndefined()
        yield* engine.write([{ type: "clear" }, put(b("b"), b("3"))], 3)
        yield* agree
        expect(hexOrNone(getNow(b("b")))).toBe(hex(b("3")))
        expect(getNow(b(""))).toBeUndefined()
      })
    )

    scenario("point reads see each write once it completes, whatever they returned before (a read cache must keep up)", (engine) =>
      Effect.gen(function* () {
        const key = b("hot")
        const big = Buffer.alloc(10_000, 7)
        /** get, getNow and getMany all answer `expected` (a hex string or "none"). */
        const reads = (expected: string) =>
          Effect.gen(function* () {
            expect(hexOrNone(yield* engine.get(key))).toBe(expected)
            if (engine.getNow !== undefined) expect(hexOrNone(engine.getNow(key))).toBe(expected)
            if (engine.getMany !== undefined) expect((yield* engine.getMany([key, key])).map(hexOrNone)).toEqual([expected, expected])
          })
        yield* reads("none")
        yield* engine.write([put(key, b("small"))], 1)
        yield* reads(hex(b("small")))
        yield* engine.write([put(key, big)], 2)
        yield* reads(hex(big))
        yield* engine.write([put(key, b("again"))], 3)
        yield* reads(hex(b("again")))
        // A read while a write is in flight sees the old value or the new one, and the new one after.
        const writing = yield* Effect.fork(engine.write([put(key, b("new"))], 4))
        if (engine.getNow !== undefined) expect([hex(b("again")), hex(b("new"))]).toContain(hexOrNone(engine.getNow(key)))
        yield* Fiber.join(writing)
        yield* reads(hex(b("new")))
        const snapshot = yield* engine.snapshot
        const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(snapshot.chunks))
        yield* engine.write([del(key)], 5)
        yield* reads("none")
        yield* engine.restore(Stream.fromIterable(chunks), 4)
        yield* reads(hex(b("new")))
        yield* engine.write([{ type: "clear" }], 6)
        yield* reads("none")
      })
    )

    scenario("getMany, where provided, agrees with get, in the order asked, repeats and misses included", (engine) =>
      Effect.gen(function* () {
        const getMany = engine.getMany
        if (getMany === undefined) return
        yield* engine.write([put(b("a"), b("1")), put(b(""), b("empty key")), put(Buffer.from([0xff, 0x00]), b("bin"))], 1)
        const keys = [b("a"), b("missing"), b(""), Buffer.from([0xff, 0x00]), b("a")]
        const many = yield* getMany(keys)
        const single = yield* Effect.forEach(keys, (key) => engine.get(key))
        expect(many.map(hexOrNone)).toEqual(single.map(hexOrNone))
        expect(many.map(hexOrNone)).toEqual([hex(b("1")), hexOrNone(undefined), hex(b("empty key")), hex(b("bin")), hex(b("1"))])
        expect(yield* getMany([])).toEqual([])
      })
    )

    scenario("iterates in unsigned bytewise order, binary keys included", (engine) =>
      Effect.gen(function* () {
        const keys = [b("b"), b("a"), Buffer.from([0xff]), Buffer.from([0x00]), b("a\u0000"), b("ab"), Buffer.from([0x7f, 0x80])]
        yield* engine.write(keys.map((k) => put(k, b("x"))), 1)
        const sorted = [...keys].sort(Buffer.compare).map(hex)
        expect(yield* keysOf(engine, {})).toEqual(sorted)
      })
    )

    scenario("iterates by prefix, by range and with a limit", (engine) =>
      Effect.gen(function* () {
        const keys = ["user:1", "user:2", "user:10", "users", "user", "admin", "zz"].map(b)
        yield* engine.write(keys.map((k) => put(k, b("v"))), 1)
        expect(yield* keysOf(engine, { prefix: b("user:") })).toEqual(["user:1", "user:10", "user:2"].map((k) => hex(b(k))))
        expect(yield* keysOf(engine, { gte: b("user"), lt: b("user:2") })).toEqual(["user", "user:1", "user:10"].map((k) => hex(b(k))))
        expect(yield* keysOf(engine, { limit: 2 })).toEqual(["admin", "user"].map((k) => hex(b(k))))
        expect(yield* keysOf(engine, { prefix: b("nothing") })).toEqual([])
        expect(yield* keysOf(engine, { prefix: Buffer.from([0xff, 0xff]) })).toEqual([])
      })
    )

    scenario("stores empty and 1 MiB values exactly", (engine) =>
      Effect.gen(function* () {
        const large = Buffer.alloc(1024 * 1024)
        for (let i = 0; i < large.length; i++) large[i] = (i * 31) & 0xff
        yield* engine.write([put(b("empty"), new Uint8Array(0)), put(b("large"), large)], 1)
        expect((yield* engine.get(b("empty")))!.length).toBe(0)
        expect(Buffer.compare(Buffer.from((yield* engine.get(b("large")))!), large)).toBe(0)
      })
    )

    scenario("applies a batch's operations in order, clear included", (engine) =>
      Effect.gen(function* () {
        yield* engine.write([put(b("a"), b("1")), put(b("b"), b("1"))], 1)
        yield* engine.write([del(b("a")), put(b("a"), b("2")), put(b("c"), b("1")), del(b("c"))], 2)
        expect(hex((yield* engine.get(b("a")))!)).toBe(hex(b("2")))
        expect(yield* engine.get(b("c"))).toBeUndefined()
        yield* engine.write([put(b("before"), b("x")), { type: "clear" }, put(b("after"), b("y"))], 3)
        expect(yield* keysOf(engine, {})).toEqual([hex(b("after"))])
        expect(yield* engine.appliedIndex).toBe(3)
      })
    )

    scenario("records the applied index with every batch, empty batches too", (engine) =>
      Effect.gen(function* () {
        expect(yield* engine.appliedIndex).toBe(0)
        yield* engine.write([put(b("k"), b("v"))], 5)
        expect(yield* engine.appliedIndex).toBe(5)
        yield* engine.write([], 9)
        expect(yield* engine.appliedIndex).toBe(9)
        yield* engine.write([], 2 ** 40)
        expect(yield* engine.appliedIndex).toBe(2 ** 40)
      })
    )

    it.scoped(
      options.durable ? "keeps state and applied index across close and reopen" : "starts empty at applied index 0 after reopen",
      () =>
        Effect.gen(function* () {
          const dir = yield* tempDir
          yield* withEngine(options, dir, (engine) => engine.write([put(b("k"), b("v"))], 7))
          yield* withEngine(options, dir, (engine) =>
            Effect.gen(function* () {
              expect(yield* engine.appliedIndex).toBe(options.durable ? 7 : 0)
              const value = yield* engine.get(b("k"))
              expect(value === undefined ? undefined : hex(value)).toBe(options.durable ? hex(b("v")) : undefined)
            })
          )
        }),
      60_000
    )

    scenario("never shows an iteration half a batch while writes go on", (engine) =>
      Effect.gen(function* () {
        const keys = Array.from({ length: 100 }, (_, i) => b(`key${String(i).padStart(3, "0")}`))
        const writer = yield* Effect.fork(
          Effect.forEach(Array.from({ length: 50 }, (_, v) => v), (version) =>
            engine.write(keys.map((k) => put(k, b(`v${version}`))), version + 1)
          )
        )
        for (let i = 0; i < 20; i++) {
          const values = Chunk.toReadonlyArray(yield* Stream.runCollect(engine.iterate({}))).map(([, v]) => hex(v))
          expect(new Set(values).size).toBeLessThanOrEqual(1)
          yield* Effect.yieldNow()
        }
        yield* Fiber.join(writer)
        expect(yield* engine.appliedIndex).toBe(50)
      })
    )

    scenario("snapshots a consistent view while writes continue, and restores it elsewhere", (engine) =>
      Effect.gen(function* () {
        const pairs = Array.from({ length: 3000 }, (_, i) => put(Buffer.from(`k${i}\u0000\u00ff`, "latin1"), Buffer.alloc(i % 50, i & 0xff)))
        yield* engine.write(pairs, 10)
        const expected = yield* keysOf(engine, {})
        const snapshot = yield* engine.snapshot
        // Writes after the snapshot was taken must not show in it.
        yield* engine.write([put(b("later"), b("x")), del(pairs[0].type === "put" ? pairs[0].key : b(""))], 11)
        const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(snapshot.chunks))
        expect(snapshot.appliedIndex).toBe(10)
        expect(chunks.length).toBeGreaterThan(1)

        const otherDir = yield* tempDir
        yield* withEngine(options, otherDir, (other) =>
          Effect.gen(function* () {
            yield* other.write([put(b("stale"), b("gone after restore"))], 3)
            yield* other.restore(Stream.fromIterable(chunks), snapshot.appliedIndex)
            expect(yield* other.appliedIndex).toBe(10)
            expect(yield* keysOf(other, {})).toEqual(expected)
            const sample = pairs[1234] as Extract<WriteOp, { type: "put" }>
            expect(hex((yield* other.get(sample.key))!)).toBe(hex(sample.value))
            expect(yield* other.get(b("stale"))).toBeUndefined()
          })
        )
      })
    )

    collectionScenarios(options, scenario, (dir, use) => withEngine(options, dir, use), tempDir)

    scenario("rejects a corrupt snapshot chunk with an EngineError", (engine) =>
      Effect.gen(function* () {
        const result = yield* Effect.either(engine.restore(Stream.make(new Uint8Array([0, 0, 0, 9, 1])), 4))
        expect(result._tag).toBe("Left")
        if (result._tag === "Left") expect(result.left._tag).toBe("EngineError")
      })
    )
  })
