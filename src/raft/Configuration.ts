/**
 * Cluster membership as plain data: who the members are, which of them vote, and an opaque
 * address the node layer uses to reach each one. The core only stores the address.
 *
 * A configuration travels in the log as an entry of kind `EntryKind.Config` whose payload is the
 * whole new configuration (not the change that produced it), so the configuration at any index is
 * simply the newest configuration entry at or before it, or the snapshot's (or the initial one)
 * when there is none. The WAL and snapshots therefore carry it with no special records: entries
 * are entries, and a snapshot's metadata holds the configuration as of its index.
 *
 *   payload = u8 version (1) | u16 count | count × (u16 id | u8 role (1 voter, 2 learner) | u16 length | address, UTF-8)
 *
 * Members are stored in ascending id order (checked on decode), so equal configurations have
 * equal bytes.
 */
import { EntryKind, type NodeId } from "./types.js"

export type MemberRole = "voter" | "learner"

export interface Member {
  /** 1..65535 (ids are u16 on the peer wire; 0 means "none"). */
  readonly id: NodeId
  readonly role: MemberRole
  /** Opaque to the core: where the node layer reaches this member (e.g. "host:port"). */
  readonly address: string
}

export interface Configuration {
  /** Ascending by id, ids unique. */
  readonly members: ReadonlyArray<Member>
}

/** A node that has not learned any configuration yet (e.g. one started to join a cluster). */
export const EMPTY_CONFIGURATION: Configuration = { members: [] }

export const MAX_NODE_ID = 0xffff
export const MAX_ADDRESS_BYTES = 0xffff

const FORMAT_VERSION = 1
const ROLE_CODE: Record<MemberRole, number> = { voter: 1, learner: 2 }

const isValidId = (id: number) => Number.isInteger(id) && id >= 1 && id <= MAX_NODE_ID

/** A configuration from members in any order; throws on an invalid or duplicate id. */
export const makeConfiguration = (members: Iterable<Member>): Configuration => {
  const sorted = [...members].sort((a, b) => a.id - b.id)
  for (let i = 0; i < sorted.length; i++) {
    if (!isValidId(sorted[i].id)) throw new Error(`raft: invalid member id ${sorted[i].id}`)
    if (i > 0 && sorted[i].id === sorted[i - 1].id) throw new Error(`raft: member ${sorted[i].id} listed twice`)
  }
  return { members: sorted }
}

/** Every id a voter (the shape of a cluster started from a `--cluster` list). */
export const votersConfiguration = (ids: ReadonlyArray<NodeId>, addressOf: (id: NodeId) => string = () => ""): Configuration =>
  makeConfiguration(ids.map((id) => ({ id, role: "voter" as const, address: addressOf(id) })))

export const memberOf = (config: Configuration, id: NodeId): Member | undefined => config.members.find((m) => m.id === id)

export const isVoter = (config: Configuration, id: NodeId): boolean => memberOf(config, id)?.role === "voter"

export const voterIds = (config: Configuration): Array<NodeId> => config.members.filter((m) => m.role === "voter").map((m) => m.id)

export const learnerIds = (config: Configuration): Array<NodeId> => config.members.filter((m) => m.role === "learner").map((m) => m.id)

export const sameConfiguration = (a: Configuration, b: Configuration): boolean =>
  a.members.length === b.members.length &&
  a.members.every((m, i) => m.id === b.members[i].id && m.role === b.members[i].role && m.address === b.members[i].address)

/** For logs and test transcripts: "voters 1 2 3, learners 4". */
export const describeConfiguration = (config: Configuration): string => {
  const voters = voterIds(config)
  const learners = learnerIds(config)
  const parts = [`voters ${voters.length > 0 ? voters.join(" ") : "(none)"}`]
  if (learners.length > 0) parts.push(`learners ${learners.join(" ")}`)
  return parts.join(", ")
}

// ---------------------------------------------------------------- changes

/** One membership change: the only kind the leader proposes (one server at a time). */
export type ConfigChange =
  | { readonly type: "add-voter"; readonly id: NodeId; readonly address: string }
  | { readonly type: "add-learner"; readonly id: NodeId; readonly address: string }
  /** A learner becomes a voter (refused by the leader while it is far behind). */
  | { readonly type: "promote"; readonly id: NodeId }
  /** A voter or learner leaves. Removing the leader makes it step down once the change commits. */
  | { readonly type: "remove"; readonly id: NodeId }

export type ConfigChangeRefusal =
  /** Only the leader proposes changes; `status().leader` says where to go (0: none known). */
  | "not-leader"
  /** The leader is handing leadership over (transferLeader): retry with the new leader. */
  | "transferring"
  /** A new leader has not committed an entry of its own term yet (Raft dissertation §4.1's fix): retry shortly. */
  | "not-ready"
  /** A configuration entry is in the log but not committed yet: one change at a time. */
  | "change-pending"
  | "invalid-id"
  | "invalid-address"
  /** Adding an id that is already a member (voter or learner). */
  | "id-in-use"
  /** Promoting or removing an id that is not a member. */
  | "unknown-id"
  /** Promoting a member that already votes. */
  | "already-voter"
  /** Removing the only voter would leave nobody to elect a leader or commit anything. */
  | "last-voter"
  /** Promoting a learner whose log is more than `maxPromotionLag` entries behind the leader's. */
  | "learner-behind"

