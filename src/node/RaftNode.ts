/**
 * The RaftNode actor: the only owner of the consensus state. Each turn it drains its mailbox,
 * feeds every input to the pure core, then dispatches the core's Ready to the transport, the
 * WAL writer and the applier. Batching falls out of the turn: every proposal, read and message
 * that arrived meanwhile shares one Ready, one WAL write and one frame per peer.
 *
 * Membership: the transport's address book follows the configuration (Membership.addressBook);
 * administration requests are handled by `Administration`; a node that learns it was removed
 * (from its own committed configuration, or from what a member reports) stops cleanly.
 */
import { Chunk, Deferred, Effect, Queue, Random } from "effect"
import { commandOrigin, encodeCommand, stampTime } from "../commands/CommandCodec.js"
import { type Configuration, describeConfiguration, memberOf } from "../raft/Configuration.js"
import { makeRaft } from "../raft/Raft.js"
import { seededRandom } from "../raft/seededRandom.js"
import type { RaftCore, Ready } from "../raft/api.js"
import type { NodeId } from "../raft/types.js"
import { error as errorReply } from "../resp/Reply.js"
import { Administration } from "./Administration.js"
import { readTimedOut } from "./clientErrors.js"
import { Lifecycle } from "./Lifecycle.js"
import { Mailboxes } from "./Mailboxes.js"
import { addressBook, type CommittedConfiguration, initialConfiguration, memberAsOfAtStart, provesRemoval } from "./Membership.js"
import type { ApplierInput, PendingRead, RaftInput } from "./messages.js"
import { Incarnation } from "./Incarnation.js"
import { NodeConfig } from "./NodeConfig.js"
import { IoYield } from "../runtime/IoYield.js"
import { InjectedRaftBugs, RaftObserver } from "./NodeHooks.js"
import { NodeStatus } from "./NodeStatus.js"
import { isAdminMessage, type PeerMessage } from "./PeerMessage.js"
import { FRAME_TARGET_BYTES } from "./PeerCodec.js"
import { Recovered } from "./Recovery.js"
import { logEvent, raftEvents } from "./RaftEvents.js"
import { Metrics } from "../metrics/NodeMetrics.js"
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
  const lifecycle = yield* Lifecycle
  const clock = yield* Effect.clock
  const incarnation = yield* Incarnation
  const ioYield = yield* IoYield
  const observer = yield* RaftObserver
  const metrics = yield* Metrics

  const applied = recovered.applied
  // The cluster as first started (--cluster), or nothing for a node joining a running cluster;
  // once a snapshot or a configuration entry in the log provides one, that one rules.
  const initial = initialConfiguration(config)
  const core: RaftCore = makeRaft(
    {
      id: config.id,
      configuration: initial,
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
    {
      hardState: recovered.hardState,
      snapshot: recovered.snapshot,
      snapshotConfiguration: recovered.snapshotConfiguration,
      entries: recovered.entries,
      applied
    }
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
   * the applier drops the copies that did commit (Raft dissertation §6.3). One without a deadline
   * (a pop for a client blocked with no timeout) is also proposed again at every request timeout
   * (`resendAt`), as a forward can be lost without the leader changing (a dropped frame).
   */
  const inflight = new Map<number, { readonly data: Uint8Array; readonly deadline: number; resendAt: number; readonly abandoned?: AbortSignal }>()
  let lastKnownLeader = 0
  let nextReadId = 1
  const pendingReads = new Map<number, PendingRead>()
  let readsToRetry: Array<number> = []
  /**
   * This node's proposals (sequence numbers, ascending) not yet handed to a leader: made while no
   * leader was known, or while this node was handing leadership over (a transferring leader takes
   * no proposals). They stay here, not in the core, so that when a new leader appears and
   * everything in `inflight` goes to it again, nothing is sent twice out of order: a copy of a
   * write applied after a later write of the same node would be skipped as a duplicate and its
   * client told it was overtaken.
   */
  let unsent: Array<number> = []
  /**
   * Proposals followers forwarded while this node, leading, was handing leadership over (the core
   * would drop them): proposed if the transfer is abandoned. If it succeeds, each follower
   * proposes its own again to the new leader.
   */
  let heldForwarded: Array<Uint8Array> = []

  // ------------------------------------------------------------------ membership

  /** When this node last heard from each peer (RAFT.NODES' last contact, CLUSTER NODES). */
  const lastHeard = new Map<NodeId, number>()
  status.lastHeard = lastHeard
  const admin = new Administration({
    self: config.id,
    core,
    send: (to, messages) => transport.send(to, messages),
    hasWritten: (id) => status.hasWritten(id),
    lastHeard,
    requestTimeoutMs: config.requestTimeoutMs,
    electionMs: config.electionTicks * config.tickMs
  })
  /** The highest committed index at which this node was a member (undefined: never was; see provesRemoval). */
  let memberAsOf = memberAsOfAtStart(
    config.id,
    recovered.snapshotConfiguration ?? initial,
    recovered.snapshot.index,
    recovered.entries,
    status.raft.commit
  )
  /** What a member last reported as committed (kept while this node waits to be added). */
  let observed: CommittedConfiguration | undefined
  /** Set once this node knows it was removed: it answers no more clients and stops shortly. */
  let removal: { readonly at: number; readonly reason: string; logged: boolean } | undefined
  // The Lifecycle hears of it after a grace period, so the last replies and messages (a removed
  // leader's final commit index and TimeoutNow) leave before the node stops.
  const removalGraceMs = Math.min(1000, config.electionTicks * config.tickMs)

  const noteRemoval = (seen: CommittedConfiguration, source: string): void => {
    if (removal !== undefined || !provesRemoval(config.id, memberAsOf, seen)) return
    const reason =
      `node ${config.id} was removed from the cluster: the configuration committed at index ${seen.index} ` +
      `(${describeConfiguration(seen.configuration)}, ${source}) does not include it`
    removal = { at: clock.unsafeCurrentTimeMillis(), reason, logged: false }
    for (const [id, request] of pendingReads) {
      pendingReads.delete(id)
      request.replyTo(removedError)
    }
  }

  let book: { inEffect: Configuration; committed: Configuration; observed: Configuration | undefined } | undefined
  /** The transport's address book follows the configurations (Membership.addressBook). */
  const refreshAddressBook = (inEffect: Configuration, committed: CommittedConfiguration) => {
    // What a member reported counts while this node has not caught up with it (see addressBook).
    const seen = observed !== undefined && observed.index > committed.index ? observed.configuration : undefined
    if (book !== undefined && book.inEffect === inEffect && book.committed === committed.configuration && book.observed === seen) return Effect.void
    book = { inEffect, committed: committed.configuration, observed: seen }
    return transport.setMembers(addressBook(config.id, inEffect, committed.configuration, seen))
  }

  /**
   * What this turn hands the applier, in order: the applier learns of a write (ExpectWrite)
   * before its entry can commit, and of a snapshot restore before the entries after it. One
   * offer per turn, so the applier wakes once however many requests the turn carried.
   */
  let toApplier: Array<ApplierInput> = []

  const handle = (input: RaftInput, proposals: Array<number>): void => {
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
        for (const [seq, proposal] of inflight) {
          if (proposal.deadline <= now || (proposal.deadline === Number.POSITIVE_INFINITY && proposal.abandoned?.aborted === true)) {
            // (A pop whose client went away is not sent again: it could only take an element no one gets.)
            inflight.delete(seq)
            metrics.proposalsFailed.inc()
          } else if (proposal.deadline === Number.POSITIVE_INFINITY && proposal.resendAt <= now) {
            proposal.resendAt = now + config.requestTimeoutMs
            // A forward may be lost while its leader keeps leading (a dropped frame), and a leader's
            // own entry may be lost if it stepped down and leads again in a later term (the leader
            // id did not change, so proposeAll did not send everything again): propose it again,
            // with the same sequence number, so only one copy applies. One not sent yet goes once a
            // leader is known.
            if (core.status().leader !== 0 && !unsent.includes(seq)) proposals.push(seq)
          }
        }
        if (unsent.length > 0) unsent = unsent.filter((seq) => inflight.has(seq))
        for (const [id, request] of pendingReads) {
          if (request.deadline <= now) {
            pendingReads.delete(id)
            request.replyTo(readTimedOut(config.requestTimeoutMs))
          }
        }
        admin.tick(now)
        toApplier.push({ _tag: "Sweep", now })
        return
      }
      case "PeerMessages": {
        // The leader's clock is the time of every entry it appends (expiry is evaluated against
        // it on every node): forwarded proposals get it here, before they enter the log.
        const before = core.status()
        const leader = before.role === "leader"
        const transferring = leader && before.transferee !== 0
        const now = clock.unsafeCurrentTimeMillis()
        for (const message of input.messages) {
          lastHeard.set(message.from, now)
          if (message.type === "HeartbeatResp") roundTripEnded(message.from)
          if (isAdminMessage(message)) {
            admin.received(message, now)
            continue
          }
          if (leader && message.type === "Propose") {
            if (transferring) {
              // The core would drop them: keep them for when the transfer is abandoned.
              for (const data of message.entries) heldForwarded.push(data)
              continue
            }
            for (const data of message.entries) stampTime(data, now)
          }
          core.step(message)
        }
        return
      }
      case "ClientWrite": {
        if (removal !== undefined) return input.request.replyTo(removedError)
        const seq = nextSeq()
        const now = clock.unsafeCurrentTimeMillis()
        // Stamped with this node's clock; a leader that receives it forwarded stamps it again.
        const data = encodeCommand({ origin: config.id, seq, time: now, payload: input.request.payload })
        inflight.set(seq, { data, deadline: input.request.deadline, resendAt: now + config.requestTimeoutMs, abandoned: input.request.block?.signal })
        proposals.push(seq)
        toApplier.push({ _tag: "ExpectWrite", seq, request: input.request })
        return
      }
      case "ClientRead": {
        if (removal !== undefined) return input.request.replyTo(removedError)
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
      case "Admin":
        if (removal !== undefined) return input.request.reply({ kind: "error", message: REMOVED })
        admin.submit(input.request, clock.unsafeCurrentTimeMillis())
        return
      case "ConfigurationObserved":
        observed = input.committed
        noteRemoval(input.committed, `as node ${input.from} reports it`)
        return
      case "WalSynced":
        core.persisted(input.index, input.term)
        return
      case "SnapshotTaken":
        core.compact(input.index, input.term, config.snapshotKeepEntries)
        return
      case "SnapshotReceived":
        // A snapshot written before snapshots carried the configuration: the one in effect stays
        // (membership was fixed when such snapshots were taken).
        core.restoreSnapshot(input.index, input.term, input.from, input.configuration ?? core.status().configuration)
        return
      case "SnapshotSent":
        core.snapshotSent(input.to, input.ok)
        return
      case "OwnWritesSettled":
        for (const seq of inflight.keys()) if (seq <= input.upTo) inflight.delete(seq)
        return
    }
  }

  /**
   * Hand this turn's proposals (and those waiting) to the core, in order, once a leader that
   * takes them is known. A leader that was replaced may have lost what it was sent: then all of
   * `inflight` goes again (the applier skips the copies that did commit).
   */
  const proposeAll = (fresh: ReadonlyArray<number>) => {
    const raft = core.status()
    if (raft.leader !== 0 && raft.leader !== lastKnownLeader) {
      const replaced = lastKnownLeader !== 0
      lastKnownLeader = raft.leader
      if (replaced) unsent = [...inflight.keys()]
      else for (const seq of fresh) unsent.push(seq)
    } else for (const seq of fresh) unsent.push(seq)
    if (raft.role !== "leader") heldForwarded = []
    if (raft.leader === 0 || (raft.role === "leader" && raft.transferee !== 0)) return
    const data: Array<Uint8Array> = []
    if (heldForwarded.length > 0) {
      // The transfer was abandoned: what followers sent meanwhile goes first, stamped now.
      const time = clock.unsafeCurrentTimeMillis()
      for (const item of heldForwarded) {
        stampTime(item, time)
        data.push(item)
      }
      heldForwarded = []
    }
    for (const seq of unsent) {
      const proposal = inflight.get(seq)
      if (proposal !== undefined) data.push(proposal.data)
    }
    unsent = []
    if (data.length > 0) core.propose(data)
  }

  // ------------------------------------------------------------------ peer round trips (metrics)

  /** When the heartbeat now timed was sent to each peer (Effect clock, ns): one probe per peer at a time. */
  const probes = new Map<NodeId, bigint>()
  const startRoundTrips = (messages: Ready["messages"]) => {
    const now = clock.unsafeCurrentTimeNanos()
    for (const message of messages) {
      if (message.type !== "Heartbeat") continue
      const sent = probes.get(message.to)
      // A probe unanswered for 10 s (a lost heartbeat, a peer that was down) is replaced.
      if (sent === undefined || now - sent > 10_000_000_000n) probes.set(message.to, now)
    }
  }
  const roundTripEnded = (from: NodeId) => {
    const sent = probes.get(from)
    if (sent === undefined) return
    probes.delete(from)
    metrics.peerRoundTrip.get(String(from)).observe(Number(clock.unsafeCurrentTimeNanos() - sent) / 1e9)
  }

  const dispatch = (ready: Ready) =>
    Effect.gen(function* () {
      sendGrouped(transport, ready.messages)
      if (status.raft.role === "leader") startRoundTrips(ready.messages)
      // The engine takes the snapshot before any entry that follows it applies (FIFO mailbox).
      if (ready.snapshot !== undefined) toApplier.push({ _tag: "Restore", index: ready.snapshot.index })
      if (ready.committed.length > 0) {
        for (const entry of ready.committed) {
          const origin = commandOrigin(entry)
          if (origin !== undefined && origin.node === config.id) inflight.delete(origin.seq)
        }
        toApplier.push({ _tag: "Committed", entries: ready.committed })
        metrics.proposalsCommitted.inc(ready.committed.length)
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

  /** The committed configuration as last logged (the one at start is not a change). */
  let loggedConfiguration: string | undefined
  const membershipEvent = (committed: CommittedConfiguration) => {
    const described = describeConfiguration(committed.configuration)
    const previous = loggedConfiguration
    loggedConfiguration = described
    if (previous === undefined || previous === described) return Effect.void
    return logEvent({
      message: `membership changed: ${described} (committed at index ${committed.index})`,
      fields: { event: "membership_changed", configuration: described, previousConfiguration: previous, index: committed.index }
    })
  }

  /** After a turn: publish the committed configuration, follow it with the address book, notice a removal. */
  const trackMembership = Effect.suspend(() => {
    const raft = status.raft
    const committed: CommittedConfiguration = { index: raft.commit, configuration: core.configurationAt(raft.commit) ?? raft.configuration }
    let changed = Effect.void
    if (status.committedConfiguration.configuration !== committed.configuration || status.committedConfiguration.index !== committed.index) {
      if (status.committedConfiguration.configuration !== committed.configuration || loggedConfiguration === undefined) changed = membershipEvent(committed)
      status.committedConfiguration = committed
    }
    if (memberOf(committed.configuration, config.id) !== undefined) memberAsOf = committed.index
    else noteRemoval(committed, "in this node's log")
    if (removal !== undefined) {
      const current = removal
      const log = current.logged ? Effect.void : Effect.logWarning(`${current.reason}; stopping`)
      current.logged = true
      const stop = clock.unsafeCurrentTimeMillis() - current.at >= removalGraceMs ? Deferred.succeed(lifecycle.removed, current.reason) : Effect.void
      return Effect.zipRight(changed, Effect.zipRight(log, stop))
    }
    return Effect.zipRight(changed, refreshAddressBook(raft.configuration, committed))
  })

  const turn = Effect.gen(function* () {
    const first = yield* Queue.takeBetween(mailboxes.raft, 1, Number.POSITIVE_INFINITY)
    // Let every socket read that is already due run before the turn, so the requests of many
    // clients (and peers) share one Ready, one WAL write and one frame per peer.
    yield* ioYield
    const rest = yield* Queue.takeAll(mailboxes.raft)
    const proposals: Array<number> = []
    for (const input of Chunk.toReadonlyArray(first)) handle(input, proposals)
    for (const input of Chunk.toReadonlyArray(rest)) handle(input, proposals)
    proposeAll(proposals)
    const ready = core.ready()
    const before = status.raft
    status.raft = core.status()
    metrics.proposalsPending = inflight.size
    if (before.term !== status.raft.term || before.leader !== status.raft.leader) {
      if (status.raft.leader !== 0 && status.raft.leader !== before.leader) metrics.leaderChanges.inc()
      if (status.raft.role !== "leader") probes.clear()
      for (const event of raftEvents(before, status.raft)) yield* logEvent(event)
    }
    // The address book first: a member added this turn gets this turn's appends.
    yield* trackMembership
    yield* dispatch(ready)
    admin.afterTurn(ready, status.raft, clock.unsafeCurrentTimeMillis())
    observer.afterTurn(config.id, core, ready)
  })

  yield* trackMembership
  return yield* Effect.forever(turn)
})

const REMOVED = "ERR this node was removed from the cluster and is stopping"
const removedError = errorReply(REMOVED)

/** Feeds the RaftNode a Tick every `tickMs` of the Effect Clock (SimClock in simulation). */
export const runTicker = Effect.gen(function* () {
  const config = yield* NodeConfig
  const { raft } = yield* Mailboxes
  return yield* Effect.forever(
    Effect.zipRight(Effect.sleep(config.tickMs), Queue.offer(raft, { _tag: "Tick" }))
  )
})

