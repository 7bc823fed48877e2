/**
 * Cluster administration as data: what an operator asks (RAFT.NODE ADD/PROMOTE/REMOVE,
 * RAFT.TRANSFER_LEADER, RAFT.NODES, and the leader transfer a stopping leader makes), what comes
 * back, and how a follower forwards a request to the leader over the peer connection (the payload
 * is JSON decoded through a Schema: admin messages are rare and tiny, and the peer connection is
 * authenticated like every other).
 */
import { Either, Schema } from "effect"
import type { ConfigChange } from "../raft/Configuration.js"
import type { NodeId } from "../raft/types.js"

export type AdminCommand =
  | { readonly kind: "change"; readonly change: ConfigChange }
  /** Hand leadership to `target`, or to the most caught-up voter (0). */
  | { readonly kind: "transfer"; readonly target: NodeId }
  | { readonly kind: "nodes" }

/** One member as RAFT.NODES shows it. */
export interface NodeRow {
  readonly id: NodeId
  readonly suffrage: "voter" | "learner"
  /** Where peers reach it (the address its configuration entry carries). */
  readonly peerAddress: string
  /** Highest log index known to be in its log (the leader's view; null: unknown). */
  readonly match: number | null
  /** Milliseconds since the leader last heard from it (0 for the leader itself; null: never). */
  readonly lastContactMs: number | null
}

export type AdminOutcome =
  /** Refused or failed: `message` is the whole error line ("ERR ..."). */
  | { readonly kind: "error"; readonly message: string }
  /** The configuration entry the change made is committed. */
  | { readonly kind: "changed" }
  /** `leader` leads now. */
  | { readonly kind: "transferred"; readonly leader: NodeId }
  | { readonly kind: "nodes"; readonly leader: NodeId; readonly rows: ReadonlyArray<NodeRow> }
  /** Sent by a node that is not (or no longer) the leader: the sender asks the leader again. */
  | { readonly kind: "not-leader" }

/** A request in the RaftNode's mailbox; `reply` is called exactly once. */
export interface AdminRequest {
  readonly command: AdminCommand
  readonly reply: (outcome: AdminOutcome) => void
  /** Epoch ms after which the caller gets a timeout error. */
  readonly deadline: number
}

// ---------------------------------------------------------------- the wire

const Id = Schema.Int.pipe(Schema.between(1, 0xffff))
const Address = Schema.String.pipe(Schema.maxLength(1024))

const ChangeSchema = Schema.Union(
  Schema.Struct({ type: Schema.Literal("add-voter", "add-learner"), id: Id, address: Address }),
  Schema.Struct({ type: Schema.Literal("promote", "remove"), id: Id })
)

const CommandSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("change"), change: ChangeSchema }),
  Schema.Struct({ kind: Schema.Literal("transfer"), target: Schema.Int.pipe(Schema.between(0, 0xffff)) }),
  Schema.Struct({ kind: Schema.Literal("nodes") })
)

const Count = Schema.NullOr(Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER)))

const OutcomeSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("error"), message: Schema.String.pipe(Schema.maxLength(4096)) }),
  Schema.Struct({ kind: Schema.Literal("changed") }),
  Schema.Struct({ kind: Schema.Literal("transferred"), leader: Id }),
  Schema.Struct({
    kind: Schema.Literal("nodes"),
    leader: Schema.Int.pipe(Schema.between(0, 0xffff)),
    rows: Schema.Array(
      Schema.Struct({ id: Id, suffrage: Schema.Literal("voter", "learner"), peerAddress: Address, match: Count, lastContactMs: Count })
    ).pipe(Schema.maxItems(0xffff))
  }),
  Schema.Struct({ kind: Schema.Literal("not-leader") })
)

const encodeJson = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), "utf8")

const decodeJson = <A, I>(schema: Schema.Schema<A, I>, bytes: Uint8Array): A | undefined => {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"))
  } catch {
    return undefined
  }
  const decoded = Schema.decodeUnknownEither(schema)(value)
  return Either.isRight(decoded) ? decoded.right : undefined
}

export const encodeAdminCommand = (command: AdminCommand): Uint8Array => encodeJson(command)
export const decodeAdminCommand = (bytes: Uint8Array): AdminCommand | undefined => decodeJson(CommandSchema, bytes)
export const encodeAdminOutcome = (outcome: AdminOutcome): Uint8Array => encodeJson(outcome)
export const decodeAdminOutcome = (bytes: Uint8Array): AdminOutcome | undefined => decodeJson(OutcomeSchema, bytes)
