/**
 * GET /health, for load balancers and orchestrators: healthy when this node is a member, knows a
 * leader and has applied nearly everything it knows to be committed. A pure decision, so the
 * contract is unit-tested apart from the HTTP server.
 */

export interface HealthInput {
  readonly leader: number
  readonly term: number
  readonly commitIndex: number
  readonly appliedIndex: number
  /** Whether the committed configuration includes this node. */
  readonly member: boolean
  /** Set once the node stops (SIGTERM, removed from the cluster). */
  readonly stopping: boolean
  /** The most entries applied may lag commit by and still be healthy (--health-max-apply-lag). */
  readonly maxApplyLag: number
}

export type HealthAnswer =
  | { readonly status: 200; readonly body: { readonly health: "true"; readonly leader: number; readonly term: number; readonly commitIndex: number; readonly appliedIndex: number } }
  | { readonly status: 503; readonly body: { readonly health: "false"; readonly reason: string } }

const unhealthy = (reason: string): HealthAnswer => ({ status: 503, body: { health: "false", reason } })

export const health = (input: HealthInput): HealthAnswer => {
  if (input.stopping) return unhealthy("stopping")
  if (!input.member) return unhealthy("not a member of the cluster")
  if (input.leader === 0) return unhealthy("no leader")
  const behind = input.commitIndex - input.appliedIndex
  if (behind > input.maxApplyLag) return unhealthy(`applied index ${input.appliedIndex} is ${behind} entries behind commit`)
  return {
    status: 200,
    body: { health: "true", leader: input.leader, term: input.term, commitIndex: input.commitIndex, appliedIndex: input.appliedIndex }
  }
}
