/**
 * The Redis-protocol listener. Each accepted socket is served by a `Connection`; the listener,
 * every open connection and the INFO ops sampler live as long as the node's scope. The node view
 * that local commands see (INFO sections, CLIENT LIST, WATCH sessions) is assembled here.
 */
import * as net from "node:net"
import { Deferred, Duration, Effect, Schedule } from "effect"
import type { ClientState, ServerView } from "../commands/session.js"
import { clusterView } from "../node/ClusterView.js"
import { KvService } from "../node/KvService.js"
import { listenTcp } from "../node/listenTcp.js"
import { NodeConfig } from "../node/NodeConfig.js"
import { NodeStatus } from "../node/NodeStatus.js"
import { Stats } from "../node/Stats.js"
import { Connection } from "./Connection.js"
import { INFO_SECTIONS, infoSection, type InfoSources } from "./Info.js"

export const startClientServer = Effect.gen(function* () {
  const config = yield* NodeConfig
  const kv = yield* KvService
  const status = yield* NodeStatus
  const stats = yield* Stats
  const sockets = new Set<net.Socket>()
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
    blockedClients: () => 0,
    raftInfo: kv.raftInfo,
    clientAddressOf: (id) => status.clientAddressOf(id)
  }

  const server: ServerView = {
    nodeId: config.id,
    port: config.port,
    infoSection: (name) => infoSection(sources, name),
    infoSections: INFO_SECTIONS,
    clients: () => clients.values(),
    newWatchSession: kv.newWatchSession,
    requestSnapshot: kv.requestSnapshot,
    lastSave: () => status.lastSave,
    proposeInBackground: (payload) => kv.submitWrite(payload, () => {}),
    cluster: () => clusterView(config, status, Date.now()),
    admin: kv.submitAdmin
  }

  // Half-open: a client may send its commands and then shut down its side (`nc -N`, a script's
  // `socket.end(bytes)`); it still gets every reply, then the connection closes.
  const listener = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    stats.connectionsReceived++
    socket.setNoDelay(true)
    socket.on("close", () => sockets.delete(socket))
    const connection = new Connection(socket, nextClientId++, {
      kv,
      server,
      stats,
      onClose: (client) => {
        clients.delete(client.id)
        if (draining && clients.size === 0) Deferred.unsafeDone(drained, Effect.void)
      }
    })
    clients.set(connection.client.id, connection.client)
  })

  yield* listenTcp(listener, sockets, config.host, config.port, "clients")
  // instantaneous_ops_per_sec, sampled as redis-server does (every 100 ms).
  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.clockWith((clock) => Effect.sync(() => stats.sample(clock.unsafeCurrentTimeMillis()))),
      Schedule.spaced("100 millis")
    )
  )
  yield* Effect.logInfo(`node ${config.id} serving Redis clients on ${config.host}:${config.port}`)

  /**
   * A clean stop: no new connections; each open one reads no more commands and closes once the
   * replies to those it read are out (bounded by the request timeout).
   */
  const drain = Effect.gen(function* () {
    draining = true
    listener.close()
    if (clients.size === 0) return
    for (const client of [...clients.values()]) client.kill()
    yield* Deferred.await(drained).pipe(Effect.timeout(Duration.millis(config.requestTimeoutMs)), Effect.ignore)
  })
  return { drain }
})
