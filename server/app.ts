/**
 * Assembles the server: sink (embedded file sink or Kafka), config store (SQLite or MongoDB,
 * polled for other servers' changes) with its compiled rules, the ingestion pipeline, the generated services' runtimes and the
 * transports (REST + Connect + gRPC-Web + h2c on the HTTP port, gRPC on its own port),
 * plus /metrics, /livez, /readyz, the API reference at /api/v1/docs (generated) and
 * /api/v1/docs/try (Swagger UI), and the live event inspector at /inspector. Logs are JSON records
 * (server/log/): startup, warnings, faults, and sampled access records with request ids.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2SecureServer, Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from "node:http2";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import type { HandlerContext } from "@connectrpc/connect";
import { BehaviorService } from "../gen/es/recommender/v1/behavior_pb.js";
import { behaviorServiceRest, registerBehaviorService } from "../gen/handlers/recommender/v1/behavior_handlers.js";
import {
  registerTrackingConfigService,
  trackingConfigServiceRest,
} from "../gen/handlers/recommender/v1/tracking_config_handlers.js";
import { kafkaErrorReason } from "../sdk/common/kafka-publisher.js";
import { ApiKeyAuth } from "./auth/api-keys.js";
import { type QuotaLimit, Quotas, type QuotaUsageLink } from "./auth/quotas.js";
import type { Sink } from "./contracts.js";
import { createTryItHandler } from "./docs/try-it.js";
import { IngestPipeline } from "./ingest/pipeline.js";
import { testEventTemplates } from "./inspector/examples.js";
import { createInspectorHttp } from "./inspector/http.js";
import { Inspector, type InspectorOptions } from "./inspector/inspector.js";
import { createKafkaSink, type KafkaSinkOptions } from "./kafka/kafka-sink.js";
import { AccessLog, annotateRequest } from "./log/access-log.js";
import { createLogger, type Logger, type LogLevel } from "./log/logger.js";
import { RuleBook, validateConfigDefinition } from "./rules/index.js";
import { AuthGuard } from "./services/auth-guard.js";
import { createBehaviorService } from "./services/behavior-service.js";
import { createTrackingConfigService } from "./services/tracking-config-service.js";
import { FileSink } from "./sink/file-sink.js";
import { SpoolSink } from "./spool/spool-sink.js";
import { localView, type MetricsView, PROMETHEUS_CONTENT_TYPE, Stats } from "./stats/stats.js";
import type { ConfigStore } from "./store/config-store.js";
import { registerConfigStoreMetrics } from "./store/metrics.js";
import { openConfigStore } from "./store/open.js";
import { createConnectHandler } from "./transport/connect.js";
import { listenGrpc } from "./transport/grpc.js";
import { configureGrpcServer, createGrpcFastHandler } from "./transport/grpc-fast.js";
import { createRestHandler, restBinding } from "./transport/rest.js";
import {
  type AnyHandler,
  closeGracefully,
  type DualServer,
  listenDual,
  routeByPath,
  type TlsFiles,
} from "./transport/server.js";

/** How to run the server. */
export interface ServerOptions {
  /** Interface to listen on. Default "0.0.0.0". */
  host?: string;
  /** REST, Connect, gRPC-Web and h2c port. Default 8080; 0 picks a free port. */
  httpPort?: number;
  /** gRPC (h2c) port. Default 50051; 0 picks a free port. */
  grpcPort?: number;
  /** Data directory: configs.db (unless configStore names another) and the file sink's topics/. */
  dataDir: string;
  /**
   * Config store: `sqlite:<file>` or a `mongodb://` URI shared by every server. Default
   * `sqlite:<dataDir>/configs.db`.
   */
  configStore?: string | undefined;
  /** How often configs changed by other processes/servers are read, ms. Default 500. */
  configPollMs?: number | undefined;
  /** MongoDB: how long to wait for a reachable server (start-up failure, write 503), ms. Default 3000. */
  configStoreTimeoutMs?: number | undefined;
  /** "file" (embedded default, no Kafka) or "kafka". */
  sink?: "file" | "kafka";
  /** Kafka sink options when sink is "kafka" (brokers required). */
  kafka?: KafkaSinkOptions;
  /**
   * Durable spool in front of the Kafka sink (opt-in): while the broker is unreachable events are
   * fsync'd to `dir` and answered 202 spooled, then forwarded in order (server/spool). Only with
   * the Kafka sink. Default: none (events are answered after the broker's ack, else 503).
   */
  spool?: { dir: string; maxBytes?: number | undefined };
  /** API keys: a JSON file, and/or TRACKING_API_KEYS / TRACKING_ADMIN_KEYS in `env`. */
  apiKeysFile?: string;
  /**
   * Ingestion limit of tenants the keys file gives no quota (`--default-quota`). Default:
   * unlimited.
   */
  defaultQuota?: QuotaLimit | undefined;
  /** Clock of the quota buckets, ms (tests pin it). Default Date.now. */
  quotaClock?: () => number;
  /**
   * TLS for both listeners (`--tls-cert/--tls-key`): PEM files. With it the HTTP port serves
   * HTTPS with HTTP/2 and HTTP/1.1 (ALPN), and the gRPC port gRPC over TLS.
   */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** Environment to read keys from. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Largest request body, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Events waiting for the sink before new ones get 503 (load shedding). Default 20,000. */
  maxInFlightEvents?: number;
  /** Longest graceful shutdown before connections are cut, ms. Default 10 s. */
  shutdownTimeoutMs?: number;
  /**
   * Where the JSON log records go (startup, warnings, faults, access records). Default: a logger
   * on stdout at `logLevel` (server/log/logger.ts). Tests pass one writing to a buffer.
   */
  logger?: Logger;
  /** Level of the default logger (ignored when `logger` is given). Default "info". */
  logLevel?: LogLevel;
  /**
   * Fraction (0..1) of successful and 4xx requests given an access record; faults and 503s are
   * always logged (server/log/access-log.ts). Default 0.
   */
  accessLogSample?: number;
  /**
   * Listen with SO_REUSEPORT on both ports (each process binds its own socket and the kernel
   * spreads connections), for several processes on the same ports. Default false.
   */
  reusePort?: boolean;
  /**
   * Where /metrics and the health endpoint read their numbers. Default: this process's Stats;
   * a cluster worker passes the view that sums every worker (server/cluster/worker.ts).
   */
  metricsView?: (stats: Stats) => MetricsView;
  /**
   * Connects this process's ingestion quotas to the other processes serving the same keys file,
   * so that together they admit each quota once; returns the function that disconnects (called
   * on stop). A cluster worker passes server/cluster/worker.ts `shareQuotaUsage`. Default: none.
   */
  shareQuotaUsage?: ((link: QuotaUsageLink) => () => void) | undefined;
  /** The live event inspector at /inspector (sizes, recording); `false` turns it off (404). Default on. */
  inspector?: InspectorOptions | false | undefined;
}

