/**
 * The cluster as clients see it, and its administration. raft-kv is one shard that owns all
 * 16,384 slots: the leader is its master, the other voters are its replicas (learners are listed
 * by CLUSTER NODES as replicas that never fail over). Every node accepts every command (a follower
 * forwards writes), so no -MOVED is ever needed; cluster clients only need to find the master for
 * writes, and any node when one dies. Formats are redis-server 7.0's (cluster.c):
 *
 *   CLUSTER SLOTS, SHARDS, NODES, INFO, MYID, HELP; READONLY, READWRITE; ROLE
 *   RAFT.NODE ADD <id> <peer-host:port> [LEARNER] | PROMOTE <id> | REMOVE <id>
 *   RAFT.NODES
 *   RAFT.TRANSFER_LEADER [<id>]
 *
 * The administration commands are accepted on any node (a follower forwards them to the leader)
 * and answer once the outcome is known: a change once its configuration entry is committed.
 */
import * as crypto from "node:crypto"
import type { AdminCommand, AdminOutcome } from "../node/Admin.js"
import { array, error, integer, map, NIL, OK, simple, text, verbatim, type Reply } from "../resp/Reply.js"
import { latin1, SYNTAX_ERROR } from "./errors.js"
import type { CommandSpec, LocalHandler } from "./registry.js"
import type { ClientSession, ClusterMember, ClusterView } from "./session.js"

const local = (run: LocalHandler) => ({ kind: "local" as const, run })

export const SLOTS = 16384

/** A node's 40-hex-character name in CLUSTER replies: stable, and the same on every node. */
export const nodeName = (id: number): string => crypto.createHash("sha1").update(`raft-kv node ${id}`).digest("hex")

/** "host:port" split at its last colon (an IPv6 host in brackets loses them). */
const splitAddress = (address: string): { readonly host: string; readonly port: number } => {
  const colon = address.lastIndexOf(":")
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(address.slice(colon + 1)) }
}

/** The node clients should write to: the leader, or (none known, or its address not yet known) this node, which forwards. */
const masterOf = (view: ClusterView): ClusterMember | undefined => {
  const leader = view.members.find((member) => member.id === view.leader && member.clientAddress !== undefined)
  return leader ?? view.members.find((member) => member.id === view.self)
}

/** The master first, then the other voters that clients can reach (their client address is known). */
const shardNodes = (view: ClusterView): Array<{ readonly member: ClusterMember; readonly master: boolean }> => {
  const master = masterOf(view)
  if (master === undefined || master.clientAddress === undefined) return []
  const replicas = view.members.filter((m) => m.id !== master.id && m.suffrage === "voter" && m.clientAddress !== undefined)
  return [{ member: master, master: true }, ...replicas.map((member) => ({ member, master: false }))]
}

// ---------------------------------------------------------------- CLUSTER

/** One node of CLUSTER SLOTS: ip, port, name, and a map of further endpoints (none). */
const slotNode = (member: ClusterMember): Reply => {
  const { host, port } = splitAddress(member.clientAddress!)
  return array([text(host), integer(port), text(nodeName(member.id)), map([])])
}

const clusterSlots: LocalHandler = (session) => {
  const nodes = shardNodes(session.server.cluster())
  if (nodes.length === 0) return array([])
  return array([array([integer(0), integer(SLOTS - 1), ...nodes.map(({ member }) => slotNode(member))])])
}

const clusterShards: LocalHandler = (session) => {
  const view = session.server.cluster()
  const nodes = shardNodes(view).map(({ member, master }) => {
    const { host, port } = splitAddress(member.clientAddress!)
    return map([
      text("id"), text(nodeName(member.id)),
      text("port"), integer(port),
      text("ip"), text(host),
      text("endpoint"), text(host),
      text("role"), text(master ? "master" : "replica"),
      text("replication-offset"), integer(view.appliedIndex),
      text("health"), text(member.reachable ? "online" : "failed")
    ])
  })
  if (nodes.length === 0) return array([])
  return array([map([text("slots"), array([integer(0), integer(SLOTS - 1)]), text("nodes"), array(nodes)])])
}

