/**
 * Lists, as redis-server 7.0 answers them (cases from redis tests/unit/type/list.tcl): every list
 * command with negative indexes, empty ranges, counts, errors and WRONGTYPE; the blocking commands
 * answered at once, inside MULTI, woken by a push from another connection (also across nodes: the
 * follower runs block on a follower and push through the leader), served in the order they
 * blocked, holding back the connection's later commands, and timing out (RESP3 null).
 */
import { cmd, expectReply, receive, send, type Scenario, on, waitBlocked } from "../../support/differential.js"

const WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
const NULL_BULK = { 2: "$-1\r\n", 3: "_\r\n" }
const NULL_ARRAY = { 2: "*-1\r\n", 3: "_\r\n" }

export const lists: ReadonlyArray<Scenario> = [
  {
    name: "list pushes and pops",
    follower: true,
    steps: [
      expectReply(":3\r\n", "RPUSH", "l", "a", "b", "c"),
      expectReply(":5\r\n", "LPUSH", "l", "y", "x"),
      cmd("LPUSHX", "l", "w"),
      cmd("RPUSHX", "l", "d", "e"),
      cmd("LPUSHX", "missing", "a"),
      cmd("RPUSHX", "missing", "a"),
      cmd("LRANGE", "l", "0", "-1"),
      expectReply("$1\r\nw\r\n", "LPOP", "l"),
      cmd("RPOP", "l"),
      expectReply("*2\r\n$1\r\nx\r\n$1\r\ny\r\n", "LPOP", "l", "2"),
      expectReply("*2\r\n$1\r\nd\r\n$1\r\nc\r\n", "RPOP", "l", "2"),
      expectReply("*0\r\n", "LPOP", "l", "0"),
      cmd("RPOP", "l", "10"),
      expectReply(":0\r\n", "EXISTS", "l"),
      expectReply(NULL_BULK, "LPOP", "l"),
      expectReply(NULL_ARRAY, "RPOP", "l", "1"),
      expectReply(NULL_ARRAY, "LPOP", "l", "0"),
      cmd("LPOP", "l", "-1"),
      cmd("LPOP", "l", "x"),
      cmd("LPOP", "l", "1", "2"),
      cmd("RPUSH", "l"),
      cmd("LPOP")
    ]
  },
  {
    name: "list reads: LLEN LINDEX LRANGE LPOS",
    follower: true,
    steps: [
      cmd("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"),
      cmd("LLEN", "l"),
      cmd("LLEN", "missing"),
      cmd("LINDEX", "l", "0"),
      cmd("LINDEX", "l", "-1"),
      cmd("LINDEX", "l", "-8"),
      expectReply(NULL_BULK, "LINDEX", "l", "8"),
      cmd("LINDEX", "l", "-9"),
      cmd("LINDEX", "missing", "x"),
      cmd("LINDEX", "l", "x"),
      cmd("LRANGE", "l", "0", "-1"),
      cmd("LRANGE", "l", "-3", "-2"),
      cmd("LRANGE", "l", "-100", "2"),
      cmd("LRANGE", "l", "6", "100"),
      cmd("LRANGE", "l", "5", "4"),
      cmd("LRANGE", "l", "8", "9"),
      cmd("LRANGE", "missing", "0", "-1"),
      cmd("LRANGE", "missing", "a", "-1"),
      cmd("LRANGE", "l", "0", "9223372036854775808"),
      expectReply(":2\r\n", "LPOS", "l", "c"),
      cmd("LPOS", "l", "c", "RANK", "2"),
      cmd("LPOS", "l", "c", "RANK", "-1"),
      cmd("LPOS", "l", "c", "COUNT", "2"),
      cmd("LPOS", "l", "c", "RANK", "-1", "COUNT", "0"),
      cmd("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"),
      cmd("LPOS", "l", "c", "MAXLEN", "2"),
      cmd("LPOS", "l", "z"),
      cmd("LPOS", "l", "z", "COUNT", "0"),
      cmd("LPOS", "missing", "c"),
      cmd("LPOS", "missing", "c", "COUNT", "0"),
      cmd("LPOS", "l", "c", "RANK", "0"),
      cmd("LPOS", "l", "c", "COUNT", "-1"),
      cmd("LPOS", "l", "c", "MAXLEN", "-1"),
      cmd("LPOS", "l", "c", "RANK"),
      cmd("LPOS", "l", "c", "BOGUS", "1")
    ]
  },
  {
    name: "LSET LTRIM LREM LINSERT",
    steps: [
      cmd("LSET", "missing", "0", "v"),
      cmd("LSET", "missing", "x", "v"),
      cmd("RPUSH", "l", "a", "b", "a", "c", "a", "b"),
      cmd("LSET", "l", "0", "A"),
      cmd("LSET", "l", "-1", "B"),
      expectReply("-ERR index out of range\r\n", "LSET", "l", "6", "x"),
      cmd("LSET", "l", "-7", "x"),
      cmd("LSET", "l", "x", "x"),
      cmd("LRANGE", "l", "0", "-1"),
      cmd("LREM", "l", "1", "a"),
      cmd("LREM", "l", "-1", "b"),
      cmd("LRANGE", "l", "0", "-1"),
      cmd("LREM", "l", "0", "a"),
      cmd("LREM", "l", "0", "nope"),
      cmd("LREM", "missing", "0", "a"),
      cmd("LREM", "l", "x", "a"),
      cmd("LRANGE", "l", "0", "-1"),
      expectReply(":4\r\n", "LINSERT", "l", "BEFORE", "c", "x"),
      cmd("LINSERT", "l", "after", "B", "y"),
      cmd("LINSERT", "l", "AFTER", "A", "z"),
      cmd("LRANGE", "l", "0", "-1"),
      expectReply(":-1\r\n", "LINSERT", "l", "BEFORE", "nope", "x"),
      cmd("LINSERT", "missing", "BEFORE", "a", "x"),
      expectReply("-ERR syntax error\r\n", "LINSERT", "missing", "MIDDLE", "a", "x"),
      cmd("LTRIM", "l", "1", "-2"),
      cmd("LRANGE", "l", "0", "-1"),
      cmd("LTRIM", "l", "-100", "100"),
      cmd("LTRIM", "l", "2", "1"),
      cmd("EXISTS", "l"),
      cmd("LTRIM", "missing", "0", "1"),
      cmd("LTRIM", "missing", "x", "1")
    ]
  },
  {
    name: "LMOVE RPOPLPUSH LMPOP",
    steps: [
      cmd("RPUSH", "src", "a", "b", "c", "d"),
      cmd("LMOVE", "src", "dst", "LEFT", "RIGHT"),
      cmd("LMOVE", "src", "dst", "right", "left"),
      cmd("RPOPLPUSH", "src", "dst"),
      cmd("LRANGE", "dst", "0", "-1"),
      cmd("LMOVE", "dst", "dst", "LEFT", "RIGHT"),
      cmd("RPOPLPUSH", "dst", "dst"),
      cmd("LRANGE", "dst", "0", "-1"),
      cmd("LMOVE", "missing", "dst", "LEFT", "LEFT"),
      cmd("RPOPLPUSH", "missing", "dst"),
      cmd("SET", "s", "v"),
      expectReply(WRONGTYPE, "LMOVE", "src", "s", "LEFT", "LEFT"),
      cmd("LRANGE", "src", "0", "-1"),
      cmd("LMOVE", "src", "dst", "UP", "LEFT"),
      cmd("RPUSH", "one", "x"),
      cmd("LMOVE", "one", "one", "LEFT", "RIGHT"),
      cmd("LRANGE", "one", "0", "-1"),
      expectReply("*2\r\n$3\r\nsrc\r\n*1\r\n$1\r\nb\r\n", "LMPOP", "2", "missing", "src", "LEFT"),
      cmd("LMPOP", "3", "missing", "one", "dst", "RIGHT", "COUNT", "10"),
      expectReply(NULL_ARRAY, "LMPOP", "1", "missing", "LEFT"),
      cmd("LMPOP", "1", "s", "LEFT"),
      expectReply("-ERR numkeys should be greater than 0\r\n", "LMPOP", "0", "a", "LEFT"),
      cmd("LMPOP", "2", "a", "LEFT"),
      cmd("LMPOP", "1", "a", "MIDDLE"),
      expectReply("-ERR count should be greater than 0\r\n", "LMPOP", "1", "a", "LEFT", "COUNT", "0"),
      cmd("LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"),
      cmd("LMPOP", "1", "a")
    ]
  },
  {
    name: "WRONGTYPE on list commands",
    steps: [
      cmd("SET", "s", "v"),
      cmd("LPUSH", "s", "a"),
      cmd("RPUSHX", "s", "a"),
      cmd("LPOP", "s"),
      cmd("RPOP", "s", "1"),
      cmd("LLEN", "s"),
      cmd("LINDEX", "s", "0"),
      cmd("LSET", "s", "0", "a"),
      cmd("LRANGE", "s", "0", "-1"),
      cmd("LTRIM", "s", "0", "1"),
      cmd("LREM", "s", "0", "a"),
      cmd("LINSERT", "s", "BEFORE", "a", "b"),
      cmd("LPOS", "s", "a"),
      cmd("RPOPLPUSH", "s", "d"),
      cmd("BLPOP", "missing", "s", "0"),
      cmd("BLMOVE", "s", "d", "LEFT", "LEFT", "0"),
      cmd("RPUSH", "l", "a"),
      cmd("GET", "l"),
      cmd("TYPE", "l"),
      cmd("MULTI"),
      cmd("LPUSH", "l", "b"),
      cmd("INCR", "l"),
      cmd("LRANGE", "l", "0", "-1"),
      cmd("EXEC")
    ]
  },
  {
    name: "blocking commands that need not wait, and inside MULTI",
    follower: true,
    steps: [
      cmd("RPUSH", "l", "a", "b", "c", "d", "e"),
      expectReply("*2\r\n$1\r\nl\r\n$1\r\na\r\n", "BLPOP", "missing", "l", "0"),
      cmd("BRPOP", "l", "missing", "1.5"),
      cmd("BLMOVE", "l", "m", "LEFT", "RIGHT", "0"),
      cmd("BRPOPLPUSH", "l", "m", "0"),
      cmd("BLMPOP", "0", "2", "missing", "m", "RIGHT", "COUNT", "5"),
      cmd("MULTI"),
      cmd("BLPOP", "missing", "0"),
      cmd("BRPOP", "missing", "0"),
      cmd("BLMOVE", "missing", "m", "LEFT", "RIGHT", "0"),
      cmd("BRPOPLPUSH", "missing", "m", "0"),
      cmd("BLMPOP", "0", "1", "missing", "LEFT"),
      cmd("BLPOP", "l", "0"),
      expectReply({ 2: "*6\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*2\r\n$1\r\nl\r\n$1\r\nc\r\n", 3: "*6\r\n_\r\n_\r\n_\r\n_\r\n_\r\n*2\r\n$1\r\nl\r\n$1\r\nc\r\n" }, "EXEC"),
      cmd("BLPOP", "l", "x"),
      expectReply("-ERR timeout is negative\r\n", "BLPOP", "l", "-1"),
      cmd("BLPOP", "l", "inf"),
      cmd("BLMOVE", "l", "m", "UP", "LEFT", "-1"),
      cmd("BLMPOP", "-1", "0", "l", "LEFT"),
      cmd("BLMPOP", "x", "1", "l", "LEFT"),
      cmd("BLMPOP", "1", "1", "l", "LEFT", "COUNT", "0")
    ]
  },
  {
    name: "BLPOP woken by a push from another connection",
    follower: true,
    steps: [
      send("a", "BLPOP", "k1", "k2", "0"),
      waitBlocked(1),
      on("b", cmd("LLEN", "k2")),
      on("b", expectReply(":2\r\n", "RPUSH", "k2", "x", "y")),
      receive("a", "*2\r\n$2\r\nk2\r\n$1\r\nx\r\n"),
      waitBlocked(0),
      on("b", cmd("LRANGE", "k2", "0", "-1")),
      send("a", "BRPOP", "k1", "k2", "5"),
      receive("a", "*2\r\n$2\r\nk2\r\n$1\r\ny\r\n"),
      cmd("EXISTS", "k2")
    ]
  },
  {
    name: "BLMOVE and BLMPOP woken by pushes",
    follower: true,
    steps: [
      send("a", "BLMOVE", "in", "out", "RIGHT", "LEFT", "0"),
      waitBlocked(1),
      on("b", cmd("RPUSH", "in", "1", "2", "3")),
      receive("a", "$1\r\n3\r\n"),
      on("b", cmd("LRANGE", "out", "0", "-1")),
      send("a", "BLMPOP", "0", "2", "x", "y", "LEFT", "COUNT", "2"),
      waitBlocked(1),
      on("b", cmd("LPUSH", "y", "a", "b", "c")),
      receive("a", "*2\r\n$1\r\ny\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
      send("a", "BRPOPLPUSH", "z", "out", "0"),
      waitBlocked(1),
      on("b", cmd("RPOPLPUSH", "in", "z")),
      receive("a", "$1\r\n2\r\n"),
      on("b", cmd("LRANGE", "out", "0", "-1")),
      cmd("EXISTS", "z")
    ]
  },
  {
    name: "clients blocked on a key are served in the order they blocked",
    steps: [
      send("a", "BRPOP", "q", "0"),
      waitBlocked(1),
      send("b", "BRPOP", "q", "0"),
      waitBlocked(2),
      send("c", "BRPOP", "q", "0"),
      waitBlocked(3),
      on("d", cmd("LPUSH", "q", "1", "2")),
      receive("a", "*2\r\n$1\r\nq\r\n$1\r\n1\r\n"),
      receive("b", "*2\r\n$1\r\nq\r\n$1\r\n2\r\n"),
      waitBlocked(1),
      on("d", cmd("EXISTS", "q")),
      on("d", cmd("LPUSH", "q", "3")),
      receive("c", "*2\r\n$1\r\nq\r\n$1\r\n3\r\n"),
      waitBlocked(0)
    ]
  },
  {
    name: "a blocked connection's later commands wait for it",
    follower: true,
    steps: [
      send("a", "BLPOP", "k", "0"),
      send("a", "RPUSH", "k", "own"),
      send("a", "LRANGE", "k", "0", "-1"),
      waitBlocked(1),
      on("b", cmd("RPUSH", "k", "first")),
      receive("a", "*2\r\n$1\r\nk\r\n$5\r\nfirst\r\n"),
      receive("a", ":1\r\n"),
      receive("a"),
      on("b", cmd("LRANGE", "k", "0", "-1"))
    ]
  },
  {
    name: "a timed-out BLPOP answers a null array (RESP3 null)",
    follower: true,
    steps: [
      send("a", "BLPOP", "k", "0.2"),
      receive("a", NULL_ARRAY),
      send("a", "BLMOVE", "k", "d", "LEFT", "LEFT", "0.1"),
      receive("a", NULL_ARRAY),
      send("a", "BLMPOP", "0.1", "1", "k", "LEFT"),
      receive("a", NULL_ARRAY),
      waitBlocked(0),
      cmd("EXISTS", "k", "d")
    ]
  }
]
