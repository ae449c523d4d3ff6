/**
 * Acceptance: API keys. With keys configured, ingestion needs a key of the event's tenant
 * (X-API-Key or Authorization: Bearer) over REST and Connect; the config API needs an
 * admin key; the templates listing and health are public. Without keys the server runs
 * open and says so loudly in its log.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionType, BehaviorService, DeviceType } from "../../gen/es/recommender/v1/behavior_pb.js";
import { TrackingConfigService } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import {
  trackingConfigServiceAccess,
  trackingConfigServiceRest,
} from "../../gen/handlers/recommender/v1/tracking_config_handlers.js";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { client, seedBatchEvents, seedEventData } from "./http-helpers.js";

const KEYS = { TRACKING_API_KEYS: "mymx:key1,tenant_abc:key2", TRACKING_ADMIN_KEYS: "adm" };
const EVT_ID = /^evt_[0-9a-f]{16}$/;

describe("with API keys configured", () => {
  let t: TestServer;
  let api: ReturnType<typeof client>;
  const topics = () =>
    readdirSync(join(t.dataDir, "topics"))
      .filter((f) => f.endsWith(".ndjson"))
      .sort();
  const count = async (tenant: string) => (await readTopicFile(t.dataDir, `user-behaviors-${tenant}`)).length;

  beforeAll(async () => {
    t = await startTestServer({ env: KEYS });
    api = client(t.baseUrl);
  });
  afterAll(async () => t.stop(true));

  it("logs no open-mode warning", () => {
    expect(t.logs.join("\n")).not.toContain("Authentication is DISABLED");
  });

  describe("REST ingestion", () => {
    const requests: Array<[string, string, (tenant: string) => unknown]> = [
      ["track", "/api/v1/behaviors/track", (tenant) => ({ ...seedEventData(), tenant_id: tenant })],
      [
        "batch",
        "/api/v1/behaviors/track/batch",
        (tenant) => ({ events: seedBatchEvents().map((e) => ({ ...e, tenant_id: tenant })) }),
      ],
      ["validate", "/api/v1/behaviors/validate", (tenant) => ({ ...seedEventData(), tenant_id: tenant })],
    ];

    it.each(requests)("%s: no key → 401, nothing published", async (_n, path, body) => {
      const res = await api("POST", path, body("mymx"));
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ success: false, error: { code: "unauthenticated" } });
      expect(await count("mymx")).toBe(0);
    });

    it.each(requests)("%s: unknown key → 401 (X-API-Key and Bearer)", async (_n, path, body) => {
      expect((await api("POST", path, body("mymx"), { "x-api-key": "nope" })).status).toBe(401);
      expect((await api("POST", path, body("mymx"), { authorization: "Bearer nope" })).status).toBe(401);
      expect(await count("mymx")).toBe(0);
    });

    it.each(requests)("%s: tenant_abc's key writing mymx → 403", async (_n, path, body) => {
      const res = await api("POST", path, body("mymx"), { "x-api-key": "key2" });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ success: false, error: { code: "forbidden" } });
      expect(res.body.error.message).toContain("mymx");
      expect(await count("mymx")).toBe(0);
    });

    it.each(requests)("%s: the admin key is not an ingest key → 403", async (_n, path, body) => {
      expect((await api("POST", path, body("mymx"), { "x-api-key": "adm" })).status).toBe(403);
    });

    it("track: mymx's key → 200 (X-API-Key and Authorization: Bearer)", async () => {
      const a = await api("POST", "/api/v1/behaviors/track", seedEventData(), { "x-api-key": "key1" });
      expect(a.status).toBe(200);
      expect(a.body).toEqual({
        success: true,
        event_id: expect.stringMatching(EVT_ID),
        message: "Event tracked successfully",
      });
      const b = await api("POST", "/api/v1/behaviors/track", seedEventData(), { authorization: "Bearer key1" });
      expect(b.status).toBe(200);
      const c = await api(
        "POST",
        "/api/v1/behaviors/track",
        { ...seedEventData(), tenant_id: "tenant_abc" },
        { "x-api-key": "key2" },
      );
      expect(c.status).toBe(200);
      expect(await count("mymx")).toBe(2);
      expect(await count("tenant_abc")).toBe(1);
    });

    it("batch: the right key → 200; one foreign-tenant event refuses the whole batch with 403", async () => {
      const ok = await api(
        "POST",
        "/api/v1/behaviors/track/batch",
        { events: seedBatchEvents() },
        { "x-api-key": "key1" },
      );
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ success: true, total: 2, succeeded: 2, failed: 0 });
      const before = await count("mymx");
      const mixed = await api(
        "POST",
        "/api/v1/behaviors/track/batch",
        { events: [seedBatchEvents()[0], { ...seedBatchEvents()[1], tenant_id: "tenant_abc" }] },
        { "x-api-key": "key1" },
      );
      expect(mixed.status).toBe(403);
      expect(await count("mymx")).toBe(before);
      expect(await count("tenant_abc")).toBe(1);
    });

    it("validate: the right key → 200 with the result, nothing published", async () => {
      const before = topics().map((f) => f);
      const before1 = await count("mymx");
      const res = await api("POST", "/api/v1/behaviors/validate", seedEventData(), { "x-api-key": "key1" });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(topics()).toEqual(before);
      expect(await count("mymx")).toBe(before1);
    });
  });

  describe("Connect ingestion (x-api-key set by an interceptor)", () => {
    const withKey =
      (key?: string): Interceptor =>
      (next) =>
      async (req) => {
        if (key !== undefined) req.header.set("x-api-key", key);
        return next(req);
      };
    const behavior = (key?: string) =>
      createClient(
        BehaviorService,
        createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", interceptors: [withKey(key)] }),
      );
    const event = (tenantId = "mymx") => ({
      tenantId,
      scenarioId: "vlog_feed",
      userId: "user_12345",
      itemId: "video_67890",
      actionType: ActionType.PLAY_END,
      context: { deviceType: DeviceType.MOBILE, os: "iOS" },
    });
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: unknown) => Code[ConnectError.from(e).code],
      );

    it.each([
      ["no key", undefined, "Unauthenticated"],
      ["an unknown key", "nope", "Unauthenticated"],
      ["another tenant's key", "key2", "PermissionDenied"],
      ["the admin key", "adm", "PermissionDenied"],
      ["the tenant's key", "key1", "ok"],
    ] as const)("%s → %s for TrackEvent, TrackBatch and ValidateEvent", async (_what, key, expected) => {
      const before = await count("mymx");
      const c = behavior(key);
      expect(await codeOf(c.trackEvent({ event: event() }))).toBe(expected);
      expect(await codeOf(c.trackBatch({ events: [event(), event()] }))).toBe(expected);
      expect(await codeOf(c.validateEvent({ event: event() }))).toBe(expected);
      expect(await count("mymx")).toBe(before + (expected === "ok" ? 3 : 0));
    });

    it("the tenant's key answers with the event id", async () => {
      const res = await behavior("key1").trackEvent({ event: event() });
      expect(res.success).toBe(true);
      expect(res.eventId).toMatch(EVT_ID);
      const v = await behavior("key1").validateEvent({ event: event() });
      expect(v.success).toBe(true);
    });

    it("a Bearer token works over Connect too", async () => {
      const bearer: Interceptor = (next) => async (req) => {
        req.header.set("authorization", "Bearer key2");
        return next(req);
      };
      const c = createClient(
        BehaviorService,
        createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", interceptors: [bearer] }),
      );
      expect((await c.trackEvent({ event: event("tenant_abc") })).success).toBe(true);
      expect(await codeOf(c.trackEvent({ event: event("mymx") }))).toBe("PermissionDenied");
    });

    it("the config API over Connect needs the admin key", async () => {
      const cfg = (key?: string) =>
        createClient(
          TrackingConfigService,
          createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", interceptors: [withKey(key)] }),
        );
      expect(await codeOf(cfg().listTrackingConfigs({}))).toBe("Unauthenticated");
      expect(await codeOf(cfg("key1").listTrackingConfigs({}))).toBe("PermissionDenied");
      expect(await codeOf(cfg("adm").listTrackingConfigs({}))).toBe("ok");
      expect((await cfg().listTemplates({})).templates.length).toBeGreaterThanOrEqual(8);
    });
  });

  describe("config API over REST", () => {
    const calls: Array<[string, string, string, unknown?]> = [
      [
        "create from template",
        "POST",
        "/api/v1/tracking-configs/from-template",
        { tenant_id: "mymx", scenario_id: "vlog_feed", template_id: "video", name: "短视频Feed流埋点配置" },
      ],
      ["list", "GET", "/api/v1/tracking-configs/?tenant_id=mymx&scenario_type=video"],
      ["get", "GET", "/api/v1/tracking-configs/mymx/vlog_feed"],
      ["update", "PUT", "/api/v1/tracking-configs/mymx/vlog_feed", { description: "更新后的描述" }],
      ["delete", "DELETE", "/api/v1/tracking-configs/mymx/vlog_feed"],
    ];

    it.each(calls)("%s: no key → 401, a tenant key → 403, a wrong key → 401", async (_n, method, path, body) => {
      const none = await api(method, path, body);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe("unauthenticated");
      const tenant = await api(method, path, body, { "x-api-key": "key1" });
      expect(tenant.status).toBe(403);
      expect(tenant.body.error.code).toBe("forbidden");
      expect((await api(method, path, body, { "x-api-key": "nope" })).status).toBe(401);
    });

    it("the admin key → 200 for every call, in the seed's order", async () => {
      for (const [name, method, path, body] of calls) {
        const res = await api(method, path, body, { "x-api-key": "adm" });
        expect(res.status, name).toBe(200);
      }
      const got = await api("GET", "/api/v1/tracking-configs/mymx/vlog_feed", undefined, {
        authorization: "Bearer adm",
      });
      expect(got.body).toMatchObject({ is_active: false, version: 3, description: "更新后的描述" });
    });

    it("the templates listing is public (with and without the trailing slash); so is health", async () => {
      for (const path of ["/api/v1/tracking-configs/templates/", "/api/v1/tracking-configs/templates"]) {
        const res = await api("GET", path);
        expect(res.status).toBe(200);
        expect(res.body.templates.map((x: any) => x.template_id)).toContain("video");
      }
      const h = await api("GET", "/api/v1/behaviors/health");
      expect(h.status).toBe(200);
      expect(h.body.status).toBe("healthy");
    });
  });
});

describe("open mode (no keys configured)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.stop(true));

  it("logs the loud warning at startup", () => {
    const log = t.logs.join("\n");
    expect(log).toContain("WARNING: no API keys configured");
    expect(log).toContain("Authentication is DISABLED");
    expect(log).toMatch(/\*{20,}/);
  });

  it("accepts ingestion and config calls without a key", async () => {
    const api = client(t.baseUrl);
    expect((await api("POST", "/api/v1/behaviors/track", seedEventData())).status).toBe(200);
    expect(
      (
        await api("POST", "/api/v1/tracking-configs/from-template", {
          tenant_id: "mymx",
          scenario_id: "vlog_feed",
          template_id: "video",
        })
      ).status,
    ).toBe(200);
    expect((await api("GET", "/api/v1/tracking-configs/mymx/vlog_feed")).status).toBe(200);
  });
});

describe("tenant keys without an admin key", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { TRACKING_API_KEYS: "mymx:key1" } });
  });
  afterAll(async () => t.stop(true));

  it("warns that the config API is locked, and it is", async () => {
    expect(t.logs.join("\n")).toContain("no admin key");
    const api = client(t.baseUrl);
    expect((await api("GET", "/api/v1/tracking-configs/", undefined, { "x-api-key": "key1" })).status).toBe(403);
    expect((await api("POST", "/api/v1/behaviors/track", seedEventData(), { "x-api-key": "key1" })).status).toBe(200);
  });
});

describe("admin routes never accept tenant keys (every config-API route of the generated tables)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      env: { TRACKING_API_KEYS: "mymx:tenant_key1,mymx:tenant_key2", TRACKING_ADMIN_KEYS: "adm" },
    });
  });
  afterAll(async () => t.stop(true));

  // Which RPCs are public is the proto's access option (the generated trackingConfigServiceAccess).
  const PUBLIC = new Set(
    Object.entries(trackingConfigServiceAccess)
      .filter(([, access]) => access === "public")
      .map(([rpc]) => rpc),
  );
  const restRoutes = trackingConfigServiceRest.routes.filter((r) => !PUBLIC.has(r.rpc));
  const rpcs = TrackingConfigService.methods.filter((m) => !PUBLIC.has(m.name));

  it("covers every RPC of TrackingConfigService but the public one", () => {
    // ListTemplates is public by design (it lists generated constants, no tenant data); the rest are admin.
    expect([...PUBLIC]).toEqual(["ListTemplates"]);
    expect(rpcs.every((m) => trackingConfigServiceAccess[m.name] === "admin")).toBe(true);
    expect(new Set(restRoutes.map((r) => r.rpc))).toEqual(new Set(rpcs.map((m) => m.name)));
    expect(rpcs.length).toBeGreaterThanOrEqual(6);
  });

  it.each(restRoutes.map((r) => [`${r.method} ${r.pathTemplate}`, r] as const))(
    "REST %s: tenant keys → 403, the admin key passes the guard",
    async (_name, route) => {
      const api = client(t.baseUrl);
      const path = route.pathTemplate.replace(/\{tenant_id\}/g, "mymx").replace(/\{[^}]+\}/g, "vlog_feed");
      const body = route.bodyField === undefined ? undefined : {};
      for (const key of ["tenant_key1", "tenant_key2"]) {
        for (const headers of [{ "x-api-key": key }, { authorization: `Bearer ${key}` }]) {
          const res = await api(route.method, path, body, headers);
          expect(res.status, `${key} ${JSON.stringify(res.body)}`).toBe(403);
          expect(res.body.error).toEqual({
            code: "forbidden",
            message: "the tracking-config API needs an admin API key",
          });
        }
      }
      const admin = await api(route.method, path, body, { "x-api-key": "adm" });
      expect([401, 403]).not.toContain(admin.status);
    },
  );

  it.each(rpcs.map((m) => [m.name, m] as const))("Connect %s: tenant keys → PermissionDenied", async (_name, m) => {
    for (const key of ["tenant_key1", "tenant_key2"]) {
      const withKey: Interceptor = (next) => async (req) => {
        req.header.set("x-api-key", key);
        return next(req);
      };
      const c = createClient(
        TrackingConfigService,
        createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", interceptors: [withKey] }),
      ) as unknown as Record<string, (req: object) => Promise<unknown>>;
      const call = c[m.localName];
      expect(call).toBeTypeOf("function");
      const err = await call!({}).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.PermissionDenied);
    }
  });
});
