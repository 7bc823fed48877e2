/**
 * What this node proves itself with to its peers: the cluster secret and the mutual-TLS files,
 * read once at start from where the configuration says (a file or the environment). A missing
 * or unusable file stops the node at start with the reason, never later.
 */
import * as fs from "node:fs"
import * as tls from "node:tls"
import { Context, Effect, Layer } from "effect"
import type { NodeConfig as Config } from "../cli/Config.js"
import { NodeConfig } from "./NodeConfig.js"

/** Short secrets can be guessed offline from one recorded handshake; long ones are a wrong file. */
export const MIN_SECRET_BYTES = 16
export const MAX_SECRET_BYTES = 4096

export interface PeerTlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
  readonly ca: Buffer
}

export interface PeerCredentialsService {
  readonly secret: Buffer | undefined
  readonly tls: PeerTlsMaterial | undefined
}

export class PeerCredentials extends Context.Tag("raft-kv/PeerCredentials")<PeerCredentials, PeerCredentialsService>() {}

export class CredentialsError extends Error {
  override readonly name = "CredentialsError"
}

const readFile = (path: string, what: string): Buffer => {
  try {
    return fs.readFileSync(path)
  } catch (error) {
    throw new CredentialsError(`cannot read ${what} ${path}: ${(error as Error).message}`)
  }
}

/** The secret's bytes without surrounding whitespace (`openssl rand -hex 32 > f` ends with a newline). */
export const secretFrom = (raw: Buffer, where: string): Buffer => {
  const secret = Buffer.from(raw.toString("latin1").trim(), "latin1")
  if (secret.length < MIN_SECRET_BYTES) {
    throw new CredentialsError(`the cluster secret in ${where} has ${secret.length} bytes; it needs at least ${MIN_SECRET_BYTES} (e.g. openssl rand -hex 32)`)
  }
  if (secret.length > MAX_SECRET_BYTES) throw new CredentialsError(`the cluster secret in ${where} has more than ${MAX_SECRET_BYTES} bytes (the wrong file?)`)
  return secret
}

/** Read the configured credentials; also returns warnings worth a log line (e.g. a readable secret file). */
export const loadPeerCredentials = (
  config: Pick<Config, "clusterSecret" | "peerTls">,
  env: Readonly<Record<string, string | undefined>> = process.env
): { readonly credentials: PeerCredentialsService; readonly warnings: ReadonlyArray<string> } => {
  const warnings: Array<string> = []
  let secret: Buffer | undefined
  const source = config.clusterSecret
  if (source !== undefined && "file" in source) {
    secret = secretFrom(readFile(source.file, "--cluster-secret-file"), source.file)
    const mode = fs.statSync(source.file).mode
    if ((mode & 0o077) !== 0) {
      warnings.push(`the cluster secret file ${source.file} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`)
    }
  } else if (source !== undefined) {
    secret = secretFrom(Buffer.from(env[source.env] ?? "", "utf8"), source.env)
  }
  let material: PeerTlsMaterial | undefined
  if (config.peerTls !== undefined) {
    material = {
      cert: readFile(config.peerTls.certFile, "--peer-tls-cert-file"),
      key: readFile(config.peerTls.keyFile, "--peer-tls-key-file"),
      ca: readFile(config.peerTls.caFile, "--peer-tls-ca-cert-file")
    }
    try {
      // Fails now, with OpenSSL's reason, on a malformed file or a key that does not match.
      tls.createSecureContext(material)
    } catch (error) {
      throw new CredentialsError(`the peer TLS files cannot be used: ${(error as Error).message}`)
    }
  }
  return { credentials: { secret, tls: material }, warnings }
}

export const PeerCredentialsLive = Layer.effect(
  PeerCredentials,
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const { credentials, warnings } = yield* Effect.try({
      try: () => loadPeerCredentials(config),
      catch: (error) => (error instanceof CredentialsError ? error : new CredentialsError(String(error)))
    })
    for (const warning of warnings) yield* Effect.logWarning(warning)
    return credentials
  })
)
