/**
 * Differential testing against redis-server: a scenario (a list of steps, each a command on a
 * named connection) runs against two servers at once, step by step, and every reply is compared
 * BYTE FOR BYTE, on RESP2 connections and on RESP3 connections (`HELLO 3` first, its own reply
 * not compared). The first difference is reported with both byte strings escaped.
 *
 * Steps whose replies legitimately differ carry a marker: `shape` (same reply types and sizes all
 * the way down, any contents: INFO, CLIENT ID, TIME), `typeOnly` (same top-level type: RANDOMKEY),
 * `unordered` (an aggregate compared as a sorted multiset of elements, map entries as pairs:
 * KEYS, SMEMBERS, HGETALL), `near` (integers within a tolerance: TTLs) and `scanAll` (a full
 * cursor iteration on each side, compared as the set of elements returned).
 *
 * Blocking commands: `send` puts a command on a connection without waiting for its reply,
 * `waitBlocked` waits (bounded) until both servers count that many blocked clients, and `receive`
 * takes the connection's oldest outstanding reply on each side and compares them.
 *
 * Scenarios are data (test/compat/scenarios/*.ts); runners (test/process/compat.test.ts) decide
 * which servers and protocols they run against.
 */
import { type Arg, escapeBytes, type Frame, type FrameType, WireConnection } from "./respWire.js"

// ---------------------------------------------------------------------------------------------
// Scenario data

export type Compare =
  | { readonly kind: "exact" }
  | { readonly kind: "typeOnly" }
  | { readonly kind: "shape" }
  | { readonly kind: "unordered" }
  | { readonly kind: "near"; readonly tolerance: number }

export interface CommandStep {
  /** The connection that sends it (default "a"); each name is its own client connection. */
  readonly conn?: string
  readonly argv: ReadonlyArray<Arg>
  readonly compare?: Compare
  /**
   * What redis-server 7.0 answers, as raw RESP (one string for both protocols, or per protocol),
   * checked in the reference self-check: documentation that cannot go stale.
   */
  readonly expect?: string | { readonly 2?: string; readonly 3?: string }
  /** This step may be answered "unknown command/subcommand" by redis-server (the self-check flags it otherwise). */
  readonly unknownOk?: boolean
  /** Sent without waiting for the reply (a blocking command): a later `receive` compares it. */
  readonly background?: boolean
}

/** The oldest reply still outstanding on a connection (sent with `send`), compared like a command's. */
export interface ReceiveStep {
  readonly receive: string
  readonly compare?: Compare
  readonly expect?: string | { readonly 2?: string; readonly 3?: string }
}

/** Wait until the server that connection `conn` talks to counts `blocked` blocked clients (INFO clients). */
export interface WaitBlockedStep {
  readonly waitBlocked: number
  readonly conn?: string
}

export interface ScanStep {
  readonly conn?: string
  /** The command and its key if any: ["SCAN"], ["HSCAN", "h"]. The cursor follows. */
  readonly scan: ReadonlyArray<Arg>
  /** Arguments after the cursor: MATCH, COUNT, TYPE. */
  readonly args?: ReadonlyArray<Arg>
  /** Elements come in field/value (member/score) pairs: HSCAN, ZSCAN. */
  readonly pairs?: boolean
}

export interface SleepStep {
  readonly sleepMs: number
}

export type Step = CommandStep | ScanStep | SleepStep | ReceiveStep | WaitBlockedStep

export type Protocol = 2 | 3

export interface Scenario {
  readonly name: string
  readonly steps: ReadonlyArray<Step>
  /** The protocols to run it on (default both). */
  readonly protocols?: ReadonlyArray<Protocol>
  /** Also run it with its first connection on a follower (the others on the leader). */
  readonly follower?: boolean
}

export const EXACT: Compare = { kind: "exact" }
const SHAPE: Compare = { kind: "shape" }
const TYPE_ONLY: Compare = { kind: "typeOnly" }
const UNORDERED: Compare = { kind: "unordered" }

