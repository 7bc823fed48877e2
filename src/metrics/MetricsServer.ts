/**
 * --metrics-port: plain HTTP with GET /metrics (Prometheus text format) and GET /health (see
 * health.ts); anything else is 404. Like the client listeners, the listener lives in the node's
 * scope (a port that cannot be bound fails the start) and only queues requests; answering them
 * is a part of the supervision tree (restarted if it fails), and a request whose answer throws
 * gets a 500 instead of taking the process down.
 */
import * as http from "node:http"
import type * as net from "node:net"
import { Effect, Queue } from "effect"
import { memberOf } from "../raft/Configuration.js"
import { listenTcp } from "../node/listenTcp.js"
import { NodeConfig } from "../node/NodeConfig.js"
import { NodeStatus } from "../node/NodeStatus.js"
import { Stats } from "../node/Stats.js"
import { Supervision } from "../node/Supervision.js"
import { health } from "./health.js"
import { Metrics, nodeFamilies } from "./NodeMetrics.js"
import { CONTENT_TYPE, render } from "./Registry.js"

/** Entries applied may lag commit by this many and /health still says healthy (--health-max-apply-lag). */
export const DEFAULT_HEALTH_MAX_APPLY_LAG = 1000

export interface MetricsServerHandle {
  /** From now on /health answers 503 "stopping" (a clean stop began). */
  readonly stopping: () => void
}

type Request = { readonly request: http.IncomingMessage; readonly response: http.ServerResponse } | { readonly listenerError: string }

const send = (response: http.ServerResponse, status: number, contentType: string, body: string): void => {
  response.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) })
  response.end(body)
}

export const startMetricsServer = (connectedClients: () => number) =>
  Effect.gen(function* () {
    const config = yield* NodeConfig
    if (config.metricsPort === undefined) return { stopping: () => {} } satisfies MetricsServerHandle
    const status = yield* NodeStatus
    const stats = yield* Stats
    const metrics = yield* Metrics
    const supervision = yield* Supervision
    const host = config.metricsHost ?? config.host
    const maxApplyLag = config.healthMaxApplyLag ?? DEFAULT_HEALTH_MAX_APPLY_LAG
    const families = nodeFamilies({ metrics, status, stats, connectedClients })
    let stopping = false

    const answer = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      const path = (request.url ?? "/").split("?")[0]
      if (request.method === "GET" && path === "/metrics") return send(response, 200, CONTENT_TYPE, render(families))
      if (request.method === "GET" && path === "/health") {
        const raft = status.raft
        const verdict = health({
          leader: raft.leader,
          term: raft.term,
          commitIndex: raft.commit,
          appliedIndex: status.appliedIndex,
          member: memberOf(status.committedConfiguration.configuration, config.id) !== undefined,
          stopping,
          maxApplyLag
        })
        return send(response, verdict.status, "application/json", `${JSON.stringify(verdict.body)}\n`)
      }
      send(response, 404, "text/plain; charset=utf-8", "not found: try GET /metrics or GET /health\n")
    }

    const requests = yield* Queue.unbounded<Request>()
    /** False once the serving fiber is interrupted (the node stops): the listener, closed after it, answers inline until then. */
    let serving = true
    const server = http.createServer((request, response) => {
      if (serving) Queue.unsafeOffer(requests, { request, response })
      else answerInline(request, response)
    })
    const sockets = new Set<net.Socket>()
    server.on("connection", (socket: net.Socket) => {
      socket.on("error", () => socket.destroy())
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    yield* listenTcp(server, sockets, host, config.metricsPort, "metrics")
    server.on("error", (error) => Queue.unsafeOffer(requests, { listenerError: error.message }))

    const failed = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      if (!response.headersSent) send(response, 500, "text/plain; charset=utf-8", "internal error\n")
      else response.destroy()
    }
    /** While the node stops: a /health probe then still gets its 503 "stopping", not silence. */
    const answerInline = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      try {
        answer(request, response)
      } catch {
        failed(request, response)
      }
    }
    const serveRequests = Effect.forever(
      Effect.flatMap(Queue.take(requests), (item) => {
        if ("listenerError" in item) return Effect.logWarning(`the metrics listener failed: ${item.listenerError}`)
        return Effect.try(() => answer(item.request, item.response)).pipe(
          Effect.catchAll((error) =>
            Effect.zipRight(
              Effect.sync(() => failed(item.request, item.response)),
              Effect.logWarning(`the metrics server failed to answer ${item.request.method} ${item.request.url}: ${String(error.error)}`)
            )
          )
        )
      })
    ).pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(
          Effect.sync(() => (serving = false)),
          () => Effect.map(Queue.takeAll(requests), (queued) => {
            for (const item of queued) if (!("listenerError" in item)) answerInline(item.request, item.response)
          })
        )
      )
    )
    yield* supervision.restarting("metrics server", serveRequests)
    yield* Effect.logInfo(`node ${config.id} serving metrics on http://${host}:${config.metricsPort}/metrics and health on /health`)
    return {
      stopping: () => {
        stopping = true
      }
    } satisfies MetricsServerHandle
  })
