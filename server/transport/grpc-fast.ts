/**
 * gRPC fast path for the ingest RPCs on the dedicated gRPC port.
 *
 * connect-node serves every protocol through one generic async-iterable pipeline; for the
 * hot unary ingest calls (TrackEvent, TrackBatch, ValidateEvent over application/grpc or
 * application/grpc+proto) that machinery, its per-call AbortControllers and the protobuf-es
 * message → wire JSON conversion cost most of the CPU. This handler serves just those calls
 * straight on the HTTP/2 stream: the 5-byte envelope, the generated binary decoder
 * (gen/binary: protobuf → the same wire JSON registerBehaviorService hands the runtime), the
 * runtime call with a small HandlerContext, the generated response encoder, one DATA frame
 * and the trailers. Errors are classified exactly like the connect path (errors.ts, with
 * connect's own trailer encoding, so `grpc-status-details-bin` carries the same
 * google.rpc.Status with recommender.v1.Violation details).
 *
 * It works on node:http2's raw 'stream' event, not the compatibility API: for these calls
 * node makes no Http2ServerRequest/Http2ServerResponse (and none of their per-stream
 * listeners); the body is read from the stream and the trailers sent on its 'wantTrailers'.
 *
 * Everything else — other methods, gRPC-Web, Connect, application/grpc+json, reflection,
 * anything not POST, requests with an Expect header — gets compatibility objects made the
 * way node makes them (serveCompat) and goes to `fallback` (the connect handler) untouched.
 */
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { gunzipSync } from "node:zlib";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { DecodeError } from "../../gen/binary/decode_error.js";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import {
  type BehaviorServiceRuntime,
  behaviorServiceGrpcIngest,
} from "../../gen/handlers/recommender/v1/behavior_handlers.js";
import type { GrpcIngestRpc } from "../../gen/handlers/runtime.js";
import { REQUEST_ID_HEADER, requestScopeOf, runInRequestScope } from "../log/access-log.js";
import type { NodeHandlerFn } from "./connect.js";
import { defaultLog, toConnectError } from "./errors.js";
import { type Http2StreamListener, serveCompat } from "./grpc.js";

/** Options of the gRPC fast path. */
export interface GrpcFastOptions {
  /** The BehaviorService runtime (the same object registerBehaviorService gets). */
  behavior: BehaviorServiceRuntime;
  /** Serves everything the fast path does not, on http2 compatibility objects: the connect handler. */
  fallback: NodeHandlerFn;
  /** Where server faults are logged. */
  log?: (msg: string, err: unknown) => void;
  /** Largest request message, bytes, after decompression (default 1 MiB, like connect's readMaxBytes). */
  maxBodyBytes?: number;
  /** Longest grpc-timeout honoured, ms (default: no cap beyond the header's own range). */
  maxTimeoutMs?: number;
  /** Aborted on shutdown; handlers see it through context.signal (like the connect handler's). */
  shutdownSignal?: AbortSignal;
}

/** An ingest RPC the fast path serves: the generated codec glue and its descriptor (for HandlerContext). */
interface IngestRpc {
  readonly glue: GrpcIngestRpc<BehaviorServiceRuntime>;
  readonly method: DescMethod;
}

/** The ingest RPCs by request path, from the generated table (the proto's ingest options decide which). */
const pathToRpc: ReadonlyMap<string, IngestRpc> = new Map(
  [...behaviorServiceGrpcIngest].map(([path, glue]): [string, IngestRpc] => {
    const method = BehaviorService.methods.find((m) => m.name === glue.rpc);
    if (method === undefined)
      throw new Error(`gen/handlers names ${glue.rpc}, which BehaviorService does not have: regenerate`);
    return [path, { glue, method }];
  }),
);

const RESPONSE_CONTENT_TYPE = "application/grpc+proto";
const ACCEPT_ENCODING = "gzip";
const EMPTY = Buffer.alloc(0);

// Per-stream state lives on the stream under these symbols, so listeners are shared
// functions (no closures per call).
const kCall = Symbol("grpcFastCall");

type StreamWithCall = ServerHttp2Stream & { [kCall]?: Call };

