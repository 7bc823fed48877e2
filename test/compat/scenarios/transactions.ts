/**
 * Transactions, as redis-server 7.0 answers them (edge cases from redis tests/unit/multi.tcl):
 * MULTI/EXEC/DISCARD, QUEUED, EXECABORT after queue-time errors, runtime errors inside EXEC, and
 * WATCH/UNWATCH with a second connection modifying the watched key.
 */
import { cmd, type CommandStep, expectReply, on, send, type Scenario, shape, sleep, type Step } from "../../support/differential.js"

const QUEUED = "+QUEUED\r\n"
const EXECABORT = "-EXECABORT Transaction discarded because of previous errors.\r\n"
/** EXEC's answer when a watched key changed: a null array in RESP2, a null in RESP3. */
const ABORTED = { 2: "*-1\r\n", 3: "_\r\n" }
const NIL = { 2: "$-1\r\n", 3: "_\r\n" }

/**
 * Commands written in one pipeline on connection "a" (every one sent before any reply is read),
 * then each reply compared in order, as its step says (`expect`, `compare`).
 */
const pipelined = (...steps: ReadonlyArray<CommandStep>): Array<Step> => [
  ...steps.map((step) => send("a", ...step.argv)),
  ...steps.map((step) => ({ receive: "a", ...(step.expect !== undefined ? { expect: step.expect } : {}), ...(step.compare !== undefined ? { compare: step.compare } : {}) }))
]

