/**
 * Command-line flags → a validated NodeConfig. Flags are gathered by name, then decoded with
 * Schema (integers, ranges, the engine literal); cross-field rules (the id within the cluster,
 * distinct addresses) follow. Every problem is reported as one line for `raft-kv: <message>`.
 */
import { Either, ParseResult, Schema } from "effect"
import { type HostPort, parseHostPort } from "../node/Membership.js"

export interface PeerAddress {
  readonly id: number
  readonly host: string
  readonly port: number
}

export interface NodeConfig {
  readonly id: number
  /**
   * The cluster as first started (`--cluster`: position N is node N, every node a voter). Once the
   * membership changes, the log and snapshots say who the members are; this list only gives the
   * configuration of an empty log. Empty for a node started with `--join`.
   */
  readonly peers: ReadonlyArray<PeerAddress>
  /** Where a node started with `--join` listens for peers (`--peer-address`); others use their `--cluster` entry. */
  readonly peerAddress?: HostPort
  /** A member's peer address, to learn the cluster from while waiting to be added (`--join`). */
  readonly join?: HostPort
  /** The client address announced to the cluster, when clients reach this node elsewhere than --host/--port (NAT). */
  readonly advertiseHost?: string
  readonly advertisePort?: number
  readonly host: string
  /** The plain-TCP client port; 0: none (clients connect with TLS on `clientTls.port` only). */
  readonly port: number
  readonly dataDir: string
  readonly engine: "memory" | "level"
  readonly tickMs: number
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly requestTimeoutMs: number
  /** Take a snapshot and compact the log every this many applied entries. */
  readonly snapshotEntries: number
  /** Entries the log keeps behind its latest snapshot, so followers slightly behind catch up from the log. */
  readonly snapshotKeepEntries: number
  /** Where the peers' shared secret comes from (never the secret itself); absent: no secret. */
  readonly clusterSecret?: ClusterSecretSource
  /** Mutual TLS on peer connections; absent: plain TCP. */
  readonly peerTls?: PeerTlsFiles
  /** How reads are served unless a connection chooses otherwise (CLIENT READMODE). */
  readonly readMode: ReadMode
  /** Lease reads: the lease lasts electionTicks - leaseMarginTicks ticks after a quorum-acknowledged heartbeat. */
  readonly leaseMarginTicks: number
  /** Client connections (plain and TLS together) beyond this are refused: "-ERR max number of clients reached". */
  readonly maxClients: number
  /** TLS for clients on a port of its own; absent: no TLS listener. */
  readonly clientTls?: ClientTlsConfig
  /** Where the default user's password comes from (`requirepass`); absent: no password (or the ACL file's users). */
  readonly requirePass?: RequirePassSource
  /** The ACL file: the users, their passwords and permissions (redis-server's --aclfile). */
  readonly aclFile?: string
  /** Plain HTTP for GET /metrics and GET /health (`--metrics-port`); absent: no such listener. */
  readonly metricsPort?: number
  /** The address the metrics listener binds (default: --host). */
  readonly metricsHost?: string
  /** /health says unhealthy once applied lags commit by more entries than this (default 1000). */
  readonly healthMaxApplyLag?: number
  /** How log lines are written: text (logfmt, the default) or json (one object per line). */
  readonly logFormat?: LogFormat
  /** Whether a node whose heap grew runs a full garbage collection once it goes idle (node/IdleGc.ts; default true). */
  readonly idleGc?: boolean
}

export type LogFormat = "text" | "json"

/**
 * - linearizable: ReadIndex, a heartbeat round per batch of reads (the default);
 * - lease: the leader answers from its lease (no round) while it holds one, assuming the nodes'
 *   clocks drift apart by less than the lease margin over an election timeout;
 * - stale: any node answers from its own applied state at once (may be behind).
 */
export type ReadMode = "linearizable" | "lease" | "stale"
export const READ_MODES: ReadonlyArray<ReadMode> = ["linearizable", "lease", "stale"]

