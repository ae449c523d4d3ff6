/**
 * Runtime support for the generated REST transcoding code in gen/handlers/. The handlers
 * plugin emits this file verbatim as gen/handlers/runtime.ts, so it imports only packages
 * (never codegen/ or another gen/ tree) and is type-checked here as well as there.
 *
 * Generated files keep the per-route knowledge (segments, fields, kinds) as plain
 * constants and straight-line code; what is the same for every route lives here once:
 * the route types, path/query parsing helpers with 400-worthy errors, and the response
 * writer. Nothing here parses google.api.http annotations at runtime.
 *
 * Bodies: generated code decodes request bodies of non-ingest RPCs with the generated
 * validator/codec (gen/validator, see codegen/validator/API.md: `validateX` then
 * `xFromWire`) and converts ingest events to wire JSON with `xToWire`. Ingest RPCs never
 * decode on the REST path: `ingestEventBody` / `ingestBatchBody` check the envelope and hand
 * the raw JSON on. Responses are written with the validator's `xToWire(response, true)`
 * (implicit-presence zero values present, so the seed's `"success": false` and `"failed": 0`
 * show) — the one message → wire JSON conversion.
 */
import type { DescMessage, DescService } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { type FieldMask, FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";

/** HTTP methods a google.api.http rule can bind. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One segment of a path template: a literal (possibly "" for a declared trailing slash) or a `{field}`. */
export type RestSegment = { readonly literal: string } | { readonly param: string };

/** How a query parameter is parsed; mirrors the request field's scalar kind. */
export type QueryKind = "string" | "bool" | "int32" | "uint32" | "int64" | "uint64" | "double" | "enum" | "field_mask";

/** A request field bindable from the query string (neither in the path nor in the body). */
export interface QueryField {
  /** Proto (snake_case) name, which is also the query parameter name. */
  readonly name: string;
  readonly kind: QueryKind;
}

/** Path parameters of a matched route, raw (still percent-encoded). */
export type RestParams = Readonly<Record<string, string>>;

/** One REST binding of an RPC, generated from google.api.http (primary or additional binding). */
export interface RestRoute<Runtime = unknown> {
  /** RPC name as declared, e.g. "TrackEvent". */
  readonly rpc: string;
  /** Fully-qualified service name, e.g. "recommender.v1.BehaviorService". */
  readonly service: string;
  readonly method: HttpMethod;
  /** The template as declared, e.g. "/api/v1/tracking-configs/{tenant_id}/{scenario_id}". */
  readonly pathTemplate: string;
  readonly segments: readonly RestSegment[];
  /** "*" (whole request), a request field name, or undefined (no body). */
  readonly bodyField: string | undefined;
  /** Response field serialized instead of the whole response, if declared. */
  readonly responseBodyField: string | undefined;
  readonly queryFields: readonly QueryField[];
  /**
   * Builds what `call` hands the runtime: the request message, or for ingest RPCs the raw
   * event wire JSON (TRACK/VALIDATE: the body object; TRACK_BATCH: the array of items).
   * Throws TranscodeError for bad input. Warnings go to `warnings`.
   */
  readonly toRequest: (params: RestParams, query: URLSearchParams, body: unknown, warnings: WireViolation[]) => unknown;
  /** Calls the runtime method of this RPC. */
  readonly call: (runtime: Runtime, request: unknown, context: HandlerContext) => Promise<unknown>;
  /** Serializes the response message to wire JSON (a JSON object). */
  readonly toRest: (response: unknown) => object;
}

/**
 * One ingest RPC in a `<service>GrpcIngest` table of a generated `<file>_handlers.ts`: the
 * gRPC fast path (server/transport/grpc-fast.ts) serves these request paths with the binary
 * plugin's codecs instead of connect's pipeline.
 */
export interface GrpcIngestRpc<Runtime> {
  /** The RPC's name as declared, e.g. "TrackEvent". */
  readonly rpc: string;
  /**
   * Decodes the request message (bytes start..end of `buf`) to the event wire JSON, calls
   * the runtime method and encodes its response after `reserve` zero bytes (5 for a gRPC
   * length prefix). Throws DecodeError (possibly synchronously) on invalid data.
   */
  readonly invoke: (
    runtime: Runtime,
    buf: Uint8Array,
    start: number,
    end: number,
    context: HandlerContext,
    reserve: number,
  ) => Promise<Uint8Array>;
}

/** A successful route match. */
export interface RestMatch<Runtime = unknown> {
  readonly route: RestRoute<Runtime>;
  readonly params: RestParams;
}

/** A broken rule found while transcoding; same shape as server/contracts.ts Violation. */
export interface WireViolation {
  field: string;
  rule: string;
  message: string;
  severity: "error" | "warning";
}

/**
 * Thrown by generated transcoding code for input that cannot become a request message.
 * Always a client error (HTTP 400 / INVALID_ARGUMENT); `violations` lists every problem found.
 */
export class TranscodeError extends Error {
  /** Machine-readable code for the REST error body, e.g. "invalid_query". */
  readonly code: string;
  readonly violations: WireViolation[];
  constructor(code: string, message: string, violations: WireViolation[] = []) {
    super(message);
    this.name = "TranscodeError";
    this.code = code;
    this.violations = violations;
  }
}

/** Decodes a path parameter; a malformed escape or an empty value is a 400, not a crash. */
export function pathParam(params: RestParams, name: string): string {
  const raw = params[name];
  if (raw === undefined || raw === "") {
    throw new TranscodeError("invalid_path", `path parameter ${name} is empty`);
  }
  // Fast path: most ids carry no escapes, and decodeURIComponent allocates.
  if (raw.indexOf("%") === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new TranscodeError("invalid_path", `path parameter ${name} is not valid percent-encoding`);
  }
}

function single(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length === 0) return undefined;
  if (all.length > 1) throw queryError(name, "is given more than once");
  return all[0];
}

