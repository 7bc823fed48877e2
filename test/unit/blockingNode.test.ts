/**
 * Blocking commands on real nodes (actors, WAL files, memory engine) in one process: clients wait
 * in their own node's registry, are woken by writes through any node, in the order they blocked
 * on that node, and their pops go through the log, so no element is handed out twice or lost,
 * also when the leader dies while they wait and while their pops are in flight.
 */
import { afterEach, describe, expect, it } from "vitest"
import { blockingCall } from "../../src/commands/blocking.js"
import { commandTable } from "../../src/commands/table.js"
import type { Reply } from "../../src/resp/Reply.js"
import { call, InProcessCluster, type InProcessNode } from "../support/inProcessCluster.js"
import { waitFor } from "../support/waitFor.js"

let cluster: InProcessCluster | undefined
afterEach(async () => {
  await cluster?.shutdown()
  cluster = undefined
})

/** A client of `node` running a blocking command; `reply` is set once it is answered. */
interface Blocked {
  readonly name: string
  readonly node: InProcessNode
  reply: Reply | undefined
  readonly cancel: () => void
}

const block = (node: InProcessNode, name: string, ...argv: Array<string>): Blocked => {
  const args = argv.map((arg) => Buffer.from(arg))
  const spec = commandTable.get(argv[0].toLowerCase())!
  const client: Blocked = {
    name,
    node,
    reply: undefined,
    cancel: node.kv.submitBlocking(blockingCall(spec.block!, 0, args), (reply) => {
      if (client.reply !== undefined) throw new Error(`${name} answered twice`)
      client.reply = reply
    }).cancel
  }
  return client
}

/** The element a BLPOP/BRPOP reply carries. */
const popped = (client: Blocked): string | undefined => {
  const reply = client.reply
  if (reply === undefined) return undefined
  if (reply._tag !== "Array" || reply.value === null || reply.value[1]._tag !== "Bulk") throw new Error(`${client.name} got ${JSON.stringify(reply)}`)
  return Buffer.from(reply.value[1].value!).toString()
}

const listOf = async (node: InProcessNode, key: string): Promise<Array<string>> => {
  const reply = await call(node, "read", "LRANGE", key, "0", "-1")
  if (reply._tag !== "Array" || reply.value === null) throw new Error(`LRANGE answered ${JSON.stringify(reply)}`)
  return reply.value.map((item) => (item._tag === "Bulk" ? Buffer.from(item.value!).toString() : "?"))
}

const blockedOn = (node: InProcessNode, count: number) =>
  waitFor(() => node.status.blockedClients === count, { timeoutMs: 5_000, description: () => `${count} blocked clients on node ${node.id} (${node.status.blockedClients})` })

