/** Command-line flags: the seed's Procfile line, defaults, both address forms, every error. */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { parseArgs } from "../../src/cli/Config.js"

const SEED_CLUSTER = "http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379"

const config = (...argv: Array<string>) => {
  const result = parseArgs(argv)
  if (Either.isLeft(result)) throw new Error(result.left.message)
  if (result.right._tag !== "Run") throw new Error("help")
  return result.right.config
}
const failure = (...argv: Array<string>) => {
  const result = parseArgs(argv)
  if (Either.isRight(result)) throw new Error("expected an error")
  return result.left.message
}

describe("flags", () => {
  it("reads the seed's Procfile line with sane defaults", () => {
    expect(config("--id", "2", "--cluster", SEED_CLUSTER, "--port", "63792")).toEqual({
      id: 2,
      peers: [
        { id: 1, host: "127.0.0.1", port: 12379 },
        { id: 2, host: "127.0.0.1", port: 22379 },
        { id: 3, host: "127.0.0.1", port: 32379 }
      ],
      host: "127.0.0.1",
      port: 63792,
      dataDir: "./data/node2",
      engine: "memory",
      tickMs: 100,
      electionTicks: 10,
      heartbeatTicks: 1,
      requestTimeoutMs: 5000,
      snapshotEntries: 100_000,
      snapshotKeepEntries: 5000,
      readMode: "linearizable",
      leaseMarginTicks: 2,
      maxClients: 10000,
      healthMaxApplyLag: 1000,
      logFormat: "text",
      idleGc: true
    })
  })

  it("reads --snapshot-entries and derives the catch-up margin", () => {
    const parsed = parseArgs(["--id", "1", "--snapshot-entries", "1000"])
    expect(Either.isRight(parsed) && parsed.right._tag === "Run" && parsed.right.config).toMatchObject({ snapshotEntries: 1000, snapshotKeepEntries: 500 })
    const big = parseArgs(["--id", "1", "--snapshot-entries=1000000"])
    expect(Either.isRight(big) && big.right._tag === "Run" && big.right.config).toMatchObject({ snapshotKeepEntries: 5000 })
    expect(parseArgs(["--id", "1", "--snapshot-entries", "5"])).toEqual(Either.left(expect.objectContaining({ message: "--snapshot-entries must be between 10 and 1000000000" })))
  })

  it("accepts host:port addresses, --flag=value and every option", () => {
    const c = config("--id=1", "--cluster=a.example:7001,b.example:7002", "--port=7000", "--host", "0.0.0.0",
      "--data-dir", "/tmp/x", "--engine", "level", "--tick-ms", "50", "--election-ticks", "20", "--heartbeat-ticks", "2",
      "--request-timeout-ms", "1500")
    expect(c).toMatchObject({ id: 1, host: "0.0.0.0", port: 7000, dataDir: "/tmp/x", engine: "level", tickMs: 50, electionTicks: 20, heartbeatTicks: 2, requestTimeoutMs: 1500 })
    expect(c.peers[1]).toEqual({ id: 2, host: "b.example", port: 7002 })
  })

  it("runs a single-node cluster without --cluster", () => {
    expect(config("--id", "1", "--port", "7000").peers).toEqual([{ id: 1, host: "127.0.0.1", port: 17000 }])
  })

  it("shows help", () => {
    const result = parseArgs(["--help"])
    expect(Either.isRight(result) && result.right._tag === "Help" && result.right.text).toContain("--cluster")
  })

  it("explains every bad flag in one line that names it", () => {
    const messages = [
      failure("--id", "1", "--bogus", "1"),
      failure("--id"),
      failure("--cluster", SEED_CLUSTER),
      failure("--id", "4", "--cluster", SEED_CLUSTER),
      failure("--id", "1", "--cluster", SEED_CLUSTER, "--port", "http"),
      failure("--id", "1", "--cluster", SEED_CLUSTER, "--port", "70000"),
      failure("--id", "1", "--cluster", SEED_CLUSTER, "--engine", "rocks"),
      failure("--id", "1", "--cluster", "127.0.0.1:1,127.0.0.1:1"),
      failure("--id", "1", "--cluster", "nonsense"),
      failure("--id", "1", "--cluster", SEED_CLUSTER, "--election-ticks", "2", "--heartbeat-ticks", "2")
    ]
    expect(messages).toEqual([
      "unknown flag --bogus",
      "--id needs a value",
      "--id is required (this node's position in --cluster)",
      "--id 4 is outside the cluster of 3 nodes (--cluster lists node 1..3)",
      expect.stringMatching(/^--port/),
      "--port must be between 0 and 65535",
      "--engine must be memory or level",
      "--cluster lists 127.0.0.1:1 twice",
      "--cluster address 1 'nonsense' is not host:port or http://host:port",
      "--election-ticks (2) must be greater than --heartbeat-ticks (2)"
    ])
    for (const message of messages) expect(message).not.toContain("\n")
  })
})

