/**
 * The child processes this test process started and has not seen exit: killed with SIGKILL if the
 * test process exits first. One set and one 'exit' listener per process (or worker thread), shared
 * by every copy of the modules that use it: Vitest runs several test files in one fork or thread
 * (vitest.config.ts) and loads the modules afresh for each file.
 */
import type { ChildProcess } from "node:child_process"

const KEY = Symbol.for("raft-kv.test.liveChildren")

export const liveChildren = (): Set<ChildProcess> => {
  const holder = globalThis as { [KEY]?: Set<ChildProcess> }
  const existing = holder[KEY]
  if (existing !== undefined) return existing
  const live = new Set<ChildProcess>()
  holder[KEY] = live
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL")
  })
  return live
}