export const transactions: ReadonlyArray<Scenario> = [
  {
    name: "MULTI EXEC",
    follower: true,
    steps: [
      expectReply("+OK\r\n", "MULTI"),
      expectReply(QUEUED, "SET", "a", "1"),
      expectReply(QUEUED, "INCR", "a"),
      cmd("GET", "a"),
      cmd("GET", "missing"),
      cmd("MGET", "a", "missing"),
      cmd("DEL", "a", "b"),
      expectReply(
        { 2: "*6\r\n+OK\r\n:2\r\n$1\r\n2\r\n$-1\r\n*2\r\n$1\r\n2\r\n$-1\r\n:1\r\n", 3: "*6\r\n+OK\r\n:2\r\n$1\r\n2\r\n_\r\n*2\r\n$1\r\n2\r\n_\r\n:1\r\n" },
        "EXEC"
      ),
      cmd("GET", "a"),
      cmd("MULTI"),
      expectReply("*0\r\n", "EXEC"),
      cmd("multi"),
      cmd("ping"),
      cmd("echo", "x"),
      cmd("exec")
    ]
  },
  {
    name: "DISCARD and EXEC/DISCARD without MULTI",
    steps: [
      cmd("MULTI"),
      cmd("SET", "a", "1"),
      expectReply("+OK\r\n", "DISCARD"),
      expectReply({ 2: "$-1\r\n", 3: "_\r\n" }, "GET", "a"),
      expectReply("-ERR DISCARD without MULTI\r\n", "DISCARD"),
      expectReply("-ERR EXEC without MULTI\r\n", "EXEC"),
      cmd("EXEC", "x"),
      cmd("DISCARD", "x"),
      cmd("MULTI", "x"),
      cmd("GET", "a")
    ]
  },
  {
    name: "nested MULTI",
    steps: [
      cmd("MULTI"),
      expectReply("-ERR MULTI calls can not be nested\r\n", "MULTI"),
      cmd("SET", "a", "1"),
      // The nested MULTI is refused but does not abort the transaction.
      cmd("EXEC"),
      cmd("GET", "a")
    ]
  },
  {
    name: "EXECABORT after a queue-time error",
    follower: true,
    steps: [
      cmd("MULTI"),
      cmd("SET", "a", "1"),
      { argv: ["NOSUCHCOMMAND", "x"], unknownOk: true },
      cmd("SET", "b", "2"),
      expectReply(EXECABORT, "EXEC"),
      expectReply(":0\r\n", "EXISTS", "a", "b"),
      cmd("MULTI"),
      cmd("SET", "a", "1"),
      expectReply("-ERR wrong number of arguments for 'get' command\r\n", "GET"),
      cmd("EXEC"),
      cmd("EXISTS", "a"),
      cmd("MULTI"),
      cmd("EXEC", "x"),
      cmd("EXEC"),
      // After EXECABORT the connection is out of the transaction.
      cmd("EXEC"),
      cmd("SET", "c", "3"),
      cmd("GET", "c")
    ]
  },
  {
    name: "syntax errors are found when EXEC runs, not when queued",
    steps: [
      cmd("MULTI"),
      expectReply(QUEUED, "SET", "a", "1", "NX", "XX"),
      expectReply(QUEUED, "INCRBY", "b", "x"),
      cmd("SET", "c", "3", "EX", "0"),
      cmd("EXPIRE", "c", "10", "GT", "LT"),
      cmd("SELECT", "99"),
      cmd("SET", "d", "4"),
      cmd("EXEC"),
      cmd("MGET", "a", "b", "c", "d")
    ]
  },
  {
    name: "a runtime error inside EXEC affects only its command",
    follower: true,
    steps: [
      cmd("SET", "s", "foo"),
      cmd("MULTI"),
      cmd("SET", "a", "1"),
      cmd("INCR", "s"),
      cmd("INCR", "a"),
      cmd("RENAME", "missing", "x"),
      cmd("GET", "a"),
      expectReply(
        "*5\r\n+OK\r\n-ERR value is not an integer or out of range\r\n:2\r\n-ERR no such key\r\n$1\r\n2\r\n",
        "EXEC"
      ),
      cmd("GET", "s")
    ]
  },
  {
    name: "a WRONGTYPE error inside EXEC",
    steps: [
      cmd("RPUSH", "l", "x"),
      cmd("MULTI"),
      cmd("SET", "a", "1"),
      cmd("GET", "l"),
      cmd("INCR", "a"),
      cmd("EXEC")
    ]
  },
  {
    name: "MULTI with SELECT, FLUSHALL and expiry",
    steps: [
      cmd("MULTI"),
      cmd("SELECT", "1"),
      cmd("SET", "a", "in1"),
      cmd("SET", "t", "v", "EX", "100"),
      cmd("TTL", "t"),
      cmd("EXEC"),
      // The SELECT inside the transaction sticks.
      cmd("GET", "a"),
      cmd("SELECT", "0"),
      cmd("GET", "a"),
      cmd("MULTI"),
      cmd("FLUSHALL"),
      cmd("DBSIZE"),
      cmd("EXEC")
    ]
  },
  {
    name: "WATCH: a key modified by another connection aborts EXEC",
    follower: true,
    steps: [
      cmd("SET", "a", "1"),
      expectReply("+OK\r\n", "WATCH", "a"),
      on("b", cmd("SET", "a", "2")),
      cmd("MULTI"),
      cmd("SET", "a", "3"),
      expectReply(ABORTED, "EXEC"),
      cmd("GET", "a"),
      // The failed EXEC unwatched: the next transaction runs.
      on("b", cmd("SET", "a", "4")),
      cmd("MULTI"),
      cmd("SET", "a", "5"),
      expectReply("*1\r\n+OK\r\n", "EXEC"),
      cmd("GET", "a")
    ]
  },
  {
    name: "WATCH: an unmodified key lets EXEC run",
    follower: true,
    steps: [
      cmd("SET", "a", "1"),
      cmd("WATCH", "a", "b"),
      on("b", cmd("GET", "a")),
      on("b", cmd("SET", "other", "x")),
      cmd("MULTI"),
      cmd("INCR", "a"),
      cmd("EXEC"),
      cmd("GET", "a")
    ]
  },
  {
    name: "WATCH: a missing key created by another connection",
    follower: true,
    steps: [
      cmd("WATCH", "x"),
      on("b", cmd("SET", "x", "1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC"),
      cmd("WATCH", "x"),
      on("b", cmd("DEL", "x")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      // Deleting a key that does not exist is no modification.
      cmd("WATCH", "x"),
      on("b", cmd("DEL", "x")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC")
    ]
  },
  {
    name: "WATCH: writes by the same connection abort too",
    steps: [
      cmd("SET", "a", "1"),
      cmd("WATCH", "a"),
      cmd("SET", "a", "2"),
      cmd("MULTI"),
      cmd("GET", "a"),
      expectReply(ABORTED, "EXEC")
    ]
  },
  {
    name: "WATCH: expiry changes, renames and no-op writes",
    steps: [
      cmd("SET", "a", "1"),
      cmd("WATCH", "a"),
      on("b", cmd("EXPIRE", "a", "100")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      cmd("WATCH", "a"),
      on("b", cmd("RENAME", "a", "c")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      cmd("SET", "a", "1"),
      cmd("WATCH", "a"),
      // A SET NX that sets nothing and a failed INCR modify nothing.
      on("b", cmd("SET", "a", "2", "NX")),
      on("b", cmd("SET", "s", "foo")),
      cmd("WATCH", "s"),
      on("b", cmd("INCR", "s")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      cmd("WATCH", "a"),
      // Setting the same value is still a modification.
      on("b", cmd("SET", "a", "1")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      // So is an LTRIM that keeps the whole list; one on a missing key is not.
      cmd("RPUSH", "l", "x", "y"),
      cmd("WATCH", "l"),
      on("b", cmd("LTRIM", "l", "0", "-1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC"),
      cmd("WATCH", "nolist"),
      on("b", cmd("LTRIM", "nolist", "0", "-1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC")
    ]
  },
  {
    name: "WATCH: a key already expired when watched",
    follower: true,
    steps: [
      // Deleting a key that was already logically absent changes nothing (Redis 7.0 touchWatchedKey).
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("DEL", "k")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      // Nor does a command that only meets the expired key (and removes it).
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("EXPIRE", "k", "100")),
      on("b", cmd("PERSIST", "k")),
      on("b", cmd("SET", "k", "v", "XX")),
      on("b", cmd("GETDEL", "k")),
      on("b", cmd("LPOP", "k")),
      on("b", cmd("RENAME", "k", "x")),
      on("b", cmd("COPY", "k", "x")),
      on("b", cmd("MOVE", "k", "1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      // Or nothing at all while the expired key is reaped.
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      sleep(1200),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      // A write that creates the key after it was removed aborts EXEC.
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("DEL", "k")),
      on("b", cmd("SET", "k", "new")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC"),
      // So does one that overwrites the expired key at once.
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("SET", "k", "new")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("RPUSH", "k", "a")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC"),
      cmd("GET", "x"),
      cmd("LRANGE", "k", "0", "-1")
    ]
  },
  {
    name: "WATCH: FLUSHDB and SWAPDB of a key already expired",
    follower: true,
    steps: [
      // Redis 7.0 touchAllWatchedKeysInDb: an expired key flushed away, or swapped for an expired one, changes nothing.
      cmd("FLUSHALL"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("FLUSHDB")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      cmd("FLUSHALL"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("FLUSHALL")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      cmd("FLUSHALL"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("SWAPDB", "0", "1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      cmd("FLUSHALL"),
      cmd("SELECT", "1"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("SELECT", "0"),
      cmd("WATCH", "k"),
      on("b", cmd("SWAPDB", "0", "1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      cmd("FLUSHALL"),
      cmd("SELECT", "1"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("SELECT", "0"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("SWAPDB", "0", "1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      cmd("FLUSHALL"),
      cmd("SELECT", "1"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("SELECT", "0"),
      cmd("WATCH", "k"),
      on("b", cmd("SWAPDB", "0", "1")),
      on("b", cmd("DEL", "k")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      cmd("FLUSHALL"),
      cmd("SELECT", "1"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("SELECT", "0"),
      cmd("WATCH", "k"),
      on("b", cmd("SWAPDB", "0", "1")),
      on("b", cmd("SWAPDB", "0", "1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply("*1\r\n+PONG\r\n", "EXEC"),
      // A live key swapped in, or the key written after the flush, is a modification.
      cmd("FLUSHALL"),
      cmd("SELECT", "1"),
      cmd("SET", "k", "v"),
      cmd("SELECT", "0"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("SWAPDB", "0", "1")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC"),
      cmd("FLUSHALL"),
      cmd("SET", "k", "v", "PXAT", "1"),
      cmd("WATCH", "k"),
      on("b", cmd("FLUSHDB")),
      on("b", cmd("SET", "k", "x")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC")
    ]
  },
  {
    name: "UNWATCH and DISCARD forget watched keys",
    steps: [
      cmd("SET", "a", "1"),
      cmd("WATCH", "a"),
      on("b", cmd("SET", "a", "2")),
      expectReply("+OK\r\n", "UNWATCH"),
      cmd("MULTI"),
      cmd("SET", "a", "3"),
      cmd("EXEC"),
      cmd("UNWATCH"),
      cmd("WATCH", "a"),
      cmd("SET", "a", "10"),
      cmd("MULTI"),
      cmd("DISCARD"),
      cmd("MULTI"),
      cmd("INCR", "a"),
      cmd("EXEC"),
      cmd("UNWATCH", "x")
    ]
  },
  {
    name: "WATCH errors",
    steps: [
      cmd("MULTI"),
      expectReply("-ERR WATCH inside MULTI is not allowed\r\n", "WATCH", "a"),
      cmd("SET", "a", "1"),
      // The refused WATCH does not abort the transaction.
      cmd("EXEC"),
      cmd("WATCH"),
      cmd("MULTI"),
      cmd("UNWATCH"),
      cmd("EXEC")
    ]
  },
  {
    name: "WATCH: FLUSHALL, FLUSHDB and SWAPDB touch watched keys that exist",
    steps: [
      cmd("SET", "x", "30"),
      cmd("WATCH", "x"),
      on("b", cmd("FLUSHALL")),
      cmd("MULTI"),
      cmd("PING"),
      expectReply(ABORTED, "EXEC"),
      // A watched key that did not exist is not touched by FLUSHALL.
      cmd("WATCH", "x"),
      on("b", cmd("FLUSHALL")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      cmd("SET", "x", "30"),
      cmd("WATCH", "x"),
      on("b", cmd("FLUSHDB")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      cmd("SET", "x", "30"),
      cmd("WATCH", "x"),
      on("b", cmd("SWAPDB", "0", "1")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      // SWAPDB also touches a watched key that now appears.
      cmd("FLUSHALL"),
      cmd("WATCH", "y"),
      on("b", cmd("SELECT", "1")),
      on("b", cmd("SET", "y", "1")),
      on("b", cmd("SWAPDB", "0", "1")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC")
    ]
  },
  {
    name: "WATCH remembers the database of the key",
    steps: [
      cmd("SELECT", "5"),
      cmd("SET", "x", "30"),
      cmd("WATCH", "x"),
      on("b", cmd("SET", "x", "10")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC"),
      cmd("WATCH", "x"),
      on("b", cmd("SELECT", "5")),
      on("b", cmd("SET", "x", "10")),
      cmd("MULTI"),
      cmd("PING"),
      cmd("EXEC")
    ]
  },
  {
    // The queued SELECT is in effect for every command after EXEC, also those written in the same
    // pipeline, read before the transaction's consensus round ended (a read-only transaction's too).
    name: "SELECT inside MULTI: the commands pipelined after EXEC run in its database",
    follower: true,
    steps: [
      ...pipelined(
        expectReply("+OK\r\n", "MULTI"),
        cmd("SELECT", "1"),
        cmd("SET", "x", "1"),
        expectReply("*2\r\n+OK\r\n+OK\r\n", "EXEC"),
        cmd("SET", "k", "written-after-exec"),
        cmd("SELECT", "0"),
        expectReply(NIL, "GET", "k"),
        cmd("SELECT", "1"),
        expectReply("$18\r\nwritten-after-exec\r\n", "GET", "k"),
        cmd("MULTI"),
        cmd("SELECT", "0"),
        cmd("GET", "x"),
        cmd("EXEC"),
        expectReply(NIL, "GET", "x"),
        cmd("WATCH", "zz"),
        cmd("MULTI"),
        cmd("SELECT", "1"),
        cmd("EXEC"),
        expectReply("$1\r\n1\r\n", "GET", "x")
      ),
      cmd("SELECT", "0"),
      cmd("KEYS", "*")
    ]
  },
  {
    // The transaction's SELECT and CLIENT SETNAME came before the client's own later ones.
    name: "SELECT and CLIENT SETNAME inside MULTI do not undo the ones pipelined after EXEC",
    steps: [
      ...pipelined(
        cmd("MULTI"),
        cmd("SELECT", "1"),
        cmd("CLIENT", "SETNAME", "n1"),
        cmd("SET", "a", "x"),
        cmd("EXEC"),
        cmd("SELECT", "0"),
        cmd("CLIENT", "SETNAME", "n2")
      ),
      cmd("SET", "where", "am-i"),
      expectReply("$2\r\nn2\r\n", "CLIENT", "GETNAME"),
      expectReply(":1\r\n", "EXISTS", "where"),
      ...pipelined(cmd("MULTI"), cmd("SELECT", "2"), cmd("CLIENT", "SETNAME", "n3"), cmd("SET", "b", "x"), cmd("EXEC"), cmd("RESET")),
      // After RESET: database 0, no name (and RESP2).
      expectReply(":1\r\n", "EXISTS", "where"),
      expectReply("$-1\r\n", "CLIENT", "GETNAME"),
      cmd("SELECT", "2"),
      expectReply(":1\r\n", "EXISTS", "b")
    ]
  },
  {
    // EXEC that runs nothing (a watched key changed, EXECABORT) leaves the session as it was.
    name: "local commands inside an aborted transaction have no effect",
    steps: [
      cmd("WATCH", "w"),
      on("b", cmd("SET", "w", "changed")),
      ...pipelined(
        cmd("MULTI"),
        cmd("SELECT", "1"),
        cmd("CLIENT", "SETNAME", "n1"),
        cmd("HELLO", "3"),
        cmd("SET", "c", "x"),
        expectReply(ABORTED, "EXEC"),
        cmd("SET", "z", "1"),
        expectReply(NIL, "CLIENT", "GETNAME"),
        expectReply(NIL, "GET", "missing")
      ),
      ...pipelined(
        cmd("MULTI"),
        cmd("SELECT", "1"),
        cmd("CLIENT", "SETNAME", "n1"),
        cmd("SET"),
        cmd("EXEC"),
        cmd("SET", "z", "2"),
        expectReply(NIL, "CLIENT", "GETNAME")
      ),
      on("b", expectReply("$1\r\n2\r\n", "GET", "z")),
      on("b", cmd("SELECT", "1")),
      on("b", expectReply("*0\r\n", "KEYS", "*"))
    ]
  },
  {
    // Each reply inside EXEC is written in the protocol in effect once its command ran (HELLO
    // switches before its own reply), the array itself in EXEC's; the commands after EXEC in HELLO's.
    name: "HELLO inside MULTI: the replies after it, inside EXEC and after, in its protocol",
    steps: [
      ...pipelined(
        cmd("MULTI"),
        cmd("SET", "x", "1"),
        cmd("GET", "missing"),
        cmd("HELLO", "3"),
        cmd("GET", "missing"),
        // HELLO's map holds the server's name, mode and the client id: compared by shape.
        { argv: ["EXEC"], compare: { kind: "shape" } },
        expectReply("_\r\n", "GET", "missing")
      ),
      ...pipelined(
        cmd("MULTI"),
        cmd("GET", "missing"),
        cmd("HELLO", "2"),
        cmd("GET", "missing"),
        cmd("SET", "x", "2"),
        { argv: ["EXEC"], compare: { kind: "shape" } },
        expectReply("$-1\r\n", "GET", "missing")
      )
    ]
  },
  {
    name: "MULTI on RESP3: QUEUED and RESP3 types inside EXEC",
    protocols: [3],
    steps: [
      cmd("SET", "f", "1.5"),
      cmd("MULTI"),
      cmd("GET", "missing"),
      cmd("INCRBYFLOAT", "f", "1"),
      shape("CONFIG", "GET", "maxmemory"),
      cmd("EXEC")
    ]
  }
]
