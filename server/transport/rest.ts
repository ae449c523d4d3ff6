/**
 * The REST transport: a node:http (or http2 compat) request handler that serves the
 * google.api.http bindings of the generated route tables (gen/handlers) on a runtime.
 *
 * Hardening happens before JSON.parse sees a byte: method/route (404/405), content type
 * (415), declared and streamed size (413), gzip with a decompressed cap (413/400), UTF-8
 * (400), nesting depth and prototype-polluting keys (400) — each with a JSON error body
 * `{"success": false, "error": {"code", "message"}}`. The handler never throws and never
 * lets a rejected promise escape: every path ends in a response.
 */
import { Buffer, isUtf8 } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { gunzip } from "node:zlib";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type ContextKey,
  type ContextValues,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import type { MethodAccess, RestRoute, RestService, WireViolation } from "../../gen/handlers/runtime.js";
import { classifyError, defaultLog } from "./errors.js";

/** A service's generated REST table bound to the object that implements it. */
export interface RestBinding {
  readonly rest: RestService<unknown>;
  readonly runtime: unknown;
}

/** Binds a generated `xServiceRest` to its runtime with the types checked. */
export function restBinding<R>(rest: RestService<R>, runtime: R): RestBinding {
  return { rest: rest as RestService<unknown>, runtime };
}

/** Options of the REST handler. */
export interface RestHandlerOptions {
  services: readonly RestBinding[];
  /** Largest request body on the wire, bytes (default 1 MiB). */
  maxBodyBytes?: number | undefined;
  /** Largest gzip-decompressed body, bytes (default 4 × maxBodyBytes). */
  maxDecompressedBytes?: number;
  /** Deepest allowed JSON nesting (default 32). */
  maxDepth?: number;
  /** Where server faults are logged. */
  log?: (msg: string, err: unknown) => void;
  /** Aborted when the server shuts down; handed to the runtime as HandlerContext.signal. */
  shutdownSignal?: AbortSignal | undefined;
  /**
   * Checks credentials of a matched route before its body is read or transcoded (throw the
   * runtime's UnauthenticatedError/ForbiddenError), so unauthorized callers get 401/403
   * rather than a 400 describing the body. `access` is the RPC's, from the service's generated
   * access table. The runtime still checks on its own.
   */
  authorize?: ((route: RestRoute<unknown>, context: HandlerContext, access: MethodAccess) => void) | undefined;
}

/**
 * Warnings found while transcoding the body (e.g. unknown keys dropped from a decoded body,
 * or unknown top-level keys of a batch ingest envelope); the runtime reads them with
 * `context.values.get(restWarningsKey)` to add them to its own warnings. Ingest events
 * themselves are not inspected here: the runtime gets them raw and validates them.
 */
export const restWarningsKey: ContextKey<WireViolation[]> = createContextKey<WireViolation[]>([], {
  description: "rest transcoding warnings",
});

/**
 * The HTTP status of a successful REST answer when it is not 200, set by the runtime with
 * `context.values.set(restStatusKey, 202)` (e.g. an event accepted into the spool, not yet in
 * the broker). Other transports ignore it: their success is OK either way.
 */
export const restStatusKey: ContextKey<number> = createContextKey<number>(200, { description: "rest success status" });

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** A client error detected by the transport itself. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

const EMPTY_QUERY = new URLSearchParams();
const MIB = 1024 * 1024;

