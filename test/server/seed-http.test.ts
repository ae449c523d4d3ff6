/**
 * Acceptance: every curl and Python request of the seed's HTTP/gRPC接入方式 and 配置管理
 * sections (and 验证和调试), sent to the real server over HTTP, gets the seed's response
 * shape; the message in the (file) sink is the seed's Kafka message format.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { seedEventMessage } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { client, copy, seedBatchEvents, seedEventData } from "./http-helpers.js";

const TOPIC = "user-behaviors-mymx";
const EVT_ID = /^evt_[0-9a-f]{16}$/;
const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/seed", name), "utf8"));

/** The seed's 方式1 body. */
const FROM_TEMPLATE_BODY = {
  tenant_id: "mymx",
  scenario_id: "vlog_feed",
  template_id: "video",
  name: "短视频Feed流埋点配置",
};
/** The seed's 方式2 body. */
const CUSTOM_BODY = {
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
};
/** The seed's 更新配置 body. */
const UPDATE_BODY = {
  description: "更新后的描述",
  optional_fields: [
    { field_name: "buffer_time", field_type: "integer", required: false, description: "缓冲时间（毫秒）" },
  ],
};

/** The seed's 支持的场景类型: core fields and 推荐行为 per scenario. */
const SEED_SCENARIOS = {
  video: {
    core: ["duration", "watch_duration", "completion_rate", "video_quality", "is_fullscreen", "playback_speed"],
    actions: ["impression", "click", "play", "play_end", "pause", "like", "share", "comment"],
  },
  ecommerce: {
    core: ["price", "currency", "quantity", "discount", "category_path", "brand", "sku_id"],
    actions: ["impression", "click", "view", "add_cart", "order", "payment", "purchase"],
  },
  news: {
    core: ["read_duration", "read_progress", "word_count", "news_type", "source", "keywords"],
    actions: ["impression", "click", "read", "read_end", "like", "share", "comment"],
  },
  music: {
    core: ["duration", "play_duration", "artist", "album", "genre", "audio_quality"],
    actions: ["impression", "play", "play_end", "pause", "like", "add_playlist", "share"],
  },
  education: {
    core: ["course_id", "lesson_duration", "study_duration", "progress", "score", "difficulty_level"],
    actions: ["impression", "click", "learn", "complete", "pause", "trial", "purchase"],
  },
  content: {
    core: [
      "content_type",
      "word_count",
      "image_count",
      "video_count",
      "topic",
      "content_quality_score",
      "is_original",
      "author_level",
    ],
    actions: ["impression", "click", "view", "read", "like", "comment", "share", "collect", "report"],
  },
  social: {
    core: [
      "relationship_type",
      "mutual_friends_count",
      "social_distance",
      "influence_score",
      "interaction_frequency",
      "common_interests",
      "is_verified",
    ],
    actions: ["impression", "view_profile", "follow", "add_friend", "message", "ignore", "block"],
  },
  personalized: {
    core: [
      "personalization_score",
      "match_reasons",
      "user_interests_match",
      "trending_score",
      "novelty_score",
      "diversity_group",
      "recommendation_strategy",
    ],
    actions: ["impression", "click", "positive_feedback", "negative_feedback", "dismiss", "not_interested"],
  },
} satisfies Record<string, { core: string[]; actions: string[] }>;

type Health = {
  status: string;
  kafka_available: boolean;
  stats: {
    total_events: number;
    kafka_success: number;
    kafka_failed: number;
    rejected: number;
    validation_warnings: number;
    success_rate: number;
  };
};

