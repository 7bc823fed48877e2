/**
 * Expiry, as redis-server 7.0 answers it (edge cases from redis tests/unit/expire.tcl): EXPIRE,
 * PEXPIRE, EXPIREAT, PEXPIREAT with NX XX GT LT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.
 * Remaining TTLs depend on timing, so they are compared with a tolerance (`near`) on large TTLs;
 * absolute times in 2100 and the -1/-2 answers compare exactly.
 */
import { cmd, expectReply, near, type Scenario, sleep } from "../../support/differential.js"

const FUTURE_S = "4102444800" // 2100-01-01T00:00:00Z
const NX_XX_GT_LT = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
const GT_LT = "-ERR GT and LT options at the same time are not compatible\r\n"
const invalid = (command: string) => `-ERR invalid expire time in '${command}' command\r\n`

/** The option checks of one of the four EXPIRE commands, with `t1 < t2` in its own unit. */
const expireOptions = (command: string, t1: string, t2: string, tolerance: number, ttl: "TTL" | "PTTL") => [
  // NX: only when the key has no expiry.
  cmd("SET", "k", "v"),
  expectReply(":1\r\n", command, "k", t1, "NX"),
  expectReply(":0\r\n", command, "k", t2, "NX"),
  near(tolerance, ttl, "k"),
  // XX: only when it has one.
  cmd("SET", "k", "v"),
  expectReply(":0\r\n", command, "k", t1, "XX"),
  expectReply(":-1\r\n", "TTL", "k"),
  cmd(command, "k", t1),
  expectReply(":1\r\n", command, "k", t2, "XX"),
  near(tolerance, ttl, "k"),
  // GT: only a later expiry; no expiry counts as infinite, so GT never sets one.
  expectReply(":0\r\n", command, "k", t1, "GT"),
  near(tolerance, ttl, "k"),
  cmd("SET", "k", "v"),
  expectReply(":0\r\n", command, "k", t2, "GT"),
  expectReply(":-1\r\n", "TTL", "k"),
  // LT: only an earlier one; any expiry is earlier than none.
  expectReply(":1\r\n", command, "k", t2, "LT"),
  expectReply(":1\r\n", command, "k", t1, "lt"),
  expectReply(":0\r\n", command, "k", t2, "LT"),
  near(tolerance, ttl, "k"),
  cmd(command, "k", t2, "XX", "GT"),
  cmd(command, "k", t1, "XX", "LT"),
  cmd(command, "k", t2, "GT", "XX"),
  near(tolerance, ttl, "k"),
  // Options on a missing key: 0 whatever they say.
  cmd(command, "missing", t1, "NX"),
  cmd(command, "missing", t1, "LT"),
  expectReply(NX_XX_GT_LT, command, "k", t1, "NX", "XX"),
  cmd(command, "k", t1, "NX", "GT"),
  cmd(command, "k", t1, "LT", "NX"),
  expectReply(GT_LT, command, "k", t1, "GT", "LT"),
  cmd(command, "k", t1, "NX", "NX"),
  cmd(command, "k", t1, "GT", "GT"),
  expectReply("-ERR Unsupported option FOO\r\n", command, "k", t1, "FOO"),
  cmd(command, "k", t1, "NX", "bar"),
  near(tolerance, ttl, "k")
]

