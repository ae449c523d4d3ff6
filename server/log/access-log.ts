/**
 * Access records and request ids.
 *
 * Every request on either port gets a request id: an incoming `x-request-id` (1-128 visible
 * ASCII characters) is kept, anything else gets a random UUID; the HTTP port echoes it in the
 * `x-request-id` response header. When the response is done, one `"msg":"request"` record may be
 * written with req_id, transport, rpc, tenant, method, path, status (and grpc_status), latency_ms:
 *
 * - server faults (HTTP 5xx other than 503/504; gRPC INTERNAL, UNKNOWN, DATA_LOSS) always, at
 *   level error; unavailability (HTTP 503/504; gRPC UNAVAILABLE, DEADLINE_EXCEEDED: load
 *   shedding, the sink down) always, at level warn;
 * - everything else (2xx, and 4xx: the client's mistakes, already answered with a message naming
 *   the field, and a flood of them must not become a flood of log lines) at level info, for a
 *   random `sample` fraction of requests (`--access-log-sample`).
 *
 * The transports see the status and the latency; the RPC and the tenant are known only once a
 * service runtime has the request, so the edge puts a {@link RequestScope} in an
 * AsyncLocalStorage and server/app.ts's RPC wrapper fills it in ({@link annotateRequest}).
 * Per request that costs the id, the scope object, the x-request-id header, one 'close' listener
 * (a shared function: no closure; `on` rather than `once`, which wraps it, as 'close' comes once)
 * and the AsyncLocalStorage frame: ~3 µs of CPU on the loaded 2-core VM where a REST ingest costs
 * 130-250 µs (bench/access-log-bench.ts, BENCHMARKS.md). The sampling decision allocates nothing
 * and nothing is formatted unless a record is written.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2Server, Http2ServerResponse, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Http2StreamListener } from "../transport/grpc.js";
import type { AnyHandler } from "../transport/server.js";
import type { Logger } from "./logger.js";

/** The header carrying the request id, both ways (gRPC: the metadata key). */
export const REQUEST_ID_HEADER = "x-request-id";

const VALID_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The request id to use for an incoming header value: the client's if acceptable, else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === "string" && VALID_REQUEST_ID.test(header) ? header : randomUUID();
}

/** One request in flight: what its access record will say. */
export class RequestScope {
  /** "rest", "connect", "grpc" or "grpc-web"; set when a service runtime got the request. */
  transport: string | undefined = undefined;
  /** The RPC, e.g. "TrackEvent"; set when a service runtime got the request. */
  rpc: string | undefined = undefined;
  /** The request as the runtime got it; the tenant is read from it only if a record is written. */
  request: unknown = undefined;

  constructor(
    readonly log: AccessLog,
    /** The request id (client's or generated). */
    readonly id: string,
    /** performance.now() when the request arrived. */
    readonly start: number,
    readonly method: string | undefined,
    readonly path: string | undefined,
  ) {}
}

const scopes = new AsyncLocalStorage<RequestScope>();
const kScope = Symbol("requestScope");
type Scoped = { [kScope]?: RequestScope | undefined };

/** The request being served, if any (undefined outside a request). */
export function currentRequest(): RequestScope | undefined {
  return scopes.getStore();
}

/**
 * Records the transport, the RPC and the request of the request being served (server/app.ts
 * calls it for every RPC, on every transport).
 */
export function annotateRequest(transport: string, rpc: string, request: unknown): void {
  const scope = scopes.getStore();
  if (scope === undefined) return;
  scope.transport = transport;
  scope.rpc = rpc;
  scope.request = request;
}

/**
 * Runs `fn` in the request scope the access log attached to `carrier` (a gRPC stream). For
 * code driven by a stream's own events (node:http2 emits them outside the listener's async
 * context), so that {@link annotateRequest} finds the request.
 */
export function runInRequestScope<A extends unknown[], R>(carrier: object, fn: (...args: A) => R, ...args: A): R {
  const scope = (carrier as Scoped)[kScope];
  return scope === undefined ? fn(...args) : scopes.run(scope, fn, ...args);
}

/** The request scope the access log attached to `carrier` (a gRPC stream), while the request is open. */
export function requestScopeOf(carrier: object): RequestScope | undefined {
  return (carrier as Scoped)[kScope];
}

/**
 * The tenant a request acts for: the `tenant_id` of an ingest event (the runtime gets the wire
 * JSON; a batch: its first event's), or the `tenantId` of a tracking-config request (protobuf-es
 * message; CreateTrackingConfig: of its `config`).
 */
function tenantOf(request: unknown): string | undefined {
  const r = Array.isArray(request) ? (request[0] as unknown) : request;
  if (r === null || typeof r !== "object") return undefined;
  const o = r as { tenant_id?: unknown; tenantId?: unknown; config?: { tenantId?: unknown } };
  const t = o.tenant_id ?? o.tenantId ?? o.config?.tenantId;
  return typeof t === "string" && t !== "" ? t : undefined;
}

type Level = "error" | "warn" | undefined;

