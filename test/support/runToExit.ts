/**
 * Run a program to its exit without blocking this process's event loop (spawnSync would: the
 * test worker then misses its own RPC deadlines and other sockets' traffic), killed after
 * `timeoutMs` if it has not exited.
 */
import { execFile } from "node:child_process"

export interface Exited {
  /** The exit status, or null if it was killed (by the timeout). */
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

export const runToExit = (file: string, args: ReadonlyArray<string>, timeoutMs = 20_000): Promise<Exited> =>
  new Promise((resolve) => {
    execFile(file, args, { encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = (error as (NodeJS.ErrnoException & { code?: unknown }) | null)?.code
      resolve({ status: error === null ? 0 : typeof code === "number" ? code : null, stdout, stderr })
    })
  })
