/**
 * `npm run sim -- [--seeds N] [--from S] [--seed S] [--nodes 3] [--duration-ms 10000]
 *                 [--plan plan.json] [--profile mixed|elections|membership]
 *                 [--bug commitEarlierTermsByCounting|configChangeBeforeCommitInTerm|forgetVote|acknowledgeBeforeFsync]
 *                 [--read-mode linearizable|lease|stale] [--drift-percent P] [--trace]`
 *
 * Runs simulations seed after seed and prints every failing seed with its first violation;
 * `--seed S --trace` replays one seed and prints the trace before the violation. Exit status 1
 * if any seed failed.
 */
import * as fs from "node:fs"
import { Schema } from "effect"
import { FaultPlan } from "./Faults.js"
import { runSimulation, type SimulationOptions } from "./Simulation.js"

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const number = (name: string, fallback: number) => {
  const value = flag(name)
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`sim: --${name} must be a whole number, got '${value}'`)
    process.exit(2)
  }
  return n
}

const single = flag("seed")
const from = single !== undefined ? number("seed", 1) : number("from", 1)
const seeds = single !== undefined ? 1 : number("seeds", 100)
const bug = flag("bug") as keyof NonNullable<SimulationOptions["bugs"]> | undefined
if (bug !== undefined && !["commitEarlierTermsByCounting", "configChangeBeforeCommitInTerm", "forgetVote", "acknowledgeBeforeFsync"].includes(bug)) {
  console.error(`sim: unknown --bug ${bug}`)
  process.exit(2)
}
const planFile = flag("plan")
const plan = planFile === undefined ? undefined : Schema.decodeUnknownSync(FaultPlan)(JSON.parse(fs.readFileSync(planFile, "utf8")))
const showTrace = args.includes("--trace")
const readMode = flag("read-mode")
if (readMode !== undefined && !["linearizable", "lease", "stale"].includes(readMode)) {
  console.error(`sim: --read-mode must be linearizable, lease or stale`)
  process.exit(2)
}
const drift = number("drift-percent", 0) / 100

let failed = 0
const started = Date.now()
for (let seed = from; seed < from + seeds; seed++) {
  const result = runSimulation({
    seed,
    nodes: number("nodes", 3),
    durationMs: number("duration-ms", 10_000),
    ...(flag("profile") !== undefined ? { profile: flag("profile") as "mixed" | "elections" | "membership" } : {}),
    ...(plan !== undefined ? { plan } : {}),
    ...(bug !== undefined ? { bugs: { [bug]: true } } : {}),
    ...(readMode !== undefined ? { readMode: readMode as "linearizable" | "lease" | "stale" } : {}),
    ...(drift > 0 ? { drift } : {})
  })
  if (!result.ok) {
    failed++
    console.log(`seed ${seed} FAILED: ${result.violations[0]}`)
    if (showTrace) console.log(`--- trace before the violation (seed ${seed}) ---\n${result.trace.join("\n")}\n--- end of trace ---`)
  } else if (seeds === 1 || showTrace) {
    console.log(`seed ${seed} ok: ${JSON.stringify(result.stats)}`)
    if (showTrace) console.log(result.trace.join("\n"))
  }
  if (seeds > 1 && (seed - from + 1) % 100 === 0) {
    console.error(`… ${seed - from + 1}/${seeds} seeds, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`)
  }
}
console.log(`${seeds - failed}/${seeds} seeds passed (seeds ${from}..${from + seeds - 1}${bug !== undefined ? `, injected bug: ${bug}` : ""}) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(failed > 0 ? 1 : 0)
