/**
 * Tells the cluster, through the log, where this node serves clients, so every node can name the
 * leader's client address (INFO replication, and the cluster views clients follow). Retried until
 * it applies: a node may start before a quorum is up.
 */
import { Deferred, Effect } from "effect"
import type { Reply } from "../resp/Reply.js"
import { KvService } from "./KvService.js"
import { NodeConfig } from "./NodeConfig.js"

/** The address to announce: the listener's, or the node's peer host when it listens on every interface. */
export const advertisedAddress = (config: {
  readonly host: string
  readonly port: number
  readonly clientTls?: { readonly port: number }
  readonly id: number
  readonly peers: ReadonlyArray<{ readonly id: number; readonly host: string }>
}) => {
  const wildcard = config.host === "0.0.0.0" || config.host === "::"
  const host = wildcard ? (config.peers.find((peer) => peer.id === config.id)?.host ?? config.host) : config.host
  // A node serving clients with TLS only (--port 0) is reached on its TLS port.
  return `${host}:${config.port !== 0 ? config.port : (config.clientTls?.port ?? 0)}`
}

export const runAnnouncer = Effect.gen(function* () {
  const config = yield* NodeConfig
  const kv = yield* KvService
  const address = advertisedAddress(config)
  for (;;) {
    const done = yield* Deferred.make<Reply>()
    kv.submitWrite({ kind: "announce", node: config.id, address }, (reply) => Deferred.unsafeDone(done, Effect.succeed(reply)))
    const reply = yield* Deferred.await(done)
    if (reply._tag !== "Error") return
    yield* Effect.sleep("1 second")
  }
})
