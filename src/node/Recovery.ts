/**
 * Start-up recovery: reconcile the newest valid snapshot, the WAL and the engine into the state
 * the actors start from. The engine is restored from the snapshot when it is behind it (always
 * for the memory engine), the log keeps only what follows the snapshot, and a log that no longer
 * reaches back to the snapshot stops the node with a clear message instead of serving a gap.
 */
import { Context, Data, Effect, Layer } from "effect"
import { KvEngine } from "../engine/KvEngine.js"
import { type Configuration, configurationAfter, describeConfiguration, encodeConfiguration } from "../raft/Configuration.js"
import { EntryKind } from "../raft/types.js"
import { initialConfiguration } from "./Membership.js"
import { NodeConfig } from "./NodeConfig.js"
import { snapshotChunksForEngine, SnapshotStore } from "./SnapshotStore.js"
import type { SnapshotPoint } from "../raft/api.js"
import type { Entry, HardState } from "../raft/types.js"
import { Wal } from "./Wal.js"
import { WriteSessions } from "./WriteSessions.js"

export class RecoveryError extends Data.TaggedError("RecoveryError")<{ readonly message: string }> {}

export interface RecoveredNode {
  readonly hardState: HardState
  /** The newest snapshot ({0, 0}: none); the log continues right after it. */
  readonly snapshot: SnapshotPoint
  readonly entries: ReadonlyArray<Entry>
  /** What the engine holds: applied index and its term. */
  readonly applied: number
  readonly appliedTerm: number
  /** The duplicate filter as of `applied`. */
  readonly sessions: WriteSessions
  /**
   * The configuration the snapshot's metadata carries (as of `snapshot.index`); absent with no
   * snapshot, or one written before snapshots carried it: the initial configuration applies.
   */
  readonly snapshotConfiguration: Configuration | undefined
  /** The configuration as of `applied` (what the next snapshot taken records). */
  readonly appliedConfiguration: Configuration
}

export class Recovered extends Context.Tag("raft-kv/Recovered")<Recovered, RecoveredNode>() {}

/**
 * A founding node's very first start (`--cluster`, empty WAL, no snapshot) writes the initial
 * configuration as the log's first entry, committed at term 1, exactly as every other founder does
 * (etcd's bootstrap does the same): identical entries, so no leader ever replaces it. From then on
 * the configuration is in the log from its first index, and a node that joins later and replicates
 * the log from the start knows the configuration at every index, as one catching up through a
 * snapshot (which carries it) does.
 */
const bootstrapped = (log: Wal["Type"]["recovered"], initial: Configuration) =>
  Effect.gen(function* () {
    const wal = yield* Wal
    const fresh = log.offset === 0 && log.entries.length === 0 && log.hardState.term === 0 && log.hardState.commit === 0
    if (!fresh || initial.members.length === 0) return log
    const entry: Entry = { index: 1, term: 1, kind: EntryKind.Config, data: encodeConfiguration(initial) }
    const hardState = { term: 1, vote: 0, commit: 1 }
    yield* wal.append({ hardState, entries: [entry], sync: true })
    yield* Effect.logInfo(`a new cluster: the initial configuration (${describeConfiguration(initial)}) is the log's first entry`)
    return { ...log, hardState, entries: [entry] }
  })

export const RecoveredLive = Layer.effect(
  Recovered,
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const wal = yield* Wal
    const store = yield* SnapshotStore
    const engine = yield* KvEngine
    const stored = yield* store.loadNewest
    const snapshot: SnapshotPoint = stored === undefined ? { index: 0, term: 0 } : stored.meta
    const log = stored === undefined ? yield* bootstrapped(wal.recovered, initialConfiguration(config)) : wal.recovered

    if (log.offset > snapshot.index) {
      return yield* new RecoveryError({
        message:
          stored === undefined
            ? `the WAL starts after index ${log.offset} but no valid snapshot in ${store.directory} covers the entries before it`
            : `the newest valid snapshot (index ${snapshot.index}) is older than the start of the WAL (index ${log.offset + 1}): entries ${snapshot.index + 1}..${log.offset} are missing`
      })
    }
    // Keep the log after the snapshot only if it continues it; a log that does not even reach
    // the snapshot, or holds another term there (a snapshot received just before a crash), is
    // superseded by the snapshot's committed state.
    const position = snapshot.index - log.offset
    const termThere = position === 0 ? (log.offsetTerm ?? snapshot.term) : log.entries[position - 1]?.term
    const entries = termThere === snapshot.term ? log.entries.slice(position) : []
    const hardState = { ...log.hardState, commit: Math.max(log.hardState.commit, snapshot.index) }

    let applied = yield* engine.appliedIndex
    let sessions: WriteSessions
    if (stored !== undefined && applied < snapshot.index) {
      yield* Effect.logInfo(`restoring the ${engine.name} engine from ${stored.path} (index ${snapshot.index})`)
      yield* engine.restore(snapshotChunksForEngine(store, stored.path), snapshot.index)
      applied = snapshot.index
      sessions = new WriteSessions(stored.meta.sessions)
    } else {
      const last = snapshot.index + entries.length
      if (applied > last) {
        return yield* new RecoveryError({
          message: `the ${engine.name} engine has applied index ${applied} but the log and snapshots end at ${last}: the data directory is inconsistent`
        })
      }
      sessions = new WriteSessions(stored?.meta.sessions ?? [])
      for (const entry of entries) {
        if (entry.index > applied) break
        sessions.observe(entry)
      }
    }
    const appliedTerm = applied === snapshot.index ? snapshot.term : entries[applied - snapshot.index - 1].term
    const snapshotConfiguration = stored?.meta.configuration
    const appliedConfiguration = configurationAfter(
      snapshotConfiguration ?? initialConfiguration(config),
      entries.slice(0, applied - snapshot.index)
    )
    yield* Effect.logInfo(
      `recovered: snapshot ${snapshot.index}, log ${snapshot.index + 1}..${snapshot.index + entries.length}, engine applied ${applied}`
    )
    return { hardState, snapshot, entries, applied, appliedTerm, sessions, snapshotConfiguration, appliedConfiguration }
  })
)