/** Headers (as connect's HandlerContext wants them) over http2's header object, built lazily. */
class RequestHeaders {
  private full: Headers | undefined;
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(", ") : String(v);
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  /** Every other Headers method works on a real Headers made on first use. */
  toHeaders(): Headers {
    if (this.full === undefined) {
      const h = new Headers();
      for (const k in this.raw) {
        if (k.charCodeAt(0) === 58 /* : */) continue;
        const v = this.raw[k];
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) h.append(k, x);
        else h.append(k, String(v));
      }
      this.full = h;
    }
    return this.full;
  }
}
for (const m of [
  "append",
  "delete",
  "set",
  "forEach",
  "entries",
  "keys",
  "values",
  "getSetCookie",
  Symbol.iterator,
] as const) {
  Object.defineProperty(RequestHeaders.prototype, m, {
    value(this: RequestHeaders, ...args: unknown[]) {
      const h = this.toHeaders() as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>;
      return h[m]?.(...args);
    },
  });
}

/** One ingest call: body accumulation, the HandlerContext and the single response. */
class Call implements HandlerContext {
  readonly service = BehaviorService;
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  readonly requestHeader: Headers;
  chunks: Buffer[] = [];
  size = 0;
  done = false;
  deadline = 0;
  timer: NodeJS.Timeout | undefined;
  /** Sent on the stream's 'wantTrailers'. */
  trailers: Record<string, string> | undefined;
  private abort: AbortController | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private ctxValues: ContextValues | undefined;

  constructor(
    readonly fast: FastPath,
    readonly rpc: IngestRpc,
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly compressed: boolean,
  ) {
    this.requestHeader = new RequestHeaders(headers) as unknown as Headers;
  }

  get method(): DescMethod {
    return this.rpc.method;
  }
  get url(): string {
    return `http://${String(this.headers[":authority"] ?? "localhost")}${String(this.headers[":path"])}`;
  }
  /** Made on first use only (most runtimes never look): aborted when the call ends, the client goes away or the server shuts down. */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.done || this.stream.closed) this.abort.abort(new ConnectError("call finished", Code.Canceled));
      else this.watchClose();
      const shutdown = this.fast.shutdownSignal;
      if (shutdown !== undefined) this.signalAll = AbortSignal.any([this.abort.signal, shutdown]);
    }
    return this.signalAll ?? this.abort.signal;
  }
  private signalAll: AbortSignal | undefined;
  private watching = false;
  /** Ends the call when the client resets the stream (only needed for a timer or a signal). */
  watchClose(): void {
    if (!this.watching) {
      this.watching = true;
      this.stream.on("close", onStreamClose);
    }
  }
  timeoutMs(): number | undefined {
    return this.deadline === 0 ? undefined : this.deadline - Date.now();
  }
  get responseHeader(): Headers {
    this.resHeader ??= new Headers();
    return this.resHeader;
  }
  get responseTrailer(): Headers {
    this.resTrailer ??= new Headers();
    return this.resTrailer;
  }
  get values(): ContextValues {
    this.ctxValues ??= createContextValues();
    return this.ctxValues;
  }

  /** Ends the call: aborts a signal someone asked for, clears the deadline timer. */
  finish(reason: unknown): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.abort !== undefined && !this.abort.signal.aborted) this.abort.abort(reason);
  }

  /** Response headers: content type plus anything the runtime put in responseHeader. */
  responseHeaders(): Record<string, string | number> {
    const h: Record<string, string | number> = {
      ":status": 200,
      "content-type": RESPONSE_CONTENT_TYPE,
      "grpc-accept-encoding": ACCEPT_ENCODING,
    };
    // The request id the access log gave this call (server/log/access-log.ts), echoed as metadata.
    const scope = requestScopeOf(this.stream);
    if (scope !== undefined) h[REQUEST_ID_HEADER] = scope.id;
    if (this.resHeader !== undefined) for (const [k, v] of this.resHeader) h[k] = v;
    return h;
  }

  /** Success: one message, trailers grpc-status 0. */
  ok(message: Uint8Array): void {
    if (this.done) return;
    this.finish(undefined);
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    const frame = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    const len = frame.length - 5;
    frame[0] = 0;
    frame.writeUInt32BE(len, 1);
    const t: Record<string, string> = { "grpc-status": "0" };
    if (this.resTrailer !== undefined) for (const [k, v] of this.resTrailer) t[k] = v;
    this.trailers = t;
    try {
      s.on("wantTrailers", onWantTrailers);
      s.respond(this.responseHeaders(), { waitForTrailers: true });
      s.end(frame);
    } catch (err) {
      this.fast.log("grpc fast path: writing the response failed", err);
    }
  }

  /**
   * Failure: classified like the connect path (errors.ts), status in the trailers.
   * `protocol`: an error of this transport itself, sent as it is.
   */
  fail(err: unknown, protocol = false): void {
    if (this.done) return;
    const cerr = protocol && err instanceof ConnectError ? err : toConnectError(err, this.fast.log);
    this.finish(cerr);
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    const trailer = setTrailerStatus(new Headers(), cerr);
    if (this.resTrailer !== undefined) for (const [k, v] of this.resTrailer) trailer.set(k, v);
    const t: Record<string, string> = {};
    for (const [k, v] of trailer) t[k] = v;
    this.trailers = t;
    try {
      // Only ok() responds, and it marks the call done first; the guard keeps a second
      // respond() from throwing should that change.
      if (!s.headersSent) {
        s.on("wantTrailers", onWantTrailers);
        s.respond(this.responseHeaders(), { waitForTrailers: true });
      }
      s.end();
    } catch (e) {
      this.fast.log("grpc fast path: writing the error failed", e);
    }
  }
}

