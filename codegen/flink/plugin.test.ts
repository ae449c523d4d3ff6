import { describe, expect, it } from "vitest";
import { compareGolden, fixtureRequest, repoRequest, runPlugin } from "../common/plugin-harness.js";
import { plugin } from "./plugin.js";

const testdata = "codegen/flink/testdata";
// The fixture every wire-model plugin shares: the Flink row type follows the same model.
const sharedFixtures = "codegen/common/testdata/protos";

describe("protoc-gen-tracking-flink golden", () => {
  const files = runPlugin(plugin, fixtureRequest(sharedFixtures));
  const repo = runPlugin(plugin, repoRequest());

  it("matches the golden files for the fixture protos", () => {
    const diffs = compareGolden(`${testdata}/golden`, files);
    for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
    expect(diffs).toEqual([]);
  });

  it("maps every wire kind of the fixture to its Flink type", () => {
    // Only the kafka message gets a table; no epoch_ms field, so no event time and no example job.
    expect([...files.keys()]).toEqual(["events.sql"]);
    const sql = files.get("events.sql") ?? "";
    for (const column of [
      "`act` STRING", // enum: wire name
      "`at` BIGINT", // int64
      "`count` BIGINT", // uint32 exceeds INT
      "`score` DOUBLE",
      "`flag` BOOLEAN",
      "`acts` ARRAY<STRING>",
      "`weights` MAP<STRING, DOUBLE>",
      "`extra` MAP<STRING, STRING>", // google.protobuf.Struct
      "`bigs` ARRAY<BIGINT>",
      "`free_data` MAP<STRING, STRING>",
    ]) {
      expect(sql).toContain(column);
    }
    expect(sql).toContain("`trail` ARRAY<ROW<\n    `x` INT 'X.',\n    `y` DOUBLE 'Y.'\n  >>");
    expect(sql).toContain("'topic-pattern' = 'events\\..*\\..*'");
    expect(sql).toContain("WHEN `data`.`alpha_data` IS NOT NULL THEN 'alpha'");
    expect(sql).not.toContain("WATERMARK");
  });

  it("generates the repo's source table and example job from the kafka message", () => {
    expect([...repo.keys()].sort()).toEqual(["behavior_event_counts_per_minute.sql", "behavior_events.sql"]);
    const source = repo.get("behavior_events.sql") ?? "";
    expect(source).toContain("'connector' = 'kafka'");
    expect(source).toContain("'topic-pattern' = 'user-behaviors-.*'");
    expect(source).toContain("'format' = 'json'");
    expect(source).toContain("'json.ignore-parse-errors' = 'true'");
    expect(source).toContain("`extra_data` MAP<STRING, STRING>");
    expect(source).toContain("`event_time` AS TO_TIMESTAMP_LTZ(`timestamp`, 3)");
    expect(source).toContain("WATERMARK FOR `event_time` AS `event_time` - INTERVAL '5' SECOND");
    // One nested ROW per scenario, in oneof order, and the free-form one as a map.
    const scenarios = [...source.matchAll(/^ {4}`(\w+_data)` (ROW|MAP)/gm)].map((m) => m[1]);
    expect(scenarios).toEqual([
      "video_data",
      "ecommerce_data",
      "news_data",
      "music_data",
      "education_data",
      "content_data",
      "social_data",
      "personalized_data",
      "custom_data",
    ]);
    expect(source).toContain("`watch_duration` INT '观看时长（秒） Unit: seconds.'");
    const job = repo.get("behavior_event_counts_per_minute.sql") ?? "";
    expect(job).toContain(
      "FROM TABLE(TUMBLE(TABLE `behavior_events`, DESCRIPTOR(`event_time`), INTERVAL '1' MINUTE))\n" +
        "GROUP BY window_start, window_end, `tenant_id`, `scenario_type`, `action_type`;",
    );
  });
});