function queryError(name: string, what: string): TranscodeError {
  return new TranscodeError("invalid_query", `query parameter ${name} ${what}`, [
    { field: name, rule: "type", message: `query parameter ${name} ${what}`, severity: "error" },
  ]);
}

/** A string query parameter, or undefined when absent. */
export function queryString(query: URLSearchParams, name: string): string | undefined {
  return single(query, name);
}

/** A bool query parameter: true/false/1/0 (grpc-gateway accepts the same); anything else is a 400. */
export function queryBool(query: URLSearchParams, name: string): boolean | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  if (v === "true" || v === "1" || v === "") return true;
  if (v === "false" || v === "0") return false;
  throw queryError(name, `must be true or false, got ${JSON.stringify(v)}`);
}

const integerText = /^-?\d+$/;

/** A 32-bit integer query parameter, range-checked. */
export function queryInt32(query: URLSearchParams, name: string, unsigned: boolean): number | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  const [min, max] = unsigned ? [0, 4294967295] : [-2147483648, 2147483647];
  if (!integerText.test(v) || n < min || n > max) throw queryError(name, `must be an integer in [${min}, ${max}]`);
  return n;
}

/** A 64-bit integer query parameter as bigint (protobuf-es's int64 representation). */
export function queryInt64(query: URLSearchParams, name: string, unsigned: boolean): bigint | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  if (!integerText.test(v)) throw queryError(name, "must be an integer");
  const n = BigInt(v);
  const min = unsigned ? 0n : -(2n ** 63n);
  const max = unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n;
  if (n < min || n > max) throw queryError(name, "is out of range");
  return n;
}

/** A finite floating-point query parameter. */
export function queryDouble(query: URLSearchParams, name: string): number | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw queryError(name, "must be a finite number");
  return n;
}

/**
 * An enum query parameter by wire name or proto name; the zero value is not accepted.
 * `fromWire` and `wireNames` are the validator's tables of the enum.
 */
export function queryEnum<E extends number>(
  query: URLSearchParams,
  name: string,
  fromWire: (name: string) => E | undefined,
  wireNames: readonly string[],
): E | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const n = fromWire(v);
  if (n === undefined) throw queryError(name, `must be one of ${wireNames.join(", ")}`);
  return n;
}

/** A FieldMask query parameter: comma-separated snake_case paths. */
export function queryFieldMask(query: URLSearchParams, name: string): FieldMask | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const paths = v
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  return create(FieldMaskSchema, { paths });
}

/**
 * The update mask grpc-gateway derives when a PATCH/PUT body carries none: the body's
 * top-level keys that name fields of the body message (null counts: it resets the field).
 */
