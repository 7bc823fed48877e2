/**
 * CLUSTER, ROLE, READONLY/READWRITE and the RAFT.* administration commands on a command session
 * (test/support/commandRunner: the cluster view and the node's answers to administration requests
 * are the runner's). The CLUSTER replies are compared byte for byte with what redis-server 7.0.15
 * answers for one shard with all 16,384 slots, a master and its replicas (captured from a real
 * two-node redis cluster: `redis-server --cluster-enabled yes`, CLUSTER ADDSLOTSRANGE 0 16383,
 * CLUSTER REPLICATE), with raft-kv's ids and addresses.
 */
import { describe, expect, it } from "vitest"
import { nodeName } from "../../src/commands/cluster.js"
import type { ClusterView } from "../../src/commands/session.js"
import { CommandRunner } from "../support/commandRunner.js"

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`

/** A 3-voter cluster led by node 1, plus a learner (4) and a voter whose client address is not known yet (5). */
const view = (overrides: Partial<ClusterView> = {}): ClusterView => ({
  self: 2,
  leader: 1,
  term: 7,
  appliedIndex: 42,
  members: [
    { id: 1, suffrage: "voter", peerAddress: "10.0.0.1:12379", clientAddress: "10.0.0.1:6379", reachable: true },
    { id: 2, suffrage: "voter", peerAddress: "10.0.0.2:12379", clientAddress: "10.0.0.2:6379", reachable: true },
    { id: 3, suffrage: "voter", peerAddress: "10.0.0.3:12379", clientAddress: "10.0.0.3:6379", reachable: false },
    { id: 4, suffrage: "learner", peerAddress: "10.0.0.4:12379", clientAddress: "10.0.0.4:6379", reachable: true },
    { id: 5, suffrage: "voter", peerAddress: "10.0.0.5:12379", clientAddress: undefined, reachable: true }
  ],
  ...overrides
})

const setup = async (overrides: Partial<ClusterView> = {}) => {
  const runner = await CommandRunner.make()
  runner.clusterView = view(overrides)
  return { runner, client: runner.client() }
}

/** One node of CLUSTER SLOTS as redis-server 7.0 writes it: ip, port, id, an empty map of other endpoints. */
const slotNode = (id: number, ip: string, port: number, protocol: 2 | 3) =>
  `*4\r\n${bulk(ip)}:${port}\r\n${bulk(nodeName(id))}${protocol === 3 ? "%0\r\n" : "*0\r\n"}`

describe("CLUSTER", () => {
  it("names nodes with 40 hex characters, the same on every node for an id", async () => {
    expect(nodeName(1)).toMatch(/^[0-9a-f]{40}$/)
    expect(nodeName(1)).toBe(nodeName(1))
    expect(nodeName(1)).not.toBe(nodeName(2))
    const { client } = await setup()
    expect(await client.wire("CLUSTER", "MYID")).toBe(bulk(nodeName(2)))
  })

  it("SLOTS: one range, the leader as master, the other voters with a known address as replicas", async () => {
    const { client } = await setup()
    const body = `*5\r\n:0\r\n:16383\r\n${slotNode(1, "10.0.0.1", 6379, 2)}${slotNode(2, "10.0.0.2", 6379, 2)}${slotNode(3, "10.0.0.3", 6379, 2)}`
    expect(await client.wire("CLUSTER", "SLOTS")).toBe(`*1\r\n${body}`)
    await client.call("HELLO", "3")
    expect(await client.wire("CLUSTER", "SLOTS")).toBe(
      `*1\r\n*5\r\n:0\r\n:16383\r\n${slotNode(1, "10.0.0.1", 6379, 3)}${slotNode(2, "10.0.0.2", 6379, 3)}${slotNode(3, "10.0.0.3", 6379, 3)}`
    )
  })

  it("SLOTS without a known leader: this node as master (it forwards writes), so clients always have somewhere to go", async () => {
    const { client } = await setup({ leader: 0 })
    const reply = await client.wire("CLUSTER", "SLOTS")
    expect(reply.startsWith(`*1\r\n*5\r\n:0\r\n:16383\r\n${slotNode(2, "10.0.0.2", 6379, 2)}${slotNode(1, "10.0.0.1", 6379, 2)}`)).toBe(true)
    expect(await client.wire("CLUSTER", "INFO")).toContain("cluster_state:fail\r\n")
  })

  it("SHARDS: one shard, slots [0, 16383], each node's fields in redis-server's order", async () => {
    const { client } = await setup()
    await client.call("HELLO", "3")
    const node = (id: number, ip: string, role: string, health: string) =>
      `%7\r\n${bulk("id")}${bulk(nodeName(id))}${bulk("port")}:6379\r\n${bulk("ip")}${bulk(ip)}${bulk("endpoint")}${bulk(ip)}` +
      `${bulk("role")}${bulk(role)}${bulk("replication-offset")}:42\r\n${bulk("health")}${bulk(health)}`
    expect(await client.wire("CLUSTER", "SHARDS")).toBe(
      `*1\r\n%2\r\n${bulk("slots")}*2\r\n:0\r\n:16383\r\n${bulk("nodes")}*3\r\n` +
        node(1, "10.0.0.1", "master", "online") + node(2, "10.0.0.2", "replica", "online") + node(3, "10.0.0.3", "replica", "failed")
    )
  })

  it("NODES: one line per member; the master owns the slots, learners never fail over, unknown addresses are noaddr", async () => {
    const { client } = await setup()
    const text = await client.call("CLUSTER", "NODES")
    expect(text._tag).toBe("Verbatim")
    const lines = (text as { value: string }).value.split("\n")
    expect(lines.at(-1)).toBe("") // every line ends with \n, the last one too
    const fields = lines.slice(0, -1).map((line) => line.split(" "))
    expect(fields.map((f) => f.length)).toEqual([9, 8, 8, 8, 8])
    expect(fields[0].slice(0, 5)).toEqual([nodeName(1), "10.0.0.1:6379@12379", "master", "-", "0"])
    expect(fields[0].slice(6)).toEqual(["7", "connected", "0-16383"])
    expect(fields[1].slice(0, 4)).toEqual([nodeName(2), "10.0.0.2:6379@12379", "myself,slave", nodeName(1)])
    expect(fields[1][5]).toBe("0")
    expect(fields[2].slice(1, 3)).toEqual(["10.0.0.3:6379@12379", "slave,fail?"])
    expect(fields[2][7]).toBe("disconnected")
    expect(fields[3][2]).toBe("slave,nofailover")
    expect(fields[4].slice(1, 3)).toEqual([":0@12379", "slave,noaddr"])
  })

  it("INFO: one shard of 16,384 slots, the term as epoch, CRLF lines as redis-server writes them", async () => {
    const { client } = await setup()
    expect(await client.wire("CLUSTER", "INFO")).toBe(
      bulk(
        [
          "cluster_state:ok", "cluster_slots_assigned:16384", "cluster_slots_ok:16384", "cluster_slots_pfail:0", "cluster_slots_fail:0",
          "cluster_known_nodes:5", "cluster_size:1", "cluster_current_epoch:7", "cluster_my_epoch:7", "cluster_stats_messages_sent:0",
          "cluster_stats_messages_received:0", "total_cluster_links_buffer_limit_exceeded:0", ""
        ].join("\r\n")
      )
    )
  })

  it("answers errors and READONLY/READWRITE as redis-server's cluster mode does", async () => {
    const { client } = await setup()
    expect(await client.wire("CLUSTER")).toBe("-ERR wrong number of arguments for 'cluster' command\r\n")
    expect(await client.wire("CLUSTER", "FOO")).toBe("-ERR unknown subcommand 'FOO'. Try CLUSTER HELP.\r\n")
    expect(await client.wire("CLUSTER", "MYID", "x")).toBe("-ERR wrong number of arguments for 'cluster|myid' command\r\n")
    expect(await client.wire("CLUSTER", "SLOTS", "x")).toBe("-ERR wrong number of arguments for 'cluster|slots' command\r\n")
    expect(await client.wire("READONLY")).toBe("+OK\r\n")
    expect(await client.wire("READWRITE")).toBe("+OK\r\n")
    expect(await client.wire("CLUSTER", "HELP")).toMatch(/^\*\d+\r\n\+CLUSTER <subcommand>/)
  })
})

describe("ROLE", () => {
  it("a follower answers as a replica of the leader, with its applied index as offset", async () => {
    const { client } = await setup()
    expect(await client.wire("ROLE")).toBe(`*5\r\n${bulk("slave")}${bulk("10.0.0.1")}:6379\r\n${bulk("connected")}:42\r\n`)
  })

  it("the leader answers as master, listing the other members it can name", async () => {
    const { client } = await setup({ self: 1 })
    const replica = (ip: string) => `*3\r\n${bulk(ip)}${bulk("6379")}${bulk("42")}`
    expect(await client.wire("ROLE")).toBe(
      `*3\r\n${bulk("master")}:42\r\n*3\r\n${replica("10.0.0.2")}${replica("10.0.0.3")}${replica("10.0.0.4")}`
    )
  })

  it("without a leader: a replica still connecting", async () => {
    const { client } = await setup({ leader: 0 })
    expect(await client.wire("ROLE")).toBe(`*5\r\n${bulk("slave")}${bulk("")}:0\r\n${bulk("connect")}:42\r\n`)
  })
})

describe("RAFT.NODE, RAFT.NODES, RAFT.TRANSFER_LEADER", () => {
  it("turns each command into one administration request and answers OK once the node reports the outcome", async () => {
    const { runner, client } = await setup()
    expect(await client.wire("RAFT.NODE", "ADD", "6", "10.0.0.6:12379")).toBe("+OK\r\n")
    expect(await client.wire("raft.node", "add", "7", "10.0.0.7:12379", "learner")).toBe("+OK\r\n")
    expect(await client.wire("RAFT.NODE", "PROMOTE", "7")).toBe("+OK\r\n")
    expect(await client.wire("RAFT.NODE", "REMOVE", "3")).toBe("+OK\r\n")
    expect(await client.wire("RAFT.TRANSFER_LEADER")).toBe("+OK\r\n")
    expect(await client.wire("RAFT.TRANSFER_LEADER", "3")).toBe("+OK\r\n")
    expect(runner.adminRequests).toEqual([
      { kind: "change", change: { type: "add-voter", id: 6, address: "10.0.0.6:12379" } },
      { kind: "change", change: { type: "add-learner", id: 7, address: "10.0.0.7:12379" } },
      { kind: "change", change: { type: "promote", id: 7 } },
      { kind: "change", change: { type: "remove", id: 3 } },
      { kind: "transfer", target: 0 },
      { kind: "transfer", target: 3 }
    ])
  })

  it("passes the node's refusal on as the error line", async () => {
    const { runner, client } = await setup()
    runner.answerAdmin = () => ({ kind: "error", message: "ERR node 3 is the last voter" })
    expect(await client.wire("RAFT.NODE", "REMOVE", "3")).toBe("-ERR node 3 is the last voter\r\n")
  })

  it("refuses malformed arguments without asking the node", async () => {
    const { runner, client } = await setup()
    expect(await client.wire("RAFT.NODE")).toBe("-ERR wrong number of arguments for 'raft.node' command\r\n")
    expect(await client.wire("RAFT.NODE", "ADD", "4")).toBe("-ERR wrong number of arguments for 'raft.node|add' command\r\n")
    expect(await client.wire("RAFT.NODE", "ADD", "4", "h:1", "VOTER")).toBe("-ERR syntax error\r\n")
    expect(await client.wire("RAFT.NODE", "ADD", "4", "h:1", "LEARNER", "x")).toBe("-ERR syntax error\r\n")
    expect(await client.wire("RAFT.NODE", "ADD", "0", "h:1")).toBe("-ERR invalid node id '0': expected an integer from 1 to 65535\r\n")
    expect(await client.wire("RAFT.NODE", "ADD", "65536", "h:1")).toBe("-ERR invalid node id '65536': expected an integer from 1 to 65535\r\n")
    expect(await client.wire("RAFT.NODE", "REMOVE", "x")).toBe("-ERR invalid node id 'x': expected an integer from 1 to 65535\r\n")
    expect(await client.wire("RAFT.NODE", "SPLIT", "1")).toBe("-ERR unknown subcommand 'SPLIT'. Try RAFT.NODE HELP.\r\n")
    expect(await client.wire("RAFT.TRANSFER_LEADER", "1", "2")).toBe("-ERR syntax error\r\n")
    expect(await client.wire("RAFT.TRANSFER_LEADER", "-1")).toBe("-ERR invalid node id '-1': expected an integer from 1 to 65535\r\n")
    expect(runner.adminRequests).toEqual([])
  })

  it("cannot be queued in a transaction", async () => {
    const { runner, client } = await setup()
    await client.call("MULTI")
    expect(await client.wire("RAFT.NODE", "REMOVE", "3")).toBe("-ERR Command not allowed inside a transaction\r\n")
    expect(runner.adminRequests).toEqual([])
  })

  it("RAFT.NODES: one map per member with its addresses, role, suffrage and the leader's view of its progress", async () => {
    const { runner, client } = await setup()
    runner.answerAdmin = () => ({
      kind: "nodes",
      leader: 1,
      rows: [
        { id: 1, suffrage: "voter", peerAddress: "10.0.0.1:12379", match: 42, lastContactMs: 0 },
        { id: 5, suffrage: "voter", peerAddress: "10.0.0.5:12379", match: null, lastContactMs: null }
      ]
    })
    await client.call("HELLO", "3")
    const entry = (fields: Array<[string, string]>) => `%7\r\n${fields.map(([k, v]) => bulk(k) + v).join("")}`
    expect(await client.wire("RAFT.NODES")).toBe(
      "*2\r\n" +
        entry([["id", ":1\r\n"], ["peer-address", bulk("10.0.0.1:12379")], ["client-address", bulk("10.0.0.1:6379")], ["role", bulk("leader")], ["suffrage", bulk("voter")], ["match-index", ":42\r\n"], ["last-contact-ms", ":0\r\n"]]) +
        entry([["id", ":5\r\n"], ["peer-address", bulk("10.0.0.5:12379")], ["client-address", "_\r\n"], ["role", bulk("follower")], ["suffrage", bulk("voter")], ["match-index", "_\r\n"], ["last-contact-ms", "_\r\n"]])
    )
  })
})

describe("inside a transaction and after RESET", () => {
  it("RAFT.NODES, which answers later, is refused inside MULTI (its reply would land out of order)", async () => {
    const runner = await CommandRunner.make()
    const client = runner.client()
    expect(await client.wire("MULTI")).toBe("+OK\r\n")
    expect(await client.wire("RAFT.NODES")).toBe("-ERR Command not allowed inside a transaction\r\n")
    expect(await client.wire("EXEC")).toBe("-EXECABORT Transaction discarded because of previous errors.\r\n")
    expect(await client.wire("PING")).toBe("+PONG\r\n")
  })

  it("RESET gives the connection the node's read mode back", async () => {
    const runner = await CommandRunner.make()
    const client = runner.client()
    expect(await client.wire("CLIENT", "READMODE", "stale")).toBe("+OK\r\n")
    expect(await client.wire("RESET")).toBe("+RESET\r\n")
    expect(await client.wire("CLIENT", "READMODE")).toBe("$12\r\nlinearizable\r\n")
  })
})
