/**
 * A linearizability checker for key-value histories (Wing & Gong's search with Lowe's
 * memoization, as in Porcupine), partitioned per key. Operations that timed out are
 * indeterminate: they may have taken effect at any time after their call, or never; give them
 * `returned: Infinity` and no output.
 *
 * Two models, one per key: a register (GET, SET, DEL, INCR) and a list (LPUSH, RPUSH, RPOP,
 * LRANGE, and BLPOP: served, it pops the head at some point of its interval; timed out, it saw
 * the list empty at some point of it).
 */

import type { Reply } from "../../src/resp/Reply.js"

export type KvInput =
  | { readonly op: "get" }
  | { readonly op: "set"; readonly value: string }
  | { readonly op: "del" }
  | { readonly op: "incr" }
  | { readonly op: "lpush"; readonly value: string }
  | { readonly op: "rpush"; readonly value: string }
  | { readonly op: "rpop" }
  | { readonly op: "lrange" }
  | { readonly op: "blpop" }

export type Output = string | number | null | ReadonlyArray<string>

const text = (reply: Reply): string | undefined => (reply._tag === "Bulk" && reply.value !== null ? Buffer.from(reply.value).toString() : undefined)

/** The output a history records for a successful reply (errors are recorded as indeterminate). */
export const outputOf = (input: KvInput, reply: Reply): Output | undefined => {
  switch (reply._tag) {
    case "Bulk":
      return reply.value === null ? null : Buffer.from(reply.value).toString()
    case "Integer":
      return Number(reply.value)
    case "Array":
      // LRANGE: the elements; BLPOP: [key, element], or null when it timed out.
      if (reply.value === null) return null
      if (input.op === "blpop") return reply.value.length === 2 ? text(reply.value[1]) : undefined
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

/** A register's value, or a list's elements (a list key starts, and ends when emptied, as null). */
type State = string | null | ReadonlyArray<string>

const sameList = (a: ReadonlyArray<string>, b: Output | undefined): boolean =>
  Array.isArray(b) && a.length === b.length && a.every((item, i) => item === b[i])

/** One step of the list model: the new state, or undefined if the output is impossible. */
const listStep = (state: State, operation: KvOperation, known: boolean): State | undefined => {
  if (typeof state === "string") return undefined
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

/** One step of the model: the new state, or undefined if the output is impossible. */
const step = (state: State, operation: KvOperation): State | undefined => {
  const known = operation.returned !== Number.POSITIVE_INFINITY && operation.output !== undefined
  switch (operation.input.op) {
    case "get":
      return !known || operation.output === state ? state : undefined
    case "set":
      return operation.input.value
    case "del":
      return !known || operation.output === (state === null ? 0 : 1) ? null : undefined
    case "incr": {
      if (Array.isArray(state)) return undefined
      const current = state === null ? 0 : Number(state)
      if (!Number.isInteger(current)) return known ? undefined : state
      return !known || operation.output === current + 1 ? String(current + 1) : undefined
    }
    default:
      return listStep(state, operation, known)
  }
}

const stateKey = (state: State): string => (state === null ? "\u0000null" : typeof state === "string" ? state : `\u0001${JSON.stringify(state)}`)

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
  const stack: Array<{ call: Event; state: State }> = []
  let state: State = null
  let entry = head.next
  while (head.next !== undefined) {
    if (entry === undefined) return false
    if (entry.kind === "call") {
      const next = step(state, operations[entry.id])
      if (next !== undefined) {
        linearized[entry.id] = 1
        const key = `${linearized.join("")}|${stateKey(next)}`
        if (!seen.has(key)) {
          seen.add(key)
          stack.push({ call: entry, state })
          state = next
          lift(entry)
          entry = head.next
          continue
        }
        linearized[entry.id] = 0
      }
      entry = entry.next
    } else {
      // A return whose call is not linearized yet: undo the last choice and try the next one.
      const top = stack.pop()
      if (top === undefined) return false
      state = top.state
      linearized[top.call.id] = 0
      unlift(top.call)
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
