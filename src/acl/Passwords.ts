/**
 * Passwords as redis-server keeps them: only their SHA-256 (64 lowercase hex digits, what `#<hash>`
 * in an ACL file and ACL LIST show). A candidate is hashed and compared with every stored hash
 * in constant time (`crypto.timingSafeEqual` over equal-length digests), so neither the time an
 * AUTH takes nor where a comparison stops says anything about a password's bytes or length.
 */
import * as crypto from "node:crypto"

/** The hex SHA-256 of a password (acl.c ACLHashPassword). */
export const hashPassword = (password: Uint8Array): string => crypto.createHash("sha256").update(password).digest("hex")

/** Whether `text` is a stored-password form Redis accepts after `#`: exactly 64 lowercase hex digits. */
export const isPasswordHash = (text: string): boolean => /^[0-9a-f]{64}$/.test(text)

/**
 * Whether `candidate` is one of the passwords whose hashes are `hashes`. Every hash is compared
 * (no early exit), each in constant time.
 */
export const passwordMatches = (hashes: ReadonlyArray<string>, candidate: Uint8Array): boolean => {
  const digest = crypto.createHash("sha256").update(candidate).digest()
  let matched = false
  for (const hash of hashes) {
    if (crypto.timingSafeEqual(digest, Buffer.from(hash, "hex"))) matched = true
  }
  return matched
}
