#!/usr/bin/env node
/**
 * The fastest a Node.js process can answer redis-benchmark on this machine: a baseline for
 * scripts/bench.mjs, not a server. It parses nothing: it counts the commands in each chunk
 * (redis-benchmark's requests are arrays, one '*' each, and its keys and values hold no '*')
 * and answers each with +OK for SET and a nil bulk for anything else.
 *
 *   node scripts/node-ceiling.mjs --port P [--host H] [--fsync FILE]
 *
 * With --fsync it is the durable ceiling: every request's bytes are appended to FILE with one
 * writeSync and one fsyncSync per event-loop turn (group commit, as redis-server's appendfsync
 * always), before any of that turn's replies is written.
 */
import * as fs from "node:fs"
import * as net from "node:net"

const args = process.argv.slice(2)
const flag = (name) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const port = Number(flag("port"))
const logPath = flag("fsync")
const host = flag("host") ?? "127.0.0.1"

const OK = Buffer.from("+OK\r\n")
const NIL = Buffer.from("$-1\r\n")
const STAR = 42

/** One reply per command in `chunk`: +OK when the chunk's first command is a SET, else nil. */
const repliesFor = (chunk) => {
  let count = 0
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === STAR) count++
  const reply = chunk.includes("SET") ? OK : NIL
  return count <= 1 ? reply : Buffer.concat(Array(count).fill(reply))
}

const fd = logPath === undefined ? undefined : fs.openSync(logPath, "a")
/** The turn's requests awaiting the fsync: [socket, request bytes]. */
let waiting = []
const flushTurn = () => {
  const turn = waiting
  waiting = []
  fs.writeSync(fd, Buffer.concat(turn.map(([, chunk]) => chunk)))
  fs.fsyncSync(fd)
  for (const [socket, chunk] of turn) if (!socket.destroyed) socket.write(repliesFor(chunk))
}

net
  .createServer((socket) => {
    socket.setNoDelay(true)
    socket.on("error", () => socket.destroy())
    socket.on("data", (chunk) => {
      if (fd === undefined) return void socket.write(repliesFor(chunk))
      if (waiting.length === 0) setImmediate(flushTurn)
      waiting.push([socket, chunk])
    })
  })
  .listen(port, host)
