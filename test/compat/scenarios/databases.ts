/**
 * The 16 databases, as redis-server 7.0 answers: SELECT, FLUSHDB, FLUSHALL, SWAPDB, MOVE, and the
 * per-database view of KEYS, SCAN, DBSIZE, RANDOMKEY and INFO keyspace.
 */
import { cmd, expectReply, on, type Scenario, scanAll, unordered } from "../../support/differential.js"

const OUT_OF_RANGE = "-ERR DB index is out of range\r\n"
const NOT_INTEGER = "-ERR value is not an integer or out of range\r\n"

export const databases: ReadonlyArray<Scenario> = [
  {
    name: "SELECT 0..15 keeps databases apart",
    follower: true,
    steps: [
      ...Array.from({ length: 16 }, (_, db) => [expectReply("+OK\r\n", "SELECT", String(db)), cmd("SET", "k", `db${db}`)]).flat(),
      ...Array.from({ length: 16 }, (_, db) => [cmd("SELECT", String(15 - db)), cmd("GET", "k"), cmd("DBSIZE")]).flat(),
      cmd("SELECT", "3"),
      cmd("SET", "only3", "x"),
      cmd("SELECT", "0"),
      cmd("GET", "only3"),
      cmd("EXISTS", "only3"),
      cmd("SELECT", "3"),
      cmd("EXISTS", "only3")
    ]
  },
  {
    name: "SELECT errors",
    steps: [
      expectReply(OUT_OF_RANGE, "SELECT", "16"),
      expectReply(OUT_OF_RANGE, "SELECT", "-1"),
      expectReply(NOT_INTEGER, "SELECT", "x"),
      cmd("SELECT", "1.0"),
      cmd("SELECT", ""),
      cmd("SELECT", "99999999999999999999"),
      cmd("SELECT", "2147483648"),
      cmd("SELECT", " 1"),
      cmd("SELECT", "01"),
      cmd("SELECT"),
      cmd("SELECT", "1", "2"),
      // A failed SELECT leaves the connection where it was.
      cmd("SET", "k", "v"),
      cmd("SELECT", "0"),
      cmd("GET", "k")
    ]
  },
  {
    name: "a new connection starts in database 0",
    steps: [
      cmd("SELECT", "5"),
      cmd("SET", "k", "five"),
      on("b", cmd("GET", "k")),
      on("b", cmd("SELECT", "5")),
      on("b", cmd("GET", "k"))
    ]
  },
  {
    name: "FLUSHDB flushes only the selected database",
    follower: true,
    steps: [
      cmd("SET", "a", "0"),
      cmd("SELECT", "1"),
      cmd("MSET", "a", "1", "b", "1"),
      expectReply("+OK\r\n", "FLUSHDB"),
      cmd("DBSIZE"),
      cmd("SELECT", "0"),
      cmd("DBSIZE"),
      cmd("GET", "a"),
      cmd("FLUSHDB", "ASYNC"),
      cmd("DBSIZE"),
      cmd("FLUSHDB", "sync"),
      expectReply("-ERR syntax error\r\n", "FLUSHDB", "FOO"),
      cmd("FLUSHDB", "SYNC", "ASYNC")
    ]
  },
  {
    name: "FLUSHALL flushes every database",
    follower: true,
    steps: [
      cmd("SET", "a", "0"),
      cmd("SELECT", "7"),
      cmd("SET", "a", "7"),
      expectReply("+OK\r\n", "FLUSHALL"),
      cmd("DBSIZE"),
      cmd("SELECT", "0"),
      cmd("DBSIZE"),
      cmd("SET", "a", "0"),
      cmd("FLUSHALL", "ASYNC"),
      cmd("DBSIZE"),
      cmd("FLUSHALL", "SYNC"),
      cmd("FLUSHALL", "FOO"),
      cmd("FLUSHALL", "SYNC", "SYNC")
    ]
  },
  {
    name: "SWAPDB",
    steps: [
      cmd("SET", "a", "in0"),
      cmd("SELECT", "1"),
      cmd("SET", "b", "in1"),
      on("b", cmd("SELECT", "1")),
      expectReply("+OK\r\n", "SWAPDB", "0", "1"),
      // Every connection on a swapped database sees the other data at once.
      cmd("GET", "a"),
      cmd("GET", "b"),
      on("b", cmd("GET", "a")),
      cmd("SELECT", "0"),
      cmd("GET", "b"),
      cmd("DBSIZE"),
      expectReply("+OK\r\n", "SWAPDB", "0", "0"),
      cmd("SWAPDB", "15", "0"),
      cmd("DBSIZE"),
      cmd("SELECT", "15"),
      cmd("GET", "b"),
      expectReply(OUT_OF_RANGE, "SWAPDB", "0", "16"),
      cmd("SWAPDB", "-1", "0"),
      cmd("SWAPDB", "44", "55"),
      expectReply("-ERR invalid first DB index\r\n", "SWAPDB", "a", "1"),
      expectReply("-ERR invalid second DB index\r\n", "SWAPDB", "1", "b"),
      cmd("SWAPDB", "a", "b"),
      // Both indexes are parsed before either is range-checked.
      expectReply("-ERR invalid second DB index\r\n", "SWAPDB", "16", "abc"),
      cmd("SWAPDB", "-1", "2147483648"),
      cmd("SWAPDB", "2147483648", "99"),
      cmd("SWAPDB", "1"),
      cmd("SWAPDB", "1", "2", "3")
    ]
  },
  {
    name: "MOVE",
    steps: [
      cmd("SET", "k", "v"),
      expectReply(":1\r\n", "MOVE", "k", "1"),
      cmd("EXISTS", "k"),
      cmd("SELECT", "1"),
      cmd("GET", "k"),
      expectReply("-ERR source and destination objects are the same\r\n", "MOVE", "k", "1"),
      expectReply(":0\r\n", "MOVE", "missing", "2"),
      cmd("SELECT", "0"),
      cmd("SET", "k", "in0"),
      cmd("SELECT", "1"),
      // The destination has the key already: nothing moves.
      expectReply(":0\r\n", "MOVE", "k", "0"),
      cmd("GET", "k"),
      cmd("SET", "t", "v", "EX", "100"),
      cmd("MOVE", "t", "2"),
      cmd("SELECT", "2"),
      cmd("TTL", "t"),
      expectReply(OUT_OF_RANGE, "MOVE", "t", "16"),
      cmd("MOVE", "t", "-1"),
      expectReply(NOT_INTEGER, "MOVE", "t", "x"),
      cmd("MOVE", "t"),
      cmd("MOVE", "t", "1", "2")
    ]
  },
  {
    name: "KEYS SCAN DBSIZE RANDOMKEY per database",
    steps: [
      cmd("MSET", "a", "1", "b", "2"),
      cmd("SELECT", "9"),
      cmd("MSET", "x", "1", "y", "2", "z", "3"),
      unordered("KEYS", "*"),
      scanAll(["SCAN"]),
      cmd("DBSIZE"),
      cmd("SELECT", "0"),
      unordered("KEYS", "*"),
      scanAll(["SCAN"], ["COUNT", "1"]),
      cmd("DEL", "a"),
      cmd("RANDOMKEY"),
      cmd("SELECT", "4"),
      cmd("RANDOMKEY"),
      cmd("KEYS", "*")
    ]
  },
  {
    name: "INFO keyspace",
    steps: [
      expectReply({ 2: "$12\r\n# Keyspace\r\n\r\n", 3: "=16\r\ntxt:# Keyspace\r\n\r\n" }, "INFO", "keyspace"),
      cmd("MSET", "a", "1", "b", "2"),
      cmd("SELECT", "12"),
      cmd("SET", "c", "3"),
      cmd("INFO", "keyspace"),
      cmd("SET", "d", "4", "PXAT", "4102444800000"),
      cmd("FLUSHALL"),
      cmd("INFO", "keyspace")
    ]
  }
]
