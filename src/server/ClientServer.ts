/**
 * The Redis-protocol listeners: plain TCP on --port (unless 0) and TLS on --tls-port, both
 * serving the same clients. Everything long-lived here is a part of the node's supervision tree
 * (Supervision.ts): the listeners' callbacks only queue sockets; the accept loop (restarted if it
 * fails) admits each one, up to --maxclients, and runs its Connection as a transient part (a
 * defect closes that connection alone, with a warning); the TLS certificate reloader and the INFO
 * ops sampler are restarted if they fail. The node view that local commands see (INFO sections,
 * CLIENT LIST, WATCH sessions, the ACL users) is assembled here.
 */
import * as net from "node:net"
import { Deferred, Duration, Effect, Queue, Schedule } from "effect"
import { AclLog } from "../acl/AclLog.js"
import { loadUsers } from "../acl/loadUsers.js"
import { UsersError } from "../acl/Users.js"
import type { ClientState, ServerView } from "../commands/session.js"
import { clusterView } from "../node/ClusterView.js"
import { Metrics } from "../metrics/NodeMetrics.js"
import { InjectedDefects } from "../node/InjectedDefects.js"
import { KvService } from "../node/KvService.js"
import { listenTcp } from "../node/listenTcp.js"
import { NodeConfig } from "../node/NodeConfig.js"
import { NodeStatus } from "../node/NodeStatus.js"
import { socketInput } from "../node/SocketInput.js"
import { Stats } from "../node/Stats.js"
import { Supervision } from "../node/Supervision.js"
import { ClientTlsError, clientTlsServer, readClientTls, reloadClientTls } from "./ClientTls.js"
import { Connection } from "./Connection.js"
import { INFO_SECTIONS, infoSection, type InfoSources } from "./Info.js"

const MAX_CLIENTS_REACHED = "-ERR max number of clients reached\r\n"

/** A socket a listener accepted (TLS: after its handshake), one TLS refused, or a listener's error. */
type Accepted =
  | { readonly socket: net.Socket }
  | { readonly refused: string; readonly reason: string }
  | { readonly listenerError: string }

