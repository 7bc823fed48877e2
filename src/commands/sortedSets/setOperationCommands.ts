/**
 * ZUNION, ZINTER, ZDIFF and ZINTERCARD, and the ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE that keep
 * the result: the inputs (sorted sets or plain sets) read whole, then combined (./setOperations.ts).
 */
import { Effect } from "effect"
import { integer, type Reply } from "../../resp/Reply.js"
import { WRONGTYPE } from "../errors.js"
import type { Keyspace } from "../keyspace/Keyspace.js"
import { KeyType, type CollectionMeta } from "../keyspace/meta.js"
import type { Execute } from "../registry.js"
import { isReply, parseSetOperationKeys, parseSetOperationOptions, type SetOperationCommand } from "./arguments.js"
import { byScoreThenMember, combine, type Input } from "./setOperations.js"
import { SortedSet, type Scored } from "./SortedSet.js"
import { store, withScoresReply, type Effectful } from "./zsetKey.js"

/**
 * The members of a plain set (ZUNIONSTORE and friends accept sets, every member scoring 1). Sets
 * keep their members as layout.hashedPart (u32 hash · member) under their version.
 */
const setMembers = (ks: Keyspace, version: number): Effectful<Array<Scored>> =>
  Effect.map(ks.members(version), (found) => found.map(([part]) => ({ member: part.subarray(4), score: 1 })))

/** Each input's meta record: WRONGTYPE for anything but a sorted set or a set. */
const inputsOf = (ks: Keyspace, db: number, keys: ReadonlyArray<Uint8Array>): Effectful<Array<CollectionMeta | undefined> | Reply> =>
  Effect.gen(function* () {
    const metas: Array<CollectionMeta | undefined> = []
    for (const key of keys) {
      const meta = yield* ks.meta(db, key)
      if (meta !== undefined && meta.type !== KeyType.ZSet && meta.type !== KeyType.Set) return WRONGTYPE
      metas.push(meta as CollectionMeta | undefined)
    }
    return metas
  })

const membersOf = (ks: Keyspace, meta: CollectionMeta | undefined): Effectful<Array<Scored>> => {
  if (meta === undefined) return Effect.succeed([])
  return meta.type === KeyType.ZSet ? new SortedSet(ks, meta.version).all() : setMembers(ks, meta.version)
}

export const setOperation = (command: SetOperationCommand): Execute => ({ ks, db, argv }) =>
  Effect.gen(function* () {
    const keys = parseSetOperationKeys(argv, command)
    if (isReply(keys)) return keys
    // As Redis: the inputs' types are checked before the options are read.
    const metas = yield* inputsOf(ks, db, keys)
    if (isReply(metas)) return metas
    const options = parseSetOperationOptions(argv, command, keys.length)
    if (isReply(options)) return options
    // ZDIFF needs only the first input's members and the others' membership; a missing first input is empty.
    const inputs: Array<Input> = []
    for (let i = 0; i < metas.length; i++) {
      const skip = command.operation === "diff" && metas[0] === undefined
      inputs.push({ members: skip ? [] : yield* membersOf(ks, metas[i]), weight: options.weights[i] })
    }
    const result = combine(command.operation, inputs, options.aggregate, options.limit)
    if (command.cardinality === true) return integer(result.length)
    if (command.store) return yield* store(ks, db, argv[1], result)
    return withScoresReply(result.sort(byScoreThenMember), options.withScores)
  })