/** TLS on the client port, with redis-server's settings. */
export interface ClientTlsConfig {
  readonly port: number
  readonly certFile: string
  readonly keyFile: string
  /** The CA client certificates must be signed by (needed unless authClients is "no"). */
  readonly caFile?: string
  /** yes: a client certificate is required; optional: checked if presented; no: not asked for. */
  readonly authClients: "yes" | "no" | "optional"
}

/** The default user's password: from a file, the environment, or (visible in `ps`) a flag's value. */
export type RequirePassSource = { readonly file: string } | { readonly env: string } | { readonly value: string }

/** The environment variable that may hold the default user's password. */
export const REQUIREPASS_ENV = "RAFT_KV_REQUIREPASS"

/** The cluster secret is read at start (src/node/PeerCredentials.ts), from a file or the environment. */
export type ClusterSecretSource = { readonly file: string } | { readonly env: string }

export interface PeerTlsFiles {
  readonly certFile: string
  readonly keyFile: string
  readonly caFile: string
}

/** The environment variable that may hold the cluster secret (kept out of `ps`, unlike a flag). */
export const CLUSTER_SECRET_ENV = "RAFT_KV_CLUSTER_SECRET"

/** The catch-up margin behind a snapshot: 5000 entries (etcd's choice), at most half an interval. */
export const snapshotKeepEntriesFor = (snapshotEntries: number) => Math.min(5000, Math.floor(snapshotEntries / 2))

export class ConfigError {
  readonly _tag = "ConfigError"
  constructor(readonly message: string) {}
}

export type ParsedArgs = { readonly _tag: "Help"; readonly text: string } | { readonly _tag: "Run"; readonly config: NodeConfig }

