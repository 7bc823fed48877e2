/**
 * What a command does with each of its keys, for `%R~` / `%W~` key patterns: reads the value
 * (Redis's key-spec flag ACCESS), writes it (INSERT, UPDATE or DELETE), both, or neither (EXISTS,
 * TYPE: only whether the key exists). A key passes a pattern that grants at least what the
 * command does with it; a key the command neither reads nor writes passes any pattern it matches.
 *
 * The table has redis-server 7.0's key specs (COMMAND INFO) for the commands whose flags differ
 * from the default; a command not listed reads its keys if it is read-only, and reads AND writes
 * them if it writes, the stricter choice for a command added later without an entry.
 */
import { isWrite, type Argv, type CommandSpec } from "../commands/registry.js"

export interface KeyAccess {
  readonly read: boolean
  readonly write: boolean
}

const R: KeyAccess = { read: true, write: false }
const W: KeyAccess = { read: false, write: true }
const RW: KeyAccess = { read: true, write: true }
const NONE: KeyAccess = { read: false, write: false }

/** Per command, the access of each key spec in order (later keys use the last). */
const KEY_SPECS: Readonly<Record<string, ReadonlyArray<KeyAccess>>> = {
  // SET writes only, unless GET returns the old value (setGetKeys).
  set: [W],
  setnx: [W],
  setex: [W],
  psetex: [W],
  setrange: [W],
  append: [W],
  mset: [W],
  msetnx: [W],
  del: [W],
  unlink: [W],
  strlen: [NONE],
  exists: [NONE],
  touch: [NONE],
  type: [NONE],
  watch: [NONE],
  rename: [RW, W],
  renamenx: [RW, W],
  copy: [R, W],
  expire: [W],
  pexpire: [W],
  expireat: [W],
  pexpireat: [W],
  persist: [W]
}

const hasGetOption = (argv: Argv): boolean => {
  for (let i = 3; i < argv.length; i++) {
    const arg = argv[i]
    if (arg.length === 3 && (arg[0] | 0x20) === 0x67 && (arg[1] | 0x20) === 0x65 && (arg[2] | 0x20) === 0x74) return true
  }
  return false
}

/** What `spec` does with its `index`-th key (0-based among its keys). */
export const keyAccess = (spec: CommandSpec, argv: Argv, index: number): KeyAccess => {
  if (spec.name === "set" && hasGetOption(argv)) return RW
  const specs = KEY_SPECS[spec.name]
  if (specs !== undefined) return specs[Math.min(index, specs.length - 1)]
  return isWrite(spec) ? RW : R
}
