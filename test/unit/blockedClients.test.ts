/**
 * The node's registry of blocked clients (src/node/BlockedClients.ts) as a pure state machine:
 * who waits, in which order they are proposed again, how many per key, what a retry's outcome
 * does, timeouts (an attempt in flight decides), departures; and a connection's command order
 * around a blocking command (src/server/ConnectionOrder.ts).
 */
import { describe, expect, it } from "vitest"
import { SOURCE_WRONGTYPE, TIMED_OUT, WOULD_BLOCK, type BlockingCall } from "../../src/commands/blocking.js"
import { KeyType } from "../../src/commands/keyspace/meta.js"
import type { Argv } from "../../src/commands/registry.js"
import type { StateRequest } from "../../src/commands/session.js"
import { BlockedClients, type Waiter } from "../../src/node/BlockedClients.js"
import { writeOvertaken, writeTimedOut } from "../../src/node/clientErrors.js"
import type { KvServiceApi } from "../../src/node/KvService.js"
import { array, bulk, OK, type Reply } from "../../src/resp/Reply.js"
import { ConnectionOrder } from "../../src/server/ConnectionOrder.js"

const b = (text: string) => Buffer.from(text)
const text = (argv: Argv) => argv.map((arg) => Buffer.from(arg).toString()).join(" ")

/** BLPOP over `keys`, waiting `timeoutMs` (0: forever). */
const blpop = (keys: ReadonlyArray<string>, timeoutMs = 0, db = 0): BlockingCall => ({
  db,
  argv: [b("BLPOP"), ...keys.map(b), b(String(timeoutMs / 1000))],
  sources: keys.map((_, i) => i + 1),
  waitsFor: KeyType.List,
  timeoutMs
})

const setup = () => {
  const proposed: Array<string> = []
  const answers: Array<string> = []
  const registry = new BlockedClients((waiter, argv) => proposed.push(`${waiter.id}: ${text(argv)}`))
  let ids = 0
  const controllers = new Map<number, AbortController>()
  const waiter = (call: BlockingCall, now = 0): Waiter => {
    const id = ++ids
    const controller = new AbortController()
    controllers.set(id, controller)
    return {
      id,
      call,
      deadline: call.timeoutMs === 0 ? Number.POSITIVE_INFINITY : now + call.timeoutMs,
      replyTo: (reply) => answers.push(`${id}: ${reply._tag === "Error" ? reply.message : reply._tag === "Array" && reply.value === null ? "timed out" : "served"}`),
      signal: controller.signal
    }
  }
  /** A ready key and what it holds. */
  const wake = (key: string, size: number, type: KeyType | "nothing" = KeyType.List, db = 0) => {
    const keys = registry.keysToCheck([{ db, key: b(key) }])
    registry.wake(keys.map((k) => ({ ...k, type: type === "nothing" ? undefined : type, size })))
  }
  return { registry, proposed, answers, waiter, wake, abort: (id: number) => controllers.get(id)!.abort() }
}

const SERVED: Reply = array([bulk(b("k")), bulk(b("v"))])

