/**
 * The handshake that opens every peer connection, before any frame is decoded. The dialing node
 * (client) and the listening node (server) exchange ids and fresh random nonces; with a cluster
 * secret each proves it knows the secret by an HMAC-SHA256 over the whole exchange:
 *
 *   client → server   Hello        "RKVP" | version | mode | client id | server id | client nonce   (42 bytes)
 *   server → client   ServerHello  "RKVP" | version | mode | server id | client id | server nonce
 *                                  | server proof (zeros without a secret)                          (74 bytes)
 *   client → server   proof        client proof                                    (32 bytes, secret only)
 *   server → client   accept       0x01                                            (1 byte, secret only)
 *
 *   proof = HMAC-SHA256(secret, label | Hello | ServerHello without its proof)
 *
 * with a different label per side, so neither side's proof can be replayed as the other's, and
 * fresh nonces on both sides, so no recorded proof is valid in another connection. Proofs are
 * compared in constant time. Every message has a fixed size and the whole exchange a deadline,
 * so an unauthenticated connection costs at most 74 bytes and HANDSHAKE_TIMEOUT. The client
 * sends frames only after `accept`, so any other byte before it is a violation.
 *
 * The exchange also binds the connection to one node id: frames on it must come from that node
 * and be addressed to this one (checked by the transport). Without a secret (mode 0) the ids are
 * claimed, not proven: the peer port is then unauthenticated, and the node says so at start.
 *
 * A client that does not know the server's id (a node started with --join asking a member for the
 * cluster's configuration) sends server id 0: a *discovery* connection. The server answers with
 * its own id and proves itself as usual, accepts any client id (the client proves the secret
 * all the same), and the connection carries one answer instead of frames (TcpTransport).
 * The secret authenticates who connects; it does not encrypt or protect frames from someone on
 * the network path: that is what mutual TLS adds (both can be combined).
 */
import * as crypto from "node:crypto"
import { Data, Duration, Effect } from "effect"
import type { NodeId } from "../raft/types.js"
import type { SocketClosed } from "./SocketInput.js"

export const HANDSHAKE_TIMEOUT = Duration.seconds(5)

const MAGIC = Buffer.from("RKVP", "latin1")
const VERSION = 1
export const NONCE_BYTES = 32
export const PROOF_BYTES = 32
export const HELLO_BYTES = 4 + 1 + 1 + 2 + 2 + NONCE_BYTES
export const SERVER_HELLO_BYTES = HELLO_BYTES + PROOF_BYTES
const ACCEPT = 0x01

/** 0: no secret (ids claimed, not proven); 1: both sides prove the cluster secret. */
type Mode = 0 | 1
const OPEN: Mode = 0
const SECRET: Mode = 1

const CLIENT_LABEL = Buffer.from("raft-kv peer handshake v1: client proof", "latin1")
const SERVER_LABEL = Buffer.from("raft-kv peer handshake v1: server proof", "latin1")

export class HandshakeError extends Data.TaggedError("HandshakeError")<{ readonly message: string }> {}

/** The byte stream under a handshake (a socket through SocketInput, or a test's pipe). */
export interface HandshakeChannel {
  readonly readExactly: (n: number) => Effect.Effect<Buffer, SocketClosed>
  /** Bytes that arrived beyond what the handshake read. */
  readonly drainBuffered: () => ReadonlyArray<Buffer>
  readonly write: (bytes: Buffer) => void
}

export interface Hello {
  readonly mode: Mode
  readonly from: NodeId
  readonly to: NodeId
  readonly nonce: Buffer
}

export const encodeHello = (hello: Hello, proof?: Buffer): Buffer => {
  const out = Buffer.alloc(proof === undefined ? HELLO_BYTES : SERVER_HELLO_BYTES)
  MAGIC.copy(out, 0)
  out[4] = VERSION
  out[5] = hello.mode
  out.writeUInt16BE(hello.from, 6)
  out.writeUInt16BE(hello.to, 8)
  hello.nonce.copy(out, 10)
  proof?.copy(out, HELLO_BYTES)
  return out
}

/** The fields of a Hello (the first HELLO_BYTES of either side's message), or why it is not one. */
export const decodeHello = (bytes: Buffer): Hello | string => {
  if (!bytes.subarray(0, 4).equals(MAGIC)) return "not a raft-kv peer handshake"
  if (bytes[4] !== VERSION) return `handshake version ${bytes[4]}, this node speaks ${VERSION}`
  const mode = bytes[5]
  if (mode !== OPEN && mode !== SECRET) return `unknown handshake mode ${mode}`
  return { mode: mode as Mode, from: bytes.readUInt16BE(6), to: bytes.readUInt16BE(8), nonce: Buffer.from(bytes.subarray(10, HELLO_BYTES)) }
}

export const proofOf = (secret: Buffer, side: "client" | "server", hello: Buffer, serverHello: Buffer): Buffer =>
  crypto
    .createHmac("sha256", secret)
    .update(side === "client" ? CLIENT_LABEL : SERVER_LABEL)
    .update(hello.subarray(0, HELLO_BYTES))
    .update(serverHello.subarray(0, HELLO_BYTES))
    .digest()

const proofMatches = (expected: Buffer, received: Buffer) =>
  received.length === expected.length && crypto.timingSafeEqual(expected, received)

const modeOf = (secret: Buffer | undefined): Mode => (secret === undefined ? OPEN : SECRET)

