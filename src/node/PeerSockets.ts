/**
 * Peer sockets, plain TCP or mutual TLS. With TLS both sides present their certificate and both
 * verify the other's against the cluster CA: the listener requests a client certificate and
 * refuses a connection without a valid one, the dialer checks the server's certificate and that it names the host it dialed
 * (as in --cluster), like etcd's peer TLS with --peer-client-cert-auth.
 */
import * as net from "node:net"
import * as tls from "node:tls"
import { Data, Duration, Effect } from "effect"
import { HANDSHAKE_TIMEOUT } from "./PeerHandshake.js"
import type { PeerTlsMaterial } from "./PeerCredentials.js"

/** Connecting failed; `authentication` when TLS refused the peer (worth a warning, unlike a refused port). */
export class DialError extends Data.TaggedError("DialError")<{ readonly message: string; readonly authentication: boolean }> {}

/** Errors of the network itself, as opposed to TLS refusing a certificate. */
const NETWORK_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"])

/** Connect to a peer; with TLS, succeeds only once the TLS handshake verified the server. */
export const dialPeer = (host: string, port: number, material: PeerTlsMaterial | undefined) =>
  Effect.async<net.Socket, DialError>((resume) => {
    const socket =
      material === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({
            host,
            port,
            cert: material.cert,
            key: material.key,
            ca: material.ca,
            // Hostname verification needs SNI only for DNS names; an IP is checked against the IP SANs.
            ...(net.isIP(host) === 0 ? { servername: host } : {})
          })
    socket.setNoDelay(true)
    const onError = (error: NodeJS.ErrnoException) => {
      socket.destroy()
      const network = error.code !== undefined && NETWORK_ERRORS.has(error.code)
      resume(Effect.fail(new DialError({ message: error.message, authentication: material !== undefined && !network })))
    }
    socket.once("error", onError)
    socket.once(material === undefined ? "connect" : "secureConnect", () => {
      // Until the caller attaches its own handler, an error must not go unhandled (it would throw).
      socket.off("error", onError)
      socket.on("error", () => socket.destroy())
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  })

/**
 * The peer listener's server. `onSocket` receives each connection (after TLS verified the
 * client's certificate); `onRefused` each connection TLS refused, with the reason. Both only hand
 * over: the work happens in fibers.
 */
export const peerServer = (
  material: PeerTlsMaterial | undefined,
  onSocket: (socket: net.Socket) => void,
  onRefused: (remote: string, reason: string) => void
): net.Server => {
  // A callback must never throw (that would end the process): a bug here refuses the connection.
  const guarded = (socket: net.Socket, body: () => void) => {
    try {
      body()
    } catch (error) {
      onRefused(remoteOf(socket), `internal error: ${String(error)}`)
      socket.destroy()
    }
  }
  if (material === undefined) {
    return net.createServer((socket) =>
      guarded(socket, () => {
        socket.setNoDelay(true)
        onSocket(socket)
      })
    )
  }
  const server = tls.createServer(
    {
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      requestCert: true,
      // Verified below instead: Node's own refusal would destroy the socket before its address
      // and the reason could be logged. No byte of an unverified connection is ever read, and a
      // resumed TLS session keeps the verification result of the handshake that created it.
      rejectUnauthorized: false,
      handshakeTimeout: Duration.toMillis(HANDSHAKE_TIMEOUT)
    },
    (socket) =>
      guarded(socket, () => {
        if (!socket.authorized) {
          const presented = Object.keys(socket.getPeerCertificate()).length > 0
          onRefused(remoteOf(socket), presented ? `client certificate refused (${socket.authorizationError})` : "no client certificate")
          socket.destroy()
          return
        }
        socket.setNoDelay(true)
        onSocket(socket)
      })
  )
  server.on("tlsClientError", (error, socket) =>
    guarded(socket, () => {
      // OpenSSL's errors carry a short `reason` ("wrong version number") beside a long message.
      const reason = (error as { reason?: unknown }).reason
      onRefused(remoteOf(socket), `TLS handshake failed: ${typeof reason === "string" ? reason : error.message}`)
      socket.destroy()
    })
  )
  return server
}

export const remoteOf = (socket: net.Socket): string =>
  socket.remoteAddress === undefined ? "an unknown address" : `${socket.remoteAddress}:${socket.remotePort}`
