// Unit tests of the transports with fake runtimes: every seed REST path, the bad-input
// classes, error mapping, and Connect/gRPC/gRPC-Web (connect-node clients and buf curl).
// Ingest RPCs (TrackEvent, TrackBatch, ValidateEvent) hand the fake runtime raw wire JSON:
// the REST body as parsed, or the message converted by the generated codec.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ActionType,
  BehaviorService,
  DeviceType,
  GetHealthResponseSchema,
  HealthStatsSchema,
  TrackBatchResponseSchema,
  TrackEventResponseSchema,
  ValidateEventResponseSchema,
} from "../../gen/es/recommender/v1/behavior_pb.js";
import {
  CreateTrackingConfigFromTemplateResponseSchema,
  type CreateTrackingConfigRequest,
  CreateTrackingConfigResponseSchema,
  DeleteTrackingConfigResponseSchema,
  FieldType,
  GetTrackingConfigResponseSchema,
  ListTemplatesResponseSchema,
  type ListTrackingConfigsRequest,
  ListTrackingConfigsResponseSchema,
  ScenarioTemplateSchema,
  TrackingConfigSchema,
  TrackingConfigService,
  type UpdateTrackingConfigRequest,
  UpdateTrackingConfigResponseSchema,
} from "../../gen/es/recommender/v1/tracking_config_pb.js";
import {
  type BehaviorServiceRuntime,
  behaviorServiceRest,
  registerBehaviorService,
} from "../../gen/handlers/recommender/v1/behavior_handlers.js";
import {
  registerTrackingConfigService,
  type TrackingConfigServiceRuntime,
  trackingConfigServiceRest,
} from "../../gen/handlers/recommender/v1/tracking_config_handlers.js";
import { seedEventData } from "../../test/helpers/seed.js";
import { SinkUnavailableError } from "../contracts.js";
import { createConnectHandler } from "./connect.js";
import { createRestHandler, restBinding, restWarningsKey } from "./rest.js";
import { type DualServer, listenDual, routeByPath } from "./server.js";

const run = promisify(execFile);

class NotFoundError extends Error {
  override name = "NotFoundError";
}
class ConflictError extends Error {
  override name = "ConflictError";
}
class EventRejectedError extends Error {
  override name = "EventRejectedError";
  constructor(readonly errors: { field: string; rule: string; message: string; severity: "error" }[]) {
    super(errors.map((e) => e.message).join("; "));
  }
}

const seen: {
  track?: unknown;
  batch?: readonly unknown[] | undefined;
  validate?: unknown;
  list?: ListTrackingConfigsRequest;
  update?: UpdateTrackingConfigRequest;
  create?: CreateTrackingConfigRequest;
  warnings?: unknown[];
} = {};

const userIdOf = (event: unknown) =>
  event !== null && typeof event === "object" ? (event as { user_id?: unknown }).user_id : undefined;

// The fake runtime decides failures by the data it gets, so each error class is reachable from a request.
const behavior: BehaviorServiceRuntime = {
  async trackEvent(event, ctx) {
    seen.track = event;
    seen.warnings = ctx.values.get(restWarningsKey);
    switch (userIdOf(event)) {
      case "sink_down":
        throw new SinkUnavailableError("kafka down", 3);
      case "boom":
        throw new Error("secret internal detail");
      case "reject":
        throw new EventRejectedError([
          {
            field: "context.device_type",
            rule: "required",
            message: "context.device_type is required",
            severity: "error",
          },
          { field: "item_id", rule: "required", message: "item_id is required", severity: "error" },
        ]);
      case "unauth":
        throw new ConnectError("missing api key", Code.Unauthenticated);
      case "forbidden":
        throw new ConnectError("tenant not allowed", Code.PermissionDenied);
    }
    return create(TrackEventResponseSchema, {
      success: true,
      eventId: "evt_abc123",
      message: "Event tracked successfully",
    });
  },
  async trackBatch(events, ctx) {
    seen.batch = events;
    seen.warnings = ctx.values.get(restWarningsKey);
    const n = events.length;
    return create(TrackBatchResponseSchema, { success: true, total: n, succeeded: n, failed: 0, message: "ok" });
  },
  async validateEvent(event) {
    seen.validate = event;
    return create(ValidateEventResponseSchema, { success: true, message: "valid" });
  },
  async getHealth() {
    return create(GetHealthResponseSchema, {
      status: "healthy",
      kafkaAvailable: true,
      stats: create(HealthStatsSchema, {
        totalEvents: 10000n,
        kafkaSuccess: 9995n,
        kafkaFailed: 5n,
        rejected: 0n,
        validationWarnings: 10n,
        successRate: 99.95,
      }),
    });
  },
};

