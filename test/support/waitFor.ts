/**
 * Bounded waiting for a condition: poll until it holds or fail with a description and the last
 * value or error seen. Tests never sleep for a fixed time and hope.
 */
export interface WaitOptions {
  readonly timeoutMs: number
  readonly intervalMs?: number
  /** What is awaited; a function is evaluated only on timeout (e.g. to include fresh logs). */
  readonly description: string | (() => string)
}

export const waitFor = async (condition: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> => {
  const deadline = Date.now() + options.timeoutMs
  let last: unknown = undefined
  for (;;) {
    try {
      if (await condition()) return
      last = "condition was false"
    } catch (error) {
      last = error
    }
    if (Date.now() >= deadline) {
      const description = typeof options.description === "function" ? options.description() : options.description
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${description} (last: ${String(last)})`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50))
  }
}
