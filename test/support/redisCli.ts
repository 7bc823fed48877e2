/** The real `redis-cli`, as a user would run it, with a timeout so a hung server fails the test. */
import { execFile } from "node:child_process"
import { TEST_HOST } from "./testHost.js"

export const redisCli = (port: number, ...args: Array<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile("redis-cli", ["-h", TEST_HOST, "-p", String(port), ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli -p ${port} ${args.join(" ")} failed: ${error.message} ${stderr}`))
      else resolve(stdout.replace(/\n+$/, ""))
    })
  })

/** The real `redis-cli` reading commands from stdin (a transaction piped in, as a user would). */
export const redisCliInput = (port: number, input: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = execFile("redis-cli", ["-h", TEST_HOST, "-p", String(port)], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli -p ${port} < input failed: ${error.message} ${stderr}`))
      else resolve(stdout.replace(/\n+$/, ""))
    })
    child.stdin?.end(input)
  })

/** INFO's "key:value" lines as a record; `options` go to redis-cli first (e.g. --tls, --user, --pass). */
export const info = async (port: number, section = "raft", options: ReadonlyArray<string> = []): Promise<Record<string, string>> => {
  const text = await redisCli(port, ...options, "INFO", section)
  const fields: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return fields
}
