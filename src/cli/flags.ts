/**
 * What the flag groups (the *Flags.ts modules beside this one) are built from: the command line
 * gathered by name, flags decoded with Schema before any cross-field rule, and the one-line error
 * every problem becomes (`raft-kv: <message>`).
 */
import { Either, ParseResult, Schema } from "effect"

export class ConfigError {
  readonly _tag = "ConfigError"
  constructor(readonly message: string) {}
}

/** The command line's flags by name (without `--`), as given. */
export type GivenFlags = ReadonlyMap<string, string>

export type Environment = Readonly<Record<string, string | undefined>>

/**
 * A flag Schema decodes before any cross-field rule runs. When it is not given it stands for the
 * text `absent` (decoded like a given value), or, if `required` says why it is needed, it is an error.
 */
export type DecodedFlag =
  | { readonly schema: Schema.Schema.AnyNoContext; readonly absent: string }
  | { readonly schema: Schema.Schema.AnyNoContext; readonly required: string }

export type DecodedValues<D extends Record<string, DecodedFlag>> = { readonly [K in keyof D]: Schema.Schema.Type<D[K]["schema"]> }

export const IntegerFromFlag = (flag: string, min: number, max: number) =>
  Schema.NumberFromString.pipe(
    Schema.int({ message: () => `--${flag} must be a whole number` }),
    Schema.between(min, max, { message: () => `--${flag} must be between ${min} and ${max}` })
  )

/** One of a few words: "--engine must be memory or level". */
export const ChoiceFromFlag = <const Choices extends readonly [string, ...Array<string>]>(flag: string, ...choices: Choices) =>
  Schema.Literal(...choices).annotations({
    message: () => ({ message: `--${flag} must be ${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`, override: true })
  })

/**
 * Decodes `decoded`'s flags in their order: when several are wrong, the first one is reported, so
 * the order of the record is part of what a command line answers.
 */
export const flagDecoder = <D extends Record<string, DecodedFlag>>(decoded: D) => {
  const entries = Object.entries(decoded)
  const decode = Schema.decodeUnknownEither(Schema.Struct(Object.fromEntries(entries.map(([name, flag]) => [name, flag.schema]))))
  return (flags: GivenFlags): DecodedValues<D> | ConfigError => {
    for (const [name, flag] of entries) {
      if ("required" in flag && !flags.has(name)) return new ConfigError(`--${name} is required (${flag.required})`)
    }
    const result = decode(Object.fromEntries(entries.map(([name, flag]) => [name, flags.get(name) ?? ("absent" in flag ? flag.absent : undefined)])))
    if (Either.isRight(result)) return result.right as DecodedValues<D>
    const issue = ParseResult.ArrayFormatter.formatErrorSync(result.left)[0]
    const flag = issue?.path[0]
    const message = issue?.message ?? "invalid flags"
    // Schema's own messages (e.g. for non-numbers) do not name the flag: add it.
    return new ConfigError(message.startsWith("--") ? message : `--${String(flag)}: ${flags.get(String(flag))} is not a valid value (${message})`)
  }
}

/** The command line by flag name (`--name value` or `--name=value`), each flag at most once; "help" for -h/--help. */
export const gatherFlags = (argv: ReadonlyArray<string>, known: ReadonlySet<string>): Map<string, string> | ConfigError | "help" => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "-h" || arg === "--help") return "help"
    if (!arg.startsWith("--")) return new ConfigError(`unexpected argument '${arg}'`)
    const eq = arg.indexOf("=")
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    if (!known.has(name)) return new ConfigError(`unknown flag --${name}`)
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || (eq < 0 && value.startsWith("--"))) return new ConfigError(`--${name} needs a value`)
    if (flags.has(name)) return new ConfigError(`--${name} is given twice`)
    flags.set(name, value)
  }
  return flags
}
