/**
 * Acceptance: two-tier validation (seed Q3). Base fields (tenant_id, …, context) that are
 * missing or invalid reject the event with 400 naming the field and the rule, and nothing
 * is published; scenario-level problems only produce warnings (200, event published).
 * Tracking configs change the warnings and the tracking-config-version header.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { client, copy, seedEventData } from "./http-helpers.js";

const EVT_ID = /^evt_[0-9a-f]{16}$/;
const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/seed", name), "utf8"));

/** A seed scenario example without event_id/timestamp, so the server fills them. */
function scenarioEvent(type: string, tenant = "t_judge"): Record<string, any> {
  const e = fixture(`scenario_${type}.json`);
  delete e.event_id;
  delete e.timestamp;
  e.tenant_id = tenant;
  return e;
}

type Mutation = (e: Record<string, any>) => void;

/** [what, mutation, field, rule] — each must be refused with 400 and that exact violation. */
const BASE_ERRORS: Array<[string, Mutation, string, string]> = [
  ["tenant_id missing", (e) => delete e.tenant_id, "tenant_id", "required"],
  ["tenant_id a number", (e) => (e.tenant_id = 42), "tenant_id", "type"],
  ["tenant_id not topic-safe (a/b)", (e) => (e.tenant_id = "a/b"), "tenant_id", "pattern"],
  ["tenant_id not topic-safe (space)", (e) => (e.tenant_id = "my mx"), "tenant_id", "pattern"],
  ["tenant_id of 65 chars", (e) => (e.tenant_id = "t".repeat(65)), "tenant_id", "max_len"],
  ["scenario_id missing", (e) => delete e.scenario_id, "scenario_id", "required"],
  ["scenario_id an object", (e) => (e.scenario_id = { id: 1 }), "scenario_id", "type"],
  ["user_id missing", (e) => delete e.user_id, "user_id", "required"],
  ["user_id empty", (e) => (e.user_id = ""), "user_id", "required"],
  ["user_id a number", (e) => (e.user_id = 12345), "user_id", "type"],
  ["item_id missing", (e) => delete e.item_id, "item_id", "required"],
  ["item_id null", (e) => (e.item_id = null), "item_id", "required"],
  ["item_id an array", (e) => (e.item_id = ["video_67890"]), "item_id", "type"],
  ["action_type missing", (e) => delete e.action_type, "action_type", "required"],
  ["action_type unknown", (e) => (e.action_type = "fly"), "action_type", "enum"],
  ["action_type a number", (e) => (e.action_type = 5), "action_type", "type"],
  ["context missing", (e) => delete e.context, "context", "required"],
  ["context a string", (e) => (e.context = "mobile"), "context", "type"],
  ["context.device_type missing", (e) => (e.context = { os: "iOS" }), "context.device_type", "required"],
  ["context.device_type unknown", (e) => (e.context.device_type = "watch"), "context.device_type", "enum"],
  ["context.os a number", (e) => (e.context.os = 17), "context.os", "type"],
  ["position negative", (e) => (e.position = -1), "position", "range"],
  ["position fractional", (e) => (e.position = 1.5), "position", "type"],
  ["position a string", (e) => (e.position = "3"), "position", "type"],
  ["timestamp a string", (e) => (e.timestamp = "2024-10-30T16:00:00Z"), "timestamp", "type"],
  ["timestamp negative", (e) => (e.timestamp = -1), "timestamp", "range"],
  ["experiment_id a number", (e) => (e.experiment_id = 1), "experiment_id", "type"],
  ["extra_data an array", (e) => (e.extra_data = [1]), "extra_data", "type"],
  ["scenario_data a string", (e) => (e.scenario_data = "video"), "scenario_data", "type"],
  // A proto-typed scenario field of the wrong JSON type cannot be encoded: a base error.
  [
    "video_data.duration a string",
    (e) => (e.scenario_data.video_data.duration = "180"),
    "scenario_data.video_data.duration",
    "type",
  ],
];

