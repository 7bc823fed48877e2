#!/usr/bin/env node
/**
 * A raft-kv node (the built dist/) with test defects: a part throws when it handles a log entry
 * whose bytes contain its marker, so a test arms a defect with an ordinary client write.
 *
 *   defect:peer-link          the first peer link (of this process) to send an Append carrying it
 *   defect:wal-writer:<id>    node <id>'s WAL writer, before it appends the entry
 *   defect:applier:<id>       node <id>'s Applier, before it applies the entry
 *   defect:client-connection  the client connection that receives these bytes (any command)
 *   defect:client-listener    arms the client listener: it fails on the next connection it accepts
 *
 * Used by test/process/supervision.test.ts through ProcessCluster's `main` option.
 */
import { Effect } from "effect"
import { runCli } from "../../dist/src/cli/runCli.js"
import { InjectedDefects } from "../../dist/src/node/InjectedDefects.js"

const argv = process.argv.slice(2)
const id = argv[argv.indexOf("--id") + 1]
const carries = (entries, marker) => entries.some((entry) => Buffer.from(entry.data).includes(marker))
let peerLinkFired = false
let listenerArmed = false

const defects = {
  peerLink: (to, messages) => {
    if (peerLinkFired) return
    if (messages.some((m) => m.type === "Append" && carries(m.entries, "defect:peer-link"))) {
      peerLinkFired = true
      throw new Error(`injected peer link defect (sending to node ${to})`)
    }
  },
  walWriter: (entries) => {
    if (carries(entries, `defect:wal-writer:${id}`)) throw new Error("injected WAL writer defect")
  },
  applier: (entries) => {
    if (carries(entries, `defect:applier:${id}`)) throw new Error("injected applier defect")
  },
  clientAccept: () => {
    if (!listenerArmed) return
    listenerArmed = false
    throw new Error("injected client listener defect")
  },
  clientInput: (chunks) => {
    if (chunks.some((chunk) => chunk.includes("defect:client-listener"))) listenerArmed = true
    if (chunks.some((chunk) => chunk.includes("defect:client-connection"))) throw new Error("injected client connection defect")
  }
}

runCli(argv, { wrap: (node) => Effect.provideService(node, InjectedDefects, defects) })
