/**
 * Random list commands for model-based tests: every list command (blocking ones included) and the
 * key commands mixed in (DEL, EXPIRE, TTL, RENAME, SET, GET, EXISTS, TYPE), on three list keys and
 * one key ("s") that is sometimes a string, with elements from a small alphabet so LREM, LPOS and
 * LINSERT find matches. Mostly valid arguments, a few invalid ones (negative counts, "x" indexes).
 */
const KEYS = ["a", "b", "c"]
export const ELEMENTS = ["x", "y", "z", "1", "2"]
/** Blocking commands wait 50 ms. */
export const TIMEOUT = "0.05"

export class ListCommands {
  constructor(private readonly random: () => number) {}

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1))
  }

  pick<A>(items: ReadonlyArray<A>): A {
    return items[Math.floor(this.random() * items.length)]
  }

  key(): string {
    // Mostly list keys; sometimes the string key, for WRONGTYPE.
    return this.random() < 0.08 ? "s" : this.pick(KEYS)
  }

  elements(): Array<string> {
    return Array.from({ length: this.int(1, 3) }, () => this.pick(ELEMENTS))
  }

  index(): string {
    return this.random() < 0.03 ? "x" : String(this.int(-5, 5))
  }

  end(): string {
    return this.pick(["LEFT", "RIGHT", "left", "right"])
  }

  keys(): Array<string> {
    return Array.from({ length: this.int(1, 3) }, () => this.key())
  }

  /** A command that never blocks. */
  command(): Array<string> {
    const r = this.int(0, 27)
    const key = this.key()
    switch (r) {
      case 0:
      case 1:
        return ["LPUSH", key, ...this.elements()]
      case 2:
      case 3:
        return ["RPUSH", key, ...this.elements()]
      case 4:
        return [this.pick(["LPUSHX", "RPUSHX"]), key, ...this.elements()]
      case 5:
      case 6:
        return this.random() < 0.5 ? [this.pick(["LPOP", "RPOP"]), key] : [this.pick(["LPOP", "RPOP"]), key, String(this.int(-1, 4))]
      case 7:
        return ["LRANGE", key, this.index(), this.index()]
      case 8:
        return ["LLEN", key]
      case 9:
        return ["LINDEX", key, this.index()]
      case 10:
        return ["LSET", key, this.index(), this.pick(ELEMENTS)]
      case 11:
        return ["LREM", key, String(this.int(-2, 2)), this.pick(ELEMENTS)]
      case 12:
        return ["LTRIM", key, this.index(), this.index()]
      case 13:
        return ["LINSERT", key, this.pick(["BEFORE", "AFTER", "after"]), this.pick(ELEMENTS), this.pick(ELEMENTS)]
      case 14: {
        const argv = ["LPOS", key, this.pick(ELEMENTS)]
        if (this.random() < 0.5) argv.push("RANK", String(this.pick([-2, -1, 1, 2, 3])))
        if (this.random() < 0.5) argv.push("COUNT", String(this.int(0, 3)))
        if (this.random() < 0.3) argv.push("MAXLEN", String(this.int(0, 4)))
        return argv
      }
      case 15:
        return ["LMOVE", key, this.key(), this.end(), this.end()]
      case 16:
        return ["RPOPLPUSH", key, this.key()]
      case 17: {
        const keys = this.keys()
        const argv = ["LMPOP", String(keys.length), ...keys, this.end()]
        if (this.random() < 0.5) argv.push("COUNT", String(this.int(1, 4)))
        return argv
      }
      case 18:
        return ["DEL", ...this.keys()]
      case 19:
        return ["EXPIRE", key, String(this.int(1, 3))]
      case 20:
        return ["TTL", key]
      case 21:
        return ["RENAME", key, this.key()]
      case 22:
        return ["SET", "s", this.pick(ELEMENTS)]
      case 23:
        return ["EXISTS", ...this.keys()]
      case 24:
        return ["TYPE", key]
      case 25:
        return ["GET", key]
      default:
        return this.blocking()
    }
  }

  /** A blocking command (at the top level it may wait; inside MULTI it answers at once). */
  blocking(): Array<string> {
    switch (this.int(0, 4)) {
      case 0:
        return ["BLPOP", ...this.keys(), TIMEOUT]
      case 1:
        return ["BRPOP", ...this.keys(), TIMEOUT]
      case 2:
        return ["BLMOVE", this.key(), this.key(), this.end(), this.end(), TIMEOUT]
      case 3:
        return ["BRPOPLPUSH", this.key(), this.key(), TIMEOUT]
      default: {
        const keys = this.keys()
        const argv = ["BLMPOP", TIMEOUT, String(keys.length), ...keys, this.end()]
        if (this.random() < 0.5) argv.push("COUNT", String(this.int(1, 3)))
        return argv
      }
    }
  }
}

/** The keys a blocking command waits on. */
export const waitKeys = (argv: ReadonlyArray<string>): Array<string> => {
  const name = argv[0].toUpperCase()
  if (name === "BLPOP" || name === "BRPOP") return argv.slice(1, -1)
  if (name === "BLMPOP") return argv.slice(3, 3 + Number(argv[2]))
  return [argv[1]]
}

