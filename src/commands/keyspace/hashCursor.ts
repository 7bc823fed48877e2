/**
 * The paging rule of every cursor that is a hash (SCAN, HSCAN/SSCAN, ZSCAN): a read in hash order
 * examines about `count` items, then goes on through every item sharing the last hash examined, so
 * a cursor never splits colliding items. The read stops at the first item of the next hash, which
 * is where the next page resumes.
 */
export interface HashPage {
  /** The read's visit callback: false stops the read (Txn.range keeps the pair that stopped it). */
  readonly visit: (key: Buffer) => boolean
  /**
   * Drops the pair that stopped the read from `pairs` (what the read returned) and returns the
   * cursor of the next page: 0 when the read ran out first. A cursor of 0 means "done": a scan
   * resuming at hash 0 can only be the start anyway.
   */
  readonly nextCursor: (pairs: Array<readonly [Buffer, Uint8Array]>) => number
}

/** One page's paging state; `hashOf` reads the hash of a key as the read gives it. */
export const hashPage = (count: number, hashOf: (key: Buffer) => number): HashPage => {
  let examined = 0
  let lastHash = -1
  return {
    visit: (key) => {
      const hash = hashOf(key)
      if (examined >= count && hash !== lastHash) return false
      examined++
      lastHash = hash
      return true
    },
    nextCursor: (pairs) => {
      if (examined < count || pairs.length <= examined) return 0
      const next = hashOf(pairs[pairs.length - 1][0])
      pairs.pop()
      return next
    }
  }
}
