/**
 * The Redis-protocol listener. Each accepted socket is served by `serveConnection`; the listener
 * and every open connection are closed when the node's scope closes.
 */
import * as net from "node:net"
import { Effect } from "effect"
import type { ConnectionContext } from "../commands/classify.js"
import { KvService } from "../node/KvService.js"
import { listenTcp } from "../node/listenTcp.js"
import { NodeConfig } from "../node/NodeConfig.js"
import { serveConnection } from "./Connection.js"

export const startClientServer = Effect.gen(function* () {
  const config = yield* NodeConfig
  const kv = yield* KvService
  const sockets = new Set<net.Socket>()
  let nextClientId = 1

  // Half-open: a client may send its commands and then shut down its side (`nc -N`, a script's
  // `socket.end(bytes)`); it still gets every reply, then the connection closes.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    socket.on("close", () => sockets.delete(socket))
    const context: ConnectionContext = {
      clientId: nextClientId++,
      clientName: null,
      port: config.port,
      info: kv.raftInfo
    }
    serveConnection(socket, kv, context)
  })

  yield* listenTcp(server, sockets, config.host, config.port, "clients")
  yield* Effect.logInfo(`node ${config.id} serving Redis clients on ${config.host}:${config.port}`)
})
