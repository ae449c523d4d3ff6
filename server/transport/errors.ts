/**
 * One error classification for every transport, so a runtime failure means the same over
 * REST (HTTP status + JSON body) and Connect/gRPC/gRPC-Web (Code + message + details).
 *
 * The runtime (pipeline, config store, auth) throws its own error classes; they are
 * recognized by `name` and shape rather than imported, so the transport does not depend on
 * those modules and a new backend's errors map by following the same convention:
 * - `violations`/`errors` array of Violation → invalid argument (400) listing every one;
 * - name NotFoundError → 404, ConflictError → 409, UnauthenticatedError → 401,
 *   ForbiddenError / PermissionDeniedError → 403;
 * - VersionConflictError (a stale If-Match / version) → 409 / ABORTED (Connect maps ABORTED to 409);
 * - SinkUnavailableError (server/contracts.ts) → 503 + Retry-After / UNAVAILABLE;
 * - ConfigStoreUnavailableError (server/store) → 503 + Retry-After / UNAVAILABLE;
 * - QuotaExceededError (server/auth/quotas.ts) → 429 + Retry-After / RESOURCE_EXHAUSTED with
 *   a `retry-after` trailer; REST adds its `details()` as `error.quota`;
 * - ConnectError → by its Code;
 * - anything else → 500 / INTERNAL with a generic message (the error is logged, never echoed).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  Severity,
  type Violation as ViolationMessage,
  ViolationSchema,
} from "../../gen/es/recommender/v1/behavior_pb.js";
import { TranscodeError } from "../../gen/handlers/runtime.js";
import { SinkUnavailableError, type Violation } from "../contracts.js";

/** A failure classified for the wire. */
export interface ClassifiedError {
  /** HTTP status for REST. */
  status: number;
  /** Connect/gRPC code. */
  code: Code;
  /** Machine-readable code for the REST body, e.g. "invalid_argument". */
  errorCode: string;
  /** Safe to show to the client. */
  message: string;
  /** Every violation, for invalid-argument errors. */
  violations?: Violation[] | undefined;
  /** Seconds, for 503 and 429 (Retry-After header / `retry-after` trailer). */
  retryAfterSeconds?: number;
  /** Extra fields of the REST error object, e.g. `{quota: {...}}` for 429. */
  errorFields?: Record<string, unknown>;
  /** Whether this is a server fault that must be logged. */
  internal: boolean;
}

const codeToHttp: Partial<Record<Code, [number, string]>> = {
  [Code.InvalidArgument]: [400, "invalid_argument"],
  [Code.FailedPrecondition]: [400, "failed_precondition"],
  [Code.OutOfRange]: [400, "out_of_range"],
  [Code.NotFound]: [404, "not_found"],
  [Code.AlreadyExists]: [409, "conflict"],
  [Code.Aborted]: [409, "conflict"],
  [Code.Unauthenticated]: [401, "unauthenticated"],
  [Code.PermissionDenied]: [403, "forbidden"],
  [Code.ResourceExhausted]: [429, "resource_exhausted"],
  [Code.Unavailable]: [503, "unavailable"],
  [Code.DeadlineExceeded]: [504, "deadline_exceeded"],
  [Code.Unimplemented]: [501, "unimplemented"],
  [Code.Canceled]: [499, "canceled"],
};

function violationsOf(err: object): Violation[] | undefined {
  const e = err as { violations?: unknown; errors?: unknown };
  const list = Array.isArray(e.violations) ? e.violations : Array.isArray(e.errors) ? e.errors : undefined;
  if (!list) return undefined;
  return list.filter(
    (v): v is Violation => v !== null && typeof v === "object" && typeof (v as Violation).message === "string",
  );
}

