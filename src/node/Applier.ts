/**
 * The Applier actor: the only writer of the engine. It applies committed entries in batches
 * (one atomic engine write per turn, carrying the applied index), answers the local clients
 * whose writes those entries are, and serves linearizable reads once the index their ReadIndex
 * round confirmed has been applied.
 */
import { Chunk, Effect, Queue } from "effect"
import { decodeCommand } from "../commands/CommandCodec.js"
import { applyWrites, executeRead } from "../commands/StateMachine.js"
import { KvEngine } from "../engine/KvEngine.js"
import { EntryKind, type Entry } from "../raft/types.js"
import { readTimedOut, writeOvertaken, writeTimedOut } from "./clientErrors.js"
import { Mailboxes } from "./Mailboxes.js"
import type { PendingRequest } from "./messages.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"
import { Wal } from "./Wal.js"

interface WaitingRead {
  readonly index: number
  readonly request: PendingRequest
}

export const runApplier = Effect.gen(function* () {
  const config = yield* NodeConfig
  const mailboxes = yield* Mailboxes
  const status = yield* NodeStatus
  const engine = yield* KvEngine

  let applied = yield* engine.appliedIndex
  status.appliedIndex = applied
  const expectedWrites = new Map<number, PendingRequest>()
  /**
   * The highest sequence number applied per proposing node: a proposal re-sent after a leader
   * change may commit twice, and only its first copy may apply. Rebuilt at start from the log
   * the engine already holds (sequence numbers of one node only grow).
   */
  const lastApplied = new Map<number, number>()
  for (const entry of (yield* Wal).recovered.entries) {
    if (entry.index > applied) break
    const command = decodeCommand(entry.data)
    // The highest, not the last: a skipped duplicate copy may sit after a later proposal.
    if (entry.kind === EntryKind.Normal && command !== undefined && command.seq > (lastApplied.get(command.origin) ?? -1)) {
      lastApplied.set(command.origin, command.seq)
    }
  }
  let waitingReads: Array<WaitingRead> = []

  /** Apply one run of committed entries as a single engine batch. */
  const applyEntries = (entries: ReadonlyArray<Entry>) =>
    Effect.gen(function* () {
      const commands: Array<ReadonlyArray<Uint8Array>> = []
      const owners: Array<number | undefined> = []
      const skipped: Array<number> = []
      let last = applied
      for (const entry of entries) {
        if (entry.index <= applied) continue
        last = entry.index
        if (entry.kind !== EntryKind.Normal) continue
        const command = decodeCommand(entry.data)
        if (command !== undefined) {
          if (command.seq <= (lastApplied.get(command.origin) ?? -1)) {
            // A copy of a proposal that already applied (or that a later one overtook): skip it.
            if (command.origin === config.id) skipped.push(command.seq)
            continue
          }
          lastApplied.set(command.origin, command.seq)
        }
        // An undecodable entry still applies (as an error reply) so every node stays identical.
        commands.push(command?.argv ?? [])
        owners.push(command !== undefined && command.origin === config.id ? command.seq : undefined)
      }
      if (last === applied) return
      const replies = yield* applyWrites(commands, last)
      applied = last
      status.appliedIndex = last
      for (let i = 0; i < owners.length; i++) {
        const seq = owners[i]
        if (seq === undefined) continue
        const request = expectedWrites.get(seq)
        if (request === undefined) continue
        expectedWrites.delete(seq)
        request.replyTo(replies[i])
      }
      // A skipped copy whose client is still waiting was never applied: it was overtaken.
      for (const seq of skipped) {
        const request = expectedWrites.get(seq)
        if (request === undefined) continue
        expectedWrites.delete(seq)
        request.replyTo(writeOvertaken)
      }
    })

  const serveReads = Effect.gen(function* () {
    if (waitingReads.length === 0) return
    const stillWaiting: Array<WaitingRead> = []
    const due: Array<WaitingRead> = []
    for (const read of waitingReads) (read.index > applied ? stillWaiting : due).push(read)
    waitingReads = stillWaiting
    // Reads change nothing, so an engine whose gets wait on I/O (LevelDB) serves them in
    // parallel; all finish before the next batch is applied.
    yield* Effect.forEach(
      due,
      (read) => Effect.map(executeRead(read.request.argv), (reply) => read.request.replyTo(reply)),
      { concurrency: engine.readConcurrency ?? 1, discard: true }
    )
  })

  const sweep = (now: number) => {
    for (const [seq, request] of expectedWrites) {
      if (request.deadline > now) continue
      expectedWrites.delete(seq)
      request.replyTo(writeTimedOut(config.requestTimeoutMs))
    }
    waitingReads = waitingReads.filter((read) => {
      if (read.request.deadline > now) return true
      read.request.replyTo(readTimedOut(config.requestTimeoutMs))
      return false
    })
  }

  const turn = Effect.gen(function* () {
    const inputs = Chunk.toReadonlyArray(
      yield* Queue.takeBetween(mailboxes.applier, 1, Number.POSITIVE_INFINITY)
    )
    // Registrations first, then one engine batch for every committed entry of this turn.
    let committed: Array<Entry> | undefined
    let now: number | undefined
    for (const input of inputs) {
      switch (input._tag) {
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
      }
    }
    if (committed !== undefined) yield* applyEntries(committed)
    yield* serveReads
    if (now !== undefined) sweep(now)
  })

  return yield* Effect.forever(turn)
})
