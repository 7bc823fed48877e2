/**
 * ACL LOG: the latest refusals (a failed AUTH, a command or key the user may not use), newest
 * first, at most 128 (redis-server's acllog-max-len). A refusal like one of the 10 newest entries
 * (same reason, context, object and user, within 60 s) bumps that entry's count instead of
 * adding one, as acl.c addACLLogEntry does, so a client retrying a wrong password fills one entry.
 */

export type DenialReason = "auth" | "command" | "key"

export interface AclLogEntry {
  count: number
  readonly reason: DenialReason
  readonly context: "toplevel" | "multi"
  /** The command name, the key, or "AUTH"/"HELLO" for a failed authentication. */
  readonly object: string
  readonly username: string
  /** When it last happened (ms). */
  at: number
  /** CLIENT LIST's line for the client that did it last. */
  clientInfo: string
}

const MAX_ENTRIES = 128
const GROUPING_MS = 60_000
const GROUPING_SCAN = 10

export class AclLog {
  /** Newest first. */
  private entries: Array<AclLogEntry> = []

  add(entry: Omit<AclLogEntry, "count">): void {
    for (let i = 0; i < Math.min(GROUPING_SCAN, this.entries.length); i++) {
      const existing = this.entries[i]
      if (
        existing.reason === entry.reason &&
        existing.context === entry.context &&
        existing.object === entry.object &&
        existing.username === entry.username &&
        Math.abs(existing.at - entry.at) <= GROUPING_MS
      ) {
        existing.count++
        existing.at = entry.at
        existing.clientInfo = entry.clientInfo
        this.entries.splice(i, 1)
        this.entries.unshift(existing)
        return
      }
    }
    this.entries.unshift({ ...entry, count: 1 })
    if (this.entries.length > MAX_ENTRIES) this.entries.length = MAX_ENTRIES
  }

  newest(count: number): ReadonlyArray<AclLogEntry> {
    return this.entries.slice(0, Math.max(0, count))
  }

  reset(): void {
    this.entries = []
  }
}