describe("seed HTTP + 配置管理 requests (方式1: config from template)", () => {
  let t: TestServer;
  let api: ReturnType<typeof client>;
  const health = async () => (await api<Health>("GET", "/api/v1/behaviors/health")).body;
  const lines = () => readTopicFile(t.dataDir, TOPIC);

  beforeAll(async () => {
    t = await startTestServer();
    api = client(t.baseUrl);
  });
  afterAll(async () => t.stop(true));

  it("GET /api/v1/tracking-configs/templates/ (trailing slash, as in the seed) and without it list the seed's scenarios", async () => {
    const withSlash = await api("GET", "/api/v1/tracking-configs/templates/");
    const without = await api("GET", "/api/v1/tracking-configs/templates");
    expect(withSlash.status).toBe(200);
    expect(without.status).toBe(200);
    expect(withSlash.body).toEqual(without.body);
    const templates = withSlash.body.templates as Array<Record<string, any>>;
    const byId = new Map(templates.map((tpl) => [tpl.template_id as string, tpl]));
    for (const [type, seed] of Object.entries(SEED_SCENARIOS)) {
      const tpl = byId.get(type);
      expect(tpl, `template ${type}`).toBeDefined();
      expect(tpl!.scenario_type).toBe(type);
      expect(tpl!.data_field).toBe(`${type}_data`);
      expect(new Set((tpl!.required_fields as any[]).map((f) => f.field_name)), `core fields of ${type}`).toEqual(
        new Set(seed.core),
      );
      expect(tpl!.recommended_actions, `actions of ${type}`).toEqual(seed.actions);
    }
    const video = byId.get("video")!;
    const completion = (video.required_fields as any[]).find((f) => f.field_name === "completion_rate");
    expect(completion).toMatchObject({ field_type: "number", min_value: 0, max_value: 1 });
    const quality = (video.required_fields as any[]).find((f) => f.field_name === "video_quality");
    expect(quality.allowed_values).toEqual(["360p", "720p", "1080p", "4K"]);
  });

  it("POST /api/v1/tracking-configs/from-template with the seed's body creates version 1 of mymx/vlog_feed", async () => {
    const res = await api("POST", "/api/v1/tracking-configs/from-template", FROM_TEMPLATE_BODY);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(typeof res.body.message).toBe("string");
    const c = res.body.config;
    expect(c).toMatchObject({
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      scenario_type: "video",
      template_id: "video",
      name: "短视频Feed流埋点配置",
      is_active: true,
      version: 1,
    });
    expect(c.required_fields.map((f: any) => f.field_name)).toEqual(SEED_SCENARIOS.video.core);
    expect(c.recommended_actions).toEqual(SEED_SCENARIOS.video.actions);
    expect(typeof c.created_at).toBe("number");
    expect(Math.abs(c.created_at - Date.now())).toBeLessThan(60_000);
  });

  it("creating the same scenario again (the seed's 方式2 body) while it is active is refused with 409", async () => {
    const res = await api("POST", "/api/v1/tracking-configs/", CUSTOM_BODY);
    expect(res.status).toBe(409);
    expect(res.body.success).toBe(false);
  });

  it("POST /api/v1/behaviors/track with the seed's event_data → exactly {success, event_id, message}", async () => {
    const before = (await lines()).length;
    const res = await api("POST", "/api/v1/behaviors/track", seedEventData());
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["event_id", "message", "success"]);
    expect(res.body.success).toBe(true);
    expect(res.body.event_id).toMatch(EVT_ID);
    expect(res.body.message).toBe("Event tracked successfully");
    const after = await lines();
    expect(after).toHaveLength(before + 1);
    expect((after.at(-1)!.value as any).event_id).toBe(res.body.event_id);
  });

  it("the published message is the seed's Kafka message format, field by field, with schema/config version headers", async () => {
    const res = await api("POST", "/api/v1/behaviors/track", seedEventData());
    const line = (await lines()).find((l) => (l.value as any).event_id === res.body.event_id)!;
    expect(line).toBeDefined();
    expect(line.key).toBe("user_12345");
    expect(line.headers).toEqual({ "schema-version": "1", "tracking-config-version": "1" });
    const v = line.value as Record<string, unknown>;
    // Seed order: event_id, tenant_id, scenario_id, user_id, item_id, action_type, timestamp, context, experiment_*, position, scenario_data.
    expect(Object.keys(v)).toEqual([
      "event_id",
      "tenant_id",
      "scenario_id",
      "user_id",
      "item_id",
      "action_type",
      "timestamp",
      "context",
      "experiment_id",
      "position",
      "scenario_data",
    ]);
    expect(typeof v.timestamp).toBe("number");
    expect(Number.isInteger(v.timestamp)).toBe(true);
    expect(Math.abs((v.timestamp as number) - Date.now())).toBeLessThan(60_000);
    const { event_id: _e, timestamp: _t, ...rest } = v;
    expect(rest).toEqual(seedEventData());
    expect(v.context).toEqual({ device_type: "mobile", os: "iOS", location: "Beijing" });
    expect(v.scenario_data).toEqual({
      video_data: {
        duration: 180,
        watch_duration: 175,
        completion_rate: 0.97,
        video_quality: "1080p",
        is_fullscreen: true,
        playback_speed: 1,
      },
    });
  });

  it("the seed's 消息格式 example, tracked over REST, is published unchanged (every field, incl. ip and experiment_group)", async () => {
    const msg = fixture("kafka_message.json");
    const res = await api("POST", "/api/v1/behaviors/track", msg);
    expect(res.status).toBe(200);
    expect(res.body.event_id).toBe("evt_abc123");
    const line = (await lines()).find((l) => (l.value as any).event_id === "evt_abc123")!;
    expect(line.key).toBe("user_12345");
    const v = line.value as Record<string, unknown>;
    const { extra_data: extra, ...expected } = msg;
    expect(extra).toEqual({});
    // An empty extra_data object carries no information; it may be kept or dropped.
    const { extra_data: gotExtra, ...got } = v;
    if (gotExtra !== undefined) expect(gotExtra).toEqual({});
    expect(got).toEqual(expected);
    expect(v.timestamp).toBe(1730304000000);
  });

  it("the Python TrackingClient.track_video_play example body is tracked", async () => {
    // client.track_video_play(user_id="user_12345", video_id="video_67890", scenario_id="vlog_feed",
    //   duration=180, watch_duration=175, completion_rate=0.97, video_quality="1080p", is_fullscreen=True)
    const kwargs: Record<string, unknown> = { video_quality: "1080p", is_fullscreen: true };
    const event = {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      user_id: "user_12345",
      item_id: "video_67890",
      action_type: "play_end",
      context: kwargs.context ?? { device_type: "mobile" },
      scenario_data: {
        video_data: {
          duration: 180,
          watch_duration: 175,
          completion_rate: 0.97,
          video_quality: kwargs.video_quality ?? "720p",
          is_fullscreen: kwargs.is_fullscreen ?? false,
          playback_speed: kwargs.playback_speed ?? 1.0,
        },
      },
    };
    const res = await api("POST", "/api/v1/behaviors/track", event);
    expect(res.status).toBe(200); // response.raise_for_status()
    expect(res.body).toEqual({
      success: true,
      event_id: expect.stringMatching(EVT_ID),
      message: "Event tracked successfully",
    });
    const line = (await lines()).find((l) => (l.value as any).event_id === res.body.event_id)!;
    expect((line.value as any).scenario_data).toEqual(event.scenario_data);
  });

  it("the seed's gRPC example (ACTION_TYPE_PLAY_END, DEVICE_TYPE_MOBILE) over gRPC is published as the same JSON", async () => {
    const grpc = createClient(BehaviorService, createGrpcTransport({ baseUrl: t.grpcUrl }));
    const res = await grpc.trackEvent({ event: seedEventMessage() });
    expect(res.success).toBe(true);
    expect(res.eventId).toMatch(EVT_ID);
    const line = (await lines()).find((l) => (l.value as any).event_id === res.eventId)!;
    const { event_id: _e, timestamp, ...rest } = line.value as Record<string, unknown>;
    expect(typeof timestamp).toBe("number");
    expect(rest).toEqual(seedEventData());
  });

  it("POST /api/v1/behaviors/track/batch with the seed's two impressions → total 2, succeeded 2, failed 0, per-event results", async () => {
    const before = (await lines()).length;
    const res = await api("POST", "/api/v1/behaviors/track/batch", { events: seedBatchEvents() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, total: 2, succeeded: 2, failed: 0 });
    const results = res.body.results as any[];
    expect(results).toHaveLength(2);
    results.forEach((r, i) => {
      expect(r.index).toBe(i);
      expect(r.event_id).toMatch(EVT_ID);
      expect(r.success).toBe(true);
      expect(r.errors ?? []).toEqual([]);
      // The impressions carry no video_data, so mymx/vlog_feed (from the video template) warns
      // about its required fields (Q3: scenario fields never block an event).
      for (const w of r.warnings ?? [])
        expect(w).toMatchObject({
          rule: "required",
          severity: "warning",
          field: expect.stringMatching(/^scenario_data\.video_data\./),
        });
    });
    expect(results[0].event_id).not.toBe(results[1].event_id);
    const after = await lines();
    expect(after).toHaveLength(before + 2);
    const published = after.slice(before).map((l) => l.value as any);
    expect(published.map((v) => v.event_id)).toEqual(results.map((r) => r.event_id));
    expect(published.map((v) => [v.item_id, v.position, v.action_type])).toEqual([
      ["video_001", 1, "impression"],
      ["video_002", 2, "impression"],
    ]);
    expect(after.slice(before).every((l) => l.key === "user_001")).toBe(true);
  });

  it("a batch of 101 events is refused with 400 naming events / max_items, nothing published", async () => {
    const before = (await lines()).length;
    const h0 = await health();
    const ev = seedBatchEvents()[0];
    const res = await api("POST", "/api/v1/behaviors/track/batch", {
      events: Array.from({ length: 101 }, () => copy(ev)),
    });
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ field: "events", rule: "max_items", severity: "error" }),
    ]);
    expect((await lines()).length).toBe(before);
    expect((await health()).stats.kafka_success).toBe(h0.stats.kafka_success);
    // 100 is the limit, not past it.
    const ok = await api("POST", "/api/v1/behaviors/track/batch", {
      events: Array.from({ length: 100 }, () => copy(ev)),
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ success: true, total: 100, succeeded: 100, failed: 0 });
    expect((await lines()).length).toBe(before + 100);
  });

  it("a batch with one invalid event → 200, failed 1 with that event's errors; the valid one is published", async () => {
    const before = (await lines()).length;
    const [a, b] = seedBatchEvents();
    const { item_id: _drop, ...noItem } = b;
    const res = await api("POST", "/api/v1/behaviors/track/batch", { events: [a, noItem] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: false, total: 2, succeeded: 1, failed: 1 });
    const [r0, r1] = res.body.results as any[];
    expect(r0).toMatchObject({ index: 0, success: true });
    expect(r0.event_id).toMatch(EVT_ID);
    expect(r1).toMatchObject({ index: 1, success: false });
    expect(r1.errors).toEqual([expect.objectContaining({ field: "item_id", rule: "required", severity: "error" })]);
    const after = await lines();
    expect(after).toHaveLength(before + 1);
    expect((after.at(-1)!.value as any).event_id).toBe(r0.event_id);
  });

  it("POST /api/v1/behaviors/validate answers success true/false and publishes nothing", async () => {
    const file = join(t.dataDir, "topics", `${TOPIC}.ndjson`);
    const bytes = readFileSync(file);
    const h0 = await health();

    const ok = await api("POST", "/api/v1/behaviors/validate", seedEventData());
    expect(ok.status).toBe(200);
    expect(ok.body.success).toBe(true);
    expect(ok.body.errors ?? []).toEqual([]);

    const warned = seedEventData();
    warned.scenario_data.video_data.completion_rate = 1.5;
    const w = await api("POST", "/api/v1/behaviors/validate", warned);
    expect(w.status).toBe(200);
    expect(w.body.success).toBe(true);
    expect(w.body.validation_warnings).toEqual([
      expect.objectContaining({
        field: "scenario_data.video_data.completion_rate",
        rule: "range",
        severity: "warning",
      }),
    ]);

    const bad = { ...seedEventData(), context: { os: "iOS" } };
    const no = await api("POST", "/api/v1/behaviors/validate", bad);
    expect(no.status).toBe(200);
    expect(no.body.success).toBe(false);
    expect(no.body.errors).toEqual([
      expect.objectContaining({ field: "context.device_type", rule: "required", severity: "error" }),
    ]);

    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(await health()).toEqual(h0);
  });

  it("GET /api/v1/behaviors/health has the seed's shape and its counters follow the calls", async () => {
    const h0 = await health();
    expect(Object.keys(h0).sort()).toEqual(["kafka_available", "stats", "status"]);
    expect(Object.keys(h0.stats).sort()).toEqual([
      "kafka_failed",
      "kafka_success",
      "rejected",
      "success_rate",
      "total_events",
      "validation_warnings",
    ]);
    expect(h0.status).toBe("healthy");
    expect(h0.kafka_available).toBe(true);
    for (const k of ["total_events", "kafka_success", "kafka_failed", "rejected", "validation_warnings"] as const) {
      expect(typeof h0.stats[k]).toBe("number");
    }
    // Counted since start in this file: 5 tracks (REST ×4, gRPC ×1), batches 2 + 100 + (1 ok, 1 rejected);
    // the 101-event batch was refused whole; validate calls count nothing. Warned: only the 消息格式
    // example (its video_data lacks is_fullscreen / playback_speed); the batch impressions carry no
    // scenario data, so the video config does not judge them field by field.
    expect(h0.stats).toEqual({
      total_events: 5 + 2 + 100 + 2,
      kafka_success: 5 + 2 + 100 + 1,
      kafka_failed: 0,
      rejected: 1,
      validation_warnings: 1,
      success_rate: 100,
    });

    await api("POST", "/api/v1/behaviors/track", seedEventData()); // ok
    const warned = seedEventData();
    warned.scenario_data.video_data.video_quality = "8K";
    const wr = await api("POST", "/api/v1/behaviors/track", warned); // ok + warning
    expect(wr.body.validation_warnings).toHaveLength(1);
    const rej = await api("POST", "/api/v1/behaviors/track", { ...seedEventData(), user_id: "" }); // rejected
    expect(rej.status).toBe(400);
    await api("POST", "/api/v1/behaviors/track/batch", {
      events: [seedBatchEvents()[0], { ...seedBatchEvents()[1], action_type: "fly" }, warned],
    });
    await api("POST", "/api/v1/behaviors/validate", seedEventData()); // not counted

    const h1 = await health();
    expect(h1.stats.total_events - h0.stats.total_events).toBe(6);
    expect(h1.stats.kafka_success - h0.stats.kafka_success).toBe(4);
    expect(h1.stats.rejected - h0.stats.rejected).toBe(2);
    // The single warned track and the batch's warned event; its impression carries no scenario data.
    expect(h1.stats.validation_warnings - h0.stats.validation_warnings).toBe(2);
    expect(h1.stats.kafka_failed).toBe(0);
    expect(h1.stats.success_rate).toBe(100);
    expect(h1.status).toBe("healthy");
  });

  it("GET /api/v1/tracking-configs/mymx/vlog_feed returns the config", async () => {
    const res = await api("GET", "/api/v1/tracking-configs/mymx/vlog_feed");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      scenario_type: "video",
      template_id: "video",
      version: 1,
      is_active: true,
    });
    const missing = await api("GET", "/api/v1/tracking-configs/mymx/nope");
    expect(missing.status).toBe(404);
  });

  it("GET /api/v1/tracking-configs/?tenant_id=mymx&scenario_type=video filters", async () => {
    const other = await api("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "shop",
      template_id: "ecommerce",
    });
    expect(other.status).toBe(200);
    const abc = await api("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "tenant_abc",
      scenario_id: "vlog_feed",
      template_id: "video",
    });
    expect(abc.status).toBe(200);

    const res = await api("GET", "/api/v1/tracking-configs/?tenant_id=mymx&scenario_type=video");
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    expect(res.body.configs.map((c: any) => `${c.tenant_id}/${c.scenario_id}`)).toEqual(["mymx/vlog_feed"]);
    const all = await api("GET", "/api/v1/tracking-configs/?tenant_id=mymx");
    expect(all.body.configs.map((c: any) => c.scenario_id)).toEqual(["shop", "vlog_feed"]);
    const video = await api("GET", "/api/v1/tracking-configs?scenario_type=video");
    expect(video.body.configs.map((c: any) => `${c.tenant_id}/${c.scenario_id}`)).toEqual([
      "mymx/vlog_feed",
      "tenant_abc/vlog_feed",
    ]);
  });

  it("PUT with the seed's body increments the version and changes only description and optional_fields", async () => {
    const before = (await api("GET", "/api/v1/tracking-configs/mymx/vlog_feed")).body;
    const res = await api("PUT", "/api/v1/tracking-configs/mymx/vlog_feed", UPDATE_BODY);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    const after = res.body.config;
    expect(after.version).toBe(before.version + 1);
    expect(after.description).toBe("更新后的描述");
    expect(after.optional_fields).toHaveLength(1);
    expect(after.optional_fields[0]).toMatchObject({
      field_name: "buffer_time",
      field_type: "integer",
      required: false,
      description: "缓冲时间（毫秒）",
    });
    expect(after.optional_fields[0].min_value).toBeUndefined();
    expect(after.updated_at).toBeGreaterThanOrEqual(before.updated_at);
    const strip = (c: any) => {
      const { description: _d, optional_fields: _o, version: _v, updated_at: _u, ...rest } = c;
      return rest;
    };
    expect(strip(after)).toEqual(strip(before));
    expect((await api("GET", "/api/v1/tracking-configs/mymx/vlog_feed")).body).toEqual(after);
    // The new version judges events: the header carries it.
    const tr = await api("POST", "/api/v1/behaviors/track", seedEventData());
    const line = (await lines()).find((l) => (l.value as any).event_id === tr.body.event_id)!;
    expect(line.headers["tracking-config-version"]).toBe(String(after.version));
  });

  it("DELETE is a soft delete: still readable with is_active false, no longer judging events", async () => {
    const before = (await api("GET", "/api/v1/tracking-configs/mymx/vlog_feed")).body;
    const res = await api("DELETE", "/api/v1/tracking-configs/mymx/vlog_feed");
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    const got = await api("GET", "/api/v1/tracking-configs/mymx/vlog_feed");
    expect(got.status).toBe(200);
    expect(got.body.is_active).toBe(false);
    expect(got.body.version).toBe(before.version + 1);
    expect(got.body.description).toBe("更新后的描述");
    const listed = await api("GET", "/api/v1/tracking-configs/?tenant_id=mymx&scenario_type=video");
    expect(listed.body.total ?? 0).toBe(0);
    const inactive = await api(
      "GET",
      "/api/v1/tracking-configs/?tenant_id=mymx&scenario_type=video&include_inactive=true",
    );
    expect(inactive.body.configs.map((c: any) => [c.scenario_id, c.is_active])).toEqual([["vlog_feed", false]]);
    // Events are now judged by the video template (version 0).
    const tr = await api("POST", "/api/v1/behaviors/track", seedEventData());
    expect(tr.status).toBe(200);
    const line = (await lines()).find((l) => (l.value as any).event_id === tr.body.event_id)!;
    expect(line.headers["tracking-config-version"]).toBe("0");
  });
});

