/**
 * Expected replies as wire text (latin1, RESP2 unless a protocol is given), for tests that compare
 * what TestClient.wire returns byte for byte: encoded replies, bulk strings and arrays of them, and
 * the error texts of redis-server 7.0 that many commands share.
 */
import { encodeReply } from "../../src/resp/encode.js"
import type { Reply } from "../../src/resp/Reply.js"

/** A reply value as the encoder writes it. */
export const wire = (reply: Reply, protocol: 2 | 3 = 2): string => encodeReply(reply, protocol).toString("latin1")

/** A bulk string (its length in latin1 bytes, one per character). */
export const bulk = (value: string): string => `$${Buffer.byteLength(value, "latin1")}\r\n${value}\r\n`

/** An array of bulk strings. */
export const bulks = (...values: Array<string>): string => `*${values.length}\r\n${values.map(bulk).join("")}`

export const WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
export const NOT_INTEGER = "-ERR value is not an integer or out of range\r\n"
export const NOT_FLOAT = "-ERR value is not a valid float\r\n"
export const SYNTAX = "-ERR syntax error\r\n"