export const HELP = `Usage: raft-kv --id N --cluster ADDR1,ADDR2,... [options]
       raft-kv --id N --join ADDR --peer-address ADDR [options]

A Raft-replicated key-value server that speaks the Redis protocol.

  --id N                   this node's id: its position in --cluster, from 1 (required)
  --cluster A,B,...        peer (Raft) address of every node of a new cluster, http://host:port
                           or host:port; position N is node N; every node gets the same list.
                           Default: a single-node cluster on 127.0.0.1:<port + 10000>
  --join A                 start a node that joins a running cluster instead: A is the peer
                           address of any member. The node waits until an operator adds it
                           (RAFT.NODE ADD N <its --peer-address> on any member), then catches up.
                           Its id must be new: never one a removed node had.
  --peer-address A         with --join: host:port this node listens on for peers (what
                           RAFT.NODE ADD names)
  --port P                 Redis client port (default 6379)
  --host H                 address the Redis listener binds (default 127.0.0.1)
  --advertise-host H       the host clients reach this node at, if not --host (NAT, 0.0.0.0);
  --advertise-port P       and the port: what CLUSTER SLOTS/SHARDS/NODES and ROLE tell clients
  --data-dir D             WAL and engine files (default ./data/node<id>)
  --engine memory|level    storage engine (default memory)
  --tick-ms T              Raft tick in milliseconds (default 100)
  --election-ticks E       election timeout in ticks, randomized in [E, 2E) (default 10)
  --heartbeat-ticks H      leader heartbeat interval in ticks (default 1)
  --request-timeout-ms R   a client gets CLUSTERDOWN after waiting this long for a quorum (default 5000)
  --snapshot-entries N     snapshot the state and compact the log every N applied entries
                           (default 100000; SAVE or BGSAVE take one on demand)
  --read-mode M            how reads are served unless a client picks (CLIENT READMODE):
                           linearizable (default; a heartbeat round per batch of reads),
                           lease (the leader answers from its read lease, no round; assumes
                           the clocks drift less than the lease margin), or stale (any node
                           answers from its own state at once, possibly behind)
  --lease-margin-ticks L   a read lease lasts election-ticks - L ticks after a heartbeat a
                           quorum acknowledged (default 2: 80% of the election timeout)
  --maxclients N           client connections beyond N are refused (default 10000)
  --metrics-port P         serve GET /metrics (Prometheus text format) and GET /health over
                           plain HTTP on port P (default: off)
  --metrics-host H         address the metrics listener binds (default: --host)
  --health-max-apply-lag N /health is 503 once the applied index lags the commit index by more
                           than N entries (default 1000)
  --log-format text|json   log lines as logfmt text (default) or one JSON object per line
  --idle-gc on|off         once the node has been idle for a few seconds after its heap grew
                           (a bulk load), run a full garbage collection so the memory goes back
                           to the system (default on; each is logged with event=idle_gc)
  -h, --help               show this help

Securing the client port (docs/operations.md, "Security"), with redis-server's flags:
  --requirepass-file F     the default user's password, read from F (AUTH <password>).
                           Or put it in the environment variable ${REQUIREPASS_ENV}.
                           (--requirepass P works too, but P shows in ps.)
  --aclfile F              users, passwords and permissions in redis-server's ACL file syntax
  --tls-port P             serve clients with TLS on port P (--port 0: TLS only)
  --tls-cert-file F        the server's certificate (PEM) for --tls-port
  --tls-key-file F         its private key (PEM)
  --tls-ca-cert-file F     the CA client certificates must be signed by
  --tls-auth-clients yes|no|optional
                           require a client certificate (default yes), ask for none, or check
                           one only if presented

Securing the peer port (docs/operations.md); without either, anyone who reaches it can send
Raft messages. Both may be used together.
  --cluster-secret-file F  a file holding a secret every node shares (at least 16 bytes): a
                           peer proves it knows it before any of its messages is accepted.
                           Or put the secret in the environment variable ${CLUSTER_SECRET_ENV}.
  --peer-tls-cert-file F   mutual TLS: this node's certificate (PEM), as server and as client
  --peer-tls-key-file F    its private key (PEM)
  --peer-tls-ca-cert-file F
                           the CA certificate (PEM) every peer's certificate must be signed by

Example (node 1 of the Procfile cluster):
  raft-kv --id 1 --cluster http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379 --port 63791
A fourth node joining it (then, on any member: redis-cli -p 63791 RAFT.NODE ADD 4 127.0.0.1:42379):
  raft-kv --id 4 --join 127.0.0.1:12379 --peer-address 127.0.0.1:42379 --port 63794
`

const FLAGS = new Set([
  "id", "cluster", "port", "host", "data-dir", "engine", "tick-ms", "election-ticks", "heartbeat-ticks", "request-timeout-ms", "snapshot-entries",
  "cluster-secret-file", "peer-tls-cert-file", "peer-tls-key-file", "peer-tls-ca-cert-file", "read-mode", "lease-margin-ticks",
  "maxclients", "requirepass", "requirepass-file", "aclfile", "tls-port", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients",
  "join", "peer-address", "advertise-host", "advertise-port", "metrics-port", "metrics-host", "health-max-apply-lag", "log-format", "idle-gc"
])

const PEER_TLS_FLAGS = ["peer-tls-cert-file", "peer-tls-key-file", "peer-tls-ca-cert-file"] as const

