/**
 * --port, --host, --advertise-host and --advertise-port: where the plain-TCP client listener binds,
 * and the address clients are told to use (CLUSTER SLOTS/SHARDS/NODES, ROLE).
 */
import { ConfigError, type DecodedFlag, type DecodedValues, type GivenFlags, IntegerFromFlag } from "./flags.js"

export interface ClientAddressConfig {
  readonly host: string
  /** The plain-TCP client port; 0: none (clients connect with TLS on `clientTls.port` only). */
  readonly port: number
  /** The client address announced to the cluster, when clients reach this node elsewhere than --host/--port (NAT). */
  readonly advertiseHost?: string
  readonly advertisePort?: number
}

/** The group's flags read as text; the decoded ones are in CLIENT_ADDRESS_DECODED. */
export const CLIENT_ADDRESS_FLAGS = ["host", "advertise-host", "advertise-port"]

export const CLIENT_ADDRESS_DECODED = {
  port: { schema: IntegerFromFlag("port", 0, 65535), absent: "6379" }
} satisfies Record<string, DecodedFlag>

export const CLIENT_ADDRESS_HELP = `  --port P                 Redis client port (default 6379)
  --host H                 address the Redis listener binds (default 127.0.0.1)
  --advertise-host H       the host clients reach this node at, if not --host (NAT, 0.0.0.0);
  --advertise-port P       and the port: what CLUSTER SLOTS/SHARDS/NODES and ROLE tell clients
`

export const parseClientAddress = (flags: GivenFlags, values: DecodedValues<typeof CLIENT_ADDRESS_DECODED>): ClientAddressConfig | ConfigError => {
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
    host: flags.get("host") ?? "127.0.0.1",
    port: values.port,
    ...(advertiseHost !== undefined ? { advertiseHost } : {}),
    ...(advertisePort !== undefined ? { advertisePort } : {})
  }
}
