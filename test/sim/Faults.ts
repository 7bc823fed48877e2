/**
 * Faults as typed values: a plan is a list of them, each at a simulated time (ms from the start).
 * Plans come from a seed (`randomPlan`) or are written by hand in a test; being Schema values,
 * they can also be read from JSON (`npm run sim -- --plan file.json`).
 */
import { Schema } from "effect"

const At = { at: Schema.NonNegativeInt }
const Node = Schema.Int.pipe(Schema.positive())

/** Nodes in different groups cannot reach each other (both directions). */
export class Partition extends Schema.TaggedClass<Partition>()("Partition", {
  ...At,
  groups: Schema.Array(Schema.Array(Node))
}) {}

/** `from` can no longer reach `to`; the other direction still works. */
export class OneWayCut extends Schema.TaggedClass<OneWayCut>()("OneWayCut", { ...At, from: Node, to: Node }) {}

/** Every cut and every degraded link is repaired. */
export class Heal extends Schema.TaggedClass<Heal>()("Heal", At) {}

/** The node's process dies: unsynced writes are lost, the last one may be torn. */
export class Crash extends Schema.TaggedClass<Crash>()("Crash", { ...At, node: Node }) {}

/** A crashed (or fail-stopped) node starts again from what its disk kept. */
export class Restart extends Schema.TaggedClass<Restart>()("Restart", { ...At, node: Node }) {}

/** Whichever node leads at that moment crashes, and restarts `downMs` later. */
export class CrashLeader extends Schema.TaggedClass<CrashLeader>()("CrashLeader", { ...At, downMs: Schema.NonNegativeInt }) {}

/** The leader of the highest term is cut off from every other node; every other link is healed. */
export class IsolateLeader extends Schema.TaggedClass<IsolateLeader>()("IsolateLeader", At) {}

/** The node crashes and restarts `downMs` later (short outages in the middle of elections). */
export class Bounce extends Schema.TaggedClass<Bounce>()("Bounce", { ...At, node: Node, downMs: Schema.NonNegativeInt }) {}

/** A lossy, slow, duplicating link from `from` to `to`. */
export class LinkFault extends Schema.TaggedClass<LinkFault>()("LinkFault", {
  ...At,
  from: Node,
  to: Node,
  drop: Schema.Number.pipe(Schema.between(0, 1)),
  delayMin: Schema.NonNegativeInt,
  delayMax: Schema.NonNegativeInt,
  duplicate: Schema.Number.pipe(Schema.between(0, 1))
}) {}

/** The node's disk becomes slow to fsync, or fails fsyncs (the node must stop, not lie). */
export class DiskFault extends Schema.TaggedClass<DiskFault>()("DiskFault", {
  ...At,
  node: Node,
  fsyncLatencyMs: Schema.NonNegativeInt,
  failFsync: Schema.Boolean
}) {}

/**
 * A membership change asked of a random live node (which forwards it to the leader if it is not
 * the leader), through the node's real administration path. Targets are chosen when it happens,
 * from the leader's configuration: a fresh spare node (started with --join) to add, a learner to
 * promote, a member other than the leader to remove, or the leader itself.
 */
export class ChangeMembership extends Schema.TaggedClass<ChangeMembership>()("ChangeMembership", {
  ...At,
  change: Schema.Literal("add-learner", "add-voter", "promote", "remove", "remove-leader")
}) {}

/** RAFT.TRANSFER_LEADER asked of a random live node: to a random voter, or (`anyVoter`) to the most caught-up one. */
export class TransferLeadership extends Schema.TaggedClass<TransferLeadership>()("TransferLeadership", { ...At, anyVoter: Schema.Boolean }) {}

/** A running node chosen when it happens (founder or joined) crashes, and restarts `downMs` later. */
export class BounceAny extends Schema.TaggedClass<BounceAny>()("BounceAny", { ...At, downMs: Schema.NonNegativeInt }) {}