/** CLUSTER NODES: one line per member, "<id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <epoch> <link> <slots>". */
const clusterNodes: LocalHandler = (session) => {
  const view = session.server.cluster()
  const master = masterOf(view)
  const now = Date.now()
  const lines = view.members.map((member) => {
    const isMaster = member.id === master?.id
    const flags = [
      ...(member.id === view.self ? ["myself"] : []),
      isMaster ? "master" : "slave",
      ...(member.suffrage === "learner" ? ["nofailover"] : []),
      ...(member.reachable ? [] : ["fail?"]),
      ...(member.clientAddress === undefined ? ["noaddr"] : [])
    ]
    const client = member.clientAddress === undefined ? { host: "", port: 0 } : splitAddress(member.clientAddress)
    const bus = splitAddress(member.peerAddress).port
    const pong = member.id === view.self ? 0 : member.reachable ? now : 0
    const fields = [
      nodeName(member.id),
      `${client.host}:${client.port}@${Number.isInteger(bus) ? bus : 0}`,
      flags.join(","),
      isMaster || master === undefined ? "-" : nodeName(master.id),
      "0",
      String(pong),
      String(view.term),
      member.reachable ? "connected" : "disconnected",
      ...(isMaster ? [`0-${SLOTS - 1}`] : [])
    ]
    return `${fields.join(" ")}\n`
  })
  return verbatim(lines.join(""))
}

const clusterInfo: LocalHandler = (session) => {
  const view = session.server.cluster()
  const fields: Array<readonly [string, string | number]> = [
    // "fail" while no leader is known: writes and linearizable reads wait until one is.
    ["cluster_state", view.leader === 0 ? "fail" : "ok"],
    ["cluster_slots_assigned", SLOTS],
    ["cluster_slots_ok", SLOTS],
    ["cluster_slots_pfail", 0],
    ["cluster_slots_fail", 0],
    ["cluster_known_nodes", view.members.length],
    ["cluster_size", 1],
    ["cluster_current_epoch", view.term],
    ["cluster_my_epoch", view.term],
    ["cluster_stats_messages_sent", 0],
    ["cluster_stats_messages_received", 0],
    ["total_cluster_links_buffer_limit_exceeded", 0]
  ]
  return verbatim(fields.map(([name, value]) => `${name}:${value}\r\n`).join(""))
}

const CLUSTER_HELP = [
  "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "INFO",
  "    Return information about the cluster.",
  "MYID",
  "    Return the node id.",
  "NODES",
  "    Return cluster configuration seen by node. Output format:",
  "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
  "SLOTS",
  "    Return information about slots range mappings. Each range is made of:",
  "    start, end, master and replicas IP addresses, ports and ids",
  "SHARDS",
  "    Return information about slot range mappings and the nodes associated with them.",
  "HELP",
  "    Prints this help.",
  "raft-kv is one shard owning every slot; change its members with RAFT.NODE (see RAFT.NODE HELP)."
]

const clusterSub = (name: string, arity: number, run: LocalHandler, summary: string, since: string): CommandSpec => ({
  name: `cluster|${name}`,
  arity,
  flags: ["loading", "stale"],
  group: "cluster",
  summary,
  since,
  route: local(run)
})

const clusterSubcommands: ReadonlyArray<CommandSpec> = [
  clusterSub("slots", 2, clusterSlots, "Get array of cluster slots to node mappings", "3.0.0"),
  clusterSub("shards", 2, clusterShards, "Get array of cluster slots to node mappings", "7.0.0"),
  clusterSub("nodes", 2, clusterNodes, "Get cluster config for the node", "3.0.0"),
  clusterSub("info", 2, clusterInfo, "Provides info about Redis Cluster node state", "3.0.0"),
  clusterSub("myid", 2, (session) => text(nodeName(session.server.cluster().self)), "Return the node id", "3.0.0"),
  clusterSub("help", 2, () => array(CLUSTER_HELP.map((line) => simple(line))), "Show helpful text about the different subcommands", "5.0.0")
]

