/**
 * Assembles the server: sink (embedded file sink or Kafka), SQLite config store with its
 * compiled rules, the ingestion pipeline, the generated services' runtimes and the
 * transports (REST + Connect + gRPC-Web + h2c on the HTTP port, gRPC on its own port),
 * plus /metrics, /livez, /readyz and the API reference at /api/v1/docs.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from "node:http2";
import { join } from "node:path";
import type { HandlerContext } from "@connectrpc/connect";
import { behaviorServiceRest, registerBehaviorService } from "../gen/handlers/recommender/v1/behavior_handlers.js";
import {
  registerTrackingConfigService,
  trackingConfigServiceRest,
} from "../gen/handlers/recommender/v1/tracking_config_handlers.js";
import { kafkaErrorReason } from "../sdk/common/kafka-publisher.js";
import { ApiKeyAuth } from "./auth/api-keys.js";
import type { Sink } from "./contracts.js";
import { IngestPipeline } from "./ingest/pipeline.js";
import { createKafkaSink, type KafkaSinkOptions } from "./kafka/kafka-sink.js";
import { RuleBook, validateConfigDefinition } from "./rules/index.js";
import { AuthGuard } from "./services/auth-guard.js";
import { createBehaviorService } from "./services/behavior-service.js";
import { createTrackingConfigService } from "./services/tracking-config-service.js";
import { FileSink } from "./sink/file-sink.js";
import { PROMETHEUS_CONTENT_TYPE, Stats } from "./stats/stats.js";
import { ConfigStore } from "./store/config-store.js";
import { createConnectHandler } from "./transport/connect.js";
import { listenGrpc } from "./transport/grpc.js";
import { configureGrpcServer, createGrpcFastHandler } from "./transport/grpc-fast.js";
import { createRestHandler, restBinding } from "./transport/rest.js";
import { type AnyHandler, closeGracefully, type DualServer, listenDual, routeByPath } from "./transport/server.js";

/** How to run the server. */
export interface ServerOptions {
  /** Interface to listen on. Default "0.0.0.0". */
  host?: string;
  /** REST, Connect, gRPC-Web and h2c port. Default 8080; 0 picks a free port. */
  httpPort?: number;
  /** gRPC (h2c) port. Default 50051; 0 picks a free port. */
  grpcPort?: number;
  /** Data directory: configs.db and the file sink's topics/. */
  dataDir: string;
  /** "file" (embedded default, no Kafka) or "kafka". */
  sink?: "file" | "kafka";
  /** Kafka sink options when sink is "kafka" (brokers required). */
  kafka?: KafkaSinkOptions;
  /** API keys: a JSON file, and/or TRACKING_API_KEYS / TRACKING_ADMIN_KEYS in `env`. */
  apiKeysFile?: string;
  /** Environment to read keys from. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Largest request body, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Events waiting for the sink before new ones get 503 (load shedding). Default 20,000. */
  maxInFlightEvents?: number;
  /** Longest graceful shutdown before connections are cut, ms. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** Log lines (startup, warnings, faults). Default console.error. */
  log?: (line: string) => void;
}

/** A running server. */
export interface RunningServer {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly stats: Stats;
  readonly sink: Sink;
  readonly store: ConfigStore;
  /** Stops accepting, drains in-flight requests, flushes the sink, closes the store. */
  stop(): Promise<void>;
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

const docsDir = new URL("../gen/openapi/", import.meta.url);

function send(res: Res, status: number, contentType: string, body: string | Buffer): void {
  (res as ServerResponse).writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Wraps each method of a service runtime so every call is observed in the latency histogram,
 * labeled by the transport (HandlerContext.protocolName: rest, connect, grpc, grpc-web) and
 * the RPC. The wrappers are made once here, not per call.
 */
function timed<T extends object>(runtime: T, stats: Stats): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(runtime)) {
    if (typeof value !== "function") {
      wrapped[name] = value;
      continue;
    }
    const call = value as (request: unknown, context: HandlerContext) => Promise<unknown>;
    const rpc = name.charAt(0).toUpperCase() + name.slice(1);
    wrapped[name] = async (request: unknown, context: HandlerContext) => {
      const start = performance.now();
      try {
        return await call.call(runtime, request, context);
      } finally {
        stats.observeLatency(context.protocolName, rpc, (performance.now() - start) / 1000);
      }
    };
  }
  return wrapped as T;
}