export const startClientServer = Effect.gen(function* () {
  const config = yield* NodeConfig
  const kv = yield* KvService
  const status = yield* NodeStatus
  const stats = yield* Stats
  const supervision = yield* Supervision
  const defects = yield* InjectedDefects
  const metrics = yield* Metrics
  const { users, warnings } = yield* Effect.try({
    try: () => loadUsers(config),
    catch: (error) => (error instanceof UsersError ? error : new UsersError(String(error)))
  })
  for (const warning of warnings) yield* Effect.logWarning(warning)
  const tlsMaterial =
    config.clientTls === undefined
      ? undefined
      : yield* Effect.try({
          try: () => readClientTls(config.clientTls!),
          catch: (error) => (error instanceof ClientTlsError ? error : new ClientTlsError(String(error)))
        })

  const clients = new Map<number, ClientState>()
  let nextClientId = 1
  /** Completed once every client is gone after `drain` began. */
  const drained = yield* Deferred.make<void>()
  let draining = false

  const sources: InfoSources = {
    config,
    status,
    stats,
    connectedClients: () => clients.size,
    blockedClients: () => status.blockedClients,
    raftInfo: kv.raftInfo,
    clientAddressOf: (id) => status.clientAddressOf(id)
  }

  const server: ServerView = {
    nodeId: config.id,
    port: config.port,
    readMode: config.readMode,
    maxClients: config.maxClients,
    infoSection: (name) => infoSection(sources, name),
    infoSections: INFO_SECTIONS,
    clients: () => clients.values(),
    newWatchSession: kv.newWatchSession,
    requestSnapshot: kv.requestSnapshot,
    lastSave: () => status.lastSave,
    acl: { users, log: new AclLog(), countDenied: (reason) => stats.denied(reason) },
    cluster: () => clusterView(config, status, Date.now()),
    admin: kv.submitAdmin
  }

  // ---------------------------------------------------------------- listeners: they only queue

  const accepted = yield* Queue.unbounded<Accepted>()
  const rawSockets = new Set<net.Socket>()
  const handOver = (socket: net.Socket) => {
    // Until its fiber takes it, an error on the socket must not go unhandled (that would throw).
    socket.on("error", () => socket.destroy())
    Queue.unsafeOffer(accepted, { socket })
  }
  const listeners: Array<net.Server> = []
  /** `handshakes`: a connection holds a --maxclients slot from its first byte, before its TLS handshake. */
  const track = (listener: net.Server, handshakes = false) => {
    listeners.push(listener)
    listener.on("connection", (raw: net.Socket) => {
      raw.on("error", () => raw.destroy())
      // Every open socket on the client ports is a client or one on its way to being one: over
      // the limit, a TLS one is closed before it costs a handshake (it cannot read a plain error).
      if (handshakes && rawSockets.size >= config.maxClients) {
        stats.rejectedConnections++
        raw.destroy()
        return
      }
      rawSockets.add(raw)
      raw.on("close", () => rawSockets.delete(raw))
    })
  }
  // Errors after listening (e.g. accept failing with EMFILE) are logged; the listener goes on.
  const reportErrors = (listener: net.Server) =>
    listener.on("error", (error) => Queue.unsafeOffer(accepted, { listenerError: error.message }))

  if (config.port !== 0) {
    // Half-open: a client may send its commands and then shut down its side (`nc -N`, a script's
    // `socket.end(bytes)`); it still gets every reply, then the connection closes.
    const plain = net.createServer({ allowHalfOpen: true }, handOver)
    track(plain)
    yield* listenTcp(plain, rawSockets, config.host, config.port, "clients")
    reportErrors(plain)
    yield* Effect.logInfo(`node ${config.id} serving Redis clients on ${config.host}:${config.port}`)
  }
  if (config.clientTls !== undefined && tlsMaterial !== undefined) {
    const tlsConfig = config.clientTls
    const secure = clientTlsServer(tlsConfig, tlsMaterial, handOver, (refused, reason) => Queue.unsafeOffer(accepted, { refused, reason }))
    track(secure, true)
    yield* listenTcp(secure, rawSockets, config.host, tlsConfig.port, "TLS clients")
    reportErrors(secure)
    yield* supervision.restarting("client TLS certificate reloader", reloadClientTls(tlsConfig, secure))
    yield* Effect.logInfo(
      `node ${config.id} serving Redis clients with TLS on ${config.host}:${tlsConfig.port} (client certificates: ${tlsConfig.authClients === "yes" ? "required" : tlsConfig.authClients})`
    )
  }
  yield* logClientSecurity(config.host, users.openByDefault, users.aclFile !== undefined, config.port !== 0)

  // ---------------------------------------------------------------- the accept loop

  const admit = (socket: net.Socket) =>
    Effect.suspend(() => {
      if (socket.destroyed) return Effect.void
      if (draining) {
        socket.destroy()
        return Effect.void
      }
      if (clients.size >= config.maxClients) {
        stats.rejectedConnections++
        socket.end(MAX_CLIENTS_REACHED, () => socket.destroy())
        return Effect.void
      }
      stats.connectionsReceived++
      socket.setNoDelay(true)
      return Effect.flatMap(socketInput(socket), (input) => {
        const login = { user: users.defaultUser, authenticated: users.openByDefault }
        const connection = new Connection(socket, input, nextClientId++, login, {
          kv,
          server,
          stats,
          defects,
          commandTiming: (name) => metrics.commandTiming(name),
          onClose: (client) => {
            clients.delete(client.id)
            if (draining && clients.size === 0) Deferred.unsafeDone(drained, Effect.void)
          }
        })
        const client = connection.client
        clients.set(client.id, client)
        return supervision.transient(`client connection ${client.id} from ${client.address}`, connection.serve)
      })
    })

  const acceptLoop = Effect.forever(
    Effect.flatMap(Queue.take(accepted), (item) =>
      Effect.suspend(() => {
        defects.clientAccept()
        if ("socket" in item) return admit(item.socket)
        // Like redis-server (verbose level): a client failing TLS is not worth a warning each time.
        if ("refused" in item) return Effect.logDebug(`refused TLS client connection from ${item.refused}: ${item.reason}`)
        return Effect.logWarning(`the client listener failed to accept a connection: ${item.listenerError}`)
        // A socket whose admission failed is closed, not left open with nobody serving it.
      }).pipe(Effect.onError(() => Effect.sync(() => ("socket" in item ? item.socket.destroy() : undefined))))
    )
  )
  yield* supervision.restarting("client listener", acceptLoop)

  // instantaneous_ops_per_sec, sampled as redis-server does (every 100 ms).
  yield* supervision.restarting(
    "ops sampler",
    Effect.repeat(
      Effect.clockWith((clock) => Effect.sync(() => stats.sample(clock.unsafeCurrentTimeMillis()))),
      Schedule.spaced("100 millis")
    )
  )

  /**
   * A clean stop: no new connections; each open one reads no more commands and closes once the
   * replies to those it read are out (bounded by the request timeout).
   */
  const drain = Effect.gen(function* () {
    draining = true
    for (const listener of listeners) listener.close()
    if (clients.size === 0) return
    for (const client of [...clients.values()]) client.kill()
    yield* Deferred.await(drained).pipe(Effect.timeout(Duration.millis(config.requestTimeoutMs)), Effect.ignore)
  })
  return { drain, connectedClients: () => clients.size }
})

/** One line at start on who may use the client port; a warning when anyone who connects may. */
const logClientSecurity = (host: string, open: boolean, aclFile: boolean, plainTcp: boolean) => {
  if (open) {
    return Effect.logWarning(
      `clients need no password: anyone who can connect to ${host} can run every command (set --requirepass-file or --aclfile; see docs/operations.md, "Security")`
    )
  }
  const how = aclFile ? "the users of the ACL file" : "the default user's password (requirepass)"
  return Effect.logInfo(`clients authenticate with ${how}${plainTcp ? "" : "; plain TCP is off (--port 0)"}`)
}
