/**
 * An engine wrapper that counts what the state machine asks of the engine under it: the ranges it
 * iterates and how many pairs it pulled, and the operations of every write batch. Tests use it to
 * show that a command reads and writes only what it must (O(log n) per field, LIMIT stops early).
 */
import { Effect, Stream } from "effect"
import type { KeyRange, KvEngineService, WriteOp } from "../../src/engine/KvEngine.js"

export interface EngineCounts {
  /** Every range iterated, in order. */
  readonly ranges: Array<KeyRange>
  /** Pairs pulled from all iterations. */
  pairsRead: number
  /** Point reads (get, getNow, getMany keys). */
  pointReads: number
  /** The operations of each write batch, in order. */
  readonly batches: Array<ReadonlyArray<WriteOp>>
  reset(): void
}

export const countingEngine = (engine: KvEngineService): { readonly engine: KvEngineService; readonly counts: EngineCounts } => {
  const counts: EngineCounts = {
    ranges: [],
    pairsRead: 0,
    pointReads: 0,
    batches: [],
    reset() {
      counts.ranges.length = 0
      counts.batches.length = 0
      counts.pairsRead = 0
      counts.pointReads = 0
    }
  }
  const getNow = engine.getNow
  const getMany = engine.getMany
  const wrapped: KvEngineService = {
    ...engine,
    get: (key) => Effect.suspend(() => {
      counts.pointReads++
      return engine.get(key)
    }),
    ...(getNow === undefined ? {} : { getNow: (key: Uint8Array) => {
      counts.pointReads++
      return getNow(key)
    } }),
    ...(getMany === undefined ? {} : { getMany: (keys: ReadonlyArray<Uint8Array>) => Effect.suspend(() => {
      counts.pointReads += keys.length
      return getMany(keys)
    }) }),
    iterate: (range) => {
      counts.ranges.push(range)
      return engine.iterate(range).pipe(Stream.tap(() => Effect.sync(() => counts.pairsRead++)))
    },
    write: (ops, appliedIndex) => {
      counts.batches.push([...ops])
      return engine.write(ops, appliedIndex)
    }
  }
  return { engine: wrapped, counts }
}
