/**
 * Real node processes (`node dist/src/main.js`) on loopback with their own temp data dirs, for
 * tests that exercise what a user runs: TCP, fsync, LevelDB, redis-cli. Every process is ended
 * by its own PID and every directory removed in `shutdown`, and also on exit if a test dies.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { liveChildren } from "./liveChildren.js"
import { info } from "./redisCli.js"
import { TEST_HOST } from "./testHost.js"
import { waitFor } from "./waitFor.js"

const MAIN = path.resolve("dist/src/main.js")
const live = liveChildren()

export interface ClusterOptions {
  readonly nodes?: number
  readonly engine?: "memory" | "level"
  /**
   * Client ports are basePort+1.., peer ports basePort+101..; give each test file its own, below
   * 32768 so no outgoing connection (ephemeral ports 32768-60999) can hold a port a node needs.
   */
  readonly basePort: number
  readonly extraArgs?: ReadonlyArray<string>
  /** Flags for one node only (after extraArgs), e.g. its own certificate. */
  readonly argsFor?: (id: number) => ReadonlyArray<string>
  /** Environment variables for one node's process, on top of the test's own. */
  readonly envFor?: (id: number) => Readonly<Record<string, string>>
  /** The entry point to run (default dist/src/main.js), e.g. an example with its own engine. */
  readonly main?: string
  /**
   * How long a node may take to answer after it is spawned (default 45 s: a node answers in about
   * a second, but on a machine busy with other files of the suite, which run side by side, and with
   * other work, three nodes starting at once were seen to need more than 30 s; below the 60 s of
   * the hooks that start clusters, so a slow start fails with its own message).
   */
  readonly startTimeoutMs?: number
  /**
   * How the harness's redis-cli reaches node `id` (readiness, leader checks): its port (default
   * the client port) and options such as --pass or --tls (default none).
   */
  readonly cliFor?: (id: number) => { readonly port: number; readonly options: ReadonlyArray<string> }
}

export class ProcessCluster {
  readonly size: number
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "raft-kv-proc-"))
  private readonly children = new Map<number, ChildProcess>()
  private readonly output = new Map<number, string>()
  readonly exits = new Map<number, number | null>()

  constructor(readonly options: ClusterOptions) {
    this.size = options.nodes ?? 3
  }

  get ids(): Array<number> {
    return Array.from({ length: this.size }, (_, i) => i + 1)
  }

  clientPort(id: number): number {
    return this.options.basePort + id
  }

  peerPort(id: number): number {
    return this.options.basePort + 100 + id
  }

  args(id: number): Array<string> {
    const cluster = this.ids.map((i) => `http://${TEST_HOST}:${this.peerPort(i)}`).join(",")
    const extra = [...(this.options.extraArgs ?? []), ...(this.options.argsFor?.(id) ?? [])]
    // A test may give a node its own --port (e.g. --port 0: TLS only).
    const port = extra.includes("--port") ? [] : ["--port", String(this.clientPort(id))]
    return [
      this.options.main === undefined ? MAIN : path.resolve(this.options.main), "--id", String(id), "--cluster", cluster, ...port, "--host", TEST_HOST,
      "--data-dir", path.join(this.root, `node${id}`), "--engine", this.options.engine ?? "memory",
      ...extra
    ]
  }

  /**
   * Flags for a node that joins the running cluster (`--join` through node `via`'s peer port),
   * with its own ports; it waits until RAFT.NODE ADD adds it.
   */
  joinArgs(id: number, via: number): Array<string> {
    return [
      this.options.main === undefined ? MAIN : path.resolve(this.options.main), "--id", String(id), "--join", `${TEST_HOST}:${this.peerPort(via)}`,
      "--peer-address", `${TEST_HOST}:${this.peerPort(id)}`, "--port", String(this.clientPort(id)), "--host", TEST_HOST,
      "--data-dir", path.join(this.root, `node${id}`), "--engine", this.options.engine ?? "memory",
      ...(this.options.extraArgs ?? []),
      ...(this.options.argsFor?.(id) ?? [])
    ]
  }

  /** Start node `id` joining through node `via` (see joinArgs) and wait until it answers. */
  startJoining(id: number, via: number): Promise<void> {
    return this.start(id, this.joinArgs(id, via))
  }

  /** Start node `id` (with `args`, by default its --cluster flags) and wait until it answers INFO. */
  async start(id: number, args: Array<string> = this.args(id)): Promise<void> {
    const env = { ...process.env, ...this.options.envFor?.(id) }
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env })
    live.add(child)
    this.children.set(id, child)
    this.exits.delete(id)
    const append = (chunk: Buffer) => this.output.set(id, ((this.output.get(id) ?? "") + chunk.toString()).slice(-20_000))
    child.stdout!.on("data", append)
    child.stderr!.on("data", append)
    child.on("exit", (code) => {
      live.delete(child)
      this.exits.set(id, code)
    })
    await waitFor(async () => (await this.info(id)).raft_node_id === String(id), {
      // Generous: a node starts in about a second, but a machine busy with other tests can take far longer.
      timeoutMs: this.options.startTimeoutMs ?? 45_000,
      description: () => `node ${id} to answer on port ${this.clientPort(id)} (exit: ${this.exits.get(id)})\n${this.output.get(id) ?? ""}`
    })
  }

  async startAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.start(id)))
  }

  private async signal(id: number, signal: NodeJS.Signals): Promise<number | null> {
    const child = this.children.get(id)
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    child.kill(signal)
    const code = await exited
    this.children.delete(id)
    return code
  }

  /** INFO `section` of node `id`, through the harness's way to reach it (`cliFor`). */
  info(id: number, section = "raft"): Promise<Record<string, string>> {
    const cli = this.options.cliFor?.(id) ?? { port: this.clientPort(id), options: [] }
    return info(cli.port, section, cli.options)
  }

  /** SIGHUP (a node with --tls-port reloads its certificate). */
  hangup(id: number): void {
    this.children.get(id)?.kill("SIGHUP")
  }

  /** The process id of node `id` (e.g. to read its command line). */
  pid(id: number): number | undefined {
    return this.children.get(id)?.pid
  }

  /** SIGTERM, the way goreman or Ctrl-C stops a node; resolves with the exit status. */
  stop(id: number): Promise<number | null> {
    return this.signal(id, "SIGTERM")
  }

  /** SIGKILL: a crash. */
  kill(id: number): Promise<number | null> {
    return this.signal(id, "SIGKILL")
  }

  pause(id: number): void {
    this.children.get(id)?.kill("SIGSTOP")
  }

  resume(id: number): void {
    this.children.get(id)?.kill("SIGCONT")
  }

  running(): Array<number> {
    return [...this.children.keys()]
  }

  logs(id: number): string {
    return this.output.get(id) ?? ""
  }

  /** The leader id that every running node agrees on, waiting for one to be elected. */
  async waitForLeader(timeoutMs = 15_000): Promise<number> {
    let leader = 0
    await waitFor(
      async () => {
        const views = await Promise.all(this.running().map(async (id) => (await this.info(id)).raft_leader_id))
        leader = Number(views[0])
        return leader > 0 && views.every((view) => Number(view) === leader) && this.running().includes(leader)
      },
      { timeoutMs, description: "a leader every running node agrees on" }
    )
    return leader
  }

  async shutdown(): Promise<void> {
    for (const id of this.running()) {
      this.resume(id)
      await this.kill(id)
    }
    fs.rmSync(this.root, { recursive: true, force: true })
  }
}
