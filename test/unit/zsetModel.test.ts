/**
 * Model-based test of sorted sets: seeded random sequences of ZADD (with its options), ZINCRBY,
 * ZREM, every range read, pops, range removals, set operations and ZRANGESTORE, mixed with DEL,
 * PEXPIRE (and time passing), RENAME, COPY, SET (for WRONGTYPE) and MULTI/EXEC, run against the
 * real state machine (test/support/commandRunner) and a plain in-memory model of Redis
 * (test/support/models/zsetModel.ts). Every reply is compared byte for byte, in RESP2 or RESP3;
 * ZRANDMEMBER (random) is checked against the model's members, and ZSCAN by full iteration.
 * Runs on the memory engine and on LevelDB. A failing seed is printed and reproduces exactly;
 * ZSET_MODEL_SEEDS=<n> runs more.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { LevelEngine } from "../../src/engine/LevelEngine.js"
import { seededRandom } from "../../src/raft/seededRandom.js"
import { encodeReply } from "../../src/resp/encode.js"
import { array, type Reply } from "../../src/resp/Reply.js"
import { CommandRunner, engineOf, type TestClient, withoutSynchronousReads } from "../support/commandRunner.js"
import { scanScoreText, ZsetModel } from "../support/models/zsetModel.js"

const SEEDS = Number(process.env.ZSET_MODEL_SEEDS ?? 4)
const STEPS = Number(process.env.ZSET_MODEL_STEPS ?? 400)

const KEYS = ["z1", "z2", "z3", "str"]
const MEMBERS = ["a", "b", "c", "d", "e", "f", "aa", "ab", "ba", "", "z\x00", "\xff"]
const SCORES = ["0", "-0", "1", "-1", "2.5", "3", "3", "0.1", "1e3", "-7", "inf", "-inf", "1.5e-5", "123456789012345678"]
const BOUNDS = ["-inf", "+inf", "0", "(0", "1", "(1", "2.5", "(3", "3", "-1", "(-inf", "1e3", "(inf"]
const LEX = ["-", "+", "[a", "(a", "[ab", "(b", "[c", "[e", "(f", "[", "(", "[z"]
const WEIGHTS = ["1", "2", "-1", "0.5", "0", "inf"]

type Generated = ReadonlyArray<string>

const generator = (random: () => number) => {
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(random() * xs.length)]
  const int = (low: number, high: number) => low + Math.floor(random() * (high - low + 1))
  const key = () => (random() < 0.9 ? pick(KEYS.slice(0, 3)) : "str")
  const members = (n: number) => Array.from({ length: n }, () => pick(MEMBERS))
  const limit = () => (random() < 0.4 ? ["LIMIT", String(int(-1, 4)), String(int(-1, 4))] : [])
  const keyList = () => {
    const n = int(1, 3)
    return [String(n), ...Array.from({ length: n }, key)]
  }
  const zadd = (): Generated => {
    const flags: Array<string> = []
    const condition = random()
    if (condition < 0.15) flags.push("NX")
    else if (condition < 0.3) flags.push("XX")
    if (!flags.includes("NX") && random() < 0.25) flags.push(pick(["GT", "LT"]))
    if (random() < 0.3) flags.push("CH")
    if (random() < 0.2) return ["ZADD", key(), ...flags, "INCR", pick(SCORES), pick(MEMBERS)]
    const pairs = Array.from({ length: int(1, 4) }, () => [pick(SCORES), pick(MEMBERS)]).flat()
    return ["ZADD", key(), ...flags, ...pairs]
  }
  const plain: Array<[number, () => Generated]> = [
    [10, zadd],
    [3, () => ["ZINCRBY", key(), pick(SCORES), pick(MEMBERS)]],
    [3, () => ["ZREM", key(), ...members(int(1, 3))]],
    [2, () => ["ZSCORE", key(), pick(MEMBERS)]],
    [1, () => ["ZMSCORE", key(), ...members(int(1, 3))]],
    [1, () => ["ZCARD", key()]],
    [2, () => ["ZCOUNT", key(), pick(BOUNDS), pick(BOUNDS)]],
    [2, () => ["ZLEXCOUNT", key(), pick(LEX), pick(LEX)]],
    [4, () => ["ZRANGE", key(), String(int(-8, 8)), String(int(-8, 8)), ...(random() < 0.3 ? ["REV"] : []), ...(random() < 0.5 ? ["WITHSCORES"] : [])]],
    [3, () => ["ZRANGE", key(), pick(BOUNDS), pick(BOUNDS), "BYSCORE", ...(random() < 0.4 ? ["REV"] : []), ...limit(), ...(random() < 0.5 ? ["WITHSCORES"] : [])]],
    [3, () => ["ZRANGE", key(), pick(LEX), pick(LEX), "BYLEX", ...(random() < 0.4 ? ["REV"] : []), ...limit()]],
    [2, () => ["ZRANGEBYSCORE", key(), pick(BOUNDS), pick(BOUNDS), ...(random() < 0.5 ? ["WITHSCORES"] : []), ...limit()]],
    [2, () => ["ZREVRANGEBYSCORE", key(), pick(BOUNDS), pick(BOUNDS), ...limit()]],
    [2, () => ["ZRANGEBYLEX", key(), pick(LEX), pick(LEX), ...limit()]],
    [2, () => ["ZREVRANGEBYLEX", key(), pick(LEX), pick(LEX), ...limit()]],
    [2, () => ["ZREVRANGE", key(), String(int(-6, 6)), String(int(-6, 6)), ...(random() < 0.5 ? ["WITHSCORES"] : [])]],
    [2, () => [pick(["ZRANK", "ZREVRANK"]), key(), pick(MEMBERS)]],
    [2, () => [pick(["ZPOPMIN", "ZPOPMAX"]), key(), ...(random() < 0.6 ? [String(int(0, 4))] : [])]],
    [1, () => ["ZMPOP", ...keyList(), pick(["MIN", "MAX"]), ...(random() < 0.5 ? ["COUNT", String(int(1, 4))] : [])]],
    [1, () => ["ZREMRANGEBYSCORE", key(), pick(BOUNDS), pick(BOUNDS)]],
    [1, () => ["ZREMRANGEBYRANK", key(), String(int(-5, 5)), String(int(-5, 5))]],
    [1, () => ["ZREMRANGEBYLEX", key(), pick(LEX), pick(LEX)]],
    [2, () => {
      const keys = keyList()
      const operation = pick(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
      const options = operation === "ZDIFFSTORE" ? [] : [...(random() < 0.5 ? ["WEIGHTS", ...keys.slice(1).map(() => pick(WEIGHTS))] : []), ...(random() < 0.5 ? ["AGGREGATE", pick(["SUM", "MIN", "MAX"])] : [])]
      return [operation, key(), ...keys, ...options]
    }],
    [2, () => {
      const keys = keyList()
      const operation = pick(["ZUNION", "ZINTER", "ZDIFF"])
      const options = operation === "ZDIFF" ? [] : [...(random() < 0.5 ? ["WEIGHTS", ...keys.slice(1).map(() => pick(WEIGHTS))] : []), ...(random() < 0.5 ? ["AGGREGATE", pick(["SUM", "MIN", "MAX"])] : [])]
      return [operation, ...keys, ...options, ...(random() < 0.5 ? ["WITHSCORES"] : [])]
    }],
    [1, () => ["ZINTERCARD", ...keyList(), ...(random() < 0.5 ? ["LIMIT", String(int(0, 3))] : [])]],
    [2, () => pick([
      () => ["ZRANGESTORE", key(), key(), String(int(-5, 5)), String(int(-5, 5))],
      () => ["ZRANGESTORE", key(), key(), pick(BOUNDS), pick(BOUNDS), "BYSCORE", ...limit()],
      () => ["ZRANGESTORE", key(), key(), pick(LEX), pick(LEX), "BYLEX", ...(random() < 0.5 ? ["REV"] : []), ...limit()]
    ])()],
    [1, () => ["DEL", key(), ...(random() < 0.3 ? [key()] : [])]],
    [1, () => ["EXISTS", key()]],
    [1, () => ["TYPE", key()]],
    [1, () => ["PEXPIRE", key(), String(int(-10, 1500))]],
    [1, () => ["RENAME", key(), key()]],
    [1, () => {
      const source = key()
      const target = pick(KEYS.filter((k) => k !== source))
      return ["COPY", source, target, ...(random() < 0.5 ? ["REPLACE"] : [])]
    }],
    [1, () => ["SET", "str", "v"]]
  ]
  const total = plain.reduce((sum, [weight]) => sum + weight, 0)
  const next = (): Generated => {
    let r = random() * total
    for (const [weight, make] of plain) if ((r -= weight) < 0) return make()
    return plain[0][1]()
  }
  return { next, pick, int, key }
}

const asText = (argv: Generated) => argv.map((a) => JSON.stringify(a)).join(" ")

/** One seeded run; returns a description of the first divergence, or undefined. */
const runSeed = async (runner: CommandRunner, seed: number, steps: number): Promise<string | undefined> => {
  const random = seededRandom(seed)
  const gen = generator(random)
  const model = new ZsetModel()
  const client: TestClient = runner.client()
  const protocol = random() < 0.5 ? 3 : 2
  if (protocol === 3) await client.call("HELLO", "3")
  const history: Array<string> = []
  const wire = (reply: Reply) => encodeReply(reply, protocol).toString("latin1")
  const fail = (message: string) => `seed ${seed} (RESP${protocol}), step ${history.length}: ${message}\n  last commands:\n    ${history.slice(-15).join("\n    ")}`
  for (let step = 0; step < steps; step++) {
    if (random() < 0.1) runner.now += gen.int(0, 700)
    model.now = runner.now
    const choice = random()
    if (choice < 0.06) {
      // A transaction: every queued command applies at EXEC, each with its own reply.
      const queued = Array.from({ length: gen.int(2, 4) }, () => gen.next())
      history.push(`MULTI; ${queued.map(asText).join("; ")}; EXEC`)
      await client.call("MULTI")
      for (const argv of queued) {
        const reply = await client.wire(...argv)
        if (reply !== "+QUEUED\r\n") return fail(`${asText(argv)} queued as ${JSON.stringify(reply)}`)
      }
      const actual = await client.wire("EXEC")
      const expected = wire(array(queued.map((argv) => model.run(argv))))
      if (actual !== expected) return fail(`EXEC: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
      continue
    }
    if (choice < 0.1) {
      // ZRANDMEMBER is random: its members must be the model's, with their scores and the right count.
      const key = gen.key()
      const count = gen.pick([undefined, 1, 3, 20, -1, -5, 0])
      const withScores = count !== undefined && random() < 0.5
      const argv = ["ZRANDMEMBER", key, ...(count !== undefined ? [String(count)] : []), ...(withScores ? ["WITHSCORES"] : [])]
      history.push(asText(argv))
      const reply = await client.call(...argv)
      const type = (model.run(["TYPE", key]) as { value: string }).value
      const problem = checkRandom(reply, model.members(key), count, withScores, type === "string")
      if (problem !== undefined) return fail(`${asText(argv)}: ${problem}`)
      continue
    }
    if (choice < 0.13) {
      const key = gen.key()
      history.push(`full ZSCAN ${key}`)
      const problem = await checkScan(client, key, model, gen.int(1, 5))
      if (problem !== undefined) return fail(problem)
      continue
    }
    const argv = gen.next()
    history.push(asText(argv))
    const expected = wire(model.run(argv))
    const actual = await client.wire(...argv)
    if (actual !== expected) return fail(`${asText(argv)}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  }
  return undefined
}

const items = (reply: Reply): Array<Reply> => (reply._tag === "Array" || reply._tag === "Pairs" ? [...(reply.value ?? [])] : [])
const bytes = (reply: Reply): string => (reply._tag === "Bulk" && reply.value !== null ? Buffer.from(reply.value).toString("latin1") : `<${reply._tag}>`)

const checkRandom = (reply: Reply, members: ReadonlyMap<string, number> | undefined, count: number | undefined, withScores: boolean, wrongType: boolean): string | undefined => {
  if (wrongType) return reply._tag === "Error" && reply.message.startsWith("WRONGTYPE") ? undefined : `expected WRONGTYPE, got ${JSON.stringify(reply)}`
  const size = members?.size ?? 0
  if (count === undefined) {
    if (size === 0) return reply._tag === "Bulk" && reply.value === null ? undefined : `expected nil, got ${JSON.stringify(reply)}`
    return members!.has(bytes(reply)) ? undefined : `${bytes(reply)} is not a member`
  }
  const list = items(reply)
  const width = withScores ? 2 : 1
  const expectedLength = count >= 0 ? Math.min(count, size) : size === 0 ? 0 : -count
  if (list.length !== expectedLength * width) return `expected ${expectedLength} members, got ${list.length / width}`
  if (withScores && expectedLength > 0 && reply._tag !== "Pairs") return `expected member/score pairs, got ${reply._tag}`
  const seen = new Set<string>()
  for (let i = 0; i < list.length; i += width) {
    const member = bytes(list[i])
    if (!members!.has(member)) return `${JSON.stringify(member)} is not a member`
    if (withScores && (list[i + 1]._tag !== "Double" || (list[i + 1] as { value: number }).value !== members!.get(member))) return `wrong score for ${member}`
    if (count > 0 && seen.has(member)) return `${member} returned twice for a positive count`
    seen.add(member)
  }
  return undefined
}

const checkScan = async (client: TestClient, key: string, model: ZsetModel, count: number): Promise<string | undefined> => {
  const expectedType = model.run(["TYPE", key]) as { value: string }
  let cursor = "0"
  const seen = new Map<string, string>()
  for (let calls = 0; calls < 1000; calls++) {
    const reply = await client.call("ZSCAN", key, cursor, "COUNT", String(count))
    if (expectedType.value === "string") return reply._tag === "Error" && reply.message.startsWith("WRONGTYPE") ? undefined : `ZSCAN ${key}: expected WRONGTYPE`
    const [next, found] = items(reply)
    cursor = bytes(next)
    const list = items(found)
    for (let i = 0; i < list.length; i += 2) {
      if (seen.has(bytes(list[i]))) return `ZSCAN ${key} returned ${bytes(list[i])} twice`
      seen.set(bytes(list[i]), bytes(list[i + 1]))
    }
    if (cursor === "0") break
  }
  const expected = new Map([...(model.members(key) ?? new Map<string, number>()).entries()].map(([member, score]) => [member, scanScoreText(score)]))
  const show = (m: Map<string, string>) => JSON.stringify([...m.entries()].sort())
  return show(seen) === show(expected) ? undefined : `ZSCAN ${key}: expected ${show(expected)}, got ${show(seen)}`
}

const seedsFrom = (base: number) => Array.from({ length: SEEDS }, (_, i) => base + i)

describe("sorted sets against a model of Redis", () => {
  it("memory engine: every reply agrees with the model", async () => {
    for (const seed of seedsFrom(1)) {
      const runner = await CommandRunner.make()
      expect(await runSeed(runner, seed, STEPS)).toBeUndefined()
    }
  }, 120_000)

  it("an engine whose reads all wait (no getNow, no getMany): every reply agrees with the model", async () => {
    const { engine } = await engineOf()
    const runner = await CommandRunner.make(withoutSynchronousReads(engine, false))
    expect(await runSeed(runner, 501, STEPS)).toBeUndefined()
  }, 120_000)

  it("LevelDB read only asynchronously (getMany, no getNow): every reply agrees with the model", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zset-model-"))
    const { engine, close } = await engineOf(LevelEngine.layer(dir))
    try {
      expect(await runSeed(await CommandRunner.make(withoutSynchronousReads(engine, true)), 502, STEPS)).toBeUndefined()
    } finally {
      await close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it("LevelDB engine: every reply agrees with the model", async () => {
    for (const seed of seedsFrom(1001)) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zset-model-"))
      const { engine, close } = await engineOf(LevelEngine.layer(dir))
      try {
        const runner = await CommandRunner.make(engine)
        expect(await runSeed(runner, seed, STEPS)).toBeUndefined()
      } finally {
        await close()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }, 240_000)
})