function onStreamClose(this: StreamWithCall): void {
  const call = this[kCall];
  if (call !== undefined && !call.done) call.finish(new ConnectError("stream closed by the client", Code.Canceled));
}

function onWantTrailers(this: StreamWithCall): void {
  const call = this[kCall];
  try {
    this.sendTrailers(call?.trailers ?? {});
  } catch (err) {
    // Thrown out of an http2 callback this would take the process down.
    call?.fast.log("grpc fast path: sending the trailers failed", err);
  }
}

function onStreamError(this: StreamWithCall): void {
  // A reset or broken connection; 'close' follows and ends the call.
}

function onDeadline(call: Call): void {
  call.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded), true);
}

function onData(this: StreamWithCall, chunk: Buffer): void {
  const call = this[kCall];
  if (call === undefined || call.done) return;
  call.size += chunk.length;
  // The limit plus the envelope; a gzip message is checked again after inflating (and
  // compressed input larger than the limit is refused too).
  if (call.size > call.fast.maxBodyBytes + 5) {
    call.chunks = [];
    call.fail(
      new ConnectError(
        `message size is larger than configured readMaxBytes ${call.fast.maxBodyBytes}`,
        Code.ResourceExhausted,
      ),
      true,
    );
    return;
  }
  call.chunks.push(chunk);
}

function onEnd(this: StreamWithCall): void {
  const call = this[kCall];
  if (call === undefined || call.done) return;
  const body =
    call.chunks.length === 1
      ? call.chunks[0]!
      : call.chunks.length === 0
        ? EMPTY
        : Buffer.concat(call.chunks, call.size);
  call.chunks = [];
  // 'end' comes from node:http2 outside the listener's async context: re-enter the request's
  // scope so the runtime's access-log annotations reach it.
  void runInRequestScope(this, runCall, call, body);
}

function runCall(call: Call, body: Buffer): Promise<void> {
  return call.fast.run(call, body);
}

const PROTOCOL = Symbol("grpcFastProtocolError");
function protocolError(message: string, code: Code): ConnectError {
  return new ConnectError(message, code, undefined, undefined, PROTOCOL);
}

/** Shared state of the handler. */
class FastPath {
  readonly behavior: BehaviorServiceRuntime;
  readonly log: (msg: string, err: unknown) => void;
  readonly maxBodyBytes: number;
  readonly maxTimeoutMs: number;
  readonly shutdownSignal: AbortSignal | undefined;

  constructor(options: GrpcFastOptions) {
    this.shutdownSignal = options.shutdownSignal;
    this.behavior = options.behavior;
    this.log = options.log ?? defaultLog;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.maxTimeoutMs = options.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER;
  }

