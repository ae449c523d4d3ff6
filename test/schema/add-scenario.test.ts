/**
 * "Adding a scenario is editing one proto": a copy of behavior.proto gains a LiveScenarioData
 * message and a `live_data = 10` oneof member; `buf generate` with the repo's plugins then
 * yields JSON Schemas, a compiled validator, templates, the REST/gRPC handlers, the OpenAPI
 * routes, the ClickHouse columns (with their migration) and the Flink row type that know the
 * scenario, with no hand-written change anywhere.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../codegen/common/plugin-harness.js";
import { loadSchemas } from "./ajv.js";

const liveMessage = `
// Live streaming.
message LiveScenarioData {
  option (recommender.options.v1.scenario) = {
    type: "live"
    display_name: "直播场景"
    description: "直播间推荐"
    recommended_actions: ["ACTION_TYPE_IMPRESSION", "ACTION_TYPE_CLICK", "ACTION_TYPE_LIKE", "ACTION_TYPE_SHARE"]
  };
  // 在线人数
  optional int32 viewer_count = 1 [(recommender.options.v1.field) = {core: true, min: 0, max: 100000000}];
  // 直播状态（live/replay）
  optional string stream_state = 2 [(recommender.options.v1.field) = {core: true, allowed_values: ["live", "replay"]}];
}
`;

/** The repo's buf.gen.yaml with only the plugins this test looks at, run from a temp dir. */
function template(): string {
  const repoTemplate = readFileSync(join(repoRoot, "buf.gen.yaml"), "utf8");
  const want = [
    "protoc-gen-es",
    "codegen/jsonschema/bin.ts",
    "codegen/validator/bin.ts",
    "codegen/templates/bin.ts",
    // The handlers import it (the gRPC ingest table calls its codecs).
    "codegen/binary/bin.ts",
    "codegen/handlers/bin.ts",
    "codegen/openapi/bin.ts",
    "codegen/clickhouse/bin.ts",
    "codegen/flink/bin.ts",
  ];
  const blocks = repoTemplate
    .split(/\n(?= {2}- local:)/)
    .slice(1)
    .filter((b) => want.some((w) => b.includes(w)));
  expect(blocks).toHaveLength(want.length);
  const plugins = blocks.map((b) => b.replace(/codegen\//g, `${repoRoot}/codegen/`).replace(/\n\s*#.*$/gm, ""));
  return `version: v2\ninputs:\n  - directory: .\n    paths:\n      - proto/recommender\nplugins:\n${plugins.join("\n")}\n`;
}

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "add-scenario-"));
  cpSync(join(repoRoot, "proto"), join(dir, "proto"), { recursive: true });
  cpSync(join(repoRoot, ".tools/proto-deps"), join(dir, ".tools/proto-deps"), { recursive: true });
  cpSync(join(repoRoot, "buf.yaml"), join(dir, "buf.yaml"));
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  const protoPath = join(dir, "proto/recommender/v1/behavior.proto");
  const proto = readFileSync(protoPath, "utf8");
  const edited =
    proto.replace(/(google\.protobuf\.Struct custom_data = 9;\n)/, "$1    LiveScenarioData live_data = 10;\n") +
    liveMessage;
  expect(edited).toContain("live_data = 10");
  writeFileSync(protoPath, edited);
  writeFileSync(join(dir, "buf.gen.yaml"), template());
  // The committed ClickHouse column manifest, which `make generate` keeps for the plugin to diff against.
  mkdirSync(join(dir, "gen/clickhouse"), { recursive: true });
  cpSync(
    join(repoRoot, "gen/clickhouse/behavior_events.columns.json"),
    join(dir, "gen/clickhouse/behavior_events.columns.json"),
  );
  execFileSync(join(repoRoot, "node_modules/.bin/buf"), ["generate"], {
    cwd: dir,
    env: { ...process.env, PATH: `${join(repoRoot, "node_modules/.bin")}:${process.env.PATH}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const importGen = (rel: string) => import(/* @vite-ignore */ pathToFileURL(join(dir, "gen", rel)).href);

describe("adding a scenario is editing one proto", () => {
  it("JSON Schemas pick it up", () => {
    const schemas = loadSchemas(join(dir, "gen/jsonschema"));
    expect(existsSync(join(dir, "gen/jsonschema/recommender.v1.LiveScenarioData.strict.schema.json"))).toBe(true);
    const event = {
      tenant_id: "t",
      scenario_id: "live_room",
      user_id: "u",
      item_id: "room_1",
      action_type: "like",
      context: { device_type: "mobile" },
      scenario_data: { live_data: { viewer_count: 1200, stream_state: "live" } },
    };
    expect(schemas("recommender.v1.BehaviorEvent", "strict")(event)).toBe(true);
    const bad = structuredClone(event);
    bad.scenario_data.live_data.stream_state = "ended";
    expect(schemas("recommender.v1.BehaviorEvent", "request")(bad)).toBe(true);
    expect(schemas("recommender.v1.BehaviorEvent", "strict")(bad)).toBe(false);
    const play = { ...event, action_type: "play" };
    expect(schemas("recommender.v1.BehaviorEvent", "strict")(play)).toBe(false);
    const two = structuredClone(event) as Record<string, any>;
    two.scenario_data.video_data = { duration: 1 };
    expect(schemas("recommender.v1.BehaviorEvent", "request")(two)).toBe(false);
  });

  it("the compiled validator and codec pick it up", async () => {
    const v = await importGen("validator/recommender/v1/behavior_validator.ts");
    expect(v.scenarioTypes).toContain("live");
    expect(v.scenarioTypeByDataField.live_data).toBe("live");
    expect(v.recommendedActionsByScenarioType.live).toEqual(["impression", "click", "like", "share"]);
    const event = {
      tenant_id: "t",
      scenario_id: "live_room",
      user_id: "u",
      item_id: "room_1",
      action_type: "play",
      context: { device_type: "mobile" },
      scenario_data: { live_data: { viewer_count: -1, stream_state: "ended" } },
    };
    expect(v.validateBehaviorEvent(event, "request").map((x: any) => [x.field, x.rule, x.severity])).toEqual([
      ["scenario_data.live_data.viewer_count", "range", "warning"],
      ["scenario_data.live_data.stream_state", "allowed_values", "warning"],
      ["action_type", "recommended_action", "warning"],
    ]);
    const msg = v.behaviorEventFromWire(event);
    expect(msg.scenarioData.data.case).toBe("liveData");
    expect(v.behaviorEventToWire(msg).scenario_data).toEqual({
      live_data: { viewer_count: -1, stream_state: "ended" },
    });
    expect(v.normalizeBehaviorEvent(event)).toEqual(v.behaviorEventToWire(msg));
  });

  it("the templates pick it up", () => {
    const path = join(dir, "gen/templates/scenario_templates.json");
    expect(existsSync(path), "templates plugin output").toBe(true);
    const templates = JSON.parse(readFileSync(path, "utf8")) as { template_id: string; data_field: string }[];
    const live = templates.find((t) => t.template_id === "live");
    expect(live?.data_field).toBe("live_data");
  });

  it("the routes pick it up: OpenAPI's track body and the gRPC adapter carry live_data", async () => {
    const doc = JSON.parse(readFileSync(join(dir, "gen/openapi/openapi.json"), "utf8")) as {
      paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { $ref: string } }> } } }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.paths["/api/v1/behaviors/track"]?.post?.requestBody?.content["application/json"]?.schema.$ref).toBe(
      "#/components/schemas/BehaviorEvent",
    );
    expect(Object.keys(doc.components.schemas.ScenarioSpecificData?.properties ?? {})).toContain("live_data");
    expect(Object.keys(doc.components.schemas.LiveScenarioData?.properties ?? {})).toEqual([
      "viewer_count",
      "stream_state",
    ]);

    // The generated gRPC/Connect adapter hands the runtime the event as wire JSON, live_data included.
    const handlers = await importGen("handlers/recommender/v1/behavior_handlers.ts");
    const es = await importGen("es/recommender/v1/behavior_pb.ts");
    const { create } = await import("@bufbuild/protobuf");
    let seen: unknown;
    const services: Record<string, Record<string, (req: unknown, ctx: unknown) => Promise<unknown>>> = {};
    const router = {
      service: (desc: { typeName: string }, impl: Record<string, (req: unknown, ctx: unknown) => Promise<unknown>>) => {
        services[desc.typeName] = impl;
        return router;
      },
    };
    handlers.registerBehaviorService(router, {
      trackEvent: async (event: unknown) => {
        seen = event;
        return create(es.TrackEventResponseSchema, { success: true });
      },
      trackBatch: async () => create(es.TrackBatchResponseSchema, {}),
      validateEvent: async () => create(es.ValidateEventResponseSchema, {}),
      getHealth: async () => create(es.GetHealthResponseSchema, {}),
    });
    const request = create(es.TrackEventRequestSchema, {
      event: {
        tenantId: "t",
        scenarioData: { data: { case: "liveData", value: { viewerCount: 3, streamState: "live" } } },
      },
    });
    const trackEvent = services["recommender.v1.BehaviorService"]?.trackEvent;
    if (!trackEvent) throw new Error("registerBehaviorService did not register trackEvent");
    await trackEvent(request, {});
    expect(seen).toEqual({ tenant_id: "t", scenario_data: { live_data: { viewer_count: 3, stream_state: "live" } } });
  });

  it("ClickHouse picks it up: live_ columns in the table and the view, added by a migration", () => {
    const read = (name: string) => readFileSync(join(dir, "gen/clickhouse", name), "utf8");
    const committed = JSON.parse(
      readFileSync(join(repoRoot, "gen/clickhouse/behavior_events.columns.json"), "utf8"),
    ) as { version: number };
    const manifest = JSON.parse(read("behavior_events.columns.json")) as {
      version: number;
      columns: { name: string; type: string; since: number }[];
    };
    const next = committed.version + 1;
    expect(manifest.version).toBe(next);
    expect(manifest.columns.filter((c) => c.since === next)).toEqual([
      { name: "live_viewer_count", type: "Nullable(Int32)", since: next },
      { name: "live_stream_state", type: "Nullable(String)", since: next },
    ]);
    expect(read("behavior_events.sql")).toContain(
      "`live_viewer_count` Nullable(Int32) COMMENT '在线人数 (scenario_data.live_data.viewer_count)'",
    );
    const kafka = read("behavior_events_kafka.sql");
    expect(kafka).toContain("m.`scenario_data`.`live_data`.`viewer_count` AS `live_viewer_count`");
    expect(kafka).toMatch(/isNotNull\(m\.`scenario_data`\.`live_data`\.`viewer_count`\).*'live'/);
    const migration = read(`migrations/behavior_events_${String(next).padStart(4, "0")}.sql`);
    expect(migration).toContain("ALTER TABLE `behavior_events`");
    expect(migration).toMatch(/ADD COLUMN IF NOT EXISTS `live_viewer_count` Nullable\(Int32\) .* AFTER `custom_data`/);
    expect(migration).toMatch(
      /ADD COLUMN IF NOT EXISTS `live_stream_state` Nullable\(String\) .* AFTER `live_viewer_count`/,
    );
  });

  it("the Flink source table picks it up: a nested ROW and a scenario_type", () => {
    const sql = readFileSync(join(dir, "gen/flink/behavior_events.sql"), "utf8");
    expect(sql).toContain(
      // live_data = 10 comes last, after custom_data = 9.
      "    `live_data` ROW<\n" +
        "      `viewer_count` INT '在线人数',\n" +
        "      `stream_state` STRING '直播状态（live/replay）'\n" +
        "    >\n" +
        "  > COMMENT",
    );
    expect(sql).toContain("    WHEN `scenario_data`.`live_data` IS NOT NULL THEN 'live'\n  END");
    // The example job groups by the computed scenario_type, so it needs no edit either.
    const job = readFileSync(join(dir, "gen/flink/behavior_event_counts_per_minute.sql"), "utf8");
    expect(job).toContain("`scenario_type`, `action_type`, COUNT(*)");
  });
});
