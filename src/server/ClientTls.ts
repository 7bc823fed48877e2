/**
 * TLS on the client port, with redis-server's settings: the server's certificate and key, and the
 * CA that client certificates must be signed by (`--tls-auth-clients yes`: required; `optional`:
 * checked when one is presented; `no`: none asked for). Served by Node's own node:tls.
 *
 * The certificate can be renewed without a restart: on SIGHUP, and whenever one of the files
 * changes (checked every RELOAD_CHECK), the files are read again and, if they make a valid pair,
 * new connections get them; connections already open keep theirs. Files that cannot be used
 * (half-written, a key that does not match) leave the previous certificate in place, with a warning.
 */
import * as fs from "node:fs"
import type * as net from "node:net"
import * as tls from "node:tls"
import { Duration, Effect, Queue } from "effect"
import type { ClientTlsConfig } from "../cli/clientAccessFlags.js"

/** A TLS handshake not finished by then is dropped (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT = Duration.seconds(10)
/** How often the certificate files are checked for changes. */
export const RELOAD_CHECK = Duration.seconds(2)

export class ClientTlsError extends Error {
  override readonly name = "ClientTlsError"
}

export interface ClientTlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
  readonly ca: Buffer | undefined
}

const read = (path: string, flag: string): Buffer => {
  try {
    return fs.readFileSync(path)
  } catch (error) {
    throw new ClientTlsError(`cannot read --${flag} ${path}: ${(error as Error).message}`)
  }
}

/** Read the files and check that they can serve (a malformed file or a key that does not match fails here). */
export const readClientTls = (config: ClientTlsConfig): ClientTlsMaterial => {
  const material = {
    cert: read(config.certFile, "tls-cert-file"),
    key: read(config.keyFile, "tls-key-file"),
    ca: config.caFile === undefined ? undefined : read(config.caFile, "tls-ca-cert-file")
  }
  try {
    tls.createSecureContext(secureOptions(material))
  } catch (error) {
    throw new ClientTlsError(`the client TLS files cannot be used: ${(error as Error).message}`)
  }
  return material
}

const secureOptions = (material: ClientTlsMaterial): tls.SecureContextOptions => ({
  cert: material.cert,
  key: material.key,
  ...(material.ca !== undefined ? { ca: material.ca } : {})
})

/**
 * The TLS listener. `onSocket` gets each client whose handshake succeeded (and whose certificate
 * the setting accepts); `onRefused` each one refused, with the reason. Both only hand over.
 */
export const clientTlsServer = (
  config: ClientTlsConfig,
  material: ClientTlsMaterial,
  onSocket: (socket: tls.TLSSocket) => void,
  onRefused: (remote: string, reason: string) => void
): tls.Server => {
  const server = tls.createServer(
    {
      ...secureOptions(material),
      requestCert: config.authClients !== "no",
      // "optional" accepts a client without a certificate; one that presents a bad certificate is refused below.
      rejectUnauthorized: config.authClients === "yes",
      handshakeTimeout: Duration.toMillis(TLS_HANDSHAKE_TIMEOUT)
    },
    (socket) => {
      try {
        if (config.authClients === "optional" && !socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
          onRefused(remoteOf(socket), `client certificate refused (${String(socket.authorizationError)})`)
          socket.destroy()
          return
        }
        onSocket(socket)
      } catch (error) {
        onRefused(remoteOf(socket), `internal error: ${String(error)}`)
        socket.destroy()
      }
    }
  )
  server.on("tlsClientError", (error, socket) => {
    const reason = (error as { reason?: unknown }).reason
    onRefused(remoteOf(socket), `TLS handshake failed: ${typeof reason === "string" ? reason : error.message}`)
    socket.destroy()
  })
  return server
}

const remoteOf = (socket: net.Socket): string => (socket.remoteAddress === undefined ? "an unknown address" : `${socket.remoteAddress}:${socket.remotePort}`)

/** Size, time and inode of each file: what changes when a file is replaced or rewritten. */
const stampOf = (config: ClientTlsConfig): Effect.Effect<string> =>
  Effect.promise(() =>
    Promise.all(
      [config.certFile, config.keyFile, config.caFile].map((path) =>
        path === undefined
          ? Promise.resolve("-")
          : fs.promises.stat(path).then(
              (stat) => `${stat.size}:${stat.mtimeMs}:${stat.ino}`,
              () => "missing"
            )
      )
    ).then((parts) => parts.join("|"))
  )

/**
 * Reload the certificate into `server` on SIGHUP or when its files change, for as long as it
 * runs (a part of the supervision tree). A failed reload is retried at the next check and
 * reported once per distinct reason.
 */
export const reloadClientTls = (config: ClientTlsConfig, server: tls.Server) =>
  Effect.gen(function* () {
    const hangups = yield* Queue.sliding<void>(1)
    const onHangup = () => Queue.unsafeOffer(hangups, undefined)
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("SIGHUP", onHangup)),
      () => Effect.sync(() => process.off("SIGHUP", onHangup))
    )
    let loaded = yield* stampOf(config)
    let reported: string | undefined
    for (;;) {
      const hangup = yield* Effect.race(Effect.as(Queue.take(hangups), true), Effect.as(Effect.sleep(RELOAD_CHECK), false))
      const stamp = yield* stampOf(config)
      if (!hangup && stamp === loaded) continue
      try {
        server.setSecureContext(secureOptions(readClientTls(config)))
        loaded = stamp
        reported = undefined
        yield* Effect.logInfo(`client TLS certificate reloaded from ${config.certFile}${hangup ? " (SIGHUP)" : ""}`)
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        if (message !== reported) {
          reported = message
          yield* Effect.logWarning(`client TLS certificate not reloaded, the previous one stays in use: ${message}`)
        }
        // A SIGHUP with bad files is reported once; the files' next change is tried again.
        if (hangup) loaded = stamp
      }
    }
  }).pipe(Effect.scoped)
