/**
 * Probes a node's /health over and over until told to stop, recording what each probe got: an
 * HTTP status (with the 503 reason), the port closed or reset, or nothing within 2 s. A load
 * balancer must never be left without an answer while a node stops.
 */
import { TEST_HOST } from "./testHost.js"

export interface HealthProbe {
  /** "200", "503 <reason>", "closed <code>" or "unanswered", in order. */
  readonly outcomes: ReadonlyArray<string>
  /** Stop probing; resolves once the probe in flight has its outcome. */
  readonly stop: () => Promise<ReadonlyArray<string>>
}

export const probeHealth = (port: number, maxProbes = 2_000): HealthProbe => {
  const outcomes: Array<string> = []
  let stopped = false
  const done = (async () => {
    for (let i = 0; i < maxProbes && !stopped; i++) {
      try {
        const response = await fetch(`http://${TEST_HOST}:${port}/health`, { signal: AbortSignal.timeout(2_000) })
        const text = await response.text()
        outcomes.push(response.status === 200 ? "200" : `${response.status} ${(JSON.parse(text) as { reason?: string }).reason ?? text}`)
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code
        outcomes.push((error as Error).name === "TimeoutError" ? "unanswered" : `closed ${code ?? (error as Error).message}`)
        // The port is gone for good once refused: no need to spin on it.
        if (code === "ECONNREFUSED") break
      }
    }
  })()
  return {
    outcomes,
    stop: async () => {
      stopped = true
      await done
      return outcomes
    }
  }
}
