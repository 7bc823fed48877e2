/**
 * A plain in-memory model of redis-server 7.0's lists (and the few key commands a list test needs:
 * SET, GET, DEL, EXISTS, TYPE, EXPIRE, TTL, RENAME, MULTI/EXEC), written for clarity, not speed:
 * each list is a JS array. Model-based tests run random command sequences against it and against
 * the state machine and compare every reply. Blocking commands answer "blocks" when they would
 * wait; `serve` runs a waiting one again once a key received elements, as redis-server serves it
 * from that key.
 */
import { array, bulk, EMPTY_ARRAY, error, integer, NIL, NIL_ARRAY, OK, simple, type Reply } from "../../../src/resp/Reply.js"

type Value = { readonly kind: "list"; items: Array<string> } | { readonly kind: "string"; value: string }

interface Entry {
  value: Value
  /** Epoch ms; 0: none. */
  expireAt: number
}

const WRONGTYPE = error("WRONGTYPE Operation against a key holding the wrong kind of value")
const NOT_INTEGER = error("ERR value is not an integer or out of range")
const SYNTAX = error("ERR syntax error")
const text = (value: string): Reply => bulk(Buffer.from(value, "latin1"))
const texts = (values: ReadonlyArray<string>): Reply => array(values.map(text))

const INT = /^(0|-?[1-9][0-9]*)$/
const parseInteger = (value: string): number | undefined => (INT.test(value) && Math.abs(Number(value)) < 2 ** 53 ? Number(value) : undefined)
const parseEnd = (value: string): "left" | "right" | undefined => {
  const lower = value.toLowerCase()
  return lower === "left" || lower === "right" ? lower : undefined
}

/** Seconds as BLPOP reads them (only the simple decimal forms the tests send). */
const parseTimeout = (value: string): number | Reply => {
  if (!/^-?\d+(\.\d+)?$/.test(value)) return error("ERR timeout is not a float or out of range")
  const ms = Math.ceil(Number(value) * 1000)
  return ms < 0 ? error("ERR timeout is negative") : ms
}

export type ModelReply = Reply | "blocks"

export class ListModel {
  now = 0
  private readonly keys = new Map<string, Entry>()

  private live(key: string): Entry | undefined {
    const entry = this.keys.get(key)
    if (entry !== undefined && entry.expireAt !== 0 && entry.expireAt <= this.now) {
      this.keys.delete(key)
      return undefined
    }
    return entry
  }

  /** The key's list items, undefined when absent, WRONGTYPE for a string. */
  private list(key: string): Array<string> | undefined | Reply {
    const entry = this.live(key)
    if (entry === undefined) return undefined
    return entry.value.kind === "list" ? entry.value.items : WRONGTYPE
  }

  private dropIfEmpty(key: string): void {
    const entry = this.keys.get(key)
    if (entry?.value.kind === "list" && entry.value.items.length === 0) this.keys.delete(key)
  }

  private push(key: string, items: ReadonlyArray<string>, where: "left" | "right"): number {
    let entry = this.live(key)
    if (entry === undefined) {
      entry = { value: { kind: "list", items: [] }, expireAt: 0 }
      this.keys.set(key, entry)
    }
    const list = (entry.value as { items: Array<string> }).items
    for (const item of items) if (where === "left") list.unshift(item)
    else list.push(item)
    return list.length
  }

  private pop(key: string, list: Array<string>, count: number, where: "left" | "right"): Array<string> {
    const taken = where === "left" ? list.splice(0, count) : list.splice(Math.max(0, list.length - count)).reverse()
    this.dropIfEmpty(key)
    return taken
  }

  /** A transaction: each command's reply, as EXEC returns them. */
  exec(commands: ReadonlyArray<ReadonlyArray<string>>): Reply {
    return array(commands.map((argv) => this.run(argv, true) as Reply))
  }

