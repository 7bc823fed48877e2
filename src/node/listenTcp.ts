/** Listen on host:port for the scope's lifetime; on close, drop open sockets and stop listening. */
import type * as net from "node:net"
import { Effect } from "effect"

export class ListenError extends Error {
  override readonly name = "ListenError"
}

export const listenTcp = (server: net.Server, sockets: Set<net.Socket>, host: string, port: number, what: string) =>
  Effect.acquireRelease(
    Effect.async<void, ListenError>((resume) => {
      server.once("error", (error) => resume(Effect.fail(new ListenError(`cannot listen for ${what} on ${host}:${port}: ${error.message}`))))
      server.listen(port, host, () => resume(Effect.void))
    }),
    () =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )
