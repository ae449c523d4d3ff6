/**
 * What the REST transport answers besides an RPC's response, for the OpenAPI document: the
 * error body every 4xx/5xx carries (server/transport/rest.ts writes it; the server's contract
 * test validates real error answers against this schema), which statuses an operation can
 * get, the spool's 202, and the API-key security schemes. Which statuses apply follows from
 * what the proto says of the RPC: its access option, its ingest kind, its body and its path.
 */
import type { MethodAccess } from "../common/model.js";
import { IngestKind } from "../common/model.js";
import type { SchemaObject } from "./openapi.js";

/** Component name of the error body. */
export const errorSchemaName = "ErrorResponse";

/** An OpenAPI response object as this document writes it. */
export interface ResponseObject {
  description: string;
  headers?: Record<string, { description: string; schema: SchemaObject }>;
  content?: { "application/json": { schema: SchemaObject } };
}

/** The error body; `violation` is the schema of one rule violation (the proto's Violation), when there is one. */
export function errorSchema(violation: SchemaObject | undefined): SchemaObject {
  return {
    title: "Error",
    description:
      "The body of every error answer (4xx/5xx). `error.code` is machine-readable; `error.message` names the field " +
      "and the rule where there is one. An invalid event (400 `invalid_argument`) also carries every violation in " +
      "`errors` and the message in `message`, the keys TrackEventResponse uses, so clients read one field either way.",
    type: "object",
    required: ["success", "error"],
    additionalProperties: false,
    properties: {
      success: { const: false, description: "Always false." },
      error: {
        type: "object",
        required: ["code", "message"],
        additionalProperties: false,
        properties: {
          code: {
            type: "string",
            description:
              "E.g. invalid_argument, invalid_json, invalid_utf8, too_deep, forbidden_key, bad_request, unauthenticated, " +
              "forbidden, not_found, method_not_allowed, conflict, version_conflict, body_too_large, " +
              "unsupported_media_type, unsupported_encoding, resource_exhausted, unavailable, internal.",
          },
          message: { type: "string", description: "What went wrong, for people." },
          quota: {
            description: "429 only: the limit that was hit.",
            type: "object",
            required: ["scope", "events_per_second", "burst", "retry_after_seconds"],
            additionalProperties: false,
            properties: {
              scope: { enum: ["tenant", "api_key"], description: "The tenant's quota or the API key's own." },
              tenant: { type: "string" },
              events_per_second: { type: "number" },
              burst: { type: "integer" },
              retry_after_seconds: { type: "integer", description: "As the Retry-After header." },
            },
          },
        },
      },
      errors: {
        type: "array",
        description: "400 invalid_argument: every violation of the request.",
        items: violation ?? { type: "object" },
      },
      message: { type: "string", description: "400 invalid_argument: the same text as error.message." },
    },
  };
}

/** What the operation is, as far as its possible answers go. */
export interface OperationTraits {
  access: MethodAccess;
  ingest: IngestKind;
  hasBody: boolean;
  hasParameters: boolean;
  hasPathParameters: boolean;
  /** Whether the RPC changes state (POST, PUT, PATCH, DELETE). */
  writes: boolean;
}

const retryAfter = {
  "Retry-After": {
    description: "Seconds to wait before retrying.",
    schema: { type: "integer", minimum: 1 } as SchemaObject,
  },
};

const errorContent: ResponseObject["content"] = {
  "application/json": { schema: { $ref: `#/components/schemas/${errorSchemaName}` } },
};

/** The error responses operations share (components.responses), by name. */
export const errorResponses = {
  BadRequest: {
    description: "The request is invalid: malformed JSON, or a field breaks a rule (named in the message).",
    content: errorContent,
  },
  Unauthenticated: {
    description:
      "API keys are configured and the request carries none, or an unknown one (X-API-Key or Authorization: Bearer).",
    content: errorContent,
  },
  ForbiddenTenant: {
    description: "The key may not write this tenant's events (or is an admin key, which writes none).",
    content: errorContent,
  },
  ForbiddenAdmin: { description: "The key is not an admin key.", content: errorContent },
  NotFound: { description: "Nothing exists at this path.", content: errorContent },
  Conflict: {
    description: "It exists already, or its version is not the one named by If-Match (`version_conflict`).",
    content: errorContent,
  },
  PayloadTooLarge: {
    description: "The body (or its gzip-inflated form) is larger than the server accepts.",
    content: errorContent,
  },
  UnsupportedMediaType: {
    description: "The body is not JSON, or its Content-Encoding is not gzip.",
    content: errorContent,
  },
  TooManyRequests: {
    description: "The tenant (or the API key) is over its ingestion quota; nothing was accepted.",
    headers: retryAfter,
    content: errorContent,
  },
  SinkUnavailable: {
    description: "Kafka did not acknowledge the events (and no spool took them), or the server is shutting down.",
    headers: retryAfter,
    content: errorContent,
  },
  StoreUnavailable: {
    description: "The config store is unavailable; nothing was written.",
    headers: retryAfter,
    content: errorContent,
  },
  Error: { description: "Any other error (e.g. 500), with the same body.", content: errorContent },
} satisfies Record<string, ResponseObject>;

const responsePrefix = "#/components/responses/";

/** A reference to one of `errorResponses`. */
export interface ResponseRef {
  $ref: `${typeof responsePrefix}${keyof typeof errorResponses}`;
}

const ref = (name: keyof typeof errorResponses): ResponseRef => ({ $ref: `${responsePrefix}${name}` });

/**
 * The responses of an operation besides its 200, keyed by status: the spool's 202 (the same
 * body as the 200, `ok`) and references to the shared error responses.
 */
export function extraResponses(t: OperationTraits, ok: SchemaObject): Record<string, ResponseObject | ResponseRef> {
  const out: Record<string, ResponseObject | ResponseRef> = {};
  const publishes = t.ingest === IngestKind.TRACK || t.ingest === IngestKind.TRACK_BATCH;
  if (publishes) {
    out["202"] = {
      description:
        "Accepted into the server's durable spool (`--spool-dir`) while Kafka is unreachable: the same body with " +
        '`"spooled": true`; the events are forwarded to Kafka when it returns.',
      content: { "application/json": { schema: ok } },
    };
  }
  if (t.hasBody || t.hasParameters) out["400"] = ref("BadRequest");
  if (t.access !== "public") {
    out["401"] = ref("Unauthenticated");
    out["403"] = ref(t.access === "admin" ? "ForbiddenAdmin" : "ForbiddenTenant");
  }
  if (t.hasPathParameters && t.ingest === IngestKind.UNSPECIFIED) out["404"] = ref("NotFound");
  if (t.writes && t.access === "admin") out["409"] = ref("Conflict");
  if (t.hasBody) {
    out["413"] = ref("PayloadTooLarge");
    out["415"] = ref("UnsupportedMediaType");
  }
  if (publishes) out["429"] = ref("TooManyRequests");
  // Reads of configs are served from the server's cache while the store is down; writes are not.
  if (publishes) out["503"] = ref("SinkUnavailable");
  else if (t.access === "admin" && t.writes) out["503"] = ref("StoreUnavailable");
  out.default = ref("Error");
  return out;
}

/** `r` itself, or the shared response it refers to. */
export function resolveResponse(r: ResponseObject | ResponseRef): ResponseObject {
  if (!("$ref" in r)) return r;
  const name = r.$ref.slice(responsePrefix.length) as keyof typeof errorResponses;
  return errorResponses[name];
}

/** The API-key security schemes (components.securitySchemes). */
export const securitySchemes = {
  ApiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description:
      "A tenant key (ingestion) or an admin key (the tracking-config API), when the server has API keys; with none " +
      "configured every request is let in.",
  },
  Bearer: { type: "http", scheme: "bearer", description: "The same key as `Authorization: Bearer <key>`." },
} as const;

/** An operation's security requirement: none for public RPCs, either scheme otherwise. */
export function securityOf(access: MethodAccess): Record<string, string[]>[] {
  return access === "public" ? [] : [{ ApiKey: [] }, { Bearer: [] }];
}
