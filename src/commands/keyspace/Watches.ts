/**
 * WATCH sessions as replicated state. Redis marks a client "dirty" when a key it watches is
 * modified; here the marks must be the same on every node, so WATCH is itself a log entry, the
 * sessions and their dirty flags are engine records ('w' family, in every snapshot), and the index
 * below is a cache of them rebuilt when the engine is loaded or restored. Every write of a key
 * consults the index (one Map lookup, none at all while nobody watches).
 *
 * A session belongs to one client connection of one node: (origin node id, session number). The
 * session number embeds the node's incarnation, so a node that restarts drops its old sessions
 * with its first entry (their clients are gone).
 */
import { Effect, Stream } from "effect"
import type { EngineError, KvEngineService } from "../../engine/KvEngine.js"
import { familyPrefix, Family, parseWatchKey, watchKey } from "./layout.js"
import type { Txn } from "./Txn.js"

const INCARNATION_SPAN = 2 ** 32

export interface WatchedKey {
  /** Logical database. */
  readonly db: number
  /** The key, latin1. */
  readonly key: string
  /**
   * The key was already expired when watched (Redis 7 then ignores its expiry at EXEC). Cleared
   * when the expired key is deleted (a logical no-op: it was already absent), as Redis 7.0 does.
   */
  expired: boolean
}

interface Session {
  readonly origin: number
  readonly session: number
  dirty: boolean
  readonly keys: Array<WatchedKey>
}

const sessionId = (origin: number, session: number) => `${origin}:${session}`
const keyId = (db: number, key: string) => `${db}:${key}`
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1")

const encodeSession = (session: Session): Buffer => {
  let length = 5
  for (const watched of session.keys) length += 6 + watched.key.length
  const out = Buffer.allocUnsafe(length)
  out[0] = session.dirty ? 1 : 0
  out.writeUInt32BE(session.keys.length, 1)
  let offset = 5
  for (const watched of session.keys) {
    out[offset] = watched.db
    out[offset + 1] = watched.expired ? 1 : 0
    out.writeUInt32BE(watched.key.length, offset + 2)
    out.write(watched.key, offset + 6, "latin1")
    offset += 6 + watched.key.length
  }
  return out
}

const decodeSession = (origin: number, session: number, bytes: Uint8Array): Session | undefined => {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  if (view.length < 5) return undefined
  const count = view.readUInt32BE(1)
  const keys: Array<WatchedKey> = []
  let offset = 5
  for (let i = 0; i < count; i++) {
    if (offset + 6 > view.length) return undefined
    const length = view.readUInt32BE(offset + 2)
    if (offset + 6 + length > view.length) return undefined
    keys.push({ db: view[offset], expired: view[offset + 1] === 1, key: view.toString("latin1", offset + 6, offset + 6 + length) })
    offset += 6 + length
  }
  return { origin, session, dirty: view[0] === 1, keys }
}

export class Watches {
  private readonly sessions = new Map<string, Session>()
  private readonly byKey = new Map<string, Set<string>>()
  /** Sessions per origin per incarnation, so an entry finds orphaned sessions without a scan. */
  private readonly incarnations = new Map<number, Map<number, number>>()

  static load(engine: KvEngineService): Effect.Effect<Watches, EngineError> {
    return Effect.map(Stream.runCollect(engine.iterate({ prefix: familyPrefix(Family.Watch) })), (records) => {
      const watches = new Watches()
      for (const [key, value] of records) {
        const { origin, session } = parseWatchKey(key)
        const decoded = decodeSession(origin, session, value)
        if (decoded !== undefined) watches.index(decoded)
      }
      return watches
    })
  }

  get size(): number {
    return this.sessions.size
  }

  private index(session: Session): void {
    const id = sessionId(session.origin, session.session)
    this.sessions.set(id, session)
    const perOrigin = this.incarnations.get(session.origin) ?? new Map<number, number>()
    const incarnation = Math.floor(session.session / INCARNATION_SPAN)
    perOrigin.set(incarnation, (perOrigin.get(incarnation) ?? 0) + 1)
    this.incarnations.set(session.origin, perOrigin)
    for (const watched of session.keys) {
      const k = keyId(watched.db, watched.key)
      let set = this.byKey.get(k)
      if (set === undefined) this.byKey.set(k, (set = new Set()))
      set.add(id)
    }
  }

  private drop(txn: Txn, session: Session): void {
    const id = sessionId(session.origin, session.session)
    this.sessions.delete(id)
    const perOrigin = this.incarnations.get(session.origin)!
    const incarnation = Math.floor(session.session / INCARNATION_SPAN)
    const remaining = perOrigin.get(incarnation)! - 1
    if (remaining > 0) perOrigin.set(incarnation, remaining)
    else perOrigin.delete(incarnation)
    if (perOrigin.size === 0) this.incarnations.delete(session.origin)
    for (const watched of session.keys) {
      const k = keyId(watched.db, watched.key)
      const set = this.byKey.get(k)
      set?.delete(id)
      if (set?.size === 0) this.byKey.delete(k)
    }
    txn.del(watchKey(session.origin, session.session))
  }

  /** Add keys to a session (WATCH may be called several times before EXEC). */
  watch(txn: Txn, origin: number, session: number, keys: ReadonlyArray<WatchedKey>): void {
    const id = sessionId(origin, session)
    const existing = this.sessions.get(id)
    const record: Session = existing ?? { origin, session, dirty: false, keys: [] }
    if (existing !== undefined) this.drop(txn, existing)
    for (const watched of keys) {
      if (!record.keys.some((k) => k.db === watched.db && k.key === watched.key)) record.keys.push(watched)
    }
    this.index(record)
    txn.put(watchKey(origin, session), encodeSession(record))
  }

  /**
   * A key was modified (`exists`: whether it exists after the change): every session watching it
   * is now dirty, except one that watched it already expired while the change only deleted it
   * (Redis 7.0's touchWatchedKey: the key was logically absent and still is). Such a session
   * forgets that the key was expired, so a later write that creates the key dirties it.
   */
  touch(txn: Txn, db: number, key: Uint8Array, exists: boolean): void {
    if (this.byKey.size === 0) return
    const name = latin1(key)
    const ids = this.byKey.get(keyId(db, name))
    if (ids === undefined) return
    for (const id of ids) {
      const session = this.sessions.get(id)!
      if (session.dirty) continue
      const watched = session.keys.find((k) => k.db === db && k.key === name)
      if (watched !== undefined && watched.expired && !exists) {
        watched.expired = false
        txn.put(watchKey(session.origin, session.session), encodeSession(session))
        continue
      }
      this.markDirty(txn, session)
    }
  }

  private markDirty(txn: Txn, session: Session): void {
    if (session.dirty) return
    session.dirty = true
    txn.put(watchKey(session.origin, session.session), encodeSession(session))
  }

  /** The watched keys of logical database `db` (FLUSHDB, SWAPDB decide which of them count as modified). */
  keysIn(db: number): Array<WatchedKey> {
    const keys: Array<WatchedKey> = []
    for (const session of this.sessions.values()) for (const watched of session.keys) if (watched.db === db) keys.push(watched)
    return keys
  }

  /**
   * FLUSHDB, FLUSHALL, SWAPDB (Redis 7.0 touchAllWatchedKeysInDb): each watched key of `db` as
   * `decide` says: its session dirty, its expired flag cleared (an expired key went away) or set
   * (an expired key came in), or nothing.
   */
  touchAll(txn: Txn, db: number, decide: (watched: WatchedKey) => "dirty" | "clear" | "flag" | undefined): void {
    for (const session of this.sessions.values()) {
      let changed = false
      for (const watched of session.keys) {
        if (watched.db !== db) continue
        const decision = decide(watched)
        if (decision === "dirty") this.markDirty(txn, session)
        else if (decision === "clear" && watched.expired) (watched.expired = false), (changed = true)
        else if (decision === "flag" && !watched.expired) (watched.expired = true), (changed = true)
      }
      if (changed) txn.put(watchKey(session.origin, session.session), encodeSession(session))
    }
  }

  /** Mark every session watching (db, key) dirty; key is latin1. */
  touchId(txn: Txn, db: number, key: string): void {
    const ids = this.byKey.get(keyId(db, key))
    if (ids !== undefined) for (const id of ids) this.markDirty(txn, this.sessions.get(id)!)
  }

  /**
   * EXEC's check, which also ends the session: undefined when it does not exist (never watched,
   * or dropped), else whether it is dirty and its keys (for the expiry check).
   */
  take(txn: Txn, origin: number, session: number): { readonly dirty: boolean; readonly keys: ReadonlyArray<WatchedKey> } | undefined {
    const found = this.sessions.get(sessionId(origin, session))
    if (found === undefined) return undefined
    this.drop(txn, found)
    return { dirty: found.dirty, keys: found.keys }
  }

  unwatch(txn: Txn, origin: number, session: number): void {
    const found = this.sessions.get(sessionId(origin, session))
    if (found !== undefined) this.drop(txn, found)
  }

  /** An entry from `origin` at incarnation `incarnation`: sessions of its earlier incarnations are orphans. */
  dropOrphans(txn: Txn, origin: number, incarnation: number): void {
    const perOrigin = this.incarnations.get(origin)
    if (perOrigin === undefined || ![...perOrigin.keys()].some((older) => older < incarnation)) return
    for (const session of [...this.sessions.values()]) {
      if (session.origin === origin && Math.floor(session.session / INCARNATION_SPAN) < incarnation) this.drop(txn, session)
    }
  }
}
