/**
 * Connection commands, as redis-server 7.0 answers them: PING, ECHO, HELLO (2, 3, errors, AUTH,
 * SETNAME), AUTH, CLIENT SETNAME/GETNAME/ID/INFO, TIME,
 * INFO, QUIT. Replies that carry server-specific values (ids, times, server info) compare by shape.
 */
import { cmd, expectReply, type Scenario, shape, typeOnly, unordered } from "../../support/differential.js"

const NIL = { 2: "$-1\r\n", 3: "_\r\n" }

export const connection: ReadonlyArray<Scenario> = [
  {
    name: "PING and ECHO",
    follower: true,
    steps: [
      expectReply("+PONG\r\n", "PING"),
      expectReply("$5\r\nhello\r\n", "PING", "hello"),
      cmd("PING", ""),
      expectReply("-ERR wrong number of arguments for 'ping' command\r\n", "PING", "a", "b"),
      expectReply("$1\r\nx\r\n", "ECHO", "x"),
      cmd("ECHO", ""),
      cmd("ECHO", Buffer.from("\r\n\x00\xff", "latin1")),
      expectReply("-ERR wrong number of arguments for 'echo' command\r\n", "ECHO"),
      cmd("ECHO", "a", "b"),
      cmd("ping"),
      cmd("PiNg", "x")
    ]
  },
  {
    name: "HELLO switches protocols",
    steps: [
      // HELLO's map holds the server's name, version and the client id: compared by shape.
      shape("HELLO"),
      shape("HELLO", "3"),
      expectReply("_\r\n", "GET", "missing"),
      shape("HELLO"),
      shape("HELLO", "2"),
      expectReply("$-1\r\n", "GET", "missing"),
      shape("HELLO", "2"),
      shape("HELLO", "3"),
      cmd("GET", "missing")
    ]
  },
  {
    name: "HELLO errors",
    steps: [
      expectReply("-NOPROTO unsupported protocol version\r\n", "HELLO", "4"),
      cmd("HELLO", "1"),
      cmd("HELLO", "0"),
      cmd("HELLO", "-1"),
      expectReply("-ERR Protocol version is not an integer or out of range\r\n", "HELLO", "x"),
      cmd("HELLO", "3.0"),
      cmd("HELLO", "99999999999999999999"),
      expectReply("-ERR Syntax error in HELLO option 'FOO'\r\n", "HELLO", "3", "FOO"),
      cmd("HELLO", "3", "AUTH"),
      cmd("HELLO", "3", "AUTH", "default"),
      cmd("HELLO", "3", "SETNAME"),
      cmd("HELLO", "2", "SETNAME", "a", "FOO"),
      // A failed HELLO keeps the connection's protocol, but 7.0 has already applied a SETNAME
      // that came before the bad option: the name is "a" now.
      cmd("GET", "missing"),
      cmd("CLIENT", "GETNAME")
    ]
  },
  {
    name: "HELLO with AUTH and SETNAME",
    steps: [
      // Without a password configured, any password for the default user is accepted.
      shape("HELLO", "3", "AUTH", "default", "anything"),
      cmd("GET", "missing"),
      shape("HELLO", "2", "SETNAME", "myname"),
      expectReply("$6\r\nmyname\r\n", "CLIENT", "GETNAME"),
      shape("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "other"),
      cmd("CLIENT", "GETNAME"),
      cmd("HELLO", "3", "SETNAME", "bad name"),
      cmd("CLIENT", "GETNAME"),
      cmd("HELLO", "3", "AUTH", "nosuchuser", "pw"),
      shape("HELLO", "2", "setname", "lower"),
      cmd("CLIENT", "GETNAME")
    ]
  },
  {
    name: "AUTH without a configured password",
    steps: [
      expectReply(
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
        "AUTH",
        "x"
      ),
      expectReply("+OK\r\n", "AUTH", "default", "x"),
      cmd("AUTH", "nosuchuser", "x"),
      expectReply("-ERR syntax error\r\n", "AUTH", "a", "b", "c"),
      cmd("AUTH"),
      cmd("PING")
    ]
  },
  {
    name: "CLIENT SETNAME GETNAME",
    follower: true,
    steps: [
      expectReply(NIL, "CLIENT", "GETNAME"),
      expectReply("+OK\r\n", "CLIENT", "SETNAME", "myname"),
      cmd("CLIENT", "GETNAME"),
      cmd("client", "setname", "other-name_1"),
      cmd("CLIENT", "GETNAME"),
      expectReply("-ERR Client names cannot contain spaces, newlines or special characters.\r\n", "CLIENT", "SETNAME", "a b"),
      cmd("CLIENT", "SETNAME", "a\nb"),
      cmd("CLIENT", "SETNAME", Buffer.from("caf\xe9", "latin1")),
      cmd("CLIENT", "GETNAME"),
      // An empty name clears it.
      cmd("CLIENT", "SETNAME", ""),
      cmd("CLIENT", "GETNAME"),
      expectReply("-ERR wrong number of arguments for 'client|setname' command\r\n", "CLIENT", "SETNAME"),
      cmd("CLIENT", "SETNAME", "a", "b"),
      cmd("CLIENT", "GETNAME", "x")
    ]
  },
  {
    name: "CLIENT ID INFO and errors",
    steps: [
      typeOnly("CLIENT", "ID"),
      cmd("CLIENT", "ID", "x"),
      // id=, addr=, ages and memory differ; a bulk string in RESP2, a verbatim string in RESP3.
      typeOnly("CLIENT", "INFO"),
      cmd("CLIENT", "INFO", "x"),
      expectReply("-ERR wrong number of arguments for 'client' command\r\n", "CLIENT"),
      { argv: ["CLIENT", "FOO"], unknownOk: true, expect: "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n" },
      { argv: ["CLIENT", "foo", "bar"], unknownOk: true },
      expectReply("-ERR No such user 'nouser'\r\n", "CLIENT", "KILL", "USER", "nouser"),
      expectReply(":0\r\n", "CLIENT", "KILL", "USER", "default", "SKIPME", "yes"),
      expectReply("-ERR syntax error\r\n", "CLIENT", "REPLY", "FOO"),
      cmd("CLIENT", "REPLY", "ON")
    ]
  },
  // CLIENT SETINFO arrived in redis 7.2 (7.0 answers "unknown subcommand"); raft-kv implements it,
  // as the clients that send it at connect expect, so it is not compared here (see
  // test/unit/commands.test.ts for its replies).
  {
    name: "TIME",
    follower: true,
    steps: [shape("TIME"), cmd("TIME", "x")]
  },
  {
    name: "INFO",
    steps: [
      // A bulk string in RESP2, a verbatim "txt" string in RESP3; the contents are each server's own.
      shape("INFO"),
      shape("INFO", "server"),
      shape("INFO", "keyspace"),
      shape("INFO", "nosuchsection"),
      expectReply({ 2: "$0\r\n\r\n", 3: "=4\r\ntxt:\r\n" }, "INFO", "nosuchsection")
    ]
  },
  {
    name: "QUIT",
    steps: [cmd("SET", "k", "v"), expectReply("+OK\r\n", "QUIT")]
  },
  {
    name: "unknown commands and subcommands",
    steps: [
      { argv: ["FOO"], unknownOk: true, expect: "-ERR unknown command 'FOO', with args beginning with: \r\n" },
      { argv: ["foo", "a", "b"], unknownOk: true },
      { argv: ["CONFIG", "NOSUCH"], unknownOk: true },
      { argv: ["CONFIG"], unknownOk: true }
    ]
  },
  {
    name: "COMMAND GETKEYS",
    steps: [
      expectReply("-ERR wrong number of arguments for 'command|getkeys' command\r\n", "COMMAND", "GETKEYS", "get"),
      cmd("COMMAND", "GETKEYS", "lastsave"),
      expectReply("-ERR The command has no key arguments\r\n", "COMMAND", "GETKEYS", "lastsave", "0"),
      cmd("COMMAND", "GETKEYS", "ping", "x"),
      cmd("COMMAND", "GETKEYS", "nosuch", "x"),
      cmd("COMMAND", "GETKEYS", "mset", "a", "b", "c"),
      cmd("COMMAND", "GETKEYS", "zmpop", "1", "k"),
      // numkeys commands: Redis's key specs, or when numkeys does not fit them its getkeys function (atoi).
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zmpop", "0", "k", "min"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "bzmpop", "0", "0", "k", "min"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "lmpop", "0", "k", "left"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "blmpop", "0", "0", "k", "left"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zunion", "0", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zinter", "0", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zdiff", "0", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zintercard", "0", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "sintercard", "0", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zunionstore", "d", "0", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zunionstore", "d", "2", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zunionstore", "d", "-1", "k"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zmpop", "2147483648", "k", "min"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zmpop", "-1", "k", "min"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zmpop", "abc", "k", "min"),
      expectReply("-ERR Invalid arguments specified for command\r\n", "COMMAND", "GETKEYS", "zdiffstore", "d", "2", "k"),
      expectReply("*3\r\n$1\r\na\r\n$1\r\nb\r\n$4\r\nleft\r\n", "COMMAND", "GETKEYS", "lmpop", "3", "a", "b", "left"),
      expectReply("*2\r\n$1\r\nk\r\n$4\r\nleft\r\n", "COMMAND", "GETKEYS", "blmpop", "0", "2", "k", "left"),
      expectReply("*2\r\n$1\r\na\r\n$1\r\nd\r\n", "COMMAND", "GETKEYS", "zinterstore", "d", "1.5", "a", "b"),
      cmd("COMMAND", "GETKEYS", "zunionstore", "d", "1", "k", "weights"),
      cmd("COMMAND", "GETKEYS", "zunion", "1.5", "a"),
      cmd("COMMAND", "GETKEYS", "sintercard", "1.5", "a", "b"),
      cmd("COMMAND", "GETKEYS", "sintercard", "1", "k", "limit"),
      cmd("COMMAND", "GETKEYS", "lmpop", "1.5", "a", "b", "left"),
      cmd("COMMAND", "GETKEYS", "zmpop", "4294967297", "k", "min"),
      cmd("COMMAND", "GETKEYS", "zmpop", "+1", "k", "min"),
      cmd("COMMAND", "GETKEYS", "zmpop", "99999999999999999999", "k", "min"),
      cmd("COMMAND", "GETKEYS", "zunionstore", "d", "1.9", "a", "b", "c"),
      cmd("COMMAND", "GETKEYS", "lmpop", "2", "a", "b", "left", "count", "3")
    ]
  },
  {
    name: "CONFIG GET",
    steps: [
      expectReply({ 2: "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n", 3: "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n" }, "CONFIG", "GET", "maxmemory"),
      // A name without glob characters is looked up directly and echoed as given.
      cmd("CONFIG", "GET", "MAXMEMORY"),
      cmd("CONFIG", "GET", "databases"),
      cmd("CONFIG", "GET", "nosuchparameter"),
      // Several names: the order of the pairs is unspecified.
      unordered("CONFIG", "GET", "maxmemory", "databases"),
      unordered("CONFIG", "GET", "maxmemory", "maxmemory"),
      cmd("CONFIG", "GET")
    ]
  }
]