describe("two-tier validation over REST", () => {
  let t: TestServer;
  let api: ReturnType<typeof client>;
  const topics = () => {
    try {
      return readdirSync(join(t.dataDir, "topics")).filter((f) => f.endsWith(".ndjson"));
    } catch {
      return [];
    }
  };
  const published = (tenant = "mymx") => readTopicFile(t.dataDir, `user-behaviors-${tenant}`);
  const health = async () => (await api("GET", "/api/v1/behaviors/health")).body.stats;

  beforeAll(async () => {
    t = await startTestServer();
    api = client(t.baseUrl);
  });
  afterAll(async () => t.stop(true));

  describe("tier 1: base fields → 400 with the exact field path and rule, nothing published", () => {
    it.each(BASE_ERRORS)("%s", async (_what, mutate, field, rule) => {
      const before = await health();
      const event = seedEventData() as Record<string, any>;
      mutate(event);
      const res = await api("POST", "/api/v1/behaviors/track", event);
      expect(res.status).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.error.code).toBe("invalid_argument");
      expect(res.body.errors).toEqual([{ field, rule, severity: "error", message: expect.any(String) }]);
      expect(res.body.errors[0].message).toContain(field);
      expect(topics()).toEqual([]);
      const after = await health();
      expect(after.rejected - before.rejected).toBe(1);
      expect(after.kafka_success).toBe(before.kafka_success);
      // The validate RPC reports the same violation (200, success false).
      const v = await api("POST", "/api/v1/behaviors/validate", event);
      expect(v.status).toBe(200);
      expect(v.body.success).toBe(false);
      expect(v.body.errors).toEqual(res.body.errors);
    });

    it("tenant_id empty → 400 with tenant_id/required (the pattern rule may be reported too)", async () => {
      const res = await api("POST", "/api/v1/behaviors/track", { ...seedEventData(), tenant_id: "" });
      expect(res.status).toBe(400);
      expect(res.body.errors).toContainEqual({
        field: "tenant_id",
        rule: "required",
        severity: "error",
        message: expect.any(String),
      });
      for (const v of res.body.errors as any[]) expect(v.field).toBe("tenant_id");
      expect(topics()).toEqual([]);
    });

    it("several base errors are reported together", async () => {
      const e = seedEventData() as Record<string, any>;
      e.tenant_id = "a/b";
      e.position = -1;
      e.timestamp = "now";
      e.context = {};
      const res = await api("POST", "/api/v1/behaviors/track", e);
      expect(res.status).toBe(400);
      const got = (res.body.errors as any[]).map((v) => `${v.field}:${v.rule}`).sort();
      expect(got).toEqual(["context.device_type:required", "position:range", "tenant_id:pattern", "timestamp:type"]);
      expect(topics()).toEqual([]);
    });

    it("a batch rejects only the broken events, with their index and field paths", async () => {
      const good = seedEventData();
      const bad1 = { ...seedEventData(), tenant_id: "a/b" };
      const bad2 = { ...seedEventData(), context: { device_type: "watch" } };
      const res = await api("POST", "/api/v1/behaviors/track/batch", { events: [bad1, good, bad2] });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: false, total: 3, succeeded: 1, failed: 2 });
      const r = res.body.results as any[];
      expect(r[0]).toMatchObject({
        index: 0,
        success: false,
        errors: [expect.objectContaining({ field: "tenant_id", rule: "pattern" })],
      });
      expect(r[1]).toMatchObject({ index: 1, success: true });
      expect(r[2]).toMatchObject({
        index: 2,
        success: false,
        errors: [expect.objectContaining({ field: "context.device_type", rule: "enum" })],
      });
      const lines = await published();
      expect(lines.map((l) => (l.value as any).event_id)).toEqual([r[1].event_id]);
    });
  });

  describe("tier 2: scenario problems → 200 with warnings, event published", () => {
    /** [what, scenario fixture, mutation, expected warnings (field, rule)]. */
    const SCENARIO_WARNINGS: Array<[string, string, Mutation, Array<[string, string]>]> = [
      [
        "completion_rate 1.5",
        "video",
        (e) => (e.scenario_data.video_data.completion_rate = 1.5),
        [["scenario_data.video_data.completion_rate", "range"]],
      ],
      [
        "video_quality 8K",
        "video",
        (e) => (e.scenario_data.video_data.video_quality = "8K"),
        [["scenario_data.video_data.video_quality", "allowed_values"]],
      ],
      [
        "playback_speed 10",
        "video",
        (e) => (e.scenario_data.video_data.playback_speed = 10),
        [["scenario_data.video_data.playback_speed", "range"]],
      ],
      [
        "a core video field missing",
        "video",
        (e) => delete e.scenario_data.video_data.watch_duration,
        [["scenario_data.video_data.watch_duration", "required"]],
      ],
      [
        "purchase with video_data",
        "video",
        (e) => (e.action_type = "purchase"),
        [["action_type", "recommended_action"]],
      ],
      [
        "an unknown video field",
        "video",
        (e) => (e.scenario_data.video_data.resolution_hint = "hd"),
        [["scenario_data.video_data.resolution_hint", "unknown_field"]],
      ],
      [
        "content_quality_score 101",
        "content",
        (e) => (e.scenario_data.content_data.content_quality_score = 101),
        [["scenario_data.content_data.content_quality_score", "range"]],
      ],
      [
        "content_type video",
        "content",
        (e) => (e.scenario_data.content_data.content_type = "video"),
        [["scenario_data.content_data.content_type", "allowed_values"]],
      ],
      [
        "currency XXX",
        "ecommerce",
        (e) => (e.scenario_data.ecommerce_data.currency = "XXX"),
        [["scenario_data.ecommerce_data.currency", "allowed_values"]],
      ],
      [
        "discount 1.2",
        "ecommerce",
        (e) => (e.scenario_data.ecommerce_data.discount = 1.2),
        [["scenario_data.ecommerce_data.discount", "range"]],
      ],
      [
        "play with ecommerce_data",
        "ecommerce",
        (e) => (e.action_type = "play"),
        [["action_type", "recommended_action"]],
      ],
      [
        "read_progress -0.1",
        "news",
        (e) => (e.scenario_data.news_data.read_progress = -0.1),
        [["scenario_data.news_data.read_progress", "range"]],
      ],
      [
        "audio_quality 超清",
        "music",
        (e) => (e.scenario_data.music_data.audio_quality = "超清"),
        [["scenario_data.music_data.audio_quality", "allowed_values"]],
      ],
      [
        "education score 120",
        "education",
        (e) => (e.scenario_data.education_data.score = 120),
        [["scenario_data.education_data.score", "range"]],
      ],
      [
        "personalization_score 2",
        "personalized",
        (e) => (e.scenario_data.personalized_data.personalization_score = 2),
        [["scenario_data.personalized_data.personalization_score", "range"]],
      ],
    ];

    it.each(["video", "ecommerce", "news", "music", "education", "content", "social", "personalized"])(
      "the seed's %s example is accepted without warnings (template judging, version 0)",
      async (type) => {
        const res = await api("POST", "/api/v1/behaviors/track", scenarioEvent(type));
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(["event_id", "message", "success"]);
        const line = (await published("t_judge")).find((l) => (l.value as any).event_id === res.body.event_id)!;
        expect(line.headers).toEqual({ "schema-version": "1", "tracking-config-version": "0" });
      },
    );

    it.each(SCENARIO_WARNINGS)("%s → warning", async (_what, type, mutate, expected) => {
      const before = await health();
      const event = scenarioEvent(type);
      mutate(event);
      const res = await api("POST", "/api/v1/behaviors/track", event);
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(res.body.event_id).toMatch(EVT_ID);
      expect(res.body.message).toBe("Event tracked successfully");
      const warnings = res.body.validation_warnings as any[];
      expect(warnings.map((w) => [w.field, w.rule])).toEqual(expected);
      for (const w of warnings) {
        expect(w.severity).toBe("warning");
        expect(typeof w.message).toBe("string");
        expect(w.message.length).toBeGreaterThan(0);
      }
      const line = (await published("t_judge")).find((l) => (l.value as any).event_id === res.body.event_id);
      expect(line, "the warned event is published").toBeDefined();
      // Unknown scenario fields are reported and dropped from the message; everything else is kept.
      const expectedData = copy(event.scenario_data);
      for (const w of warnings) {
        if (w.rule !== "unknown_field") continue;
        const [, member = "", name = ""] = (w.field as string).split(".");
        delete expectedData[member][name];
      }
      expect((line!.value as any).scenario_data).toEqual(expectedData);
      const after = await health();
      expect(after.validation_warnings - before.validation_warnings).toBe(1);
      expect(after.kafka_success - before.kafka_success).toBe(1);
      // validate reports the same warnings with success true.
      const v = await api("POST", "/api/v1/behaviors/validate", event);
      expect(v.body.success).toBe(true);
      expect(v.body.validation_warnings).toEqual(warnings);
    });

    it("custom_data (Q1 方式1) is accepted without checks when no config exists", async () => {
      const res = await api("POST", "/api/v1/behaviors/track", scenarioEvent("custom"));
      expect(res.status).toBe(200);
      expect(res.body.validation_warnings).toBeUndefined();
    });
  });

  describe("tracking configs change the warnings and the version", () => {
    const video = () => {
      const e = scenarioEvent("video", "mymx");
      return e;
    };
    const headerOf = async (eventId: string) =>
      (await published()).find((l) => (l.value as any).event_id === eventId)!.headers;

    it("from template (v1) → update duration max (v2) → add a required field (v3) → soft delete (template, v0)", async () => {
      const created = await api("POST", "/api/v1/tracking-configs/from-template", {
        tenant_id: "mymx",
        scenario_id: "vlog_feed",
        template_id: "video",
      });
      expect(created.status).toBe(200);
      const cfg = created.body.config;
      expect(cfg.version).toBe(1);

      const r1 = await api("POST", "/api/v1/behaviors/track", video());
      expect(r1.body.validation_warnings).toBeUndefined();
      expect(await headerOf(r1.body.event_id)).toEqual({ "schema-version": "1", "tracking-config-version": "1" });

      // v2: duration at most 120 s.
      const required = cfg.required_fields.map((f: any) =>
        f.field_name === "duration" ? { ...f, max_value: 120 } : f,
      );
      const u2 = await api("PUT", "/api/v1/tracking-configs/mymx/vlog_feed", { required_fields: required });
      expect(u2.status).toBe(200);
      expect(u2.body.config.version).toBe(2);
      const r2 = await api("POST", "/api/v1/behaviors/track", video());
      expect(r2.body.validation_warnings).toEqual([
        {
          field: "scenario_data.video_data.duration",
          rule: "range",
          severity: "warning",
          message: expect.stringContaining("(v2)"),
        },
      ]);
      expect(await headerOf(r2.body.event_id)).toEqual({ "schema-version": "1", "tracking-config-version": "2" });

      // v3: also require a custom field cdn_node (string, one of two values).
      const u3 = await api("PATCH", "/api/v1/tracking-configs/mymx/vlog_feed", {
        required_fields: [
          ...required,
          { field_name: "cdn_node", field_type: "string", required: true, allowed_values: ["bj-1", "sh-2"] },
        ],
      });
      expect(u3.status).toBe(200);
      expect(u3.body.config.version).toBe(3);
      const r3 = await api("POST", "/api/v1/behaviors/track", video());
      expect((r3.body.validation_warnings as any[]).map((w) => [w.field, w.rule])).toEqual([
        ["scenario_data.video_data.duration", "range"],
        ["scenario_data.video_data.cdn_node", "required"],
      ]);
      expect(await headerOf(r3.body.event_id)).toEqual({ "schema-version": "1", "tracking-config-version": "3" });

      // An event in a scenario without a config is judged by the template (v0).
      const other = video();
      other.scenario_id = "another_feed";
      const r4 = await api("POST", "/api/v1/behaviors/track", other);
      expect(r4.body.validation_warnings).toBeUndefined();
      expect(await headerOf(r4.body.event_id)).toEqual({ "schema-version": "1", "tracking-config-version": "0" });

      // Soft delete: the template judges again.
      const del = await api("DELETE", "/api/v1/tracking-configs/mymx/vlog_feed");
      expect(del.status).toBe(200);
      const r5 = await api("POST", "/api/v1/behaviors/track", video());
      expect(r5.body.validation_warnings).toBeUndefined();
      expect(await headerOf(r5.body.event_id)).toEqual({ "schema-version": "1", "tracking-config-version": "0" });
    });

    it("an event carrying another scenario's data than its config's type gets a scenario_type warning", async () => {
      const created = await api("POST", "/api/v1/tracking-configs/from-template", {
        tenant_id: "mymx",
        scenario_id: "shop",
        template_id: "ecommerce",
      });
      expect(created.status).toBe(200);
      const e = video();
      e.scenario_id = "shop";
      e.action_type = "click";
      const res = await api("POST", "/api/v1/behaviors/track", e);
      expect(res.status).toBe(200);
      const warnings = res.body.validation_warnings as any[];
      expect(warnings[0]).toMatchObject({ field: "scenario_data", rule: "scenario_type", severity: "warning" });
      expect(await headerOf(res.body.event_id)).toEqual({ "schema-version": "1", "tracking-config-version": "1" });
    });

    it("a custom scenario config judges custom_data (Q1 方式2)", async () => {
      const created = await api("POST", "/api/v1/tracking-configs/", {
        tenant_id: "mymx",
        scenario_id: "mini_game",
        scenario_type: "custom",
        required_fields: [
          { field_name: "custom_field_2", field_type: "integer", required: true, min_value: 0, max_value: 200 },
        ],
      });
      expect(created.status).toBe(200);
      const e = scenarioEvent("custom", "mymx");
      e.scenario_id = "mini_game";
      const ok = await api("POST", "/api/v1/behaviors/track", e);
      expect(ok.body.validation_warnings).toBeUndefined();
      e.scenario_data.custom_data.custom_field_2 = 1000;
      const w = await api("POST", "/api/v1/behaviors/track", e);
      expect(w.status).toBe(200);
      expect((w.body.validation_warnings as any[]).map((v) => [v.field, v.rule, v.severity])).toEqual([
        ["scenario_data.custom_data.custom_field_2", "range", "warning"],
      ]);
    });
  });

  describe("server-filled fields and enum spellings", () => {
    it("event_id and timestamp are filled when absent (evt_ + 16 hex, now)", async () => {
      const before = Date.now();
      const res = await api("POST", "/api/v1/behaviors/track", { ...seedEventData(), scenario_id: "fill" });
      const after = Date.now();
      expect(res.body.event_id).toMatch(EVT_ID);
      const v = (await published()).find((l) => (l.value as any).event_id === res.body.event_id)!.value as any;
      expect(typeof v.timestamp).toBe("number");
      expect(v.timestamp).toBeGreaterThanOrEqual(before);
      expect(v.timestamp).toBeLessThanOrEqual(after);
    });

    it("an empty event_id is filled too; ids are unique", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await api("POST", "/api/v1/behaviors/track", { ...seedEventData(), event_id: "" });
        expect(res.body.event_id).toMatch(EVT_ID);
        ids.add(res.body.event_id);
      }
      expect(ids.size).toBe(20);
    });

    it("event_id and timestamp are kept when given", async () => {
      const res = await api("POST", "/api/v1/behaviors/track", {
        ...seedEventData(),
        event_id: "evt_client_0001",
        timestamp: 1730304000000,
      });
      expect(res.body.event_id).toBe("evt_client_0001");
      const v = (await published()).find((l) => (l.value as any).event_id === "evt_client_0001")!.value as any;
      expect(v.timestamp).toBe(1730304000000);
    });

    it("ACTION_TYPE_PLAY_END / DEVICE_TYPE_MOBILE are accepted over REST and published as play_end / mobile", async () => {
      const e = copy(seedEventData()) as Record<string, any>;
      e.action_type = "ACTION_TYPE_PLAY_END";
      e.context.device_type = "DEVICE_TYPE_MOBILE";
      const res = await api("POST", "/api/v1/behaviors/track", e);
      expect(res.status).toBe(200);
      const v = (await published()).find((l) => (l.value as any).event_id === res.body.event_id)!.value as any;
      expect(v.action_type).toBe("play_end");
      expect(v.context.device_type).toBe("mobile");
    });
  });
});