/** Starts the server; resolves once both ports listen. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => console.error(line));
  const host = options.host ?? "0.0.0.0";
  const auth = ApiKeyAuth.fromSources({ file: options.apiKeysFile, env: options.env ?? process.env });
  for (const w of auth.startupWarnings()) log(w);
  const guard = new AuthGuard(auth);

  const sink: Sink =
    options.sink === "kafka"
      ? createKafkaSink({
          ...(options.kafka ?? { brokers: ["127.0.0.1:9092"] }),
          // Each change is logged with its cause, so a wrong password or CA shows at start, once.
          onAvailabilityChange: (up, cause) =>
            log(
              up
                ? "kafka sink: broker reachable"
                : `kafka sink unavailable: ${cause === undefined ? "no answer" : kafkaErrorReason(cause).message}`,
            ),
        })
      : // Values come from the generated Kafka JSON encoder, so the sink need not re-parse them.
        new FileSink({ dataDir: options.dataDir, trustValues: true });
  const stats = new Stats({ sink });
  const store = ConfigStore.open({ dataDir: options.dataDir, validate: (c) => validateConfigDefinition(c) });
  const rules = new RuleBook();
  rules.attach(store);
  const pipeline = new IngestPipeline({
    sink,
    judge: rules,
    maxInFlightEvents: options.maxInFlightEvents,
    counters: {
      received: (n) => stats.addReceived(n),
      rejected: (n) => stats.addRejected(n),
      warned: (n) => stats.addValidationWarnings(n),
      published: (n) => stats.addPublished(n),
      failed: (n) => stats.addSinkFailed(n),
    },
  });
  // Timed so /metrics' tracking_request_duration_seconds{transport,rpc} sees every RPC call.
  const behavior = timed(createBehaviorService({ pipeline, stats, sink, guard }), stats);
  const configs = timed(createTrackingConfigService({ store, guard }), stats);

  const shutdown = new AbortController();
  const faultLog = (msg: string, err: unknown) =>
    log(`${msg}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  const connect = createConnectHandler({
    routes: (router) => {
      registerBehaviorService(router, behavior);
      registerTrackingConfigService(router, configs);
    },
    log: faultLog,
    shutdownSignal: shutdown.signal,
    readMaxBytes: options.maxBodyBytes,
  });
  const rest = createRestHandler({
    services: [restBinding(behaviorServiceRest, behavior), restBinding(trackingConfigServiceRest, configs)],
    maxBodyBytes: options.maxBodyBytes,
    log: faultLog,
    shutdownSignal: shutdown.signal,
  });
  const api = routeByPath(rest as AnyHandler, connect as AnyHandler);
  let draining = false;
  const docsHtml = readFileSync(new URL("docs.html", docsDir));
  const openapiJson = readFileSync(new URL("openapi.json", docsDir));

  // Operational endpoints sit in front of the generated routes; everything else is the API.
  const front: AnyHandler = (req: Req, res: Res) => {
    const url = req.url ?? "/";
    switch (url) {
      case "/metrics":
        return send(res, 200, PROMETHEUS_CONTENT_TYPE, stats.renderPrometheus());
      case "/livez":
        return send(res, 200, "application/json", '{"status":"alive"}');
      case "/readyz": {
        const ready = !draining && sink.available();
        const sinkError = sink.available() ? undefined : sink.unavailableReason?.();
        return send(
          res,
          ready ? 200 : 503,
          "application/json",
          JSON.stringify({
            ready,
            sink: sink.kind,
            sink_available: sink.available(),
            ...(sinkError !== undefined ? { sink_error: sinkError } : {}),
            draining,
          }),
        );
      }
      case "/api/v1/docs":
      case "/api/v1/docs/":
        return send(res, 200, "text/html; charset=utf-8", docsHtml);
      case "/api/v1/openapi.json":
        return send(res, 200, "application/json", openapiJson);
    }
    api(req, res);
  };

  const http: DualServer = await listenDual(front, options.httpPort ?? 8080, host);
  let grpc: Http2Server;
  try {
    // The gRPC port answers the ingest RPCs on a generated binary fast path; everything else
    // (other RPCs, gRPC-Web, Connect, JSON codecs) falls through to connect-node.
    const onGrpcStream = createGrpcFastHandler({
      behavior,
      fallback: connect,
      log: faultLog,
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      shutdownSignal: shutdown.signal,
    });
    grpc = await listenGrpc(onGrpcStream, options.grpcPort ?? 50051, host);
    configureGrpcServer(grpc, { maxConcurrentStreams: 256 });
  } catch (err) {
    await http.close(0);
    throw err;
  }
  const grpcSessions = new Set<Http2Session>();
  grpc.on("session", (s: Http2Session) => {
    grpcSessions.add(s);
    s.once("close", () => grpcSessions.delete(s));
  });
  const grpcAddress = grpc.address();
  const grpcPort = typeof grpcAddress === "object" && grpcAddress ? grpcAddress.port : (options.grpcPort ?? 50051);
  log(
    `tracking server: REST/Connect/gRPC-Web/h2c on ${host}:${http.port()}, gRPC on ${host}:${grpcPort}, sink=${sink.kind}, data=${join(options.dataDir)}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    httpPort: http.port(),
    grpcPort,
    stats,
    sink,
    store,
    stop() {
      stopping ??= (async () => {
        draining = true;
        const timeout = options.shutdownTimeoutMs ?? 10_000;
        await Promise.all([http.close(timeout), closeGracefully({ net: grpc, sessions: grpcSessions }, timeout)]);
        shutdown.abort();
        await sink.close();
        store.close();
      })();
      return stopping;
    },
  };
}
