/**
 * The first step of every command: find it (and its subcommand) in the table and check its arity
 * and arguments, with redis-server's error texts. What is left is routing, decided by the
 * declaration: run by the connection, read through ReadIndex, or written through the log.
 */
import type { Reply } from "../resp/Reply.js"
import { latin1, unknownCommand, unknownSubcommand, wrongArity } from "./errors.js"
import { arityMatches, type Argv, type CommandSpec } from "./registry.js"
import { commandName, commandTable } from "./table.js"

export type Resolved = { readonly spec: CommandSpec } | { readonly error: Reply }

/** The command's declaration, or the error Redis gives for an unknown command or a wrong arity. */
export const resolve = (argv: Argv): Resolved => {
  const name = commandName(argv[0])
  const spec = commandTable.get(name)
  if (spec === undefined) return { error: unknownCommand(argv) }
  if (!arityMatches(spec, argv.length)) return { error: wrongArity(name) }
  // A container alone (COMMAND) runs itself; one that needs a subcommand has an arity of -2.
  if (spec.subcommands === undefined || argv.length < 2) return { spec }
  const subName = `${name}|${commandName(argv[1])}`
  const sub = spec.subcommands.find((candidate) => candidate.name === subName)
  if (sub === undefined) return { error: unknownSubcommand(argv[1], latin1(argv[0]).toUpperCase()) }
  if (!arityMatches(sub, argv.length)) return { error: wrongArity(subName) }
  return { spec: sub }
}

/** `resolve`, then the declaration's own argument checks (what keeps bad commands out of the log). */
export const check = (argv: Argv, now: number): Resolved => {
  const resolved = resolve(argv)
  if ("error" in resolved) return resolved
  const invalid = resolved.spec.validate?.(argv, now)
  return invalid === undefined ? resolved : { error: invalid }
}