  /** Unwraps the envelope, decodes, calls the runtime and answers. Protocol errors carry cause PROTOCOL. */
  async run(call: Call, body: Buffer): Promise<void> {
    try {
      if (body.length < 5) {
        throw protocolError(
          body.length === 0
            ? "protocol error: missing input message for unary method"
            : "protocol error: incomplete envelope",
          Code.InvalidArgument,
        );
      }
      const flags = body[0]!; // length checked above
      const len = body.readUInt32BE(1);
      if (5 + len > body.length)
        throw protocolError(
          "protocol error: promised " + len + " bytes in enveloped message, got " + (body.length - 5) + " bytes",
          Code.InvalidArgument,
        );
      if (5 + len < body.length)
        throw protocolError("protocol error: received extra input message for unary method", Code.InvalidArgument);
      let buf: Uint8Array = body;
      let start = 5;
      let end = 5 + len;
      if ((flags & 1) === 1) {
        if (!call.compressed)
          throw protocolError("protocol error: received compressed message without grpc-encoding", Code.Internal);
        try {
          buf = gunzipSync(body.subarray(5, end), { maxOutputLength: this.maxBodyBytes });
        } catch (err) {
          if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
            throw protocolError(
              `message size is larger than configured readMaxBytes ${this.maxBodyBytes}`,
              Code.ResourceExhausted,
            );
          }
          throw protocolError("protocol error: invalid gzip data", Code.InvalidArgument);
        }
        start = 0;
        end = buf.length;
      } else if (len > this.maxBodyBytes) {
        throw protocolError(
          `message size is larger than configured readMaxBytes ${this.maxBodyBytes}`,
          Code.ResourceExhausted,
        );
      }
      // 5: room for the gRPC length prefix call.ok fills in.
      call.ok(await call.rpc.glue.invoke(this.behavior, buf, start, end, call, 5));
    } catch (err) {
      if (err instanceof DecodeError)
        call.fail(new ConnectError(`invalid request message: ${err.message}`, Code.InvalidArgument), true);
      else if (err instanceof ConnectError && err.cause === PROTOCOL) call.fail(err, true);
      else call.fail(err);
    }
  }
}

function isGrpcProto(contentType: string | undefined): boolean {
  return contentType === "application/grpc" || contentType === "application/grpc+proto";
}

/**
 * Creates the gRPC port's 'stream' listener (for createGrpcServer/listenGrpc, or any h2c
 * server's `on("stream", ...)`; the server must have no 'request' listener, or node would
 * serve every stream a second time through it). The ingest RPCs over gRPC with the protobuf
 * codec are answered on the stream itself; every other stream is handed to
 * `options.fallback` on compatibility objects (see serveCompat).
 */
export function createGrpcFastHandler(options: GrpcFastOptions): Http2StreamListener {
  const fast = new FastPath(options);
  const fallback = options.fallback;
  return function grpcFastStream(
    this: Http2Server | undefined,
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ): void {
    const rpc = pathToRpc.get(headers[":path"] as string);
    // Expect headers go the compat way too: node's 100-continue/417 handling lives there.
    if (
      rpc === undefined ||
      headers[":method"] !== "POST" ||
      !isGrpcProto(headers["content-type"]) ||
      headers.expect !== undefined
    ) {
      serveCompat(this, stream, headers, rawHeaders, fallback);
      return;
    }
    const s = stream as StreamWithCall;
    const encoding = headers["grpc-encoding"];
    const compressed = encoding !== undefined && encoding !== "identity";
    const call = new Call(fast, rpc, s, headers, compressed);
    s[kCall] = call;
    // Without a listener a stream error (a client reset with a code other than CANCEL) would be thrown.
    s.on("error", onStreamError);
    if (compressed && encoding !== "gzip") {
      s.resume();
      call.fail(
        new ConnectError(
          `unsupported grpc-encoding "${String(encoding)}" (accepted: ${ACCEPT_ENCODING})`,
          Code.Unimplemented,
        ),
        true,
      );
      return;
    }
    const timeout = headers["grpc-timeout"];
    if (timeout !== undefined) {
      const t = parseTimeout(String(timeout), fast.maxTimeoutMs);
      if (t.error !== undefined) {
        s.resume();
        call.fail(t.error, true);
        return;
      }
      if (t.timeoutMs !== undefined) {
        call.deadline = Date.now() + t.timeoutMs;
        call.timer = setTimeout(onDeadline, t.timeoutMs, call);
        call.watchClose();
      }
    }
    s.on("data", onData);
    s.on("end", onEnd);
  };
}

/**
 * HTTP/2 settings for the gRPC port's server: SETTINGS_MAX_CONCURRENT_STREAMS for every new
 * session (sent in the session's first SETTINGS frame, so clients never open more; changing
 * it later on a live session would make nghttp2 refuse streams a client already opened).
 */
export function configureGrpcServer(server: Http2Server, settings: { maxConcurrentStreams?: number }): void {
  if (settings.maxConcurrentStreams !== undefined)
    server.updateSettings({ maxConcurrentStreams: settings.maxConcurrentStreams });
}
