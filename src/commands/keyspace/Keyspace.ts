/**
 * The Redis keyspace as commands see it: typed meta records, collection members, expiry and the
 * bookkeeping every change needs (key and expiry counts, the expiry index, garbage of replaced
 * collections, WATCH dirty marks). Commands never touch engine keys directly: they read a key's
 * meta, decide, and call `write` or `remove` with the meta they read, so the bookkeeping lives
 * here once. One Keyspace serves one apply batch (writable) or one read.
 */
import { Chunk, Effect, Stream } from "effect"
import type { EngineError } from "../../engine/KvEngine.js"
import { keyAfterPrefix } from "../../engine/KvEngine.js"
import {
  expiryKey,
  garbageKey,
  hash32,
  justAfter,
  MEMBER_HEADER,
  memberKey,
  memberPrefix,
  metaKey,
  metaKeyAtHash,
  metaPrefix,
  parseMetaKey
} from "./layout.js"
import { hashPage } from "./hashCursor.js"
import type { MachineState } from "./MachineState.js"
import { type CollectionMeta, type CollectionType, decodeMeta, encodeMeta, isCollection, isExpired, KeyType, type Meta } from "./meta.js"
import { NOT_LOADED, type Txn } from "./Txn.js"
import type { WatchedKey, Watches } from "./Watches.js"

const EMPTY = new Uint8Array(0)

/** What a write batch tells the node about besides replies. */
export interface KeyspaceEvents {
  /** A list or sorted set received elements (blocked clients of that key may be served). */
  readonly ready?: (db: number, key: Uint8Array) => void
  /** A key was removed because its time had come. */
  readonly expired?: () => void
  /** A read looked a key up (keyspace_hits / keyspace_misses). */
  readonly lookup?: (hit: boolean) => void
}

export interface KeyEntry {
  readonly key: Buffer
  readonly meta: Meta
}

export interface ScanPage {
  readonly keys: Array<KeyEntry>
  /** The cursor to continue from; 0 when the scan is complete. */
  readonly cursor: number
}

const corrupt = (key: Uint8Array): never => {
  throw new Error(`corrupt meta record for key ${JSON.stringify(Buffer.from(key).toString("latin1").slice(0, 64))}`)
}

export class Keyspace {
  constructor(
    readonly txn: Txn,
    readonly state: MachineState,
    /** Epoch ms: the entry's time in a write (the applied clock), the node's clock or later in a read. */
    public now: number,
    /** Deterministic in a write (drawn from the entry), free in a read. */
    public random: () => number,
    private readonly watches: Watches | undefined,
    private readonly events: KeyspaceEvents = {}
  ) {}

  /** Whether this keyspace may change (an apply batch), as opposed to a read. */
  get writable(): boolean {
    return this.watches !== undefined
  }

  physical(db: number): number {
    return this.state.physical(db)
  }

  // ---------------------------------------------------------------- meta records

