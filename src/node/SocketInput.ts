/**
 * A socket's incoming bytes as something a fiber takes from. The socket's callbacks only queue
 * chunks and record the end; they cannot throw, so nothing a peer sends runs in a callback where
 * an exception would kill the process. Reading pauses while the fiber is behind by more than
 * PAUSE_BYTES, so a fast sender cannot grow the queue without bound.
 */
import type * as net from "node:net"
import { Chunk, Data, Deferred, Effect, Queue } from "effect"

const PAUSE_BYTES = 8 * 1024 * 1024
const RESUME_BYTES = PAUSE_BYTES / 2

export class SocketClosed extends Data.TaggedError("SocketClosed")<{ readonly message: string }> {}

export interface SocketInput {
  /** Every chunk received since the last call, waiting for one; fails once the socket ended and all were taken. */
  readonly takeChunks: Effect.Effect<ReadonlyArray<Buffer>, SocketClosed>
  /** Exactly `n` bytes (less than a chunk's worth stays buffered for the next read). */
  readonly readExactly: (n: number) => Effect.Effect<Buffer, SocketClosed>
  /** Bytes received but not yet read by `readExactly`, handed over (the buffer is emptied). */
  readonly drainBuffered: () => ReadonlyArray<Buffer>
  /** Fails when the socket ends or errors (whatever is still queued). */
  readonly ended: Effect.Effect<never, SocketClosed>
}

export const socketInput = (socket: net.Socket): Effect.Effect<SocketInput> =>
  Effect.gen(function* () {
    const chunks = yield* Queue.unbounded<Buffer>()
    const ended = yield* Deferred.make<never, SocketClosed>()
    let queuedBytes = 0
    let paused = false
    socket.on("data", (chunk: Buffer) => {
      queuedBytes += chunk.length
      Queue.unsafeOffer(chunks, chunk)
      if (!paused && queuedBytes > PAUSE_BYTES) {
        paused = true
        socket.pause()
      }
    })
    const end = (message: string) => Deferred.unsafeDone(ended, Effect.fail(new SocketClosed({ message })))
    socket.on("end", () => end("closed by the other side"))
    socket.on("close", () => end("closed"))
    socket.on("error", (error: Error) => end(error.message))

    const taken = (batch: ReadonlyArray<Buffer>) => {
      for (const chunk of batch) queuedBytes -= chunk.length
      if (paused && queuedBytes < RESUME_BYTES) {
        paused = false
        socket.resume()
      }
      return batch
    }
    // Chunks received before the end are taken before the end is reported.
    const takeChunks: Effect.Effect<ReadonlyArray<Buffer>, SocketClosed> = Effect.flatMap(Queue.takeAll(chunks), (ready) =>
      Chunk.isEmpty(ready)
        ? Effect.raceFirst(
            Effect.flatMap(Queue.take(chunks), (first) => Effect.map(Queue.takeAll(chunks), (rest) => taken([first, ...Chunk.toReadonlyArray(rest)]))),
            Deferred.await(ended)
          )
        : Effect.succeed(taken(Chunk.toReadonlyArray(ready)))
    )

    let buffered: Array<Buffer> = []
    let bufferedBytes = 0
    const readExactly = (n: number): Effect.Effect<Buffer, SocketClosed> =>
      Effect.suspend(() => {
        if (bufferedBytes >= n) {
          const all = Buffer.concat(buffered, bufferedBytes)
          buffered = bufferedBytes > n ? [all.subarray(n)] : []
          bufferedBytes -= n
          return Effect.succeed(all.subarray(0, n))
        }
        return Effect.flatMap(takeChunks, (more) => {
          for (const chunk of more) {
            buffered.push(chunk)
            bufferedBytes += chunk.length
          }
          return readExactly(n)
        })
      })

    const drainBuffered = () => {
      const out = buffered
      buffered = []
      bufferedBytes = 0
      return out
    }

    return { takeChunks, readExactly, drainBuffered, ended: Deferred.await(ended) }
  })
