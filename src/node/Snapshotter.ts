/**
 * The Snapshotter actor: makes engine views durable as snapshot files and compacts behind them,
 * and moves snapshots between nodes. As a sender it streams a snapshot file to a follower that
 * fell behind the leader's compacted log, one acknowledged chunk at a time (bounded memory; a
 * dropped connection resumes from the last acknowledged byte). As a receiver it appends chunks
 * to a temporary file and, once the whole file verifies, hands it to the RaftNode.
 */
import { Cause, Duration, Effect, Exit, Fiber, Queue, Scope } from "effect"
import { error as errorReply, OK } from "../resp/Reply.js"
import type { Configuration } from "../raft/Configuration.js"
import type { NodeId } from "../raft/types.js"
import { Metrics } from "../metrics/NodeMetrics.js"
import { Mailboxes } from "./Mailboxes.js"
import { logEvent } from "./RaftEvents.js"
import type { SnapshotterInput } from "./messages.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"
import type { SnapshotAck, SnapshotChunk } from "./PeerMessage.js"
import { SnapshotStore, type IncomingSnapshot } from "./SnapshotStore.js"
import { Transport } from "./Transport.js"
import { Wal } from "./Wal.js"

/** Bytes per chunk: large enough to keep a loopback link busy, small enough to bound memory. */
export const SNAPSHOT_CHUNK_BYTES = 512 * 1024
/** A chunk unacknowledged this long is sent again... */
const ACK_TIMEOUT = Duration.seconds(1)
/** ...up to this many times in a row before the transfer is given up (the core retries later). */
const MAX_SILENT_ACKS = 5
/** Snapshots kept on disk: the newest, and one to fall back on if it turns out corrupt. */
const SNAPSHOTS_KEPT = 2
/** Times a follower may send a transfer back to the start before the sender gives up. */
const MAX_RESTARTS = 3

interface Transfer {
  readonly index: number
  readonly acks: Queue.Queue<SnapshotAck>
  fiber: Fiber.RuntimeFiber<void> | undefined
}

interface Receiving {
  readonly from: NodeId
  readonly index: number
  readonly snapshotTerm: number
  readonly incoming: IncomingSnapshot
  readonly scope: Scope.CloseableScope
}

