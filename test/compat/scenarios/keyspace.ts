/**
 * The keyspace, as redis-server 7.0 answers it (edge cases from redis tests/unit/keyspace.tcl and
 * scan.tcl): DEL, UNLINK, EXISTS, TYPE, RENAME, RENAMENX, COPY, TOUCH, RANDOMKEY, KEYS, SCAN, DBSIZE.
 */
import { cmd, expectReply, type Scenario, scanAll, typeOnly, unordered, shape } from "../../support/differential.js"

const NO_SUCH_KEY = "-ERR no such key\r\n"
const SAME_OBJECT = "-ERR source and destination objects are the same\r\n"

/** MSET arguments for `count` keys `prefix0..` with values `v0..`. */
const many = (prefix: string, count: number, from = 0): Array<string> =>
  Array.from({ length: count }, (_, i) => [`${prefix}${from + i}`, `v${from + i}`]).flat()

export const keyspace: ReadonlyArray<Scenario> = [
  {
    name: "DEL UNLINK EXISTS",
    follower: true,
    steps: [
      cmd("MSET", "a", "1", "b", "2", "c", "3"),
      expectReply(":2\r\n", "DEL", "a", "b", "missing"),
      expectReply(":0\r\n", "DEL", "a"),
      // EXISTS counts a key once per mention.
      expectReply(":3\r\n", "EXISTS", "c", "c", "c", "a"),
      expectReply(":1\r\n", "UNLINK", "c", "c"),
      cmd("EXISTS", "c"),
      cmd("MSET", "a", "1", "b", "2"),
      cmd("DEL", "a", "a", "b"),
      cmd("DBSIZE"),
      cmd("DEL"),
      cmd("UNLINK"),
      cmd("EXISTS")
    ]
  },
  {
    name: "TYPE of a string and of nothing",
    follower: true,
    steps: [
      expectReply("+none\r\n", "TYPE", "missing"),
      cmd("SET", "s", "v"),
      expectReply("+string\r\n", "TYPE", "s"),
      cmd("SET", "n", "42"),
      cmd("TYPE", "n"),
      cmd("TYPE"),
      cmd("TYPE", "a", "b")
    ]
  },
  {
    name: "TYPE of every type",
    steps: [
      cmd("RPUSH", "l", "a"),
      cmd("HSET", "h", "f", "v"),
      cmd("SADD", "st", "m"),
      cmd("ZADD", "z", "1", "m"),
      expectReply("+list\r\n", "TYPE", "l"),
      expectReply("+hash\r\n", "TYPE", "h"),
      expectReply("+set\r\n", "TYPE", "st"),
      expectReply("+zset\r\n", "TYPE", "z")
    ]
  },
  {
    name: "RENAME and RENAMENX",
    follower: true,
    steps: [
      cmd("SET", "a", "1"),
      expectReply("+OK\r\n", "RENAME", "a", "b"),
      cmd("GET", "b"),
      cmd("EXISTS", "a"),
      expectReply(NO_SUCH_KEY, "RENAME", "missing", "x"),
      // Renaming a key onto itself is fine when it exists.
      expectReply("+OK\r\n", "RENAME", "b", "b"),
      cmd("GET", "b"),
      expectReply(NO_SUCH_KEY, "RENAME", "missing", "missing"),
      cmd("SET", "c", "3"),
      expectReply("+OK\r\n", "RENAME", "b", "c"),
      cmd("GET", "c"),
      cmd("EXISTS", "b"),
      expectReply(":1\r\n", "RENAMENX", "c", "d"),
      cmd("SET", "e", "5"),
      expectReply(":0\r\n", "RENAMENX", "d", "e"),
      cmd("MGET", "d", "e"),
      expectReply(NO_SUCH_KEY, "RENAMENX", "missing", "x"),
      expectReply(":0\r\n", "RENAMENX", "d", "d"),
      cmd("RENAME", "d"),
      cmd("RENAMENX", "d", "e", "f"),
      cmd("DBSIZE")
    ]
  },
  {
    name: "RENAME moves other types",
    steps: [
      cmd("RPUSH", "l", "a", "b"),
      cmd("RENAME", "l", "m"),
      cmd("TYPE", "m"),
      cmd("LRANGE", "m", "0", "-1"),
      cmd("SET", "s", "v"),
      cmd("RENAME", "m", "s"),
      cmd("TYPE", "s")
    ]
  },
  {
    name: "COPY with DB and REPLACE",
    steps: [
      cmd("SET", "a", "1"),
      expectReply(":1\r\n", "COPY", "a", "b"),
      cmd("GET", "b"),
      expectReply(":0\r\n", "COPY", "a", "b"),
      cmd("SET", "a", "2"),
      expectReply(":1\r\n", "COPY", "a", "b", "REPLACE"),
      cmd("GET", "b"),
      expectReply(":0\r\n", "COPY", "missing", "x"),
      cmd("EXISTS", "x"),
      expectReply(SAME_OBJECT, "COPY", "a", "a"),
      cmd("COPY", "a", "a", "REPLACE"),
      expectReply(":1\r\n", "COPY", "a", "b", "DB", "1"),
      cmd("COPY", "a", "b", "DB", "1"),
      cmd("COPY", "a", "b", "db", "1", "replace"),
      cmd("COPY", "a", "a", "DB", "0"),
      cmd("COPY", "a", "a", "DB", "1", "REPLACE"),
      cmd("SELECT", "1"),
      cmd("GET", "b"),
      cmd("GET", "a"),
      cmd("COPY", "a", "c", "DB", "0"),
      cmd("SELECT", "0"),
      cmd("GET", "c"),
      expectReply("-ERR DB index is out of range\r\n", "COPY", "a", "b", "DB", "16"),
      cmd("COPY", "a", "b", "DB", "-1"),
      cmd("COPY", "a", "b", "DB", "x"),
      expectReply("-ERR syntax error\r\n", "COPY", "a", "b", "FOO"),
      cmd("COPY", "a", "b", "DB"),
      cmd("COPY", "a", "b", "REPLACE", "REPLACE"),
      cmd("COPY", "a"),
      cmd("DBSIZE")
    ]
  },
  {
    name: "COPY of other types",
    steps: [
      cmd("RPUSH", "l", "a", "b"),
      cmd("COPY", "l", "m"),
      cmd("RPUSH", "m", "c"),
      cmd("LRANGE", "l", "0", "-1"),
      cmd("LRANGE", "m", "0", "-1"),
      cmd("HSET", "h", "f", "v"),
      cmd("COPY", "h", "l", "REPLACE"),
      cmd("TYPE", "l")
    ]
  },
  {
    name: "TOUCH and DBSIZE",
    follower: true,
    steps: [
      expectReply(":0\r\n", "DBSIZE"),
      cmd("MSET", "a", "1", "b", "2"),
      expectReply(":2\r\n", "TOUCH", "a", "b", "missing"),
      cmd("TOUCH", "a", "a"),
      expectReply(":2\r\n", "DBSIZE"),
      cmd("DEL", "a"),
      cmd("DBSIZE"),
      cmd("TOUCH"),
      cmd("DBSIZE", "x")
    ]
  },
  {
    name: "RANDOMKEY",
    follower: true,
    steps: [
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "RANDOMKEY"),
      cmd("SET", "only", "v"),
      expectReply("$4\r\nonly\r\n", "RANDOMKEY"),
      cmd("MSET", "a", "1", "b", "2", "c", "3"),
      typeOnly("RANDOMKEY"),
      cmd("FLUSHDB"),
      cmd("RANDOMKEY"),
      cmd("RANDOMKEY", "x")
    ]
  },
  {
    name: "KEYS",
    follower: true,
    steps: [
      expectReply("*0\r\n", "KEYS", "*"),
      cmd("MSET", "key_x", "1", "key_y", "2", "key_z", "3", "foo_a", "4", "foo_b", "5", "foo_c", "6"),
      unordered("KEYS", "foo*"),
      unordered("KEYS", "*"),
      unordered("KEYS", "*_?"),
      unordered("KEYS", "key_[xy]"),
      unordered("KEYS", "key_[^x]"),
      unordered("KEYS", "[a-k]*"),
      cmd("KEYS", "nomatch*"),
      cmd("MSET", "{a}x", "1", "{a}y", "2", "{b}a", "3"),
      unordered("KEYS", "{a}*"),
      unordered("KEYS", "*{b}*"),
      cmd("SET", "", "empty key"),
      cmd("SET", "a*b", "1"),
      cmd("SET", Buffer.from("bin\x00\xff", "latin1"), "1"),
      unordered("KEYS", "*"),
      unordered("KEYS", "a\\*b"),
      unordered("KEYS", "**"),
      unordered("KEYS", ""),
      unordered("KEYS", Buffer.from("bin\x00*", "latin1")),
      cmd("KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"),
      cmd("KEYS"),
      cmd("KEYS", "a", "b")
    ]
  },
  {
    name: "KEYS against a long key and a pathological pattern",
    steps: [
      cmd("SET", "a".repeat(40), "1"),
      cmd("KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"),
      cmd("KEYS", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a"),
      cmd("SET", "a".repeat(2_000), "1"),
      cmd("KEYS", "*?".repeat(1_500)),
      cmd("DBSIZE")
    ]
  },
  {
    name: "SCAN full iterations with MATCH COUNT TYPE",
    follower: true,
    steps: [
      cmd("MSET", ...many("key:", 120)),
      cmd("MSET", ...many("other:", 30)),
      scanAll(["SCAN"]),
      scanAll(["SCAN"], ["COUNT", "5"]),
      scanAll(["SCAN"], ["COUNT", "1000"]),
      scanAll(["SCAN"], ["MATCH", "key:1*"]),
      scanAll(["SCAN"], ["MATCH", "key:1*", "COUNT", "3"]),
      scanAll(["SCAN"], ["match", "*:2?", "count", "7"]),
      scanAll(["SCAN"], ["MATCH", "nothing*"]),
      scanAll(["SCAN"], ["TYPE", "string"]),
      scanAll(["SCAN"], ["TYPE", "STRING", "MATCH", "other:*"]),
      scanAll(["SCAN"], ["TYPE", "list"]),
      scanAll(["SCAN"], ["TYPE", "nosuchtype"]),
      scanAll(["SCAN"], ["MATCH", "key:1*", "MATCH", "other:*"]),
      cmd("DEL", "key:1", "key:2"),
      scanAll(["SCAN"], ["MATCH", "key:?"]),
      cmd("DBSIZE")
    ]
  },
  {
    name: "SCAN of an empty database and of every type",
    steps: [
      expectReply("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN", "0"),
      cmd("SET", "s", "v"),
      cmd("RPUSH", "l", "a"),
      cmd("HSET", "h", "f", "v"),
      cmd("SADD", "st", "m"),
      cmd("ZADD", "z", "1", "m"),
      scanAll(["SCAN"]),
      scanAll(["SCAN"], ["TYPE", "list"]),
      scanAll(["SCAN"], ["TYPE", "hash"]),
      scanAll(["SCAN"], ["TYPE", "set"]),
      scanAll(["SCAN"], ["TYPE", "zset"]),
      scanAll(["SCAN"], ["TYPE", "string"])
    ]
  },
  {
    name: "SCAN errors",
    steps: [
      cmd("SET", "k", "v"),
      expectReply("-ERR invalid cursor\r\n", "SCAN", "x"),
      // "-1" is a valid cursor (strtoul wraps it to 2^64-1); where it lands depends on each server's
      // table size (two redis-servers disagree), so only the reply's shape is compared.
      typeOnly("SCAN", "-1"),
      cmd("SCAN", "1.5"),
      cmd("SCAN", ""),
      expectReply("-ERR syntax error\r\n", "SCAN", "0", "COUNT", "0"),
      cmd("SCAN", "0", "COUNT", "-1"),
      expectReply("-ERR value is not an integer or out of range\r\n", "SCAN", "0", "COUNT", "x"),
      cmd("SCAN", "0", "COUNT"),
      cmd("SCAN", "0", "MATCH"),
      cmd("SCAN", "0", "TYPE"),
      cmd("SCAN", "0", "FOO", "bar"),
      cmd("SCAN", "0", "MATCH", "*", "extra"),
      cmd("SCAN"),
      // Any unsigned 64-bit cursor is accepted (what it returns is the server's own business).
      typeOnly("SCAN", "18446744073709551615"),
      cmd("SCAN", "18446744073709551616")
    ]
  }
]
