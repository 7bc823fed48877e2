/**
 * An engine failure during a command stops the batch (and so the node), never answers the command
 * with an error while its other writes commit: that would leave this replica's state different
 * from the others'.
 */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { StateMachine } from "../../src/commands/StateMachine.js"
import { EngineError, type KvEngineService } from "../../src/engine/KvEngine.js"
import { engineOf } from "../support/commandRunner.js"

/** The engine, with every synchronous read of a key containing `poisoned` failing as a disk would. */
const failingOn = (engine: KvEngineService, poisoned: string): KvEngineService => ({
  ...engine,
  getNow: (key) => {
    if (Buffer.from(key).includes(poisoned)) throw new EngineError({ operation: "get", message: "disk read failed" })
    return engine.getNow!(key)
  }
})

const entry = (index: number, ...argv: Array<string>) => ({
  index,
  command: { origin: 1, seq: index, time: Date.now(), payload: { kind: "command" as const, db: 0, argv: argv.map((arg) => Buffer.from(arg)) } }
})

describe("an engine failure inside a command", () => {
  it("fails the apply batch with the EngineError and writes nothing of it, for a synchronous and an Effect command alike", async () => {
    for (const argv of [["SADD", "tags", "a", "poison"], ["MSET", "x", "1", "poison", "2"]]) {
      const { engine, close } = await engineOf()
      try {
        const machine = await Effect.runPromise(StateMachine.load(failingOn(engine, "poison")))
        const result = await Effect.runPromise(Effect.either(machine.apply([entry(1, "SET", "before", "1"), entry(2, ...argv)], 2)))
        expect(Either.isLeft(result), argv.join(" ")).toBe(true)
        if (Either.isLeft(result)) expect(result.left).toBeInstanceOf(EngineError)
        // The batch never reached the engine: not even the SET before the failing command.
        expect(await Effect.runPromise(engine.appliedIndex)).toBe(0)
        expect(await Effect.runPromise(engine.size)).toBe(0)
      } finally {
        await close()
      }
    }
  })
})
