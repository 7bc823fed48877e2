/**
 * A minimal Redis client over a raw socket (replies parsed by redis-parser), for pipelined bulk
 * writes and for sending bytes no well-behaved client would send.
 */
import * as net from "node:net"
import RedisParser from "redis-parser"
import { TEST_HOST } from "./testHost.js"

export type RespValue = string | number | null | Error | Array<RespValue>

export class RespClient {
  private readonly waiting: Array<(value: RespValue) => void> = []
  private readonly parser = new RedisParser({
    returnReply: (reply: unknown) => this.waiting.shift()?.(reply as RespValue),
    returnError: (error: Error) => this.waiting.shift()?.(error)
  })

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk) => this.parser.execute(chunk))
    // A dropped connection answers every waiting command with an error instead of hanging.
    const fail = () => {
      for (const resolve of this.waiting.splice(0)) resolve(new Error("connection closed"))
    }
    socket.on("close", fail)
    socket.on("error", fail)
  }

  static connect(port: number): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: TEST_HOST, port }, () => resolve(new RespClient(socket)))
      socket.once("error", reject)
    })
  }

  /** Send commands in one write (pipelined) and resolve with their replies, in order. */
  pipeline(commands: ReadonlyArray<ReadonlyArray<string>>): Promise<Array<RespValue>> {
    const replies = commands.map(() => new Promise<RespValue>((resolve) => this.waiting.push(resolve)))
    const encoded = commands
      .map((argv) => `*${argv.length}\r\n${argv.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`)
      .join("")
    this.socket.write(encoded)
    return Promise.all(replies)
  }

  async call(...argv: Array<string>): Promise<RespValue> {
    return (await this.pipeline([argv]))[0]
  }

  close(): void {
    this.socket.destroy()
  }
}