  /** One command's reply; "blocks" when a blocking command would wait (never inside MULTI). */
  run(argv: ReadonlyArray<string>, inMulti = false): ModelReply {
    const name = argv[0].toUpperCase()
    const key = argv[1]
    switch (name) {
      case "SET":
        this.keys.set(key, { value: { kind: "string", value: argv[2] }, expireAt: 0 })
        return OK
      case "GET": {
        const entry = this.live(key)
        if (entry === undefined) return NIL
        return entry.value.kind === "string" ? text(entry.value.value) : WRONGTYPE
      }
      case "DEL": {
        let removed = 0
        for (const k of argv.slice(1)) if (this.live(k) !== undefined && this.keys.delete(k)) removed++
        return integer(removed)
      }
      case "EXISTS":
        return integer(argv.slice(1).filter((k) => this.live(k) !== undefined).length)
      case "TYPE": {
        const entry = this.live(key)
        return simple(entry === undefined ? "none" : entry.value.kind)
      }
      case "EXPIRE": {
        const seconds = parseInteger(argv[2])
        if (seconds === undefined) return NOT_INTEGER
        const entry = this.live(key)
        if (entry === undefined) return integer(0)
        if (seconds <= 0) this.keys.delete(key)
        else entry.expireAt = this.now + seconds * 1000
        return integer(1)
      }
      case "TTL": {
        const entry = this.live(key)
        if (entry === undefined) return integer(-2)
        return integer(entry.expireAt === 0 ? -1 : Math.floor((entry.expireAt - this.now + 500) / 1000))
      }
      case "RENAME": {
        const entry = this.live(key)
        if (entry === undefined) return error("ERR no such key")
        if (key === argv[2]) return OK
        this.live(argv[2])
        this.keys.delete(key)
        this.keys.set(argv[2], entry)
        return OK
      }
      case "LPUSH":
      case "RPUSH":
      case "LPUSHX":
      case "RPUSHX": {
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        if (list === undefined && name.endsWith("X")) return integer(0)
        return integer(this.push(key, argv.slice(2), name.startsWith("L") ? "left" : "right"))
      }
      case "LPOP":
      case "RPOP": {
        const where = name === "LPOP" ? "left" : "right"
        if (argv.length > 3) return error(`ERR wrong number of arguments for '${name.toLowerCase()}' command`)
        const count = argv.length === 3 ? parseInteger(argv[2]) : undefined
        if (argv.length === 3 && (count === undefined || count < 0)) return error("ERR value is out of range, must be positive")
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        if (list === undefined) return count === undefined ? NIL : NIL_ARRAY
        if (count === undefined) return text(this.pop(key, list, 1, where)[0])
        if (count === 0) return EMPTY_ARRAY
        return texts(this.pop(key, list, count, where))
      }
      case "LLEN": {
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        return integer(list?.length ?? 0)
      }
      case "LINDEX": {
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        if (list === undefined) return NIL
        const index = parseInteger(argv[2])
        if (index === undefined) return NOT_INTEGER
        const at = index < 0 ? list.length + index : index
        return at >= 0 && at < list.length ? text(list[at]) : NIL
      }
      case "LSET": {
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        if (list === undefined) return error("ERR no such key")
        const index = parseInteger(argv[2])
        if (index === undefined) return NOT_INTEGER
        const at = index < 0 ? list.length + index : index
        if (at < 0 || at >= list.length) return error("ERR index out of range")
        list[at] = argv[3]
        return OK
      }
      case "LRANGE":
      case "LTRIM": {
        let start = parseInteger(argv[2])
        let end = parseInteger(argv[3])
        if (start === undefined || end === undefined) return NOT_INTEGER
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        if (list === undefined) return name === "LRANGE" ? EMPTY_ARRAY : OK
        if (start < 0) start = list.length + start
        if (end < 0) end = list.length + end
        if (start < 0) start = 0
        const empty = start > end || start >= list.length
        if (name === "LRANGE") return empty ? EMPTY_ARRAY : texts(list.slice(start, end + 1))
        const kept = empty ? [] : list.slice(start, end + 1)
        list.splice(0, list.length, ...kept)
        this.dropIfEmpty(key)
        return OK
      }
      case "LREM": {
        const count = parseInteger(argv[2])
        if (count === undefined) return NOT_INTEGER
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        if (list === undefined) return integer(0)
        const order = list.map((_, i) => i)
        if (count < 0) order.reverse()
        const removed = new Set<number>()
        for (const i of order) {
          if (count !== 0 && removed.size >= Math.abs(count)) break
          if (list[i] === argv[3]) removed.add(i)
        }
        const kept = list.filter((_, i) => !removed.has(i))
        list.splice(0, list.length, ...kept)
        this.dropIfEmpty(key)
        return integer(removed.size)
      }
      case "LINSERT": {
        const where = argv[2].toLowerCase()
        if (where !== "before" && where !== "after") return SYNTAX
        const list = this.list(key)
        if (list !== undefined && !Array.isArray(list)) return list
        if (list === undefined) return integer(0)
        const at = list.indexOf(argv[3])
        if (at < 0) return integer(-1)
        list.splice(where === "before" ? at : at + 1, 0, argv[4])
        return integer(list.length)
      }
      case "LPOS":
        return this.lpos(argv)
      case "LMOVE":
      case "RPOPLPUSH": {
        const from = name === "LMOVE" ? parseEnd(argv[3]) : "right"
        const to = name === "LMOVE" ? parseEnd(argv[4]) : "left"
        if (from === undefined || to === undefined) return SYNTAX
        return this.move(key, argv[2], from, to) ?? NIL
      }
      case "LMPOP":
        return this.mpop(argv, 1, inMulti, false)
      case "BLPOP":
      case "BRPOP": {
        const timeout = parseTimeout(argv[argv.length - 1])
        if (typeof timeout !== "number") return timeout
        for (const k of argv.slice(1, -1)) {
          const list = this.list(k)
          if (list !== undefined && !Array.isArray(list)) return list
          if (list === undefined) continue
          return texts([k, this.pop(k, list, 1, name === "BLPOP" ? "left" : "right")[0]])
        }
        return inMulti ? NIL_ARRAY : "blocks"
      }
      case "BLMOVE":
      case "BRPOPLPUSH": {
        const from = name === "BLMOVE" ? parseEnd(argv[3]) : "right"
        const to = name === "BLMOVE" ? parseEnd(argv[4]) : "left"
        if (from === undefined || to === undefined) return SYNTAX
        const timeout = parseTimeout(argv[argv.length - 1])
        if (typeof timeout !== "number") return timeout
        const moved = this.move(key, argv[2], from, to)
        return moved ?? (inMulti ? NIL : "blocks")
      }
      case "BLMPOP":
        return this.mpop(argv, 2, inMulti, true)
      default:
        throw new Error(`the list model does not know ${name}`)
    }
  }

