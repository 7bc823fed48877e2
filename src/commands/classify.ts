/**
 * The first step of every command: find it in the table, check arity and syntax, and decide
 * how it is answered: locally, as a linearizable read, as a write through the log, or (SAVE,
 * BGSAVE) by the node's snapshotter.
 */
import type { Reply } from "../resp/Reply.js"
import { unknownCommand, wrongArity } from "./errors.js"
import { runLocal, type ConnectionContext } from "./local.js"
import { arityMatches, commandName, commandTable } from "./table.js"

export type { ConnectionContext }

export type Classified =
  | { readonly kind: "reply"; readonly reply: Reply }
  | { readonly kind: "read"; readonly argv: ReadonlyArray<Uint8Array> }
  | { readonly kind: "write"; readonly argv: ReadonlyArray<Uint8Array> }
  | { readonly kind: "quit" }
  /** SAVE (`wait`: reply once the snapshot is durable) or BGSAVE (reply at once). */
  | { readonly kind: "snapshot"; readonly wait: boolean }

export const classify = (argv: ReadonlyArray<Uint8Array>, context: ConnectionContext): Classified => {
  const name = commandName(argv[0])
  const spec = commandTable.get(name)
  if (spec === undefined) return { kind: "reply", reply: unknownCommand(argv) }
  if (!arityMatches(spec, argv.length)) return { kind: "reply", reply: wrongArity(name) }
  const invalid = spec.validate?.(argv)
  if (invalid !== undefined) return { kind: "reply", reply: invalid }
  if (spec.kind === "local") {
    const result = runLocal(name, argv, context)
    return result === "quit" ? { kind: "quit" } : { kind: "reply", reply: result }
  }
  if (spec.kind === "snapshot") return { kind: "snapshot", wait: name === "save" }
  return { kind: spec.kind, argv }
}
