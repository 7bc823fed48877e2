/**
 * The RaftNode actor: the only owner of the consensus state. Each turn it drains its mailbox,
 * feeds every input to the pure core, then dispatches the core's Ready to the transport, the
 * WAL writer and the applier. Batching falls out of the turn: every proposal, read and message
 * that arrived meanwhile shares one Ready, one WAL write and one frame per peer.
 */
import { Chunk, Effect, Queue, Random } from "effect"
import { commandOrigin, encodeCommand, stampTime } from "../commands/CommandCodec.js"
import { votersConfiguration } from "../raft/Configuration.js"
import { makeRaft } from "../raft/Raft.js"
import { seededRandom } from "../raft/seededRandom.js"
import type { RaftCore, Ready } from "../raft/api.js"
import type { Message, NodeId } from "../raft/types.js"
import { readTimedOut } from "./clientErrors.js"
import { Mailboxes } from "./Mailboxes.js"
import type { ApplierInput, PendingRead, RaftInput } from "./messages.js"
import { Incarnation } from "./Incarnation.js"
import { NodeConfig } from "./NodeConfig.js"
import { IoYield } from "../runtime/IoYield.js"
import { InjectedRaftBugs, RaftObserver } from "./NodeHooks.js"
import { NodeStatus } from "./NodeStatus.js"
import type { PeerMessage } from "./PeerMessage.js"
import { FRAME_TARGET_BYTES } from "./PeerCodec.js"
import { Recovered } from "./Recovery.js"
import { Transport, type TransportService } from "./Transport.js"

/** Group messages by destination so each peer gets one frame per turn. */
export const sendGrouped = (transport: TransportService, messages: ReadonlyArray<PeerMessage>): void => {
  if (messages.length === 0) return
  if (messages.length === 1) {
    transport.send(messages[0].to, messages)
    return
  }
  const byPeer = new Map<NodeId, Array<PeerMessage>>()
  for (const message of messages) {
    const list = byPeer.get(message.to)
    if (list === undefined) byPeer.set(message.to, [message])
    else list.push(message)
  }
  for (const [to, list] of byPeer) transport.send(to, list)
}