export const expiry: ReadonlyArray<Scenario> = [
  {
    name: "EXPIRE TTL PTTL PERSIST",
    follower: true,
    steps: [
      cmd("SET", "k", "v"),
      expectReply(":-1\r\n", "TTL", "k"),
      expectReply(":-1\r\n", "PTTL", "k"),
      expectReply(":-2\r\n", "TTL", "missing"),
      expectReply(":-2\r\n", "PTTL", "missing"),
      expectReply(":1\r\n", "EXPIRE", "k", "100"),
      near(2, "TTL", "k"),
      near(2_000, "PTTL", "k"),
      expectReply(":1\r\n", "EXPIRE", "k", "200"),
      near(2, "TTL", "k"),
      expectReply(":0\r\n", "EXPIRE", "missing", "100"),
      expectReply(":1\r\n", "PERSIST", "k"),
      expectReply(":0\r\n", "PERSIST", "k"),
      expectReply(":0\r\n", "PERSIST", "missing"),
      expectReply(":-1\r\n", "TTL", "k"),
      cmd("GET", "k"),
      cmd("PEXPIRE", "k", "100000"),
      near(2, "TTL", "k"),
      near(2_000, "PTTL", "k"),
      cmd("PERSIST", "k"),
      cmd("PTTL", "k")
    ]
  },
  {
    name: "EXPIRE zero or negative deletes the key",
    follower: true,
    steps: [
      cmd("SET", "k", "v"),
      expectReply(":1\r\n", "EXPIRE", "k", "0"),
      expectReply(":0\r\n", "EXISTS", "k"),
      cmd("SET", "k", "v"),
      cmd("EXPIRE", "k", "-10"),
      cmd("GET", "k"),
      cmd("SET", "k", "v"),
      cmd("PEXPIRE", "k", "-1"),
      cmd("EXISTS", "k"),
      cmd("SET", "k", "v"),
      cmd("EXPIREAT", "k", "1"),
      cmd("EXISTS", "k"),
      cmd("SET", "k", "v"),
      cmd("PEXPIREAT", "k", "1000"),
      cmd("EXISTS", "k"),
      cmd("SET", "k", "v"),
      cmd("EXPIREAT", "k", "0"),
      cmd("EXISTS", "k"),
      cmd("EXPIRE", "k", "0"),
      cmd("DBSIZE")
    ]
  },
  {
    name: "EXPIREAT PEXPIREAT EXPIRETIME PEXPIRETIME",
    steps: [
      cmd("SET", "k", "v"),
      expectReply(":-1\r\n", "EXPIRETIME", "k"),
      expectReply(":-1\r\n", "PEXPIRETIME", "k"),
      expectReply(":-2\r\n", "EXPIRETIME", "missing"),
      expectReply(":-2\r\n", "PEXPIRETIME", "missing"),
      expectReply(":1\r\n", "EXPIREAT", "k", FUTURE_S),
      expectReply(`:${FUTURE_S}\r\n`, "EXPIRETIME", "k"),
      expectReply(`:${FUTURE_S}000\r\n`, "PEXPIRETIME", "k"),
      cmd("PEXPIREAT", "k", `${FUTURE_S}123`),
      cmd("PEXPIRETIME", "k"),
      // EXPIRETIME rounds to the nearest second.
      cmd("EXPIRETIME", "k"),
      cmd("PEXPIREAT", "k", `${FUTURE_S}500`),
      cmd("EXPIRETIME", "k"),
      cmd("PEXPIREAT", "k", `${FUTURE_S}499`),
      cmd("EXPIRETIME", "k"),
      near(3, "TTL", "k"),
      expectReply(":0\r\n", "EXPIREAT", "missing", FUTURE_S),
      cmd("EXPIRE", "k", "100"),
      near(3, "EXPIRETIME", "k"),
      near(3_000, "PEXPIRETIME", "k")
    ]
  },
  { name: "EXPIRE NX XX GT LT", steps: expireOptions("EXPIRE", "100", "200", 2, "TTL") },
  { name: "PEXPIRE NX XX GT LT", steps: expireOptions("PEXPIRE", "100000", "200000", 2_000, "PTTL") },
  { name: "EXPIREAT NX XX GT LT", steps: expireOptions("EXPIREAT", FUTURE_S, String(Number(FUTURE_S) + 100), 2, "TTL") },
  { name: "PEXPIREAT NX XX GT LT", steps: expireOptions("PEXPIREAT", `${FUTURE_S}000`, `${FUTURE_S}100`, 2_000, "PTTL") },
  {
    name: "EXPIRE GT LT with an expiry in the past deletes",
    steps: [
      cmd("SET", "k", "v", "EX", "100"),
      cmd("EXPIRE", "k", "-1", "GT"),
      cmd("EXISTS", "k"),
      cmd("EXPIRE", "k", "-1", "LT"),
      cmd("EXISTS", "k"),
      cmd("SET", "k", "v"),
      cmd("EXPIRE", "k", "0", "XX"),
      cmd("EXISTS", "k"),
      cmd("EXPIRE", "k", "0", "NX"),
      cmd("EXISTS", "k")
    ]
  },
  {
    name: "EXPIRE errors and big values",
    steps: [
      cmd("SET", "k", "v"),
      expectReply("-ERR value is not an integer or out of range\r\n", "EXPIRE", "k", "x"),
      cmd("EXPIRE", "k", ""),
      cmd("EXPIRE", "k", "1.5"),
      cmd("PEXPIRE", "k", "100.0"),
      cmd("EXPIREAT", "k", "x"),
      // Overflows when converted to milliseconds or added to the current time.
      expectReply(invalid("expire"), "EXPIRE", "k", "9223370399119966"),
      cmd("EXPIRE", "k", "9223372036854776"),
      cmd("EXPIRE", "k", "10000000000000000"),
      cmd("EXPIRE", "k", "18446744073709561"),
      expectReply(invalid("pexpire"), "PEXPIRE", "k", "9223372036854770000"),
      cmd("EXPIRE", "k", "-9223372036854776"),
      cmd("EXPIRE", "k", "-9999999999999999"),
      cmd("EXPIREAT", "k", "9223372036854775807"),
      expectReply(":-1\r\n", "TTL", "k"),
      expectReply(":1\r\n", "PEXPIREAT", "k", "9223372036854770000"),
      cmd("PEXPIRETIME", "k"),
      cmd("PEXPIREAT", "k", "-9223372036854770000"),
      expectReply(":-2\r\n", "TTL", "k"),
      cmd("EXPIRE", "k"),
      cmd("EXPIRE"),
      cmd("PEXPIREAT", "k"),
      cmd("TTL"),
      cmd("TTL", "a", "b"),
      cmd("PTTL"),
      cmd("PERSIST"),
      cmd("PERSIST", "a", "b"),
      cmd("EXPIRETIME"),
      cmd("PEXPIRETIME", "a", "b")
    ]
  },
  {
    name: "which writes keep or clear a TTL",
    steps: [
      cmd("SET", "k", "v", "EX", "100"),
      cmd("APPEND", "k", "x"),
      near(2, "TTL", "k"),
      cmd("SETRANGE", "k", "0", "y"),
      near(2, "TTL", "k"),
      cmd("SET", "n", "1", "EX", "100"),
      cmd("INCR", "n"),
      cmd("DECRBY", "n", "2"),
      cmd("INCRBYFLOAT", "n", "1.5"),
      near(2, "TTL", "n"),
      cmd("SET", "k", "v"),
      expectReply(":-1\r\n", "TTL", "k"),
      cmd("SETEX", "k", "100", "v"),
      cmd("GETSET", "k", "w"),
      cmd("TTL", "k"),
      cmd("SETEX", "k", "100", "v"),
      cmd("MSET", "k", "w"),
      cmd("TTL", "k"),
      cmd("SETEX", "k", "100", "v"),
      cmd("SETNX", "k", "w"),
      near(2, "TTL", "k"),
      cmd("SETEX", "k", "100", "v"),
      cmd("RENAME", "k", "r"),
      near(2, "TTL", "r"),
      cmd("TTL", "k"),
      cmd("SET", "other", "x"),
      cmd("RENAME", "other", "r"),
      cmd("TTL", "r"),
      cmd("SETEX", "c", "100", "v"),
      cmd("COPY", "c", "d"),
      near(2, "TTL", "d"),
      cmd("GETEX", "d", "PERSIST"),
      cmd("TTL", "d"),
      near(2, "TTL", "c")
    ]
  },
  {
    name: "keys expire after their time",
    follower: true,
    steps: [
      cmd("SET", "a", "v", "PX", "100"),
      cmd("PSETEX", "b", "100", "v"),
      cmd("SET", "c", "v"),
      cmd("PEXPIRE", "c", "100"),
      cmd("SET", "keep", "v"),
      // (No read before the sleep: a slow write could already be past 100 ms.)
      sleep(400),
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "GET", "a"),
      cmd("EXISTS", "a", "b", "c", "keep"),
      expectReply(":-2\r\n", "TTL", "b"),
      cmd("PTTL", "c"),
      cmd("KEYS", "*"),
      cmd("MGET", "a", "b", "c", "keep"),
      cmd("STRLEN", "a"),
      cmd("APPEND", "a", "new"),
      cmd("TTL", "a"),
      cmd("GET", "a"),
      cmd("INCR", "b"),
      cmd("TTL", "b"),
      cmd("SETNX", "c", "again"),
      cmd("GET", "c"),
      // Expiring does not resurrect: EXPIRE on the expired key answers 0.
      cmd("SET", "d", "v", "PX", "50"),
      sleep(200),
      expectReply(":0\r\n", "EXPIRE", "d", "100"),
      cmd("EXISTS", "d")
    ]
  }
]
