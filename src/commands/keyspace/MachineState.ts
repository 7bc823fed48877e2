/**
 * The state machine's own replicated state, kept in the engine beside the keys (so it is in the
 * same atomic batches, snapshots and restores) and cached here between batches:
 *
 * - the applied clock: the highest entry time applied so far, the "now" of every write (so expiry
 *   is decided identically on every node) and the lower bound of a read's now;
 * - the next collection version and the next physical database id (both only grow);
 * - which physical database each of the 16 logical databases is (FLUSHDB and SWAPDB remap);
 * - per physical database, how many keys it holds and how many of them have an expiry (DBSIZE and
 *   INFO keyspace without a scan);
 * - where each node serves clients, as the nodes announced it;
 * - how many members of deleted collections the reaper has still to remove (INFO raft's
 *   raft_garbage_members: background reclamation is done when it is 0).
 */
import { Effect, Stream } from "effect"
import type { EngineError, KvEngineService } from "../../engine/KvEngine.js"
import { COUNT_PREFIX, countKey, GARBAGE_MEMBERS_KEY, NODE_ADDRESS_PREFIX, nodeAddressKey, STATE_KEY } from "./layout.js"
import type { Txn } from "./Txn.js"

export const DATABASES = 16

export interface DbCounts {
  keys: number
  expires: number
}

const STATE_BYTES = 8 + 8 + 4 + DATABASES * 4

export class MachineState {
  private dirty = false
  private readonly dirtyCounts = new Set<number>()
  private garbageMembersValue = 0
  private garbageDirty = false

  private constructor(
    public clock: number,
    private nextVersionValue: number,
    private nextDbValue: number,
    private readonly dbs: Array<number>,
    private readonly counts: Map<number, DbCounts>,
    readonly addresses: Map<number, string>
  ) {}

  static empty(): MachineState {
    return new MachineState(0, 1, DATABASES, Array.from({ length: DATABASES }, (_, i) => i), new Map(), new Map())
  }

  /** The state as the engine holds it (a new engine: the empty state). */
  static load(engine: KvEngineService): Effect.Effect<MachineState, EngineError> {
    return Effect.gen(function* () {
      const stored = yield* engine.get(STATE_KEY)
      const state = MachineState.empty()
      if (stored !== undefined && stored.length === STATE_BYTES) {
        const view = Buffer.from(stored.buffer, stored.byteOffset, stored.length)
        state.clock = view.readDoubleBE(0)
        state.nextVersionValue = view.readDoubleBE(8)
        state.nextDbValue = view.readUInt32BE(16)
        for (let i = 0; i < DATABASES; i++) state.dbs[i] = view.readUInt32BE(20 + 4 * i)
      }
      const counts = yield* Stream.runCollect(engine.iterate({ prefix: COUNT_PREFIX }))
      for (const [key, value] of counts) {
        if (key.length !== 6 || value.length !== 16) continue
        const view = Buffer.from(value.buffer, value.byteOffset, value.length)
        state.counts.set(Buffer.from(key.buffer, key.byteOffset, key.length).readUInt32BE(2), {
          keys: view.readDoubleBE(0),
          expires: view.readDoubleBE(8)
        })
      }
      const garbage = yield* engine.get(GARBAGE_MEMBERS_KEY)
      if (garbage !== undefined && garbage.length === 8) state.garbageMembersValue = Buffer.from(garbage.buffer, garbage.byteOffset, 8).readDoubleBE(0)
      for (const [key, value] of yield* Stream.runCollect(engine.iterate({ prefix: NODE_ADDRESS_PREFIX }))) {
        if (key.length === 4) state.addresses.set(Buffer.from(key.buffer, key.byteOffset, key.length).readUInt16BE(2), Buffer.from(value).toString("latin1"))
      }
      return state
    })
  }

  /** Record where node `node` serves clients (it announced it through the log). */
  announce(txn: Txn, node: number, address: string): void {
    this.addresses.set(node, address)
    txn.put(nodeAddressKey(node), Buffer.from(address, "latin1"))
  }

  /** The physical database of logical database `db` (0..15). */
  physical(db: number): number {
    return this.dbs[db]
  }

  /** The logical database currently mapped to `physical` (undefined: none, e.g. a flushed one). */
  logicalOf(physical: number): number | undefined {
    const db = this.dbs.indexOf(physical)
    return db < 0 ? undefined : db
  }

  /** Advance the applied clock to an entry's time (it never goes back). */
  advanceClock(time: number): void {
    if (time > this.clock) {
      this.clock = time
      this.dirty = true
    }
  }

  newVersion(): number {
    this.dirty = true
    return this.nextVersionValue++
  }

  /** Give logical database `db` a fresh, empty physical database; returns the old one. */
  remap(db: number): number {
    const old = this.dbs[db]
    this.dbs[db] = this.nextDbValue++
    this.counts.delete(old)
    this.dirtyCounts.add(old)
    this.dirty = true
    return old
  }

  swap(a: number, b: number): void {
    const first = this.dbs[a]
    this.dbs[a] = this.dbs[b]
    this.dbs[b] = first
    this.dirty = true
  }

  countsOf(physical: number): DbCounts {
    return this.counts.get(physical) ?? { keys: 0, expires: 0 }
  }

  adjustCounts(physical: number, keys: number, expires: number): void {
    if (keys === 0 && expires === 0) return
    const counts = this.counts.get(physical) ?? { keys: 0, expires: 0 }
    counts.keys += keys
    counts.expires += expires
    this.counts.set(physical, counts)
    this.dirtyCounts.add(physical)
  }

  /** Members of deleted collections still to be removed. */
  get garbageMembers(): number {
    return this.garbageMembersValue
  }

  /** A collection of `members` became garbage (positive), or the reaper removed some (negative). */
  adjustGarbageMembers(members: number): void {
    if (members === 0) return
    this.garbageMembersValue = Math.max(0, this.garbageMembersValue + members)
    this.garbageDirty = true
  }

  /** Write what changed in this batch into it. */
  persist(txn: Txn): void {
    if (this.garbageDirty) {
      const out = Buffer.allocUnsafe(8)
      out.writeDoubleBE(this.garbageMembersValue, 0)
      txn.put(GARBAGE_MEMBERS_KEY, out)
      this.garbageDirty = false
    }
    if (this.dirty) {
      const out = Buffer.allocUnsafe(STATE_BYTES)
      out.writeDoubleBE(this.clock, 0)
      out.writeDoubleBE(this.nextVersionValue, 8)
      out.writeUInt32BE(this.nextDbValue, 16)
      for (let i = 0; i < DATABASES; i++) out.writeUInt32BE(this.dbs[i], 20 + 4 * i)
      txn.put(STATE_KEY, out)
      this.dirty = false
    }
    for (const physical of this.dirtyCounts) {
      const counts = this.counts.get(physical)
      if (counts === undefined || (counts.keys === 0 && counts.expires === 0)) {
        txn.del(countKey(physical))
        continue
      }
      const out = Buffer.allocUnsafe(16)
      out.writeDoubleBE(counts.keys, 0)
      out.writeDoubleBE(counts.expires, 8)
      txn.put(countKey(physical), out)
    }
    this.dirtyCounts.clear()
  }
}
