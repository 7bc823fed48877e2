/**
 * A hand-driven peer connection for security tests: connects to a node's peer port over TCP or
 * TLS and sends whatever the test says: raw frames without a handshake, a handshake with any
 * secret (also a wrong one, answering even when the server's proof did not match), then frames.
 * It reports what the node did: accepted, or closed the connection.
 */
import * as net from "node:net"
import * as tls from "node:tls"
import { encodeHello, HELLO_BYTES, proofOf, SERVER_HELLO_BYTES } from "../../src/node/PeerHandshake.js"
import { TEST_HOST } from "./testHost.js"

export class PeerProbe {
  private buffered = Buffer.alloc(0)
  private wake: (() => void) | undefined
  private isClosed = false
  /** Resolves when the node closed (or reset) the connection. */
  readonly closed: Promise<void>

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      this.wake?.()
    })
    socket.on("error", () => {})
    this.closed = new Promise((resolve) =>
      socket.on("close", () => {
        this.isClosed = true
        this.wake?.()
        resolve()
      })
    )
  }

  static tcp(port: number): Promise<PeerProbe> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: TEST_HOST, port, localAddress: TEST_HOST }, () => resolve(new PeerProbe(socket)))
      socket.once("error", reject)
    })
  }

  /** A TLS connection presenting `cert`/`key`, trusting `ca` for the server (resolves once TLS is up on our side). */
  static tls(port: number, options: { cert?: Buffer; key?: Buffer; ca: Buffer }): Promise<PeerProbe> {
    return new Promise((resolve, reject) => {
      const tcp = net.connect({ host: TEST_HOST, port, localAddress: TEST_HOST })
      const socket = tls.connect({ socket: tcp, host: TEST_HOST, ...options }, () => resolve(new PeerProbe(socket)))
      socket.once("error", reject)
    })
  }

  get isOpen(): boolean {
    return !this.isClosed
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** `n` bytes, or undefined if the node closed the connection first (or `timeoutMs` passed). */
  async read(n: number, timeoutMs = 5000): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs
    while (this.buffered.length < n) {
      if (this.isClosed || Date.now() >= deadline) return undefined
      await new Promise<void>((resolve) => {
        this.wake = resolve
        setTimeout(resolve, Math.max(1, deadline - Date.now()))
      })
      this.wake = undefined
    }
    const out = this.buffered.subarray(0, n)
    this.buffered = this.buffered.subarray(n)
    return out
  }

  /**
   * The client side of the peer handshake as node `from` to node `to`, proving with `secret`
   * (undefined: the mode without a secret). Unlike a real node it does not check the server's
   * proof, so a wrong secret gets as far as the server's verdict. Resolves with that verdict.
   */
  async handshake(from: number, to: number, secret: Buffer | undefined): Promise<"accepted" | "refused"> {
    const hello = encodeHello({ mode: secret === undefined ? 0 : 1, from, to, nonce: Buffer.alloc(32, 0x5a) })
    this.write(hello)
    const reply = await this.read(SERVER_HELLO_BYTES)
    if (reply === undefined || reply.length < HELLO_BYTES) return "refused"
    if (secret === undefined) return "accepted"
    this.write(proofOf(secret, "client", hello, reply))
    const accept = await this.read(1)
    return accept !== undefined && accept[0] === 1 ? "accepted" : "refused"
  }

  close(): void {
    this.socket.destroy()
  }
}
