/**
 * Reply types, one command per type, checked byte for byte on RESP2 and on RESP3 (redis-server 7.0):
 * null (`$-1`/`*-1` vs `_`), map (`%`), set (`~`), double (`,`), verbatim (`=`); and the
 * replies that stay RESP2-shaped on RESP3 (INCRBYFLOAT's bulk string, TIME's and SCAN's arrays).
 * 7.0 sends no boolean (`#`) or big number (`(`) from any of the issue-12 commands.
 */
import { cmd, expectReply, type Scenario, shape, unordered } from "../../support/differential.js"

export const resp3: ReadonlyArray<Scenario> = [
  {
    name: "reply types of the string and keyspace commands",
    follower: true,
    steps: [
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "GET", "missing"),
      expectReply({ 2: "*1\r\n$-1\r\n", 3: "*1\r\n_\r\n" }, "MGET", "missing"),
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "SET", "k", "v", "NX", "GET"),
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "SET", "k2", "v", "XX"),
      expectReply("$3\r\n1.5\r\n", "INCRBYFLOAT", "f", "1.5"),
      expectReply("+string\r\n", "TYPE", "k"),
      expectReply(":-2\r\n", "TTL", "missing"),
      expectReply("*1\r\n$1\r\nk\r\n", "KEYS", "k"),
      expectReply("*2\r\n$1\r\n0\r\n*0\r\n", "SCAN", "0", "MATCH", "nothing"),
      shape("TIME"),
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "CLIENT", "GETNAME"),
      expectReply({ 2: "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n", 3: "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n" }, "CONFIG", "GET", "maxmemory"),
      expectReply({ 2: "*0\r\n", 3: "%0\r\n" }, "CONFIG", "GET", "nosuchparameter"),
      shape("HELLO")
    ]
  },
  {
    name: "reply types of WATCH and EXEC",
    steps: [
      cmd("WATCH", "k"),
      cmd("SET", "k", "v"),
      cmd("MULTI"),
      cmd("GET", "k"),
      expectReply({ 2: "*-1\r\n", 3: "_\r\n" }, "EXEC")
    ]
  },
  {
    name: "reply types of sets, hashes and sorted sets",
    steps: [
      expectReply({ 2: "*0\r\n", 3: "~0\r\n" }, "SMEMBERS", "missing"),
      cmd("SADD", "s", "a", "b", "c"),
      unordered("SMEMBERS", "s"),
      expectReply({ 2: "*0\r\n", 3: "%0\r\n" }, "HGETALL", "missing"),
      cmd("HSET", "h", "f1", "v1", "f2", "v2"),
      unordered("HGETALL", "h"),
      cmd("ZADD", "z", "1.5", "a", "2", "b"),
      expectReply({ 2: "$3\r\n1.5\r\n", 3: ",1.5\r\n" }, "ZSCORE", "z", "a"),
      expectReply({ 2: "*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n", 3: "*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n" }, "ZRANGE", "z", "0", "-1", "WITHSCORES"),
      cmd("ZINCRBY", "z", "0.1", "a"),
      cmd("HINCRBYFLOAT", "h", "n", "1.5")
    ]
  }
]
