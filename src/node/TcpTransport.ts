/**
 * The production peer network: TCP (or mutual TLS) between the members of the configuration
 * (their peer addresses are in it; the RaftNode sets the address book whenever it changes). Every
 * connection opens with the peer handshake (PeerHandshake.ts), which binds it to one node id and,
 * with a cluster secret, proves that node knows the secret, before any frame is decoded. Frames
 * come only from members of the address book: a connection from any other id is refused, and one
 * whose peer leaves the book is closed. A discovery connection (server id 0 in the handshake)
 * gets this node's committed configuration instead: how a node started with --join learns where
 * the members are, and how a removed node learns that it was removed.
 *
 * Every long-lived piece runs in the node's supervision tree (Supervision.ts): one outbound link
 * per peer (a fiber with a bounded queue, reconnecting with backoff, dropping when full; a
 * defect restarts it; interrupted when the peer leaves), the listener's accept loop (restarted
 * likewise), and one fiber per inbound connection (a failure closes only that connection).
 * Socket callbacks only hand sockets and bytes to those fibers (SocketInput.ts).
 */
import type * as net from "node:net"
import { Duration, Effect, Fiber, Layer, Queue, Schedule } from "effect"
import { CLUSTER_SECRET_ENV } from "../cli/peerSecurityFlags.js"
import type { Member } from "../raft/Configuration.js"
import type { NodeId } from "../raft/types.js"
import { Metrics } from "../metrics/NodeMetrics.js"
import { InjectedDefects } from "./InjectedDefects.js"
import { listenTcp } from "./listenTcp.js"
import { deliverPeerMessages, Mailboxes, takeBatch } from "./Mailboxes.js"
import {
  decodeCommittedConfiguration,
  encodeCommittedConfiguration,
  formatHostPort,
  type HostPort,
  ownPeerAddress,
  parseHostPort
} from "./Membership.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"
import { encodeFrames, FrameDecoder, PeerDecodeError } from "./PeerCodec.js"
import { PeerCredentials } from "./PeerCredentials.js"
import { logEvent } from "./RaftEvents.js"
import { clientHandshake, type HandshakeChannel, HandshakeError, serverHandshake } from "./PeerHandshake.js"
import type { PeerMessage as Message } from "./PeerMessage.js"
import { dialPeer, peerServer, remoteOf } from "./PeerSockets.js"
import { SocketClosed, type SocketInput, socketInput } from "./SocketInput.js"
import { Supervision } from "./Supervision.js"
import { type ObservedConfiguration, Transport } from "./Transport.js"

/** Frames buffered per peer while it is slow or down; beyond this, Raft's retries take over. */
const PEER_QUEUE_CAPACITY = 1024

const RECONNECT = Schedule.exponential("50 millis", 2).pipe(Schedule.union(Schedule.spaced("1 second")))

/** A discovery answer is one configuration; anything larger is not one. */
const MAX_DISCOVERY_BYTES = 16 * 1024 * 1024
const DISCOVERY_TIMEOUT = Duration.seconds(5)