/** A command whose reply must be byte-identical. */
export const cmd = (...argv: Array<Arg>): CommandStep => ({ argv })
/** Byte-identical, and redis-server's reply (RESP2 and RESP3 alike, or per protocol) is asserted by the self-check. */
export const expectReply = (expected: string | { 2?: string; 3?: string }, ...argv: Array<Arg>): CommandStep => ({ argv, expect: expected })
/** Same reply types and aggregate sizes all the way down, any scalar contents. */
export const shape = (...argv: Array<Arg>): CommandStep => ({ argv, compare: SHAPE })
/** Same top-level reply type only. */
export const typeOnly = (...argv: Array<Arg>): CommandStep => ({ argv, compare: TYPE_ONLY })
/** An aggregate whose element order is unspecified (KEYS, SMEMBERS, HGETALL): compared as a multiset. */
export const unordered = (...argv: Array<Arg>): CommandStep => ({ argv, compare: UNORDERED })
/** Integers (or doubles) within `tolerance` of each other, same type. */
export const near = (tolerance: number, ...argv: Array<Arg>): CommandStep => ({ argv, compare: { kind: "near", tolerance } })
/** The same step on another connection. */
export const on = <S extends CommandStep | ScanStep>(conn: string, step: S): S => ({ ...step, conn })
/** Iterate a cursor command to the end on each side and compare the sets of elements. */
export const scanAll = (scan: ReadonlyArray<Arg>, args: ReadonlyArray<Arg> = [], options: { pairs?: boolean; conn?: string } = {}): ScanStep => ({
  scan,
  args,
  ...options
})
export const sleep = (ms: number): SleepStep => ({ sleepMs: ms })
/** Send a command on connection `conn` without waiting for its reply. */
export const send = (conn: string, ...argv: Array<Arg>): CommandStep => ({ conn, argv, background: true })
/** The reply to the oldest command `send` put on `conn`, byte-identical (and redis-server's as documented, if given). */
export const receive = (conn: string, expected?: string | { 2?: string; 3?: string }): ReceiveStep => ({ receive: conn, ...(expected !== undefined ? { expect: expected } : {}) })
/** Wait until the server of connection `conn` (default "a") has `count` blocked clients. */
export const waitBlocked = (count: number, conn?: string): WaitBlockedStep => ({ waitBlocked: count, ...(conn !== undefined ? { conn } : {}) })

export const isScan = (step: Step): step is ScanStep => "scan" in step
export const isSleep = (step: Step): step is SleepStep => "sleepMs" in step
export const isReceive = (step: Step): step is ReceiveStep => "receive" in step
export const isWaitBlocked = (step: Step): step is WaitBlockedStep => "waitBlocked" in step

// ---------------------------------------------------------------------------------------------
// Running

export interface Endpoint {
  readonly port: number
  readonly host?: string
}

export interface Side {
  /** Shown in reports: "redis-server", "raft-kv leader". */
  readonly label: string
  /** Where connection `name` (the `index`th distinct name of the scenario, from 0) connects. */
  readonly endpoint: (name: string, index: number) => Endpoint
  /** Clears every database before a scenario; the default sends FLUSHALL. */
  readonly reset?: (connection: WireConnection) => Promise<void>
}

export interface RunOptions {
  readonly protocol: Protocol
  /** The side under test. */
  readonly subject: Side
  /** The reference side (redis-server). */
  readonly reference: Side
  /** Reference self-check: also fail on unknown-command replies and on `expect` mismatches of the reference. */
  readonly checkReference?: boolean
  readonly replyTimeoutMs?: number
}

export type RunResult =
  | { readonly ok: true; readonly steps: number; readonly transcript: ReadonlyArray<string> }
  | { readonly ok: false; readonly message: string; readonly transcript: ReadonlyArray<string> }

const connectionNames = (scenario: Scenario): Array<string> => {
  const names = ["a"]
  for (const step of scenario.steps) {
    if (isSleep(step)) continue
    const name = isReceive(step) ? step.receive : (step.conn ?? "a")
    if (!names.includes(name)) names.push(name)
  }
  return names
}

