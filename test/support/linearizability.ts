/**
 * A linearizability checker for key-value histories (Wing & Gong's search with Lowe's
 * memoization, as in Porcupine), partitioned per key. Operations that timed out are
 * indeterminate: they may have taken effect at any time after their call, or never; give them
 * `returned: Infinity` and no output.
 *
 * Two models, one per key: a register (GET, SET, DEL, INCR) and a list (LPUSH, RPUSH, RPOP,
 * LRANGE, and BLPOP: served, it pops the head at some point of its interval; timed out, it saw
 * the list empty at some point of it).
 *
 * The register also models expiry, transactions and WATCH:
 * - `SET k v PX ttl` expires at (its effective time + ttl), an instant the model only knows to lie
 *   in [call + ttl, return + ttl]. An operation happens at some instant of its own interval, so on
 *   an expiring key it may find the key alive (if call < the latest possible expiry; the model then
 *   learns the expiry is after the call) or gone (if return >= the earliest possible expiry; the key
 *   is then gone for good). Times must be the nodes' own (no clock drift in such runs).
 * - a transaction (MULTI, register commands, EXEC) is one operation: its commands happen at the
 *   same instant, nothing between them;
 * - WATCH k, GET k, MULTI, SET k v, EXEC is a check-and-set: when EXEC succeeds the key still held
 *   the value the GET saw (nothing modified it since the WATCH) and now holds v.
 * Searching with a model that has several possible next states (alive or gone) is what makes the
 * check sound for expiry.
 */

import type { Reply } from "../../src/resp/Reply.js"

/** The register commands a transaction may hold. */
export type RegisterInput =
  | { readonly op: "get" }
  | { readonly op: "set"; readonly value: string; readonly ttlMs?: number }
  | { readonly op: "del" }
  | { readonly op: "incr" }

export type KvInput =
  | RegisterInput
  | { readonly op: "tx"; readonly commands: ReadonlyArray<RegisterInput> }
  | { readonly op: "cas"; readonly expected: string | null; readonly value: string }
  | { readonly op: "lpush"; readonly value: string }
  | { readonly op: "rpush"; readonly value: string }
  | { readonly op: "rpop" }
  | { readonly op: "lrange" }
  | { readonly op: "blpop" }

export type Output = string | number | null | ReadonlyArray<string> | ReadonlyArray<string | number | null>

const text = (reply: Reply): string | undefined => (reply._tag === "Bulk" && reply.value !== null ? Buffer.from(reply.value).toString() : undefined)

/** The output a history records for a successful reply (errors are recorded as indeterminate). */
export const outputOf = (input: KvInput, reply: Reply): Output | undefined => {
  switch (reply._tag) {
    case "Bulk":
      return reply.value === null ? null : Buffer.from(reply.value).toString()
    case "Integer":
      return Number(reply.value)
    case "Array":
      // LRANGE: the elements; BLPOP: [key, element], or null when it timed out; a transaction:
      // each command's output; a check-and-set: "OK" when EXEC applied it, null when it aborted.
      if (reply.value === null) return null
      if (input.op === "blpop") return reply.value.length === 2 ? text(reply.value[1]) : undefined
      if (input.op === "cas") return "OK"
      if (input.op === "tx") {
        // A command that failed inside the transaction (INCR on a non-integer) shows as "ERR".
        const outputs = input.commands.map((command, i) => (reply.value![i]._tag === "Error" ? "ERR" : outputOf(command, reply.value![i])))
        return outputs.every((output) => output !== undefined && !Array.isArray(output)) ? (outputs as Array<string | number | null>) : undefined
      }
      return reply.value.map((item) => text(item) ?? "")
    default:
      return input.op === "set" ? "OK" : undefined
  }
}

export interface KvOperation {
  readonly key: string
  readonly input: KvInput
  /**
   * get: the value or null; del: keys removed; incr: the new value; set: ignored; pushes: the new
   * length; rpop, blpop: the element or null; lrange: the elements.
   */
  readonly output?: Output
  readonly called: number
  /** Infinity for an operation whose outcome is unknown (a timeout). */
  readonly returned: number
}

/**
 * A register's value with the bounds of its expiry instant (both Infinity: no expiry), or a
 * list's elements; a key that does not exist (never written, deleted, expired, emptied) is null.
 */
interface Register {
  readonly value: string
  readonly expiresFrom: number
  readonly expiresBy: number
}
type State = null | Register | ReadonlyArray<string>