describe("client security flags", () => {
  const run = (env: Record<string, string>, ...argv: Array<string>) => parseArgs(["--id", "1", "--port", "7000", ...argv], env)
  const ok = (env: Record<string, string>, ...argv: Array<string>) => {
    const result = run(env, ...argv)
    if (Either.isLeft(result) || result.right._tag !== "Run") throw new Error(Either.isLeft(result) ? result.left.message : "help")
    return result.right.config
  }
  const refused = (env: Record<string, string>, ...argv: Array<string>) => {
    const result = run(env, ...argv)
    if (Either.isRight(result)) throw new Error("expected an error")
    return result.left.message
  }

  it("takes the default user's password from a file, the environment or a flag, only one of them, never with --aclfile", () => {
    expect(ok({}, "--requirepass-file", "/etc/pw").requirePass).toEqual({ file: "/etc/pw" })
    expect(ok({ RAFT_KV_REQUIREPASS: "s3cret" }).requirePass).toEqual({ env: "RAFT_KV_REQUIREPASS" })
    expect(ok({}, "--requirepass", "s3cret").requirePass).toEqual({ value: "s3cret" })
    expect(ok({}).requirePass).toBeUndefined()
    expect(ok({}, "--aclfile", "/etc/users.acl").aclFile).toBe("/etc/users.acl")
    expect(refused({ RAFT_KV_REQUIREPASS: "x" }, "--requirepass-file", "/etc/pw")).toMatch(/given more than once/)
    expect(refused({}, "--requirepass", "")).toBe("--requirepass is empty (leave it out to need no password)")
    expect(refused({}, "--requirepass-file", "/etc/pw", "--aclfile", "/etc/users.acl")).toMatch(/^--aclfile and a requirepass both set the default user's password/)
  })

  it("reads --maxclients (default 10000, at least 1)", () => {
    expect(ok({}).maxClients).toBe(10000)
    expect(ok({}, "--maxclients", "3").maxClients).toBe(3)
    expect(refused({}, "--maxclients", "0")).toBe("--maxclients must be between 1 and 1000000")
  })

  it("serves TLS on --tls-port with redis-server's flags, and --port 0 turns plain TCP off", () => {
    expect(ok({}, "--tls-port", "7443", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-ca-cert-file", "ca.crt").clientTls).toEqual({
      port: 7443, certFile: "s.crt", keyFile: "s.key", caFile: "ca.crt", authClients: "yes"
    })
    expect(ok({}, "--tls-port", "7443", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-auth-clients", "no").clientTls).toEqual({
      port: 7443, certFile: "s.crt", keyFile: "s.key", authClients: "no"
    })
    expect(ok({}, "--tls-port", "7443", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "optional").clientTls?.authClients).toBe("optional")
    expect(ok({}).clientTls).toBeUndefined()
    const tlsOnly = parseArgs(["--id", "1", "--port", "0", "--tls-port", "7443", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-auth-clients", "no"], {})
    expect(Either.isRight(tlsOnly) && tlsOnly.right._tag === "Run" && tlsOnly.right.config).toMatchObject({ port: 0, peers: [{ id: 1, host: "127.0.0.1", port: 17443 }] })
  })

  it("explains every inconsistent TLS or port setting", () => {
    expect(refused({}, "--tls-cert-file", "s.crt")).toBe("--tls-cert-file needs --tls-port (the port that serves clients with TLS)")
    expect(refused({}, "--tls-port", "7443")).toBe("--tls-port needs --tls-cert-file and --tls-key-file")
    expect(refused({}, "--tls-port", "7443", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key")).toBe(
      "--tls-auth-clients yes needs --tls-ca-cert-file (the CA that signs client certificates), or use --tls-auth-clients no"
    )
    expect(refused({}, "--tls-port", "7443", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-auth-clients", "maybe")).toBe("--tls-auth-clients must be yes, no or optional")
    expect(refused({}, "--tls-port", "7000", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-auth-clients", "no")).toBe("--tls-port 7000 is also --port")
    expect(refused({}, "--tls-port", "17000", "--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-auth-clients", "no")).toBe("--tls-port 17000 is also node 1's peer port in --cluster")
    const noListener = parseArgs(["--id", "1", "--port", "0"], {})
    expect(Either.isLeft(noListener) && noListener.left.message).toBe("--port 0 turns plain TCP off: give --tls-port, or the node serves no clients")
  })
})

describe("metrics and log flags", () => {
  it("serves metrics on --metrics-port, on --host unless --metrics-host says otherwise", () => {
    expect(config("--id", "1", "--port", "7000").metricsPort).toBeUndefined()
    expect(config("--id", "1", "--port", "7000", "--host", "10.0.0.5", "--metrics-port", "9100")).toMatchObject({ metricsPort: 9100, metricsHost: "10.0.0.5" })
    expect(config("--id", "1", "--port", "7000", "--metrics-port", "9100", "--metrics-host", "0.0.0.0")).toMatchObject({ metricsPort: 9100, metricsHost: "0.0.0.0" })
    expect(config("--id", "1", "--metrics-port", "9100", "--health-max-apply-lag", "50").healthMaxApplyLag).toBe(50)
    expect(config("--id", "1", "--metrics-port", "0").metricsPort).toBeUndefined()
  })

  it("explains every wrong metrics setting", () => {
    expect(failure("--id", "1", "--metrics-port", "70000")).toBe("--metrics-port must be between 0 and 65535")
    expect(failure("--id", "1", "--metrics-port", "x")).toMatch(/^--metrics-port/)
    expect(failure("--id", "1", "--metrics-host", "0.0.0.0")).toBe("--metrics-host needs --metrics-port (the port that serves /metrics and /health)")
    expect(failure("--id", "1", "--health-max-apply-lag", "10")).toBe("--health-max-apply-lag needs --metrics-port (it sets when /health says unhealthy)")
    expect(failure("--id", "1", "--metrics-port", "9100", "--health-max-apply-lag", "-1")).toBe("--health-max-apply-lag must be between 0 and 1000000000")
    expect(failure("--id", "1", "--metrics-port", "9100", "--metrics-host", "a b")).toBe("--metrics-host 'a b' is not a host name or address")
    expect(failure("--id", "1", "--port", "7000", "--metrics-port", "7000")).toBe("--metrics-port 7000 is also a client port (--port or --tls-port)")
    expect(failure("--id", "1", "--port", "7000", "--metrics-port", "17000")).toBe("--metrics-port 17000 is also this node's peer port")
    // The same port on another address is another socket.
    expect(config("--id", "1", "--port", "7000", "--metrics-port", "17000", "--metrics-host", "10.0.0.5").metricsPort).toBe(17000)
  })

  it("logs as text by default, or as JSON with --log-format json", () => {
    expect(config("--id", "1").logFormat).toBe("text")
    expect(config("--id", "1", "--log-format", "json").logFormat).toBe("json")
    expect(failure("--id", "1", "--log-format", "xml")).toBe("--log-format must be text or json")
  })

  it("runs the idle GC unless --idle-gc off", () => {
    expect(config("--id", "1").idleGc).toBe(true)
    expect(config("--id", "1", "--idle-gc", "off").idleGc).toBe(false)
    expect(config("--id", "1", "--idle-gc=on").idleGc).toBe(true)
    expect(failure("--id", "1", "--idle-gc", "sometimes")).toBe("--idle-gc must be on or off")
  })

  it("states in --help the defaults the parser applies", () => {
    const help = parseArgs(["--help"])
    const text = Either.isRight(help) && help.right._tag === "Help" ? help.right.text : ""
    const defaults = config("--id", "1")
    /** The "(default X" a flag's help block states (the block runs to the next flag's line). */
    const stated = (flag: string): string => {
      const block = new RegExp(`^  ${flag} [\\s\\S]*?(?=^  -)`, "m").exec(text)?.[0] ?? ""
      const value = /\(default:? ([^;,:)\s]+)/.exec(block)?.[1]
      if (value === undefined) throw new Error(`--help states no default for ${flag}`)
      return value
    }
    const fields: ReadonlyArray<readonly [string, keyof typeof defaults]> = [
      ["--port", "port"], ["--host", "host"], ["--engine", "engine"], ["--tick-ms", "tickMs"], ["--election-ticks", "electionTicks"],
      ["--heartbeat-ticks", "heartbeatTicks"], ["--request-timeout-ms", "requestTimeoutMs"], ["--snapshot-entries", "snapshotEntries"],
      ["--lease-margin-ticks", "leaseMarginTicks"], ["--maxclients", "maxClients"], ["--health-max-apply-lag", "healthMaxApplyLag"]
    ]
    for (const [flag, field] of fields) expect([flag, stated(flag)]).toEqual([flag, String(defaults[field])])
    expect(stated("--data-dir").replace("<id>", "1")).toBe(defaults.dataDir)
    expect(stated("--idle-gc")).toBe(defaults.idleGc ? "on" : "off")
    expect(/^ {2}--read-mode[\s\S]*?(\w+) \(default/m.exec(text)?.[1]).toBe(defaults.readMode)
  })

  it("documents the new flags in --help", () => {
    const help = parseArgs(["--help"])
    const text = Either.isRight(help) && help.right._tag === "Help" ? help.right.text : ""
    for (const flag of ["--metrics-port P", "--metrics-host H", "--health-max-apply-lag N", "--log-format text|json", "--idle-gc on|off"]) expect(text).toContain(flag)
  })
})