const argvText = (argv: ReadonlyArray<Arg>): string =>
  argv.map((a) => {
    const bytes = Buffer.from(a)
    const text = escapeBytes(bytes.length > 60 ? bytes.subarray(0, 60) : bytes)
    return bytes.length > 60 ? `${text}…(${bytes.length} bytes)` : /^"[!-~]+"$/.test(text) && !text.includes("\\") ? text.slice(1, -1) : text
  }).join(" ")

const defaultReset = async (connection: WireConnection): Promise<void> => {
  const reply = await connection.call("FLUSHALL")
  if (reply.raw.toString("latin1") !== "+OK\r\n") {
    // A server without FLUSHALL still gets a clean database 0, so the scenario itself is compared.
    await connection.call("FLUSHDB")
  }
}

/** Run one scenario on both sides at once and compare every reply. Never throws for a difference. */
export const runScenario = async (scenario: Scenario, options: RunOptions): Promise<RunResult> => {
  const names = connectionNames(scenario)
  const opened: Array<WireConnection> = []
  /** Replies still to come for commands sent with `send`, per side and connection, oldest first. */
  const outstanding: Array<Map<string, Array<Promise<Frame>>>> = [new Map(), new Map()]
  const sides = [options.reference, options.subject] as const
  const connections: Array<Map<string, WireConnection>> = [new Map(), new Map()]
  const where = `[RESP${options.protocol}; ${options.subject.label} vs ${options.reference.label}]`
  const transcript: Array<string> = []
  const fail = (message: string): RunResult => ({
    ok: false,
    transcript,
    message: `${scenario.name} ${where}\n${message}${transcript.length > 0 ? `\n  steps before it:\n${transcript.slice(-12).map((l) => `    ${l}`).join("\n")}` : ""}`
  })
  try {
    // Fresh connections for every run: connection state (database, MULTI, WATCH, name) never leaks.
    for (const [i, side] of sides.entries()) {
      const resetConnection = await WireConnection.connect(side.endpoint("a", 0).port, {
        host: side.endpoint("a", 0).host,
        name: `${side.label} (reset)`,
        replyTimeoutMs: options.replyTimeoutMs
      })
      opened.push(resetConnection)
      await (side.reset ?? defaultReset)(resetConnection)
      resetConnection.close()
      for (const [index, name] of names.entries()) {
        const endpoint = side.endpoint(name, index)
        const connection = await WireConnection.connect(endpoint.port, {
          host: endpoint.host,
          name: `${side.label} conn ${name}`,
          replyTimeoutMs: options.replyTimeoutMs
        })
        opened.push(connection)
        connections[i].set(name, connection)
      }
    }
    if (options.protocol === 3) {
      for (const name of names) {
        const [ref, sub] = await Promise.all(connections.map((c) => c.get(name)!.call("HELLO", "3")))
        if (sub.type !== ref.type) {
          return fail(`  connection setup: HELLO 3 on conn ${name}\n    ${options.reference.label}: ${show(ref.raw)}\n    ${options.subject.label}: ${show(sub.raw)}`)
        }
      }
    }
    for (const [index, step] of scenario.steps.entries()) {
      if (isSleep(step)) {
        await new Promise((resolve) => setTimeout(resolve, step.sleepMs))
        transcript.push(`sleep ${step.sleepMs} ms`)
        continue
      }
      if (isWaitBlocked(step)) {
        const name = step.conn ?? "a"
        await Promise.all(sides.map((side, i) => waitForBlocked(side.endpoint(name, names.indexOf(name)), step.waitBlocked, `${side.label} (conn ${name})`, options.replyTimeoutMs)))
        transcript.push(`step ${index + 1}: ${step.waitBlocked} blocked client(s) on both sides`)
        continue
      }
      if (isReceive(step)) {
        const label = `step ${index + 1} (conn ${step.receive}): the reply to its oldest command sent`
        const [refPending, subPending] = outstanding.map((side) => side.get(step.receive)?.shift())
        if (refPending === undefined || subPending === undefined) return fail(`  ${label}\n    nothing was sent on conn ${step.receive}`)
        const [ref, sub] = await Promise.all([refPending, subPending])
        if (options.checkReference && step.expect !== undefined) {
          const problem = checkReferenceReply({ argv: [], expect: step.expect }, ref, options.protocol)
          if (problem !== undefined) return fail(`  ${label}\n    reference problem: ${problem}`)
        }
        const difference = compareFrames(ref, sub, step.compare ?? EXACT)
        if (difference !== undefined) {
          return fail(`  ${label}\n    ${difference}\n    ${options.reference.label.padEnd(16)} ${show(ref.raw)}\n    ${options.subject.label.padEnd(16)} ${show(sub.raw)}`)
        }
        transcript.push(`${label} -> ${show(ref.raw, 200)}`)
        continue
      }
      const name = step.conn ?? "a"
      const label = `step ${index + 1} (conn ${name}): ${isScan(step) ? `full ${argvText([...step.scan, "<cursor>", ...(step.args ?? [])])} iteration` : argvText(step.argv)}`
      if (isScan(step)) {
        const [ref, sub] = await Promise.all(connections.map((c) => scanToEnd(c.get(name)!, step)))
        const difference = compareScans(ref, sub, options)
        if (difference !== undefined) return fail(`  ${label}\n${difference}`)
        transcript.push(`${label} -> ${ref.kind === "elements" ? `${ref.elements.length} elements in ${ref.calls} calls` : show(ref.frame.raw)}`)
        continue
      }
      if (step.background === true) {
        connections.forEach((c, i) => {
          const reply = c.get(name)!.call(...step.argv)
          // Observed now so a failure before its `receive` is not an unhandled rejection.
          reply.catch(() => {})
          const queue = outstanding[i].get(name) ?? []
          queue.push(reply)
          outstanding[i].set(name, queue)
        })
        transcript.push(`${label} (sent; its reply comes later)`)
        continue
      }
      const [ref, sub] = await Promise.all(connections.map((c) => c.get(name)!.call(...step.argv)))
      if (options.checkReference) {
        const problem = checkReferenceReply(step, ref, options.protocol)
        if (problem !== undefined) return fail(`  ${label}\n    reference problem: ${problem}`)
      }
      const difference = compareFrames(ref, sub, step.compare ?? EXACT)
      if (difference !== undefined) {
        return fail(
          `  ${label}${step.compare && step.compare.kind !== "exact" ? ` [compared: ${step.compare.kind}]` : ""}\n` +
            `    ${difference}\n    ${options.reference.label.padEnd(16)} ${show(ref.raw)}\n    ${options.subject.label.padEnd(16)} ${show(sub.raw)}`
        )
      }
      transcript.push(`${label} -> ${show(ref.raw, 200)}`)
    }
    return { ok: true, steps: scenario.steps.length, transcript }
  } catch (error) {
    return fail(`  error: ${(error as Error).message}`)
  } finally {
    for (const connection of opened) connection.close()
  }
}

