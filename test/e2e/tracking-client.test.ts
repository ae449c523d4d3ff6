/**
 * TrackingClient (sdk/http) against the real server (embedded file sink). Network faults that the
 * real server does not produce on demand (503 with Retry-After, hangs) come from a tiny local
 * node:http proxy in front of it that answers scripted faults and forwards everything else; it
 * also counts requests, so "not retried" is measured, not assumed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { trackBatchEventsMaxItems } from "../../gen/handlers/recommender/v1/behavior_handlers.js";
import type {
  ActionTypeWire,
  EcommerceScenarioDataWire,
  ScenarioSpecificDataWire,
  VideoScenarioDataWire,
} from "../../gen/validator/recommender/v1/behavior_wire.js";
import {
  type ActionType,
  MAX_BATCH_EVENTS,
  parseRetryAfter,
  type ScenarioDataOf,
  type ScenarioType,
  type TrackBatchResult,
  type TrackEventInput,
  TrackingClient,
  TrackingHttpError,
  TrackingNetworkError,
  TrackingTimeoutError,
  TrackingValidationError,
} from "../../sdk/index.js";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

/** What the proxy does with one request: forward it, answer something, or never answer. */
type Fault = { status: number; headers?: Record<string, string>; body?: unknown } | "hang" | "forward";

interface Seen {
  path: string;
  body: unknown;
  at: number;
}

/** A counting proxy with a queue of scripted faults (consumed one per request, then forward). */
class FaultProxy {
  readonly seen: Seen[] = [];
  script: Fault[] = [];
  private server!: Server;
  private readonly hung = new Set<ServerResponse>();
  url = "";

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(path: string): number {
    return this.seen.filter((s) => s.path === path).length;
  }

  reset(script: Fault[] = []): void {
    this.seen.length = 0;
    this.script = script;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    this.seen.push({ path: req.url ?? "", body: raw ? JSON.parse(raw) : undefined, at: performance.now() });
    const fault = this.script.shift() ?? "forward";
    if (fault === "hang") {
      this.hung.add(res);
      res.once("close", () => this.hung.delete(res));
      return;
    }
    if (fault !== "forward") {
      const text = JSON.stringify(
        fault.body ?? { success: false, error: { code: "unavailable", message: "scripted" } },
      );
      res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
      res.end(text);
      return;
    }
    const r = await fetch(this.target + req.url, {
      method: req.method ?? "GET",
      headers: { "content-type": req.headers["content-type"] ?? "application/json" },
      ...(req.method === "GET" ? {} : { body: raw }),
    });
    const body = await r.text();
    const headers: Record<string, string> = { "content-type": r.headers.get("content-type") ?? "application/json" };
    const ra = r.headers.get("retry-after");
    if (ra) headers["retry-after"] = ra;
    res.writeHead(r.status, headers);
    res.end(body);
  }

