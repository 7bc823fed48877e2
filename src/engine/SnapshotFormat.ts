/**
 * The engine-neutral snapshot format, so a snapshot taken from one engine restores into any
 * other: a stream of chunks, each holding whole records `u32 key length | key | u32 value
 * length | value`. Keys are unique across the whole snapshot, in any order: a restore must not
 * depend on the order (the memory engine writes its records in the order of their ids, not in
 * key order). Engines build and read it with these two helpers (the memory engine writes the same
 * records straight from its record buffers, see MemoryEngine.ts).
 */
import { Chunk, Effect, Stream } from "effect"
import { EngineError } from "./KvEngine.js"

export const SNAPSHOT_CHUNK_BYTES = 64 * 1024

type Pair = readonly [Uint8Array, Uint8Array]

/** Pack key/value pairs into chunks of about `chunkBytes`. */
export const toSnapshotChunks = <E>(
  pairs: Stream.Stream<Pair, E>,
  chunkBytes = SNAPSHOT_CHUNK_BYTES
): Stream.Stream<Uint8Array, E> =>
  pairs.pipe(
    Stream.rechunk(256),
    Stream.mapChunks((batch) => {
      const out: Array<Uint8Array> = []
      let parts: Array<Uint8Array> = []
      let size = 0
      const seal = () => {
        if (parts.length > 0) out.push(Buffer.concat(parts, size))
        parts = []
        size = 0
      }
      for (const [key, value] of Chunk.toReadonlyArray(batch)) {
        const header = Buffer.allocUnsafe(4)
        header.writeUInt32BE(key.length)
        const valueHeader = Buffer.allocUnsafe(4)
        valueHeader.writeUInt32BE(value.length)
        parts.push(header, key, valueHeader, value)
        size += 8 + key.length + value.length
        if (size >= chunkBytes) seal()
      }
      seal()
      return Chunk.unsafeFromArray(out)
    })
  )

const corrupt = (message: string) => new EngineError({ operation: "restore", message: `snapshot chunk is invalid: ${message}` })

/** Unpack chunks into key/value pairs, validating every length. */
export const fromSnapshotChunks = <E>(chunks: Stream.Stream<Uint8Array, E>): Stream.Stream<Pair, E | EngineError> =>
  chunks.pipe(
    Stream.mapEffect((chunk) =>
      Effect.suspend(() => {
        const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
        const pairs: Array<Pair> = []
        let offset = 0
        while (offset < view.length) {
          if (offset + 4 > view.length) return Effect.fail(corrupt("truncated key length"))
          const keyLength = view.readUInt32BE(offset)
          const keyEnd = offset + 4 + keyLength
          if (keyEnd + 4 > view.length) return Effect.fail(corrupt("truncated key"))
          const valueLength = view.readUInt32BE(keyEnd)
          const valueEnd = keyEnd + 4 + valueLength
          if (valueEnd > view.length) return Effect.fail(corrupt("truncated value"))
          pairs.push([view.subarray(offset + 4, keyEnd), view.subarray(keyEnd + 4, valueEnd)])
          offset = valueEnd
        }
        return Effect.succeed(pairs)
      })
    ),
    Stream.flattenIterables
  )