// ---------------------------------------------------------------- ROLE

const role: LocalHandler = (session) => {
  const view = session.server.cluster()
  if (view.leader === view.self) {
    const replicas = view.members
      .filter((m) => m.id !== view.self && m.clientAddress !== undefined)
      .map((m) => {
        const { host, port } = splitAddress(m.clientAddress!)
        return array([text(host), text(String(port)), text(String(view.appliedIndex))])
      })
    return array([text("master"), integer(view.appliedIndex), array(replicas)])
  }
  const leader = view.members.find((m) => m.id === view.leader)
  const address = leader?.clientAddress === undefined ? { host: "", port: 0 } : splitAddress(leader.clientAddress)
  return array([text("slave"), text(address.host), integer(address.port), text(view.leader === 0 ? "connect" : "connected"), integer(view.appliedIndex)])
}

// ---------------------------------------------------------------- RAFT.*

/** A node id argument, or why it is not one. */
const parseId = (arg: Uint8Array): number | Reply => {
  const value = latin1(arg)
  const id = /^[1-9][0-9]{0,4}$/.test(value) ? Number(value) : Number.NaN
  return Number.isInteger(id) && id <= 0xffff ? id : error(`ERR invalid node id '${value.slice(0, 128)}': expected an integer from 1 to 65535`)
}

/** Hand a request to the node; the reply is written once the outcome is known (in request order). */
const administer = (session: ClientSession, command: AdminCommand, answer: (outcome: AdminOutcome) => Reply): undefined => {
  const replyTo = session.reserve()
  session.server.admin(command, (outcome) => {
    // This runs on the node's Raft fiber: a defect in building the reply must stay this client's.
    let reply: Reply
    try {
      reply = outcome.kind === "error" ? error(outcome.message) : answer(outcome)
    } catch (defect) {
      reply = error(`ERR could not describe the outcome: ${String(defect)}`)
    }
    replyTo(reply)
  })
  return undefined
}

const done = (outcome: AdminOutcome): Reply => (outcome.kind === "not-leader" ? error("ERR no leader took the request: retry") : OK)

const nodeAdd: LocalHandler = (session, argv) => {
  const id = parseId(argv[2])
  if (typeof id !== "number") return id
  const address = latin1(argv[3])
  const learner = argv.length === 5
  return administer(session, { kind: "change", change: { type: learner ? "add-learner" : "add-voter", id, address } }, done)
}

const nodeChange =
  (type: "promote" | "remove"): LocalHandler =>
  (session, argv) => {
    const id = parseId(argv[2])
    if (typeof id !== "number") return id
    return administer(session, { kind: "change", change: { type, id } }, done)
  }

const NODE_HELP = [
  "RAFT.NODE <subcommand> [<arg> ...]. Subcommands are:",
  "ADD <id> <peer-host:port> [LEARNER]",
  "    Add a node (started with --join) as a voter, or as a learner that receives the log but does not vote.",
  "    The safe way to add a voter: add it as a learner, wait until it has caught up (RAFT.NODES), then PROMOTE it.",
  "PROMOTE <id>",
  "    Make a learner that has caught up a voter.",
  "REMOVE <id>",
  "    Remove a voter or a learner (the leader too: it steps down once the change is committed).",
  "HELP",
  "    Prints this help."
]

const nodeSub = (name: string, arity: number, run: LocalHandler, summary: string, validate?: CommandSpec["validate"]): CommandSpec => ({
  name: `raft.node|${name}`,
  arity,
  flags: name === "help" ? ["loading", "stale"] : ["admin", "noscript", "no_multi"],
  group: "cluster",
  summary,
  since: "raft-kv 0.2.0",
  ...(validate !== undefined ? { validate } : {}),
  route: local(run)
})

