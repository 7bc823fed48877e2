/**
 * The production peer network: TCP (or mutual TLS) on the addresses of `--cluster`. Every
 * connection opens with the peer handshake (PeerHandshake.ts), which binds it to one node id and,
 * with a cluster secret, proves that node knows the secret, before any frame is decoded.
 *
 * Every long-lived piece runs in the node's supervision tree (Supervision.ts): one outbound link
 * per peer (a fiber with a bounded queue, reconnecting with backoff, dropping when full; a
 * defect restarts it), the listener's accept loop (restarted likewise), and one fiber per
 * inbound connection (a failure closes only that connection). Socket callbacks only hand sockets
 * and bytes to those fibers (SocketInput.ts).
 */
import type * as net from "node:net"
import { Effect, Layer, Queue, Schedule } from "effect"
import { CLUSTER_SECRET_ENV, type PeerAddress } from "../cli/Config.js"
import type { NodeId } from "../raft/types.js"
import { InjectedDefects } from "./InjectedDefects.js"
import { listenTcp } from "./listenTcp.js"
import { deliverPeerMessages, Mailboxes, takeBatch } from "./Mailboxes.js"
import { NodeConfig } from "./NodeConfig.js"
import { encodeFrames, FrameDecoder, PeerDecodeError } from "./PeerCodec.js"
import { PeerCredentials } from "./PeerCredentials.js"
import { clientHandshake, type HandshakeChannel, serverHandshake } from "./PeerHandshake.js"
import type { PeerMessage as Message } from "./PeerMessage.js"
import { dialPeer, peerServer, remoteOf } from "./PeerSockets.js"
import { SocketClosed, type SocketInput, socketInput } from "./SocketInput.js"
import { Supervision } from "./Supervision.js"
import { Transport } from "./Transport.js"

/** Frames buffered per peer while it is slow or down; beyond this, Raft's retries take over. */
const PEER_QUEUE_CAPACITY = 1024

const RECONNECT = Schedule.exponential("50 millis", 2).pipe(Schedule.union(Schedule.spaced("1 second")))

const channelOf = (socket: net.Socket, input: SocketInput): HandshakeChannel => ({
  readExactly: input.readExactly,
  drainBuffered: input.drainBuffered,
  write: (bytes) => {
    socket.write(bytes)
  }
})

/** Write to the socket, waiting for 'drain' when the kernel buffer is full (or for the socket's end). */
const write = (socket: net.Socket, frame: Buffer, input: SocketInput) =>
  socket.write(frame)
    ? Effect.void
    : Effect.raceFirst(
        Effect.async<void>((resume) => {
          socket.once("drain", () => resume(Effect.void))
        }),
        input.ended
      )

/** A connection's received bytes as messages, refused as a whole if any fails validation or identity. */
const decodeFrom = (decoder: FrameDecoder, chunks: ReadonlyArray<Buffer>, peer: NodeId, self: NodeId) =>
  Effect.suspend(() => {
    const messages: Array<Message> = []
    try {
      for (const chunk of chunks) for (const message of decoder.push(chunk)) messages.push(message)
    } catch (error) {
      // Only a refused frame is expected here; anything else is a defect for the supervisor.
      if (error instanceof PeerDecodeError) return Effect.fail(error)
      throw error
    }
    for (const m of messages) {
      if (m.from !== peer || m.to !== self) {
        return Effect.fail(new PeerDecodeError({ message: `a ${m.type} from node ${m.from} to node ${m.to} on node ${peer}'s connection to node ${self}` }))
      }
    }
    return Effect.succeed(messages)
  })

