/**
 * TrackingClient: the seed's HTTP client for apps ("Python SDK示例" → TypeScript), talking to the
 * ingestion server's REST API (`/api/v1/behaviors/track`, `/track/batch`, `/validate`, `/health`).
 *
 * Types come from the proto through the generated wire types (gen/validator/.../behavior_wire.ts):
 * scenario types are the members of `ScenarioSpecificData` (`video_data` → "video"), each mapped to
 * its data message's wire type, and actions are the `ActionType` wire names. Adding a scenario to
 * behavior.proto and regenerating extends {@link ScenarioType} and {@link TrackingClient.trackScenario}
 * without touching this file.
 *
 * Failure handling (the seed's 错误处理 advice, made precise):
 * - every attempt is bounded by `timeoutMs` (the seed's `timeout=3`);
 * - 429, 502, 503, 504, timeouts and network errors are retried up to `retries` times with
 *   exponential backoff and jitter; a `Retry-After` header (seconds or HTTP date) is honoured as the
 *   least wait (capped by `maxRetryDelayMs`);
 * - a 400 is never retried: it throws {@link TrackingValidationError} carrying the server's violations;
 * - event_id (and timestamp) are filled on the client BEFORE the first attempt, so a retry of a
 *   request whose answer was lost re-sends the same event_id and consumers can de-duplicate it.
 *
 * Runs on Node ≥ 18 and in browsers (global fetch, AbortController, crypto.getRandomValues).
 */

import {
  dataFieldByScenarioType,
  recommendedActionsByScenarioType,
  trackBatchRequestFieldRules,
} from "../../gen/validator/recommender/v1/behavior_validator.js";
import type {
  ActionTypeWire,
  BehaviorContextWire,
  BehaviorEventWire,
  EventResultWire,
  GetHealthResponseWire,
  ScenarioSpecificDataWire,
  TrackBatchResponseWire,
  ValidateEventResponseWire,
  ViolationWire,
} from "../../gen/validator/recommender/v1/behavior_wire.js";
import { newEventId } from "../common/event-id.js";

/** Event ids in the server's format (re-exported for callers that fill their own). */
export { newEventId };

// ---------------------------------------------------------------------------------------------
// Types derived from the proto (via the generated wire types)
// ---------------------------------------------------------------------------------------------

/** The scenario-data members of an event, e.g. "video_data" | "ecommerce_data" | … | "custom_data". */
export type ScenarioDataField = keyof NonNullable<BehaviorEventWire["scenario_data"]>;

/** Scenario types, derived from the data members: "video" | "ecommerce" | … | "custom". */
export type ScenarioType = ScenarioDataField extends infer F ? (F extends `${infer S}_data` ? S : never) : never;

/** The wire type of a scenario's data, e.g. `ScenarioDataOf<"video">` = VideoScenarioDataWire. */
export type ScenarioDataOf<S extends ScenarioType> = NonNullable<
  ScenarioSpecificDataWire[`${S}_data` & ScenarioDataField]
>;

/** Action wire names ("impression", "play_end", …), from the ActionType enum. */
export type ActionType = ActionTypeWire;

/** An event as the client accepts it: the wire event with tenant_id optional (the client fills it). */
export type TrackEventInput = Omit<BehaviorEventWire, "tenant_id"> & { tenant_id?: string };

/** The common fields of a scenario event (action and scenario data are given separately). */
export type ScenarioEventBase = Omit<TrackEventInput, "action_type" | "scenario_data" | "context"> & {
  /** Defaults to `{ device_type: "mobile" }` (as the seed's Python client does). */
  context?: BehaviorContextWire;
};

/** A violation reported by the server (field path, rule id, message, severity). */
export type ServerViolation = ViolationWire;

/** Answer of a tracked event. */
export interface TrackResult {
  success: boolean;
  event_id: string;
  message?: string;
  /** Scenario-level problems that did not stop the event. */
  validation_warnings?: ServerViolation[];
}

