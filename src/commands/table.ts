/**
 * The command table: every command module's declarations in one map by name. The table is built
 * on first use, so the modules that read it (COMMAND's handlers) may be loaded in any order.
 */
import { aclCommands } from "./acl.js"
import { clusterCommands } from "./cluster.js"
import { connectionCommands } from "./connection.js"
import { latin1 } from "./errors.js"
import { hashCommands } from "./hashes.js"
import { keyspaceCommands } from "./keys.js"
import { listCommands } from "./lists.js"
import type { CommandSpec } from "./registry.js"
import { serverCommands } from "./server.js"
import { setCommands } from "./sets.js"
import { stringCommands } from "./strings.js"
import { transactionCommands } from "./transactions.js"
import { sortedSetCommands } from "./zsets.js"

class CommandTable {
  private specs: Map<string, CommandSpec> | undefined

  private load(): Map<string, CommandSpec> {
    if (this.specs === undefined) {
      const all = [
        ...connectionCommands, ...serverCommands, ...aclCommands, ...transactionCommands, ...stringCommands, ...keyspaceCommands,
        ...hashCommands, ...setCommands, ...sortedSetCommands, ...listCommands, ...clusterCommands
      ]
      this.specs = new Map()
      for (const spec of all) {
        if (this.specs.has(spec.name)) throw new Error(`command '${spec.name}' is declared twice`)
        this.specs.set(spec.name, spec)
      }
    }
    return this.specs
  }

  get(name: string): CommandSpec | undefined {
    return this.load().get(name)
  }

  values(): IterableIterator<CommandSpec> {
    return this.load().values()
  }

  get size(): number {
    return this.load().size
  }
}

export const commandTable = new CommandTable()

/** Lower-case command name from its bytes (command names are ASCII and case-insensitive). */
export const commandName = (bytes: Uint8Array): string => latin1(bytes).toLowerCase()

/** The command `argv` names, down to its subcommand when it has them (undefined: unknown). */
export const lookupCommand = (argv: ReadonlyArray<Uint8Array>): CommandSpec | undefined => {
  if (argv.length === 0) return undefined
  const spec = commandTable.get(commandName(argv[0]))
  if (spec?.subcommands === undefined || argv.length < 2) return spec
  const name = `${spec.name}|${commandName(argv[1])}`
  return spec.subcommands.find((sub) => sub.name === name)
}