/** Creates the REST request handler; requests that match no route get a JSON 404/405. */
export function createRestHandler(options: RestHandlerOptions): (req: Req, res: Res) => void {
  const maxBody = options.maxBodyBytes ?? MIB;
  const maxInflated = options.maxDecompressedBytes ?? 4 * maxBody;
  const maxDepth = options.maxDepth ?? 32;
  const log = options.log ?? defaultLog;
  const services = options.services;
  // Route → method descriptor, resolved once instead of per request.
  const methodOf = new Map<RestRoute<unknown>, DescMethod>();
  for (const { rest } of services) {
    for (const route of rest.routes) {
      const m = rest.desc.methods.find((x) => x.name === route.rpc);
      if (m) methodOf.set(route, m);
    }
  }

  const shutdownSignal = options.shutdownSignal ?? new AbortController().signal;
  const authorize = options.authorize;
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // handle() answers every error itself; this only guards a failure while answering.
      log("rest handler failed", err);
      if (!res.headersSent) sendJson(res, 500, errorBody("internal", "internal error"));
      else res.end();
    });
  };

  async function handle(req: Req, res: Res): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    let binding: RestBinding | undefined;
    let match: ReturnType<RestService<unknown>["match"]>;
    for (const b of services) {
      match = b.rest.match(method, path);
      if (match) {
        binding = b;
        break;
      }
    }
    if (!binding || !match) {
      drain(req);
      const allow = new Set<string>();
      for (const b of services) for (const m of b.rest.allowedMethods(path)) allow.add(m);
      if (allow.size > 0) {
        const list = [...allow].join(", ");
        return sendJson(res, 405, errorBody("method_not_allowed", `${method} is not allowed on ${path}; use ${list}`), {
          allow: list,
        });
      }
      return sendJson(res, 404, errorBody("not_found", `no route for ${method} ${path}`));
    }
    const route = match.route;
    try {
      const context = new RestContext(binding.rest.desc, methodOf.get(route)!, method, url, req, shutdownSignal);
      // Credentials before the body: a caller without them learns nothing from body errors.
      // Every RPC is in its service's access table; one missing would be locked (admin).
      authorize?.(route, context, binding.rest.access[route.rpc] ?? "admin");
      let body: unknown;
      if (route.bodyField !== undefined) body = await readJsonBody(req, maxBody, maxInflated, maxDepth);
      else drain(req);
      const query = q === -1 ? EMPTY_QUERY : new URLSearchParams(url.slice(q + 1));
      const warnings: WireViolation[] = [];
      const request = route.toRequest(match.params, query, body, warnings);
      if (warnings.length > 0) context.values.set(restWarningsKey, warnings);
      const response = await route.call(binding.runtime, request, context);
      sendJson(res, context.status(), route.toRest(response), context.setResponseHeaders());
    } catch (err) {
      if (err instanceof HttpError) {
        if (!req.readableEnded) drain(req);
        return sendJson(res, err.status, errorBody(err.code, err.message), err.headers);
      }
      if (!req.readableEnded) drain(req);
      const c = classifyError(err);
      if (c.internal) log(`${route.rpc} failed`, err);
      const body: Record<string, unknown> = errorBody(c.errorCode, c.message, c.errorFields);
      if (c.violations) {
        // Same key as TrackEventResponse.errors, so clients read one field either way.
        body.errors = c.violations;
        body.message = c.message;
      }
      sendJson(
        res,
        c.status,
        body,
        c.retryAfterSeconds !== undefined ? { "retry-after": String(c.retryAfterSeconds) } : undefined,
      );
    }
  }
}

function errorBody(code: string, message: string, fields?: Record<string, unknown>): Record<string, unknown> {
  return { success: false, error: fields === undefined ? { code, message } : { code, message, ...fields } };
}

function sendJson(res: Res, status: number, body: unknown, headers?: Record<string, string>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  const h: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  };
  if (headers) Object.assign(h, headers);
  (res as ServerResponse).writeHead(status, h);
  res.end(text);
}

/**
 * The HandlerContext of a REST call, built for the hot path: connect's createHandlerContext
 * links a fresh AbortController per call (and aborting it on close costs a DOMException with
 * a stack trace per request). Here headers, values and response headers are made only when
 * a runtime asks for them, and the signal is the server's shutdown signal.
 */
class RestContext implements HandlerContext {
  readonly protocolName = "rest";
  readonly service: DescService;
  readonly method: DescMethod;
  readonly requestMethod: string;
  readonly url: string;
  readonly signal: AbortSignal;
  readonly #req: Req;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;

  constructor(
    service: DescService,
    method: DescMethod,
    requestMethod: string,
    url: string,
    req: Req,
    signal: AbortSignal,
  ) {
    this.service = service;
    this.method = method;
    this.requestMethod = requestMethod;
    this.url = url;
    this.#req = req;
    this.signal = signal;
  }

  timeoutMs(): number | undefined {
    return undefined;
  }

  get requestHeader(): Headers {
    this.#requestHeader ??= toHeaders(this.#req);
    return this.#requestHeader;
  }

  get responseHeader(): Headers {
    this.#responseHeader ??= new Headers();
    return this.#responseHeader;
  }

  /** Response headers the runtime set (e.g. ETag), or undefined when none. */
  setResponseHeaders(): Record<string, string> | undefined {
    if (this.#responseHeader === undefined) return undefined;
    const out: Record<string, string> = {};
    this.#responseHeader.forEach((value, name) => {
      out[name] = value;
    });
    return out;
  }

  get responseTrailer(): Headers {
    this.#responseTrailer ??= new Headers();
    return this.#responseTrailer;
  }

  get values(): ContextValues {
    this.#values ??= createContextValues();
    return this.#values;
  }

  /** The success status the runtime chose (restStatusKey), 200 unless it set one. */
  status(): number {
    return this.#values === undefined ? 200 : this.#values.get(restStatusKey);
  }
}