export const runRaftNode = Effect.gen(function* () {
  const config = yield* NodeConfig
  const mailboxes = yield* Mailboxes
  const transport = yield* Transport
  const recovered = yield* Recovered
  const status = yield* NodeStatus
  const clock = yield* Effect.clock
  const incarnation = yield* Incarnation
  const ioYield = yield* IoYield
  const observer = yield* RaftObserver

  const applied = recovered.applied
  const core: RaftCore = makeRaft(
    {
      id: config.id,
      // The cluster as first started; the log and snapshots carry any later membership change.
      configuration: votersConfiguration(
        config.peers.map((peer) => peer.id),
        (id) => {
          const peer = config.peers.find((p) => p.id === id)!
          return `${peer.host}:${peer.port}`
        }
      ),
      electionTicks: config.electionTicks,
      heartbeatTicks: config.heartbeatTicks,
      // Any connection may ask for lease reads (CLIENT READMODE), so every node keeps the vote
      // hold that makes them safe across its own restarts.
      leaseTicks: config.electionTicks - config.leaseMarginTicks,
      holdVotesAfterStart: true,
      maxInflight: 64,
      maxEntriesPerAppend: 4096,
      maxBytesPerMessage: FRAME_TARGET_BYTES,
      maxPendingProposals: 100_000,
      random: seededRandom(yield* Random.nextIntBetween(0, 2 ** 31)),
      injectedBugs: yield* InjectedRaftBugs
    },
    { hardState: recovered.hardState, snapshot: recovered.snapshot, entries: recovered.entries, applied }
  )
  status.raft = core.status()

  // Sequence numbers grow strictly across restarts (see Incarnation.ts), so the applier can
  // recognise a proposal it has already applied when it shows up again.
  let counter = 0
  const nextSeq = () => {
    if (counter >= 2 ** 32) throw new Error("write sequence numbers of this incarnation are exhausted: restart the node")
    return incarnation * 2 ** 32 + counter++
  }
  /**
   * This node's proposals not yet seen committed, in sequence order. A proposal forwarded to a
   * leader that then failed is lost, so when a new leader appears they are all proposed again;
   * the applier drops the copies that did commit (Raft dissertation §6.3).
   */
  const inflight = new Map<number, { readonly data: Uint8Array; readonly deadline: number }>()
  let lastKnownLeader = 0
  let nextReadId = 1
  const pendingReads = new Map<number, PendingRead>()
  let readsToRetry: Array<number> = []

  /**
   * What this turn hands the applier, in order: the applier learns of a write (ExpectWrite)
   * before its entry can commit, and of a snapshot restore before the entries after it. One
   * offer per turn, so the applier wakes once however many requests the turn carried.
   */
  let toApplier: Array<ApplierInput> = []

  const handle = (input: RaftInput, proposals: Array<Uint8Array>): void => {
    switch (input._tag) {
      case "Tick": {
        core.tick()
        // Failed reads are retried once per tick (reads are idempotent), until their deadline.
        const now = clock.unsafeCurrentTimeMillis()
        for (const id of readsToRetry) {
          const request = pendingReads.get(id)
          if (request !== undefined) core.readIndex(id, request.mode === "lease")
        }
        readsToRetry = []
        for (const [seq, proposal] of inflight) if (proposal.deadline <= now) inflight.delete(seq)
        for (const [id, request] of pendingReads) {
          if (request.deadline <= now) {
            pendingReads.delete(id)
            request.replyTo(readTimedOut(config.requestTimeoutMs))
          }
        }
        toApplier.push({ _tag: "Sweep", now })
        return
      }
      case "PeerMessages": {
        // The leader's clock is the time of every entry it appends (expiry is evaluated against
        // it on every node): forwarded proposals get it here, before they enter the log.
        const leader = core.status().role === "leader"
        const now = clock.unsafeCurrentTimeMillis()
        for (const message of input.messages) {
          if (leader && message.type === "Propose") for (const data of message.entries) stampTime(data, now)
          core.step(message)
        }
        return
      }
      case "ClientWrite": {
        const seq = nextSeq()
        // Stamped with this node's clock; a leader that receives it forwarded stamps it again.
        const data = encodeCommand({ origin: config.id, seq, time: clock.unsafeCurrentTimeMillis(), payload: input.request.payload })
        inflight.set(seq, { data, deadline: input.request.deadline })
        proposals.push(data)
        toApplier.push({ _tag: "ExpectWrite", seq, request: input.request })
        return
      }
      case "ClientRead": {
        // Stale: this node's applied state, as it is now (no round, no lease).
        if (input.request.mode === "stale") {
          toApplier.push({ _tag: "ReadReady", index: 0, request: input.request })
          return
        }
        const id = nextReadId++
        pendingReads.set(id, input.request)
        core.readIndex(id, input.request.mode === "lease")
        return
      }
      case "WalSynced":
        core.persisted(input.index, input.term)
        return
      case "SnapshotTaken":
        core.compact(input.index, input.term, config.snapshotKeepEntries)
        return
      case "SnapshotReceived":
        // Snapshot files do not carry a configuration yet (membership is fixed at the node level
        // until the node integration of membership changes): the one in effect stays.
        core.restoreSnapshot(input.index, input.term, input.from, core.status().configuration)
        return
      case "SnapshotSent":
        core.snapshotSent(input.to, input.ok)
        return
      case "OwnWritesSettled":
        for (const seq of inflight.keys()) if (seq <= input.upTo) inflight.delete(seq)
        return
    }
  }

  const dispatch = (ready: Ready) =>
    Effect.gen(function* () {
      sendGrouped(transport, ready.messages)
      // The engine takes the snapshot before any entry that follows it applies (FIFO mailbox).
      if (ready.snapshot !== undefined) toApplier.push({ _tag: "Restore", index: ready.snapshot.index })
      if (ready.committed.length > 0) {
        for (const entry of ready.committed) {
          const origin = commandOrigin(entry)
          if (origin !== undefined && origin.node === config.id) inflight.delete(origin.seq)
        }
        toApplier.push({ _tag: "Committed", entries: ready.committed })
      }
      for (const readState of ready.readStates) {
        const request = pendingReads.get(readState.requestId)
        if (request === undefined) continue
        pendingReads.delete(readState.requestId)
        toApplier.push({ _tag: "ReadReady", index: readState.index, request })
      }
      for (const id of ready.readFailures) readsToRetry.push(id)
      // Replies first: the applier (woken first, so run first) answers clients before the WAL
      // writer holds the event loop for this turn's fsync.
      if (toApplier.length > 0) {
        const batch = toApplier
        toApplier = []
        yield* Queue.offerAll(mailboxes.applier, batch)
      }
      for (const request of ready.snapshotsToSend) yield* Queue.offer(mailboxes.snapshotter, { _tag: "Send", ...request })
      if (ready.hardState !== undefined || ready.entries.length > 0 || ready.messagesAfterPersist.length > 0 || ready.snapshot !== undefined) {
        yield* Queue.offer(mailboxes.wal, {
          hardState: ready.hardState,
          logReset: ready.snapshot,
          entries: ready.entries,
          sync: ready.mustSync,
          messagesAfterPersist: ready.messagesAfterPersist
        })
      }
    })

  const turn = Effect.gen(function* () {
    const first = yield* Queue.takeBetween(mailboxes.raft, 1, Number.POSITIVE_INFINITY)
    // Let every socket read that is already due run before the turn, so the requests of many
    // clients (and peers) share one Ready, one WAL write and one frame per peer.
    yield* ioYield
    const rest = yield* Queue.takeAll(mailboxes.raft)
    const proposals: Array<Uint8Array> = []
    for (const input of Chunk.toReadonlyArray(first)) handle(input, proposals)
    for (const input of Chunk.toReadonlyArray(rest)) handle(input, proposals)
    // Proposals made while no leader was known wait inside the core; those already sent to a
    // leader that has since been replaced may be lost, so they all go again to the new one.
    const leader = core.status().leader
    if (leader !== 0 && leader !== lastKnownLeader) {
      const replaced = lastKnownLeader !== 0
      lastKnownLeader = leader
      if (replaced && inflight.size > 0) {
        core.propose([...inflight.values()].map((proposal) => proposal.data))
        proposals.length = 0
      }
    }
    if (proposals.length > 0) core.propose(proposals)
    const ready = core.ready()
    yield* dispatch(ready)
    status.raft = core.status()
    observer.afterTurn(config.id, core, ready)
  })

  return yield* Effect.forever(turn)
})

/** Feeds the RaftNode a Tick every `tickMs` of the Effect Clock (SimClock in simulation). */
export const runTicker = Effect.gen(function* () {
  const config = yield* NodeConfig
  const { raft } = yield* Mailboxes
  return yield* Effect.forever(
    Effect.zipRight(Effect.sleep(config.tickMs), Queue.offer(raft, { _tag: "Tick" }))
  )
})

