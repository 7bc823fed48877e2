/**
 * The peer handshake (src/node/PeerHandshake.ts) over an in-memory pipe read through the real
 * SocketInput: both sides with the right secret, without one, and every way it must refuse
 * (wrong secret on either side, mode mismatch, wrong ids, garbage, replay, early bytes, silence).
 */
import { EventEmitter } from "node:events"
import type * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, TestClock } from "effect"
import {
  clientHandshake,
  decodeHello,
  encodeHello,
  type HandshakeChannel,
  HELLO_BYTES,
  PROOF_BYTES,
  proofOf,
  SERVER_HELLO_BYTES,
  serverHandshake
} from "../../src/node/PeerHandshake.js"
import { socketInput } from "../../src/node/SocketInput.js"

const SECRET = Buffer.from("correct horse battery staple 42")
const OTHER = Buffer.from("another cluster's secret value")

/** Stands in for a net.Socket: SocketInput only listens and pauses. */
const fakeSocket = () => Object.assign(new EventEmitter(), { pause: () => {}, resume: () => {} }) as unknown as net.Socket

/** Two connected channels: what one writes, the other reads. `sent` records what each side wrote. */
const pipe = Effect.gen(function* () {
  const a = fakeSocket()
  const b = fakeSocket()
  const inA = yield* socketInput(a)
  const inB = yield* socketInput(b)
  const sent = { client: [] as Array<Buffer>, server: [] as Array<Buffer> }
  const client: HandshakeChannel = { ...inA, write: (bytes) => (sent.client.push(bytes), b.emit("data", bytes)) }
  const server: HandshakeChannel = { ...inB, write: (bytes) => (sent.server.push(bytes), a.emit("data", bytes)) }
  return { client, server, sent, closeServer: () => a.emit("close"), closeClient: () => b.emit("close"), toServer: (bytes: Buffer) => b.emit("data", bytes) }
})
type Pipe = Effect.Effect.Success<typeof pipe>

/** Both sides at once; a side that refuses closes the connection, as the transport does. */
const both = (p: Pipe, client: Parameters<typeof clientHandshake>[1], server: Parameters<typeof serverHandshake>[1]) =>
  Effect.all(
    [
      Effect.either(clientHandshake(p.client, client)).pipe(Effect.tap((r) => Either.isLeft(r) && p.closeClient())),
      Effect.either(serverHandshake(p.server, server)).pipe(Effect.tap((r) => Either.isLeft(r) && p.closeServer()))
    ],
    { concurrency: 2 }
  )

const members = new Set([1, 3])