const isRegister = (state: State): state is Register => state !== null && !Array.isArray(state)
const forever = (value: string): Register => ({ value, expiresFrom: Number.POSITIVE_INFINITY, expiresBy: Number.POSITIVE_INFINITY })

const sameList = (a: ReadonlyArray<string>, b: Output | undefined): boolean =>
  Array.isArray(b) && a.length === b.length && a.every((item, i) => item === b[i])

/** One step of the list model: the new state, or undefined if the output is impossible. */
const listStep = (state: State, operation: KvOperation, known: boolean): State | undefined => {
  if (isRegister(state)) return undefined
  const list: ReadonlyArray<string> = state ?? []
  const emptied = (next: ReadonlyArray<string>): State => (next.length === 0 ? null : next)
  switch (operation.input.op) {
    case "lpush":
    case "rpush": {
      const next = operation.input.op === "lpush" ? [operation.input.value, ...list] : [...list, operation.input.value]
      return !known || operation.output === next.length ? next : undefined
    }
    case "rpop":
      if (!known) return emptied(list.slice(0, -1))
      if (list.length === 0) return operation.output === null ? state : undefined
      return operation.output === list[list.length - 1] ? emptied(list.slice(0, -1)) : undefined
    case "blpop":
      if (!known) return emptied(list.slice(1))
      // Timed out: it saw the list empty at this point. Served: it popped the head here.
      if (operation.output === null) return list.length === 0 ? state : undefined
      return list.length > 0 && operation.output === list[0] ? emptied(list.slice(1)) : undefined
    case "lrange":
      return !known || sameList(list, operation.output) ? state : undefined
    default:
      return undefined
  }
}

/**
 * What the key may be at an instant of [called, returned]: alive (the expiry then lies after
 * `called`) or, if its expiry may already have come, gone.
 */
const atSomeInstant = (state: State, called: number, returned: number): Array<State> => {
  if (!isRegister(state) || state.expiresBy === Number.POSITIVE_INFINITY && state.expiresFrom === Number.POSITIVE_INFINITY) return [state]
  const possible: Array<State> = []
  if (called < state.expiresBy) possible.push({ ...state, expiresFrom: Math.max(state.expiresFrom, called + 1) })
  if (returned >= state.expiresFrom) possible.push(null)
  return possible
}

/** A register command at an instant where the key is `current`: the next state and the output it gives. */
const registerCommand = (current: State, input: RegisterInput, called: number, returned: number): { next: State; output: Output } | undefined => {
  if (Array.isArray(current)) return undefined
  const register = current as Register | null
  switch (input.op) {
    case "get":
      return { next: current, output: register?.value ?? null }
    case "set":
      return {
        next: input.ttlMs === undefined ? forever(input.value) : { value: input.value, expiresFrom: called + input.ttlMs, expiresBy: returned + input.ttlMs },
        output: "OK"
      }
    case "del":
      return { next: null, output: register === null ? 0 : 1 }
    case "incr": {
      // INCR keeps the key's expiry; on a value that is not an integer it fails, changing nothing.
      if (register !== null && !/^(0|-?[1-9][0-9]*)$/.test(register.value)) return { next: current, output: "ERR" }
      const value = register === null ? 0 : Number(register.value)
      return { next: register === null ? forever("1") : { ...register, value: String(value + 1) }, output: value + 1 }
    }
  }
}

/** The possible next states after `operation` (empty: its output is impossible from `state`). */
const successors = (state: State, operation: KvOperation): Array<State> => {
  const completed = operation.returned !== Number.POSITIVE_INFINITY
  const known = completed && operation.output !== undefined
  const { called, returned, input } = operation
  const out: Array<State> = []
  switch (input.op) {
    case "get":
    case "set":
    case "del":
    case "incr":
      for (const current of atSomeInstant(state, called, returned)) {
        const result = registerCommand(current, input, called, returned)
        if (result === undefined) continue
        if (!known || input.op === "set" || result.output === operation.output) out.push(result.next)
      }
      // An operation that timed out may also never have happened.
      if (!completed && input.op !== "get") out.push(state)
      return out
    case "tx":
      for (const current of atSomeInstant(state, called, returned)) {
        let next: State = current
        const outputs: Array<Output> = []
        let possible = true
        for (const command of input.commands) {
          const result = registerCommand(next, command, called, returned)
          if (result === undefined) {
            possible = false
            break
          }
          next = result.next
          outputs.push(result.output)
        }
        if (!possible) continue
        const expected = operation.output as ReadonlyArray<Output> | undefined
        if (!known || (Array.isArray(expected) && expected.length === outputs.length && outputs.every((output, i) => output === expected[i]))) out.push(next)
      }
      if (!completed) out.push(state)
      return out
    case "cas":
      // Aborted (a watched key changed, or the session was lost): nothing happened.
      if (known && operation.output === null) return [state]
      for (const current of atSomeInstant(state, called, returned)) {
        const value = isRegister(current) ? current.value : current === null ? null : undefined
        if (value === input.expected) out.push(forever(input.value))
      }
      if (!completed) out.push(state)
      return out
    default: {
      const next = listStep(state, operation, known)
      return next === undefined ? [] : [next]
    }
  }
}

