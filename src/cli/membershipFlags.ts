/** --join and --peer-address: a node that joins a running cluster instead of starting a new one. */
import { type HostPort, parseHostPort } from "../node/Membership.js"
import { ConfigError, type GivenFlags } from "./flags.js"

export interface MembershipConfig {
  /** Where a node started with `--join` listens for peers (`--peer-address`); others use their `--cluster` entry. */
  readonly peerAddress?: HostPort
  /** A member's peer address, to learn the cluster from while waiting to be added (`--join`). */
  readonly join?: HostPort
}

export const MEMBERSHIP_FLAGS = ["join", "peer-address"]

export const MEMBERSHIP_HELP = `  --join A                 start a node that joins a running cluster instead: A is the peer
                           address of any member. The node waits until an operator adds it
                           (RAFT.NODE ADD N <its --peer-address> on any member), then catches up.
                           Its id must be new: never one a removed node had.
  --peer-address A         with --join: host:port this node listens on for peers (what
                           RAFT.NODE ADD names)
`

const parseFlagAddress = (flag: string, text: string | undefined): HostPort | ConfigError | undefined => {
  if (text === undefined) return undefined
  return parseHostPort(text) ?? new ConfigError(`--${flag} '${text}' is not host:port (port 1..65535)`)
}

export const parseMembership = (flags: GivenFlags): MembershipConfig | ConfigError => {
  const join = parseFlagAddress("join", flags.get("join"))
  if (join instanceof ConfigError) return join
  const peerAddress = parseFlagAddress("peer-address", flags.get("peer-address"))
  if (peerAddress instanceof ConfigError) return peerAddress
  if (join !== undefined && flags.has("cluster")) {
    return new ConfigError("--join and --cluster exclude each other: --cluster starts a new cluster, --join joins a running one")
  }
  if (join !== undefined && peerAddress === undefined) return new ConfigError("--join needs --peer-address (where this node listens for peers)")
  if (join === undefined && peerAddress !== undefined) {
    return new ConfigError("--peer-address goes with --join (with --cluster, the node's entry in the list is its peer address)")
  }
  return { ...(join !== undefined ? { join } : {}), ...(peerAddress !== undefined ? { peerAddress } : {}) }
}
