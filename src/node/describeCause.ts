/** One readable line for the operator out of whatever stopped the node. */
import { Cause } from "effect"

const describe = (value: unknown): string => {
  if (value instanceof Error) return value.message
  if (typeof value === "object" && value !== null && "message" in value) return String(value.message)
  return String(value)
}

export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failures = [...Cause.failures(cause), ...Cause.defects(cause)]
  return failures.length > 0 ? failures.map(describe).join("; ") : Cause.pretty(cause)
}
