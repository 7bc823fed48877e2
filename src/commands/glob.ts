/**
 * Redis glob matching over bytes, exactly as redis-server 7.0's `stringmatchlen` (src/util.c):
 * `*`, `?`, `[abc]`, `[^a]`, `[a-z]` (a reversed range `[z-a]` is the same range), `\x` escapes,
 * and the same answers for malformed patterns (a trailing backslash is a literal backslash, an
 * unclosed `[` runs to the end of the pattern, `[^` alone matches any byte).
 *
 * Bounded, as redis-server's matcher since the fix for CVE-2022-36021: once the rest of a
 * pattern after a `*` has failed at every remaining position of the subject, no earlier `*`
 * can make it match by consuming more (it would only start the rest later), so the whole match
 * fails at once instead of backtracking. The work is O(pattern length × subject length), and
 * like Redis, star recursion deeper than 1000 levels counts as no match.
 *
 * Byte semantics copied from C, where they are observable:
 * - the pattern is read as if NUL-terminated (reads past its end see 0), as Redis's sds strings;
 * - range bounds and the subject byte are compared as *signed* chars (x86-64 redis-server), so
 *   `[a-\xff]` is the range -1..97 and matches `0` but not `b` or `\x80`;
 * - with `nocase`, only ASCII letters fold (C locale `tolower`), and an escaped byte inside a
 *   class still compares case-sensitively.
 *
 * Used by KEYS, SCAN MATCH (and every later MATCH) and CONFIG GET.
 */
const NUL = 0x00
const STAR = 0x2a
const QUESTION = 0x3f
const OPEN = 0x5b
const CLOSE = 0x5d
const CARET = 0x5e
const DASH = 0x2d
const BACKSLASH = 0x5c

/** Redis gives up on patterns whose `*`s nest deeper than this (util.c: "abusive patterns"). */
const MAX_NESTING = 1000

/** Work done by one match, for tests that check the matcher stays bounded. */
export interface MatchStats {
  /** Pattern positions examined (one per pattern byte looked at in the main and class loops). */
  steps: number
}

/**
 * The KEYS / SCAN MATCH rule: a pattern of exactly `*` matches every key, even the empty key
 * (redis-server skips matching for it: `allkeys` in keysCommand, `use_pattern` in
 * scanGenericCommand); any other pattern goes through `stringMatch`. `nocase` as CONFIG GET.
 */
export const globMatch = (pattern: Uint8Array, subject: Uint8Array, nocase = false): boolean =>
  isMatchAll(pattern) || stringMatch(pattern, subject, nocase)

/** Whether the pattern is the single `*` that KEYS and SCAN treat as "no pattern". */
export const isMatchAll = (pattern: Uint8Array): boolean => pattern.length === 1 && pattern[0] === STAR

/**
 * util.c `stringmatchlen`, exactly: note that here `*` does not match the empty subject (the
 * main loop runs only while both pattern and subject remain), which is what Redis answers for
 * e.g. `KEYS **` with an empty key present.
 */
export const stringMatch = (pattern: Uint8Array, subject: Uint8Array, nocase = false, stats?: MatchStats): boolean => {
  const state: MatchState = { p: pattern, s: subject, nocase, skipLongerMatches: false, stats }
  return match(state, 0, 0, 0)
}

interface MatchState {
  readonly p: Uint8Array
  readonly s: Uint8Array
  readonly nocase: boolean
  /** Set when the rest of the pattern after some `*` matched nowhere in the rest of the subject. */
  skipLongerMatches: boolean
  readonly stats: MatchStats | undefined
}

/** The pattern byte at i, or 0 past its end (the sds terminator C reads there). */
const at = (p: Uint8Array, i: number): number => (i < p.length ? p[i] : NUL)

/** A byte as C's (signed on x86-64) `char` promoted to int. */
const signed = (b: number): number => (b << 24) >> 24

/** C-locale tolower on a promoted char: only A-Z change. */
const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)

const match = (st: MatchState, pi: number, si: number, nesting: number): boolean => {
  if (nesting > MAX_NESTING) return false
  const p = st.p
  const s = st.s
  const plen = p.length
  const slen = s.length
  while (pi < plen && si < slen) {
    if (st.stats !== undefined) st.stats.steps++
    const c = p[pi]
    if (c === STAR) {
      while (pi < plen && at(p, pi + 1) === STAR) pi++
      if (plen - pi === 1) return true
      for (; si < slen; si++) {
        if (match(st, pi + 1, si, nesting + 1)) return true
        if (st.skipLongerMatches) return false
      }
      // The rest matched nowhere: no earlier `*` can help by consuming more (CVE-2022-36021).
      st.skipLongerMatches = true
      return false
    } else if (c === QUESTION) {
      si++
    } else if (c === OPEN) {
      pi++
      const negate = at(p, pi) === CARET
      if (negate) pi++
      let matched = false
      const sc = s[si]
      for (;;) {
        if (st.stats !== undefined) st.stats.steps++
        const pc = at(p, pi)
        if (pc === BACKSLASH && plen - pi >= 2) {
          pi++
          if (p[pi] === sc) matched = true
        } else if (pc === CLOSE) {
          break
        } else if (pi >= plen) {
          // Unclosed class: step back onto its last byte, which the outer loop then consumes.
          pi--
          break
        } else if (plen - pi >= 3 && p[pi + 1] === DASH) {
          let start = signed(pc)
          let end = signed(p[pi + 2])
          let ch = signed(sc)
          if (start > end) [start, end] = [end, start]
          if (st.nocase) {
            start = lower(start)
            end = lower(end)
            ch = lower(ch)
          }
          pi += 2
          if (ch >= start && ch <= end) matched = true
        } else if (st.nocase ? lower(pc) === lower(sc) : pc === sc) {
          matched = true
        }
        pi++
      }
      if (negate) matched = !matched
      if (!matched) return false
      si++
    } else {
      if (c === BACKSLASH && plen - pi >= 2) pi++
      const pc = p[pi]
      const sc = s[si]
      if (st.nocase ? lower(pc) !== lower(sc) : pc !== sc) return false
      si++
    }
    pi++
    if (si === slen) {
      while (at(p, pi) === STAR) pi++
      break
    }
  }
  return pi >= plen && si === slen
}
