/**
 * Redis glob matching (util.c stringmatchlen) over bytes: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`
 * and backslash escapes. Used by KEYS and CONFIG GET.
 */
const STAR = 0x2a
const QUESTION = 0x3f
const OPEN = 0x5b
const CLOSE = 0x5d
const CARET = 0x5e
const DASH = 0x2d
const BACKSLASH = 0x5c

export const globMatch = (pattern: Uint8Array, subject: Uint8Array): boolean => match(pattern, 0, subject, 0)

const match = (p: Uint8Array, pi: number, s: Uint8Array, si: number): boolean => {
  while (pi < p.length) {
    const c = p[pi]
    if (c === STAR) {
      while (pi + 1 < p.length && p[pi + 1] === STAR) pi++
      if (pi + 1 === p.length) return true
      for (let k = si; k <= s.length; k++) if (match(p, pi + 1, s, k)) return true
      return false
    }
    if (si >= s.length) return false
    if (c === QUESTION) {
      pi++
      si++
      continue
    }
    if (c === OPEN) {
      pi++
      const negate = p[pi] === CARET
      if (negate) pi++
      let matched = false
      while (pi < p.length && p[pi] !== CLOSE) {
        if (p[pi] === BACKSLASH && pi + 1 < p.length) {
          pi++
          if (p[pi] === s[si]) matched = true
          pi++
        } else if (pi + 2 < p.length && p[pi + 1] === DASH && p[pi + 2] !== CLOSE) {
          let lo = p[pi]
          let hi = p[pi + 2]
          if (lo > hi) [lo, hi] = [hi, lo]
          if (s[si] >= lo && s[si] <= hi) matched = true
          pi += 3
        } else {
          if (p[pi] === s[si]) matched = true
          pi++
        }
      }
      // An unterminated class ends at the pattern's end, as in Redis.
      if (pi < p.length) pi++
      if (matched === negate) return false
      si++
      continue
    }
    if (c === BACKSLASH && pi + 1 < p.length) pi++
    if (p[pi] !== s[si]) return false
    pi++
    si++
  }
  return si === s.length
}