/** Answer of trackBatch, merged over all requests when the events were split. */
export interface TrackBatchResult {
  success: boolean;
  total: number;
  succeeded: number;
  failed: number;
  /** One per event, `index` relative to the array given to trackBatch. */
  results: EventResultWire[];
  message: string;
}

/** Most events per batch request (TrackBatchRequest.events max_items in behavior.proto). */
export const MAX_BATCH_EVENTS: number = trackBatchRequestFieldRules.events.max_items;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Base class of everything the client throws. */
export class TrackingError extends Error {
  override name = "TrackingError";
  /** HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;
  /** Requests made (1 + retries). */
  readonly attempts: number;
  constructor(message: string, options: { status?: number; attempts: number; cause?: unknown }) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.status = options.status;
    this.attempts = options.attempts;
  }
}

/** HTTP 400: the server rejected the request; never retried. `violations` are the server's errors. */
export class TrackingValidationError extends TrackingError {
  override name = "TrackingValidationError";
  /** Every error the server reported (field, rule, message, severity). */
  readonly violations: ServerViolation[];
  /** Machine-readable code, e.g. "invalid_argument". */
  readonly code: string | undefined;
  constructor(message: string, violations: ServerViolation[], code: string | undefined, attempts: number) {
    super(message, { status: 400, attempts });
    this.violations = violations;
    this.code = code;
  }
}

/** Any other non-2xx answer (after retries, for retryable statuses). */
export class TrackingHttpError extends TrackingError {
  override name = "TrackingHttpError";
  /** Parsed JSON body (or text) of the last answer. */
  readonly body: unknown;
  /** Retry-After of the last answer, ms. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, status: number, body: unknown, retryAfterMs: number | undefined, attempts: number) {
    super(message, { status, attempts });
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Every attempt (the last one at least) exceeded `timeoutMs`. */
export class TrackingTimeoutError extends TrackingError {
  override name = "TrackingTimeoutError";
}

/** The request could not be made (connection refused, reset, DNS, …). */
export class TrackingNetworkError extends TrackingError {
  override name = "TrackingNetworkError";
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** Options of {@link TrackingClient}. */
export interface TrackingClientOptions {
  /** Server base URL, e.g. "http://recommender-api:8080". */
  baseUrl: string;
  /** Tenant filled into events without tenant_id. */
  tenantId: string;
  /** API key sent as `x-api-key` (servers with key auth enabled need it). */
  apiKey?: string;
  /** Bound on one attempt (request + response body), ms. Default 3000 (the seed's timeout=3). */
  timeoutMs?: number;
  /** Retries after the first attempt for 429/502/503/504, timeouts and network errors. Default 3. */
  retries?: number;
  /** First backoff, ms; doubles per retry, with jitter (a random 50–100 % of it). Default 200. */
  backoffMs?: number;
  /** Longest single wait between attempts, including Retry-After, ms. Default 30 000. */
  maxRetryDelayMs?: number;
  /** fetch implementation (tests, proxies, older runtimes). Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Fill event_id and timestamp on the client (stable across retries). Default true. */
  fillEventIds?: boolean;
}

/** Options of {@link TrackingClient.impressions}. */
export interface ImpressionBatcherOptions {
  /** Flush when this many impressions are buffered. Default 10 (the seed: 每秒或每10条). */
  maxItems?: number;
  /** Flush at most this long after the first buffered impression, ms. Default 1000. */
  flushIntervalMs?: number;
  /** A background flush failed (the events are handed back so the app can queue them). */
  onError?: (error: unknown, events: TrackEventInput[]) => void;
  /** A flush completed. */
  onFlush?: (result: TrackBatchResult, events: TrackEventInput[]) => void;
}

/** An impression event: action_type is "impression" and may be left out. */
export type ImpressionInput = Omit<TrackEventInput, "action_type" | "context"> & {
  action_type?: "impression";
  context?: BehaviorContextWire;
};

/** Buffers impressions and sends them as batches (see {@link TrackingClient.impressions}). */
export interface ImpressionBatcher {
  /** Buffers one impression; triggers a flush when `maxItems` are buffered. */
  add(event: ImpressionInput): void;
  /** Sends what is buffered now; resolves with the batch answer (undefined when nothing was buffered). */
  flush(): Promise<TrackBatchResult | undefined>;
  /** Flushes and stops the timer; later add() throws. */
  close(): Promise<void>;
  /** Impressions buffered right now. */
  readonly pending: number;
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Parses Retry-After (delta-seconds or HTTP date) into ms; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value == null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class AttemptTimeout extends Error {
  override name = "AttemptTimeout";
}

/** The seed's TrackingClient: REST ingestion with timeouts, retries and typed scenario methods. */
export class TrackingClient {
  readonly baseUrl: string;
  readonly tenantId: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly extraHeaders: Record<string, string>;
  private readonly fillIds: boolean;

