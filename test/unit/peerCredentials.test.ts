/**
 * The peer-security flags (src/cli/peerSecurityFlags.ts) and reading what they point to at start
 * (src/node/PeerCredentials.ts): where the secret comes from, the TLS trio, every refusal.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Either } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { HELP, parseArgs } from "../../src/cli/Config.js"
import { CredentialsError, loadPeerCredentials } from "../../src/node/PeerCredentials.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-creds-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const file = (name: string, content: string, mode = 0o600) => {
  const full = path.join(dir, name)
  fs.writeFileSync(full, content, { mode })
  fs.chmodSync(full, mode)
  return full
}

const run = (argv: Array<string>, env: Record<string, string> = {}) => {
  const result = parseArgs(["--id", "1", ...argv], env)
  if (Either.isLeft(result)) return result.left.message
  if (result.right._tag !== "Run") throw new Error("help")
  return result.right.config
}

describe("peer-security flags", () => {
  it("take the secret from a file or the environment, never from a flag's value", () => {
    expect(run(["--cluster-secret-file", "/etc/raft-kv/secret"])).toMatchObject({ clusterSecret: { file: "/etc/raft-kv/secret" } })
    expect(run([], { RAFT_KV_CLUSTER_SECRET: "x" })).toMatchObject({ clusterSecret: { env: "RAFT_KV_CLUSTER_SECRET" } })
    const none = run([])
    expect(typeof none === "object" && "clusterSecret" in none).toBe(false)
    // The configuration never holds the secret itself.
    expect(JSON.stringify(run([], { RAFT_KV_CLUSTER_SECRET: "do-not-copy-me-anywhere" }))).not.toContain("do-not-copy-me")
    expect(run(["--cluster-secret-file", "f"], { RAFT_KV_CLUSTER_SECRET: "x" })).toBe(
      "the cluster secret is given twice: in --cluster-secret-file and in RAFT_KV_CLUSTER_SECRET (keep one)"
    )
    expect(run(["--cluster-secret", "hunter2"])).toBe("unknown flag --cluster-secret")
  })

  it("take the three TLS files together", () => {
    expect(run(["--peer-tls-cert-file", "c.pem", "--peer-tls-key-file", "k.pem", "--peer-tls-ca-cert-file", "ca.pem"])).toMatchObject({
      peerTls: { certFile: "c.pem", keyFile: "k.pem", caFile: "ca.pem" }
    })
    expect(run(["--peer-tls-cert-file", "c.pem"])).toBe("mutual TLS needs --peer-tls-key-file and --peer-tls-ca-cert-file too (the three --peer-tls-* flags go together)")
    expect(run(["--peer-tls-cert-file", "c.pem", "--peer-tls-ca-cert-file", "ca.pem"])).toMatch(/^mutual TLS needs --peer-tls-key-file too/)
  })

  it("are in --help", () => {
    for (const flag of ["--cluster-secret-file", "RAFT_KV_CLUSTER_SECRET", "--peer-tls-cert-file", "--peer-tls-key-file", "--peer-tls-ca-cert-file"]) {
      expect(HELP).toContain(flag)
    }
  })
})

describe("loading peer credentials", () => {
  const error = (thunk: () => unknown) => {
    try {
      thunk()
    } catch (e) {
      expect(e).toBeInstanceOf(CredentialsError)
      return (e as Error).message
    }
    throw new Error("expected a CredentialsError")
  }

  it("reads the secret file without its trailing newline, and warns when others can read it", () => {
    const secret = file("secret", "0123456789abcdef0123456789abcdef\n")
    const loaded = loadPeerCredentials({ clusterSecret: { file: secret } })
    expect(loaded.credentials.secret?.toString()).toBe("0123456789abcdef0123456789abcdef")
    expect(loaded.warnings).toEqual([])
    const open = file("open-secret", "0123456789abcdef0123456789abcdef\n", 0o644)
    expect(loadPeerCredentials({ clusterSecret: { file: open } }).warnings).toEqual([
      `the cluster secret file ${open} is readable by other users (mode 644); chmod 600 it`
    ])
  })

  it("reads the secret from the environment", () => {
    const loaded = loadPeerCredentials({ clusterSecret: { env: "RAFT_KV_CLUSTER_SECRET" } }, { RAFT_KV_CLUSTER_SECRET: "a long enough shared secret" })
    expect(loaded.credentials.secret?.toString()).toBe("a long enough shared secret")
    expect(loaded.credentials.tls).toBeUndefined()
  })

  it("refuses a missing, short or huge secret with the reason", () => {
    expect(error(() => loadPeerCredentials({ clusterSecret: { file: path.join(dir, "nope") } }))).toMatch(/^cannot read --cluster-secret-file .*nope: ENOENT/)
    expect(error(() => loadPeerCredentials({ clusterSecret: { file: file("short", "tooshort\n") } }))).toMatch(
      /has 8 bytes; it needs at least 16 \(e\.g\. openssl rand -hex 32\)$/
    )
    expect(error(() => loadPeerCredentials({ clusterSecret: { env: "S" } }, { S: "" }))).toMatch(/^the cluster secret in S has 0 bytes/)
    expect(error(() => loadPeerCredentials({ clusterSecret: { file: file("huge", "x".repeat(5000)) } }))).toMatch(/more than 4096 bytes/)
  })

  it("refuses TLS files that are missing or do not fit together, at start", () => {
    expect(error(() => loadPeerCredentials({ peerTls: { certFile: path.join(dir, "none.pem"), keyFile: "k", caFile: "c" } }))).toMatch(
      /^cannot read --peer-tls-cert-file .*none\.pem/
    )
    const openssl = (...args: Array<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" })
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "a.key", "-out", "a.crt", "-days", "1", "-subj", "/CN=a")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "b.key", "-out", "b.crt", "-days", "1", "-subj", "/CN=b")
    const at = (name: string) => path.join(dir, name)
    expect(loadPeerCredentials({ peerTls: { certFile: at("a.crt"), keyFile: at("a.key"), caFile: at("a.crt") } }).credentials.tls).toBeDefined()
    expect(error(() => loadPeerCredentials({ peerTls: { certFile: at("a.crt"), keyFile: at("b.key"), caFile: at("a.crt") } }))).toMatch(
      /^the peer TLS files cannot be used: .*key values mismatch/
    )
    expect(error(() => loadPeerCredentials({ peerTls: { certFile: at("a.crt"), keyFile: at("a.crt"), caFile: at("a.crt") } }))).toMatch(
      /^the peer TLS files cannot be used/
    )
  })
})