  /** The key's meta record, expired or not (TTL and WATCH need to see an expired one). */
  storedMeta(db: number, key: Uint8Array): Effect.Effect<Meta | undefined, EngineError> {
    const stored = metaKey(this.physical(db), key)
    const now = this.txn.getNow(stored)
    const decode = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : (decodeMeta(bytes) ?? corrupt(key)))
    return now !== NOT_LOADED ? Effect.succeed(decode(now)) : Effect.map(this.txn.get(stored), decode)
  }

  /**
   * The key's live meta record: undefined when absent or expired. In a write an expired key is
   * removed on the spot (Redis's lazy expiry), so the command sees a missing key and its bookkeeping
   * stays exact; a read only hides it.
   */
  meta(db: number, key: Uint8Array): Effect.Effect<Meta | undefined, EngineError> {
    return Effect.map(this.storedMeta(db, key), (meta) => this.live(db, key, meta))
  }

  /** `meta` without an Effect, when the engine (or this batch) can answer synchronously. */
  metaNow(db: number, key: Uint8Array): Meta | undefined | typeof NOT_LOADED {
    const stored = this.txn.getNow(metaKey(this.physical(db), key))
    if (stored === NOT_LOADED) return NOT_LOADED
    return this.live(db, key, stored === undefined ? undefined : (decodeMeta(stored) ?? corrupt(key)))
  }

  private live(db: number, key: Uint8Array, meta: Meta | undefined): Meta | undefined {
    if (!this.writable) {
      const live = meta === undefined || isExpired(meta.expireAt, this.now) ? undefined : meta
      this.events.lookup?.(live !== undefined)
      return live
    }
    if (meta === undefined || !isExpired(meta.expireAt, this.now)) return meta
    this.remove(db, key, meta)
    this.noteExpired()
    return undefined
  }

  /** Store `next` as the key's record, replacing `previous` (what `meta` returned, undefined: none). */
  write(db: number, key: Uint8Array, next: Meta, previous: Meta | undefined): void {
    const physical = this.physical(db)
    this.txn.put(metaKey(physical, key), encodeMeta(next))
    this.account(physical, key, previous, next)
    this.watches?.touch(this.txn, db, key, true)
    // A list or sorted set appears under the key (created, or renamed, moved or copied here):
    // clients blocked on the key may be served.
    if ((next.type === KeyType.List || next.type === KeyType.ZSet) && (previous === undefined || !isCollection(previous) || previous.version !== (next as CollectionMeta).version)) {
      this.signalReady(db, key)
    }
  }

  /**
   * Delete the key (`previous`: its current record). A collection's members are left to the
   * reaper, unless `keepMembers` says they are not garbage: the record moves elsewhere with them
   * (RENAME, MOVE), or the command already removed the last of them (a collection that empties).
   */
  remove(db: number, key: Uint8Array, previous: Meta, options: { readonly keepMembers?: boolean } = {}): void {
    const physical = this.physical(db)
    this.txn.del(metaKey(physical, key))
    this.account(physical, key, previous, undefined, options.keepMembers === true)
    this.watches?.touch(this.txn, db, key, false)
  }

  private account(physical: number, key: Uint8Array, previous: Meta | undefined, next: Meta | undefined, keepMembers = false): void {
    const before = previous?.expireAt ?? 0
    const after = next?.expireAt ?? 0
    this.state.adjustCounts(physical, (next === undefined ? 0 : 1) - (previous === undefined ? 0 : 1), (after !== 0 ? 1 : 0) - (before !== 0 ? 1 : 0))
    if (before !== after) {
      if (before !== 0) this.txn.del(expiryKey(before, physical, key))
      if (after !== 0) this.txn.put(expiryKey(after, physical, key), EMPTY)
    }
    if (!keepMembers && previous !== undefined && isCollection(previous) && (next === undefined || !isCollection(next) || next.version !== previous.version)) {
      this.txn.put(garbageKey(previous.version), EMPTY)
      // Counted in engine keys, as the reaper removes them: a sorted set keeps two per member
      // (its member and score indexes).
      this.state.adjustGarbageMembers(previous.type === KeyType.ZSet ? 2 * previous.size : previous.size)
    }
  }

  /** The key changed (WATCH): every write path above calls this; commands that only change members call it too. */
  touch(db: number, key: Uint8Array): void {
    if (this.watches === undefined || this.watches.size === 0) return
    // Members changed: the key exists, unless the batch has just deleted its record.
    const stored = this.txn.getNow(metaKey(this.physical(db), key))
    this.watches.touch(this.txn, db, key, stored !== undefined)
  }

  /** A flush or swap of `db`: each watched key of it as `decide` says (Watches.touchAll). */
  touchAllWatched(db: number, decide: (watched: WatchedKey) => "dirty" | "clear" | "flag" | undefined): void {
    this.watches?.touchAll(this.txn, db, decide)
  }

  /** The keys WATCHed in logical database `db` (a flush or swap decides which of them changed). */
  watchedKeysIn(db: number): ReadonlyArray<WatchedKey> {
    return this.watches?.keysIn(db) ?? []
  }

  /** A key was removed because its time had come (INFO expired_keys). */
  noteExpired(): void {
    this.events.expired?.()
  }

  /** A push made elements available under the key (BLPOP and friends may now be served). */
  signalReady(db: number, key: Uint8Array): void {
    this.events.ready?.(db, key)
  }

  /** A new, empty collection record (not stored until written). */
  newCollection(type: CollectionType, head = 0): CollectionMeta {
    return { type, expireAt: 0, version: this.state.newVersion(), size: 0, head }
  }

  // ---------------------------------------------------------------- collection members

  member(version: number, part: Uint8Array): Effect.Effect<Uint8Array | undefined, EngineError> {
    return this.txn.get(memberKey(version, part))
  }

  /** `member` without an Effect, when the engine (or this batch) can answer synchronously. */
  memberNow(version: number, part: Uint8Array): Uint8Array | undefined | typeof NOT_LOADED {
    return this.txn.getNow(memberKey(version, part))
  }

  /**
   * Several members by their parts (a list's positions), in order, without an Effect when the
   * engine (or this batch) answers synchronously: no range iteration for a few known keys.
   */
  membersNow(version: number, parts: ReadonlyArray<Uint8Array>): Array<Uint8Array | undefined> | typeof NOT_LOADED {
    const values: Array<Uint8Array | undefined> = []
    for (const part of parts) {
      const value = this.txn.getNow(memberKey(version, part))
      if (value === NOT_LOADED) return NOT_LOADED
      values.push(value)
    }
    return values
  }

  /** `membersNow` as an Effect: one batched engine read (`getMany`) where the engine offers it. */
  membersAt(version: number, parts: ReadonlyArray<Uint8Array>): Effect.Effect<Array<Uint8Array | undefined>, EngineError> {
    const now = this.membersNow(version, parts)
    if (now !== NOT_LOADED) return Effect.succeed(now)
    const keys = parts.map((part) => memberKey(version, part))
    return Effect.zipRight(this.txn.prefetch(keys), Effect.forEach(keys, (key) => this.txn.get(key)))
  }

  putMember(version: number, part: Uint8Array, value: Uint8Array): void {
    this.txn.put(memberKey(version, part), value)
  }

  deleteMember(version: number, part: Uint8Array): void {
    this.txn.del(memberKey(version, part))
  }

  /**
   * Make the members at `parts` readable with `loadedMember`: undefined when they already are
   * (the engine reads synchronously), else the Effect that fetches them (see syncFirst.withLoaded).
   */
  loadMembers(version: number, parts: ReadonlyArray<Uint8Array>): Effect.Effect<void, EngineError> | undefined {
    if (this.txn.engine.getNow !== undefined) return undefined
    return this.txn.load(parts.map((part) => memberKey(version, part)))
  }

  /** A member `loadMembers` made readable (or one the engine reads synchronously). */
  loadedMember(version: number, part: Uint8Array): Uint8Array | undefined {
    const value = this.txn.getNow(memberKey(version, part))
    if (value === NOT_LOADED) throw new Error("a collection member was read before it was loaded")
    return value
  }

  /** Fetch the members at `parts` with one engine call, where the engine reads asynchronously (LevelDB). */
  prefetchMembers(version: number, parts: ReadonlyArray<Uint8Array>): Effect.Effect<void, EngineError> {
    if (this.txn.engine.getNow !== undefined || parts.length === 0) return Effect.void
    return this.txn.prefetch(parts.map((part) => memberKey(version, part)))
  }

  /**
   * Members of the collection at `version` in part order, from `from` (inclusive) to `to`
   * (exclusive; undefined: to the end), or descending. Returns [part, value] with the parts
   * stripped of the collection prefix.
   */
  members(
    version: number,
    options: {
      readonly from?: Uint8Array
      readonly to?: Uint8Array
      readonly reverse?: boolean
      readonly limit?: number
      readonly visit?: (part: Buffer, value: Uint8Array) => boolean
    } = {}
  ): Effect.Effect<Array<readonly [Buffer, Uint8Array]>, EngineError> {
    const prefix = memberPrefix(version)
    const gte = options.from === undefined ? prefix : memberKey(version, options.from)
    const lt = options.to === undefined ? keyAfterPrefix(prefix)! : memberKey(version, options.to)
    const visit = options.visit
    return Effect.map(
      this.txn.range(
        { gte, lt, ...(options.reverse ? { reverse: true } : {}), ...(options.limit !== undefined ? { limit: options.limit } : {}) },
        visit === undefined ? undefined : ([key, value]) => visit(key.subarray(MEMBER_HEADER), value)
      ),
      (pairs) => pairs.map(([key, value]) => [key.subarray(MEMBER_HEADER), value] as const)
    )
  }

  /**
   * Delete up to `limit` members of the deleted collection at `version`, after member part
   * `after` (from the first when empty); returns their keys. Nothing but the reaper's collect
   * entries writes a dead collection's members, and each resumes after the last one the previous
   * removed, so unless this batch wrote some of them (a replay or catch-up batch that holds the
   * writes that made the collection as well as its DEL), they are read from the engine alone and
   * deleted without the batch's read bookkeeping: thousands per entry.
   */
  collectMembers(version: number, after: Uint8Array, limit: number): Effect.Effect<Array<Uint8Array>, EngineError> {
    const prefix = memberPrefix(version)
    const range = { gte: after.length > 0 ? memberKey(version, justAfter(after)) : prefix, lt: keyAfterPrefix(prefix)!, limit }
    if (this.txn.writesWithin(range.gte, range.lt)) {
      return Effect.map(this.txn.range(range), (pairs) =>
        pairs.map(([key]) => {
          this.txn.del(key)
          return key
        })
      )
    }
    const keys = Stream.map(this.txn.engine.iterate(range), ([key]) => key)
    return Effect.map(Stream.runCollect(keys), (chunk) => {
      const deleted = Chunk.toArray(chunk)
      for (const key of deleted) this.txn.delUnseen(key)
      return deleted
    })
  }

  // ---------------------------------------------------------------- iterating keys

  /**
   * Keys of database `db` from SCAN cursor `cursor` (a key hash; 0 starts), in hash order: about
   * `count` keys are examined, and every key sharing the last hash examined is included so the
   * cursor never splits a hash. Expired keys are examined but not returned.
   */
  scan(db: number, cursor: number, count: number): Effect.Effect<ScanPage, EngineError> {
    const physical = this.physical(db)
    const prefix = metaPrefix(physical)
    const page = hashPage(count, (key) => parseMetaKey(key).hash)
    return Effect.map(
      this.txn.range({ gte: metaKeyAtHash(physical, cursor), lt: keyAfterPrefix(prefix)! }, ([key]) => page.visit(key)),
      (pairs) => {
        const next = page.nextCursor(pairs)
        const keys: Array<KeyEntry> = []
        for (const [stored, value] of pairs) {
          const meta = decodeMeta(value) ?? corrupt(stored)
          if (!isExpired(meta.expireAt, this.now)) keys.push({ key: parseMetaKey(stored).key, meta })
        }
        return { keys, cursor: next }
      }
    )
  }

  /** A live key near a random hash (RANDOMKEY), or undefined when the database holds none. */
  randomKey(db: number): Effect.Effect<KeyEntry | undefined, EngineError> {
    return Effect.gen(this, function* () {
      for (let attempt = 0; attempt < 8; attempt++) {
        const start = Math.floor(this.random() * 2 ** 32)
        const page = yield* this.scan(db, start, 16)
        const wrapped = page.keys.length > 0 ? page : yield* this.scan(db, 0, 16)
        if (wrapped.keys.length > 0) return wrapped.keys[Math.floor(this.random() * wrapped.keys.length)]
        if (this.state.countsOf(this.physical(db)).keys === 0) return undefined
      }
      return undefined
    })
  }

  /**
   * Every live key of logical database `db`, in cursor order, visited without being collected
   * (KEYS): the read yields to the event loop between pages, so a million keys never hold the node.
   */
  eachKey(db: number, visit: (key: Buffer) => void): Effect.Effect<void, EngineError> {
    const physical = this.physical(db)
    const prefix = metaPrefix(physical)
    const range = this.txn.range(
      { gte: prefix, lt: keyAfterPrefix(prefix)! },
      ([stored, value]) => {
        const meta = decodeMeta(value) ?? corrupt(stored)
        if (!isExpired(meta.expireAt, this.now)) visit(parseMetaKey(stored).key)
        return true
      },
      false
    )
    return Effect.asVoid(range)
  }

  /** The hash a SCAN cursor position refers to. */
  static hashOf(key: Uint8Array): number {
    return hash32(key)
  }
}

export { NOT_LOADED }