  constructor(options: TrackingClientOptions) {
    if (!options.baseUrl) throw new TypeError("TrackingClient: baseUrl is required");
    if (!options.tenantId) throw new TypeError("TrackingClient: tenantId is required");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.tenantId = options.tenantId;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.retries = Math.max(0, options.retries ?? 3);
    this.backoffMs = options.backoffMs ?? 200;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== "function") throw new TypeError("TrackingClient: no fetch implementation");
    this.fetchImpl = f;
    this.extraHeaders = options.headers ?? {};
    this.fillIds = options.fillEventIds ?? true;
  }

  /** Tracks one event (POST /api/v1/behaviors/track); fills tenant_id (and event_id/timestamp). */
  async track(event: TrackEventInput): Promise<TrackResult> {
    const body = this.prepare(event);
    const res = (await this.request("POST", "/api/v1/behaviors/track", body)) as TrackResult;
    return res;
  }

  /**
   * Tracks many events (POST /api/v1/behaviors/track/batch), at most {@link MAX_BATCH_EVENTS} per
   * request: larger arrays are split and sent one request after another. Invalid events are
   * reported per item (`results[i].errors`), not thrown. If a request fails after retries, the error
   * is thrown and the events of earlier requests stay tracked.
   */
  async trackBatch(events: readonly TrackEventInput[]): Promise<TrackBatchResult> {
    const prepared = events.map((e) => this.prepare(e));
    const out: TrackBatchResult = { success: true, total: 0, succeeded: 0, failed: 0, results: [], message: "" };
    for (let start = 0; start < prepared.length; start += MAX_BATCH_EVENTS) {
      const chunk = prepared.slice(start, start + MAX_BATCH_EVENTS);
      const r = (await this.request("POST", "/api/v1/behaviors/track/batch", {
        events: chunk,
      })) as TrackBatchResponseWire;
      out.total += r.total ?? chunk.length;
      out.succeeded += r.succeeded ?? 0;
      out.failed += r.failed ?? 0;
      for (const item of r.results ?? []) out.results.push({ ...item, index: (item.index ?? 0) + start });
    }
    out.success = out.failed === 0;
    out.message =
      out.failed === 0
        ? `${out.succeeded} events tracked successfully`
        : `${out.succeeded} events tracked, ${out.failed} rejected`;
    return out;
  }

  /** Validates an event without tracking it (POST /api/v1/behaviors/validate). */
  async validate(event: TrackEventInput): Promise<ValidateEventResponseWire> {
    const body: Record<string, unknown> = { ...event };
    if (body.tenant_id == null || body.tenant_id === "") body.tenant_id = this.tenantId;
    return (await this.request("POST", "/api/v1/behaviors/validate", body)) as ValidateEventResponseWire;
  }

  /** Server health and counters (GET /api/v1/behaviors/health). */
  async health(): Promise<GetHealthResponseWire> {
    return (await this.request("GET", "/api/v1/behaviors/health")) as GetHealthResponseWire;
  }

  /**
   * Tracks an event of scenario `type` with that scenario's typed data, e.g.
   * `trackScenario("video", "play_end", { user_id, item_id, scenario_id }, { duration: 180 })`.
   * The data type follows the scenario (VideoScenarioDataWire for "video", …), from the proto.
   * Actions outside the scenario's recommended list are allowed (the server answers with a
   * "recommended_action" warning); see {@link TrackingClient.recommendedActions}.
   */
  trackScenario<S extends ScenarioType>(
    type: S,
    action: ActionType,
    base: ScenarioEventBase,
    data: ScenarioDataOf<S>,
  ): Promise<TrackResult> {
    return this.track(this.scenarioEvent(type, action, base, data));
  }