/** A running server. */
export interface RunningServer {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly stats: Stats;
  readonly sink: Sink;
  readonly store: ConfigStore;
  readonly logger: Logger;
  /** Whether the listeners serve TLS. */
  readonly tls: boolean;
  /**
   * Re-reads the keys file and the key environment variables (SIGHUP): added keys work and
   * removed keys are refused from the next request on; quota changes apply, and unchanged
   * quotas keep their fill level. A malformed file throws and leaves the old keys in force.
   */
  reloadKeys(): void;
  /** The live event inspector, when on. */
  readonly inspector: Inspector | undefined;
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
 * the RPC, and its access record names them (annotateRequest). The wrappers are made once
 * here, not per call.
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
      annotateRequest(context.protocolName, rpc, request);
      try {
        return await call.call(runtime, request, context);
      } finally {
        stats.observeLatency(context.protocolName, rpc, (performance.now() - start) / 1000);
      }
    };
  }
  return wrapped as T;
}

/** Reads the PEM files of `--tls-cert/--tls-key`, naming the file that cannot be read. */
function readTls(files: { certFile: string; keyFile: string }): TlsFiles {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(e as Error).message}`);
    }
  };
  const pem = {
    cert: read(files.certFile, "certificate (--tls-cert)"),
    key: read(files.keyFile, "private key (--tls-key)"),
  };
  try {
    // Fails here, at start, on a file that is no PEM or a key that does not match the certificate.
    createSecureContext(pem);
  } catch (e) {
    throw new Error(
      `invalid TLS certificate/key (--tls-cert ${files.certFile}, --tls-key ${files.keyFile}): ${(e as Error).message}`,
    );
  }
  return pem;
}

/** The quota configuration for the startup log (limits only, never keys). */
function describeQuotas(auth: ApiKeyAuth, defaultQuota: QuotaLimit | undefined): string {
  const parts = [...auth.tenantQuotas()].map(([t, l]) => `${t} ${l.eventsPerSecond}/s burst ${l.burst}`);
  parts.push(
    defaultQuota ? `others ${defaultQuota.eventsPerSecond}/s burst ${defaultQuota.burst}` : "others unlimited",
  );
  if (auth.hasKeyQuotas()) parts.push("some keys have their own");
  return parts.join(", ");
}

/**
 * The inspector form's test events: the generated track route (REST table) and, per scenario
 * template, the generated OpenAPI example of its body completed from the template.
 */
function inspectorForm(openapiJson: Buffer): { trackPath: string; testEvents: ReturnType<typeof testEventTemplates> } {
  const route = behaviorServiceRest.routes.find((r) => r.rpc === BehaviorService.method.trackEvent.name);
  if (route === undefined) throw new Error("the generated REST routes have no TrackEvent");
  const doc = JSON.parse(openapiJson.toString("utf8")) as {
    paths: Record<
      string,
      { post?: { requestBody?: { content?: Record<string, { example?: Record<string, unknown> }> } } }
    >;
  };
  const example = doc.paths[route.pathTemplate]?.post?.requestBody?.content?.["application/json"]?.example ?? {};
  return { trackPath: route.pathTemplate, testEvents: testEventTemplates(example) };
}

/** Starts the server; resolves once both ports listen (and a spool left by an earlier run was opened). */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? "info" });
  const access = new AccessLog({ logger, sample: options.accessLogSample ?? 0 });
  const host = options.host ?? "0.0.0.0";
  const tls = options.tls === undefined ? undefined : readTls(options.tls);
  const keySources = { file: options.apiKeysFile, env: options.env ?? process.env };
  const auth = ApiKeyAuth.fromSources(keySources);
  for (const w of auth.startupWarnings()) logger.warn(w);

  // Before the sink: an unreachable store fails the start without a sink to clean up.
  const store = await openConfigStore({
    spec: options.configStore,
    dataDir: options.dataDir,
    validate: (c) => validateConfigDefinition(c),
    pollIntervalMs: options.configPollMs,
    serverSelectionTimeoutMs: options.configStoreTimeoutMs,
    log: (line) => logger.warn(line),
  });
  const baseSink: Sink =
    options.sink === "kafka"
      ? createKafkaSink({
          ...(options.kafka ?? { brokers: ["127.0.0.1:9092"] }),
          // Each change is logged with its cause, so a wrong password or CA shows at start, once.
          onAvailabilityChange: (up, cause) => {
            if (up) logger.info("kafka sink: broker reachable");
            else
              logger.warn(
                `kafka sink unavailable: ${cause === undefined ? "no answer" : kafkaErrorReason(cause).message}`,
              );
          },
        })
      : // Values come from the generated Kafka JSON encoder, so the sink need not re-parse them.
        new FileSink({ dataDir: options.dataDir, trustValues: true });
  if (options.spool !== undefined && options.sink !== "kafka") {
    logger.warn("--spool-dir ignored: the spool only fronts the Kafka sink (the file sink is local already)");
  }
  const spool =
    options.spool !== undefined && options.sink === "kafka"
      ? await SpoolSink.open(baseSink, {
          dir: options.spool.dir,
          maxBytes: options.spool.maxBytes,
          log: (line) => logger.warn(line),
        })
      : undefined;
  const sink: Sink = spool ?? baseSink;
  const stats = new Stats({ sink });
  stats.setSpool(spool);
  registerConfigStoreMetrics(stats.registry, store);
  const quotaOptions = (a: ApiKeyAuth) => ({
    tenants: a.tenantQuotas(),
    defaultLimit: options.defaultQuota,
    keyLimits: a.hasKeyQuotas(),
  });
  const quotas = new Quotas({
    ...quotaOptions(auth),
    ...(options.quotaClock !== undefined ? { now: options.quotaClock } : {}),
    onRejected: (tenant, n) => stats.addQuotaRejected(tenant, n),
    recordUsage: options.shareQuotaUsage !== undefined,
  });
  const guard = new AuthGuard(auth, quotas);
  const stopSharingQuotas = options.shareQuotaUsage?.(guard);
  if (quotas.enabled) logger.info(`ingestion quotas: ${describeQuotas(auth, options.defaultQuota)}`);

  const rules = new RuleBook();
  rules.attach(store);
  const inspector = options.inspector === false ? undefined : new Inspector(options.inspector);
  const pipeline = new IngestPipeline({
    sink,
    judge: rules,
    tap: inspector,
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
  const metrics = (options.metricsView ?? localView)(stats);
  const behavior = timed(createBehaviorService({ pipeline, metrics, sink, guard }), stats);
  const configs = timed(createTrackingConfigService({ store, guard }), stats);

  const shutdown = new AbortController();
  const faultLog = (msg: string, err: unknown) => logger.error({ err }, msg);
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
    // Before the body is read: the key (401), the config API's admin check, and the quota of a
    // one-event ingest whose key writes one tenant (the runtimes repeat what depends on the body).
    authorize: (route, context, access) => {
      if (access === "admin") guard.admin(context);
      else if (access === "tenant")
        guard.preflightIngest(context, route.rpc === BehaviorService.method.trackEvent.name);
    },
    maxBodyBytes: options.maxBodyBytes,
    log: faultLog,
    shutdownSignal: shutdown.signal,
  });
  const api = routeByPath(rest as AnyHandler, connect as AnyHandler);
  let draining = false;
  const docsHtml = readFileSync(new URL("docs.html", docsDir));
  const openapiJson = readFileSync(new URL("openapi.json", docsDir));
  // Pages with their own routes under a prefix: Swagger UI, and the inspector (its page files
  // sit beside this module in inspector/static/, as gen/openapi/ does above).
  const tryIt = createTryItHandler({ openapiUrl: "/api/v1/openapi.json", referenceUrl: "/api/v1/docs" });
  const inspectorHttp =
    inspector &&
    createInspectorHttp({
      inspector,
      auth: () => guard.auth,
      staticDir: new URL("./inspector/static/", import.meta.url),
      ...inspectorForm(openapiJson),
      secureCookie: tls !== undefined,
    });

  // Operational endpoints sit in front of the generated routes; everything else is the API.
  const front: AnyHandler = (req: Req, res: Res) => {
    const url = req.url ?? "/";
    switch (url) {
      case "/metrics":
        metrics.metrics().then(
          (text) => send(res, 200, PROMETHEUS_CONTENT_TYPE, text),
          (err: unknown) => {
            faultLog("/metrics failed", err);
            send(res, 503, "text/plain; charset=utf-8", "metrics unavailable\n");
          },
        );
        return;
      case "/livez":
        return send(res, 200, "application/json", '{"status":"alive"}');
      case "/readyz": {
        // With a spool the server still takes events while the broker is down.
        const ready = !draining && (sink.available() || spool?.accepting() === true) && store.available();
        const sinkError = sink.available() ? undefined : sink.unavailableReason?.();
        return send(
          res,
          ready ? 200 : 503,
          "application/json",
          JSON.stringify({
            ready,
            sink: sink.kind,
            sink_available: sink.available(),
            config_store: store.kind,
            config_store_available: store.available(),
            draining,
            ...(spool ? { spool_bytes: spool.bytes, spooling: spool.spooling } : {}),
            ...(sinkError !== undefined ? { sink_error: sinkError } : {}),
          }),
        );
      }
      case "/api/v1/docs":
      case "/api/v1/docs/":
        return send(res, 200, "text/html; charset=utf-8", docsHtml);
      case "/api/v1/openapi.json":
        return send(res, 200, "application/json", openapiJson);
    }
    if (tryIt(req, res) || inspectorHttp?.(req, res)) return;
    api(req, res);
  };

  const listen = { reusePort: options.reusePort ?? false, ...(tls !== undefined ? { tls } : {}) };
  let http: DualServer;
  try {
    http = await listenDual(access.http(front), options.httpPort ?? 8080, host, listen);
  } catch (err) {
    await Promise.all([sink.close(), store.close()]);
    throw err;
  }
  let grpc: Http2Server | Http2SecureServer;
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
    grpc = await listenGrpc(access.grpc(onGrpcStream), options.grpcPort ?? 50051, host, listen);
    configureGrpcServer(grpc, { maxConcurrentStreams: 256 });
  } catch (err) {
    await http.close(0);
    await Promise.all([sink.close(), store.close()]);
    throw err;
  }
  const grpcSessions = new Set<Http2Session>();
  grpc.on("session", (s: Http2Session) => {
    grpcSessions.add(s);
    s.once("close", () => grpcSessions.delete(s));
  });
  const grpcAddress = grpc.address();
  const grpcPort = typeof grpcAddress === "object" && grpcAddress ? grpcAddress.port : (options.grpcPort ?? 50051);
  logger.info(
    {
      host,
      http_port: http.port(),
      grpc_port: grpcPort,
      sink: sink.kind,
      ...(spool ? { spool_dir: spool.dir, spool_max_bytes: spool.maxBytes } : {}),
      config_store: `${store.kind} ${store.location}`,
      data_dir: join(options.dataDir),
      // "build" when running the JavaScript of `make build`, "source" under tsx.
      runtime: import.meta.url.endsWith(".js") ? "build" : "source",
      access_log_sample: access.sample,
      tls: tls !== undefined,
    },
    tls
      ? `tracking server (TLS): REST/Connect/gRPC-Web over HTTPS (h2, http/1.1) on ${host}:${http.port()}, gRPC on ${host}:${grpcPort}`
      : `tracking server: REST/Connect/gRPC-Web/h2c on ${host}:${http.port()}, gRPC on ${host}:${grpcPort}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    httpPort: http.port(),
    grpcPort,
    stats,
    sink,
    store,
    logger,
    tls: tls !== undefined,
    reloadKeys() {
      const next = ApiKeyAuth.fromSources(keySources);
      next.carryBucketsFrom(guard.auth);
      guard.replace(next, guard.quotas.reconfigure(quotaOptions(next)));
      // Open inspector streams were let in by the old keys: they reconnect under the new ones.
      inspector?.disconnectWatchers();
      for (const w of next.startupWarnings()) logger.warn(w);
      logger.info(
        `API keys reloaded: ${next.keyCount()} keys${guard.quotas.enabled ? `; quotas: ${describeQuotas(next, options.defaultQuota)}` : ""}`,
      );
    },
    inspector,
    stop() {
      stopping ??= (async () => {
        draining = true;
        inspector?.close();
        const timeout = options.shutdownTimeoutMs ?? 10_000;
        await Promise.all([http.close(timeout), closeGracefully({ net: grpc, sessions: grpcSessions }, timeout)]);
        shutdown.abort();
        stopSharingQuotas?.();
        await sink.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
