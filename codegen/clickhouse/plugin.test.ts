import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compareGolden, fixtureRequest, repoRequest, repoRoot, runPlugin } from "../common/plugin-harness.js";
import { parseManifest } from "./manifest.js";
import { plugin } from "./plugin.js";

const testdata = "codegen/clickhouse/testdata";
const options = "order_by=tenant:at:id,ttl_days=30,kafka_broker_list=kafka-1:9092|kafka-2:9092";
const dirs: string[] = [];

/** A directory holding `manifest` as the previous events.columns.json. */
function previousDir(manifest: string): string {
  const dir = mkdtempSync(join(tmpdir(), "clickhouse-previous-"));
  dirs.push(dir);
  writeFileSync(join(dir, "events.columns.json"), manifest);
  return dir;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function expectGolden(dir: string, files: Map<string, string>) {
  const diffs = compareGolden(dir, files);
  for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
  expect(diffs).toEqual([]);
}

describe("protoc-gen-tracking-clickhouse golden", () => {
  const v1 = runPlugin(plugin, fixtureRequest(`${testdata}/protos-v1`, options));
  const v1Manifest = v1.get("events.columns.json") ?? "";
  // v2 generated against the manifest v1 committed, as `make generate` does after a proto change.
  const v2 = runPlugin(
    plugin,
    fixtureRequest(`${testdata}/protos-v2`, `${options},previous_dir=${previousDir(v1Manifest)}`),
  );

  it("matches the golden files: version 1 (no previous manifest)", () => {
    expectGolden(`${testdata}/golden/v1`, v1);
    expect([...v1.keys()].sort()).toEqual([
      "events.columns.json",
      "events.sql",
      "events_kafka.sql",
      "queries/events_by_action_and_scenario.sql",
      "queries/events_data_freshness.sql",
      "queries/events_kafka_ingest.sql",
      "queries/events_tenant_volume.sql",
    ]);
  });

  it("version 2 is a change buf breaking accepts (the FILE rules of make breaking); the reverse is not", () => {
    const dir = mkdtempSync(join(tmpdir(), "clickhouse-breaking-"));
    dirs.push(dir);
    const buf = join(repoRoot, "node_modules/.bin/buf");
    const image = (v: string) => {
      const modules = [{ path: `${testdata}/protos-${v}` }, { path: "proto" }, { path: ".tools/proto-deps" }];
      const out = join(dir, `${v}.binpb`);
      const config = JSON.stringify({ version: "v2", modules });
      const args = ["build", ".", "--config", config, "--path", `${testdata}/protos-${v}/fixture`, "-o", out];
      execFileSync(buf, args, { cwd: repoRoot, stdio: "pipe" });
      return out;
    };
    const [v1Image, v2Image] = [image("v1"), image("v2")];
    const breaking = (input: string, against: string) => {
      try {
        execFileSync(buf, ["breaking", input, "--against", against], { cwd: repoRoot, stdio: "pipe" });
      } catch (e) {
        const err = e as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(`${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`);
      }
    };
    expect(() => breaking(v2Image, v1Image)).not.toThrow();
    expect(() => breaking(v1Image, v2Image)).toThrow(/deleted/);
  });

  it("matches the golden files: version 2 migrates version 1 with ALTER TABLE … ADD COLUMN", () => {
    expectGolden(`${testdata}/golden/v2`, v2);
    const migration = v2.get("migrations/events_0002.sql") ?? "";
    expect(migration).toContain("ALTER TABLE `events`");
    for (const [col, after] of [
      ["alpha_fresh", "alpha_born"],
      ["beta_price", "alpha_fresh"],
      ["note", "extra"],
    ]) {
      expect(migration).toMatch(new RegExp(`ADD COLUMN IF NOT EXISTS \`${col}\` .* AFTER \`${after}\``));
    }
    expect(migration).not.toContain("CREATE");
    const m = parseManifest(v2.get("events.columns.json") ?? "", "v2");
    expect(m.version).toBe(2);
    expect(m.columns.filter((c) => c.since === 2).map((c) => c.name)).toEqual(["alpha_fresh", "beta_price", "note"]);
  });

  it("a fresh version 2 has the migrated table's columns in the same order; regenerating is stable", () => {
    const fresh = runPlugin(plugin, fixtureRequest(`${testdata}/protos-v2`, options));
    const names = (text: string) => parseManifest(text, "m").columns.map((c) => `${c.name} ${c.type}`);
    expect(names(fresh.get("events.columns.json") ?? "")).toEqual(names(v2.get("events.columns.json") ?? ""));
    expect(fresh.has("migrations/events_0002.sql")).toBe(false);
    const again = runPlugin(
      plugin,
      fixtureRequest(
        `${testdata}/protos-v2`,
        `${options},previous_dir=${previousDir(v2.get("events.columns.json") ?? "")}`,
      ),
    );
    expect(again).toEqual(v2);
  });

  it("keeps a column whose field left the proto (retired), and refuses a changed type", () => {
    const v2Manifest = v2.get("events.columns.json") ?? "";
    const back = runPlugin(
      plugin,
      fixtureRequest(`${testdata}/protos-v1`, `${options},previous_dir=${previousDir(v2Manifest)}`),
    );
    const m = parseManifest(back.get("events.columns.json") ?? "", "back");
    expect(m.version).toBe(2);
    expect(m.columns.filter((c) => c.retired).map((c) => c.name)).toEqual(["alpha_fresh", "beta_price", "note"]);
    expect(back.get("events.sql")).toContain("`note` Nullable(String) COMMENT 'Retired");
    expect(back.get("events_kafka.sql")).not.toContain("`note`");
    const changed = v1Manifest.replace(
      '"name":"count","type":"Nullable(UInt32)"',
      '"name":"count","type":"Nullable(Int64)"',
    );
    expect(changed).not.toBe(v1Manifest);
    expect(() =>
      runPlugin(plugin, fixtureRequest(`${testdata}/protos-v1`, `${options},previous_dir=${previousDir(changed)}`)),
    ).toThrow(/count: type changed from Nullable\(Int64\) to Nullable\(UInt32\)/);
  });

  it("derives the Kafka topics from the topic template and the key from order_by", () => {
    const kafka = v1.get("events_kafka.sql") ?? "";
    expect(kafka).toContain("kafka_topic_list = '^events\\\\.[a-z]+$'");
    expect(kafka).toContain("kafka_broker_list = 'kafka-1:9092,kafka-2:9092'");
    expect(v1.get("events.sql")).toContain("ORDER BY (`tenant`, `at`, `id`)");
    expect(v1.get("events.sql")).toContain("TTL toDateTime(`at`) + INTERVAL 30 DAY");
    expect(() => runPlugin(plugin, fixtureRequest(`${testdata}/protos-v1`, "order_by=tenant:at"))).toThrow(
      /must contain the event id id/,
    );
    expect(() => runPlugin(plugin, fixtureRequest(`${testdata}/protos-v1`, "order_by=count:id"))).toThrow(
      /count is Nullable\(UInt32\)/,
    );
    expect(() => runPlugin(plugin, fixtureRequest(`${testdata}/protos-v1`, "no_such=1"))).toThrow(/unknown option/);
  });

  it("generates behavior_events for the repo's BehaviorEvent", () => {
    const repo = runPlugin(plugin, repoRequest("order_by=tenant_id:scenario_id:timestamp:event_id"));
    expect(repo.get("behavior_events.sql")).toContain("ORDER BY (`tenant_id`, `scenario_id`, `timestamp`, `event_id`)");
    expect(repo.get("behavior_events_kafka.sql")).toContain("kafka_topic_list = '^user-behaviors-[A-Za-z0-9_-]+$'");
    const m = parseManifest(repo.get("behavior_events.columns.json") ?? "", "repo");
    const types = Object.fromEntries(m.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({
      action_type: "LowCardinality(String)",
      timestamp: "DateTime64(3, 'UTC')",
      context_device_type: "LowCardinality(String)",
      scenario_type: "LowCardinality(String)",
      video_duration: "Nullable(Int32)",
      video_quality: "Nullable(String)",
      news_publish_time: "Nullable(DateTime64(3, 'UTC'))",
      personalized_feature_importance: "Map(String, Float64)",
      custom_data: "Map(String, String)",
      extra_data: "Map(String, String)",
    });
  });
});
