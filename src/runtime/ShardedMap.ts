/**
 * A Map of string keys split into SHARDS Maps. V8 grows (and shrinks) a Map by rehashing its
 * whole table at once: at a million keys one `set` that crosses a power of two copies every entry,
 * ~0.3 s measured on a busy 2-core machine (and as much again when deletes halve it). A node holds
 * its event loop for that long, every node at the same log entry. Split in 256, a rehash copies a
 * 256th of the keys. Keys are spread by a hash of their last characters (the distinctive part of
 * every engine key: a member's name, a key's name), which is all the distribution needs.
 */
const SHARDS = 256
/** Characters from the end of a key that choose its shard. */
const SHARD_CHARS = 12

const shardOf = (key: string): number => {
  let hash = 0x811c9dc5
  for (let i = Math.max(0, key.length - SHARD_CHARS); i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193)
  return (hash ^ (hash >>> 16)) & (SHARDS - 1)
}

export class ShardedMap<V> {
  private readonly shards: Array<Map<string, V>> = Array.from({ length: SHARDS }, () => new Map<string, V>())
  private count = 0

  get size(): number {
    return this.count
  }

  get(key: string): V | undefined {
    return this.shards[shardOf(key)].get(key)
  }

  /** Store `value` under `key`; returns whether the key is new. */
  set(key: string, value: V): boolean {
    const shard = this.shards[shardOf(key)]
    const before = shard.size
    shard.set(key, value)
    if (shard.size === before) return false
    this.count++
    return true
  }

  /** Remove `key`; returns whether it was there. */
  delete(key: string): boolean {
    if (!this.shards[shardOf(key)].delete(key)) return false
    this.count--
    return true
  }

  /** Every key and its value, as two arrays in the same order (a fast native copy per shard). */
  entries(): { readonly keys: Array<string>; readonly values: Array<V> } {
    const keys: Array<string> = []
    const values: Array<V> = []
    for (const shard of this.shards) {
      for (const key of shard.keys()) keys.push(key)
      for (const value of shard.values()) values.push(value)
    }
    return { keys, values }
  }
}
