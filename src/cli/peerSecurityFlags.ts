/**
 * Who may talk to the peer port: a cluster secret every node shares and mutual TLS. Only where
 * they come from is decided here; the files are read at start (src/node/PeerCredentials.ts).
 */
import { ConfigError, type Environment, type GivenFlags } from "./flags.js"

export interface PeerSecurityConfig {
  /** Where the peers' shared secret comes from (never the secret itself); absent: no secret. */
  readonly clusterSecret?: ClusterSecretSource
  /** Mutual TLS on peer connections; absent: plain TCP. */
  readonly peerTls?: PeerTlsFiles
}

/** The cluster secret is read at start (src/node/PeerCredentials.ts), from a file or the environment. */
export type ClusterSecretSource = { readonly file: string } | { readonly env: string }

export interface PeerTlsFiles {
  readonly certFile: string
  readonly keyFile: string
  readonly caFile: string
}

/** The environment variable that may hold the cluster secret (kept out of `ps`, unlike a flag). */
export const CLUSTER_SECRET_ENV = "RAFT_KV_CLUSTER_SECRET"

const PEER_TLS_FLAGS = ["peer-tls-cert-file", "peer-tls-key-file", "peer-tls-ca-cert-file"] as const

export const PEER_SECURITY_FLAGS = ["cluster-secret-file", ...PEER_TLS_FLAGS]

/** The section on securing the peer port. */
export const PEER_SECURITY_HELP = `Securing the peer port (docs/operations.md); without either, anyone who reaches it can send
Raft messages. Both may be used together.
  --cluster-secret-file F  a file holding a secret every node shares (at least 16 bytes): a
                           peer proves it knows it before any of its messages is accepted.
                           Or put the secret in the environment variable ${CLUSTER_SECRET_ENV}.
  --peer-tls-cert-file F   mutual TLS: this node's certificate (PEM), as server and as client
  --peer-tls-key-file F    its private key (PEM)
  --peer-tls-ca-cert-file F
                           the CA certificate (PEM) every peer's certificate must be signed by
`

export const parsePeerSecurity = (flags: GivenFlags, env: Environment): PeerSecurityConfig | ConfigError => {
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
