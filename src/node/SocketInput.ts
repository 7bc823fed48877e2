/**
 * A socket's incoming bytes as something a fiber takes from. The socket's callbacks only queue
 * chunks and record the end; they cannot throw, so nothing a peer or client sends runs in a
 * callback where an exception would kill the process. Reading pauses while the fiber is behind by
 * more than PAUSE_BYTES (so a fast sender cannot grow the queue without bound), and while the
 * consumer asks it to (`pauseReading`, a client connection's own flow control).
 *
 * Lean on purpose, since every client command passes through it: chunks wait in an array, and a
 * fiber with nothing to take waits in one `Effect.async` that the next chunk or the end resumes.
 */
import type * as net from "node:net"
import { Data, Deferred, Effect } from "effect"

const PAUSE_BYTES = 8 * 1024 * 1024

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
  /** Stop (true) or resume (false) reading from the socket, whatever is queued. */
  readonly pauseReading: (paused: boolean) => void
}

type Resume = (effect: Effect.Effect<ReadonlyArray<Buffer>, SocketClosed>) => void

export const socketInput = (socket: net.Socket): Effect.Effect<SocketInput> =>
  Effect.gen(function* () {
    const ended = yield* Deferred.make<never, SocketClosed>()
    let queue: Array<Buffer> = []
    let queuedBytes = 0
    let closed: SocketClosed | undefined
    let waiting: Resume | undefined
    /** The fiber is behind by more than PAUSE_BYTES (until it takes what is queued). */
    let full = false
    let held = false
    let paused = false

    const updatePause = () => {
      const pause = held || full
      if (pause === paused) return
      paused = pause
      if (pause) socket.pause()
      else socket.resume()
    }

    /** What a waiting or arriving taker gets now: the queued chunks, else the end. */
    const takeNow = (): Effect.Effect<ReadonlyArray<Buffer>, SocketClosed> => {
      if (queue.length === 0) return Effect.fail(closed!)
      const batch = queue
      queue = []
      queuedBytes = 0
      if (full) {
        full = false
        updatePause()
      }
      return Effect.succeed(batch)
    }

    const wake = () => {
      const resume = waiting
      if (resume === undefined) return
      waiting = undefined
      resume(takeNow())
    }

    socket.on("data", (chunk: Buffer) => {
      queue.push(chunk)
      queuedBytes += chunk.length
      if (!full && queuedBytes > PAUSE_BYTES) {
        full = true
        updatePause()
      }
      wake()
    })
    const end = (message: string) => {
      if (closed !== undefined) return
      closed = new SocketClosed({ message })
      Deferred.unsafeDone(ended, Effect.fail(closed))
      wake()
    }
    socket.on("end", () => end("closed by the other side"))
    socket.on("close", () => end("closed"))
    socket.on("error", (error: Error) => end(error.message))

    // One constant Effect: a waiting taker registers, and is resumed at once if chunks (or the end)
    // are already there. No canceler: an interrupted wait leaves `waiting` set, and the runtime
    // ignores a resume of a wait it has interrupted; a canceler would wrap every wait in
    // onInterrupt, which costs more than the rest of the wait. Chunks received before the end are
    // taken before the end is reported.
    const takeChunks = Effect.async<ReadonlyArray<Buffer>, SocketClosed>((resume) => {
      if (queue.length > 0 || closed !== undefined) resume(takeNow())
      else waiting = resume
    })

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

    const pauseReading = (pause: boolean) => {
      held = pause
      updatePause()
    }

    return { takeChunks, readExactly, drainBuffered, ended: Deferred.await(ended), pauseReading }
  })
