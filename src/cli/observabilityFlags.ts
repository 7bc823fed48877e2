/** --metrics-port, --metrics-host, --health-max-apply-lag and --log-format: what the node tells its operators; --idle-gc: what it gives back. */
import type { HostPort } from "../node/Membership.js"
import { ChoiceFromFlag, ConfigError, type DecodedFlag, type DecodedValues, type GivenFlags, IntegerFromFlag } from "./flags.js"

export type LogFormat = "text" | "json"

export interface ObservabilityConfig {
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

/** The group's flags read as text; the decoded ones are in OBSERVABILITY_DECODED. */
export const OBSERVABILITY_FLAGS = ["metrics-host"]

export const OBSERVABILITY_DECODED = {
  "metrics-port": { schema: IntegerFromFlag("metrics-port", 0, 65535), absent: "0" },
  "health-max-apply-lag": { schema: IntegerFromFlag("health-max-apply-lag", 0, 1_000_000_000), absent: "1000" },
  "log-format": { schema: ChoiceFromFlag("log-format", "text", "json"), absent: "text" },
  "idle-gc": { schema: ChoiceFromFlag("idle-gc", "on", "off"), absent: "on" }
} satisfies Record<string, DecodedFlag>

export const OBSERVABILITY_HELP = `  --metrics-port P         serve GET /metrics (Prometheus text format) and GET /health over
                           plain HTTP on port P (default: off)
  --metrics-host H         address the metrics listener binds (default: --host)
  --health-max-apply-lag N /health is 503 once the applied index lags the commit index by more
                           than N entries (default 1000)
  --log-format text|json   log lines as logfmt text (default) or one JSON object per line
  --idle-gc on|off         once the node has been idle for a few seconds after its heap grew
                           (a bulk load), run a full garbage collection so the memory goes back
                           to the system (default on; each is logged with event=idle_gc)
`

/** --metrics-port and --metrics-host: the HTTP listener, on a port no other listener of this node uses. */
const parseMetrics = (
  flags: GivenFlags,
  port: number,
  host: string,
  peer: HostPort,
  clientPorts: ReadonlyArray<number>
): Pick<ObservabilityConfig, "metricsPort" | "metricsHost"> | ConfigError => {
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

/** `host` is the client listener's (--host), `peer` this node's peer address, `clientPorts` --port and --tls-port. */
export const parseObservability = (
  flags: GivenFlags,
  values: DecodedValues<typeof OBSERVABILITY_DECODED>,
  host: string,
  peer: HostPort,
  clientPorts: ReadonlyArray<number>
): ObservabilityConfig | ConfigError => {
  const metrics = parseMetrics(flags, values["metrics-port"], host, peer, clientPorts)
  if (metrics instanceof ConfigError) return metrics
  return { ...metrics, healthMaxApplyLag: values["health-max-apply-lag"], logFormat: values["log-format"], idleGc: values["idle-gc"] === "on" }
}
