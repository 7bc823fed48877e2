/**
 * Command-line flags → a validated NodeConfig, composed of the flag groups beside this module: each
 * owns its flags' names, decoding and defaults, its cross-field rules and its --help lines. Every
 * decoded flag is decoded before any rule runs, then the rules run in the order below; with
 * several problems, the first one met is reported, as one line for `raft-kv: <message>`.
 */
import { Either } from "effect"
import { CLIENT_ACCESS_DECODED, CLIENT_ACCESS_FLAGS, CLIENT_SECURITY_HELP, type ClientAccessConfig, MAXCLIENTS_HELP, parseClientAccess } from "./clientAccessFlags.js"
import { CLIENT_ADDRESS_DECODED, CLIENT_ADDRESS_FLAGS, CLIENT_ADDRESS_HELP, type ClientAddressConfig, parseClientAddress } from "./clientAddressFlags.js"
import { CLUSTER_DECODED, CLUSTER_FLAGS, CLUSTER_HELP, type ClusterConfig, parsePeers } from "./clusterFlags.js"
import { ConfigError, type Environment, flagDecoder, gatherFlags } from "./flags.js"
import { MEMBERSHIP_FLAGS, MEMBERSHIP_HELP, type MembershipConfig, parseMembership } from "./membershipFlags.js"
import { OBSERVABILITY_DECODED, OBSERVABILITY_FLAGS, OBSERVABILITY_HELP, type ObservabilityConfig, parseObservability } from "./observabilityFlags.js"
import { PEER_SECURITY_FLAGS, PEER_SECURITY_HELP, type PeerSecurityConfig, parsePeerSecurity } from "./peerSecurityFlags.js"
import { LEASE_MARGIN_HELP, parseRaft, RAFT_DECODED, RAFT_HELP, type RaftConfig } from "./raftFlags.js"
import { READ_DECODED, READ_MODE_HELP, type ReadConfig, readConfig } from "./readFlags.js"
import { STORAGE_DECODED, STORAGE_FLAGS, STORAGE_HELP, type StorageConfig, storageConfig } from "./storageFlags.js"

export interface NodeConfig
  extends ClusterConfig,
    MembershipConfig,
    ClientAddressConfig,
    StorageConfig,
    RaftConfig,
    ReadConfig,
    ClientAccessConfig,
    PeerSecurityConfig,
    ObservabilityConfig {}

export type ParsedArgs = { readonly _tag: "Help"; readonly text: string } | { readonly _tag: "Run"; readonly config: NodeConfig }

/** The general options group by group, then a section for each port that can be secured. */
export const HELP = [
  `Usage: raft-kv --id N --cluster ADDR1,ADDR2,... [options]
       raft-kv --id N --join ADDR --peer-address ADDR [options]

A Raft-replicated key-value server that speaks the Redis protocol.

`,
  CLUSTER_HELP,
  MEMBERSHIP_HELP,
  CLIENT_ADDRESS_HELP,
  STORAGE_HELP,
  RAFT_HELP,
  READ_MODE_HELP,
  LEASE_MARGIN_HELP,
  MAXCLIENTS_HELP,
  OBSERVABILITY_HELP,
  `  -h, --help               show this help

`,
  CLIENT_SECURITY_HELP,
  "\n",
  PEER_SECURITY_HELP,
  `
Example (node 1 of the Procfile cluster):
  raft-kv --id 1 --cluster http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379 --port 63791
A fourth node joining it (then, on any member: redis-cli -p 63791 RAFT.NODE ADD 4 127.0.0.1:42379):
  raft-kv --id 4 --join 127.0.0.1:12379 --peer-address 127.0.0.1:42379 --port 63794
`
].join("")

/** Every decoded flag, in the order they are decoded (the first wrong one is reported). */
const DECODED = {
  ...CLUSTER_DECODED,
  ...CLIENT_ADDRESS_DECODED,
  ...CLIENT_ACCESS_DECODED,
  ...RAFT_DECODED,
  ...OBSERVABILITY_DECODED,
  ...READ_DECODED,
  ...STORAGE_DECODED
}

const decodeFlags = flagDecoder(DECODED)

const KNOWN_FLAGS: ReadonlySet<string> = new Set([
  ...Object.keys(DECODED),
  ...CLUSTER_FLAGS,
  ...MEMBERSHIP_FLAGS,
  ...CLIENT_ADDRESS_FLAGS,
  ...CLIENT_ACCESS_FLAGS,
  ...PEER_SECURITY_FLAGS,
  ...STORAGE_FLAGS,
  ...OBSERVABILITY_FLAGS
])

/** A group's answer as an Either, so the steps of parseArgs read one after another. */
const checked = <A>(result: A | ConfigError): Either.Either<A, ConfigError> => (result instanceof ConfigError ? Either.left(result) : Either.right(result))

export const parseArgs = (argv: ReadonlyArray<string>, env: Environment = process.env): Either.Either<ParsedArgs, ConfigError> => {
  const flags = gatherFlags(argv, KNOWN_FLAGS)
  if (flags === "help") return Either.right({ _tag: "Help", text: HELP })
  if (flags instanceof ConfigError) return Either.left(flags)
  return Either.gen(function* () {
    const values = yield* checked(decodeFlags(flags))
    const tlsPort = values["tls-port"]
    const clientAccess = yield* checked(parseClientAccess(flags, env, values, values.port))
    const membership = yield* checked(parseMembership(flags))
    const clientAddress = yield* checked(parseClientAddress(flags, values))
    const peers = yield* checked(parsePeers(flags, values.id, { port: values.port, tlsPort }, membership.join !== undefined))
    const raft = yield* checked(parseRaft(values))
    const peerSecurity = yield* checked(parsePeerSecurity(flags, env))
    // No client listener may take this node's own peer port.
    const { host } = clientAddress
    const self = membership.peerAddress ?? peers[values.id - 1]
    const peerFlag = membership.peerAddress !== undefined ? "--peer-address" : "--cluster"
    for (const [flag, port] of [["--port", values.port], ["--tls-port", tlsPort]] as const) {
      if (port !== 0 && self.port === port && (self.host === host || host === "0.0.0.0")) {
        return yield* Either.left(new ConfigError(`${flag} ${port} is also node ${values.id}'s peer port in ${peerFlag}`))
      }
    }
    const observability = yield* checked(parseObservability(flags, values, host, self, [values.port, tlsPort]))
    const config: NodeConfig = {
      id: values.id,
      peers,
      ...clientAddress,
      ...storageConfig(flags, values, values.id),
      ...readConfig(values),
      ...raft,
      ...membership,
      ...peerSecurity,
      ...clientAccess,
      ...observability
    }
    return { _tag: "Run" as const, config }
  })
}