/** Always-logged levels by HTTP status; undefined: sampled at info. */
function levelOfHttp(status: number): Level {
  if (status < 500) return undefined;
  return status === 503 || status === 504 ? "warn" : "error";
}

/** Always-logged levels by gRPC status code; undefined: sampled at info. */
function levelOfGrpc(code: number): Level {
  // 2 UNKNOWN, 13 INTERNAL, 15 DATA_LOSS: server faults. 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE.
  if (code === 13 || code === 2 || code === 15) return "error";
  if (code === 14 || code === 4) return "warn";
  return undefined;
}

function grpcStatusOf(headers: OutgoingHttpHeaders | undefined, trailers: OutgoingHttpHeaders | undefined): number {
  const v = trailers?.["grpc-status"] ?? headers?.["grpc-status"];
  return v === undefined ? -1 : Number(v);
}

type Res = (ServerResponse | Http2ServerResponse) & Scoped;

function onHttpClose(this: Res): void {
  const scope = this[kScope];
  if (scope === undefined) return;
  this[kScope] = undefined;
  // h2c gRPC on the HTTP port carries its status in the trailers.
  const stream = (this as Partial<Http2ServerResponse>).stream;
  const grpc = stream === undefined ? -1 : grpcStatusOf(stream.sentHeaders, stream.sentTrailers);
  scope.log.finish(scope, this.statusCode, grpc, !this.writableFinished);
}

function onGrpcClose(this: ServerHttp2Stream & Scoped): void {
  const scope = this[kScope];
  if (scope === undefined) return;
  this[kScope] = undefined;
  const sent = this.sentHeaders as OutgoingHttpHeaders | undefined;
  const status = Number(sent?.[":status"] ?? 0);
  const grpc = grpcStatusOf(sent, this.sentTrailers);
  scope.log.finish(scope, status, grpc, grpc === -1 && status === 0);
}

function callListener(
  listener: Http2StreamListener,
  server: Http2Server,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
): void {
  listener.call(server, stream, headers, flags, rawHeaders);
}

/** Options of {@link AccessLog}. */
export interface AccessLogOptions {
  logger: Logger;
  /** Fraction (0..1) of successful and client-error requests written at info. Default 0. */
  sample?: number;
}

/** Wraps the transports' entry points: request ids, the request scope, access records. */
export class AccessLog {
  readonly logger: Logger;
  readonly sample: number;
  /** Whether sampled records can be written at all (sample > 0 and info enabled). */
  private readonly sampling: boolean;

  constructor(options: AccessLogOptions) {
    const sample = options.sample ?? 0;
    if (!(sample >= 0 && sample <= 1)) throw new RangeError(`access log sample must be in [0, 1], got ${sample}`);
    this.logger = options.logger;
    this.sample = sample;
    this.sampling = sample > 0 && options.logger.isLevelEnabled("info");
  }

  /** The HTTP port's handler with request ids (echoed in `x-request-id`) and access records. */
  http(handler: AnyHandler): AnyHandler {
    return (req: Parameters<AnyHandler>[0], res: Res) => {
      const scope = new RequestScope(
        this,
        requestIdOf(req.headers[REQUEST_ID_HEADER]),
        performance.now(),
        req.method,
        req.url,
      );
      res.setHeader(REQUEST_ID_HEADER, scope.id);
      res[kScope] = scope;
      res.on("close", onHttpClose);
      scopes.run(scope, handler, req, res);
    };
  }

  /** The gRPC port's stream listener with request ids (from the `x-request-id` metadata) and access records. */
  grpc(listener: Http2StreamListener): Http2StreamListener {
    const log = this;
    return function accessLogged(
      this: Http2Server,
      stream: ServerHttp2Stream & Scoped,
      headers: IncomingHttpHeaders,
      flags: number,
      rawHeaders: string[],
    ): void {
      const scope = new RequestScope(
        log,
        requestIdOf(headers[REQUEST_ID_HEADER]),
        performance.now(),
        headers[":method"],
        headers[":path"],
      );
      stream[kScope] = scope;
      stream.on("close", onGrpcClose);
      scopes.run(scope, callListener, listener, this, stream, headers, flags, rawHeaders);
    };
  }

  /**
   * Writes the access record of a finished request if it must be (faults, unavailability) or
   * was sampled. `grpcStatus` -1: not a gRPC response. `aborted`: the client went away first.
   */
  finish(scope: RequestScope, status: number, grpcStatus: number, aborted: boolean): void {
    const level = grpcStatus >= 0 ? (levelOfGrpc(grpcStatus) ?? levelOfHttp(status)) : levelOfHttp(status);
    if (level === undefined && !(this.sampling && (this.sample >= 1 || Math.random() < this.sample))) return;
    this.logger[level ?? "info"](
      {
        req_id: scope.id,
        transport: scope.transport,
        rpc: scope.rpc,
        tenant: tenantOf(scope.request),
        method: scope.method,
        path: scope.path,
        status,
        grpc_status: grpcStatus >= 0 ? grpcStatus : undefined,
        latency_ms: Math.round((performance.now() - scope.start) * 1000) / 1000,
        aborted: aborted || undefined,
      },
      "request",
    );
  }
}