describe("seed 方式2: custom config with the seed's exact body", () => {
  let t: TestServer;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await startTestServer();
    api = client(t.baseUrl);
  });
  afterAll(async () => t.stop(true));

  it("POST /api/v1/tracking-configs/ creates it with duration integer 1..3600 required", async () => {
    const res = await api("POST", "/api/v1/tracking-configs/", CUSTOM_BODY);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.config).toMatchObject({
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      scenario_type: "video",
      name: "短视频埋点配置",
      is_active: true,
      version: 1,
    });
    expect(res.body.config.required_fields).toEqual([
      expect.objectContaining({
        field_name: "duration",
        field_type: "integer",
        required: true,
        description: "视频总时长（秒）",
        min_value: 1,
        max_value: 3600,
      }),
    ]);
  });

  it("its rule judges events: in range → no warnings, out of range/missing → warnings naming the config", async () => {
    const ok = await api("POST", "/api/v1/behaviors/track", seedEventData());
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(["event_id", "message", "success"]);

    const long = seedEventData();
    long.scenario_data.video_data.duration = 4000;
    const w = await api("POST", "/api/v1/behaviors/track", long);
    expect(w.status).toBe(200);
    expect(Object.keys(w.body).sort()).toEqual(["event_id", "message", "success", "validation_warnings"]);
    expect(w.body.validation_warnings).toEqual([
      {
        field: "scenario_data.video_data.duration",
        rule: "range",
        severity: "warning",
        message: expect.stringContaining("3600"),
      },
    ]);

    const zero = seedEventData();
    zero.scenario_data.video_data.duration = 0;
    const z = await api("POST", "/api/v1/behaviors/track", zero);
    expect(z.body.validation_warnings).toEqual([
      expect.objectContaining({ field: "scenario_data.video_data.duration", rule: "range" }),
    ]);

    const missing = seedEventData() as any;
    delete missing.scenario_data.video_data.duration;
    const m = await api("POST", "/api/v1/behaviors/track", missing);
    expect(m.body.validation_warnings).toEqual([
      expect.objectContaining({ field: "scenario_data.video_data.duration", rule: "required", severity: "warning" }),
    ]);

    const lines = await readTopicFile(t.dataDir, TOPIC);
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.headers["tracking-config-version"] === "1")).toBe(true);
  });
});
