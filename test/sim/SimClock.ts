/**
 * Simulated time: an Effect `Clock` whose `sleep` registers a timer the simulation fires when it
 * moves time forward. It plays TestClock's role; TestClock itself cannot be used here because
 * `TestClock.adjust` lets woken fibers run by yielding to the real event loop (setTimeout),
 * while the simulation runs every fiber on a scheduler it steps itself.
 */
import { Clock, Duration, Effect } from "effect"

interface Timer {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
  cancelled: boolean
}

export class SimClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  /** Simulated epoch milliseconds. */
  now = 1_750_000_000_000
  private timers: Array<Timer> = []
  private seq = 0

  unsafeCurrentTimeMillis(): number {
    return this.now
  }
  readonly currentTimeMillis = Effect.sync(() => this.now)
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(this.now) * 1_000_000n
  }
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.DurationInput): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const timer: Timer = { at: this.now + Math.max(0, Duration.toMillis(duration)), seq: this.seq++, wake: () => resume(Effect.void), cancelled: false }
      // Keep timers ordered by (at, seq): equal deadlines fire in the order they were set.
      let i = this.timers.length
      while (i > 0 && this.timers[i - 1].at > timer.at) i--
      this.timers.splice(i, 0, timer)
      return Effect.sync(() => {
        timer.cancelled = true
      })
    })
  }

  /** When the next live timer fires, if any. */
  nextTimer(): number | undefined {
    while (this.timers.length > 0 && this.timers[0].cancelled) this.timers.shift()
    return this.timers[0]?.at
  }

  /** Wake every timer due by now, in order. */
  fireDue(): void {
    while (this.timers.length > 0 && this.timers[0].at <= this.now) {
      const timer = this.timers.shift()!
      if (!timer.cancelled) timer.wake()
    }
  }
}
