import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareGolden, fixtureRequest, repoRequest, repoRoot, runPlugin } from "../common/plugin-harness.js";
import { plugin, type ScenarioTemplateJson } from "./plugin.js";

const testdata = "codegen/templates/testdata";

describe("protoc-gen-tracking-templates golden", () => {
  it("matches the golden files for the fixture protos", () => {
    const files = runPlugin(plugin, fixtureRequest(`${testdata}/protos`));
    expect([...files.keys()].sort()).toEqual(["scenario_templates.json", "scenario_templates.ts"]);
    const diffs = compareGolden(`${testdata}/golden`, files);
    for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
    expect(diffs).toEqual([]);
  });

  it("derives field types, specs and actions from the fixture", () => {
    const files = runPlugin(plugin, fixtureRequest(`${testdata}/protos`));
    const templates = JSON.parse(files.get("scenario_templates.json")!) as ScenarioTemplateJson[];
    expect(templates.map((t) => t.template_id)).toEqual(["alpha", "beta", "free"]);
    const [alpha, beta, free] = templates;
    if (!alpha || !beta || !free) throw new Error("expected three templates");
    expect(alpha.recommended_actions).toEqual(["seen", "tapped_twice"]);
    expect(alpha.required_fields.map((f) => [f.field_name, f.field_type])).toEqual([
      ["length", "integer"],
      ["ratio", "number"],
      ["quality", "string"],
      ["mood", "string"],
    ]);
    expect(alpha.optional_fields.map((f) => [f.field_name, f.field_type])).toEqual([
      ["flag", "boolean"],
      ["count", "integer"],
      ["tags", "array"],
      ["weights", "object"],
      ["point", "object"],
      ["extra", "object"],
    ]);
    expect(alpha.required_fields[0]).toEqual({
      field_name: "length",
      field_type: "integer",
      required: true,
      description: "Length in seconds.",
      min_value: 0,
      max_value: 60,
      allowed_values: [],
      unit: "seconds",
    });
    expect(alpha.required_fields[1]?.description).toBe("A ratio.\nSecond line of the comment.");
    expect(alpha.required_fields[3]?.allowed_values).toEqual(["happy", "sad"]);
    expect(beta.description).toBe("Beta has no description option, so its comment is used.");
    expect(free).toEqual({
      template_id: "free",
      scenario_type: "free",
      name: "free",
      description: "Anything goes, checked by configs only.",
      data_field: "free_data",
      required_fields: [],
      optional_fields: [],
      recommended_actions: [],
    });
  });
});

// The seed's 支持的场景类型, checked against the output for the real protos.
const seedCore: Record<string, { core: string[]; actions: string[] }> = {
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
};

describe("scenario templates of the real protos", () => {
  const files = runPlugin(plugin, repoRequest());
  const templates = JSON.parse(files.get("scenario_templates.json")!) as ScenarioTemplateJson[];

  it("has the 8 seed scenarios and custom", () => {
    expect(templates.map((t) => t.template_id)).toEqual([...Object.keys(seedCore), "custom"]);
    for (const t of templates) {
      expect(t.scenario_type).toBe(t.template_id);
      expect(t.data_field).toBe(`${t.template_id}_data`);
    }
  });

  it.each(Object.entries(seedCore))("%s has the seed's core fields and recommended actions", (id, seed) => {
    const t = templates.find((x) => x.template_id === id)!;
    expect(t.required_fields.map((f) => f.field_name)).toEqual(seed.core);
    expect(t.required_fields.every((f) => f.required)).toBe(true);
    expect(t.optional_fields.every((f) => !f.required)).toBe(true);
    expect(t.recommended_actions).toEqual(seed.actions);
    expect(t.name).not.toBe("");
    expect(t.description).not.toBe("");
    for (const f of [...t.required_fields, ...t.optional_fields]) expect(f.description).not.toBe("");
  });

  it("video: types, ranges, allowed values and units", () => {
    const video = templates.find((t) => t.template_id === "video")!;
    const spec = (n: string) => [...video.required_fields, ...video.optional_fields].find((f) => f.field_name === n)!;
    expect(video.name).toBe("视频场景");
    expect(video.description).toBe("短视频、vlog、视频课程等");
    expect(spec("duration")).toMatchObject({
      field_type: "integer",
      min_value: 0,
      max_value: null,
      unit: "seconds",
      description: "视频总时长（秒）",
    });
    expect(spec("completion_rate")).toMatchObject({ field_type: "number", min_value: 0, max_value: 1 });
    expect(spec("video_quality")).toMatchObject({
      field_type: "string",
      allowed_values: ["360p", "720p", "1080p", "4K"],
    });
    expect(spec("is_fullscreen")).toMatchObject({ field_type: "boolean", required: true });
    expect(spec("playback_speed")).toMatchObject({ field_type: "number", min_value: 0.25, max_value: 4 });
    expect(spec("seek_positions")).toMatchObject({ field_type: "array", required: false, unit: "seconds" });
    expect(video.optional_fields.map((f) => f.field_name)).toEqual(["is_muted", "seek_positions", "buffer_time"]);
  });

  it("personalized: a map field is an object", () => {
    const p = templates.find((t) => t.template_id === "personalized")!;
    expect(p.optional_fields.find((f) => f.field_name === "feature_importance")).toMatchObject({
      field_type: "object",
      min_value: 0,
      max_value: 1,
    });
  });

  it("custom has no fields", () => {
    const custom = templates.find((t) => t.template_id === "custom")!;
    expect(custom).toMatchObject({
      data_field: "custom_data",
      required_fields: [],
      optional_fields: [],
      recommended_actions: [],
    });
  });

  it("gen/templates matches a fresh run (make generate)", async () => {
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(repoRoot, "gen/templates/scenario_templates.json"), "utf8")).toBe(
      files.get("scenario_templates.json"),
    );
    expect(readFileSync(join(repoRoot, "gen/templates/scenario_templates.ts"), "utf8")).toBe(
      files.get("scenario_templates.ts"),
    );
  });

  it("the generated module exports scenarioTemplates and templateById", async () => {
    const mod = (await import(
      join(repoRoot, "gen/templates/scenario_templates.ts")
    )) as typeof import("../../gen/templates/scenario_templates.js");
    expect(mod.scenarioTemplates).toEqual(templates);
    expect(mod.templateById("video")?.data_field).toBe("video_data");
    expect(mod.templateById("nope")).toBeUndefined();
    expect(mod.isTemplateId("custom")).toBe(true);
  });
});