/** A member of the address book, and the link that carries frames to it. */
interface Peer extends HostPort {
  readonly id: NodeId
  /** As the configuration gives it ("host:port"). */
  readonly address: string
  readonly queue: Queue.Queue<ReadonlyArray<Message>>
  readonly link: Fiber.RuntimeFiber<unknown, unknown>
}

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
    const status = yield* NodeStatus
    const credentials = yield* PeerCredentials
    const supervision = yield* Supervision
    const defects = yield* InjectedDefects
    const metrics = yield* Metrics
    const self = ownPeerAddress(config)
    const secret = credentials.secret

    /** The address book: the members this node exchanges frames with (set by the RaftNode). */
    const peers = new Map<NodeId, Peer>()
    /** Whether this node is in its own address book; until it is (joining), any authenticated peer may send. */
    let member = false
    const accepts = (id: NodeId) => !member || peers.has(id)

    yield* logPeerSecurity(self, secret !== undefined, credentials.tls !== undefined)

    // ---------------------------------------------------------------- inbound

    /** One inbound connection: the handshake, then frames until the peer closes, misbehaves or leaves. */
    const serveInbound = (socket: net.Socket) => {
      const remote = remoteOf(socket)
      return Effect.gen(function* () {
        const input = yield* socketInput(socket)
        const { peer, discovery } = yield* serverHandshake(channelOf(socket, input), { self: config.id, peers: accepts, secret })
        if (discovery) {
          // One answer: the configuration this node knows to be committed; then the asker closes.
          yield* Effect.logDebug(`node ${peer} (${remote}) asked for the configuration`)
          socket.end(encodeCommittedConfiguration(status.committedConfiguration))
          return yield* Effect.raceFirst(input.ended, Effect.sleep(DISCOVERY_TIMEOUT))
        }
        yield* Effect.logDebug(`peer connection from node ${peer} (${remote}) accepted`)
        const decoder = new FrameDecoder()
        const received = metrics.peerReceivedBytes.get(String(peer))
        const counted = (chunks: ReadonlyArray<Buffer>) => {
          for (const chunk of chunks) received.inc(chunk.length)
          return chunks
        }
        const deliver = (messages: ReadonlyArray<Message>) =>
          accepts(peer)
            ? Effect.sync(() => {
                if (messages.length > 0) deliverPeerMessages(mailboxes, messages)
              })
            : Effect.fail(new PeerDecodeError({ message: `node ${peer} is not a member any more` }))
        const early = input.drainBuffered()
        if (early.length > 0) yield* deliver(yield* decodeFrom(decoder, counted(early), peer, config.id))
        for (;;) yield* deliver(yield* decodeFrom(decoder, counted(yield* input.takeChunks), peer, config.id))
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
    const runPeerLink = (id: NodeId, address: HostPort, queue: Queue.Queue<ReadonlyArray<Message>>) => {
      const where = `peer ${id} at ${formatHostPort(address)}`
      const sent = metrics.peerSentBytes.get(String(id))
      /** Whether the link is up: its loss is worth a line, a failed reconnection attempt is not. */
      let connected = false
      /** The last problem logged, so a peer refusing us every second is one line, not one per try. */
      let reported: string | undefined
      const report = (problem: string) =>
        Effect.suspend(() => {
          if (problem === reported) return Effect.logDebug(`cannot connect to ${where}: ${problem}`)
          reported = problem
          return Effect.logWarning(`cannot connect to ${where}: ${problem}`)
        })

      const session = Effect.gen(function* () {
        const socket = yield* Effect.acquireRelease(dialPeer(address.host, address.port, credentials.tls), (socket) => Effect.sync(() => socket.destroy()))
        const input = yield* socketInput(socket)
        yield* clientHandshake(channelOf(socket, input), { self: config.id, peer: id, secret })
        reported = undefined
        connected = true
        yield* logEvent({ message: `connected to ${where}`, fields: { event: "peer_connected", peer: id, address: formatHostPort(address) } })
        const pump = Effect.forever(
          Effect.gen(function* () {
            const messages = (yield* takeBatch(queue)).flat()
            defects.peerLink(id, messages)
            for (const frame of encodeFrames(messages)) {
              sent.inc(frame.length)
              yield* write(socket, frame, input)
            }
          })
        )
        // The peer sends nothing after the handshake: its end (or a stray byte) ends the session.
        const stray = Effect.flatMap(input.takeChunks, () => Effect.fail(new SocketClosed({ message: "the peer sent bytes after the handshake" })))
        return yield* Effect.raceFirst(pump, stray)
      }).pipe(
        Effect.scoped,
        // What was queued for an unreachable peer is stale by the time it is reachable again (Raft
        // resends what still matters). Delivered late, old Appends let a node that was down catch
        // up through entries its leader has since compacted away, and they pinned memory meanwhile.
        Effect.tapError(() => Queue.takeAll(queue)),
        Effect.tapError((error) => {
          if (connected) {
            connected = false
            return logEvent({ message: `lost the connection to ${where}: ${error.message}`, fields: { event: "peer_lost", peer: id, address: formatHostPort(address), reason: error.message } })
          }
          return error._tag === "HandshakeError" || (error._tag === "DialError" && error.authentication)
            ? report(error.message)
            : Effect.logDebug(`connection to ${where} ended: ${error.message}`)
        })
      )

      return session.pipe(Effect.retry(RECONNECT), Effect.catchAll(() => Effect.void), Effect.forever)
    }

    /** Follow the configuration: links to members that joined, none to those that left. */
    const setMembers = (members: ReadonlyArray<Member>) =>
      Effect.gen(function* () {
        member = members.some((m) => m.id === config.id)
        const wanted = new Map<NodeId, Member>()
        for (const m of members) if (m.id !== config.id) wanted.set(m.id, m)
        for (const [id, peer] of peers) {
          if (wanted.get(id)?.address === peer.address) continue
          // Gone (or moved): its link stops, frames queued for it go, and its inbound frames are refused.
          peers.delete(id)
          yield* Fiber.interrupt(peer.link)
          yield* Queue.shutdown(peer.queue)
          if (!wanted.has(id)) yield* Effect.logInfo(`node ${id} is not in the configuration any more: disconnected from it`)
        }
        for (const [id, m] of wanted) {
          if (peers.has(id)) continue
          const address = parseHostPort(m.address)
          if (address === undefined) {
            yield* Effect.logWarning(`node ${id}'s peer address '${m.address}' is not host:port: it cannot be reached`)
            continue
          }
          const queue = yield* Queue.dropping<ReadonlyArray<Message>>(PEER_QUEUE_CAPACITY)
          const link = yield* supervision.restarting(`peer link to node ${id}`, runPeerLink(id, address, queue))
          peers.set(id, { id, address: m.address, ...address, queue, link })
        }
      })

    // ---------------------------------------------------------------- discovery

    /** Ask the node at `address`, whatever its id, for the configuration it knows to be committed. */
    const ask = (address: HostPort) =>
      Effect.gen(function* () {
        const socket = yield* Effect.acquireRelease(dialPeer(address.host, address.port, credentials.tls), (socket) => Effect.sync(() => socket.destroy()))
        const input = yield* socketInput(socket)
        const from = yield* clientHandshake(channelOf(socket, input), { self: config.id, peer: 0, secret })
        const length = (yield* input.readExactly(4)).readUInt32BE(0)
        if (length > MAX_DISCOVERY_BYTES) return yield* new HandshakeError({ message: `an answer of ${length} bytes` })
        const committed = decodeCommittedConfiguration(yield* input.readExactly(length))
        if (committed === undefined) return yield* new HandshakeError({ message: "a malformed configuration" })
        return { from, committed } satisfies ObservedConfiguration
      }).pipe(Effect.scoped, Effect.timeoutFail({ duration: DISCOVERY_TIMEOUT, onTimeout: () => new HandshakeError({ message: "no answer" }) }))

    /** Whom to ask next: the --join address, then each member in turn. */
    let nextTarget = 0
    const observeConfiguration = Effect.suspend(() => {
      const members = [...peers.values()].map(({ host, port }) => ({ host, port }))
      const targets = config.join !== undefined ? [config.join, ...members] : members
      if (targets.length === 0) return Effect.succeed(undefined)
      const target = targets[nextTarget++ % targets.length]
      return ask(target).pipe(
        Effect.catchAll((error) => Effect.as(Effect.logDebug(`asking ${formatHostPort(target)} for the configuration failed: ${error.message}`), undefined))
      )
    })

    return Transport.of({
      send: (to, messages) => {
        const peer = peers.get(to)
        if (peer !== undefined) Queue.unsafeOffer(peer.queue, messages)
      },
      setMembers,
      observeConfiguration
    })
  })
)

/** One line at start on how the peer port is protected; a warning when it is not. */
const logPeerSecurity = (self: HostPort, secret: boolean, tls: boolean) => {
  if (!secret && !tls) {
    return Effect.logWarning(
      `the peer port ${self.host}:${self.port} is unauthenticated: anyone who can connect to it can send this node Raft messages ` +
        `(give every node --cluster-secret-file or ${CLUSTER_SECRET_ENV}, and/or the --peer-tls-* flags; see docs/operations.md)`
    )
  }
  const how = [secret ? "a cluster secret (HMAC-SHA256 handshake)" : undefined, tls ? "mutual TLS" : undefined].filter((x) => x !== undefined)
  return Effect.logInfo(`peer connections on ${self.host}:${self.port} are authenticated with ${how.join(" and ")}`)
}
