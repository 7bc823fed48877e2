/** CLIENT LIST's description of a client (also in CLIENT INFO and ACL LOG entries). */
import type { ClientState } from "./session.js"

/** One CLIENT LIST line (networking.c catClientInfoString), with the fields raft-kv knows. */
export const describeClient = (client: ClientState, now: number): string =>
  [
    `id=${client.id}`,
    `addr=${client.address}`,
    `laddr=${client.localAddress}`,
    `fd=-1`,
    `name=${client.name?.toString("latin1") ?? ""}`,
    `age=${Math.floor((now - client.createdAt) / 1000)}`,
    `idle=${Math.floor((now - client.lastCommandAt) / 1000)}`,
    `flags=${client.multi !== undefined ? "x" : client.blocked?.() === true ? "b" : "N"}`,
    `db=${client.db}`,
    `sub=0`,
    `psub=0`,
    `ssub=0`,
    `multi=${client.multi !== undefined ? client.multi.queue.length : -1}`,
    `qbuf=0`,
    `qbuf-free=0`,
    `argv-mem=0`,
    `multi-mem=0`,
    `rbs=0`,
    `rbp=0`,
    `obl=0`,
    `oll=0`,
    `omem=0`,
    `tot-mem=0`,
    `events=r`,
    `cmd=${client.lastCommand}`,
    `user=${client.user.name}`,
    `redir=-1`,
    `resp=${client.protocol}`,
    `lib-name=${client.libName}`,
    `lib-ver=${client.libVersion}`
  ].join(" ")
