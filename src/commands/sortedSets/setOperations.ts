/**
 * ZUNION, ZINTER and ZDIFF over members already read, computed as redis-server 7.0 computes them
 * (t_zset.c zunionInterDiffGenericCommand), so even the floating-point corner cases agree: inputs
 * are visited from the smallest to the largest (a stable sort by size), a weighted score that is
 * NaN (0 × inf) counts as 0, and a SUM that is NaN (inf + -inf) is 0.
 */
import type { Aggregate, SetOperation } from "./arguments.js"
import type { Scored } from "./SortedSet.js"

export interface Input {
  /** The members with their scores (a plain set's members score 1); empty for a missing key. */
  readonly members: ReadonlyArray<Scored>
  readonly weight: number
}

const key = (member: Buffer): string => member.toString("latin1")

const aggregateInto = (target: number, value: number, aggregate: Aggregate): number => {
  switch (aggregate) {
    case "sum": {
      const sum = target + value
      return Number.isNaN(sum) ? 0 : sum
    }
    case "min":
      return value < target ? value : target
    case "max":
      return value > target ? value : target
  }
}

const weighted = (score: number, weight: number): number => {
  const value = weight * score
  return Number.isNaN(value) ? 0 : value
}

const bySize = (inputs: ReadonlyArray<Input>): Array<Input> => [...inputs].sort((a, b) => a.members.length - b.members.length)

const union = (inputs: ReadonlyArray<Input>, aggregate: Aggregate): Array<Scored> => {
  const result = new Map<string, { member: Buffer; score: number }>()
  for (const input of bySize(inputs)) {
    for (const { member, score } of input.members) {
      const value = weighted(score, input.weight)
      const existing = result.get(key(member))
      if (existing === undefined) result.set(key(member), { member, score: value })
      else existing.score = aggregateInto(existing.score, value, aggregate)
    }
  }
  return [...result.values()]
}

const intersection = (inputs: ReadonlyArray<Input>, aggregate: Aggregate, limit: number): Array<Scored> => {
  const [smallest, ...others] = bySize(inputs)
  const lookups = others.map((input) => ({ weight: input.weight, scores: new Map(input.members.map(({ member, score }) => [key(member), score])) }))
  const result: Array<Scored> = []
  for (const { member, score } of smallest.members) {
    let total = weighted(score, smallest.weight)
    let inAll = true
    for (const other of lookups) {
      const found = other.scores.get(key(member))
      if (found === undefined) {
        inAll = false
        break
      }
      // Redis multiplies here without the NaN rule (the aggregate applies its own).
      total = aggregateInto(total, found * other.weight, aggregate)
    }
    if (!inAll) continue
    result.push({ member, score: total })
    if (limit > 0 && result.length >= limit) break
  }
  return result
}

const difference = (inputs: ReadonlyArray<Input>): Array<Scored> => {
  const [first, ...others] = inputs
  const excluded = new Set<string>()
  for (const other of others) for (const { member } of other.members) excluded.add(key(member))
  return first.members.filter(({ member }) => !excluded.has(key(member)))
}

/** The members of the result, unordered; `limit` stops an intersection early (ZINTERCARD; 0: none). */
export const combine = (operation: SetOperation, inputs: ReadonlyArray<Input>, aggregate: Aggregate, limit = 0): Array<Scored> => {
  switch (operation) {
    case "union":
      return union(inputs, aggregate)
    case "inter":
      return intersection(inputs, aggregate, limit)
    case "diff":
      return difference(inputs)
  }
}

/** Redis's order: by score, then by member bytes (-0 and 0 are equal). */
export const byScoreThenMember = (a: Scored, b: Scored): number => (a.score < b.score ? -1 : a.score > b.score ? 1 : Buffer.compare(a.member, b.member))