/** A running node chosen when it happens is cut off from every other node (the other links are healed). */
export class IsolateAny extends Schema.TaggedClass<IsolateAny>()("IsolateAny", At) {}

export const Fault = Schema.Union(
  Partition, OneWayCut, Heal, Crash, Restart, CrashLeader, IsolateLeader, Bounce, LinkFault, DiskFault,
  ChangeMembership, TransferLeadership, BounceAny, IsolateAny
)
export type Fault = typeof Fault.Type
export const FaultPlan = Schema.Array(Fault)

export const describeFault = (fault: Fault): string => {
  switch (fault._tag) {
    case "Partition":
      return `partition ${fault.groups.map((group) => `{${group.join(",")}}`).join(" | ")}`
    case "OneWayCut":
      return `cut ${fault.from}→${fault.to} (one way)`
    case "Heal":
      return "heal every link"
    case "Crash":
      return `crash node ${fault.node}`
    case "Restart":
      return `restart node ${fault.node}`
    case "CrashLeader":
      return `crash the leader, restart it ${fault.downMs} ms later`
    case "IsolateLeader":
      return "cut the leader off from every other node (and heal the rest)"
    case "Bounce":
      return `crash node ${fault.node}, restart it ${fault.downMs} ms later`
    case "LinkFault":
      return `link ${fault.from}→${fault.to}: drop ${fault.drop.toFixed(2)}, delay ${fault.delayMin}-${fault.delayMax} ms, duplicate ${fault.duplicate.toFixed(2)}`
    case "DiskFault":
      return `disk of node ${fault.node}: fsync ${fault.failFsync ? "fails" : `takes ${fault.fsyncLatencyMs} ms`}`
    case "ChangeMembership":
      return `membership change: ${fault.change}`
    case "TransferLeadership":
      return `transfer leadership${fault.anyVoter ? " to the most caught-up voter" : " to a random voter"}`
    case "BounceAny":
      return `crash a running node, restart it ${fault.downMs} ms later`
    case "IsolateAny":
      return "cut a running node off from every other node (and heal the rest)"
  }
}

export interface PlanOptions {
  readonly nodes: number
  /** Faults are scheduled in [0, durationMs); the simulation heals everything afterwards. */
  readonly durationMs: number
  /** Mean simulated time between two faults. */
  readonly meanGapMs?: number
  /**
   * "mixed" (default): partitions, crashes, lossy links, disk faults. "elections": frequent
   * leader crashes and short outages, to stress elections, log repair and durability of votes.
   * "membership": nodes added (as learners, then promoted, or directly as voters) and removed (the
   * leader too) and leadership transferred, while nodes crash and are cut off and links lose,
   * delay and duplicate messages.
   */
  readonly profile?: Profile
}

export type Profile = "mixed" | "elections" | "membership"

/** A seeded mix of partitions, crashes (with torn writes), lossy links and disk faults. */
export const randomPlan = (random: () => number, options: PlanOptions): Array<Fault> =>
  options.profile === "elections" ? electionsPlan(random, options) : options.profile === "membership" ? membershipPlan(random, options) : mixedPlan(random, options)

const membershipPlan = (random: () => number, options: PlanOptions): Array<Fault> => {
  const plan: Array<Fault> = []
  const gap = options.meanGapMs ?? 350
  // Changes in a sensible order on the whole (a learner before its promotion), faults in between.
  const cycle: ReadonlyArray<ChangeMembership["change"]> = ["add-learner", "promote", "remove", "add-voter", "remove-leader", "add-learner", "promote", "remove"]
  let step = Math.floor(random() * cycle.length)
  for (let at = 200 + Math.floor(random() * gap); at < options.durationMs; at += Math.floor(gap / 2 + random() * gap)) {
    const r = random()
    if (r < 0.45) plan.push(new ChangeMembership({ at, change: cycle[step++ % cycle.length] }))
    else if (r < 0.55) plan.push(new TransferLeadership({ at, anyVoter: random() < 0.5 }))
    else if (r < 0.67) plan.push(new BounceAny({ at, downMs: 20 + Math.floor(random() * 400) }))
    else if (r < 0.72) plan.push(new CrashLeader({ at, downMs: 30 + Math.floor(random() * 300) }))
    else if (r < 0.8) plan.push(new IsolateAny({ at }))
    else if (r < 0.92) {
      const from = 1 + Math.floor(random() * options.nodes)
      const to = 1 + ((from + Math.floor(random() * (options.nodes - 1))) % options.nodes)
      const delayMin = Math.floor(random() * 10)
      plan.push(new LinkFault({ at, from, to, drop: random() * 0.4, delayMin, delayMax: delayMin + Math.floor(random() * 50), duplicate: random() * 0.2 }))
    } else plan.push(new Heal({ at }))
  }
  return plan
}

