/**
 * A small metrics registry and its rendering in the Prometheus text exposition format (0.0.4).
 * Hot paths update plain numbers synchronously (`Counter.inc`, `Histogram.observe`: no Effect, no
 * allocation); everything else is read when /metrics is scraped (`Family.collect`). Kept here
 * rather than in Effect's `Metric` module because updating an Effect metric is itself an Effect.
 */

export type MetricType = "counter" | "gauge" | "histogram"

/** Label names and values of one sample, in order. */
export type Labels = ReadonlyArray<readonly [string, string]>

export class Counter {
  value = 0
  inc(by = 1): void {
    this.value += by
  }
}

/** A histogram with explicit upper bounds (ascending); `+Inf` is implied. */
export class Histogram {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0
  constructor(readonly bounds: ReadonlyArray<number>) {
    this.counts = new Float64Array(bounds.length + 1)
  }
  observe(value: number): void {
    this.sum += value
    this.count++
    const bounds = this.bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.counts[i]++
        return
      }
    }
    this.counts[bounds.length]++
  }
}

/** Children of a labelled metric, one per value of its single label, made on first use. */
export class Labelled<T> {
  readonly children = new Map<string, T>()
  constructor(
    readonly label: string,
    private readonly make: () => T
  ) {}
  get(value: string): T {
    let child = this.children.get(value)
    if (child === undefined) {
      child = this.make()
      this.children.set(value, child)
    }
    return child
  }
}

export type SampleValue = number | Histogram

export interface Family {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  /** The samples now (histogram families give Histograms, the others numbers). */
  readonly collect: () => Iterable<readonly [Labels, SampleValue]>
}

const NO_LABELS: Labels = []

export const gauge = (name: string, help: string, read: () => number): Family => ({
  name,
  help,
  type: "gauge",
  collect: () => [[NO_LABELS, read()]]
})

/** A counter whose value is kept elsewhere (e.g. INFO's stats), read at scrape time. */
export const counterOf = (name: string, help: string, read: () => number): Family => ({
  name,
  help,
  type: "counter",
  collect: () => [[NO_LABELS, read()]]
})

export const counter = (name: string, help: string, value: Counter): Family => counterOf(name, help, () => value.value)

export const histogram = (name: string, help: string, value: Histogram): Family => ({
  name,
  help,
  type: "histogram",
  collect: () => [[NO_LABELS, value]]
})

/** A family with one label, from a Labelled set of counters or histograms (sorted by label value). */
export const labelled = <T extends Counter | Histogram>(name: string, help: string, type: MetricType, values: Labelled<T>): Family => ({
  name,
  help,
  type,
  collect: () =>
    [...values.children.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([value, child]) => [[[values.label, value]] as Labels, child instanceof Counter ? child.value : (child as Histogram)] as const)
})

// ---------------------------------------------------------------- the text format

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

export const escapeLabelValue = (text: string): string => text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

export const formatValue = (value: number): string => {
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const labelText = (labels: Labels): string =>
  labels.length === 0 ? "" : `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`

const renderHistogram = (name: string, labels: Labels, h: Histogram, lines: Array<string>): void => {
  let cumulative = 0
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]
    lines.push(`${name}_bucket${labelText([...labels, ["le", formatValue(h.bounds[i])]])} ${cumulative}`)
  }
  lines.push(`${name}_bucket${labelText([...labels, ["le", "+Inf"]])} ${h.count}`)
  lines.push(`${name}_sum${labelText(labels)} ${formatValue(h.sum)}`)
  lines.push(`${name}_count${labelText(labels)} ${h.count}`)
}

/** Every family as Prometheus text: HELP and TYPE, then its samples; ends with a newline. */
export const render = (families: Iterable<Family>): string => {
  const lines: Array<string> = []
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    lines.push(`# TYPE ${family.name} ${family.type}`)
    for (const [labels, value] of family.collect()) {
      if (typeof value === "number") lines.push(`${family.name}${labelText(labels)} ${formatValue(value)}`)
      else renderHistogram(family.name, labels, value, lines)
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}
