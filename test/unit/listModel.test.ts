/**
 * Model-based test of lists: random command sequences (every list command, the blocking ones with
 * a second client pushing or the timeout passing, and DEL, EXPIRE with time passing, RENAME, SET
 * for WRONGTYPE, MULTI/EXEC) run against the real state machine (through real command sessions,
 * test/support/commandRunner.ts) and against a plain JS model of redis-server's lists
 * (test/support/models/lists.ts); every reply must be the same bytes in RESP2 and RESP3. On the
 * memory engine and on LevelDB. A failure prints the seed and the commands up to the difference.
 * The model itself is checked the same way against a real redis-server (two connections, the
 * blocked one waiting for real), so it cannot make a wrong state machine look right.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LevelEngine } from "../../src/engine/LevelEngine.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import { encodeReply } from "../../src/resp/encode.js"
import type { Reply } from "../../src/resp/Reply.js"
import { CommandRunner, engineOf, withoutSynchronousReads } from "../support/commandRunner.js"
import { RedisServer } from "../support/redisServer.js"
import type { WireConnection } from "../support/respWire.js"
import { ListCommands, waitKeys } from "../support/models/listCommands.js"
import { ListModel, type ModelReply } from "../support/models/lists.js"


const wire = (reply: ModelReply): string =>
  reply === "blocks" ? "(blocks: no reply yet)" : `${encodeReply(reply, 2).toString("latin1")} | ${encodeReply(reply, 3).toString("latin1")}`

const run = async (seed: number, steps: number, runner: CommandRunner): Promise<void> => {
  const random = seededRandom(seed)
  const generate = new ListCommands(random)
  const model = new ListModel()
  model.now = runner.now
  const a = runner.client()
  const b = runner.client()
  const log: Array<string> = []
  /** `actual` undefined: no reply yet, which is right when the model says the command blocks. */
  const check = (argv: ReadonlyArray<string>, expected: ModelReply, actual: Reply | undefined) => {
    log.push(`${argv.join(" ")} -> ${wire(expected)}`)
    if (wire(expected) !== wire(actual ?? "blocks")) {
      throw new Error(`seed ${seed}, step ${log.length}: ${argv.join(" ")}\n  model:         ${wire(expected)}\n  state machine: ${wire(actual ?? "blocks")}\n--- before:\n${log.slice(-25, -1).join("\n")}`)
    }
  }
  for (let step = 0; step < steps; step++) {
    const r = random()
    if (r < 0.05) {
      const ms = generate.int(0, 2500)
      runner.advance(ms)
      model.now += ms
      log.push(`(${ms} ms pass)`)
      continue
    }
    if (r < 0.12) {
      // A transaction: every command answers at once, blocking ones included.
      const commands = Array.from({ length: generate.int(1, 4) }, () => (random() < 0.3 ? generate.blocking() : generate.command()))
      await a.call("MULTI")
      for (const argv of commands) await a.call(...argv)
      check(["EXEC", `(${commands.map((c) => c.join(" ")).join("; ")})`], model.exec(commands), await a.call("EXEC"))
      continue
    }
    const argv = r < 0.2 ? generate.blocking() : generate.command()
    const expected = model.run(argv)
    if (expected !== "blocks") {
      check(argv, expected, await a.call(...argv))
      continue
    }
    // It waits: then either its timeout passes, or the other client pushes to one of its keys.
    let answered: Reply | undefined
    const pending = a.send(...argv).then((reply) => (answered = reply))
    await runner.settled()
    check(argv, "blocks", answered)
    if (random() < 0.3) {
      runner.advance(50)
      model.now += 50
      await pending
      check([`(timeout of ${argv.join(" ")})`], { _tag: "Array", value: null }, answered)
      continue
    }
    // Every key it waits on is empty (a string there would have been WRONGTYPE): push to one.
    const ready = generate.pick(waitKeys(argv))
    const push = [generate.pick(["LPUSH", "RPUSH"]), ready, ...generate.elements()]
    check(push, model.run(push), await b.call(...push))
    const served = model.serve(argv, ready)
    await runner.settled()
    if (served === "blocks") {
      check([`(still waiting: ${argv.join(" ")})`], "blocks", answered)
      runner.advance(50)
      model.now += 50
      await pending
      continue
    }
    await pending
    check([`(served: ${argv.join(" ")})`], served, answered)
  }
}