const config = (tenantId: string, scenarioId: string) =>
  create(TrackingConfigSchema, {
    tenantId,
    scenarioId,
    scenarioType: "video",
    name: "短视频埋点配置",
    requiredFields: [
      {
        fieldName: "duration",
        fieldType: FieldType.INTEGER,
        required: true,
        description: "视频总时长（秒）",
        minValue: 1,
        maxValue: 3600,
      },
    ],
    recommendedActions: [ActionType.PLAY_END],
    isActive: true,
    version: 1,
    createdAt: 1730304000000n,
    updatedAt: 1730304000000n,
  });

const configs: TrackingConfigServiceRuntime = {
  async listTemplates() {
    return create(ListTemplatesResponseSchema, {
      templates: [
        create(ScenarioTemplateSchema, {
          templateId: "video",
          scenarioType: "video",
          name: "视频场景",
          dataField: "video_data",
        }),
      ],
    });
  },
  async createTrackingConfigFromTemplate(req) {
    if (req.scenarioId === "dup") throw new ConflictError("config mymx/dup exists");
    return create(CreateTrackingConfigFromTemplateResponseSchema, {
      success: true,
      message: "created",
      config: config(req.tenantId, req.scenarioId),
    });
  },
  async createTrackingConfig(req) {
    seen.create = req;
    return create(CreateTrackingConfigResponseSchema, { success: true, message: "created", config: req.config });
  },
  async getTrackingConfig(req) {
    if (req.tenantId === "missing") throw new NotFoundError(`no config ${req.tenantId}/${req.scenarioId}`);
    return create(GetTrackingConfigResponseSchema, { config: config(req.tenantId, req.scenarioId) });
  },
  async listTrackingConfigs(req) {
    seen.list = req;
    return create(ListTrackingConfigsResponseSchema, { configs: [config("mymx", "vlog_feed")], total: 1 });
  },
  async updateTrackingConfig(req) {
    seen.update = req;
    return create(UpdateTrackingConfigResponseSchema, {
      success: true,
      message: "updated",
      config: config(req.tenantId, req.scenarioId),
    });
  },
  async deleteTrackingConfig() {
    return create(DeleteTrackingConfigResponseSchema, { success: true, message: "deactivated" });
  },
};

const seedEvent = seedEventData();

let server: DualServer;
let base: string;
const logged: unknown[] = [];

beforeAll(async () => {
  const log = (_m: string, e: unknown) => void logged.push(e);
  const rest = createRestHandler({
    services: [restBinding(behaviorServiceRest, behavior), restBinding(trackingConfigServiceRest, configs)],
    log,
  });
  const connect = createConnectHandler({
    routes: (r) => {
      registerBehaviorService(r, behavior);
      registerTrackingConfigService(r, configs);
    },
    log,
  });
  server = await listenDual(routeByPath(rest, connect), 0, "127.0.0.1");
  base = `http://127.0.0.1:${server.port()}`;
});