describe("peer handshake", () => {
  it.effect("with the same secret: both sides prove themselves and the server learns the client's id", () =>
    Effect.gen(function* () {
      const { client, server, sent } = yield* pipe
      const [, peer] = yield* Effect.all(
        [clientHandshake(client, { self: 1, peer: 2, secret: SECRET }), serverHandshake(server, { self: 2, peers: members, secret: SECRET })],
        { concurrency: 2 }
      )
      expect(peer).toEqual({ peer: 1, discovery: false })
      expect(sent.client.map((b) => b.length)).toEqual([HELLO_BYTES, PROOF_BYTES])
      expect(sent.server.map((b) => b.length)).toEqual([SERVER_HELLO_BYTES, 1])
      // The secret never crosses the wire.
      expect(Buffer.concat([...sent.client, ...sent.server]).includes(SECRET)).toBe(false)
    })
  )

  it.effect("without a secret: ids are exchanged, nothing is proven", () =>
    Effect.gen(function* () {
      const { client, server, sent } = yield* pipe
      const [, peer] = yield* Effect.all(
        [clientHandshake(client, { self: 3, peer: 2, secret: undefined }), serverHandshake(server, { self: 2, peers: members, secret: undefined })],
        { concurrency: 2 }
      )
      expect(peer).toEqual({ peer: 3, discovery: false })
      expect(sent.client.map((b) => b.length)).toEqual([HELLO_BYTES])
    })
  )

  it.effect("a different secret: the client refuses the server's proof, and the server refuses a client's", () =>
    Effect.gen(function* () {
      const first = yield* pipe
      const [clientSide, serverSide0] = yield* both(first, { self: 1, peer: 2, secret: OTHER }, { self: 2, peers: members, secret: SECRET })
      expect(Either.isLeft(clientSide) && clientSide.left.message).toBe("the peer's proof does not match: it has a different cluster secret")
      expect(Either.isLeft(serverSide0) && serverSide0.left.message).toBe("connection closed during the handshake")

      // A client that ignores the server's proof and answers with its own (wrong) one.
      const second = yield* pipe
      const server = yield* Effect.fork(Effect.either(serverHandshake(second.server, { self: 2, peers: members, secret: SECRET })))
      const hello = encodeHello({ mode: 1, from: 1, to: 2, nonce: Buffer.alloc(32, 7) })
      second.toServer(hello)
      const reply = yield* second.client.readExactly(SERVER_HELLO_BYTES)
      second.toServer(proofOf(OTHER, "client", hello, reply))
      const serverSide = yield* Fiber.join(server)
      expect(Either.isLeft(serverSide) && serverSide.left.message).toBe("node 1's proof does not match: it has a different cluster secret, or is not a member")
      expect(second.sent.server).toHaveLength(1) // no accept byte
    })
  )

  it.effect("a replayed proof from an earlier connection is refused (fresh server nonce)", () =>
    Effect.gen(function* () {
      const first = yield* pipe
      yield* Effect.all([clientHandshake(first.client, { self: 1, peer: 2, secret: SECRET }), serverHandshake(first.server, { self: 2, peers: members, secret: SECRET })], { concurrency: 2 })
      const [recordedHello, recordedProof] = first.sent.client

      const second = yield* pipe
      const server = yield* Effect.fork(Effect.either(serverHandshake(second.server, { self: 2, peers: members, secret: SECRET })))
      second.toServer(recordedHello)
      yield* second.client.readExactly(SERVER_HELLO_BYTES)
      second.toServer(recordedProof)
      const result = yield* Fiber.join(server)
      expect(Either.isLeft(result) && result.left.message).toMatch(/proof does not match/)
    })
  )

  it.effect("refuses a mode mismatch on both sides, with the reason", () =>
    Effect.gen(function* () {
      const [, serverWithSecret] = yield* both(yield* pipe, { self: 1, peer: 2, secret: undefined }, { self: 2, peers: members, secret: SECRET })
      expect(Either.isLeft(serverWithSecret) && serverWithSecret.left.message).toBe("the peer has no cluster secret (this node requires one)")

      const [clientWithSecret, serverWithout] = yield* both(yield* pipe, { self: 1, peer: 2, secret: SECRET }, { self: 2, peers: members, secret: undefined })
      expect(Either.isLeft(serverWithout) && serverWithout.left.message).toBe("the peer requires a cluster secret (this node has none)")
      expect(Either.isLeft(clientWithSecret) && clientWithSecret.left.message).toBe("connection closed during the handshake")
    })
  )

  it.effect("refuses wrong ids: a non-member, a hello for another node, an answer from the wrong node", () =>
    Effect.gen(function* () {
      const serverResult = (from: number, to: number) =>
        Effect.gen(function* () {
          const p = yield* pipe
          p.toServer(encodeHello({ mode: 1, from, to, nonce: Buffer.alloc(32) }))
          return yield* Effect.flip(serverHandshake(p.server, { self: 2, peers: members, secret: SECRET }))
        })
      expect((yield* serverResult(9, 2)).message).toBe("node id 9 is not another member of the cluster")
      expect((yield* serverResult(2, 2)).message).toBe("node id 2 is not another member of the cluster")
      expect((yield* serverResult(1, 3)).message).toMatch(/^the peer wants node 3, this is node 2/)

      // Node 1 dialed what it thinks is node 3, but node 2 answers there (different --cluster lists).
      const p = yield* pipe
      const [clientResult, serverResult2] = yield* both(p, { self: 1, peer: 3, secret: SECRET }, { self: 2, peers: members, secret: SECRET })
      expect(Either.isLeft(serverResult2) && serverResult2.left.message).toMatch(/^the peer wants node 3, this is node 2/)
      expect(Either.isLeft(clientResult) && clientResult.left.message).toBe("connection closed during the handshake")

      // A server that claims to be someone else is refused by the client.
      const q = yield* pipe
      const client = yield* Effect.fork(Effect.flip(clientHandshake(q.client, { self: 1, peer: 3, secret: undefined })))
      yield* q.server.readExactly(HELLO_BYTES)
      q.server.write(Buffer.concat([encodeHello({ mode: 0, from: 2, to: 1, nonce: Buffer.alloc(32) }), Buffer.alloc(PROOF_BYTES)]))
      expect((yield* Fiber.join(client)).message).toMatch(/^the peer answered as node 2, expected node 3/)
    })
  )

  it.effect("refuses bytes that are not a handshake, and bytes sent before it completed", () =>
    Effect.gen(function* () {
      const garbage = yield* pipe
      garbage.toServer(Buffer.alloc(HELLO_BYTES, 0x41))
      expect((yield* Effect.flip(serverHandshake(garbage.server, { self: 2, peers: members, secret: SECRET }))).message).toBe("not a raft-kv peer handshake")

      const version = yield* pipe
      const hello = encodeHello({ mode: 1, from: 1, to: 2, nonce: Buffer.alloc(32) })
      hello[4] = 9
      version.toServer(hello)
      expect((yield* Effect.flip(serverHandshake(version.server, { self: 2, peers: members, secret: SECRET }))).message).toBe("handshake version 9, this node speaks 1")

      const early = yield* pipe
      early.toServer(Buffer.concat([encodeHello({ mode: 1, from: 1, to: 2, nonce: Buffer.alloc(32) }), Buffer.from("frames too soon")]))
      expect((yield* Effect.flip(serverHandshake(early.server, { self: 2, peers: members, secret: SECRET }))).message).toBe("the peer sent data before the handshake completed")
      expect(early.sent.server).toHaveLength(0)
    })
  )

  it.effect("gives up after 5 s without a complete handshake, and on a connection closed midway", () =>
    Effect.gen(function* () {
      const silent = yield* pipe
      silent.toServer(Buffer.from("RKVP")) // 4 of 42 bytes, then nothing
      const waiting = yield* Effect.fork(Effect.flip(serverHandshake(silent.server, { self: 2, peers: members, secret: SECRET })))
      yield* TestClock.adjust("5 seconds")
      expect((yield* Fiber.join(waiting)).message).toBe("no complete handshake within 5s")

      const closed = yield* pipe
      const client = yield* Effect.fork(Effect.flip(clientHandshake(closed.client, { self: 1, peer: 2, secret: SECRET })))
      closed.closeServer()
      expect((yield* Fiber.join(client)).message).toBe("connection closed during the handshake")
    })
  )

  it("decodes what it encodes", () => {
    const nonce = Buffer.alloc(32, 9)
    expect(decodeHello(encodeHello({ mode: 0, from: 65535, to: 1, nonce }))).toEqual({ mode: 0, from: 65535, to: 1, nonce })
  })
})