export const TcpTransportLive = Layer.scoped(
  Transport,
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const mailboxes = yield* Mailboxes
    const credentials = yield* PeerCredentials
    const supervision = yield* Supervision
    const defects = yield* InjectedDefects
    const self = config.peers.find((peer) => peer.id === config.id)
    if (self === undefined) return yield* Effect.die(new Error(`node ${config.id} is not in --cluster`))
    const others = new Set(config.peers.filter((peer) => peer.id !== config.id).map((peer) => peer.id))
    const secret = credentials.secret

    yield* logPeerSecurity(self, secret !== undefined, credentials.tls !== undefined)

    // ---------------------------------------------------------------- inbound

    /** One inbound connection: the handshake, then frames until the peer closes or misbehaves. */
    const serveInbound = (socket: net.Socket) => {
      const remote = remoteOf(socket)
      return Effect.gen(function* () {
        const input = yield* socketInput(socket)
        const peer = yield* serverHandshake(channelOf(socket, input), { self: config.id, peers: others, secret })
        yield* Effect.logDebug(`peer connection from node ${peer} (${remote}) accepted`)
        const decoder = new FrameDecoder()
        const early = input.drainBuffered()
        if (early.length > 0) deliverPeerMessages(mailboxes, yield* decodeFrom(decoder, early, peer, config.id))
        for (;;) {
          const messages = yield* decodeFrom(decoder, yield* input.takeChunks, peer, config.id)
          if (messages.length > 0) deliverPeerMessages(mailboxes, messages)
        }
      }).pipe(
        Effect.catchTags({
          HandshakeError: (error) => Effect.logWarning(`refused peer connection from ${remote}: ${error.message}`),
          PeerDecodeError: (error) => Effect.logWarning(`dropped peer connection from ${remote}: ${error.message}`),
          SocketClosed: () => Effect.void
        }),
        Effect.ensuring(Effect.sync(() => socket.destroy()))
      )
    }

    type Inbound = { readonly socket: net.Socket } | { readonly remote: string; readonly reason: string }
    const inbound = yield* Queue.unbounded<Inbound>()
    const sockets = new Set<net.Socket>()
    const server = peerServer(
      credentials.tls,
      (socket) => {
        // Until its fiber takes it, an error on the socket must not go unhandled (that would throw).
        socket.on("error", () => socket.destroy())
        Queue.unsafeOffer(inbound, { socket })
      },
      (remote, reason) => Queue.unsafeOffer(inbound, { remote, reason })
    )
    server.on("connection", (raw: net.Socket) => {
      raw.on("error", () => raw.destroy())
      sockets.add(raw)
      raw.on("close", () => sockets.delete(raw))
    })
    yield* listenTcp(server, sockets, self.host, self.port, "peers")
    // Errors after listening (e.g. accept failing with EMFILE) are logged; the listener goes on.
    server.on("error", (error) => Queue.unsafeOffer(inbound, { remote: "the listener", reason: error.message }))

    const acceptLoop = Effect.forever(
      Effect.flatMap(Queue.take(inbound), (item) =>
        "socket" in item
          ? supervision.transient(`peer connection from ${remoteOf(item.socket)}`, serveInbound(item.socket))
          : Effect.logWarning(`refused peer connection from ${item.remote}: ${item.reason}`)
      )
    )
    yield* supervision.restarting("peer listener", acceptLoop)

    // ---------------------------------------------------------------- outbound

    /** Keeps one authenticated connection to a peer alive and pumps its queue into it. */
    const runPeerLink = (peer: PeerAddress, queue: Queue.Queue<ReadonlyArray<Message>>) => {
      const where = `peer ${peer.id} at ${peer.host}:${peer.port}`
      /** The last problem logged, so a peer refusing us every second is one line, not one per try. */
      let reported: string | undefined
      const report = (problem: string) =>
        Effect.suspend(() => {
          if (problem === reported) return Effect.logDebug(`cannot connect to ${where}: ${problem}`)
          reported = problem
          return Effect.logWarning(`cannot connect to ${where}: ${problem}`)
        })

      const session = Effect.gen(function* () {
        const socket = yield* Effect.acquireRelease(dialPeer(peer.host, peer.port, credentials.tls), (socket) => Effect.sync(() => socket.destroy()))
        const input = yield* socketInput(socket)
        yield* clientHandshake(channelOf(socket, input), { self: config.id, peer: peer.id, secret })
        if (reported !== undefined) {
          reported = undefined
          yield* Effect.logInfo(`connected to ${where}`)
        }
        yield* Effect.logDebug(`connected to ${where}`)
        const pump = Effect.forever(
          Effect.gen(function* () {
            const messages = (yield* takeBatch(queue)).flat()
            defects.peerLink(peer.id, messages)
            for (const frame of encodeFrames(messages)) yield* write(socket, frame, input)
          })
        )
        // The peer sends nothing after the handshake: its end (or a stray byte) ends the session.
        const stray = Effect.flatMap(input.takeChunks, () => Effect.fail(new SocketClosed({ message: "the peer sent bytes after the handshake" })))
        return yield* Effect.raceFirst(pump, stray)
      }).pipe(
        Effect.scoped,
        Effect.tapError((error) =>
          error._tag === "HandshakeError" || (error._tag === "DialError" && error.authentication)
            ? report(error.message)
            : Effect.logDebug(`connection to ${where} ended: ${error.message}`)
        )
      )

      return session.pipe(Effect.retry(RECONNECT), Effect.catchAll(() => Effect.void), Effect.forever)
    }

    const queues = new Map<NodeId, Queue.Queue<ReadonlyArray<Message>>>()
    for (const peer of config.peers) {
      if (peer.id === config.id) continue
      const queue = yield* Queue.dropping<ReadonlyArray<Message>>(PEER_QUEUE_CAPACITY)
      queues.set(peer.id, queue)
      yield* supervision.restarting(`peer link to node ${peer.id}`, runPeerLink(peer, queue))
    }

    return Transport.of({
      send: (to, messages) => {
        const queue = queues.get(to)
        if (queue !== undefined) Queue.unsafeOffer(queue, messages)
      }
    })
  })
)

/** One line at start on how the peer port is protected; a warning when it is not. */
const logPeerSecurity = (self: PeerAddress, secret: boolean, tls: boolean) => {
  if (!secret && !tls) {
    return Effect.logWarning(
      `the peer port ${self.host}:${self.port} is unauthenticated: anyone who can connect to it can send this node Raft messages ` +
        `(give every node --cluster-secret-file or ${CLUSTER_SECRET_ENV}, and/or the --peer-tls-* flags; see docs/operations.md)`
    )
  }
  const how = [secret ? "a cluster secret (HMAC-SHA256 handshake)" : undefined, tls ? "mutual TLS" : undefined].filter((x) => x !== undefined)
  return Effect.logInfo(`peer connections on ${self.host}:${self.port} are authenticated with ${how.join(" and ")}`)
}