/** The peer-security flags: where the secret comes from and the TLS files (read at start, not here). */
const parsePeerSecurity = (
  flags: Map<string, string>,
  env: Readonly<Record<string, string | undefined>>
): Pick<NodeConfig, "clusterSecret" | "peerTls"> | ConfigError => {
  const secretFile = flags.get("cluster-secret-file")
  const secretInEnv = env[CLUSTER_SECRET_ENV] !== undefined
  if (secretFile !== undefined && secretInEnv) {
    return new ConfigError(`the cluster secret is given twice: in --cluster-secret-file and in ${CLUSTER_SECRET_ENV} (keep one)`)
  }
  const given = PEER_TLS_FLAGS.filter((flag) => flags.has(flag))
  if (given.length > 0 && given.length < PEER_TLS_FLAGS.length) {
    const missing = PEER_TLS_FLAGS.filter((flag) => !flags.has(flag)).map((flag) => `--${flag}`)
    return new ConfigError(`mutual TLS needs ${missing.join(" and ")} too (the three --peer-tls-* flags go together)`)
  }
  return {
    ...(secretFile !== undefined ? { clusterSecret: { file: secretFile } } : secretInEnv ? { clusterSecret: { env: CLUSTER_SECRET_ENV } } : {}),
    ...(given.length > 0
      ? { peerTls: { certFile: flags.get("peer-tls-cert-file")!, keyFile: flags.get("peer-tls-key-file")!, caFile: flags.get("peer-tls-ca-cert-file")! } }
      : {})
  }
}

/** Who may use the client port: the default user's password or an ACL file (not both). */
const parseClientAuth = (
  flags: Map<string, string>,
  env: Readonly<Record<string, string | undefined>>
): Pick<NodeConfig, "requirePass" | "aclFile"> | ConfigError => {
  const sources: Array<RequirePassSource> = []
  if (flags.has("requirepass")) sources.push({ value: flags.get("requirepass")! })
  if (flags.has("requirepass-file")) sources.push({ file: flags.get("requirepass-file")! })
  if (env[REQUIREPASS_ENV] !== undefined) sources.push({ env: REQUIREPASS_ENV })
  if (sources.length > 1) {
    return new ConfigError(`the default user's password is given more than once (--requirepass, --requirepass-file, ${REQUIREPASS_ENV}): keep one`)
  }
  const requirePass = sources[0]
  if (requirePass !== undefined && "value" in requirePass && requirePass.value.length === 0) {
    return new ConfigError("--requirepass is empty (leave it out to need no password)")
  }
  const aclFile = flags.get("aclfile")
  if (aclFile !== undefined && requirePass !== undefined) {
    return new ConfigError("--aclfile and a requirepass both set the default user's password: set it in the ACL file (user default on >password ...)")
  }
  return { ...(requirePass !== undefined ? { requirePass } : {}), ...(aclFile !== undefined ? { aclFile } : {}) }
}

const CLIENT_TLS_FILES = ["tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients"] as const

/** TLS on the client port (redis-server's flag names). */
const parseClientTls = (flags: Map<string, string>, tlsPort: number): Pick<NodeConfig, "clientTls"> | ConfigError => {
  if (tlsPort === 0) {
    const stray = CLIENT_TLS_FILES.find((flag) => flags.has(flag))
    return stray === undefined ? {} : new ConfigError(`--${stray} needs --tls-port (the port that serves clients with TLS)`)
  }
  const certFile = flags.get("tls-cert-file")
  const keyFile = flags.get("tls-key-file")
  if (certFile === undefined || keyFile === undefined) return new ConfigError("--tls-port needs --tls-cert-file and --tls-key-file")
  const authClients = flags.get("tls-auth-clients") ?? "yes"
  if (authClients !== "yes" && authClients !== "no" && authClients !== "optional") return new ConfigError("--tls-auth-clients must be yes, no or optional")
  const caFile = flags.get("tls-ca-cert-file")
  if (caFile === undefined && authClients !== "no") {
    return new ConfigError(`--tls-auth-clients ${authClients} needs --tls-ca-cert-file (the CA that signs client certificates), or use --tls-auth-clients no`)
  }
  return { clientTls: { port: tlsPort, certFile, keyFile, authClients, ...(caFile !== undefined ? { caFile } : {}) } }
}

const IntegerFromFlag = (flag: string, min: number, max: number) =>
  Schema.NumberFromString.pipe(
    Schema.int({ message: () => `--${flag} must be a whole number` }),
    Schema.between(min, max, { message: () => `--${flag} must be between ${min} and ${max}` })
  )

