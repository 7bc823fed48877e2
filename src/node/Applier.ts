/**
 * The Applier actor: the only writer of the engine. It applies committed entries in batches
 * (one atomic engine write per turn, carrying the applied index), answers the local clients
 * whose writes those entries are, and serves linearizable reads once the index their ReadIndex
 * round confirmed has been applied. Between batches it also takes the engine snapshots (every
 * --snapshot-entries, or on demand) that the Snapshotter writes, and restores received ones.
 */
import { Effect, Fiber, Queue, Scope } from "effect"
import { TIMED_OUT, WOULD_BLOCK } from "../commands/blocking.js"
import { decodeCommand } from "../commands/CommandCodec.js"
import { metaKey } from "../commands/keyspace/layout.js"
import { keyPositions } from "../commands/registry.js"
import { StateMachine, type EntryToApply, type ReadyKey } from "../commands/StateMachine.js"
import { lookupCommand } from "../commands/table.js"
import { type EngineError, KvEngine } from "../engine/KvEngine.js"
import { decodeConfiguration } from "../raft/Configuration.js"
import { EntryKind, type Entry } from "../raft/types.js"
import { OK, type Reply } from "../resp/Reply.js"
import { IoYield } from "../runtime/IoYield.js"
import { readTimedOut, writeOutcomeUnknown, writeOvertaken, writeTimedOut } from "./clientErrors.js"
import { InjectedDefects } from "./InjectedDefects.js"
import { BlockedClients } from "./BlockedClients.js"
import { Mailboxes, takeBatch } from "./Mailboxes.js"
import type { PendingRead, PendingWrite, ReplyTo } from "./messages.js"
import { Stats } from "./Stats.js"
import { Metrics } from "../metrics/NodeMetrics.js"
import { logEvent } from "./RaftEvents.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"
import { Recovered } from "./Recovery.js"
import { WriteSessions } from "./WriteSessions.js"
import { snapshotChunksForEngine, SnapshotStore } from "./SnapshotStore.js"

/** Commands per engine batch (bytes of log entry data); a single larger entry is a batch of its own. */
export const APPLY_BATCH_BYTES = 32 * 1024

interface WaitingRead {
  readonly index: number
  readonly request: PendingRead
}