export function fieldMaskFromBody(desc: DescMessage, body: unknown): FieldMask {
  const paths: string[] = [];
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    for (const key of Object.keys(body)) {
      const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
      if (field) paths.push(field.name);
    }
  }
  return create(FieldMaskSchema, { paths });
}

/**
 * The body of a single-event ingest RPC (TRACK/VALIDATE): the event itself as request-mode
 * wire JSON. Only its shape is checked (a JSON object); the runtime validates the content.
 */
export function ingestEventBody(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) {
    const message = "request body must be a JSON object (the event)";
    throw new TranscodeError("invalid_argument", message, [{ field: "", rule: "type", message, severity: "error" }]);
  }
  return body;
}

/**
 * The body of a batch ingest RPC (TRACK_BATCH, body "*"): `{"<field>": [...]}`. Checks the
 * envelope only — a JSON object whose `field` is an array (absent or null: empty) of at
 * most `maxItems` items — and returns the items as parsed, un-validated, so one bad event
 * does not fail the others. Other top-level keys are ignored with an unknown_field warning.
 */
export function ingestBatchBody(
  body: unknown,
  field: string,
  maxItems: number | undefined,
  warnings: WireViolation[],
): readonly unknown[] {
  if (!isPlainObject(body)) {
    const message = `request body must be a JSON object ({"${field}": [...]})`;
    throw new TranscodeError("invalid_argument", message, [{ field: "", rule: "type", message, severity: "error" }]);
  }
  let items: unknown;
  for (const key of Object.keys(body)) {
    if (key === field) items = body[key];
    else
      warnings.push({
        field: key,
        rule: "unknown_field",
        message: `unknown field ${key} (ignored)`,
        severity: "warning",
      });
  }
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) {
    const message = `${field} must be an array`;
    throw new TranscodeError("invalid_argument", message, [{ field, rule: "type", message, severity: "error" }]);
  }
  if (maxItems !== undefined && items.length > maxItems) {
    const message = `${field} has ${items.length} items, at most ${maxItems} are allowed`;
    throw new TranscodeError("invalid_argument", message, [{ field, rule: "max_items", message, severity: "error" }]);
  }
  return items;
}

/**
 * For a partial-update body (the request has an update_mask): drops top-level "required"
 * violations of keys the body does not carry, since absent keys are not being updated.
 * A key that is present but empty or null still breaks the rule.
 */
export function dropAbsentRequired(found: WireViolation[], body: unknown): WireViolation[] {
  const obj = isPlainObject(body) ? body : {};
  return found.filter(
    (v) =>
      !(
        v.rule === "required" &&
        v.field !== "" &&
        !v.field.includes(".") &&
        !v.field.includes("[") &&
        obj[v.field] === undefined
      ),
  );
}

/**
 * Moves warnings from `found` to `warnings` and throws one TranscodeError listing every
 * error, so a client fixes all of its body at once.
 */
export function throwOnErrors(found: WireViolation[], warnings: WireViolation[]): void {
  let errors: WireViolation[] | undefined;
  for (const v of found) {
    // Allocated only when there is an error: the valid-request path stays allocation-free.
    if (v.severity !== "error") warnings.push(v);
    else if (errors === undefined) errors = [v];
    else errors.push(v);
  }
  if (errors) {
    const summary = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join("; ");
    throw new TranscodeError("invalid_argument", `invalid request body: ${summary}`, errors);
  }
}

/**
 * Who may call an RPC once the server has API keys (the proto's `recommender.options.v1.access`;
 * not set = admin): `public` needs no key, `tenant` a key of each event's tenant, `admin` an
 * admin key.
 */
export type MethodAccess = "public" | "tenant" | "admin";

/** The REST side of one service: its generated route table and matcher, for the REST transport. */
export interface RestService<Runtime> {
  /** Fully-qualified service name. */
  readonly service: string;
  /** The service descriptor (for HandlerContext and logs). */
  readonly desc: DescService;
  readonly routes: readonly RestRoute<Runtime>[];
  /** Exact match of method and path (no query string); undefined when nothing matches. */
  readonly match: (method: string, path: string) => RestMatch<Runtime> | undefined;
  /** Methods some route of this service accepts at `path` (for 405 Allow); empty when none. */
  readonly allowedMethods: (path: string) => HttpMethod[];
  /** Who may call each RPC, by RPC name (every RPC of the service, with or without a route). */
  readonly access: Readonly<Record<string, MethodAccess>>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