/** Classifies anything a runtime or the transcoder threw. */
export function classifyError(err: unknown): ClassifiedError {
  if (err instanceof TranscodeError) {
    return {
      status: 400,
      code: Code.InvalidArgument,
      errorCode: err.code,
      message: err.message,
      violations: err.violations,
      internal: false,
    };
  }
  if (err instanceof SinkUnavailableError || (err instanceof Error && err.name === "SinkUnavailableError")) {
    const retry = (err as SinkUnavailableError).retryAfterSeconds ?? 1;
    return {
      status: 503,
      code: Code.Unavailable,
      errorCode: "unavailable",
      message: "event sink unavailable, retry later",
      retryAfterSeconds: retry,
      internal: false,
    };
  }
  if (err instanceof Error && err.name === "ConfigStoreUnavailableError") {
    return {
      status: 503,
      code: Code.Unavailable,
      errorCode: "unavailable",
      message: "config store unavailable, retry later",
      retryAfterSeconds: (err as { retryAfterSeconds?: number }).retryAfterSeconds ?? 1,
      internal: false,
    };
  }
  if (err instanceof ConnectError) {
    const [status, errorCode] = codeToHttp[err.code] ?? [500, "internal"];
    const internal = status >= 500 && err.code !== Code.Unavailable && err.code !== Code.Unimplemented;
    const violations = violationsOf(err);
    return {
      status,
      code: err.code,
      errorCode,
      message: internal ? "internal error" : err.rawMessage,
      violations,
      internal,
    };
  }
  if (err instanceof Error) {
    switch (err.name) {
      case "QuotaExceededError": {
        const q = err as Error & { retryAfterSeconds?: unknown; details?: () => Record<string, unknown> };
        return {
          status: 429,
          code: Code.ResourceExhausted,
          errorCode: "resource_exhausted",
          message: err.message,
          retryAfterSeconds: typeof q.retryAfterSeconds === "number" ? q.retryAfterSeconds : 1,
          ...(typeof q.details === "function" ? { errorFields: { quota: q.details() } } : {}),
          internal: false,
        };
      }
      case "NotFoundError":
        return { status: 404, code: Code.NotFound, errorCode: "not_found", message: err.message, internal: false };
      case "ConflictError":
        return { status: 409, code: Code.AlreadyExists, errorCode: "conflict", message: err.message, internal: false };
      case "VersionConflictError":
        return {
          status: 409,
          code: Code.Aborted,
          errorCode: "version_conflict",
          message: err.message,
          internal: false,
        };
      case "UnauthenticatedError":
        return {
          status: 401,
          code: Code.Unauthenticated,
          errorCode: "unauthenticated",
          message: err.message,
          internal: false,
        };
      case "ForbiddenError":
      case "PermissionDeniedError":
        return {
          status: 403,
          code: Code.PermissionDenied,
          errorCode: "forbidden",
          message: err.message,
          internal: false,
        };
    }
    const violations = violationsOf(err);
    if (violations || err.name.endsWith("ValidationError") || err.name === "EventRejectedError") {
      return {
        status: 400,
        code: Code.InvalidArgument,
        errorCode: "invalid_argument",
        message: err.message,
        violations: violations ?? [],
        internal: false,
      };
    }
  }
  return { status: 500, code: Code.Internal, errorCode: "internal", message: "internal error", internal: true };
}

const severityNumber = { error: Severity.ERROR, warning: Severity.WARNING } as const;

/**
 * The ConnectError a Connect/gRPC client sees: violations in the message (every client
 * shows it) and as recommender.v1.Violation error details (typed clients can read them).
 */
export function toConnectError(err: unknown, log: (msg: string, err: unknown) => void = defaultLog): ConnectError {
  const c = classifyError(err);
  if (c.internal) {
    log("rpc failed", err);
    return new ConnectError(c.message, c.code);
  }
  if (err instanceof ConnectError && !c.violations?.length) return err;
  const details = (c.violations ?? []).map((v) => ({
    desc: ViolationSchema,
    value: create(ViolationSchema, {
      field: v.field,
      rule: v.rule,
      message: v.message,
      severity: severityNumber[v.severity] ?? Severity.ERROR,
    }) as ViolationMessage,
  }));
  const message = c.violations?.length
    ? `${c.message}${c.message.includes(c.violations[0]?.message ?? "") ? "" : `: ${c.violations.map((v) => `${v.field || "(request)"}: ${v.message}`).join("; ")}`}`
    : c.message;
  const out = new ConnectError(message, c.code, undefined, details);
  if (c.retryAfterSeconds !== undefined) out.metadata.set("retry-after", String(c.retryAfterSeconds));
  return out;
}

/** Logs server faults to stderr; transports take a replacement. */
export function defaultLog(msg: string, err: unknown): void {
  console.error(`[transport] ${msg}:`, err);
}