describe("the blocked clients registry", () => {
  it("a client released while only waiting gets the timeout reply at once; one with an attempt in flight gets what the attempt popped", () => {
    const { registry, proposed, answers, waiter, wake } = setup()
    const idle = waiter(blpop(["a"]))
    const popping = waiter(blpop(["k"]))
    registry.attempted(idle, WOULD_BLOCK, 0)
    registry.attempted(popping, WOULD_BLOCK, 0)
    wake("k", 1)
    expect(proposed).toEqual(["2: BLPOP k 0"])
    // The connections close gracefully (KvService moves the deadline to now, then releases).
    idle.deadline = 5
    registry.release(idle.id)
    popping.deadline = 5
    registry.release(popping.id)
    expect(answers).toEqual(["1: timed out"])
    // The pop already in the log took the element: it is delivered, not lost.
    registry.attempted(popping, SERVED, 6)
    expect(answers).toEqual(["1: timed out", "2: served"])
    expect(registry.count).toBe(0)
  })

  it("CLIENT UNBLOCK ERROR: a client only waiting gets the error at once; one whose pop is in flight gets what it popped, or the error if it found nothing", () => {
    const { registry, answers, waiter, wake } = setup()
    const unblock = (client: Waiter) => {
      client.endReply = { _tag: "Error", message: "UNBLOCKED client unblocked via CLIENT UNBLOCK" }
      client.deadline = 5
      registry.release(client.id)
    }
    const idle = waiter(blpop(["a"]))
    const popping = waiter(blpop(["k"]))
    const empty = waiter(blpop(["e"]))
    for (const client of [idle, popping, empty]) registry.attempted(client, WOULD_BLOCK, 0)
    wake("k", 1)
    wake("e", 1)
    for (const client of [idle, popping, empty]) unblock(client)
    expect(answers).toEqual(["1: UNBLOCKED client unblocked via CLIENT UNBLOCK"])
    registry.attempted(popping, SERVED, 6)
    registry.attempted(empty, WOULD_BLOCK, 6)
    expect(answers).toEqual(["1: UNBLOCKED client unblocked via CLIENT UNBLOCK", "2: served", "3: UNBLOCKED client unblocked via CLIENT UNBLOCK"])
    expect(registry.count).toBe(0)
  })

  it("a released client whose attempt in flight found the list empty again gets the timeout reply, not another wait", () => {
    const { registry, answers, waiter, wake } = setup()
    const client = waiter(blpop(["k"]))
    registry.attempted(client, WOULD_BLOCK, 0)
    wake("k", 1)
    client.deadline = 5
    registry.release(client.id)
    expect(answers).toEqual([])
    registry.attempted(client, WOULD_BLOCK, 6)
    expect(answers).toEqual(["1: timed out"])
    expect(registry.count).toBe(0)
  })

  it("keeps a client whose attempt would block, and answers one whose attempt popped", () => {
    const { registry, answers, waiter } = setup()
    const blocked = waiter(blpop(["k"]))
    registry.attempted(blocked, WOULD_BLOCK, 0)
    expect(registry.count).toBe(1)
    expect(answers).toEqual([])
    const lucky = waiter(blpop(["k"]))
    registry.attempted(lucky, SERVED, 0)
    expect(answers).toEqual(["2: served"])
    expect(registry.count).toBe(1)
  })

  it("wakes the clients of a key in the order they blocked, as many as it holds elements, less attempts in flight", () => {
    const { registry, proposed, waiter, wake } = setup()
    const clients = [waiter(blpop(["k"])), waiter(blpop(["k"])), waiter(blpop(["k"]))]
    for (const client of clients) registry.attempted(client, WOULD_BLOCK, 0)
    wake("k", 1)
    expect(proposed).toEqual(["1: BLPOP k 0"])
    // Two elements now, one already claimed by client 1's attempt in flight: one more.
    wake("k", 2)
    expect(proposed).toEqual(["1: BLPOP k 0", "2: BLPOP k 0"])
    wake("k", 0)
    expect(proposed).toHaveLength(2)
    // Client 1 found nothing (another node's client was faster): it waits again, in first place;
    // client 2 was served.
    registry.attempted(clients[0], WOULD_BLOCK, 0)
    registry.attempted(clients[1], SERVED, 0)
    wake("k", 1)
    expect(proposed).toEqual(["1: BLPOP k 0", "2: BLPOP k 0", "1: BLPOP k 0"])
  })

  it("proposes a woken client with the ready key first, and only for the type it waits for", () => {
    const { registry, proposed, waiter, wake } = setup()
    registry.attempted(waiter(blpop(["a", "b", "c"])), WOULD_BLOCK, 0)
    wake("b", 3, KeyType.ZSet)
    wake("b", 3, "nothing")
    expect(proposed).toEqual([])
    wake("c", 1)
    expect(proposed).toEqual(["1: BLPOP c a b 0"])
  })

  it("a retry that meets a key of another type keeps waiting; a first attempt reports it", () => {
    const { registry, answers, proposed, waiter, wake } = setup()
    const first = waiter(blpop(["k"]))
    registry.attempted(first, SOURCE_WRONGTYPE, 0)
    expect(answers).toEqual(["1: WRONGTYPE Operation against a key holding the wrong kind of value"])
    const waiting = waiter(blpop(["k"]))
    registry.attempted(waiting, WOULD_BLOCK, 0)
    wake("k", 1)
    registry.attempted(waiting, SOURCE_WRONGTYPE, 0)
    expect(answers).toHaveLength(1)
    expect(registry.count).toBe(1)
    wake("k", 1)
    expect(proposed).toEqual(["2: BLPOP k 0", "2: BLPOP k 0"])
  })

  it("proposes again at once an attempt overtaken in a leader change (it never applied)", () => {
    const { registry, proposed, answers, waiter } = setup()
    const client = waiter(blpop(["k"]))
    registry.attempted(client, writeOvertaken, 0)
    expect(proposed).toEqual(["1: BLPOP k 0"])
    expect(answers).toEqual([])
  })

  it("times out a waiting client at its deadline; an attempt in flight then decides", () => {
    const { registry, answers, waiter, wake } = setup()
    const quiet = waiter(blpop(["q"], 1000), 0)
    const busy = waiter(blpop(["k"], 1000), 0)
    const unlucky = waiter(blpop(["k"], 1000), 0)
    for (const client of [quiet, busy, unlucky]) registry.attempted(client, WOULD_BLOCK, 10)
    expect(registry.nextDeadline()).toBe(1000)
    wake("k", 2)
    registry.expire(999)
    expect(answers).toEqual([])
    registry.expire(1000)
    expect(answers).toEqual(["1: timed out"])
    // The attempts in flight at the deadline decide: one popped, one found nothing.
    registry.attempted(busy, SERVED, 1005)
    registry.attempted(unlucky, WOULD_BLOCK, 1006)
    expect(answers).toEqual(["1: timed out", "2: served", "3: timed out"])
    expect(registry.count).toBe(0)
    expect(registry.nextDeadline()).toBeUndefined()
  })

  it("an attempt that fails (no quorum) ends the wait with its error", () => {
    const { registry, answers, waiter, wake } = setup()
    const client = waiter(blpop(["k"]))
    registry.attempted(client, WOULD_BLOCK, 0)
    wake("k", 1)
    registry.attempted(client, writeTimedOut(5000), 0)
    expect(answers[0]).toMatch(/^1: CLUSTERDOWN/)
    expect(registry.count).toBe(0)
  })

  it("forgets a client whose connection closed, also when its attempt comes back later", () => {
    const { registry, answers, proposed, waiter, wake, abort } = setup()
    const gone = waiter(blpop(["k"]))
    const next = waiter(blpop(["k"]))
    registry.attempted(gone, WOULD_BLOCK, 0)
    registry.attempted(next, WOULD_BLOCK, 0)
    wake("k", 1)
    expect(proposed).toEqual(["1: BLPOP k 0"])
    abort(gone.id)
    registry.cancel(gone.id)
    registry.attempted(gone, WOULD_BLOCK, 0)
    expect(answers).toEqual([])
    expect(registry.count).toBe(1)
    // Its attempt was counted for k: k is checked again, and the next client goes.
    wake("k", 1)
    expect(proposed).toEqual(["1: BLPOP k 0", "2: BLPOP k 0"])
    // A first attempt of a client already gone is not registered.
    const never = waiter(blpop(["k"]))
    abort(never.id)
    registry.attempted(never, WOULD_BLOCK, 0)
    expect(registry.count).toBe(1)
  })

  it("checks its keys again when a retry takes nothing: an element that arrived meanwhile is not left waiting", () => {
    const { registry, proposed, waiter, wake } = setup()
    const many = waiter(blpop(["k1", "s", "k3"]))
    const onK3 = waiter(blpop(["k3"]))
    registry.attempted(many, WOULD_BLOCK, 0)
    registry.attempted(onK3, WOULD_BLOCK, 0)
    wake("k1", 1)
    // k3 receives an element (k1's, moved) while client 1's retry is in flight: counted for it.
    wake("k3", 1)
    expect(proposed).toEqual(["1: BLPOP k1 s k3 0"])
    // The retry finds k1 empty and s a string: client 1 waits again, and k3 is looked at again.
    registry.attempted(many, SOURCE_WRONGTYPE, 0)
    const again = registry.keysToCheck([])
    expect(again.map((key) => key.id).sort()).toEqual(["0:k1", "0:k3", "0:s"])
    registry.wake(again.map((key) => ({ ...key, type: key.id === "0:k3" ? KeyType.List : key.id === "0:s" ? KeyType.String : undefined, size: key.id === "0:k3" ? 1 : 0 })))
    // Client 1 blocked on k3 first: it is proposed again, served from k3.
    expect(proposed).toEqual(["1: BLPOP k1 s k3 0", "1: BLPOP k3 k1 s 0"])
    expect(registry.count).toBe(2)
  })

  it("checks a key again when a client counted for it was served elsewhere", () => {
    const { registry, proposed, waiter, wake } = setup()
    const both = waiter(blpop(["a", "b"]))
    const onB = waiter(blpop(["b"]))
    registry.attempted(both, WOULD_BLOCK, 0)
    registry.attempted(onB, WOULD_BLOCK, 0)
    wake("a", 1)
    // b receives one element while client 1's attempt (for a) is in flight: it is counted for b too.
    wake("b", 1)
    expect(proposed).toEqual(["1: BLPOP a b 0"])
    // Client 1 was served from a: b still holds its element, and client 2 waits on it.
    registry.attempted(both, SERVED, 0)
    const again = registry.keysToCheck([])
    expect(again.map((key) => key.id)).toEqual(["0:b"])
    registry.wake(again.map((key) => ({ ...key, type: KeyType.List, size: 1 })))
    expect(proposed).toEqual(["1: BLPOP a b 0", "2: BLPOP b 0"])
  })

  it("keys of different databases are different keys; wakeAll proposes every waiting client", () => {
    const { registry, proposed, waiter, wake } = setup()
    registry.attempted(waiter(blpop(["k"], 0, 1)), WOULD_BLOCK, 0)
    registry.attempted(waiter(blpop(["k"], 0, 0)), WOULD_BLOCK, 0)
    wake("k", 5, KeyType.List, 0)
    expect(proposed).toEqual(["2: BLPOP k 0"])
    registry.wakeAll()
    expect(proposed).toEqual(["2: BLPOP k 0", "1: BLPOP k 0"])
  })
})

