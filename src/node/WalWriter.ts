/**
 * The WalWriter actor: group commit. It drains every batch queued since its last fsync, merges
 * them into one write and one fsync, and only then releases the messages that promise
 * durability (vote grants, append acknowledgements) and tells the RaftNode what is now stable.
 * Whatever arrives while it writes (in production the write and fsync hold the event loop, see
 * InlineFileSystem.ts; socket reads queue in the kernel meanwhile) goes into the next batch.
 */
import { Effect, Queue } from "effect"
import type { SnapshotPoint } from "../raft/api.js"
import type { Entry, HardState, Message } from "../raft/types.js"
import { InjectedDefects } from "./InjectedDefects.js"
import { Mailboxes, takeBatch } from "./Mailboxes.js"
import type { WalBatch } from "./messages.js"
import { sendGrouped } from "./RaftNode.js"
import { Transport } from "./Transport.js"
import { Wal } from "./Wal.js"

interface MergedBatch {
  hardState: HardState | undefined
  logReset: SnapshotPoint | undefined
  entries: Array<Entry>
  sync: boolean
  messagesAfterPersist: Array<Message>
}

/**
 * Merge consecutive batches as if written one after another: a later batch's entries replace
 * any earlier entries at the same or higher indexes (the core's conflict repair), and a log
 * reset (a received snapshot) replaces every entry before it.
 */
export const mergeBatches = (batches: ReadonlyArray<WalBatch>): MergedBatch => {
  const merged: MergedBatch = { hardState: undefined, logReset: undefined, entries: [], sync: false, messagesAfterPersist: [] }
  for (const batch of batches) {
    if (batch.hardState !== undefined) merged.hardState = batch.hardState
    if (batch.logReset !== undefined) {
      merged.logReset = batch.logReset
      merged.entries = []
    }
    if (batch.entries.length > 0) {
      const first = batch.entries[0].index
      const kept = merged.entries.length > 0 ? first - merged.entries[0].index : 0
      if (kept < merged.entries.length) merged.entries.length = Math.max(0, kept)
      for (const entry of batch.entries) merged.entries.push(entry)
    }
    merged.sync ||= batch.sync
    for (const message of batch.messagesAfterPersist) merged.messagesAfterPersist.push(message)
  }
  return merged
}

export const runWalWriter = Effect.gen(function* () {
  const mailboxes = yield* Mailboxes
  const transport = yield* Transport
  const wal = yield* Wal
  const defects = yield* InjectedDefects

  const turn = Effect.gen(function* () {
    const merged = mergeBatches(yield* takeBatch(mailboxes.wal))
    defects.walWriter(merged.entries)
    if (merged.hardState !== undefined || merged.entries.length > 0 || merged.logReset !== undefined) {
      yield* wal.append({
        ...(merged.hardState !== undefined ? { hardState: merged.hardState } : {}),
        ...(merged.logReset !== undefined ? { logReset: merged.logReset } : {}),
        entries: merged.entries,
        sync: merged.sync || merged.entries.length > 0 || merged.logReset !== undefined
      })
    }
    sendGrouped(transport, merged.messagesAfterPersist)
    const last = merged.entries[merged.entries.length - 1]
    if (last !== undefined) {
      yield* Queue.offer(mailboxes.raft, { _tag: "WalSynced", index: last.index, term: last.term })
    }
  })

  return yield* Effect.forever(turn)
})