export const runApplier = Effect.gen(function* () {
  const config = yield* NodeConfig
  const mailboxes = yield* Mailboxes
  const status = yield* NodeStatus
  const metrics = yield* Metrics
  const engine = yield* KvEngine
  const store = yield* SnapshotStore
  const recovered = yield* Recovered
  const stats = yield* Stats
  const clock = yield* Effect.clock
  const ioYield = yield* IoYield
  const machine = yield* StateMachine.load(engine, ioYield)
  status.keyspace = () => machine.keyspaceInfo()
  status.garbageMembers = () => machine.garbageMembers
  status.clientAddressOf = (id) => machine.clientAddressOf(id)
  const defects = yield* InjectedDefects

  let applied = recovered.applied
  let appliedTerm = recovered.appliedTerm
  status.appliedIndex = applied
  const expectedWrites = new Map<number, PendingWrite>()
  /** A proposal re-sent after a leader change may commit twice: only its first copy applies. */
  let sessions = recovered.sessions
  // Node ids are never reused: one that ever wrote to the log (every node announces its address
  // when it starts) belonged to a member, and its sequence numbers live on in `sessions`.
  status.hasWritten = (id) => sessions.highestOf(id) >= 0
  /** The configuration as of `applied`: snapshots carry it (membership changes are log entries). */
  let configuration = recovered.appliedConfiguration
  let waitingReads: Array<WaitingRead> = []

  let lastSnapshot = recovered.snapshot.index
  /** Where the last failed snapshot was attempted: the next try waits another interval. */
  let lastFailedSnapshot = 0
  let snapshotting = false
  /** SAVE/BGSAVE callers waiting for the next snapshot. */
  let snapshotWaiters: Array<ReplyTo> = []

  /**
   * Clients waiting in a blocking command on this node; their pops go through the log like any write.
   * The pop of a client that waits with no timeout has no request timeout either: it waits out a
   * leader change however long the election takes (the RaftNode proposes it again until it commits).
   * Answering it CLUSTERDOWN would end a wait that has no end, and the pop could still commit later,
   * taking an element no client gets.
   */
  const blocked = new BlockedClients(
    (waiter, argv) => {
      const deadline = waiter.deadline === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : clock.unsafeCurrentTimeMillis() + config.requestTimeoutMs
      const payload = { kind: "command", db: waiter.call.db, argv } as const
      Queue.unsafeOffer(mailboxes.raft, { _tag: "ClientWrite", request: { payload, replyTo: waiter.replyTo, deadline, block: waiter } })
    },
    (waiter, reply) => {
      if (heldReplies !== undefined) heldReplies.push(() => waiter.replyTo(reply))
      else waiter.replyTo(reply)
    }
  )
  /**
   * While an apply run that concerns blocked clients is settled, its replies wait here until the
   * clients it woke are proposed again: a reply runs the client's next command at once (pipelined
   * behind it, or sent in response), and a command of this node proposed before the woken
   * clients' retries would take the element from them (Redis serves blocked clients before the
   * pusher's next command).
   */
  let heldReplies: Array<() => void> | undefined
  /** The own writes an apply run answers, and their replies (reused between runs). */
  const runRequests: Array<PendingWrite> = []
  const runReplies: Array<Reply> = []
  /** Keys the turn's batches made elements available under. */
  let readyKeys: Array<ReadyKey> = []
  /** The timer that wakes the Applier at the earliest blocked client's deadline. */
  let alarm: { readonly at: number; readonly fiber: Fiber.RuntimeFiber<void> } | undefined

  /** Answer a write: a blocking command's attempt goes to the blocked clients, which decide. */
  const settle = (request: PendingWrite, reply: Reply): void => {
    if (request.block !== undefined) blocked.attempted(request.block, reply, clock.unsafeCurrentTimeMillis())
    // A blocking command sent as a plain write cannot wait: it answers as a timeout would.
    else if (heldReplies !== undefined) heldReplies.push(() => request.replyTo(reply === WOULD_BLOCK ? TIMED_OUT : reply))
    else request.replyTo(reply === WOULD_BLOCK ? TIMED_OUT : reply)
  }

  /** Propose again the blocked clients that the turn's new elements (or departures) may serve. */
  const wakeBlocked = Effect.suspend(() => {
    const ready = readyKeys
    readyKeys = []
    const keys = blocked.keysToCheck(ready)
    if (keys.length === 0) return Effect.void
    return Effect.map(machine.contents(keys, clock.unsafeCurrentTimeMillis()), (contents) => blocked.wake(keys.map((key, i) => ({ ...key, ...contents[i] }))))
  })

  /** Keep one timer, for the earliest deadline of a waiting client. */
  const scheduleAlarm = Effect.suspend(() => {
    const next = blocked.nextDeadline()
    if (next === undefined || (alarm !== undefined && alarm.at <= next)) return Effect.void
    return Effect.gen(function* () {
      if (alarm !== undefined) yield* Fiber.interruptFork(alarm.fiber)
      const delay = Math.max(0, next - clock.unsafeCurrentTimeMillis())
      const fiber = yield* Effect.fork(Effect.asVoid(Effect.zipRight(Effect.sleep(delay), Queue.offer(mailboxes.applier, { _tag: "BlockDeadline", at: next }))))
      alarm = { at: next, fiber }
    })
  })

  /** Hand a consistent engine view at the applied index to the Snapshotter; writes go on meanwhile. */
  const startSnapshot = Effect.gen(function* () {
    const waiters = snapshotWaiters
    snapshotWaiters = []
    if (applied === lastSnapshot) {
      for (const replyTo of waiters) replyTo(OK)
      return
    }
    snapshotting = true
    const scope = yield* Scope.make()
    const snapshot = yield* engine.snapshot.pipe(Scope.extend(scope))
    const meta = { index: applied, term: appliedTerm, sessions: sessions.entries(), configuration }
    yield* Queue.offer(mailboxes.snapshotter, { _tag: "Persist", meta, snapshot, scope, waiters })
  })

  /** Replace the engine's state with the snapshot at `index` (in the store: received and verified). */
  const restore = (index: number) =>
    Effect.gen(function* () {
      const path = store.pathOf(index)
      const meta = yield* store.readMeta(path)
      yield* engine.restore(snapshotChunksForEngine(store, path), index)
      yield* machine.reload()
      applied = index
      appliedTerm = meta.term
      lastSnapshot = index
      sessions = new WriteSessions(meta.sessions)
      if (meta.configuration !== undefined) configuration = meta.configuration
      status.appliedIndex = index
      // This node's writes the snapshot covers applied (or were overtaken) without passing
      // through here: their outcome is unknown to this node, and they must not be re-proposed.
      const settledUpTo = sessions.highestOf(config.id)
      for (const [seq, request] of expectedWrites) {
        if (seq > settledUpTo) continue
        expectedWrites.delete(seq)
        settle(request, writeOutcomeUnknown)
      }
      // Entries the snapshot covers were not applied here one by one: any key may have elements.
      blocked.wakeAll()
      yield* Queue.offer(mailboxes.raft, { _tag: "OwnWritesSettled", upTo: settledUpTo })
      yield* logEvent({
        message: `restored the engine from the snapshot at index ${index} sent by the leader`,
        fields: { event: "snapshot_installed", index }
      })
    })

  /**
   * Apply a turn's committed entries as engine batches of at most APPLY_BATCH_BYTES of commands
   * each, letting the event loop run between them: a follower catching up on a burst of large
   * writes (SADD of a thousand members is ~20 ms of work) must not hold its event loop, and miss
   * heartbeats, for the whole burst.
   */
  const applyEntries = (entries: ReadonlyArray<Entry>) =>
    Effect.gen(function* () {
      defects.applier(entries)
      let from = 0
      while (from < entries.length) {
        let to = from + 1
        let bytes = entries[from].data.length
        while (to < entries.length && bytes + entries[to].data.length <= APPLY_BATCH_BYTES) bytes += entries[to++].data.length
        if (from > 0) yield* ioYield
        yield* applyRun(entries.slice(from, to))
        from = to
      }
    })

  /** Apply one run of committed entries as a single engine batch. */
  const applyRun = (entries: ReadonlyArray<Entry>) =>
    Effect.gen(function* () {
      const toApply: Array<EntryToApply> = []
      const owners: Array<number | undefined> = []
      const skipped: Array<number> = []
      let last = applied
      let lastTerm = appliedTerm
      for (const entry of entries) {
        if (entry.index <= applied) continue
        last = entry.index
        lastTerm = entry.term
        if (entry.kind === EntryKind.Config) {
          const next = decodeConfiguration(entry.data)
          if (next === undefined) throw new Error(`configuration entry ${entry.index} is malformed`)
          configuration = next
        }
        if (entry.kind !== EntryKind.Normal) continue
        const command = decodeCommand(entry.data)
        if (command !== undefined) {
          if (sessions.isDuplicate(command.origin, command.seq)) {
            // A copy of a proposal that already applied (or that a later one overtook): skip it.
            if (command.origin === config.id) skipped.push(command.seq)
            continue
          }
          sessions.record(command.origin, command.seq)
        }
        // An undecodable entry still applies (as an error reply) so every node stays identical.
        toApply.push({ index: entry.index, command })
        owners.push(command !== undefined && command.origin === config.id ? command.seq : undefined)
      }
      if (last === applied) return
      const result = yield* machine.apply(toApply, last)
      stats.expiredKeys += result.expired
      for (const key of result.ready) readyKeys.push(key)
      metrics.proposalsApplied.inc(last - applied)
      applied = last
      appliedTerm = lastTerm
      status.appliedIndex = last
      // Blocked clients concern this run if one is registered (or keys are to be checked again)
      // or one of its writes is a blocking command (its first attempt may register a client).
      let concernsBlocked = blocked.active
      for (let i = 0; i < owners.length; i++) {
        const seq = owners[i]
        if (seq === undefined) continue
        const request = expectedWrites.get(seq)
        if (request === undefined) continue
        expectedWrites.delete(seq)
        if (request.block !== undefined) concernsBlocked = true
        runRequests.push(request)
        runReplies.push(result.replies[i])
      }
      // A skipped copy whose client is still waiting was never applied: it was overtaken.
      for (const seq of skipped) {
        const request = expectedWrites.get(seq)
        if (request === undefined) continue
        expectedWrites.delete(seq)
        if (request.block !== undefined) concernsBlocked = true
        runRequests.push(request)
        runReplies.push(writeOvertaken)
      }
      if (!concernsBlocked) {
        for (let i = 0; i < runRequests.length; i++) settle(runRequests[i], runReplies[i])
        runRequests.length = 0
        runReplies.length = 0
        return
      }
      // The outcomes first (a retry that popped is no longer counted for its keys), the replies
      // held; then the clients the run's new elements serve are proposed again; then the replies
      // go out. Every command this node proposes because of a reply (the next one of a pipeline,
      // or one sent after the reply arrived) so enters the log after those retries.
      const held: Array<() => void> = []
      heldReplies = held
      try {
        for (let i = 0; i < runRequests.length; i++) settle(runRequests[i], runReplies[i])
      } finally {
        heldReplies = undefined
        runRequests.length = 0
        runReplies.length = 0
      }
      yield* Effect.ensuring(
        wakeBlocked,
        Effect.sync(() => {
          for (const reply of held) reply()
        })
      )
    })

  /** The meta records the due reads will look up, fetched with one engine call where that helps. */
  const keysOfReads = (reads: ReadonlyArray<WaitingRead>): Array<Uint8Array> => {
    if (engine.getNow !== undefined || engine.getMany === undefined) return []
    const keys: Array<Uint8Array> = []
    const add = (db: number, argv: ReadonlyArray<Uint8Array>) => {
      const spec = lookupCommand(argv)
      if (spec === undefined || db >= 16) return
      for (const position of keyPositions(spec, argv)) keys.push(metaKey(machine.physical(db), argv[position]))
    }
    for (const { request } of reads) {
      if (request.request.kind === "command") add(request.request.db, request.request.argv)
      else for (const queued of request.request.commands) add(queued.db, queued.argv)
    }
    return keys
  }

  /**
   * Serve the reads whose index is applied: all against one read context, synchronously where the
   * engine allows (the memory engine), the rest after one prefetch of their keys (LevelDB: one
   * thread-pool round trip for the turn instead of one per key).
   */
  const serveReads = Effect.gen(function* () {
    if (waitingReads.length === 0) return
    const stillWaiting: Array<WaitingRead> = []
    const due: Array<WaitingRead> = []
    for (const read of waitingReads) (read.index > applied ? stillWaiting : due).push(read)
    waitingReads = stillWaiting
    if (due.length === 0) return
    const context = machine.readContext(clock.unsafeCurrentTimeMillis(), stats)
    yield* context.txn.prefetch(keysOfReads(due))
    const pending: Array<{ readonly read: WaitingRead; readonly effect: Effect.Effect<Reply, EngineError> }> = []
    for (const read of due) {
      const result = machine.read(context, read.request.request)
      if (Effect.isEffect(result)) pending.push({ read, effect: result })
      else read.request.replyTo(result)
    }
    // Reads change nothing, so an engine whose gets wait on I/O (LevelDB) serves them in
    // parallel; all finish before the next batch is applied.
    yield* Effect.forEach(pending, ({ read, effect }) => Effect.map(effect, (reply) => read.request.replyTo(reply)), {
      concurrency: engine.readConcurrency ?? 1,
      discard: true
    })
  })

  const sweep = (now: number) => {
    for (const [seq, request] of expectedWrites) {
      if (request.deadline > now && !(request.deadline === Number.POSITIVE_INFINITY && request.block?.signal.aborted === true)) continue
      expectedWrites.delete(seq)
      settle(request, writeTimedOut(config.requestTimeoutMs))
    }
    blocked.expire(now)
    waitingReads = waitingReads.filter((read) => {
      if (read.request.deadline > now) return true
      read.request.replyTo(readTimedOut(config.requestTimeoutMs))
      return false
    })
  }

  const turn = Effect.gen(function* () {
    const inputs = yield* takeBatch(mailboxes.applier)
    // Registrations first, then one engine batch for every committed entry of this turn.
    let committed: Array<Entry> | undefined
    let now: number | undefined
    const flushCommitted = Effect.suspend(() => {
      const entries = committed
      committed = undefined
      return entries === undefined ? Effect.void : applyEntries(entries)
    })
    for (const input of inputs) {
      switch (input._tag) {
        case "Restore":
          // Entries committed before the snapshot apply first (the restore supersedes them).
          yield* flushCommitted
          yield* restore(input.index)
          break
        case "TakeSnapshot":
          if (input.replyTo !== undefined) snapshotWaiters.push(input.replyTo)
          break
        case "SnapshotPersisted":
          snapshotting = false
          if (input.index !== undefined) {
            lastSnapshot = Math.max(lastSnapshot, input.index)
            status.lastSave = Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
          }
          else lastFailedSnapshot = applied
          break
        case "ExpectWrite":
          expectedWrites.set(input.seq, input.request)
          break
        case "Committed":
          if (committed === undefined) committed = [...input.entries]
          else for (const entry of input.entries) committed.push(entry)
          break
        case "ReadReady":
          waitingReads.push({ index: input.index, request: input.request })
          break
        case "Sweep":
          now = input.now
          break
        case "Unblock":
          blocked.cancel(input.id)
          break
        case "Release":
          blocked.release(input.id)
          break
        case "BlockDeadline":
          if (alarm?.at === input.at) alarm = undefined
          blocked.expire(clock.unsafeCurrentTimeMillis())
          break
      }
    }
    yield* flushCommitted
    yield* serveReads
    if (now !== undefined) sweep(now)
    yield* wakeBlocked
    status.blockedClients = blocked.count
    yield* scheduleAlarm
    const due = applied - Math.max(lastSnapshot, lastFailedSnapshot) >= config.snapshotEntries || snapshotWaiters.length > 0
    if (due && !snapshotting) yield* startSnapshot
  })

  return yield* Effect.forever(turn)
})
