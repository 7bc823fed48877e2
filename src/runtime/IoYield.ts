/**
 * Letting pending I/O run. Effect resumes fibers on microtasks, which never let the event loop
 * poll sockets or fire timers, so long or frequent work yields explicitly: the RaftNode before
 * each turn (so concurrent clients' requests share one), the memory engine between snapshot
 * slices (so heartbeats keep flowing). Production waits for setImmediate (after the poll phase);
 * the deterministic simulation, which runs every fiber on a scheduler it steps, provides
 * `Effect.yieldNow()` instead. A Context.Reference: nothing needs to provide it.
 */
import { Context, Effect } from "effect"

/** Resume after the event loop's pending I/O callbacks (setImmediate runs after the poll phase). */
export const yieldToIo: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

export class IoYield extends Context.Reference<IoYield>()("raft-kv/IoYield", {
  defaultValue: (): Effect.Effect<void> => yieldToIo
}) {}
