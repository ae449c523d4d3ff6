import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ActionType } from "../../gen/es/recommender/v1/behavior_pb.js";
import {
  FieldType,
  type TrackingConfig,
  TrackingConfigSchema,
} from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { scenarioTemplates, templateById } from "../../gen/templates/scenario_templates.js";
import { validateBehaviorEvent } from "../../gen/validator/recommender/v1/behavior_validator.js";
import {
  type CompiledConfig,
  compileConfig,
  KNOWN_SCENARIO_TYPES,
  RuleBook,
  validateConfigDefinition,
} from "./index.js";

function vlogConfig(over: MessageInitShape<typeof TrackingConfigSchema> = {}): TrackingConfig {
  return create(TrackingConfigSchema, {
    tenantId: "mymx",
    scenarioId: "vlog_feed",
    scenarioType: "video",
    version: 3,
    isActive: true,
    requiredFields: [
      { fieldName: "duration", fieldType: FieldType.INTEGER, required: true, minValue: 0 },
      { fieldName: "video_quality", fieldType: FieldType.STRING, required: true, allowedValues: ["720p", "1080p"] },
    ],
    optionalFields: [
      { fieldName: "completion_rate", fieldType: FieldType.NUMBER, minValue: 0, maxValue: 1 },
      { fieldName: "is_fullscreen", fieldType: FieldType.BOOLEAN },
      { fieldName: "seek_positions", fieldType: FieldType.ARRAY, minValue: 0 },
      { fieldName: "tags", fieldType: FieldType.ARRAY, allowedValues: ["a", "b"] },
      { fieldName: "meta", fieldType: FieldType.OBJECT },
    ],
    recommendedActions: [ActionType.PLAY, ActionType.PLAY_END],
    ...over,
  });
}

function ev(video: Record<string, unknown> | undefined, action = "play_end", extra: Record<string, unknown> = {}) {
  return {
    tenant_id: "mymx",
    scenario_id: "vlog_feed",
    action_type: action,
    ...(video === undefined ? {} : { scenario_data: { video_data: video } }),
    ...extra,
  };
}

/**
 * (field, rule) of every warning the pipeline would report for the event: the generated
 * validator's and the judge's together. A rule judged by both would show up twice.
 */
function judgedOnce(judge: CompiledConfig, event: Record<string, unknown>): [string, string][] {
  const full = {
    tenant_id: "mymx",
    scenario_id: "vlog_feed",
    user_id: "u",
    item_id: "i",
    context: { device_type: "mobile" },
    ...event,
  };
  const all = [...validateBehaviorEvent(full, "request"), ...judge.judge(full)];
  return all.filter((v) => v.severity === "warning").map((v) => [v.field, v.rule]);
}

