/**
 * One node's view of simulated time when its clock runs fast or slow: time advances at `rate`
 * times the simulation's, and a sleep of d (the node's ticks, its timeouts) lasts d / rate of
 * simulated time. Lease reads are only as safe as the bound on this drift (docs/architecture.md,
 * "Read modes"); the simulation draws each node's rate from the seed.
 */
import { Clock, Duration, Effect } from "effect"
import type { SimClock } from "./SimClock.js"

export class DriftingClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private readonly origin: number

  constructor(
    private readonly base: SimClock,
    readonly rate: number
  ) {
    this.origin = base.now
  }

  unsafeCurrentTimeMillis(): number {
    return Math.floor(this.origin + (this.base.now - this.origin) * this.rate)
  }
  readonly currentTimeMillis = Effect.sync(() => this.unsafeCurrentTimeMillis())
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(this.unsafeCurrentTimeMillis()) * 1_000_000n
  }
  readonly currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.DurationInput): Effect.Effect<void> {
    return this.base.sleep(Duration.millis(Duration.toMillis(duration) / this.rate))
  }
}