export const runSnapshotter = Effect.gen(function* () {
  const config = yield* NodeConfig
  const mailboxes = yield* Mailboxes
  const store = yield* SnapshotStore
  const wal = yield* Wal
  const transport = yield* Transport
  const status = yield* NodeStatus
  const metrics = yield* Metrics

  const transfers = new Map<NodeId, Transfer>()
  let receiving: Receiving | undefined
  /** The last snapshot received completely, so a lost final acknowledgement can be repeated. */
  let lastReceived:
    | { readonly from: NodeId; readonly index: number; readonly term: number; readonly bytes: number; readonly configuration: Configuration | undefined }
    | undefined

  // ------------------------------------------------------------ taking snapshots

  const persist = (input: Extract<SnapshotterInput, { _tag: "Persist" }>) =>
    Effect.gen(function* () {
      const started = performance.now()
      status.snapshotting = true
      const stored = yield* store
        .write(input.meta, input.snapshot.chunks)
        .pipe(Effect.ensuring(Effect.zipRight(Scope.close(input.scope, Exit.void), Effect.sync(() => (status.snapshotting = false)))))
      const seconds = (performance.now() - started) / 1000
      metrics.snapshotSave.observe(seconds)
      metrics.snapshotBytes = stored.bytes
      // The WAL keeps what the older kept snapshot needs, so falling back to it stays possible.
      const oldestKept = yield* store.prune(SNAPSHOTS_KEPT)
      yield* wal.compact(oldestKept)
      yield* logEvent({
        message: `snapshot at index ${stored.meta.index} written (${stored.bytes} bytes); WAL compacted up to ${oldestKept}`,
        fields: { event: "snapshot_saved", index: stored.meta.index, bytes: stored.bytes, durationMs: Math.round(seconds * 1000), walCompactedTo: oldestKept }
      })
      yield* Queue.offer(mailboxes.raft, { _tag: "SnapshotTaken", index: stored.meta.index, term: stored.meta.term })
      return stored.meta.index
    }).pipe(
      // Whatever happens (even a defect), the applier hears back, or it would never snapshot again.
      Effect.exit,
      Effect.flatMap((exit) => {
        if (Exit.isSuccess(exit)) {
          input.waiters.forEach((replyTo) => replyTo(OK))
          return Queue.offer(mailboxes.applier, { _tag: "SnapshotPersisted", index: exit.value })
        }
        const reason = Cause.pretty(exit.cause).split("\n")[0]
        input.waiters.forEach((replyTo) => replyTo(errorReply(`ERR snapshot failed: ${reason}`)))
        return Effect.zipRight(
          Effect.logError(`snapshot at index ${input.meta.index} failed: ${reason}`),
          Queue.offer(mailboxes.applier, { _tag: "SnapshotPersisted", index: undefined })
        )
      })
    )

  // ------------------------------------------------------------ sending

  /** Stream the snapshot at `index` to `to`; succeeds with whether the follower has all of it. */
  const sendSnapshot = (to: NodeId, index: number, snapshotTerm: number, acks: Queue.Queue<SnapshotAck>) =>
    Effect.scoped(
      Effect.gen(function* () {
        const reader = yield* store.open(store.pathOf(index))
        let offset = 0
        let silent = 0
        let restarts = 0
        for (;;) {
          // A deposed leader stops: the new one decides what the follower needs.
          if (status.raft.role !== "leader") return false
          const length = Math.min(SNAPSHOT_CHUNK_BYTES, reader.bytes - offset)
          const data = yield* reader.read(offset, length)
          const chunk: SnapshotChunk = {
            type: "SnapshotChunk", from: config.id, to, term: status.raft.term,
            index, snapshotTerm, offset, last: offset + length >= reader.bytes, data
          }
          transport.send(to, [chunk])
          const ack = yield* Queue.take(acks).pipe(Effect.timeoutOption(ACK_TIMEOUT))
          if (ack._tag === "None") {
            if (++silent > MAX_SILENT_ACKS) return false
            continue
          }
          silent = 0
          if (ack.value.index !== index) continue
          if (ack.value.done) return true
          if (ack.value.received === 0) {
            // The follower (re)starts from scratch: it lost the partial file, could not store or
            // verify it, or never began. Bounded, with a pause, so a broken follower is not flooded.
            if (++restarts > MAX_RESTARTS) return false
            if (offset > 0) yield* Effect.sleep(Duration.millis(100 * restarts))
          }
          offset = Math.min(ack.value.received, reader.bytes)
        }
      })
    ).pipe(
      Effect.catchAll((error) => Effect.as(Effect.logWarning(`sending snapshot ${index} to node ${to} failed: ${error.message}`), false))
    )

  const startTransfer = (to: NodeId, index: number, term: number) =>
    Effect.gen(function* () {
      const running = transfers.get(to)
      if (running !== undefined && running.index === index && running.fiber !== undefined) return
      if (running?.fiber !== undefined) yield* Fiber.interrupt(running.fiber)
      const transfer: Transfer = { index, acks: yield* Queue.sliding<SnapshotAck>(16), fiber: undefined }
      transfers.set(to, transfer)
      yield* logEvent({
        message: `sending snapshot ${index} to node ${to}, which is behind the compacted log`,
        fields: { event: "snapshot_send_started", index, to }
      })
      const started = performance.now()
      transfer.fiber = yield* Effect.fork(
        sendSnapshot(to, index, term, transfer.acks).pipe(
          // Even a defect reports back, or the leader would wait on this follower forever.
          Effect.exit,
          Effect.flatMap((exit) => {
            if (transfers.get(to) === transfer) transfers.delete(to)
            const ok = Exit.isSuccess(exit) && exit.value
            const sent = ok
              ? logEvent({
                  message: `sent snapshot ${index} to node ${to}`,
                  fields: { event: "snapshot_sent", index, to, durationMs: Math.round(performance.now() - started) }
                })
              : Effect.void
            return Effect.zipRight(sent, Queue.offer(mailboxes.raft, { _tag: "SnapshotSent", to, ok }))
          }),
          Effect.asVoid
        )
      )
    })

  // ------------------------------------------------------------ receiving

  const stopReceiving = Effect.suspend(() => {
    const current = receiving
    receiving = undefined
    return current === undefined ? Effect.void : Scope.close(current.scope, Exit.void)
  })

  const receiveChunk = (m: SnapshotChunk) =>
    Effect.gen(function* () {
      const ack = (received: number, done: boolean) =>
        transport.send(m.from, [{ type: "SnapshotAck", from: config.id, to: m.from, term: status.raft.term, index: m.index, received, done }])
      // Only the current leader's snapshots are taken (a leader never needs one).
      if (m.term < status.raft.term || status.raft.role === "leader") return
      if (lastReceived !== undefined && lastReceived.from === m.from && lastReceived.index === m.index && receiving === undefined) {
        // Sent again: our final acknowledgement was lost, or the core could not take the
        // snapshot then (it was campaigning). Offer it again (the core ignores what it has) and
        // repeat the acknowledgement.
        yield* Queue.offer(mailboxes.raft, {
          _tag: "SnapshotReceived",
          index: m.index,
          term: lastReceived.term,
          from: m.from,
          configuration: lastReceived.configuration
        })
        return ack(lastReceived.bytes, true)
      }
      if (receiving === undefined || receiving.from !== m.from || receiving.index !== m.index || receiving.snapshotTerm !== m.snapshotTerm) {
        // Only the start of a snapshot begins a new transfer; anything else asks for the start.
        if (m.offset !== 0) return ack(0, false)
        yield* stopReceiving
        const scope = yield* Scope.make()
        const incoming = yield* store.receive.pipe(Scope.extend(scope))
        receiving = { from: m.from, index: m.index, snapshotTerm: m.snapshotTerm, incoming, scope }
      }
      const { incoming } = receiving
      if (m.offset !== incoming.received) return ack(incoming.received, false)
      yield* incoming.append(m.data)
      if (!m.last) return ack(incoming.received, false)
      const received = incoming.received
      const stored = yield* incoming.finish({ index: m.index, term: m.snapshotTerm }).pipe(Effect.ensuring(stopReceiving))
      const configuration = stored.meta.configuration
      lastReceived = { from: m.from, index: m.index, term: m.snapshotTerm, bytes: received, configuration }
      yield* store.prune(SNAPSHOTS_KEPT)
      yield* logEvent({
        message: `received snapshot ${m.index} from node ${m.from} (${received} bytes)`,
        fields: { event: "snapshot_received", index: m.index, from: m.from, bytes: received }
      })
      yield* Queue.offer(mailboxes.raft, { _tag: "SnapshotReceived", index: m.index, term: m.snapshotTerm, from: m.from, configuration })
      ack(received, true)
    }).pipe(
      // A chunk we cannot store restarts the transfer; the sender gives up after a few tries.
      Effect.catchAll((error) =>
        Effect.zipRight(
          Effect.logWarning(`receiving snapshot ${m.index} from node ${m.from} failed: ${error.message}`),
          Effect.zipRight(stopReceiving, Effect.sync(() => transport.send(m.from, [{ type: "SnapshotAck", from: config.id, to: m.from, term: status.raft.term, index: m.index, received: 0, done: false }])))
        )
      )
    )

  const handle = (input: SnapshotterInput) => {
    switch (input._tag) {
      case "Persist":
        // Writing a large snapshot takes a while: transfers and chunks keep flowing meanwhile.
        return Effect.asVoid(Effect.fork(persist(input)))
      case "Send":
        return startTransfer(input.to, input.index, input.term)
      case "Transfer": {
        const message = input.message
        if (message.type === "SnapshotChunk") return receiveChunk(message)
        const transfer = transfers.get(message.from)
        return transfer === undefined ? Effect.void : Queue.offer(transfer.acks, message)
      }
    }
  }

  return yield* Effect.forever(Effect.flatMap(Queue.take(mailboxes.snapshotter), handle)).pipe(
    Effect.ensuring(
      Effect.suspend(() => Effect.forEach([...transfers.values()], (t) => (t.fiber === undefined ? Effect.void : Fiber.interrupt(t.fiber)), { discard: true }))
    ),
    Effect.ensuring(stopReceiving)
  )
})