describe("lists against a model of redis-server (random command sequences)", () => {
  it.each(Array.from({ length: 12 }, (_, i) => i + 1))("memory engine, seed %i", async (seed) => {
    await run(seed, 400, await CommandRunner.make())
  })

  it.each([101, 102, 103])("LevelDB engine, seed %i", async (seed) => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-list-model-"))
    const { engine, close } = await engineOf(LevelEngine.layer(directory))
    try {
      await run(seed, 250, await CommandRunner.make(engine))
    } finally {
      await close()
      fs.rmSync(directory, { recursive: true, force: true })
    }
  })

  it("an engine whose reads all wait (no getNow, no getMany), seed 201", async () => {
    await run(201, 400, await CommandRunner.make(withoutSynchronousReads((await engineOf()).engine, false)))
  })

  it("the model and the state machine agree on a sequence written by hand", async () => {
    const runner = await CommandRunner.make()
    const model = new ListModel()
    const client = runner.client()
    for (const argv of [["RPUSH", "a", "1", "2", "3"], ["LMOVE", "a", "a", "LEFT", "RIGHT"], ["LRANGE", "a", "0", "-1"], ["LINSERT", "a", "AFTER", "3", "x"], ["LRANGE", "a", "0", "-1"]]) {
      expect(wire(await client.call(...argv))).toBe(wire(model.run(argv)))
    }
  })
})

describe("the list model answers as redis-server 7.0 does", () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await RedisServer.start({ port: 24161 })
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
  })

  /** The same random sequences as above, against redis-server in real time (no time passes but the 50 ms timeouts). */
  const against = async (seed: number, protocol: 2 | 3, steps: number) => {
    const [a, b] = await Promise.all([server.connect(), server.connect()])
    const connections: Array<WireConnection> = [a, b]
    try {
      for (const connection of connections) await connection.call("HELLO", String(protocol))
      await a.call("FLUSHALL")
      const random = seededRandom(seed)
      const generate = new ListCommands(random)
      const model = new ListModel()
      const log: Array<string> = []
      const check = (argv: ReadonlyArray<string>, expected: ModelReply, raw: Buffer) => {
        const want = expected === "blocks" ? "(blocks)" : encodeReply(expected, protocol).toString("latin1")
        log.push(`${argv.join(" ")} -> ${JSON.stringify(want)}`)
        expect(raw.toString("latin1"), `seed ${seed}: ${argv.join(" ")}\n${log.slice(-15).join("\n")}`).toBe(want)
      }
      for (let step = 0; step < steps; step++) {
        // TTLs are seconds: the few ms a sequence takes never change them.
        model.now = Date.now()
        const r = random()
        if (r < 0.05) {
          generate.int(0, 2500) // (time passing is the state machine's test; keep the sequences aligned)
          continue
        }
        if (r < 0.12) {
          const commands = Array.from({ length: generate.int(1, 4) }, () => (random() < 0.3 ? generate.blocking() : generate.command()))
          await a.call("MULTI")
          for (const argv of commands) await a.call(...argv)
          const raw = (await a.call("EXEC")).raw
          model.now = Date.now()
          check(["EXEC", `(${commands.map((c) => c.join(" ")).join("; ")})`], model.exec(commands), raw)
          continue
        }
        const argv = r < 0.2 ? generate.blocking() : generate.command()
        const expected = model.run(argv)
        if (expected !== "blocks") {
          check(argv, expected, (await a.call(...argv)).raw)
          continue
        }
        const pending = a.call(...argv)
        if (random() < 0.3) {
          check([`(timeout of ${argv.join(" ")})`], { _tag: "Array", value: null }, (await pending).raw)
          continue
        }
        const ready = generate.pick(waitKeys(argv))
        const push = [generate.pick(["LPUSH", "RPUSH"]), ready, ...generate.elements()]
        check(push, model.run(push), (await b.call(...push)).raw)
        check([`(served: ${argv.join(" ")})`], model.serve(argv, ready), (await pending).raw)
      }
    } finally {
      for (const connection of connections) connection.close()
    }
  }

  it.each([1, 2, 3, 4, 5, 6])("seed %i, RESP2 and RESP3", async (seed) => {
    await against(seed, 2, 200)
    await against(seed, 3, 200)
  }, 30_000)
})
