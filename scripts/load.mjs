#!/usr/bin/env node
/**
 * A small load generator for what redis-benchmark cannot express: a request made of several
 * commands answered together, such as MULTI/SET/SET/SET/EXEC. Each of --clients connections sends
 * one request, waits for all its replies, and sends the next, until --requests requests are done.
 * Prints one JSON line: requests/s and the p50/p99 latency of a request in ms.
 *
 *   node scripts/load.mjs --port 6379 [--host 127.0.0.1] [--clients 50] [--requests 20000]
 *        [--multi] -- SET key:__rand_int__ value EX 100 [-- SET other:__rand_int__ x ...]
 *
 * Commands are separated by `--`; `__rand_int__` becomes a random number below --keyspace
 * (default 100000), as in redis-benchmark. With --multi the commands are wrapped in MULTI ... EXEC
 * (one request = MULTI, the commands, EXEC). An error reply stops the run with status 1.
 */
import * as net from "node:net"
import RedisParser from "redis-parser"

const args = process.argv.slice(2)
const split = args.indexOf("--")
const options = split < 0 ? args : args.slice(0, split)
const flag = (name, fallback) => {
  const i = options.indexOf(`--${name}`)
  return i >= 0 && options[i + 1] !== undefined ? options[i + 1] : fallback
}
const host = flag("host", "127.0.0.1")
const port = Number(flag("port", "6379"))
const clients = Number(flag("clients", "50"))
const total = Number(flag("requests", "20000"))
const keyspace = Number(flag("keyspace", "100000"))
const multi = options.includes("--multi")

const commands = []
let current = []
for (const word of split < 0 ? [] : args.slice(split + 1)) {
  if (word === "--") {
    if (current.length > 0) commands.push(current)
    current = []
  } else current.push(word)
}
if (current.length > 0) commands.push(current)
if (commands.length === 0) {
  process.stderr.write("load: no command given (put it after --)\n")
  process.exit(2)
}
const request = multi ? [["MULTI"], ...commands, ["EXEC"]] : commands

const encode = (argv) => {
  const parts = [`*${argv.length}\r\n`]
  for (const arg of argv) {
    const value = arg.replaceAll("__rand_int__", () => String(Math.floor(Math.random() * keyspace)).padStart(12, "0"))
    parts.push(`$${Buffer.byteLength(value)}\r\n${value}\r\n`)
  }
  return parts.join("")
}

let started = 0
let finished = 0
const latencies = []
const begin = process.hrtime.bigint()

const runClient = () =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    socket.setNoDelay(true)
    let waiting = 0
    let sentAt = 0n
    const next = () => {
      if (started >= total) {
        socket.end()
        return resolve()
      }
      started++
      waiting = request.length
      sentAt = process.hrtime.bigint()
      socket.write(request.map(encode).join(""))
    }
    const parser = new RedisParser({
      returnReply: () => {
        if (--waiting > 0) return
        latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6)
        finished++
        next()
      },
      returnError: (error) => {
        socket.destroy()
        reject(new Error(`error reply: ${error.message}`))
      }
    })
    socket.on("connect", next)
    socket.on("data", (chunk) => parser.execute(chunk))
    socket.on("error", reject)
  })

try {
  await Promise.all(Array.from({ length: clients }, runClient))
} catch (error) {
  process.stderr.write(`load: ${error.message}\n`)
  process.exit(1)
}
const seconds = Number(process.hrtime.bigint() - begin) / 1e9
latencies.sort((a, b) => a - b)
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
console.log(JSON.stringify({ requests: finished, rps: Math.round(finished / seconds), p50: Number(at(0.5).toFixed(3)), p99: Number(at(0.99).toFixed(3)) }))