  /** A blocked command once `ready` received elements: served from that key first (or still blocking). */
  serve(argv: ReadonlyArray<string>, ready: string): ModelReply {
    const name = argv[0].toUpperCase()
    const first = (keys: ReadonlyArray<string>) => {
      const at = keys.indexOf(ready)
      return at < 0 ? keys : [ready, ...keys.slice(0, at), ...keys.slice(at + 1)]
    }
    if (name === "BLPOP" || name === "BRPOP") return this.run([argv[0], ...first(argv.slice(1, -1)), argv[argv.length - 1]])
    if (name === "BLMPOP") {
      const numkeys = Number(argv[2])
      return this.run([...argv.slice(0, 3), ...first(argv.slice(3, 3 + numkeys)), ...argv.slice(3 + numkeys)])
    }
    return this.run(argv)
  }

  private move(source: string, destination: string, from: "left" | "right", to: "left" | "right"): Reply | undefined {
    const list = this.list(source)
    if (list !== undefined && !Array.isArray(list)) return list
    if (list === undefined) return undefined
    const target = this.list(destination)
    if (target !== undefined && !Array.isArray(target)) return target
    const value = from === "left" ? list.shift()! : list.pop()!
    if (source === destination) {
      if (to === "left") list.unshift(value)
      else list.push(value)
      return text(value)
    }
    this.dropIfEmpty(source)
    this.push(destination, [value], to)
    return text(value)
  }

  private mpop(argv: ReadonlyArray<string>, numkeysAt: number, inMulti: boolean, blocking: boolean): ModelReply {
    const numkeys = parseInteger(argv[numkeysAt])
    if (numkeys === undefined || numkeys < 1) return error("ERR numkeys should be greater than 0")
    const whereAt = numkeysAt + numkeys + 1
    if (whereAt >= argv.length) return SYNTAX
    const where = parseEnd(argv[whereAt])
    if (where === undefined) return SYNTAX
    let count: number | undefined
    for (let i = whereAt + 1; i < argv.length; i++) {
      if (count === undefined && argv[i].toUpperCase() === "COUNT" && i + 1 < argv.length) {
        count = parseInteger(argv[++i])
        if (count === undefined || count < 1) return error("ERR count should be greater than 0")
      } else return SYNTAX
    }
    if (blocking) {
      const timeout = parseTimeout(argv[1])
      if (typeof timeout !== "number") return timeout
    }
    for (const k of argv.slice(numkeysAt + 1, whereAt)) {
      const list = this.list(k)
      if (list !== undefined && !Array.isArray(list)) return list
      if (list === undefined) continue
      return array([text(k), texts(this.pop(k, list, count ?? 1, where))])
    }
    return blocking && !inMulti ? "blocks" : NIL_ARRAY
  }

  private lpos(argv: ReadonlyArray<string>): Reply {
    let rank = 1
    let count: number | undefined
    let maxlen = 0
    for (let i = 3; i < argv.length; i++) {
      const option = argv[i].toUpperCase()
      const value = argv[i + 1]
      if (value === undefined) return SYNTAX
      const parsed = parseInteger(value)
      if (option === "RANK") {
        if (parsed === undefined) return NOT_INTEGER
        if (parsed === 0) return error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
        rank = parsed
      } else if (option === "COUNT") {
        if (parsed === undefined || parsed < 0) return error("ERR COUNT can't be negative")
        count = parsed
      } else if (option === "MAXLEN") {
        if (parsed === undefined || parsed < 0) return error("ERR MAXLEN can't be negative")
        maxlen = parsed
      } else return SYNTAX
      i++
    }
    const list = this.list(argv[1])
    if (list !== undefined && !Array.isArray(list)) return list
    if (list === undefined) return count !== undefined ? EMPTY_ARRAY : NIL
    const order = list.map((_, i) => i)
    if (rank < 0) order.reverse()
    const found: Array<number> = []
    let matches = 0
    for (const [scanned, i] of order.entries()) {
      if (maxlen > 0 && scanned >= maxlen) break
      if (list[i] !== argv[2]) continue
      matches++
      if (matches < Math.abs(rank)) continue
      found.push(i)
      if (count === undefined || (count > 0 && found.length >= count)) break
    }
    if (count !== undefined) return array(found.map((i) => integer(i)))
    return found.length > 0 ? integer(found[0]) : NIL
  }
}