const Flags = Schema.Struct({
  id: IntegerFromFlag("id", 1, 65535),
  port: IntegerFromFlag("port", 0, 65535),
  "tls-port": IntegerFromFlag("tls-port", 0, 65535),
  maxclients: IntegerFromFlag("maxclients", 1, 1_000_000),
  "tick-ms": IntegerFromFlag("tick-ms", 1, 60_000),
  "election-ticks": IntegerFromFlag("election-ticks", 2, 10_000),
  "heartbeat-ticks": IntegerFromFlag("heartbeat-ticks", 1, 10_000),
  "request-timeout-ms": IntegerFromFlag("request-timeout-ms", 1, 3_600_000),
  "snapshot-entries": IntegerFromFlag("snapshot-entries", 10, 1_000_000_000),
  "lease-margin-ticks": IntegerFromFlag("lease-margin-ticks", 1, 10_000),
  "metrics-port": IntegerFromFlag("metrics-port", 0, 65535),
  "health-max-apply-lag": IntegerFromFlag("health-max-apply-lag", 0, 1_000_000_000),
  "log-format": Schema.Literal("text", "json").annotations({
    message: () => ({ message: "--log-format must be text or json", override: true })
  }),
  "idle-gc": Schema.Literal("on", "off").annotations({
    message: () => ({ message: "--idle-gc must be on or off", override: true })
  }),
  "read-mode": Schema.Literal("linearizable", "lease", "stale").annotations({
    message: () => ({ message: "--read-mode must be linearizable, lease or stale", override: true })
  }),
  engine: Schema.Literal("memory", "level").annotations({
    message: () => ({ message: "--engine must be memory or level", override: true })
  })
})

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

const parseFlagAddress = (flag: string, text: string | undefined): HostPort | ConfigError | undefined => {
  if (text === undefined) return undefined
  return parseHostPort(text) ?? new ConfigError(`--${flag} '${text}' is not host:port (port 1..65535)`)
}

/** --join, --peer-address, --advertise-host/--advertise-port: a joining node's addresses, and what clients are told. */
const parseJoining = (
  flags: Map<string, string>
): Pick<NodeConfig, "join" | "peerAddress" | "advertiseHost" | "advertisePort"> | ConfigError => {
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
  const advertisePortText = flags.get("advertise-port")
  const advertisePort = advertisePortText === undefined ? undefined : Number(advertisePortText)
  if (advertisePort !== undefined && (!Number.isInteger(advertisePort) || advertisePort < 1 || advertisePort > 65535 || !/^\d+$/.test(advertisePortText!))) {
    return new ConfigError("--advertise-port must be between 1 and 65535")
  }
  const advertiseHost = flags.get("advertise-host")
  if (advertiseHost !== undefined && (advertiseHost.length === 0 || /[\s,@]/.test(advertiseHost))) {
    return new ConfigError(`--advertise-host '${advertiseHost}' is not a host name or address`)
  }
  return {
    ...(join !== undefined ? { join } : {}),
    ...(peerAddress !== undefined ? { peerAddress } : {}),
    ...(advertiseHost !== undefined ? { advertiseHost } : {}),
    ...(advertisePort !== undefined ? { advertisePort } : {})
  }
}

const gatherFlags = (argv: ReadonlyArray<string>): Map<string, string> | ConfigError | "help" => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "-h" || arg === "--help") return "help"
    if (!arg.startsWith("--")) return new ConfigError(`unexpected argument '${arg}'`)
    const eq = arg.indexOf("=")
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    if (!FLAGS.has(name)) return new ConfigError(`unknown flag --${name}`)
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || (eq < 0 && value.startsWith("--"))) return new ConfigError(`--${name} needs a value`)
    if (flags.has(name)) return new ConfigError(`--${name} is given twice`)
    flags.set(name, value)
  }
  return flags
}