const stateKey = (state: State): string =>
  state === null ? "\u0000null" : Array.isArray(state) ? `\u0001${JSON.stringify(state)}` : `${(state as Register).value}\u0002${(state as Register).expiresFrom}\u0002${(state as Register).expiresBy}`

interface Event {
  readonly id: number
  readonly kind: "call" | "return"
  readonly time: number
  prev: Event | undefined
  next: Event | undefined
  /** The call's return event (for call events). */
  match: Event | undefined
}

/** Whether the operations on one key can be ordered consistently with real time and the model. */
const checkKey = (operations: ReadonlyArray<KvOperation>): boolean => {
  const events: Array<Event> = []
  operations.forEach((operation, id) => {
    const call: Event = { id, kind: "call", time: operation.called, prev: undefined, next: undefined, match: undefined }
    const ret: Event = { id, kind: "return", time: operation.returned, prev: undefined, next: undefined, match: undefined }
    call.match = ret
    events.push(call, ret)
  })
  // Calls before returns at equal times: operations that touch in time may overlap.
  events.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === "call" ? -1 : 1))
  const head: Event = { id: -1, kind: "call", time: -Infinity, prev: undefined, next: undefined, match: undefined }
  let last = head
  for (const event of events) {
    last.next = event
    event.prev = last
    last = event
  }
  const lift = (call: Event) => {
    for (const event of [call, call.match!]) {
      event.prev!.next = event.next
      if (event.next) event.next.prev = event.prev
    }
  }
  const unlift = (call: Event) => {
    for (const event of [call.match!, call]) {
      event.prev!.next = event
      if (event.next) event.next.prev = event
    }
  }

  const linearized = new Uint8Array(operations.length)
  const seen = new Set<string>()
  /** Each linearized call, the state before it, and the other states it could have led to. */
  const stack: Array<{ call: Event; state: State; alternatives: Array<State> }> = []
  let state: State = null
  let entry = head.next
  /** Take the first state of `candidates` not explored yet with the same calls linearized. */
  const choose = (id: number, candidates: Array<State>): { next: State; rest: Array<State> } | undefined => {
    linearized[id] = 1
    const prefix = linearized.join("")
    while (candidates.length > 0) {
      const next = candidates.shift()!
      const key = `${prefix}|${stateKey(next)}`
      if (seen.has(key)) continue
      seen.add(key)
      return { next, rest: candidates }
    }
    linearized[id] = 0
    return undefined
  }
  while (head.next !== undefined) {
    if (entry === undefined) return false
    if (entry.kind === "call") {
      const chosen = choose(entry.id, successors(state, operations[entry.id]))
      if (chosen !== undefined) {
        stack.push({ call: entry, state, alternatives: chosen.rest })
        state = chosen.next
        lift(entry)
        entry = head.next
        continue
      }
      entry = entry.next
    } else {
      // A return whose call is not linearized yet: undo the last choice and try the next one.
      const top = stack.pop()
      if (top === undefined) return false
      state = top.state
      linearized[top.call.id] = 0
      unlift(top.call)
      const other = choose(top.call.id, top.alternatives)
      if (other !== undefined) {
        stack.push({ call: top.call, state, alternatives: other.rest })
        state = other.next
        lift(top.call)
        entry = head.next
        continue
      }
      entry = top.call.next
    }
  }
  return true
}

export interface CheckResult {
  readonly linearizable: boolean
  /** The first key whose history has no valid order. */
  readonly failingKey?: string
}

export const checkLinearizable = (history: ReadonlyArray<KvOperation>): CheckResult => {
  const byKey = new Map<string, Array<KvOperation>>()
  for (const operation of history) {
    const list = byKey.get(operation.key)
    if (list === undefined) byKey.set(operation.key, [operation])
    else list.push(operation)
  }
  for (const [key, operations] of byKey) if (!checkKey(operations)) return { linearizable: false, failingKey: key }
  return { linearizable: true }
}
