/**
 * Hashes, as redis-server 7.0 answers them (edge cases from redis tests/unit/type/hash.tcl): every
 * hash command with its errors, WRONGTYPE both ways, RESP3 reply types (HGETALL a map, HRANDFIELD
 * WITHVALUES pairs), a hash that empties disappears. Field order is unspecified (redis-server keeps
 * small hashes in insertion order, raft-kv in hash order), so whole-hash replies compare unordered,
 * random ones by shape, and HSCAN as full iterations.
 */
import { cmd, expectReply, type Scenario, scanAll, shape, sleep, unordered } from "../../support/differential.js"

const WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

/** HSET arguments for `count` fields f0.. with values v0... */
const fields = (count: number, from = 0): Array<string> => Array.from({ length: count }, (_, i) => [`f${from + i}`, `v${from + i}`]).flat()

export const hashes: ReadonlyArray<Scenario> = [
  {
    name: "HSET HGET HMGET HMSET HSETNX HLEN HEXISTS HSTRLEN",
    follower: true,
    steps: [
      expectReply(":2\r\n", "HSET", "h", "a", "1", "b", "2"),
      expectReply(":1\r\n", "HSET", "h", "a", "3", "c", "4", "a", "5"),
      expectReply("$1\r\n5\r\n", "HGET", "h", "a"),
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "HGET", "h", "zz"),
      cmd("HGET", "nokey", "a"),
      expectReply({ 2: "*3\r\n$1\r\n5\r\n$-1\r\n$1\r\n2\r\n", 3: "*3\r\n$1\r\n5\r\n_\r\n$1\r\n2\r\n" }, "HMGET", "h", "a", "zz", "b"),
      cmd("HMGET", "nokey", "a", "b"),
      expectReply(":3\r\n", "HLEN", "h"),
      cmd("HLEN", "nokey"),
      cmd("HEXISTS", "h", "a"),
      cmd("HEXISTS", "h", "zz"),
      cmd("HSTRLEN", "h", "a"),
      cmd("HSTRLEN", "h", "zz"),
      cmd("HSTRLEN", "nokey", "zz"),
      expectReply(":0\r\n", "HSETNX", "h", "a", "9"),
      expectReply(":1\r\n", "HSETNX", "h", "d", "9"),
      cmd("HSETNX", "fresh", "f", "v"),
      expectReply("+OK\r\n", "HMSET", "h", "x", "1", "y", "2"),
      cmd("HLEN", "h"),
      expectReply("+hash\r\n", "TYPE", "h"),
      unordered("HGETALL", "h"),
      unordered("HKEYS", "h"),
      unordered("HVALS", "h"),
      cmd("HGETALL", "nokey"),
      cmd("HKEYS", "nokey"),
      cmd("HVALS", "nokey")
    ]
  },
  {
    name: "HSET and HMSET argument counts, HSETNX arity",
    steps: [
      expectReply("-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h"),
      cmd("HSET", "h", "a"),
      expectReply("-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h", "a", "1", "b"),
      expectReply("-ERR wrong number of arguments for 'hmset' command\r\n", "HMSET", "h", "a", "1", "b"),
      cmd("HSETNX", "h", "a"),
      cmd("HGET", "h"),
      cmd("HMGET", "h"),
      cmd("HDEL", "h"),
      cmd("HLEN"),
      cmd("HGETALL", "h", "x"),
      cmd("EXISTS", "h")
    ]
  },
  {
    name: "HDEL, and a hash whose last field goes disappears",
    follower: true,
    steps: [
      cmd("HSET", "h", "a", "1", "b", "2", "c", "3"),
      expectReply(":0\r\n", "HDEL", "h", "zz"),
      expectReply(":2\r\n", "HDEL", "h", "a", "a", "b"),
      cmd("HLEN", "h"),
      cmd("HDEL", "nokey", "a"),
      expectReply(":1\r\n", "HDEL", "h", "c", "d"),
      expectReply(":0\r\n", "EXISTS", "h"),
      expectReply("+none\r\n", "TYPE", "h"),
      cmd("DBSIZE"),
      cmd("HSET", "h", "again", "1"),
      cmd("HGETALL", "h")
    ]
  },
  {
    name: "HINCRBY and HINCRBYFLOAT",
    follower: true,
    steps: [
      expectReply(":5\r\n", "HINCRBY", "h", "n", "5"),
      cmd("HINCRBY", "h", "n", "-10"),
      expectReply("-ERR value is not an integer or out of range\r\n", "HINCRBY", "h", "n", "x"),
      cmd("HINCRBY", "h", "n", "1.5"),
      cmd("HSET", "h", "max", "9223372036854775807", "min", "-9223372036854775808", "s", "abc", "lead", "007", "space", " 1"),
      expectReply("-ERR increment or decrement would overflow\r\n", "HINCRBY", "h", "max", "1"),
      cmd("HINCRBY", "h", "min", "-1"),
      cmd("HINCRBY", "h", "max", "-9223372036854775808"),
      expectReply("-ERR hash value is not an integer\r\n", "HINCRBY", "h", "s", "1"),
      cmd("HINCRBY", "h", "lead", "1"),
      cmd("HINCRBY", "h", "space", "1"),
      expectReply("$3\r\n0.1\r\n", "HINCRBYFLOAT", "h", "f", "0.1"),
      expectReply("$3\r\n0.3\r\n", "HINCRBYFLOAT", "h", "f", "0.2"),
      cmd("HINCRBYFLOAT", "h", "f", "-0.3"),
      cmd("HINCRBYFLOAT", "h", "f", "1e3"),
      cmd("HINCRBYFLOAT", "h", "f", "1.23e-5"),
      cmd("HINCRBYFLOAT", "h", "f", "0x10"),
      expectReply("-ERR value is NaN or Infinity\r\n", "HINCRBYFLOAT", "h", "f", "inf"),
      cmd("HINCRBYFLOAT", "h", "f", "-Infinity"),
      expectReply("-ERR value is not a valid float\r\n", "HINCRBYFLOAT", "h", "f", "nan"),
      cmd("HINCRBYFLOAT", "h", "f", "x"),
      cmd("HINCRBYFLOAT", "h", "f", "1e5000"),
      expectReply("-ERR hash value is not a float\r\n", "HINCRBYFLOAT", "h", "s", "1"),
      cmd("HINCRBYFLOAT", "h", "n", "2.5"),
      cmd("HINCRBY", "h", "n", "1"),
      cmd("HSET", "h", "inf", "inf", "big", "1e400"),
      expectReply("-ERR increment would produce NaN or Infinity\r\n", "HINCRBYFLOAT", "h", "inf", "1"),
      cmd("HINCRBYFLOAT", "h", "big", "1"),
      cmd("HINCRBYFLOAT", "fresh", "f", "10.50"),
      cmd("HGET", "h", "f"),
      cmd("HGET", "h", "min")
    ]
  },
  {
    name: "WRONGTYPE between hashes and other types",
    follower: true,
    steps: [
      cmd("SET", "str", "v"),
      cmd("SADD", "set", "m"),
      cmd("HSET", "h", "f", "v"),
      expectReply(WRONGTYPE, "HSET", "str", "a", "1"),
      cmd("HMSET", "set", "a", "1"),
      cmd("HSETNX", "str", "a", "1"),
      cmd("HGET", "str", "a"),
      cmd("HMGET", "set", "a"),
      cmd("HDEL", "str", "a"),
      cmd("HLEN", "set"),
      cmd("HEXISTS", "str", "a"),
      cmd("HSTRLEN", "str", "a"),
      cmd("HINCRBY", "set", "a", "1"),
      cmd("HINCRBY", "set", "a", "x"),
      cmd("HINCRBYFLOAT", "str", "a", "1"),
      cmd("HINCRBYFLOAT", "str", "a", "inf"),
      cmd("HKEYS", "str"),
      cmd("HVALS", "set"),
      cmd("HGETALL", "str"),
      cmd("HRANDFIELD", "str"),
      cmd("HRANDFIELD", "set", "2"),
      cmd("HRANDFIELD", "set", "x"),
      cmd("HSCAN", "str", "0"),
      cmd("HSCAN", "str", "0", "COUNT", "0"),
      expectReply(WRONGTYPE, "GET", "h"),
      cmd("APPEND", "h", "x"),
      cmd("INCR", "h"),
      cmd("SADD", "h", "m"),
      cmd("SMEMBERS", "h"),
      cmd("MGET", "h", "str"),
      cmd("SET", "h", "overwritten"),
      cmd("TYPE", "h"),
      cmd("GET", "h")
    ]
  },
  {
    name: "HRANDFIELD",
    steps: [
      cmd("HSET", "one", "f", "v"),
      expectReply("$1\r\nf\r\n", "HRANDFIELD", "one"),
      cmd("HRANDFIELD", "one", "5"),
      cmd("HRANDFIELD", "one", "1", "WITHVALUES"),
      expectReply({ 2: "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n", 3: "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n" }, "HRANDFIELD", "one", "-2", "WITHVALUES"),
      cmd("HRANDFIELD", "one", "-3"),
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "HRANDFIELD", "nokey"),
      expectReply("*0\r\n", "HRANDFIELD", "nokey", "3"),
      cmd("HRANDFIELD", "nokey", "3", "WITHVALUES"),
      cmd("HRANDFIELD", "nokey", "-3"),
      cmd("HSET", "h", ...fields(20)),
      shape("HRANDFIELD", "h"),
      shape("HRANDFIELD", "h", "5"),
      shape("HRANDFIELD", "h", "-30"),
      shape("HRANDFIELD", "h", "5", "WITHVALUES"),
      shape("HRANDFIELD", "h", "-7", "WITHVALUES"),
      unordered("HRANDFIELD", "h", "20"),
      unordered("HRANDFIELD", "h", "100"),
      cmd("HRANDFIELD", "h", "0"),
      cmd("HRANDFIELD", "h", "0", "WITHVALUES"),
      expectReply("-ERR value is not an integer or out of range\r\n", "HRANDFIELD", "h", "x"),
      cmd("HRANDFIELD", "nokey", "x"),
      cmd("HRANDFIELD", "h", "1.5"),
      expectReply("-ERR syntax error\r\n", "HRANDFIELD", "h", "1", "WITHVALUE"),
      cmd("HRANDFIELD", "h", "1", "WITHVALUES", "x"),
      expectReply("-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n", "HRANDFIELD", "h", "-9223372036854775808"),
      expectReply("-ERR value is out of range\r\n", "HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
      cmd("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
      unordered("HRANDFIELD", "h", "9223372036854775807")
    ]
  },
  {
    name: "HSCAN",
    follower: true,
    steps: [
      cmd("HSET", "small", "a", "1", "b", "2", "c", "3"),
      scanAll(["HSCAN", "small"], [], { pairs: true }),
      scanAll(["HSCAN", "small"], ["MATCH", "a*"], { pairs: true }),
      scanAll(["HSCAN", "small"], ["COUNT", "1"], { pairs: true }),
      expectReply("*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "nokey", "0"),
      // A missing key answers an empty page before the options are read.
      cmd("HSCAN", "nokey", "0", "BOGUS"),
      expectReply("-ERR invalid cursor\r\n", "HSCAN", "nokey", "x"),
      cmd("HSCAN", "small", "x"),
      expectReply("-ERR syntax error\r\n", "HSCAN", "small", "0", "COUNT", "0"),
      cmd("HSCAN", "small", "0", "COUNT", "x"),
      cmd("HSCAN", "small", "0", "NOVALUES"),
      cmd("HSCAN", "small", "0", "TYPE", "hash"),
      cmd("HSCAN", "small", "0", "MATCH"),
      cmd("HSET", "large", ...fields(500)),
      cmd("HSET", "large", ...fields(500, 500)),
      scanAll(["HSCAN", "large"], [], { pairs: true }),
      scanAll(["HSCAN", "large"], ["COUNT", "7"], { pairs: true }),
      scanAll(["HSCAN", "large"], ["MATCH", "f1?", "COUNT", "50"], { pairs: true }),
      scanAll(["HSCAN", "large"], ["MATCH", "nothing*", "COUNT", "1000"], { pairs: true })
    ]
  },
  {
    name: "hashes with EXPIRE, RENAME, COPY and DEL",
    follower: true,
    steps: [
      cmd("HSET", "h", "a", "1", "b", "2"),
      cmd("EXPIRE", "h", "100"),
      cmd("TTL", "h"),
      cmd("HSET", "h", "c", "3"),
      // Writing a field keeps the hash's time to live.
      cmd("TTL", "h"),
      cmd("RENAME", "h", "h2"),
      unordered("HGETALL", "h2"),
      cmd("TTL", "h2"),
      cmd("COPY", "h2", "h3"),
      cmd("HSET", "h3", "a", "changed"),
      cmd("HGET", "h2", "a"),
      cmd("HGET", "h3", "a"),
      cmd("PERSIST", "h3"),
      cmd("TTL", "h3"),
      cmd("DEL", "h2", "h3"),
      cmd("EXISTS", "h2", "h3"),
      cmd("HSET", "h", "x", "1"),
      cmd("PEXPIRE", "h", "1"),
      sleep(20),
      cmd("HGET", "h", "x"),
      cmd("HLEN", "h"),
      cmd("EXISTS", "h")
    ]
  },
  {
    name: "hashes in MULTI/EXEC",
    steps: [
      cmd("MULTI"),
      cmd("HSET", "h", "a", "1"),
      cmd("HINCRBY", "h", "a", "x"),
      cmd("HINCRBY", "h", "a", "41"),
      cmd("HGET", "h", "a"),
      cmd("HGETALL", "h"),
      cmd("EXEC"),
      cmd("MULTI"),
      cmd("HSET", "h", "a"),
      cmd("EXEC")
    ]
  },
  {
    name: "binary-safe fields and values",
    steps: [
      cmd("HSET", "h", Buffer.from([0, 255, 13, 10]), Buffer.from([1, 0, 2, 13, 10]), "", "empty field"),
      cmd("HGET", "h", Buffer.from([0, 255, 13, 10])),
      cmd("HGET", "h", ""),
      cmd("HSTRLEN", "h", ""),
      unordered("HKEYS", "h")
    ]
  }
]
