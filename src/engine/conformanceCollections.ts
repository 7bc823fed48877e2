/**
 * Conformance scenarios that drive the state machine over the engine under test: Redis
 * collections are many engine keys (a record plus one key per field or member, ordered by hash),
 * so an engine must keep every one of them through a snapshot restored into another instance and,
 * when durable, through close and reopen. Called by runEngineConformance (./conformance.ts).
 */
import { expect } from "@effect/vitest"
import { Chunk, Effect, type Scope, Stream } from "effect"
import { StateMachine } from "../commands/StateMachine.js"
import { encodeReply } from "../resp/encode.js"
import type { Reply } from "../resp/Reply.js"
import type { ConformanceOptions } from "./conformance.js"
import type { KvEngineService } from "./KvEngine.js"

const NOW = 1_700_000_000_000

/** A state machine over `engine`, its writes applied as consecutive log entries after the engine's applied index. */
const drive = (engine: KvEngineService) =>
  Effect.gen(function* () {
    const machine = yield* StateMachine.load(engine)
    let index = yield* engine.appliedIndex
    const argvOf = (words: ReadonlyArray<string | Uint8Array>) => words.map((word) => (typeof word === "string" ? Buffer.from(word, "latin1") : word))
    return {
      machine,
      write: (...words: ReadonlyArray<string | Uint8Array>) =>
        Effect.map(
          machine.apply([{ index: ++index, command: { origin: 1, seq: 2 ** 32 + index, time: NOW, payload: { kind: "command", db: 0, argv: argvOf(words) } } }], index),
          (result) => result.replies[0]
        ),
      read: (...words: ReadonlyArray<string | Uint8Array>): Effect.Effect<Reply, unknown> => {
        const result = machine.read(machine.readContext(NOW), { kind: "command", db: 0, argv: argvOf(words) })
        return Effect.isEffect(result) ? result : Effect.succeed(result)
      }
    }
  })

const wire = (reply: Reply): string => encodeReply(reply, 3).toString("latin1")

/** Members of a set reply, or fields and values of a map reply, sorted (their order is the engine's key order, but compare content). */
const sortedElements = (reply: Reply): Array<string> => {
  if (reply._tag !== "Set" && reply._tag !== "Map") throw new Error(`not a set or map reply: ${wire(reply).slice(0, 100)}`)
  const items = reply.value.map((element) => wire(element))
  if (reply._tag === "Set") return items.sort()
  const pairs: Array<string> = []
  for (let i = 0; i < items.length; i += 2) pairs.push(items[i] + items[i + 1])
  return pairs.sort()
}

const FIELDS = 2500
const MEMBERS = 3000
const BINARY = Buffer.from([0, 255, 13, 10, 0x73])

/** Write the collections every check below expects. */
const writeCollections = (engine: KvEngineService) =>
  Effect.gen(function* () {
    const { write } = yield* drive(engine)
    for (let from = 0; from < FIELDS; from += 500) {
      yield* write("HSET", "hash", ...Array.from({ length: 500 }, (_, i) => [`field:${from + i}`, `value:${from + i}`]).flat())
    }
    for (let from = 0; from < MEMBERS; from += 500) yield* write("SADD", "set", ...Array.from({ length: 500 }, (_, i) => `member:${from + i}`))
    yield* write("HSET", "binary", BINARY, BINARY, "", "empty field")
    yield* write("SADD", "expiring", "a", "b", "c")
    yield* write("PEXPIRE", "expiring", "3600000")
    // A deleted collection: its members are garbage the reaper would collect.
    yield* write("SADD", "deleted", ...Array.from({ length: 300 }, (_, i) => `gone:${i}`))
    yield* write("DEL", "deleted")
  })