  async stop(): Promise<void> {
    for (const r of this.hung) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const TENANT = "sdk_http";
const TOPIC = `user-behaviors-${TENANT}`;
const TRACK = "/api/v1/behaviors/track";
const BATCH = "/api/v1/behaviors/track/batch";

describe("TrackingClient against the real server", () => {
  let t: TestServer;
  let proxy: FaultProxy;
  const client = (over: Partial<ConstructorParameters<typeof TrackingClient>[0]> = {}) =>
    new TrackingClient({ baseUrl: proxy.url, tenantId: TENANT, backoffMs: 20, ...over });

  beforeAll(async () => {
    t = await startTestServer();
    proxy = new FaultProxy(t.baseUrl);
    await proxy.start();
  });
  afterAll(async () => {
    await proxy?.stop();
    await t?.stop(true);
  });

  async function stored(): Promise<Map<string, Record<string, unknown>>> {
    const lines = await readTopicFile(t.dataDir, TOPIC);
    return new Map(lines.map((l) => [(l.value as { event_id: string }).event_id, l.value as Record<string, unknown>]));
  }

  it("scenario types, data types and actions are derived from the proto (type level)", () => {
    expectTypeOf<ScenarioType>().toEqualTypeOf<
      "video" | "ecommerce" | "news" | "music" | "education" | "content" | "social" | "personalized" | "custom"
    >();
    expectTypeOf<ScenarioDataOf<"video">>().toEqualTypeOf<VideoScenarioDataWire>();
    expectTypeOf<ScenarioDataOf<"ecommerce">>().toEqualTypeOf<EcommerceScenarioDataWire>();
    expectTypeOf<ScenarioDataOf<"custom">>().toEqualTypeOf<NonNullable<ScenarioSpecificDataWire["custom_data"]>>();
    expectTypeOf<ActionType>().toEqualTypeOf<ActionTypeWire>();
    expect(MAX_BATCH_EVENTS).toBe(trackBatchEventsMaxItems);
    expect(TrackingClient.recommendedActions("video")).toContain("play_end");
    // Compile-time checks (tsc): wrong data for a scenario, unknown action, unknown scenario.
    const neverCalled = (c: TrackingClient) => {
      const base = { user_id: "u", item_id: "i", scenario_id: "s" };
      // @ts-expect-error price is not a VideoScenarioData field
      void c.trackScenario("video", "play", base, { price: 1 });
      // @ts-expect-error not an ActionType wire name
      void c.trackScenario("video", "explode", base, { duration: 1 });
      // @ts-expect-error not a scenario of the proto
      void c.trackScenario("podcast", "play", base, {});
      // @ts-expect-error duration is an int32 number, not a string
      void c.trackVideoPlay("u", "v", "s", "180", 175, 0.97);
    };
    void neverCalled;
  });

  it("trackVideoPlay sends the seed's play_end event (defaults as in the Python client)", async () => {
    proxy.reset();
    const c = client();
    const r = await c.trackVideoPlay("user_12345", "video_67890", "vlog_feed", 180, 175, 0.97, {
      video_quality: "1080p",
      is_fullscreen: true,
      position: 3,
    });
    expect(r.success).toBe(true);
    expect(r.event_id).toMatch(/^evt_[0-9a-f]{16}$/);
    const v = (await stored()).get(r.event_id)!;
    expect(v).toMatchObject({
      tenant_id: TENANT,
      scenario_id: "vlog_feed",
      user_id: "user_12345",
      item_id: "video_67890",
      action_type: "play_end",
      context: { device_type: "mobile" },
      position: 3,
      scenario_data: {
        video_data: {
          duration: 180,
          watch_duration: 175,
          completion_rate: 0.97,
          video_quality: "1080p",
          is_fullscreen: true,
          playback_speed: 1,
        },
      },
    });
    expect(typeof v.timestamp).toBe("number");
    const d = await c.trackVideoPlay("user_1", "video_1", "vlog_feed", 60, 30, 0.5);
    expect((await stored()).get(d.event_id)!.scenario_data).toEqual({
      video_data: {
        duration: 60,
        watch_duration: 30,
        completion_rate: 0.5,
        video_quality: "720p",
        is_fullscreen: false,
        playback_speed: 1,
      },
    });
    expect(proxy.count(TRACK)).toBe(2);
  });

  it("trackScenario: typed data for other scenarios; track fills tenant_id", async () => {
    const c = client();
    const e = await c.trackScenario(
      "ecommerce",
      "add_cart",
      { user_id: "u_shop", item_id: "sku_1", scenario_id: "shop_home" },
      { price: 299.9, currency: "CNY", quantity: 2 },
    );
    const n = await c.trackScenario(
      "news",
      "read_end",
      { user_id: "u_news", item_id: "n_1", scenario_id: "news_feed", context: { device_type: "pc" } },
      { read_duration: 120, read_progress: 0.85 },
    );
    const s = await stored();
    expect(s.get(e.event_id)).toMatchObject({
      tenant_id: TENANT,
      action_type: "add_cart",
      scenario_data: { ecommerce_data: { price: 299.9, currency: "CNY", quantity: 2 } },
    });
    expect(s.get(n.event_id)).toMatchObject({
      context: { device_type: "pc" },
      scenario_data: { news_data: { read_duration: 120, read_progress: 0.85 } },
    });
    // An action outside the scenario's recommended list is accepted with a warning.
    const w = await c.trackScenario(
      "video",
      "add_cart",
      { user_id: "u", item_id: "v", scenario_id: "vlog_feed" },
      { duration: 10 },
    );
    expect(w.success).toBe(true);
    expect(w.validation_warnings?.some((x) => x.rule === "recommended_action")).toBe(true);
  });

  it("trackBatch splits more than 100 events into several requests", async () => {
    proxy.reset();
    const c = client();
    const events: TrackEventInput[] = Array.from({ length: 250 }, (_, i) => ({
      scenario_id: "vlog_feed",
      // Event 120 is invalid: reported per item, not thrown.
      user_id: i === 120 ? "" : `user_${i % 7}`,
      item_id: `video_${i}`,
      action_type: "impression",
      context: { device_type: "mobile" },
      position: i,
    }));
    const r = await c.trackBatch(events);
    expect(proxy.count(BATCH)).toBe(3);
    expect(proxy.seen.map((s) => (s.body as { events: unknown[] }).events.length)).toEqual([100, 100, 50]);
    expect(r).toMatchObject({ total: 250, succeeded: 249, failed: 1, success: false });
    expect(r.results.map((x) => x.index)).toEqual(events.map((_, i) => i));
    expect(r.results[120]?.success).toBe(false);
    expect(r.results[120]?.errors?.[0]?.field).toBe("user_id");
    const s = await stored();
    for (const [i, item] of r.results.entries()) if (i !== 120) expect(s.get(item.event_id!)!.position).toBe(i);
  });

  it("validate() and health()", async () => {
    const c = client();
    const ok = await c.validate({
      scenario_id: "vlog_feed",
      user_id: "u",
      item_id: "i",
      action_type: "click",
      context: { device_type: "mobile" },
    });
    expect(ok.success).toBe(true);
    const bad = await c.validate({
      scenario_id: "vlog_feed",
      user_id: "u",
      item_id: "i",
      action_type: "click",
      context: {},
    } as unknown as TrackEventInput);
    expect(bad.success).toBe(false);
    expect(bad.errors?.map((e) => e.field)).toContain("context.device_type");
    const h = await c.health();
    expect(h.status).toBe("healthy");
    expect(h.kafka_available).toBe(true);
    expect(Number(h.stats?.total_events)).toBeGreaterThan(0);
  });

  it("a 400 is never retried and throws the server's violations", async () => {
    proxy.reset();
    const c = client({ retries: 5 });
    const err = await c
      .track({
        scenario_id: "vlog_feed",
        item_id: "i",
        action_type: "click",
        context: { device_type: "phone" },
      } as unknown as TrackEventInput)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackingValidationError);
    const v = err as TrackingValidationError;
    expect(v.status).toBe(400);
    expect(v.attempts).toBe(1);
    expect(v.code).toBe("invalid_argument");
    expect(v.violations.map((x) => x.field).sort()).toEqual(["context.device_type", "user_id"]);
    expect(proxy.count(TRACK)).toBe(1);
  });

  it("503 is retried honouring Retry-After, with the same event_id, and stored once", async () => {
    proxy.reset([
      { status: 503, headers: { "retry-after": "1" } },
      { status: 503, headers: { "retry-after": "1" } },
    ]);
    const c = client({ backoffMs: 10 });
    const t0 = performance.now();
    const r = await c.track({
      scenario_id: "vlog_feed",
      user_id: "u_retry",
      item_id: "i",
      action_type: "click",
      context: { device_type: "mobile" },
    });
    const ms = performance.now() - t0;
    expect(r.success).toBe(true);
    expect(proxy.count(TRACK)).toBe(3);
    const gaps = proxy.seen.slice(1).map((s, i) => s.at - (proxy.seen[i]?.at ?? NaN));
    console.log(
      `[tracking-client] 503,503,200: gaps between attempts ${gaps.map((g) => g.toFixed(0)).join(", ")} ms, total ${ms.toFixed(0)} ms`,
    );
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(990);
    const ids = new Set(proxy.seen.map((s) => (s.body as { event_id: string }).event_id));
    expect(ids).toEqual(new Set([r.event_id]));
    const lines = (await readTopicFile(t.dataDir, TOPIC)).filter(
      (l) => (l.value as { event_id: string }).event_id === r.event_id,
    );
    expect(lines).toHaveLength(1);
  });

  it("429 is retried too; retries exhausted → TrackingHttpError with the last status", async () => {
    proxy.reset([{ status: 429, headers: { "retry-after": "0" } }]);
    const c = client();
    expect(
      (
        await c.track({
          scenario_id: "s",
          user_id: "u",
          item_id: "i",
          action_type: "click",
          context: { device_type: "mobile" },
        })
      ).success,
    ).toBe(true);
    expect(proxy.count(TRACK)).toBe(2);

    proxy.reset(Array.from({ length: 10 }, () => ({ status: 503, headers: { "retry-after": "0" } })));
    const err = await client({ retries: 2 })
      .track({ scenario_id: "s", user_id: "u", item_id: "i", action_type: "click", context: { device_type: "mobile" } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackingHttpError);
    expect((err as TrackingHttpError).status).toBe(503);
    expect((err as TrackingHttpError).attempts).toBe(3);
    expect((err as TrackingHttpError).retryAfterMs).toBe(0);
    expect(proxy.count(TRACK)).toBe(3);

    // Non-retryable statuses other than 400 are not retried either.
    proxy.reset([{ status: 403, body: { success: false, error: { code: "forbidden", message: "nope" } } }]);
    const forbidden = await client()
      .track({ scenario_id: "s", user_id: "u", item_id: "i", action_type: "click", context: { device_type: "mobile" } })
      .catch((e: unknown) => e);
    expect((forbidden as TrackingHttpError).status).toBe(403);
    expect(proxy.count(TRACK)).toBe(1);
  });

  it("a timeout is retried; when every attempt times out → TrackingTimeoutError", async () => {
    proxy.reset(["hang", "hang"]);
    const c = client({ timeoutMs: 300, retries: 3 });
    const t0 = performance.now();
    const r = await c.track({
      scenario_id: "s",
      user_id: "u_slow",
      item_id: "i",
      action_type: "click",
      context: { device_type: "mobile" },
    });
    expect(r.success).toBe(true);
    expect(proxy.count(TRACK)).toBe(3);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(600);

    proxy.reset(["hang", "hang", "hang"]);
    const t1 = performance.now();
    const err = await client({ timeoutMs: 200, retries: 1 })
      .track({ scenario_id: "s", user_id: "u", item_id: "i", action_type: "click", context: { device_type: "mobile" } })
      .catch((e: unknown) => e);
    const ms = performance.now() - t1;
    expect(err).toBeInstanceOf(TrackingTimeoutError);
    expect((err as TrackingTimeoutError).attempts).toBe(2);
    expect(proxy.count(TRACK)).toBe(2);
    expect(ms).toBeGreaterThanOrEqual(400);
  });

  it("network errors are retried, then TrackingNetworkError", async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const err = await new TrackingClient({
      baseUrl: `http://127.0.0.1:${port}`,
      tenantId: TENANT,
      retries: 2,
      backoffMs: 5,
    })
      .health()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrackingNetworkError);
    expect((err as TrackingNetworkError).attempts).toBe(3);
  });

  it("impression batcher flushes every N items and after T ms", async () => {
    proxy.reset();
    const c = client();
    const flushes: { n: number; at: number }[] = [];
    const t0 = performance.now();
    const imps = c.impressions({
      maxItems: 10,
      flushIntervalMs: 300,
      onFlush: (r) => flushes.push({ n: r.total, at: performance.now() - t0 }),
    });
    for (let i = 0; i < 25; i++)
      imps.add({ scenario_id: "vlog_feed", user_id: "u_imp", item_id: `video_${i}`, position: i });
    expect(imps.pending).toBe(5);
    await new Promise((r) => setTimeout(r, 100));
    // Two size-triggered flushes went out at once; the last 5 wait for the timer.
    expect(flushes.map((f) => f.n)).toEqual([10, 10]);
    expect(proxy.count(BATCH)).toBe(2);
    await new Promise((r) => setTimeout(r, 400));
    expect(flushes.map((f) => f.n)).toEqual([10, 10, 5]);
    expect(flushes[2]?.at).toBeGreaterThanOrEqual(290);
    console.log(
      `[tracking-client] impression flushes at ${flushes.map((f) => `${f.n}@${f.at.toFixed(0)}ms`).join(", ")}`,
    );
    // close() flushes the rest.
    imps.add({ scenario_id: "vlog_feed", user_id: "u_imp", item_id: "video_last" });
    await imps.close();
    expect(flushes.map((f) => f.n)).toEqual([10, 10, 5, 1]);
    expect(() => imps.add({ scenario_id: "vlog_feed", user_id: "u", item_id: "x" })).toThrow(/closed/);
    const all = proxy.seen.flatMap((s) => (s.body as { events: { action_type: string; event_id: string }[] }).events);
    expect(all).toHaveLength(26);
    expect(new Set(all.map((e) => e.action_type))).toEqual(new Set(["impression"]));
    const s = await stored();
    for (const e of all)
      expect(s.get(e.event_id)).toMatchObject({ action_type: "impression", context: { device_type: "mobile" } });
    // A failed background flush hands the events to onError.
    proxy.reset([
      { status: 400, body: { success: false, error: { code: "invalid_argument", message: "scripted" }, errors: [] } },
    ]);
    const failed: unknown[] = [];
    const imps2 = client().impressions({ maxItems: 2, onError: (_e, events) => failed.push(...events) });
    imps2.add({ scenario_id: "s", user_id: "u", item_id: "a" });
    imps2.add({ scenario_id: "s", user_id: "u", item_id: "b" });
    await imps2.close();
    expect(failed).toHaveLength(2);
    const r: TrackBatchResult | undefined = await imps2.flush();
    expect(r).toBeUndefined();
  });

  it("parseRetryAfter: seconds and HTTP dates", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:03 GMT", now)).toBe(3000);
  });
});
