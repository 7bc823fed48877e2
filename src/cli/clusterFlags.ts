/**
 * --id and --cluster: which node this is, and the peer address of every node of a new cluster.
 * Without --cluster (or --join) the node is a single-node cluster.
 */
import { parseHostPort } from "../node/Membership.js"
import { ConfigError, type DecodedFlag, type GivenFlags, IntegerFromFlag } from "./flags.js"

export interface PeerAddress {
  readonly id: number
  readonly host: string
  readonly port: number
}

export interface ClusterConfig {
  readonly id: number
  /**
   * The cluster as first started (`--cluster`: position N is node N, every node a voter). Once the
   * membership changes, the log and snapshots say who the members are; this list only gives the
   * configuration of an empty log. Empty for a node started with `--join`.
   */
  readonly peers: ReadonlyArray<PeerAddress>
}

/** The group's flags read as text; the decoded ones are in CLUSTER_DECODED. */
export const CLUSTER_FLAGS = ["cluster"]

export const CLUSTER_DECODED = {
  id: { schema: IntegerFromFlag("id", 1, 65535), required: "this node's position in --cluster" }
} satisfies Record<string, DecodedFlag>

export const CLUSTER_HELP = `  --id N                   this node's id: its position in --cluster, from 1 (required)
  --cluster A,B,...        peer (Raft) address of every node of a new cluster, http://host:port
                           or host:port; position N is node N; every node gets the same list.
                           Default: a single-node cluster on 127.0.0.1:<port + 10000>
`

/** `http://host:port`, `host:port` or `[v6]:port`. */
const parseAddress = (text: string, id: number): PeerAddress | ConfigError => {
  const port = /:(\d+)\/?$/.exec(text.trim())
  if (port !== null && (Number(port[1]) < 1 || Number(port[1]) > 65535)) {
    return new ConfigError(`--cluster address ${id} '${text}' has port ${Number(port[1])} outside 1..65535`)
  }
  const address = parseHostPort(text)
  if (address === undefined) return new ConfigError(`--cluster address ${id} '${text}' is not host:port or http://host:port`)
  return { id, ...address }
}

/**
 * The members of a new cluster, which must include node `id`: --cluster's list, or this node alone
 * on its client port + 10000 (the TLS one when plain TCP is off). None for a node that joins.
 */
export const parsePeers = (
  flags: GivenFlags,
  id: number,
  clientPorts: { readonly port: number; readonly tlsPort: number },
  joining: boolean
): Array<PeerAddress> | ConfigError => {
  const clusterText = flags.get("cluster")
  const peers: Array<PeerAddress> = []
  if (joining) {
    // A joining node knows no member list: the leader's log tells it once it is added.
  } else if (clusterText === undefined) {
    if (id !== 1) return new ConfigError(`--id ${id} needs --cluster (without it the node is a single-node cluster, id 1)`)
    const base = clientPorts.port === 0 ? clientPorts.tlsPort : clientPorts.port
    if (base + 10000 > 65535) return new ConfigError(`without --cluster the peer port is --port + 10000, which exceeds 65535`)
    peers.push({ id: 1, host: "127.0.0.1", port: base + 10000 })
  } else {
    const parts = clusterText.split(",")
    for (let i = 0; i < parts.length; i++) {
      const address = parseAddress(parts[i], i + 1)
      if (address instanceof ConfigError) return address
      peers.push(address)
    }
    const seen = new Set<string>()
    for (const peer of peers) {
      const key = `${peer.host}:${peer.port}`
      if (seen.has(key)) return new ConfigError(`--cluster lists ${key} twice`)
      seen.add(key)
    }
  }
  if (!joining && id > peers.length) {
    return new ConfigError(`--id ${id} is outside the cluster of ${peers.length} node${peers.length === 1 ? "" : "s"} (--cluster lists node 1..${peers.length})`)
  }
  return peers
}