const modeMismatch = (ours: Mode): string =>
  ours === SECRET ? "the peer has no cluster secret (this node requires one)" : "the peer requires a cluster secret (this node has none)"

const read = (channel: HandshakeChannel, n: number) =>
  Effect.mapError(channel.readExactly(n), (closed) => new HandshakeError({ message: `connection ${closed.message} during the handshake` }))

const fail = (message: string) => Effect.fail(new HandshakeError({ message }))

/** Bounded in time; on timeout the handshake fails. */
const bounded = <A>(effect: Effect.Effect<A, HandshakeError>) =>
  Effect.timeoutFail(effect, {
    duration: HANDSHAKE_TIMEOUT,
    onTimeout: () => new HandshakeError({ message: `no complete handshake within ${Duration.format(HANDSHAKE_TIMEOUT)}` })
  })

export interface ClientParams {
  readonly self: NodeId
  /** The node expected at the other end; 0: any (a discovery connection). */
  readonly peer: NodeId
  readonly secret: Buffer | undefined
}

/**
 * The dialing side: succeeds, with the server's id, once the server has proven itself and
 * accepted this node.
 */
export const clientHandshake = (channel: HandshakeChannel, params: ClientParams): Effect.Effect<NodeId, HandshakeError> =>
  bounded(
    Effect.gen(function* () {
      const mode = modeOf(params.secret)
      const hello = encodeHello({ mode, from: params.self, to: params.peer, nonce: crypto.randomBytes(NONCE_BYTES) })
      channel.write(hello)
      const reply = yield* read(channel, SERVER_HELLO_BYTES)
      const server = decodeHello(reply)
      if (typeof server === "string") return yield* fail(server)
      if (server.mode !== mode) return yield* fail(modeMismatch(mode))
      if (params.peer !== 0 && server.from !== params.peer) {
        return yield* fail(`the peer answered as node ${server.from}, expected node ${params.peer} (are the --cluster lists the same?)`)
      }
      if (server.from === 0) return yield* fail("the peer answered as node 0")
      if (server.to !== params.self) return yield* fail(`the peer took this node for node ${server.to}`)
      if (params.secret === undefined) return server.from
      const received = reply.subarray(HELLO_BYTES)
      if (!proofMatches(proofOf(params.secret, "server", hello, reply), received)) {
        return yield* fail("the peer's proof does not match: it has a different cluster secret")
      }
      channel.write(proofOf(params.secret, "client", hello, reply))
      const accept = yield* read(channel, 1)
      if (accept[0] !== ACCEPT) return yield* fail(`unexpected handshake byte ${accept[0]}`)
      return server.from
    })
  )

export interface ServerParams {
  readonly self: NodeId
  /** Node ids allowed to connect for frames (the members the address book holds). */
  readonly peers: ReadonlySet<NodeId> | ((id: NodeId) => boolean)
  readonly secret: Buffer | undefined
}

export interface Accepted {
  /** The node that proved itself. */
  readonly peer: NodeId
  /** It asked for the configuration (it sent server id 0) instead of opening a frame connection. */
  readonly discovery: boolean
}

/** The listening side: succeeds with the id of the node that proved itself. */
export const serverHandshake = (channel: HandshakeChannel, params: ServerParams): Effect.Effect<Accepted, HandshakeError> =>
  bounded(
    Effect.gen(function* () {
      const mode = modeOf(params.secret)
      const hello = yield* read(channel, HELLO_BYTES)
      const client = decodeHello(hello)
      if (typeof client === "string") return yield* fail(client)
      if (client.mode !== mode) return yield* fail(modeMismatch(mode))
      const discovery = client.to === 0
      if (!discovery && client.to !== params.self) {
        return yield* fail(`the peer wants node ${client.to}, this is node ${params.self} (are the --cluster lists the same?)`)
      }
      if (client.from === 0 || client.from === params.self) return yield* fail(`node id ${client.from} is not another member of the cluster`)
      const allowed = typeof params.peers === "function" ? params.peers(client.from) : params.peers.has(client.from)
      if (!discovery && !allowed) return yield* fail(`node id ${client.from} is not another member of the cluster`)
      if (noMoreBytes(channel) !== undefined) return yield* fail("the peer sent data before the handshake completed")
      const head = encodeHello({ mode, from: params.self, to: client.from, nonce: crypto.randomBytes(NONCE_BYTES) })
      if (params.secret === undefined) {
        channel.write(Buffer.concat([head, Buffer.alloc(PROOF_BYTES)]))
        return { peer: client.from, discovery }
      }
      const reply = Buffer.concat([head, proofOf(params.secret, "server", hello, head)])
      channel.write(reply)
      const proof = yield* read(channel, PROOF_BYTES)
      if (!proofMatches(proofOf(params.secret, "client", hello, reply), proof)) {
        return yield* fail(`node ${client.from}'s proof does not match: it has a different cluster secret, or is not a member`)
      }
      if (noMoreBytes(channel) !== undefined) return yield* fail("the peer sent data before the handshake completed")
      channel.write(Buffer.of(ACCEPT))
      return { peer: client.from, discovery }
    })
  )

/** Undefined when nothing beyond the handshake arrived (a client sends frames only after it completes). */
const noMoreBytes = (channel: HandshakeChannel): true | undefined => {
  const extra = channel.drainBuffered()
  return extra.some((chunk) => chunk.length > 0) ? true : undefined
}