function toHeaders(req: Req): Headers {
  const h = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    // HTTP/2 pseudo-headers (":path") are not valid header names for Headers.
    if (name !== undefined && value !== undefined && name.charCodeAt(0) !== 58) h.append(name, value);
  }
  return h;
}

/** Discards an unread body so the connection stays usable. */
function drain(req: Req): void {
  req.on("error", () => {});
  req.resume();
}

/** application/json with no charset or charset=utf-8 (JSON is UTF-8 by RFC 8259). */
function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return false;
  const semi = ct.indexOf(";");
  const type = (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  if (type !== "application/json") return false;
  if (semi === -1) return true;
  const params = ct.slice(semi + 1).toLowerCase();
  const cs = /charset\s*=\s*"?([^";\s]+)/.exec(params);
  return !cs || cs[1] === "utf-8" || cs[1] === "utf8";
}

async function readJsonBody(req: Req, maxBody: number, maxInflated: number, maxDepth: number): Promise<unknown> {
  const contentType = req.headers["content-type"];
  if (!isJsonContentType(contentType)) {
    // Name what was wrong: a JSON type in another charset (e.g. UTF-16) or another type.
    const charset = contentType?.toLowerCase().startsWith("application/json")
      ? /charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]
      : undefined;
    const message = charset
      ? `charset ${JSON.stringify(charset.slice(0, 40))} is not supported; JSON bodies must be UTF-8 (Content-Type: application/json)`
      : `Content-Type must be application/json, got ${contentType ? JSON.stringify(contentType.slice(0, 100)) : "none"}`;
    throw new HttpError(415, "unsupported_media_type", message);
  }
  const encoding = (req.headers["content-encoding"] ?? "identity").toString().trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") {
    throw new HttpError(415, "unsupported_encoding", `Content-Encoding ${encoding} is not supported; use gzip or none`);
  }
  const declared = Number(req.headers["content-length"]);
  if (declared > maxBody) throw new HttpError(413, "body_too_large", `request body exceeds ${maxBody} bytes`);
  let raw = await readCapped(req, maxBody);
  if (encoding === "gzip") raw = await inflate(raw, maxInflated);
  if (raw.length === 0) return undefined;
  if (!isUtf8(raw)) throw new HttpError(400, "invalid_utf8", "request body is not valid UTF-8");
  let text = raw.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  checkShape(text, maxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "invalid_json", `malformed JSON: ${(e as Error).message}`);
  }
  if (mayHaveForbiddenKey(text)) rejectForbiddenKeys(value);
  return value;
}

function readCapped(req: Req, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      reject(e);
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        // Keep reading (and discarding) so the 413 reaches a client still sending.
        chunks.length = 0;
        fail(new HttpError(413, "body_too_large", `request body exceeds ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on("error", (e) => fail(new HttpError(400, "bad_request", `cannot read request body: ${e.message}`)));
    req.on("aborted", () => fail(new HttpError(400, "bad_request", "request aborted")));
  });
}

function inflate(buf: Buffer, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(buf, { maxOutputLength: max }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
        reject(new HttpError(413, "body_too_large", `decompressed request body exceeds ${max} bytes`));
      } else {
        reject(new HttpError(400, "invalid_gzip", `request body is not valid gzip: ${err.message}`));
      }
    });
  });
}

/**
 * One pass over the text, skipping strings, tracking {/[ depth. JSON.parse would accept
 * deep nesting, but every recursive walker after it (validator, codec) would pay for it.
 */
function checkShape(text: string, maxDepth: number): void {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Skip the string; a backslash escapes the next char.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) throw new HttpError(400, "too_deep", `JSON nesting deeper than ${maxDepth}`);
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
}

/**
 * Cheap pre-filter: the keys can only be present if these substrings are (or an escape
 * could spell them). Bodies without them — nearly all — skip the object walk.
 */
function mayHaveForbiddenKey(text: string): boolean {
  return (
    text.includes("__proto__") || text.includes("constructor") || text.includes("prototype") || text.includes("\\u")
  );
}

const forbidden = new Set(["__proto__", "constructor", "prototype"]);

function rejectForbiddenKeys(value: unknown): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const v of value) rejectForbiddenKeys(v);
    return;
  }
  // JSON.parse creates "__proto__" as an own data property, so Object.keys sees it.
  for (const key of Object.keys(value)) {
    if (forbidden.has(key)) throw new HttpError(400, "forbidden_key", `key ${JSON.stringify(key)} is not allowed`);
    rejectForbiddenKeys((value as Record<string, unknown>)[key]);
  }
}