afterAll(async () => {
  await server?.close(2000);
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
    if (!("content-type" in headers)) (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

describe("REST: seed paths", () => {
  it("POST /api/v1/behaviors/track", async () => {
    const r = await call("POST", "/api/v1/behaviors/track", seedEvent);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ success: true, event_id: "evt_abc123", message: "Event tracked successfully" });
    // The runtime gets the body as parsed: wire JSON, not a message.
    expect(seen.track).toEqual(seedEvent);
  });
  it("hands the track body to the runtime un-validated (unknown keys, wrong types: the pipeline's business)", async () => {
    const r = await call("POST", "/api/v1/behaviors/track", { ...seedEvent, bogus: 1, position: "three" });
    expect(r.status).toBe(200);
    expect(seen.track).toEqual({ ...seedEvent, bogus: 1, position: "three" });
    expect(seen.warnings).toEqual([]);
  });
  it("POST /api/v1/behaviors/track/batch", async () => {
    const r = await call("POST", "/api/v1/behaviors/track/batch", {
      events: [seedEvent, { ...seedEvent, action_type: "impression" }],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ success: true, total: 2, succeeded: 2, failed: 0 });
    expect(seen.batch).toEqual([seedEvent, { ...seedEvent, action_type: "impression" }]);
  });
  it("a batch with 2 valid and 1 invalid event reaches the runtime as 3 raw items (200, per-event results are the runtime's)", async () => {
    const bad = { ...seedEvent, user_id: 42, action_type: "teleport", context: "nope" };
    const r = await call("POST", "/api/v1/behaviors/track/batch", { events: [seedEvent, bad, seedEvent] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ total: 3 });
    expect(seen.batch).toEqual([seedEvent, bad, seedEvent]);
  });
  it("batch items need not be objects: the runtime reports them per item", async () => {
    const r = await call("POST", "/api/v1/behaviors/track/batch", { events: [seedEvent, "x", null, 7] });
    expect(r.status).toBe(200);
    expect(seen.batch).toEqual([seedEvent, "x", null, 7]);
  });
  it("batch: events absent or null → empty batch; unknown top-level keys → warnings", async () => {
    let r = await call("POST", "/api/v1/behaviors/track/batch", {});
    expect(r.status).toBe(200);
    expect(seen.batch).toEqual([]);
    r = await call("POST", "/api/v1/behaviors/track/batch", { events: null, source: "app" });
    expect(r.status).toBe(200);
    expect(seen.batch).toEqual([]);
    expect(seen.warnings).toEqual([
      expect.objectContaining({ field: "source", rule: "unknown_field", severity: "warning" }),
    ]);
  });
  it("batch of 101 events → 400 naming events and max_items", async () => {
    seen.batch = undefined;
    const r = await call("POST", "/api/v1/behaviors/track/batch", {
      events: Array.from({ length: 101 }, () => seedEvent),
    });
    expect(r.status).toBe(400);
    expect(r.json.success).toBe(false);
    expect(r.json.error.message).toBe("events has 101 items, at most 100 are allowed");
    expect(r.json.errors).toEqual([
      {
        field: "events",
        rule: "max_items",
        message: "events has 101 items, at most 100 are allowed",
        severity: "error",
      },
    ]);
    expect(seen.batch).toBeUndefined();
  });
  it("batch of exactly 100 events is fine", async () => {
    const r = await call("POST", "/api/v1/behaviors/track/batch", {
      events: Array.from({ length: 100 }, () => seedEvent),
    });
    expect(r.status).toBe(200);
    expect(seen.batch).toHaveLength(100);
  });
  it.each([
    ["events not an array", { events: { 0: {} } }, "events"],
    ["body an array", [seedEvent], ""],
    ["body a string", '"x"', ""],
  ])("batch envelope: %s → 400 type", async (_name, body, field) => {
    const r = await call(
      "POST",
      "/api/v1/behaviors/track/batch",
      typeof body === "string" ? body : JSON.stringify(body),
      { "content-type": "application/json" },
    );
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([expect.objectContaining({ field, rule: "type", severity: "error" })]);
  });
  it("POST /api/v1/behaviors/validate", async () => {
    const r = await call("POST", "/api/v1/behaviors/validate", seedEvent);
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    expect(seen.validate).toEqual(seedEvent);
  });
  it("GET /api/v1/behaviors/health", async () => {
    const r = await call("GET", "/api/v1/behaviors/health");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      status: "healthy",
      kafka_available: true,
      stats: {
        total_events: 10000,
        kafka_success: 9995,
        kafka_failed: 5,
        rejected: 0,
        validation_warnings: 10,
        success_rate: 99.95,
      },
    });
  });
  it.each(["/api/v1/tracking-configs/templates/", "/api/v1/tracking-configs/templates"])("GET %s", async (p) => {
    const r = await call("GET", p);
    expect(r.status).toBe(200);
    expect(r.json.templates[0]).toMatchObject({ template_id: "video", data_field: "video_data" });
  });
  it("POST /api/v1/tracking-configs/from-template", async () => {
    const r = await call("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      template_id: "video",
      name: "短视频Feed流埋点配置",
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      success: true,
      config: {
        tenant_id: "mymx",
        scenario_id: "vlog_feed",
        recommended_actions: ["play_end"],
        created_at: 1730304000000,
      },
    });
  });
  it.each(["/api/v1/tracking-configs/", "/api/v1/tracking-configs"])("POST %s (custom config)", async (p) => {
    const r = await call("POST", p, {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      scenario_type: "video",
      name: "短视频埋点配置",
      required_fields: [
        {
          field_name: "duration",
          field_type: "integer",
          required: true,
          description: "视频总时长（秒）",
          min_value: 1,
          max_value: 3600,
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.config.required_fields[0]).toMatchObject({
      field_name: "duration",
      field_type: "integer",
      min_value: 1,
      max_value: 3600,
    });
    expect(seen.create?.config?.requiredFields[0]).toMatchObject({
      fieldName: "duration",
      fieldType: FieldType.INTEGER,
      minValue: 1,
      maxValue: 3600,
    });
  });
  it("a config body with a wrong type → 400 listing every error (generated validator)", async () => {
    const r = await call("POST", "/api/v1/tracking-configs", {
      tenant_id: "mymx",
      scenario_type: "video",
      version: "one",
      required_fields: [{ field_type: "integer" }],
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_argument");
    const fields = r.json.errors.map((v: { field: string }) => v.field);
    expect(fields).toEqual(expect.arrayContaining(["scenario_id", "version", "required_fields[0].field_name"]));
  });
  it("GET /api/v1/tracking-configs/mymx/vlog_feed returns the config itself (response_body)", async () => {
    const r = await call("GET", "/api/v1/tracking-configs/mymx/vlog_feed");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ tenant_id: "mymx", scenario_id: "vlog_feed", is_active: true, version: 1 });
  });
  it("decodes percent-encoded path params", async () => {
    const r = await call("GET", "/api/v1/tracking-configs/my%20mx/vlog_feed");
    expect(r.json.tenant_id).toBe("my mx");
  });
  it("GET /api/v1/tracking-configs/?tenant_id=mymx&scenario_type=video", async () => {
    const r = await call("GET", "/api/v1/tracking-configs/?tenant_id=mymx&scenario_type=video&include_inactive=true");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ total: 1, configs: [{ tenant_id: "mymx" }] });
    expect(seen.list).toMatchObject({ tenantId: "mymx", scenarioType: "video", includeInactive: true });
  });
  it("PUT /api/v1/tracking-configs/mymx/vlog_feed derives update_mask from the body keys", async () => {
    const r = await call("PUT", "/api/v1/tracking-configs/mymx/vlog_feed", {
      description: "更新后的描述",
      optional_fields: [
        { field_name: "buffer_time", field_type: "integer", required: false, description: "缓冲时间（毫秒）" },
      ],
    });
    expect(r.status).toBe(200);
    expect(seen.update?.updateMask?.paths).toEqual(["description", "optional_fields"]);
    expect(seen.update).toMatchObject({ tenantId: "mymx", scenarioId: "vlog_feed" });
    expect(seen.update?.config?.description).toBe("更新后的描述");
    expect(seen.update?.config?.optionalFields[0]).toMatchObject({
      fieldName: "buffer_time",
      fieldType: FieldType.INTEGER,
    });
  });
  it("an update body may omit required config fields, but not blank them", async () => {
    const r = await call("PUT", "/api/v1/tracking-configs/mymx/vlog_feed", { scenario_type: "", name: "x" });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([expect.objectContaining({ field: "scenario_type", rule: "required" })]);
  });
  it("PATCH with an explicit update_mask query keeps it", async () => {
    const r = await call("PATCH", "/api/v1/tracking-configs/mymx/vlog_feed?update_mask=name", {
      name: "x",
      description: "y",
    });
    expect(r.status).toBe(200);
    expect(seen.update?.updateMask?.paths).toEqual(["name"]);
  });
  it("DELETE /api/v1/tracking-configs/mymx/vlog_feed", async () => {
    const r = await call("DELETE", "/api/v1/tracking-configs/mymx/vlog_feed");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ success: true, message: "deactivated" });
  });
  it("accepts a gzip body", async () => {
    const r = await call("POST", "/api/v1/behaviors/track", gzipSync(JSON.stringify(seedEvent)), {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(r.status).toBe(200);
  });
});

