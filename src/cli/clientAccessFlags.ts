/**
 * Who may use the client port, over what, and how many at once, with redis-server's flags: TLS on
 * a port of its own (--tls-*), the default user's password or an ACL file, --maxclients.
 */
import { ConfigError, type DecodedFlag, type DecodedValues, type Environment, type GivenFlags, IntegerFromFlag } from "./flags.js"

export interface ClientAccessConfig {
  /** Client connections (plain and TLS together) beyond this are refused: "-ERR max number of clients reached". */
  readonly maxClients: number
  /** TLS for clients on a port of its own; absent: no TLS listener. */
  readonly clientTls?: ClientTlsConfig
  /** Where the default user's password comes from (`requirepass`); absent: no password (or the ACL file's users). */
  readonly requirePass?: RequirePassSource
  /** The ACL file: the users, their passwords and permissions (redis-server's --aclfile). */
  readonly aclFile?: string
}

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

const CLIENT_TLS_FILES = ["tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients"] as const

/** The group's flags read as text; the decoded ones are in CLIENT_ACCESS_DECODED. */
export const CLIENT_ACCESS_FLAGS = ["requirepass", "requirepass-file", "aclfile", ...CLIENT_TLS_FILES]

export const CLIENT_ACCESS_DECODED = {
  "tls-port": { schema: IntegerFromFlag("tls-port", 0, 65535), absent: "0" },
  maxclients: { schema: IntegerFromFlag("maxclients", 1, 1_000_000), absent: "10000" }
} satisfies Record<string, DecodedFlag>

/** --maxclients, among the general options. */
export const MAXCLIENTS_HELP = `  --maxclients N           client connections beyond N are refused (default 10000)
`

/** The section on securing the client port. */
export const CLIENT_SECURITY_HELP = `Securing the client port (docs/operations.md, "Security"), with redis-server's flags:
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
`

/** Who may use the client port: the default user's password or an ACL file (not both). */
const parseClientAuth = (flags: GivenFlags, env: Environment): Pick<ClientAccessConfig, "requirePass" | "aclFile"> | ConfigError => {
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

/** TLS on the client port (redis-server's flag names). */
const parseClientTls = (flags: GivenFlags, tlsPort: number): Pick<ClientAccessConfig, "clientTls"> | ConfigError => {
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

/** `port` is the plain-TCP client port (--port): the TLS one must differ, and one of them must be on. */
export const parseClientAccess = (
  flags: GivenFlags,
  env: Environment,
  values: DecodedValues<typeof CLIENT_ACCESS_DECODED>,
  port: number
): ClientAccessConfig | ConfigError => {
  const tlsPort = values["tls-port"]
  if (port === 0 && tlsPort === 0) return new ConfigError("--port 0 turns plain TCP off: give --tls-port, or the node serves no clients")
  if (tlsPort !== 0 && tlsPort === port) return new ConfigError(`--tls-port ${tlsPort} is also --port`)
  const clientTls = parseClientTls(flags, tlsPort)
  if (clientTls instanceof ConfigError) return clientTls
  const clientAuth = parseClientAuth(flags, env)
  if (clientAuth instanceof ConfigError) return clientAuth
  return { maxClients: values.maxclients, ...clientTls, ...clientAuth }
}