export const parseArgs = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = process.env
): Either.Either<ParsedArgs, ConfigError> => {
  const flags = gatherFlags(argv)
  if (flags === "help") return Either.right({ _tag: "Help", text: HELP })
  if (flags instanceof ConfigError) return Either.left(flags)
  if (!flags.has("id")) return Either.left(new ConfigError("--id is required (this node's position in --cluster)"))

  const decoded = Schema.decodeUnknownEither(Flags)({
    id: flags.get("id"),
    port: flags.get("port") ?? "6379",
    "tls-port": flags.get("tls-port") ?? "0",
    maxclients: flags.get("maxclients") ?? "10000",
    "tick-ms": flags.get("tick-ms") ?? "100",
    "election-ticks": flags.get("election-ticks") ?? "10",
    "heartbeat-ticks": flags.get("heartbeat-ticks") ?? "1",
    "request-timeout-ms": flags.get("request-timeout-ms") ?? "5000",
    "snapshot-entries": flags.get("snapshot-entries") ?? "100000",
    "lease-margin-ticks": flags.get("lease-margin-ticks") ?? "2",
    "read-mode": flags.get("read-mode") ?? "linearizable",
    "metrics-port": flags.get("metrics-port") ?? "0",
    "health-max-apply-lag": flags.get("health-max-apply-lag") ?? "1000",
    "log-format": flags.get("log-format") ?? "text",
    "idle-gc": flags.get("idle-gc") ?? "on",
    engine: flags.get("engine") ?? "memory"
  })
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    const flag = issue?.path[0]
    const message = issue?.message ?? "invalid flags"
    // Schema's own messages (e.g. for non-numbers) do not name the flag: add it.
    return Either.left(new ConfigError(message.startsWith("--") ? message : `--${String(flag)}: ${flags.get(String(flag))} is not a valid value (${message})`))
  }
  const values = decoded.right

  const host = flags.get("host") ?? "127.0.0.1"
  const tlsPort = values["tls-port"]
  if (values.port === 0 && tlsPort === 0) return Either.left(new ConfigError("--port 0 turns plain TCP off: give --tls-port, or the node serves no clients"))
  if (tlsPort !== 0 && tlsPort === values.port) return Either.left(new ConfigError(`--tls-port ${tlsPort} is also --port`))
  const clientTls = parseClientTls(flags, tlsPort)
  if (clientTls instanceof ConfigError) return Either.left(clientTls)
  const clientAuth = parseClientAuth(flags, env)
  if (clientAuth instanceof ConfigError) return Either.left(clientAuth)
  const joining = parseJoining(flags)
  if (joining instanceof ConfigError) return Either.left(joining)
  const clusterText = flags.get("cluster")
  const peers: Array<PeerAddress> = []
  if (joining.join !== undefined) {
    // A joining node knows no member list: the leader's log tells it once it is added.
  } else if (clusterText === undefined) {
    if (values.id !== 1) return Either.left(new ConfigError(`--id ${values.id} needs --cluster (without it the node is a single-node cluster, id 1)`))
    const base = values.port === 0 ? tlsPort : values.port
    if (base + 10000 > 65535) return Either.left(new ConfigError(`without --cluster the peer port is --port + 10000, which exceeds 65535`))
    peers.push({ id: 1, host: "127.0.0.1", port: base + 10000 })
  } else {
    const parts = clusterText.split(",")
    for (let i = 0; i < parts.length; i++) {
      const address = parseAddress(parts[i], i + 1)
      if (address instanceof ConfigError) return Either.left(address)
      peers.push(address)
    }
    const seen = new Set<string>()
    for (const peer of peers) {
      const key = `${peer.host}:${peer.port}`
      if (seen.has(key)) return Either.left(new ConfigError(`--cluster lists ${key} twice`))
      seen.add(key)
    }
  }
  if (joining.join === undefined && values.id > peers.length) {
    return Either.left(
      new ConfigError(`--id ${values.id} is outside the cluster of ${peers.length} node${peers.length === 1 ? "" : "s"} (--cluster lists node 1..${peers.length})`)
    )
  }
  if (values["election-ticks"] <= values["heartbeat-ticks"]) {
    return Either.left(new ConfigError(`--election-ticks (${values["election-ticks"]}) must be greater than --heartbeat-ticks (${values["heartbeat-ticks"]})`))
  }
  if (values["election-ticks"] - values["lease-margin-ticks"] <= values["heartbeat-ticks"]) {
    return Either.left(
      new ConfigError(`--lease-margin-ticks (${values["lease-margin-ticks"]}) leaves no lease: election-ticks - margin must exceed --heartbeat-ticks (${values["heartbeat-ticks"]})`)
    )
  }
  const peerSecurity = parsePeerSecurity(flags, env)
  if (peerSecurity instanceof ConfigError) return Either.left(peerSecurity)
  const self = joining.peerAddress ?? peers[values.id - 1]
  const peerFlag = joining.peerAddress !== undefined ? "--peer-address" : "--cluster"
  for (const [flag, port] of [["--port", values.port], ["--tls-port", tlsPort]] as const) {
    if (port !== 0 && self.port === port && (self.host === host || host === "0.0.0.0")) {
      return Either.left(new ConfigError(`${flag} ${port} is also node ${values.id}'s peer port in ${peerFlag}`))
    }
  }

  const metrics = parseMetrics(flags, values["metrics-port"], host, self, [values.port, tlsPort])
  if (metrics instanceof ConfigError) return Either.left(metrics)

  return Either.right({
    _tag: "Run",
    config: {
      id: values.id,
      peers,
      host,
      port: values.port,
      dataDir: flags.get("data-dir") ?? `./data/node${values.id}`,
      engine: values.engine,
      readMode: values["read-mode"],
      leaseMarginTicks: values["lease-margin-ticks"],
      tickMs: values["tick-ms"],
      electionTicks: values["election-ticks"],
      heartbeatTicks: values["heartbeat-ticks"],
      requestTimeoutMs: values["request-timeout-ms"],
      snapshotEntries: values["snapshot-entries"],
      snapshotKeepEntries: snapshotKeepEntriesFor(values["snapshot-entries"]),
      ...joining,
      ...peerSecurity,
      maxClients: values.maxclients,
      ...clientTls,
      ...clientAuth,
      ...metrics,
      healthMaxApplyLag: values["health-max-apply-lag"],
      logFormat: values["log-format"],
      idleGc: values["idle-gc"] === "on"
    }
  })
}