  /** Builds (without sending) the event trackScenario would send. */
  scenarioEvent<S extends ScenarioType>(
    type: S,
    action: ActionType,
    base: ScenarioEventBase,
    data: ScenarioDataOf<S>,
  ): TrackEventInput {
    const field = dataFieldByScenarioType[type];
    if (!field) throw new TypeError(`TrackingClient: unknown scenario type ${JSON.stringify(type)}`);
    return {
      ...base,
      action_type: action,
      context: base.context ?? { device_type: "mobile" },
      scenario_data: { [field]: data } as ScenarioSpecificDataWire,
    };
  }

  /** The actions the proto recommends for a scenario type (from its template). */
  static recommendedActions(type: ScenarioType): readonly ActionType[] {
    return (recommendedActionsByScenarioType[type] ?? []) as readonly ActionType[];
  }

  /**
   * 视频播放结束埋点 — the seed's `track_video_play`: action "play_end" with video_data
   * { duration, watch_duration, completion_rate, video_quality (default "720p"),
   * is_fullscreen (default false), playback_speed (default 1.0) }.
   */
  trackVideoPlay(
    user_id: string,
    video_id: string,
    scenario_id: string,
    duration: number,
    watch_duration: number,
    completion_rate: number,
    opts: Omit<ScenarioEventBase, "user_id" | "item_id" | "scenario_id"> &
      Pick<
        ScenarioDataOf<"video">,
        "video_quality" | "is_fullscreen" | "playback_speed" | "is_muted" | "seek_positions" | "buffer_time"
      > = {},
  ): Promise<TrackResult> {
    const { video_quality, is_fullscreen, playback_speed, is_muted, seek_positions, buffer_time, ...base } = opts;
    const data: ScenarioDataOf<"video"> = {
      duration,
      watch_duration,
      completion_rate,
      video_quality: video_quality ?? "720p",
      is_fullscreen: is_fullscreen ?? false,
      playback_speed: playback_speed ?? 1.0,
    };
    if (is_muted !== undefined) data.is_muted = is_muted;
    if (seek_positions !== undefined) data.seek_positions = seek_positions;
    if (buffer_time !== undefined) data.buffer_time = buffer_time;
    return this.trackScenario("video", "play_end", { ...base, user_id, item_id: video_id, scenario_id }, data);
  }

  /** Impression of an item (action "impression"), sent at once; prefer {@link TrackingClient.impressions} for lists. */
  trackImpression(event: ImpressionInput): Promise<TrackResult> {
    return this.track(impressionEvent(event));
  }