const nodeSubcommands: ReadonlyArray<CommandSpec> = [
  nodeSub("add", -4, nodeAdd, "Add a node to the cluster, as a voter or a learner", (argv) =>
    argv.length > 5 || (argv.length === 5 && latin1(argv[4]).toUpperCase() !== "LEARNER") ? SYNTAX_ERROR : undefined
  ),
  nodeSub("promote", 3, nodeChange("promote"), "Make a learner a voter"),
  nodeSub("remove", 3, nodeChange("remove"), "Remove a node from the cluster"),
  nodeSub("help", 2, () => array(NODE_HELP.map((line) => simple(line))), "Show helpful text about the different subcommands")
]

const nodes: LocalHandler = (session) => {
  const view = session.server.cluster()
  return administer(session, { kind: "nodes" }, (outcome) => {
    if (outcome.kind !== "nodes") return error("ERR no leader took the request: retry")
    return array(
      outcome.rows.map((row) => {
        const clientAddress = view.members.find((m) => m.id === row.id)?.clientAddress
        return map([
          text("id"), integer(row.id),
          text("peer-address"), text(row.peerAddress),
          text("client-address"), clientAddress === undefined ? NIL : text(clientAddress),
          text("role"), text(row.id === outcome.leader ? "leader" : "follower"),
          text("suffrage"), text(row.suffrage),
          text("match-index"), row.match === null ? NIL : integer(row.match),
          text("last-contact-ms"), row.lastContactMs === null ? NIL : integer(row.lastContactMs)
        ])
      })
    )
  })
}

const transferLeader: LocalHandler = (session, argv) => {
  let target = 0
  if (argv.length === 2) {
    const id = parseId(argv[1])
    if (typeof id !== "number") return id
    target = id
  }
  return administer(session, { kind: "transfer", target }, done)
}

// ---------------------------------------------------------------- the table

export const clusterCommands: ReadonlyArray<CommandSpec> = [
  { name: "cluster", arity: -2, flags: [], group: "cluster", summary: "A container for Redis Cluster commands", since: "3.0.0", subcommands: clusterSubcommands },
  { name: "readonly", arity: 1, flags: ["fast", "loading", "stale"], group: "cluster", categories: ["connection"], summary: "Enables read queries for a connection to a Redis Cluster replica node", since: "3.0.0", complexity: "O(1)", route: local(() => OK) },
  { name: "readwrite", arity: 1, flags: ["fast", "loading", "stale"], group: "cluster", categories: ["connection"], summary: "Disables read queries for a connection to a Redis Cluster replica node", since: "3.0.0", complexity: "O(1)", route: local(() => OK) },
  { name: "role", arity: 1, flags: ["noscript", "loading", "stale", "fast"], categories: ["admin", "dangerous"], group: "server", summary: "Return the role of the instance in the context of replication", since: "2.8.12", complexity: "O(1)", route: local(role) },
  { name: "raft.node", arity: -2, flags: [], group: "cluster", summary: "A container for membership changes", since: "raft-kv 0.2.0", subcommands: nodeSubcommands },
  { name: "raft.nodes", arity: 1, flags: ["loading", "stale", "no_multi"], group: "cluster", summary: "List the members: ids, addresses, roles, replication progress", since: "raft-kv 0.2.0", route: local(nodes) },
  {
    name: "raft.transfer_leader", arity: -1, flags: ["admin", "noscript", "no_multi"], group: "cluster",
    summary: "Hand leadership to a voter (the most caught-up one when no id is given)", since: "raft-kv 0.2.0",
    validate: (argv) => (argv.length > 2 ? SYNTAX_ERROR : undefined),
    route: local(transferLeader)
  }
]
