/**
 * The cluster as this node knows it, for CLUSTER, ROLE and RAFT.NODES: the members of the
 * configuration in effect, where each serves clients (as it announced through the log; this node's
 * own from its flags), and whether each is reachable. Only the leader hears from every member; a
 * follower hears only from the leader, so it reports the others as reachable.
 */
import type { ClusterView } from "../commands/session.js"
import { advertisedAddress } from "./Announcer.js"
import type { NodeConfigValue } from "./NodeConfig.js"
import type { NodeStatusService } from "./NodeStatus.js"

export const clusterView = (config: NodeConfigValue, status: NodeStatusService, now: number): ClusterView => {
  const raft = status.raft
  const recent = 2 * config.electionTicks * config.tickMs
  const heardRecently = (id: number) => {
    const heard = status.lastHeard.get(id)
    return heard !== undefined && now - heard <= recent
  }
  return {
    self: config.id,
    leader: raft.leader,
    term: raft.term,
    appliedIndex: status.appliedIndex,
    members: raft.configuration.members.map((member) => ({
      id: member.id,
      suffrage: member.role,
      peerAddress: member.address,
      clientAddress: member.id === config.id ? advertisedAddress(config) : status.clientAddressOf(member.id),
      reachable: member.id === config.id || (raft.role === "leader" || member.id === raft.leader ? heardRecently(member.id) : true)
    }))
  }
}