export type ChangeOutcome =
  | { readonly ok: true; readonly configuration: Configuration }
  | { readonly ok: false; readonly reason: ConfigChangeRefusal; readonly message: string }

const refuse = (reason: ConfigChangeRefusal, message: string): ChangeOutcome => ({ ok: false, reason, message })

/**
 * The configuration `change` leads to from `config`, or why it is absurd in itself. (What also
 * depends on the leader's state, such as a pending change or a learner's lag, is checked by the
 * core.)
 */
export const applyChange = (config: Configuration, change: ConfigChange): ChangeOutcome => {
  if (!isValidId(change.id)) return refuse("invalid-id", `node id must be an integer in 1..${MAX_NODE_ID}, got ${change.id}`)
  const existing = memberOf(config, change.id)
  switch (change.type) {
    case "add-voter":
    case "add-learner": {
      if (existing !== undefined) return refuse("id-in-use", `node ${change.id} is already a ${existing.role}`)
      if (new TextEncoder().encode(change.address).length > MAX_ADDRESS_BYTES) {
        return refuse("invalid-address", `the address of node ${change.id} is longer than ${MAX_ADDRESS_BYTES} bytes`)
      }
      const role = change.type === "add-voter" ? "voter" : "learner"
      return { ok: true, configuration: makeConfiguration([...config.members, { id: change.id, role, address: change.address }]) }
    }
    case "promote": {
      if (existing === undefined) return refuse("unknown-id", `node ${change.id} is not a member`)
      if (existing.role === "voter") return refuse("already-voter", `node ${change.id} is already a voter`)
      return { ok: true, configuration: makeConfiguration(config.members.map((m) => (m.id === change.id ? { ...m, role: "voter" as const } : m))) }
    }
    case "remove": {
      if (existing === undefined) return refuse("unknown-id", `node ${change.id} is not a member`)
      if (existing.role === "voter" && voterIds(config).length === 1) return refuse("last-voter", `node ${change.id} is the last voter`)
      return { ok: true, configuration: makeConfiguration(config.members.filter((m) => m.id !== change.id)) }
    }
  }
}

// ---------------------------------------------------------------- codec

export const encodeConfiguration = (config: Configuration): Uint8Array => {
  const encoder = new TextEncoder()
  const addresses = config.members.map((m) => encoder.encode(m.address))
  let size = 1 + 2
  for (const address of addresses) size += 2 + 1 + 2 + address.length
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  out[0] = FORMAT_VERSION
  view.setUint16(1, config.members.length)
  let o = 3
  config.members.forEach((member, i) => {
    const address = addresses[i]
    if (address.length > MAX_ADDRESS_BYTES) throw new Error(`raft: the address of node ${member.id} is too long`)
    view.setUint16(o, member.id)
    out[o + 2] = ROLE_CODE[member.role]
    view.setUint16(o + 3, address.length)
    out.set(address, o + 5)
    o += 5 + address.length
  })
  return out
}

/** The configuration in a Config entry's payload; undefined when the bytes are not a valid one. */
export const decodeConfiguration = (bytes: Uint8Array): Configuration | undefined => {
  if (bytes.length < 3 || bytes[0] !== FORMAT_VERSION) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const decoder = new TextDecoder("utf-8", { fatal: true })
  const count = view.getUint16(1)
  const members: Array<Member> = []
  let o = 3
  for (let i = 0; i < count; i++) {
    if (o + 5 > bytes.length) return undefined
    const id = view.getUint16(o)
    const roleCode = bytes[o + 2]
    const length = view.getUint16(o + 3)
    o += 5
    if (o + length > bytes.length) return undefined
    if (id === 0 || (members.length > 0 && id <= members[members.length - 1].id)) return undefined
    const role: MemberRole | undefined = roleCode === 1 ? "voter" : roleCode === 2 ? "learner" : undefined
    if (role === undefined) return undefined
    let address: string
    try {
      address = decoder.decode(bytes.subarray(o, o + length))
    } catch {
      return undefined
    }
    members.push({ id, role, address })
    o += length
  }
  if (o !== bytes.length) return undefined
  return { members }
}

/**
 * The configuration after `entries` (ascending, contiguous) starting from `base`: the newest
 * Config entry's, or `base` when they hold none. What a state machine applying committed entries
 * (and a snapshot taken of it) tracks; throws on a malformed Config entry.
 */
export const configurationAfter = (
  base: Configuration,
  entries: ReadonlyArray<{ readonly index: number; readonly kind: number; readonly data: Uint8Array }>
): Configuration => {
  for (let i = entries.length - 1; i >= 0; i--) {
    if (entries[i].kind !== EntryKind.Config) continue
    const config = decodeConfiguration(entries[i].data)
    if (config === undefined) throw new Error(`raft: configuration entry ${entries[i].index} is malformed`)
    return config
  }
  return base
}