describe("a connection's command order around a blocking command", () => {
  const fakeKv = () => {
    const started: Array<string> = []
    const pending = new Map<string, (reply: Reply) => void>()
    let cancelled = 0
    let released = 0
    const name = (request: StateRequest) =>
      request.kind === "block" ? text(request.call.argv) : request.kind === "write" && request.payload.kind === "command" ? text(request.payload.argv) : request.kind === "read" && request.request.kind === "command" ? text(request.request.argv) : "?"
    const track = (request: StateRequest, replyTo: (reply: Reply) => void) => {
      started.push(name(request))
      pending.set(name(request), replyTo)
    }
    const kv = {
      submitWrite: (payload, replyTo) => track({ kind: "write", payload }, replyTo),
      submitRead: (request, replyTo) => track({ kind: "read", request, mode: "linearizable" }, replyTo),
      submitBlocking: (call, replyTo) => {
        track({ kind: "block", call }, replyTo)
        return { cancel: () => cancelled++, release: () => released++, unblock: () => released++ }
      }
    } as Pick<KvServiceApi, "submitWrite" | "submitRead" | "submitBlocking"> as KvServiceApi
    return { kv, started, answer: (command: string) => pending.get(command)!(OK), cancelled: () => cancelled, released: () => released }
  }
  const write = (command: string): StateRequest => ({ kind: "write", payload: { kind: "command", db: 0, argv: command.split(" ").map(b) } })
  const block = (command: string): StateRequest => ({ kind: "block", call: { ...blpop(["k"]), argv: command.split(" ").map(b) } })

  it("a blocking command waits for the commands before it, and the ones after it wait for its answer", () => {
    const { kv, started, answer } = fakeKv()
    const order = new ConnectionOrder(kv, (defect) => {
      throw defect
    })
    const done = () => {}
    order.submit(write("RPUSH a 1"), done)
    order.submit(block("BLPOP k 0"), done)
    order.submit(write("RPUSH k 1"), done)
    order.submit(write("RPUSH k 2"), done)
    expect(started).toEqual(["RPUSH a 1"])
    answer("RPUSH a 1")
    expect(started).toEqual(["RPUSH a 1", "BLPOP k 0"])
    answer("BLPOP k 0")
    expect(started).toEqual(["RPUSH a 1", "BLPOP k 0", "RPUSH k 1", "RPUSH k 2"])
  })

  it("while clients are blocked on the node, a write that may take elements waits for the writes before it; pushes still pipeline", () => {
    const { kv: base, started, answer } = fakeKv()
    let blockedHere = 0
    const kv = { ...base, blockedClients: () => blockedHere }
    const order = new ConnectionOrder(kv, (defect) => {
      throw defect
    })
    const done = () => {}
    order.submit(write("RPUSH k 1"), done)
    order.submit(write("LPOP k"), done)
    expect(started).toEqual(["RPUSH k 1", "LPOP k"])
    answer("RPUSH k 1")
    answer("LPOP k")
    blockedHere = 1
    order.submit(write("RPUSH k 2"), done)
    order.submit(write("LPUSH k 3"), done)
    order.submit(write("LPOP k"), done)
    order.submit(write("RPUSH k 4"), done)
    expect(started.slice(2)).toEqual(["RPUSH k 2", "LPUSH k 3"])
    answer("RPUSH k 2")
    expect(started.slice(2)).toEqual(["RPUSH k 2", "LPUSH k 3"])
    answer("LPUSH k 3")
    expect(started.slice(2)).toEqual(["RPUSH k 2", "LPUSH k 3", "LPOP k", "RPUSH k 4"])
  })

  it("a blocking command still waiting behind others when the connection closes never starts", () => {
    const { kv, started, answer, cancelled } = fakeKv()
    const order = new ConnectionOrder(kv, (defect) => {
      throw defect
    })
    order.submit(write("RPUSH a 1"), () => {})
    order.submit(block("BLPOP k 0"), () => {})
    order.close()
    answer("RPUSH a 1")
    expect(started).toEqual(["RPUSH a 1"])
    expect(cancelled()).toBe(0)
  })

  it("closing the connection cancels the blocking command and drops what waits behind it", () => {
    const { kv, started, cancelled } = fakeKv()
    const order = new ConnectionOrder(kv, (defect) => {
      throw defect
    })
    order.submit(block("BLPOP k 0"), () => {})
    order.submit(write("RPUSH k 1"), () => {})
    order.close()
    expect(cancelled()).toBe(1)
    expect(started).toEqual(["BLPOP k 0"])
  })

  it("a connection closing after its replies releases the blocking command in flight, and answers one still queued as timed out", () => {
    const { kv, started, released, cancelled } = fakeKv()
    const order = new ConnectionOrder(kv, (defect) => {
      throw defect
    })
    order.submit(block("BLPOP k 0"), () => {})
    order.release()
    expect(released()).toBe(1)
    expect(cancelled()).toBe(0)

    const queued = fakeKv()
    const second = new ConnectionOrder(queued.kv, (defect) => {
      throw defect
    })
    const replies: Array<Reply> = []
    second.submit(write("SET a 1"), (reply) => replies.push(reply))
    second.submit(block("BLPOP k 0"), (reply) => replies.push(reply))
    second.release()
    queued.answer("SET a 1")
    expect(queued.started).toEqual(["SET a 1"])
    expect(replies).toEqual([OK, TIMED_OUT])
    expect(started).toEqual(["BLPOP k 0"])
  })
})