describe("compileConfig", () => {
  const judge = compileConfig(vlogConfig());

  it("a conforming event has no violations", () => {
    expect(
      judge.judge(
        ev({
          duration: 300,
          video_quality: "1080p",
          completion_rate: 0.5,
          is_fullscreen: true,
          seek_positions: [1, 2],
          tags: ["a"],
          meta: {},
          unknown_extra: 1,
        }),
      ),
    ).toEqual([]);
  });

  it("required fields produce warnings naming the field and the config", () => {
    const v = judge.judge(ev({ video_quality: "720p" }));
    expect(v).toEqual([
      {
        field: "scenario_data.video_data.duration",
        rule: "required",
        severity: "warning",
        message: "scenario_data.video_data.duration is required by tracking config mymx/vlog_feed (v3)",
      },
    ]);
    // null counts as absent; an empty member reports every required field.
    expect(judge.judge(ev({ duration: null, video_quality: "720p" })).map((x) => x.rule)).toEqual(["required"]);
    expect(judge.judge(ev({})).map((x) => x.field)).toEqual([
      "scenario_data.video_data.duration",
      "scenario_data.video_data.video_quality",
    ]);
    // An event without scenario data (an impression, say) is not judged field by field.
    expect(judge.judge(ev(undefined))).toEqual([]);
  });

  it("type rule distinguishes integer, number, string, boolean, array, object", () => {
    const v = judge.judge(
      ev({ duration: 1.5, video_quality: 7, completion_rate: "x", is_fullscreen: 1, seek_positions: {}, meta: [] }),
    );
    expect(v.map((x) => [x.field.split(".").pop(), x.rule])).toEqual([
      ["duration", "type"],
      ["video_quality", "type"],
      ["completion_rate", "type"],
      ["is_fullscreen", "type"],
      ["seek_positions", "type"],
      ["meta", "type"],
    ]);
    expect(v[0]!.message).toBe(
      "scenario_data.video_data.duration should be an integer, got the number 1.5 (tracking config mymx/vlog_feed (v3))",
    );
    expect(v.every((x) => x.severity === "warning")).toBe(true);
  });

  it("range and allowed_values, also per array element", () => {
    const v = judge.judge(
      ev({ duration: -1, video_quality: "4K", completion_rate: 1.2, seek_positions: [3, -2], tags: ["a", "zz"] }),
    );
    expect(v.map((x) => [x.field, x.rule])).toEqual([
      ["scenario_data.video_data.duration", "range"],
      ["scenario_data.video_data.video_quality", "allowed_values"],
      ["scenario_data.video_data.completion_rate", "range"],
      ["scenario_data.video_data.seek_positions[1]", "range"],
      ["scenario_data.video_data.tags[1]", "allowed_values"],
    ]);
    expect(v[1]!.message).toBe(
      'scenario_data.video_data.video_quality = "4K" is not one of ["720p", "1080p"] allowed by tracking config mymx/vlog_feed (v3)',
    );
    expect(v[2]!.message).toMatch(/above the maximum 1/);
  });

  it("recommended_action", () => {
    const v = judge.judge(ev({ duration: 1, video_quality: "720p" }, "purchase"));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ field: "action_type", rule: "recommended_action", severity: "warning" });
    expect(v[0]!.message).toContain("purchase is not a recommended action of tracking config mymx/vlog_feed (v3)");
  });

  it("an event carrying another scenario member is flagged", () => {
    const v = judge.judge({
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      action_type: "play",
      scenario_data: { music_data: { duration: 1 } },
    });
    expect(v[0]).toMatchObject({ field: "scenario_data", rule: "scenario_type" });
    expect(v[0]!.message).toContain("carries music_data");
  });

  it("custom configs read scenario_data.custom_data", () => {
    const c = compileConfig(
      create(TrackingConfigSchema, {
        tenantId: "t",
        scenarioId: "s",
        scenarioType: "custom",
        version: 1,
        requiredFields: [{ fieldName: "level", fieldType: FieldType.INTEGER, minValue: 1, maxValue: 10 }],
      }),
    );
    expect(c.judge({ action_type: "click", scenario_data: { custom_data: { level: 5 } } })).toEqual([]);
    expect(c.judge({ action_type: "click", scenario_data: { custom_data: { level: 11 } } })[0]!.field).toBe(
      "scenario_data.custom_data.level",
    );
    // No recommended actions configured and no template: any action is fine.
    expect(c.judge({ action_type: "anything", scenario_data: { custom_data: { level: 1 } } })).toEqual([]);
  });

  it("empty recommended_actions fall back to the template's, which the generated validator judges", () => {
    const c = compileConfig(vlogConfig({ recommendedActions: [] }), { template: templateById("video") });
    expect(c.judge(ev({ duration: 1, video_quality: "720p" }, "pause"))).toEqual([]);
    // The template's actions are the proto's: judged once, by the validator, not again here.
    expect(c.judge(ev({ duration: 1, video_quality: "720p" }, "purchase"))).toEqual([]);
    expect(judgedOnce(c, ev({ duration: 1, video_quality: "720p" }, "purchase"))).toEqual([
      ["action_type", "recommended_action"],
    ]);
    // Actions of the config's own are the judge's.
    const own = compileConfig(vlogConfig({ recommendedActions: [ActionType.PLAY] }), {
      template: templateById("video"),
    });
    expect(own.judge(ev({ duration: 1, video_quality: "720p" }, "pause")).map((x) => x.rule)).toEqual([
      "recommended_action",
    ]);
  });

  it("compiles generated templates; null bounds mean unbounded; the proto's rules are left to the validator", () => {
    const video = compileConfig(templateById("video"));
    expect(video.version).toBe(0);
    expect(video.dataField).toBe("video_data");
    const data = {
      duration: 10,
      watch_duration: 5,
      completion_rate: 2,
      video_quality: "720p",
      is_fullscreen: false,
      playback_speed: 1,
    };
    const event = { action_type: "play", scenario_data: { video_data: data } };
    expect(video.judge(event)).toEqual([]);
    expect(judgedOnce(video, event)).toEqual([["scenario_data.video_data.completion_rate", "range"]]);
    // What the proto cannot say, the template judges: its core fields' presence.
    const { completion_rate: _, ...missing } = data;
    const v = video.judge({ action_type: "play", scenario_data: { video_data: missing } });
    expect(v.map((x) => [x.field, x.rule])).toEqual([["scenario_data.video_data.completion_rate", "required"]]);
    expect(v[0]!.message).toContain("template video");
    for (const t of scenarioTemplates) expect(() => compileConfig(t)).not.toThrow();
  });

  it("a config judges only the bounds and values it changes from the template's", () => {
    const c = compileConfig(
      vlogConfig({
        requiredFields: [
          { fieldName: "duration", fieldType: FieldType.INTEGER, required: true, minValue: 0, maxValue: 120 },
          {
            fieldName: "video_quality",
            fieldType: FieldType.STRING,
            required: true,
            allowedValues: ["360p", "720p", "1080p", "4K"],
          },
        ],
        optionalFields: [],
      }),
      { template: templateById("video") },
    );
    // -1 breaks the proto's minimum (the validator's), 500 the config's maximum (the judge's).
    expect(judgedOnce(c, ev({ duration: -1, video_quality: "8K" }))).toEqual([
      ["scenario_data.video_data.duration", "range"],
      ["scenario_data.video_data.video_quality", "allowed_values"],
    ]);
    expect(c.judge(ev({ duration: -1, video_quality: "8K" }))).toEqual([]);
    expect(c.judge(ev({ duration: 500, video_quality: "720p" })).map((x) => x.message)).toEqual([
      "scenario_data.video_data.duration = 500 is above the maximum 120 of tracking config mymx/vlog_feed (v3)",
    ]);
  });
});

