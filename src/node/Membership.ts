/**
 * Membership as the node layer sees it: where members listen (the address a configuration carries
 * for each member is its peer address, "host:port"), the configuration a node starts from, and the
 * rules that decide whether this node is still a member.
 */
import type { NodeConfig } from "../cli/Config.js"
import {
  type Configuration,
  decodeConfiguration,
  EMPTY_CONFIGURATION,
  encodeConfiguration,
  type Member,
  memberOf,
  votersConfiguration
} from "../raft/Configuration.js"
import { EntryKind, type NodeId } from "../raft/types.js"

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** "host:port", with an IPv6 host in brackets. */
export const formatHostPort = ({ host, port }: HostPort): string => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`)

/** `host:port`, `[v6]:port` or `http://host:port`; undefined when it is none of them. */
export const parseHostPort = (text: string): HostPort | undefined => {
  const stripped = text.trim().replace(/^[a-z]+:\/\//i, "").replace(/\/$/, "")
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(stripped)
  if (match === null) return undefined
  const port = Number(match[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined
  return { host: match[1].replace(/^\[|\]$/g, ""), port }
}

/** Where this node listens for peers: `--peer-address`, or its own entry in `--cluster`. */
export const ownPeerAddress = (config: NodeConfig): HostPort => {
  if (config.peerAddress !== undefined) return config.peerAddress
  const self = config.peers.find((peer) => peer.id === config.id)
  if (self === undefined) throw new Error(`node ${config.id} has no peer address (it is not in --cluster and has no --peer-address)`)
  return self
}

/**
 * The configuration of an empty log: the `--cluster` list, every node a voter (the cluster as
 * first started), or nothing for a node started with `--join`, which waits to be added and learns
 * the configuration from the leader.
 */
export const initialConfiguration = (config: NodeConfig): Configuration =>
  config.join !== undefined
    ? EMPTY_CONFIGURATION
    : votersConfiguration(
        config.peers.map((peer) => peer.id),
        (id) => formatHostPort(config.peers.find((peer) => peer.id === id)!)
      )

/** The configuration in effect at a committed index, as a node vouches for it. */
export interface CommittedConfiguration {
  /** A committed index (the node's commit index when it looked). */
  readonly index: number
  readonly configuration: Configuration
}

/**
 * Whether `seen` proves that this node was removed: it was a member at committed index
 * `memberAsOf`, and the configuration in effect at a later committed index leaves it out. Node ids
 * are never reused (RAFT.NODE ADD refuses an id that ever wrote to the log), so a node removed
 * once never comes back. A node that never was a member (`memberAsOf` undefined: started with
 * --join, waiting to be added) is not removed by anything it sees; nor by what a member lagging
 * behind the configuration that added it says (its index is not later).
 */
export const provesRemoval = (self: NodeId, memberAsOf: number | undefined, seen: CommittedConfiguration): boolean =>
  memberAsOf !== undefined && seen.index > memberAsOf && memberOf(seen.configuration, self) === undefined

/**
 * The highest committed index at which this node knows itself to be a member, from what it
 * recovered: the configuration of its snapshot (or the initial one) and the configuration entries
 * of its log up to the commit index. Undefined: it never was one (a node waiting to be added).
 */
export const memberAsOfAtStart = (
  self: NodeId,
  base: Configuration,
  baseIndex: number,
  entries: ReadonlyArray<{ readonly index: number; readonly kind: number; readonly data: Uint8Array }>,
  commit: number
): number | undefined => {
  let member = memberOf(base, self) !== undefined
  let asOf = member ? baseIndex : undefined
  for (const entry of entries) {
    if (entry.index > commit) break
    if (entry.kind === EntryKind.Config) {
      const next = decodeConfiguration(entry.data)
      if (next !== undefined) member = memberOf(next, self) !== undefined
    }
    if (member) asOf = entry.index
  }
  return member ? commit : asOf
}

/**
 * The peers a node exchanges messages with: the members of the configuration in effect and of
 * the newest committed one (a leader that removes itself leads until its removal commits, and the
 * followers must hear its last words: the commit and TimeoutNow), plus those of a newer committed
 * configuration a member reported (`observed`, given only while this node's log is behind it).
 * The last is what lets a node catch up at all when its log predates the leader's membership: a
 * node started with --join (it knows no one), or one that was down while the cluster changed,
 * would otherwise refuse the leader that was added meanwhile, and could not answer it.
 */
export const addressBook = (
  self: NodeId,
  inEffect: Configuration,
  committed: Configuration,
  observed: Configuration | undefined
): Array<Member> => {
  const book = new Map<NodeId, Member>()
  for (const configuration of observed === undefined ? [committed, inEffect] : [observed, committed, inEffect]) {
    for (const member of configuration.members) book.set(member.id, member)
  }
  return [...book.values()].sort((a, b) => a.id - b.id)
}

/** The answer on a discovery connection: u32 length | f64 committed index | configuration (Configuration.ts). */
export const encodeCommittedConfiguration = (committed: CommittedConfiguration): Buffer => {
  const configuration = encodeConfiguration(committed.configuration)
  const out = Buffer.allocUnsafe(4 + 8 + configuration.length)
  out.writeUInt32BE(8 + configuration.length, 0)
  out.writeDoubleBE(committed.index, 4)
  out.set(configuration, 12)
  return out
}

/** The payload after the length prefix; undefined when it is not a valid answer. */
export const decodeCommittedConfiguration = (payload: Uint8Array): CommittedConfiguration | undefined => {
  if (payload.length < 8) return undefined
  const index = Buffer.from(payload.buffer, payload.byteOffset, payload.length).readDoubleBE(0)
  if (!Number.isSafeInteger(index) || index < 0) return undefined
  const configuration = decodeConfiguration(payload.subarray(8))
  return configuration === undefined ? undefined : { index, configuration }
}
