/**
 * A linearizability checker for key-value histories (Wing & Gong's search with Lowe's
 * memoization, as in Porcupine), partitioned per key. Operations that timed out are
 * indeterminate: they may have taken effect at any time after their call, or never; give them
 * `returned: Infinity` and no output.
 */

import type { Reply } from "../../src/resp/Reply.js"

export type KvInput =
  | { readonly op: "get" }
  | { readonly op: "set"; readonly value: string }
  | { readonly op: "del" }
  | { readonly op: "incr" }

/** The output a history records for a successful reply (errors are recorded as indeterminate). */
export const outputOf = (input: KvInput, reply: Reply): string | number | null | undefined => {
  switch (reply._tag) {
    case "Bulk":
      return reply.value === null ? null : Buffer.from(reply.value).toString()
    case "Integer":
      return Number(reply.value)
    default:
      return input.op === "set" ? "OK" : undefined
  }
}

export interface KvOperation {
  readonly key: string
  readonly input: KvInput
  /** get: the value or null; del: keys removed; incr: the new value; set: ignored. */
  readonly output?: string | number | null
  readonly called: number
  /** Infinity for an operation whose outcome is unknown (a timeout). */
  readonly returned: number
}

type State = string | null

/** One step of the register model: the new state, or undefined if the output is impossible. */
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
      const current = state === null ? 0 : Number(state)
      if (!Number.isInteger(current)) return known ? undefined : state
      return !known || operation.output === current + 1 ? String(current + 1) : undefined
    }
  }
}

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
        const key = `${linearized.join("")}|${next === null ? "\u0000null" : next}`
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