describe("RuleBook", () => {
  it("judges by config, then template fallback, then nothing", () => {
    const book = new RuleBook();
    book.apply(vlogConfig());
    const byConfig = book.judge(ev({ video_quality: "720p" }));
    expect(byConfig.configVersion).toBe(3);
    expect(byConfig.violations.map((v) => v.rule)).toEqual(["required"]);

    const byTemplate = book.judge({
      tenant_id: "other",
      scenario_id: "x",
      action_type: "purchase",
      scenario_data: { video_data: {} },
    });
    expect(byTemplate.configVersion).toBe(0);
    // The template's recommended actions are the proto's: the generated validator reports them.
    expect(byTemplate.violations.some((v) => v.rule === "recommended_action")).toBe(false);
    expect(
      byTemplate.violations.some((v) => v.field === "scenario_data.video_data.duration" && v.rule === "required"),
    ).toBe(true);

    expect(book.judge({ tenant_id: "other", scenario_id: "x", action_type: "click" })).toEqual({
      violations: [],
      configVersion: undefined,
    });
  });

  it("follows a config source: updates recompile, soft deletes fall back", () => {
    type L = (c: TrackingConfig) => void;
    const listeners: L[] = [];
    const source = {
      list: () => [vlogConfig()],
      subscribe: (l: L) => {
        listeners.push(l);
        return () => undefined;
      },
    };
    const book = new RuleBook(scenarioTemplates);
    book.attach(source);
    expect(book.compiledFor("mymx", "vlog_feed")?.version).toBe(3);
    listeners[0]!(vlogConfig({ version: 4, requiredFields: [] }));
    expect(book.judge(ev({})).configVersion).toBe(4);
    expect(book.judge(ev({})).violations).toEqual([]);
    listeners[0]!(vlogConfig({ version: 5, isActive: false }));
    expect(book.judge(ev({})).configVersion).toBe(0);
  });
});

describe("validateConfigDefinition", () => {
  it("accepts a good config", () => {
    expect(validateConfigDefinition(vlogConfig())).toEqual([]);
    expect(KNOWN_SCENARIO_TYPES.has("custom")).toBe(true);
    expect(KNOWN_SCENARIO_TYPES.has("video")).toBe(true);
  });

  it("names the offending fields", () => {
    const bad = create(TrackingConfigSchema, {
      tenantId: "my mx",
      scenarioId: "",
      scenarioType: "cooking",
      requiredFields: [
        { fieldName: "Duration", fieldType: FieldType.INTEGER },
        { fieldName: "ok", fieldType: FieldType.UNSPECIFIED },
        { fieldName: "r", fieldType: FieldType.NUMBER, minValue: 5, maxValue: 1 },
      ],
      optionalFields: [
        { fieldName: "n", fieldType: FieldType.INTEGER, allowedValues: ["1"] },
        { fieldName: "ok", fieldType: FieldType.STRING },
        { fieldName: "s", fieldType: FieldType.STRING, minValue: 1 },
      ],
      recommendedActions: [ActionType.UNSPECIFIED],
    });
    const fields = validateConfigDefinition(bad).map((v) => `${v.field}:${v.rule}`);
    expect(fields).toEqual([
      // The proto's rules, from the generated validator (an unknown action has no wire name: "type")…
      "tenant_id:pattern",
      "scenario_id:required",
      "required_fields[0].field_name:pattern",
      "required_fields[1].field_type:required",
      "recommended_actions[0]:type",
      // …then what the proto cannot say.
      "scenario_type:enum",
      "required_fields[2].min_value:range",
      "optional_fields[0].allowed_values:allowed_values",
      "optional_fields[1].field_name:duplicate",
      "optional_fields[2].min_value:range",
    ]);
    expect(validateConfigDefinition(bad).every((v) => v.severity === "error")).toBe(true);
  });
});