/** Check every collection `writeCollections` wrote, member by member. */
const checkCollections = (engine: KvEngineService) =>
  Effect.gen(function* () {
    const { machine, read, write } = yield* drive(engine)
    expect(wire(yield* read("HLEN", "hash"))).toBe(`:${FIELDS}\r\n`)
    expect(sortedElements(yield* read("HGETALL", "hash"))).toEqual(
      Array.from({ length: FIELDS }, (_, i) => wire({ _tag: "Bulk", value: Buffer.from(`field:${i}`) }) + wire({ _tag: "Bulk", value: Buffer.from(`value:${i}`) })).sort()
    )
    expect(wire(yield* read("HGET", "hash", "field:1234"))).toBe("$10\r\nvalue:1234\r\n")
    expect(wire(yield* read("SCARD", "set"))).toBe(`:${MEMBERS}\r\n`)
    expect(sortedElements(yield* read("SMEMBERS", "set"))).toEqual(Array.from({ length: MEMBERS }, (_, i) => wire({ _tag: "Bulk", value: Buffer.from(`member:${i}`) })).sort())
    expect(wire(yield* read("SISMEMBER", "set", "member:2999"))).toBe(":1\r\n")
    expect(wire(yield* read("HGET", "binary", BINARY))).toBe(`$5\r\n${BINARY.toString("latin1")}\r\n`)
    expect(wire(yield* read("HGET", "binary", ""))).toBe("$11\r\nempty field\r\n")
    expect(wire(yield* read("TYPE", "expiring"))).toBe("+set\r\n")
    expect(wire(yield* read("PTTL", "expiring"))).toBe(":3600000\r\n")
    expect(wire(yield* read("EXISTS", "deleted"))).toBe(":0\r\n")
    expect(machine.garbageMembers).toBe(300)
    // The restored state goes on: writes to one field, and SPOP (seeded from the entry).
    expect(wire(yield* write("HSET", "hash", "field:0", "changed"))).toBe(":0\r\n")
    expect(wire(yield* read("HGET", "hash", "field:0"))).toBe("$7\r\nchanged\r\n")
    return wire(yield* write("SPOP", "set", "5"))
  })

const snapshotChunks = (engine: KvEngineService) =>
  Effect.gen(function* () {
    const snapshot = yield* engine.snapshot
    return { appliedIndex: snapshot.appliedIndex, chunks: Chunk.toReadonlyArray(yield* Stream.runCollect(snapshot.chunks)) }
  })

export const collectionScenarios = (
  options: ConformanceOptions,
  scenario: (title: string, body: (engine: KvEngineService, dir: string) => Effect.Effect<void, unknown, Scope.Scope>) => void,
  withEngine: <A, E>(dir: string, use: (engine: KvEngineService) => Effect.Effect<A, E, Scope.Scope>) => Effect.Effect<A, unknown>,
  tempDir: Effect.Effect<string, never, Scope.Scope>
) => {
  scenario("a hash and a set written through the state machine survive a snapshot restored elsewhere, every member", (engine) =>
    Effect.gen(function* () {
      yield* writeCollections(engine)
      const { chunks, appliedIndex } = yield* snapshotChunks(engine)
      // Written after the snapshot: must not be in it.
      yield* Effect.flatMap(drive(engine), ({ write }) => write("HSET", "hash", "later", "x"))
      const otherDir = yield* tempDir
      const popped = yield* withEngine(otherDir, (other) =>
        Effect.gen(function* () {
          yield* other.restore(Stream.fromIterable(chunks), appliedIndex)
          const { read } = yield* drive(other)
          expect(wire(yield* read("HEXISTS", "hash", "later"))).toBe(":0\r\n")
          return yield* checkCollections(other)
        })
      )
      // Restored over this engine's own (later) state, the same entries pop the same members.
      yield* engine.restore(Stream.fromIterable(chunks), appliedIndex)
      expect(yield* checkCollections(engine)).toBe(popped)
    })
  )

  if (options.durable) {
    scenario("a hash and a set written through the state machine survive close and reopen, every member", () =>
      Effect.gen(function* () {
        // Its own directory: the scenario's engine stays open meanwhile.
        const dir = yield* tempDir
        yield* withEngine(dir, writeCollections)
        yield* withEngine(dir, checkCollections)
        yield* withEngine(dir, (engine) =>
          Effect.flatMap(drive(engine), ({ read }) => Effect.map(read("HGET", "hash", "field:0"), (reply) => expect(wire(reply)).toBe("$7\r\nchanged\r\n")))
        )
      })
    )
  }
}
