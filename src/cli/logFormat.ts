/**
 * --log-format: text is logfmt, one line per event (`timestamp=… level=INFO fiber=#12 message="…"
 * key=value …`, the annotations as key=value); json is one JSON object per line with time, level,
 * message, every annotation as a field of its own, the log spans (in ms) and a failure's cause.
 * Either replaces the logger of the runtime (runCli turns @effect/platform's pretty logger off:
 * it spreads annotations over several lines).
 */
import { Cause, FiberId, HashMap, List, Logger } from "effect"
import type { LogFormat } from "./observabilityFlags.js"

const messageText = (message: unknown): string =>
  Array.isArray(message) ? message.map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(" ") : typeof message === "string" ? message : JSON.stringify(message)

/** One log line as a JSON object (without the newline). */
export const jsonLine: Logger.Logger<unknown, string> = Logger.make(({ annotations, cause, date, fiberId, logLevel, message, spans }) => {
  const line: Record<string, unknown> = {}
  for (const [key, value] of HashMap.toEntries(annotations)) line[key] = value
  line.time = date.toISOString()
  line.level = logLevel.label
  line.message = messageText(message)
  line.fiber = FiberId.threadName(fiberId)
  if (List.isCons(spans)) {
    const now = date.getTime()
    const timings: Record<string, number> = {}
    for (const span of spans) timings[span.label] = now - span.startTime
    line.spans = timings
  }
  if (!Cause.isEmpty(cause)) line.cause = Cause.pretty(cause, { renderErrorCause: true })
  return JSON.stringify(line)
})

/** The Layer that installs the logger for `format`. */
export const loggerFor = (format: LogFormat | undefined) =>
  Logger.replace(Logger.defaultLogger, Logger.withConsoleLog(format === "json" ? jsonLine : Logger.logfmtLogger))
