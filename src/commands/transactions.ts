/**
 * MULTI, EXEC, DISCARD, WATCH and UNWATCH (redis-server 7's multi.c). The connection queues the
 * commands between MULTI and EXEC (checking only that they exist and their arity, as Redis does);
 * EXEC sends them through the log as ONE entry, so every node applies all of them at the same
 * point of the log, atomically, each with its own reply. A transaction of reads only (and no WATCH)
 * is served through ReadIndex instead, at one point of the applied state.
 *
 * WATCH is itself a log entry: the sessions and their "modified" marks are replicated state, so
 * EXEC's verdict is decided by the state machine, identically on every node.
 */
import { encodeReplyChunks } from "../resp/encode.js"
import { array, encoded, error, NIL_ARRAY, OK, type Reply } from "../resp/Reply.js"
import { isWrite, type CommandSpec, type LocalHandler } from "./registry.js"
import type { ClientSession, QueuedEntry, StateRequest } from "./session.js"

const local = (run: LocalHandler) => ({ kind: "local" as const, run })

/** End the client's WATCH session (EXEC, DISCARD, UNWATCH, RESET, a closed connection). */
export const endWatch = (session: ClientSession): void => {
  const watchSession = session.client.watchSession
  if (watchSession === 0) return
  session.client.watchSession = 0
  // In the connection's order: an UNWATCH must not reach the log before the WATCH it ends.
  session.submit({ kind: "write", payload: { kind: "unwatch", session: watchSession } }, () => {})
}

/** Forget a pending MULTI and the client's watches (DISCARD, RESET). */
export const discardTransaction = (session: ClientSession): void => {
  session.client.multi = undefined
  endWatch(session)
}

/** Run a queued connection-local command at EXEC time. */
const runQueuedLocal = (session: ClientSession, queued: QueuedEntry): Reply => {
  const route = queued.spec.route
  if (route?.kind !== "local") return error(`ERR '${queued.spec.name}' cannot run inside a transaction`)
  return route.run(session, queued.argv) ?? error(`ERR '${queued.spec.name}' cannot run inside a transaction`)
}

const multi: LocalHandler = (session) => {
  if (session.client.multi !== undefined) return error("ERR MULTI calls can not be nested")
  session.client.multi = { queue: [], aborted: false, db: session.client.db }
  return OK
}

const exec: LocalHandler = (session) => {
  const client = session.client
  const transaction = client.multi
  if (transaction === undefined) return error("ERR EXEC without MULTI")
  client.multi = undefined
  const watchSession = client.watchSession
  if (transaction.aborted) {
    endWatch(session)
    return error("EXECABORT Transaction discarded because of previous errors.")
  }
  // EXEC ends the session itself (the entry carries it), so no separate UNWATCH is needed.
  client.watchSession = 0
  const stateCommands = transaction.queue.filter((queued) => queued.spec.route?.kind === "state")
  /** EXEC's array is written in the protocol in effect when EXEC starts (its reply slot's). */
  const protocol = client.protocol
  /**
   * The transaction's replies: the state machine's, with the local commands' run in between. As
   * redis-server writes them: each in the protocol in effect once its command ran (a queued HELLO
   * switches it before its own reply).
   */
  const assemble = (stateReplies: ReadonlyArray<Reply>): Reply => {
    let next = 0
    return array(
      transaction.queue.map((queued) => {
        const reply = queued.spec.route?.kind === "state" ? stateReplies[next++] : runQueuedLocal(session, queued)
        return client.protocol === protocol ? reply : encoded(encodeReplyChunks([reply], client.protocol))
      })
    )
  }
  if (stateCommands.length === 0 && watchSession === 0) {
    const replyTo = session.reserve()
    replyTo(assemble([]))
    return undefined
  }
  // MULTI's +OK and the QUEUED replies still unwritten go out with EXEC's array, in one write.
  const replyTo = session.reserve({ holdEarlier: true })
  const commands = stateCommands.map((queued) => ({ db: queued.db, argv: queued.argv }))
  const readOnly = watchSession === 0 && stateCommands.every((queued) => !isWrite(queued.spec))
  const request: StateRequest = readOnly
    ? { kind: "read", request: { kind: "transaction", commands }, mode: client.readMode }
    : { kind: "write", payload: { kind: "transaction", session: watchSession, commands } }
  // Queued local commands (SELECT, HELLO, CLIENT SETNAME, AUTH, ...) run, and change the session,
  // only once consensus has answered and only if the transaction ran (not after a changed WATCH
  // or an error), as redis-server runs them inside EXEC. So the commands read after this EXEC
  // wait until then: they must run in the database, protocol, name and user that EXEC leaves.
  const release = stateCommands.length < transaction.queue.length ? session.holdInput() : undefined
  session.submit(request, (result) => {
    // A null reply (a watched key changed) or an error (no quorum) stands for the whole transaction.
    const reply = result._tag === "Array" && result.value !== null ? assemble(result.value) : result
    // The held commands take their reply slots (after EXEC's) before EXEC's reply can end the connection.
    release?.()
    replyTo(reply)
  })
  return undefined
}

const discard: LocalHandler = (session) => {
  if (session.client.multi === undefined) return error("ERR DISCARD without MULTI")
  discardTransaction(session)
  return OK
}

const watch: LocalHandler = (session, argv) => {
  const client = session.client
  if (client.multi !== undefined) return error("ERR WATCH inside MULTI is not allowed")
  if (client.watchSession === 0) client.watchSession = session.server.newWatchSession()
  const replyTo = session.reserve()
  session.submit({ kind: "write", payload: { kind: "watch", session: client.watchSession, db: client.db, keys: argv.slice(1) } }, replyTo)
  return undefined
}

const unwatch: LocalHandler = (session) => {
  endWatch(session)
  return OK
}

const flags = ["noscript", "loading", "stale", "fast", "allow_busy"] as const

export const transactionCommands: ReadonlyArray<CommandSpec> = [
  { name: "multi", arity: 1, flags: [...flags], group: "transactions", summary: "Mark the start of a transaction block", since: "1.2.0", complexity: "O(1)", route: local(multi) },
  { name: "exec", arity: 1, flags: ["noscript", "loading", "stale", "skip_slowlog"], group: "transactions", summary: "Execute all commands issued after MULTI", since: "1.2.0", complexity: "Depends on commands in the transaction", route: local(exec) },
  { name: "discard", arity: 1, flags: [...flags], group: "transactions", summary: "Discard all commands issued after MULTI", since: "2.0.0", complexity: "O(N), when N is the number of queued commands", route: local(discard) },
  { name: "watch", arity: -2, flags: [...flags], group: "transactions", keys: { first: 1, last: -1, step: 1 }, summary: "Watch the given keys to determine execution of the MULTI/EXEC block", since: "2.2.0", complexity: "O(1) for every key.", route: local(watch) },
  { name: "unwatch", arity: 1, flags: [...flags], group: "transactions", summary: "Forget about all watched keys", since: "2.2.0", complexity: "O(1)", route: local(unwatch) }
]

/** Commands that run even between MULTI and EXEC instead of being queued (multi.c). */
export const TRANSACTION_CONTROL = new Set(["exec", "discard", "multi", "watch", "quit", "reset"])

export { NIL_ARRAY }
