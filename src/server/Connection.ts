/**
 * One client connection: bytes in → argv → classify → answered locally, or handed to consensus
 * through KvService; replies leave in request order through the ReplyQueue. Reading pauses while
 * too many replies are outstanding, the commands in flight hold too many bytes, or the client
 * does not read its replies, so a pipelining client cannot grow the server's memory without bound.
 */
import type * as net from "node:net"
import { classify, type ConnectionContext } from "../commands/classify.js"
import type { KvServiceApi } from "../node/KvService.js"
import { ARGUMENT_OVERHEAD_BYTES, RequestParser } from "../resp/RequestParser.js"
import { error, OK, simple } from "../resp/Reply.js"
import { ConnectionOrder } from "./ConnectionOrder.js"
import { ReplyQueue } from "./ReplyQueue.js"

const BACKGROUND_SAVE = simple("Background saving started")

/** Outstanding replies per connection before we stop reading from it. */
const MAX_PENDING_REPLIES = 4096
/**
 * Memory held by one connection's large commands in flight (their bytes plus
 * ARGUMENT_OVERHEAD_BYTES per argument) before we stop reading from it. Commands costing less
 * than LARGE_COMMAND_BYTES are not counted (no bookkeeping on the hot path): at most
 * MAX_PENDING_REPLIES of them are outstanding, each pinning at most its read chunk (64 KiB).
 */
const MAX_PENDING_BYTES = 64 * 1024 * 1024
const LARGE_COMMAND_BYTES = 4096
/** Replies written but not yet taken by the kernel (a client that does not read) before we stop reading. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024

const commandCost = (argv: ReadonlyArray<Uint8Array>): number => {
  let bytes = argv.length * ARGUMENT_OVERHEAD_BYTES
  for (const arg of argv) bytes += arg.length
  return bytes
}

export const serveConnection = (
  socket: net.Socket,
  kv: KvServiceApi,
  context: ConnectionContext
): void => {
  let closing = false
  /** The client shut down its side: nothing more will arrive, close once every reply is out. */
  let clientEnded = false
  let paused = false
  let pendingBytes = 0

  /** Stop reading while the connection holds too much; read again once it is down to half. */
  const updateFlow = (): void => {
    if (closing || clientEnded) return
    if (!paused) {
      if (replies.pending >= MAX_PENDING_REPLIES || pendingBytes >= MAX_PENDING_BYTES || socket.writableLength >= MAX_OUTPUT_BYTES) {
        paused = true
        socket.pause()
      }
    } else if (replies.pending < MAX_PENDING_REPLIES / 2 && pendingBytes < MAX_PENDING_BYTES / 2 && socket.writableLength < MAX_OUTPUT_BYTES / 2) {
      paused = false
      socket.resume()
    }
  }

  const replies = new ReplyQueue(
    (chunks) => {
      if (socket.destroyed) return
      if (chunks.length === 1) socket.write(chunks[0])
      else {
        // Several buffers (a large reply): one writev, no copy into one buffer.
        socket.cork()
        for (const chunk of chunks) socket.write(chunk)
        socket.uncork()
      }
    },
    () => {
      // After QUIT or a protocol error the connection closes, as Redis closes it, once the reply is out.
      if (closing && replies.pending === 0) socket.end(() => socket.destroy())
      else if (clientEnded && replies.pending === 0) socket.end()
      else updateFlow()
    }
  )

  const order = new ConnectionOrder(kv)

  const onCommand = (argv: Array<Buffer>): void => {
    if (closing) return
    const classified = classify(argv, context)
    switch (classified.kind) {
      case "reply":
        replies.push(classified.reply)
        break
      case "quit":
        closing = true
        socket.pause()
        replies.push(OK)
        break
      case "snapshot":
        if (classified.wait) kv.requestSnapshot(replies.reserve())
        else {
          kv.requestSnapshot(undefined)
          replies.push(BACKGROUND_SAVE)
        }
        break
      case "write":
      case "read": {
        const bytes = commandCost(classified.argv)
        if (bytes < LARGE_COMMAND_BYTES) {
          order.submit(classified.kind, classified.argv, replies.reserve())
          break
        }
        const reply = replies.reserve()
        pendingBytes += bytes
        order.submit(classified.kind, classified.argv, (answer) => {
          pendingBytes -= bytes
          reply(answer)
        })
        break
      }
    }
  }

  // Like Redis: report the protocol error, then close the connection (the stream is unusable).
  const onProtocolError = (message: string): void => {
    if (closing) return
    closing = true
    socket.pause()
    replies.push(error(`ERR ${message}`))
  }

  const parser = new RequestParser(onCommand, onProtocolError)
  socket.on("data", (chunk: Buffer) => {
    parser.push(chunk)
    updateFlow()
  })
  socket.on("drain", updateFlow)
  socket.on("end", () => {
    clientEnded = true
    if (replies.pending === 0) socket.end()
  })
  socket.on("error", () => socket.destroy())
}