const electionsPlan = (random: () => number, options: PlanOptions): Array<Fault> => {
  const plan: Array<Fault> = []
  const ids = Array.from({ length: options.nodes }, (_, i) => i + 1)
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]
  const gap = options.meanGapMs ?? 250
  for (let at = 200 + Math.floor(random() * gap); at < options.durationMs; at += Math.floor(gap / 2 + random() * gap)) {
    const r = random()
    if (r < 0.35) plan.push(new CrashLeader({ at, downMs: 30 + Math.floor(random() * 300) }))
    else if (r < 0.65) plan.push(new Bounce({ at, node: pick(ids), downMs: 10 + Math.floor(random() * 150) }))
    else if (r < 0.78) {
      // A slow link: requests and votes that arrive late, after the world moved on.
      const from = pick(ids)
      const delayMin = 5 + Math.floor(random() * 40)
      plan.push(new LinkFault({ at, from, to: pick(ids.filter((id) => id !== from)), drop: 0, delayMin, delayMax: delayMin + Math.floor(random() * 100), duplicate: 0 }))
    } else if (r < 0.9) {
      const isolated = pick(ids)
      plan.push(new Partition({ at, groups: [[isolated], ids.filter((id) => id !== isolated)] }))
    } else plan.push(new Heal({ at }))
  }
  return plan
}

const mixedPlan = (random: () => number, options: PlanOptions): Array<Fault> => {
  const plan: Array<Fault> = []
  const ids = Array.from({ length: options.nodes }, (_, i) => i + 1)
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]
  const down = new Set<number>()
  const maxDown = Math.floor((options.nodes - 1) / 2)
  const gap = options.meanGapMs ?? 800
  for (let at = 300 + Math.floor(random() * gap); at < options.durationMs; at += Math.floor(gap / 2 + random() * gap)) {
    const r = random()
    if (r < 0.2) {
      const isolated = pick(ids)
      plan.push(new Partition({ at, groups: [[isolated], ids.filter((id) => id !== isolated)] }))
    } else if (r < 0.28) {
      const from = pick(ids)
      plan.push(new OneWayCut({ at, from, to: pick(ids.filter((id) => id !== from)) }))
    } else if (r < 0.42) {
      plan.push(new Heal({ at }))
    } else if (r < 0.6 && down.size < maxDown) {
      const node = pick(ids.filter((id) => !down.has(id)))
      down.add(node)
      plan.push(new Crash({ at, node }))
    } else if (r < 0.72 && down.size > 0) {
      const node = pick([...down])
      down.delete(node)
      plan.push(new Restart({ at, node }))
    } else if (r < 0.9) {
      const from = pick(ids)
      const delayMin = Math.floor(random() * 10)
      plan.push(new LinkFault({
        at, from, to: pick(ids.filter((id) => id !== from)),
        drop: random() * 0.5, delayMin, delayMax: delayMin + Math.floor(random() * 60), duplicate: random() * 0.2
      }))
    } else {
      const failFsync = random() < 0.3
      plan.push(new DiskFault({ at, node: pick(ids), fsyncLatencyMs: failFsync ? 0 : Math.floor(random() * 30), failFsync }))
    }
  }
  return plan
}