/** Poll INFO clients on a connection of its own until the server counts `count` blocked clients. */
const waitForBlocked = async (endpoint: Endpoint, count: number, label: string, replyTimeoutMs = 10_000): Promise<void> => {
  const connection = await WireConnection.connect(endpoint.port, { host: endpoint.host, name: `${label} (INFO)`, replyTimeoutMs })
  try {
    const deadline = Date.now() + replyTimeoutMs
    let last = ""
    while (Date.now() < deadline) {
      const info = (await connection.call("INFO", "clients")).data?.toString("latin1") ?? ""
      last = /blocked_clients:(\d+)/.exec(info)?.[1] ?? "?"
      if (last === String(count)) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error(`${label}: blocked_clients stayed ${last}, not ${count}, for ${replyTimeoutMs} ms`)
  } finally {
    connection.close()
  }
}

const checkReferenceReply = (step: CommandStep, ref: Frame, protocol: Protocol): string | undefined => {
  const text = ref.raw.toString("latin1")
  if (!step.unknownOk && /^-ERR unknown (sub)?command/.test(text)) return `redis-server does not know it: ${show(ref.raw)}`
  if (step.expect !== undefined) {
    const expected = typeof step.expect === "string" ? step.expect : step.expect[protocol]
    if (expected !== undefined && expected !== text) return `expected ${show(Buffer.from(expected, "latin1"))}, redis-server answered ${show(ref.raw)}`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Comparing

/** Escaped bytes, cut to `max` bytes around nothing in particular (the start). */
export const show = (bytes: Buffer, max = 600): string =>
  bytes.length <= max ? escapeBytes(bytes) : `${escapeBytes(bytes.subarray(0, max))}…(${bytes.length} bytes)`

const firstDifference = (a: Buffer, b: Buffer): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

/** Where two byte strings part, with a little context from each. */
const describeByteDifference = (expected: Buffer, actual: Buffer): string => {
  const at = firstDifference(expected, actual)
  const from = Math.max(0, at - 20)
  return `bytes differ at offset ${at}: ${escapeBytes(expected.subarray(from, at + 30))} vs ${escapeBytes(actual.subarray(from, at + 30))}`
}

const typeName: Record<FrameType, string> = {
  "+": "simple string", "-": "error", ":": "integer", "$": "bulk string", "*": "array", "_": "null", ",": "double",
  "#": "boolean", "!": "blob error", "=": "verbatim string", "(": "big number", "%": "map", "~": "set", ">": "push", "|": "attribute"
}

/** undefined when the replies agree under `compare`, else what differs. */
export const compareFrames = (expected: Frame, actual: Frame, compare: Compare, path = "reply"): string | undefined => {
  switch (compare.kind) {
    case "exact":
      return expected.raw.equals(actual.raw) ? undefined : describeByteDifference(expected.raw, actual.raw)
    case "typeOnly":
      return expected.type === actual.type ? undefined : `${path}: ${typeName[expected.type]} expected, got ${typeName[actual.type]}`
    case "shape":
      return compareShape(expected, actual, path)
    case "near": {
      if (expected.type !== actual.type) return `${path}: ${typeName[expected.type]} expected, got ${typeName[actual.type]}`
      if (expected.raw.equals(actual.raw)) return undefined
      const x = Number(expected.data?.toString("latin1") ?? expected.line)
      const y = Number(actual.data?.toString("latin1") ?? actual.line)
      if (Number.isNaN(x) || Number.isNaN(y) || Math.abs(x - y) > compare.tolerance) return `${path}: ${y} is not within ${compare.tolerance} of ${x}`
      return undefined
    }
    case "unordered": {
      if (expected.type !== actual.type || expected.line !== actual.line) return describeByteDifference(expected.raw, actual.raw)
      if (!expected.children || !actual.children) return expected.raw.equals(actual.raw) ? undefined : describeByteDifference(expected.raw, actual.raw)
      const items = (frame: Frame) => {
        const children = frame.children!
        const out: Array<Buffer> = []
        const step = frame.type === "%" ? 2 : 1
        for (let i = 0; i < children.length; i += step) out.push(Buffer.concat(children.slice(i, i + step).map((c) => c.raw)))
        return out.sort(Buffer.compare)
      }
      const e = items(expected)
      const a = items(actual)
      for (let i = 0; i < e.length; i++) {
        if (!e[i].equals(a[i])) return `${path}: as sorted multisets, element ${i} differs: ${show(e[i], 200)} vs ${show(a[i], 200)}`
      }
      return undefined
    }
  }
}

const compareShape = (expected: Frame, actual: Frame, path: string): string | undefined => {
  if (expected.type !== actual.type) return `${path}: ${typeName[expected.type]} expected, got ${typeName[actual.type]}`
  if (expected.data !== undefined && (expected.data === null) !== (actual.data === null)) return `${path}: null and non-null ${typeName[expected.type]}`
  if (expected.type === "=" && expected.data && actual.data && !expected.data.subarray(0, 4).equals(actual.data.subarray(0, 4))) {
    return `${path}: verbatim format ${show(expected.data.subarray(0, 4))} expected, got ${show(actual.data.subarray(0, 4))}`
  }
  if (expected.children !== undefined) {
    if ((expected.children === null) !== (actual.children === null)) return `${path}: null and non-null ${typeName[expected.type]}`
    if (expected.children && actual.children) {
      if (expected.children.length !== actual.children.length) {
        return `${path}: ${typeName[expected.type]} of ${expected.children.length} elements expected, got ${actual.children.length}`
      }
      for (let i = 0; i < expected.children.length; i++) {
        const difference = compareShape(expected.children[i], actual.children[i], `${path}[${i}]`)
        if (difference !== undefined) return difference
      }
    }
  }
  if ((expected.attribute === undefined) !== (actual.attribute === undefined)) return `${path}: attribute on one side only`
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Full SCAN iterations

type ScanResult =
  | { readonly kind: "elements"; readonly elements: ReadonlyArray<Buffer>; readonly calls: number }
  /** The first reply that is not a well-formed scan page (an error), compared exactly. */
  | { readonly kind: "reply"; readonly frame: Frame; readonly calls: number }

const MAX_SCAN_CALLS = 10_000

const scanToEnd = async (connection: WireConnection, step: ScanStep): Promise<ScanResult> => {
  let cursor = "0"
  const seen = new Map<string, Buffer>()
  for (let calls = 1; calls <= MAX_SCAN_CALLS; calls++) {
    const frame = await connection.call(...step.scan, cursor, ...(step.args ?? []))
    const page = frame.children
    const isPage = frame.type === "*" && page?.length === 2 && page[0].type === "$" && page[0].data && page[1].type === "*" && page[1].children
    if (!isPage) return { kind: "reply", frame, calls }
    const items = page[1].children!
    const width = step.pairs ? 2 : 1
    if (items.length % width !== 0) return { kind: "reply", frame, calls }
    for (let i = 0; i < items.length; i += width) {
      const element = Buffer.concat(items.slice(i, i + width).map((item) => item.raw))
      // A full iteration may return an element more than once: compare sets.
      seen.set(element.toString("latin1"), element)
    }
    cursor = page[0].data!.toString("latin1")
    if (cursor === "0") return { kind: "elements", elements: [...seen.values()].sort(Buffer.compare), calls }
  }
  throw new Error(`${argvText(step.scan)} did not finish within ${MAX_SCAN_CALLS} calls`)
}

const compareScans = (ref: ScanResult, sub: ScanResult, options: RunOptions): string | undefined => {
  const r = options.reference.label.padEnd(16)
  const s = options.subject.label.padEnd(16)
  if (ref.kind === "reply" || sub.kind === "reply") {
    if (ref.kind === "reply" && sub.kind === "reply" && ref.calls === sub.calls && ref.frame.raw.equals(sub.frame.raw)) return undefined
    const describe = (x: ScanResult) => (x.kind === "reply" ? `call ${x.calls} answered ${show(x.frame.raw)}` : `${x.elements.length} elements in ${x.calls} calls`)
    return `    not both well-formed iterations\n    ${r} ${describe(ref)}\n    ${s} ${describe(sub)}`
  }
  const want = new Set(ref.elements.map((e) => e.toString("latin1")))
  const got = new Set(sub.elements.map((e) => e.toString("latin1")))
  const missing = [...want].filter((e) => !got.has(e))
  const extra = [...got].filter((e) => !want.has(e))
  if (missing.length === 0 && extra.length === 0) return undefined
  const list = (xs: Array<string>) => xs.slice(0, 10).map((x) => show(Buffer.from(x, "latin1"), 80)).join(", ") + (xs.length > 10 ? `, … (${xs.length})` : "")
  return `    the iterations returned different elements (${ref.elements.length} vs ${sub.elements.length})` +
    `\n    only from ${options.reference.label}: ${list(missing)}\n    only from ${options.subject.label}: ${list(extra)}`
}