  /**
   * An impression batcher (the seed: 曝光事件建议批量上报，每秒或每10条): add() buffers, and the
   * buffer is sent with trackBatch when it holds `maxItems` impressions or `flushIntervalMs` after
   * the first one was buffered, whichever comes first. Call close() before exiting.
   */
  impressions(options: ImpressionBatcherOptions = {}): ImpressionBatcher {
    const maxItems = Math.max(1, Math.min(options.maxItems ?? 10, MAX_BATCH_EVENTS));
    const interval = options.flushIntervalMs ?? 1000;
    let buffer: TrackEventInput[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    let chain: Promise<unknown> = Promise.resolve();

    const send = (events: TrackEventInput[]): Promise<TrackBatchResult | undefined> => {
      const p = chain.then(async () => {
        try {
          const result = await this.trackBatch(events);
          options.onFlush?.(result, events);
          return result;
        } catch (error) {
          if (options.onError) options.onError(error, events);
          throw error;
        }
      });
      chain = p.catch(() => {});
      return p;
    };
    const take = (): TrackEventInput[] => {
      clearTimeout(timer);
      timer = undefined;
      const events = buffer;
      buffer = [];
      return events;
    };
    const background = () => {
      const events = take();
      if (events.length) send(events).catch(() => {});
    };

    return {
      add: (event) => {
        if (closed) throw new Error("TrackingClient.impressions: closed");
        // Fill ids now: the time of the impression, and a stable id across retries.
        buffer.push(this.prepare(impressionEvent(event)) as TrackEventInput);
        if (buffer.length >= maxItems) background();
        else if (!timer) {
          timer = setTimeout(background, interval);
          (timer as { unref?: () => void }).unref?.();
        }
      },
      flush: async () => {
        const events = take();
        if (!events.length) {
          await chain;
          return undefined;
        }
        return send(events);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        const events = take();
        if (events.length) await send(events).catch(() => {});
        await chain;
      },
      get pending() {
        return buffer.length;
      },
    };
  }

  // -------------------------------------------------------------------------------------------

  private prepare(event: TrackEventInput): Record<string, unknown> {
    if (event === null || typeof event !== "object" || Array.isArray(event))
      throw new TypeError("TrackingClient: event must be an object");
    const body: Record<string, unknown> = { ...event };
    if (body.tenant_id == null || body.tenant_id === "") body.tenant_id = this.tenantId;
    if (this.fillIds) {
      if (body.event_id == null || body.event_id === "") body.event_id = newEventId();
      if (body.timestamp == null) body.timestamp = Date.now();
    }
    return body;
  }

  private backoff(retry: number): number {
    const d = this.backoffMs * 2 ** retry;
    return Math.min(this.maxRetryDelayMs, d / 2 + Math.random() * (d / 2));
  }

  /** One logical call: attempts with timeout, retrying transient failures. */
  private async request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const url = this.baseUrl + path;
    const headers: Record<string, string> = { accept: "application/json", ...this.extraHeaders };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.apiKey) headers["x-api-key"] = this.apiKey;
    const payload = body === undefined ? undefined : JSON.stringify(body);

    for (let attempt = 1; ; attempt++) {
      let failure: TrackingError;
      let retryAfterMs: number | undefined;
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new AttemptTimeout(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      try {
        const res = await this.fetchImpl(url, {
          method,
          headers,
          ...(payload !== undefined ? { body: payload } : {}),
          signal: controller.signal,
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: keep the text
        }
        if (res.ok) return parsed;
        const err = parsed as
          | { error?: { code?: string; message?: string }; errors?: ServerViolation[]; message?: string }
          | undefined;
        const message = (typeof err === "object" && (err?.message ?? err?.error?.message)) || `HTTP ${res.status}`;
        if (res.status === 400) {
          const violations = typeof err === "object" && Array.isArray(err?.errors) ? err.errors : [];
          throw new TrackingValidationError(
            `${method} ${path}: ${message}`,
            violations,
            typeof err === "object" ? err?.error?.code : undefined,
            attempt,
          );
        }
        retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        failure = new TrackingHttpError(
          `${method} ${path}: HTTP ${res.status}: ${message}`,
          res.status,
          parsed,
          retryAfterMs,
          attempt,
        );
        if (!RETRYABLE_STATUS.has(res.status)) throw failure;
      } catch (error) {
        if (error instanceof TrackingError) throw error;
        if (controller.signal.aborted && controller.signal.reason instanceof AttemptTimeout) {
          failure = new TrackingTimeoutError(
            `${method} ${path}: timed out after ${this.timeoutMs} ms (attempt ${attempt})`,
            { attempts: attempt, cause: error },
          );
        } else {
          failure = new TrackingNetworkError(`${method} ${path}: ${(error as Error)?.message ?? String(error)}`, {
            attempts: attempt,
            cause: error,
          });
        }
      } finally {
        clearTimeout(timer);
      }
      if (attempt > this.retries) throw failure;
      const wait = Math.min(this.maxRetryDelayMs, Math.max(retryAfterMs ?? 0, this.backoff(attempt - 1)));
      await sleep(wait);
    }
  }
}

function impressionEvent(event: ImpressionInput): TrackEventInput {
  return { ...event, action_type: "impression", context: event.context ?? { device_type: "mobile" } };
}