/** --metrics-port and --metrics-host: the HTTP listener, on a port no other listener of this node uses. */
const parseMetrics = (
  flags: Map<string, string>,
  port: number,
  host: string,
  peer: HostPort,
  clientPorts: ReadonlyArray<number>
): Pick<NodeConfig, "metricsPort" | "metricsHost"> | ConfigError => {
  const metricsHost = flags.get("metrics-host")
  if (port === 0) {
    if (metricsHost !== undefined) return new ConfigError("--metrics-host needs --metrics-port (the port that serves /metrics and /health)")
    if (flags.has("health-max-apply-lag")) return new ConfigError("--health-max-apply-lag needs --metrics-port (it sets when /health says unhealthy)")
    return {}
  }
  if (metricsHost !== undefined && (metricsHost.length === 0 || /[\s,@/]/.test(metricsHost))) {
    return new ConfigError(`--metrics-host '${metricsHost}' is not a host name or address`)
  }
  if (clientPorts.includes(port)) return new ConfigError(`--metrics-port ${port} is also a client port (--port or --tls-port)`)
  const bound = metricsHost ?? host
  if (peer.port === port && (peer.host === bound || bound === "0.0.0.0")) return new ConfigError(`--metrics-port ${port} is also this node's peer port`)
  return { metricsPort: port, metricsHost: bound }
}
