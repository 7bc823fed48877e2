/**
 * A real `redis-server` (the Debian binary) on a loopback port of RAFT_KV_TEST_HOST, with its own
 * temp dir and no persistence, as the reference the compatibility tests compare raft-kv with.
 * Stopped by its own PID; its directory is removed on stop, and the process is killed if the
 * test process exits first.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { liveChildren } from "./liveChildren.js"
import { WireConnection } from "./respWire.js"
import { TEST_HOST } from "./testHost.js"
import { waitFor } from "./waitFor.js"

const live = liveChildren()

export interface RedisServerOptions {
  /** Below 32768 (no ephemeral port can hold it); give each test file its own. */
  readonly port: number
  readonly host?: string
  /** Extra `--name value` arguments, e.g. `["--save", "60 1"]`. */
  readonly extraArgs?: ReadonlyArray<string>
  readonly binary?: string
}

/** Whether a redis-server binary is on PATH (tests that need one say so clearly when it is not). */
export const redisServerAvailable = (binary = "redis-server"): boolean => {
  try {
    execFileSync(binary, ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

export class RedisServer {
  private output = ""
  private exitCode: number | null | undefined = undefined

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly host: string,
    readonly dir: string
  ) {
    const append = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000)
    }
    child.stdout!.on("data", append)
    child.stderr!.on("data", append)
    child.on("exit", (code) => {
      live.delete(child)
      this.exitCode = code
    })
  }

  static async start(options: RedisServerOptions): Promise<RedisServer> {
    const host = options.host ?? TEST_HOST
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-redis-"))
    const args = [
      "--port", String(options.port), "--bind", host, "--dir", dir,
      "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "", "--databases", "16",
      ...(options.extraArgs ?? [])
    ]
    const child = spawn(options.binary ?? "redis-server", args, { stdio: ["ignore", "pipe", "pipe"] })
    live.add(child)
    const server = new RedisServer(child, options.port, host, dir)
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve))
    try {
      await Promise.race([
        waitFor(
          async () => {
            if (server.exitCode !== undefined) throw new Error(`redis-server exited with ${server.exitCode}`)
            const connection = await WireConnection.connect(options.port, { host, replyTimeoutMs: 2_000 })
            try {
              return (await connection.call("PING")).raw.toString() === "+PONG\r\n"
            } finally {
              connection.close()
            }
          },
          { timeoutMs: 10_000, description: () => `redis-server to answer PING on ${host}:${options.port}\n${server.output}` }
        ),
        spawnError.then((error) => {
          throw new Error(`could not run redis-server: ${error.message}`)
        })
      ])
    } catch (error) {
      await server.stop()
      throw error
    }
    return server
  }

  connect(name = `redis-server:${this.port}`): Promise<WireConnection> {
    return WireConnection.connect(this.port, { host: this.host, name })
  }

  logs(): string {
    return this.output
  }

  /** SIGKILL by PID (nothing to persist), wait for the exit, remove the directory. */
  async stop(): Promise<void> {
    if (this.exitCode === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()))
      this.child.kill("SIGKILL")
      await exited
    }
    live.delete(this.child)
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}