describe("blocking commands on a 3-node cluster", () => {
  it("a push through another node wakes the clients of a follower in the order they blocked", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    const leader = await cluster.waitForLeader()
    const follower = [...cluster.nodes.values()].find((node) => node.id !== leader.id)!
    const clients = ["first", "second", "third"].map((name) => block(follower, name, "BLPOP", "q", "0"))
    await blockedOn(follower, 3)
    // One element: exactly one client, the first to block.
    expect(await call(leader, "write", "RPUSH", "q", "a")).toEqual({ _tag: "Integer", value: 1 })
    await waitFor(() => clients[0].reply !== undefined, { timeoutMs: 5_000, description: "the first client to be served" })
    await blockedOn(follower, 2)
    expect(clients.map(popped)).toEqual(["a", undefined, undefined])
    expect(await call(leader, "write", "RPUSH", "q", "b", "c", "d")).toEqual({ _tag: "Integer", value: 3 })
    await waitFor(() => clients.every((client) => client.reply !== undefined), { timeoutMs: 5_000, description: "every client to be served" })
    expect(clients.map(popped)).toEqual(["a", "b", "c"])
    expect(await listOf(leader, "q")).toEqual(["d"])
    expect(follower.status.blockedClients).toBe(0)
  })

  it("a command sent on the push's reply, on the blocked client's node, comes after the woken client's pop (leader and follower)", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    const leader = await cluster.waitForLeader()
    const follower = [...cluster.nodes.values()].find((node) => node.id !== leader.id)!
    for (const node of [leader, follower]) {
      const key = `q${node.id}`
      const waiting = block(node, "waiting", "BLPOP", key, "0")
      await blockedOn(node, 1)
      // RPUSH, then LPOP the moment its reply arrives (a pipeline's next command runs then).
      const lpop = new Promise<Reply>((resolve) =>
        node.kv.submitWrite({ kind: "command", db: 0, argv: [Buffer.from("RPUSH"), Buffer.from(key), Buffer.from("x")] }, () =>
          node.kv.submitWrite({ kind: "command", db: 0, argv: [Buffer.from("LPOP"), Buffer.from(key)] }, resolve)
        )
      )
      // Redis serves the blocked client before the pusher's next command: LPOP finds nothing.
      expect(await lpop).toEqual({ _tag: "Bulk", value: null })
      await waitFor(() => waiting.reply !== undefined, { timeoutMs: 5_000, description: "the blocked client to be served" })
      expect(popped(waiting)).toBe("x")
      // A newcomer's BLPOP sent on the push's reply waits behind the client already blocked.
      const first = block(node, "first", "BLPOP", key, "0")
      await blockedOn(node, 1)
      let newcomer: Blocked | undefined
      node.kv.submitWrite({ kind: "command", db: 0, argv: [Buffer.from("RPUSH"), Buffer.from(key), Buffer.from("y")] }, () => {
        newcomer = block(node, "newcomer", "BLPOP", key, "0")
      })
      await waitFor(() => first.reply !== undefined, { timeoutMs: 5_000, description: "the first blocked client to be served" })
      expect(popped(first)).toBe("y")
      await blockedOn(node, 1)
      expect(newcomer?.reply).toBeUndefined()
      newcomer!.cancel()
      await blockedOn(node, 0)
    }
  })

  it("two clients on two nodes and one push: exactly one gets the element, the other keeps waiting", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    const leader = await cluster.waitForLeader()
    const [one, two] = [...cluster.nodes.values()].filter((node) => node.id !== leader.id)
    const clients = [block(one, "on one", "BRPOP", "k", "0"), block(two, "on two", "BRPOP", "k", "0")]
    await blockedOn(one, 1)
    await blockedOn(two, 1)
    await call(leader, "write", "LPUSH", "k", "only")
    await waitFor(() => clients.some((client) => client.reply !== undefined), { timeoutMs: 5_000, description: "one client served" })
    // Both were woken (each node saw the push); the loser found the list empty and waits again.
    await waitFor(() => one.status.blockedClients + two.status.blockedClients === 1, { timeoutMs: 5_000, description: "the other client to wait again" })
    expect(clients.map(popped).filter((value) => value !== undefined)).toEqual(["only"])
    const waiting = clients.find((client) => client.reply === undefined)!
    await call(leader, "write", "LPUSH", "k", "next")
    await waitFor(() => waiting.reply !== undefined, { timeoutMs: 5_000, description: "the second client served by the next push" })
    expect(popped(waiting)).toBe("next")
  })

  it("a client's own timeout ends its wait with a null array, and no request timeout does", async () => {
    cluster = new InProcessCluster(3, { requestTimeoutMs: 300 })
    await cluster.startAll()
    const leader = await cluster.waitForLeader()
    // Timed from before the command is sent: its 0.6 s cannot end earlier than that, however late
    // this test notices the wait began.
    const started = Date.now()
    const forever = block(leader, "forever", "BLPOP", "k", "0")
    const short = block(leader, "short", "BLPOP", "k", "0.6")
    await blockedOn(leader, 2)
    await waitFor(() => short.reply !== undefined, { timeoutMs: 5_000, description: "the short timeout" })
    expect(Date.now() - started).toBeGreaterThanOrEqual(590)
    expect(short.reply).toEqual({ _tag: "Array", value: null })
    // Well past the request timeout (300 ms), the other client still waits.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(forever.reply).toBeUndefined()
    expect(leader.status.blockedClients).toBe(1)
    forever.cancel()
    await blockedOn(leader, 0)
    await call(leader, "write", "RPUSH", "k", "v")
    expect(await listOf(leader, "k")).toEqual(["v"])
  })

  /**
   * A client blocked with no timeout on a follower whose messages to the leader are cut, woken by
   * a push through the leader: its pop, proposed once the follower applied the push, is lost.
   */
  const wokenWithLostPop = async () => {
    const started = new InProcessCluster(3, { requestTimeoutMs: 300 })
    cluster = started
    await started.startAll()
    const leader = await started.waitForLeader()
    const follower = [...started.nodes.values()].find((node) => node.id !== leader.id)!
    const client = block(follower, "waiting", "BLPOP", "q", "0")
    await blockedOn(follower, 1)
    started.network.cutLink(follower.id, leader.id)
    expect(await call(leader, "write", "RPUSH", "q", "e1")).toEqual({ _tag: "Integer", value: 1 })
    const pushed = leader.status.appliedIndex
    await waitFor(() => follower.status.appliedIndex >= pushed, { timeoutMs: 5_000, description: "the follower to apply the push (and propose the pop)" })
    return { started, leader, follower, client }
  }

  it("a woken client's pop lost on its way to the leader is sent again: the client waits past the request timeout, then gets the element", async () => {
    // The follower hears the leader, but nothing it sends arrives.
    const { started, leader, client } = await wokenWithLostPop()
    // Three request timeouts later the client still waits: no CLUSTERDOWN ends a wait with no timeout.
    await new Promise((resolve) => setTimeout(resolve, 900))
    expect(client.reply).toBeUndefined()
    started.network.healAll()
    await waitFor(() => client.reply !== undefined, { timeoutMs: 5_000, description: "the pop sent again to reach the leader" })
    expect(popped(client)).toBe("e1")
    expect(await listOf(leader, "q")).toEqual([])
  })

  it("a client that goes away while its lost pop is in flight: the pop is not sent again, and the element stays in the list", async () => {
    const { started, leader, follower, client } = await wokenWithLostPop()
    client.cancel()
    // Three request timeouts with the link cut, then three with it healed: a pop sent again
    // would have reached the leader and committed by then.
    await new Promise((resolve) => setTimeout(resolve, 900))
    started.network.healAll()
    await new Promise((resolve) => setTimeout(resolve, 900))
    const applied = leader.status.appliedIndex
    await waitFor(() => follower.status.appliedIndex >= applied, { timeoutMs: 5_000, description: "the follower to catch up" })
    expect(client.reply).toBeUndefined()
    expect(await listOf(leader, "q")).toEqual(["e1"])
  })

  it("the leader dies with a woken client's pop and no leader is elected for longer than the request timeout: the client gets the element", async () => {
    // The pop goes to the leader, which dies without it.
    const { started, leader, follower: one, client } = await wokenWithLostPop()
    await started.stop(leader.id)
    // No leader until the two others hear each other again, three request timeouts later (an
    // election on a loaded machine: seconds).
    started.network.isolate(one.id, started.ids)
    await new Promise((resolve) => setTimeout(resolve, 900))
    expect(client.reply).toBeUndefined()
    started.network.healAll()
    await waitFor(() => client.reply !== undefined, { timeoutMs: 5_000, description: "the pop proposed again to the new leader" })
    expect(popped(client)).toBe("e1")
    expect(await listOf(await started.waitForLeader(), "q")).toEqual([])
  })

  it("the leader dies while clients wait and while their pops are in flight: no element is lost or handed out twice", async () => {
    cluster = new InProcessCluster(3)
    await cluster.startAll()
    const leader = await cluster.waitForLeader()
    const followers = [...cluster.nodes.values()].filter((node) => node.id !== leader.id)
    const clients = followers.flatMap((node) => [1, 2, 3].map((i) => block(node, `node ${node.id} client ${i}`, "BLPOP", "q", "0")))
    for (const node of followers) await blockedOn(node, 3)
    // Two elements, and the leader goes at once: the woken clients' pops are in flight.
    await call(leader, "write", "RPUSH", "q", "e1", "e2")
    await cluster.stop(leader.id)
    const next = await cluster.waitForLeader()
    const elements = Array.from({ length: 10 }, (_, i) => `e${i + 3}`)
    await call(next, "write", "RPUSH", "q", ...elements)
    await waitFor(() => clients.every((client) => client.reply !== undefined), {
      timeoutMs: 10_000,
      description: () => `every client to be served (${clients.filter((c) => c.reply === undefined).map((c) => c.name).join(", ")} still waiting)`
    })
    const handedOut = clients.map(popped) as Array<string>
    const left = await listOf(next, "q")
    expect(new Set(handedOut).size).toBe(handedOut.length)
    expect([...handedOut, ...left].sort()).toEqual(["e1", "e2", ...elements].sort())
    // Each node served its clients in the order they blocked.
    for (const node of followers) {
      const mine = clients.filter((client) => client.node === node).map(popped) as Array<string>
      expect(mine).toEqual([...mine].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))))
    }
  })
})
