/**
 * Asks other members which configuration they know to be committed, when this node cannot learn
 * it from a leader: while it waits to be added (started with --join: the answer tells its
 * transport where the members are, so it can answer the leader that adds it), and while it has
 * heard from no leader for a while (a removed node: the leader stopped talking to it as soon as
 * the change was made, so this is how it learns that it was removed). The answers go to the
 * RaftNode, which decides (Membership.provesRemoval).
 */
import { Effect, Queue } from "effect"
import { memberOf } from "../raft/Configuration.js"
import { Mailboxes } from "./Mailboxes.js"
import { NodeConfig } from "./NodeConfig.js"
import { NodeStatus } from "./NodeStatus.js"
import { Transport } from "./Transport.js"

/** Election timeouts without a leader before a member starts asking. */
const LEADERLESS_TIMEOUTS = 3

export const runMembershipWatch = Effect.gen(function* () {
  const config = yield* NodeConfig
  const status = yield* NodeStatus
  const transport = yield* Transport
  const { raft } = yield* Mailboxes
  const clock = yield* Effect.clock
  const electionMs = config.electionTicks * config.tickMs
  /** Since when this node has heard from no leader. */
  let leaderlessSince: number | undefined
  for (let first = true; ; first = false) {
    if (!first) yield* Effect.sleep(2 * electionMs)
    const now = clock.unsafeCurrentTimeMillis()
    const current = status.raft
    const joining = memberOf(current.configuration, config.id) === undefined
    // A leader this node still names but no longer hears from counts as none (a removed learner
    // never campaigns, so it never forgets the leader that stopped talking to it).
    const heard = current.leader === config.id ? now : status.lastHeard.get(current.leader)
    if (current.leader !== 0 && heard !== undefined && now - heard < electionMs) leaderlessSince = undefined
    else leaderlessSince ??= now
    const lost = leaderlessSince !== undefined && now - leaderlessSince >= LEADERLESS_TIMEOUTS * electionMs
    if (!joining && !lost) continue
    const observed = yield* transport.observeConfiguration
    if (observed !== undefined) yield* Queue.offer(raft, { _tag: "ConfigurationObserved", from: observed.from, committed: observed.committed })
  }
})
