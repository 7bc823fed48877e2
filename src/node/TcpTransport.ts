/**
 * The production peer network: TCP on the addresses of `--cluster`. One outbound fiber and one
 * bounded queue per peer (reconnecting with backoff, dropping when full), and one listener whose
 * connections decode frames, validate them and deliver them to the RaftNode (or Snapshotter) mailbox.
 */
import * as net from "node:net"
import { Deferred, Effect, Layer, Queue, Runtime, Schedule } from "effect"
import type { NodeId } from "../raft/types.js"
import { listenTcp } from "./listenTcp.js"
import { deliverPeerMessages, Mailboxes, takeBatch } from "./Mailboxes.js"
import { NodeConfig } from "./NodeConfig.js"
import { encodeFrames, FrameDecoder } from "./PeerCodec.js"
import type { PeerMessage as Message } from "./PeerMessage.js"
import { Transport } from "./Transport.js"

/** Frames buffered per peer while it is slow or down; beyond this, Raft's retries take over. */
const PEER_QUEUE_CAPACITY = 1024

const connect = (host: string, port: number) =>
  Effect.async<net.Socket, Error>((resume) => {
    const socket = net.connect({ host, port, noDelay: true })
    const onError = (error: Error) => {
      socket.destroy()
      resume(Effect.fail(error))
    }
    socket.once("error", onError)
    socket.once("connect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(socket))
    })
    return Effect.sync(() => socket.destroy())
  })

/** Write to the socket, waiting for 'drain' when the kernel buffer is full. */
const write = (socket: net.Socket, frame: Buffer, closed: Deferred.Deferred<void, Error>) =>
  socket.write(frame)
    ? Effect.void
    : Effect.raceFirst(
        Effect.async<void>((resume) => {
          socket.once("drain", () => resume(Effect.void))
        }),
        Deferred.await(closed)
      )

/** Keeps one connection to a peer alive and pumps its queue into it, one frame per drain (more if it is large). */
const runPeerLink = (peerId: NodeId, host: string, port: number, queue: Queue.Queue<ReadonlyArray<Message>>) => {
  const session = Effect.gen(function* () {
    const socket = yield* Effect.acquireRelease(connect(host, port), (socket) => Effect.sync(() => socket.destroy()))
    yield* Effect.logDebug(`connected to peer ${peerId} at ${host}:${port}`)
    const closed = yield* Deferred.make<void, Error>()
    socket.on("error", (error) => Deferred.unsafeDone(closed, Effect.fail(error)))
    socket.on("close", () => Deferred.unsafeDone(closed, Effect.fail(new Error("connection closed"))))
    // Peers never send on our outbound connection; drain anything so the socket stays healthy.
    socket.resume()
    const pump = Effect.forever(
      Effect.gen(function* () {
        const messages = (yield* takeBatch(queue)).flat()
        for (const frame of encodeFrames(messages)) yield* write(socket, frame, closed)
      })
    )
    return yield* Effect.raceFirst(pump, Deferred.await(closed))
  }).pipe(Effect.scoped)

  return session.pipe(
    Effect.retry(Schedule.exponential("50 millis", 2).pipe(Schedule.union(Schedule.spaced("1 second")))),
    Effect.catchAll(() => Effect.void),
    Effect.forever
  )
}

export const TcpTransportLive = Layer.scoped(
  Transport,
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const mailboxes = yield* Mailboxes
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const voters = new Set(config.peers.map((peer) => peer.id))
    const self = config.peers.find((peer) => peer.id === config.id)
    if (self === undefined) return yield* Effect.die(new Error(`node ${config.id} is not in --cluster`))

    // Inbound: validate, then deliver to the RaftNode mailbox.
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.setNoDelay(true)
      const decoder = new FrameDecoder()
      socket.on("data", (chunk: Buffer) => {
        let messages: ReadonlyArray<Message>
        try {
          messages = decoder.push(chunk)
        } catch (error) {
          runFork(Effect.logWarning(`dropping peer connection from ${socket.remoteAddress}: ${String(error)}`))
          socket.destroy()
          return
        }
        const accepted = messages.filter(
          (message) => message.to === config.id && message.from !== config.id && voters.has(message.from)
        )
        if (accepted.length > 0) deliverPeerMessages(mailboxes, accepted)
      })
      socket.on("error", () => socket.destroy())
      socket.on("close", () => sockets.delete(socket))
    })
    yield* listenTcp(server, sockets, self.host, self.port, "peers")

    // Outbound: one bounded queue and one fiber per peer.
    const queues = new Map<NodeId, Queue.Queue<ReadonlyArray<Message>>>()
    for (const peer of config.peers) {
      if (peer.id === config.id) continue
      const queue = yield* Queue.dropping<ReadonlyArray<Message>>(PEER_QUEUE_CAPACITY)
      queues.set(peer.id, queue)
      yield* Effect.forkScoped(runPeerLink(peer.id, peer.host, peer.port, queue))
    }

    return Transport.of({
      send: (to, messages) => {
        const queue = queues.get(to)
        if (queue !== undefined) Queue.unsafeOffer(queue, messages)
      }
    })
  })
)