describe("REST: runtime errors", () => {
  const track = (user_id: string) => call("POST", "/api/v1/behaviors/track", { ...seedEvent, user_id });
  it("validation → 400 listing every violation", async () => {
    const r = await track("reject");
    expect(r.status).toBe(400);
    expect(r.json.success).toBe(false);
    expect(r.json.error.code).toBe("invalid_argument");
    expect(r.json.errors.map((v: { field: string }) => v.field)).toEqual(["context.device_type", "item_id"]);
  });
  it("NotFound → 404", async () => expect((await call("GET", "/api/v1/tracking-configs/missing/x")).status).toBe(404));
  it("Conflict → 409", async () => {
    const r = await call("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "dup",
      template_id: "video",
    });
    expect(r.status).toBe(409);
  });
  it("unauthenticated → 401, forbidden → 403", async () => {
    expect((await track("unauth")).status).toBe(401);
    expect((await track("forbidden")).status).toBe(403);
  });
  it("SinkUnavailableError → 503 + Retry-After", async () => {
    const r = await track("sink_down");
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("3");
  });
  it("anything else → 500, generic message, logged", async () => {
    const r = await track("boom");
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.json)).not.toContain("secret");
    expect(logged.some((e) => e instanceof Error && e.message === "secret internal detail")).toBe(true);
  });
});

describe("REST: bad input", () => {
  const T = "/api/v1/behaviors/track";
  it("wrong content type → 415", async () => {
    const r = await call("POST", T, JSON.stringify(seedEvent), { "content-type": "text/plain" });
    expect(r.status).toBe(415);
    expect(r.json.success).toBe(false);
  });
  it("malformed JSON → 400 invalid_json", async () => {
    const r = await call("POST", T, '{"tenant_id": ', { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_json");
  });
  it("invalid UTF-8 → 400", async () => {
    const r = await call("POST", T, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), {
      "content-type": "application/json",
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_utf8");
  });
  it("nesting deeper than 32 → 400", async () => {
    const deep = `{"extra_data":${"[".repeat(40)}${"]".repeat(40)}}`;
    const r = await call("POST", T, deep, { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("too_deep");
  });
  it.each([
    '{"__proto__":{"x":1}}',
    '{"extra_data":{"constructor":{}}}',
    '{"extra_data":{"prototype":1}}',
    '{"\\u005f_proto__":{}}',
  ])("forbidden key %s → 400", async (body) => {
    const r = await call("POST", T, body, { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("forbidden_key");
  });
  it("a forbidden word inside a value is fine", async () => {
    const r = await call("POST", T, { ...seedEvent, experiment_id: "constructor" });
    expect(r.status).toBe(200);
  });
  it("oversized body → 413", async () => {
    const r = await call("POST", T, JSON.stringify({ ...seedEvent, experiment_id: "x".repeat(1100 * 1024) }), {
      "content-type": "application/json",
    });
    expect(r.status).toBe(413);
  });
  it("oversized gzip (decompressed) → 413", async () => {
    const bomb = gzipSync(Buffer.from(`{"experiment_id":"${"a".repeat(5 * 1024 * 1024)}"}`));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const r = await call("POST", T, bomb, { "content-type": "application/json", "content-encoding": "gzip" });
    expect(r.status).toBe(413);
  });
  it("bad gzip → 400", async () => {
    const r = await call("POST", T, "not gzip at all", {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_gzip");
  });
  it("unknown route → 404 JSON", async () => {
    const r = await call("GET", "/api/v1/nope");
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe("not_found");
  });
  it("wrong method → 405 with Allow", async () => {
    const r = await call("GET", T);
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("POST");
    const r2 = await call("POST", "/api/v1/tracking-configs/mymx/vlog_feed", {});
    expect(r2.status).toBe(405);
    expect(r2.headers.get("allow")).toBe("GET, PUT, PATCH, DELETE");
  });
  it("bad query param → 400", async () => {
    const r = await call("GET", "/api/v1/tracking-configs/?include_inactive=maybe");
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_query");
  });
  it("wrong JSON type in a decoded (non-ingest) body → 400 with the field", async () => {
    const r = await call("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      template_id: 7,
    });
    expect(r.status).toBe(400);
    expect(r.json.success).toBe(false);
    expect(r.json.errors).toEqual([expect.objectContaining({ field: "template_id", rule: "type" })]);
  });
  it.each(["[1,2]", '"event"', "42", "null"])("a non-object track body %s → 400 type", async (body) => {
    const r = await call("POST", T, body, { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_argument");
    expect(r.json.errors).toEqual([expect.objectContaining({ field: "", rule: "type", severity: "error" })]);
  });
  it("an empty track body → 400 type", async () => {
    const r = await call("POST", T, "", { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.errors[0].rule).toBe("type");
  });
  it("a non-object validate body → 400 type", async () => {
    const r = await call("POST", "/api/v1/behaviors/validate", "[]", { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.errors[0].rule).toBe("type");
  });
  it("bad percent-encoding in a path param → 400", async () => {
    const r = await call("GET", "/api/v1/tracking-configs/%E0%A4%A/x");
    expect(r.status).toBe(400);
  });
});

describe("Connect, gRPC, gRPC-Web", () => {
  const event = {
    tenantId: "mymx",
    scenarioId: "vlog_feed",
    userId: "user_12345",
    itemId: "video_67890",
    actionType: ActionType.PLAY_END,
    context: { deviceType: DeviceType.MOBILE, os: "iOS" },
  };
  it.each([
    ["connect", () => createConnectTransport({ baseUrl: base, httpVersion: "1.1" })],
    ["grpc-web", () => createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" })],
    ["grpc (h2c)", () => createGrpcTransport({ baseUrl: base })],
    ["connect (h2c)", () => createConnectTransport({ baseUrl: base, httpVersion: "2" })],
  ])("TrackEvent over %s", async (_name, transport) => {
    const client = createClient(BehaviorService, transport());
    const res = await client.trackEvent({ event });
    expect(res).toMatchObject({ success: true, eventId: "evt_abc123" });
    // The runtime sees request-mode wire JSON: snake_case keys, enum wire names, absent fields omitted.
    expect(seen.track).toEqual({
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      user_id: "user_12345",
      item_id: "video_67890",
      action_type: "play_end",
      context: { device_type: "mobile", os: "iOS" },
    });
  });
  it("gRPC TrackEvent without an event hands the runtime {} (the pipeline reports what is missing)", async () => {
    const client = createClient(BehaviorService, createGrpcTransport({ baseUrl: base }));
    await client.trackEvent({});
    expect(seen.track).toEqual({});
  });
  it("gRPC TrackBatch hands the runtime one wire item per event, a missing required field left absent", async () => {
    const client = createClient(BehaviorService, createGrpcTransport({ baseUrl: base }));
    const { itemId: _omit, ...noItem } = event;
    const res = await client.trackBatch({
      events: [event, noItem, { ...event, actionType: ActionType.IMPRESSION, position: 0, extraData: { k: "v" } }],
    });
    expect(res).toMatchObject({ total: 3 });
    expect(seen.batch).toHaveLength(3);
    expect(seen.batch?.[1]).not.toHaveProperty("item_id");
    expect(seen.batch?.[1]).toMatchObject({ user_id: "user_12345", action_type: "play_end" });
    expect(seen.batch?.[2]).toMatchObject({ action_type: "impression", position: 0, extra_data: { k: "v" } });
  });
  it("Connect ValidateEvent hands the runtime wire JSON", async () => {
    const client = createClient(BehaviorService, createConnectTransport({ baseUrl: base, httpVersion: "1.1" }));
    await client.validateEvent({ event: { ...event, context: { deviceType: DeviceType.TABLET } } });
    expect(seen.validate).toMatchObject({ action_type: "play_end", context: { device_type: "tablet" } });
  });
  it("non-ingest RPCs still get the request message over gRPC", async () => {
    const client = createClient(TrackingConfigService, createGrpcTransport({ baseUrl: base }));
    const res = await client.listTrackingConfigs({ tenantId: "mymx", includeInactive: true });
    expect(res.total).toBe(1);
    expect(seen.list).toMatchObject({ tenantId: "mymx", includeInactive: true });
  });
  it("maps errors: validation → INVALID_ARGUMENT with violations, sink → UNAVAILABLE, other → INTERNAL generic", async () => {
    const client = createClient(BehaviorService, createGrpcTransport({ baseUrl: base }));
    const err = await client.trackEvent({ event: { ...event, userId: "reject" } }).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("item_id is required");
    const sink = await client
      .trackEvent({ event: { ...event, userId: "sink_down" } })
      .catch((e) => ConnectError.from(e));
    expect((sink as ConnectError).code).toBe(Code.Unavailable);
    const boom = await client.trackEvent({ event: { ...event, userId: "boom" } }).catch((e) => ConnectError.from(e));
    expect((boom as ConnectError).code).toBe(Code.Internal);
    expect((boom as ConnectError).rawMessage).not.toContain("secret");
  });
  it("buf curl --protocol grpc --http2-prior-knowledge reaches TrackEvent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bufimg-"));
    const image = join(dir, "x.binpb");
    const root = join(import.meta.dirname, "../..");
    await run("buf", ["build", "-o", image], { cwd: root });
    const { stdout } = await run(
      "buf",
      [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--schema",
        image,
        "-d",
        JSON.stringify({
          event: {
            tenant_id: "mymx",
            scenario_id: "vlog_feed",
            user_id: "u1",
            item_id: "i1",
            action_type: "ACTION_TYPE_CLICK",
            context: { device_type: "DEVICE_TYPE_MOBILE" },
          },
        }),
        `${base}/recommender.v1.BehaviorService/TrackEvent`,
      ],
      { cwd: root },
    );
    expect(JSON.parse(stdout)).toMatchObject({ success: true, eventId: "evt_abc123" });
  }, 60_000);
});
