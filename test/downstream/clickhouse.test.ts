/**
 * The generated ClickHouse DDL (gen/clickhouse) proven on ClickHouse itself (chDB 26.9, see
 * chdb.ts) with what the server really publishes: events tracked over REST and gRPC on a real
 * server with the Kafka sink are read back from the real topic (shared broker, unique tenant),
 * together with messages a direct Kafka writer put there (one that does not fit the columns, one
 * with keys from a newer proto), and inserted as JSONEachRow into the generated queue table —
 * its Kafka engine swapped for Null, the only change, with the settings the Kafka engine gives its
 * parser — so the generated materialized view and ReplacingMergeTree table are the ones tested.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { behaviorEventFromWire } from "../../gen/validator/recommender/v1/behavior_validator.js";
import type { BehaviorEventWire } from "../../gen/validator/recommender/v1/behavior_wire.js";
import { createKafkaPublisher } from "../../sdk/common/kafka-publisher.js";
import { startTestServer, type TestServer, untilSinkAvailable } from "../helpers/server.js";
import { ensureMainBroker, readTopic, uniqueTenant } from "../kafka/broker.js";
import {
  ChdbError,
  ChdbSession,
  genFile,
  genSqlFiles,
  kafkaInsertSettings,
  kafkaSettings,
  nullEngineDdl,
  statements,
} from "./chdb.js";

const TABLE = "behavior_events";
const N = 24;
/** Events inserted a second time, as a Kafka consumer redelivers after a lost commit. */
const REDELIVERED = 5;

type Scenario = { member: string; type: string; data: Record<string, unknown>; actions: string[] };
const SCENARIOS: Scenario[] = [
  {
    member: "video_data",
    type: "video",
    data: {
      duration: 180,
      watch_duration: 175,
      completion_rate: 0.97,
      video_quality: "1080p",
      seek_positions: [30, 60],
    },
    actions: ["play_end", "click"],
  },
  {
    member: "ecommerce_data",
    type: "ecommerce",
    data: { price: 99.5, currency: "CNY", quantity: 2, product_tags: ["new", "hot"], sku_id: "sku_1" },
    actions: ["add_cart", "purchase"],
  },
  {
    member: "news_data",
    type: "news",
    data: {
      read_duration: 42,
      read_progress: 0.5,
      keywords: ["a"],
      is_breaking_news: true,
      publish_time: 1730304000123,
    },
    actions: ["read"],
  },
  {
    member: "social_data",
    type: "social",
    data: { follower_count: 9007199254740991, is_verified: false, common_interests: ["go"] },
    actions: ["follow"],
  },
  {
    member: "personalized_data",
    type: "personalized",
    data: { personalization_score: 0.8, feature_importance: { recency: 0.25, ctr: 0.75 } },
    actions: ["dismiss"],
  },
  { member: "custom_data", type: "custom", data: { level: 3, tags: ["x"], nested: { ok: true } }, actions: ["click"] },
];

/** Event i of the run: scenario, action and transport vary with i; odd ones carry their own event_id/timestamp. */
function event(tenant: string, i: number): BehaviorEventWire {
  const s = SCENARIOS[i % SCENARIOS.length]!;
  const e: Record<string, unknown> = {
    tenant_id: tenant,
    scenario_id: `${s.type}_feed`,
    user_id: `user_${i % 7}`,
    item_id: `item_${i}`,
    action_type: s.actions[i % s.actions.length],
    context: { device_type: i % 2 ? "mobile" : "pc", os: "iOS", location: "Beijing" },
    position: i,
    scenario_data: { [s.member]: s.data },
  };
  if (i % 4 === 0) e.extra_data = { source: "ch", n: i, nested: { ok: true } };
  if (i % 2 === 1) {
    e.event_id = `evt_ch_${i}_${tenant.slice(-6)}`;
    e.timestamp = Date.now() - 60_000 + i;
  }
  return e as unknown as BehaviorEventWire;
}

describe("ClickHouse (chDB): the generated DDL loads what the server publishes", () => {
  let t: TestServer;
  let ch: ChdbSession;
  let tenant = "";
  let topic = "";
  const acked = new Map<string, BehaviorEventWire>();
  /** The Kafka messages as read from the topic, by event_id. */
  const published = new Map<string, Record<string, unknown>>();
  let lines: string[] = [];
  const brokenIds = ["evt_broken_ts", "evt_broken_duration"];
  const futureId = "evt_future_keys";

  beforeAll(async () => {
    const [bootstrap, session] = await Promise.all([ensureMainBroker(), ChdbSession.start()]);
    ch = session;
    tenant = uniqueTenant("ch");
    topic = `user-behaviors-${tenant}`;
    t = await startTestServer({ sink: "kafka", kafka: { brokers: [bootstrap], clientId: "clickhouse-test" } });
    await untilSinkAvailable(t);
    // Half over REST, half over gRPC; only acknowledged events count.
    const grpc = createClient(BehaviorService, createGrpcTransport({ baseUrl: t.grpcUrl }));
    for (let i = 0; i < N; i++) {
      const wire = event(tenant, i);
      if (i < N / 2) {
        const res = await fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(wire),
        });
        const body = (await res.json()) as { success: boolean; event_id: string };
        expect(res.status, JSON.stringify(body)).toBe(200);
        acked.set(body.event_id, wire);
      } else {
        const res = await grpc.trackEvent({ event: behaviorEventFromWire(wire) });
        expect(res.success).toBe(true);
        acked.set(res.eventId, wire);
      }
    }
    // A direct Kafka writer: a string where a number belongs (top level and in a scenario), and a
    // message with keys a newer proto added (a field and a scenario) that this schema ignores.
    const base = { tenant_id: tenant, scenario_id: "direct", user_id: "writer", item_id: "i", action_type: "click" };
    const direct = [
      { ...base, event_id: brokenIds[0], timestamp: "yesterday", context: { device_type: "pc" } },
      {
        ...base,
        event_id: brokenIds[1],
        timestamp: Date.now(),
        context: { device_type: "pc" },
        scenario_data: { video_data: { duration: "long" } },
      },
      {
        ...base,
        event_id: futureId,
        timestamp: Date.now(),
        context: { device_type: "tablet", screen: "oled" },
        new_top_level: 1,
        scenario_data: { live_data: { viewer_count: 5 } },
      },
    ];
    const pub = createKafkaPublisher({ brokers: [bootstrap], clientId: "clickhouse-test-direct" });
    try {
      await pub.publish(direct.map((d) => ({ topic, key: "writer", value: JSON.stringify(d) })));
    } finally {
      await pub.close();
    }
    const records = await readTopic(bootstrap, topic, N + direct.length, 30_000);
    expect(records).toHaveLength(N + direct.length);
    lines = records.map((r) => r.value);
    for (const v of lines) {
      const m = JSON.parse(v) as Record<string, unknown>;
      published.set(m.event_id as string, m);
    }
    // Broken messages in the middle of the batch: what follows them must load too.
    lines.sort((a, b) => Number(a.includes("evt_broken")) - Number(b.includes("evt_broken")));
    lines.splice(N / 2, 0, ...lines.splice(-2));
  }, 600_000);

  afterAll(async () => {
    await t?.stop(true);
    await ch?.close();
  });

  it("every generated statement parses unmodified; the Kafka table's settings pass ClickHouse's checks", async () => {
    const files = genSqlFiles();
    expect(files).toEqual(
      expect.arrayContaining([`${TABLE}.sql`, `${TABLE}_kafka.sql`, `queries/${TABLE}_by_action_and_scenario.sql`]),
    );
    for (const f of files) {
      for (const stmt of statements(genFile(f))) {
        // The ready queries take {window_hours:UInt32}.
        const ast = await ch.query(`EXPLAIN AST ${stmt}`, "TSV", { window_hours: 24 });
        expect(ast.data, f).toMatch(/Query/);
      }
    }
    // chDB cannot start a Kafka consumer, but it checks the setting names and values first: an
    // unknown setting is "Code: 115 UNKNOWN_SETTING", a bad value "Code: 27"; only then Code 49.
    await ch.query("CREATE DATABASE IF NOT EXISTS parse_only");
    const kafka = genFile(`${TABLE}_kafka.sql`);
    const create = statements(kafka).find((s) => s.includes("ENGINE = Kafka"));
    expect(create).toBeDefined();
    const inParseDb = create!.replace("CREATE TABLE `", "CREATE TABLE parse_only.`");
    const err = await ch.query(inParseDb).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err !== undefined) {
      expect(err).toBeInstanceOf(ChdbError);
      expect(String(err)).toMatch(/Code: 49\..*Shutdown was called/);
    }
    const bogus = inParseDb.replace("kafka_format =", "kafka_no_such_setting = 1,\n    kafka_format =");
    await expect(ch.query(bogus.replace("CREATE TABLE parse_only.`", "CREATE TABLE parse_only.`x_"))).rejects.toThrow(
      /UNKNOWN_SETTING|Unknown setting/,
    );
    // The topic list is one regular expression (librdkafka subscribes to a `^…` name as one) matching every
    // tenant topic, this run's included, and nothing else.
    const topics = kafkaSettings(kafka).get("kafka_topic_list") ?? "";
    expect(topics).toMatch(/^'\^[^,]*'$/);
    const re = new RegExp(topics.slice(1, -1).replace(/\\\\/g, "\\"));
    expect(re.test(topic)).toBe(true);
    for (const other of ["user-behaviors-", "user-behaviors-a.b", "x-user-behaviors-a", "user-behaviors-a,b"])
      expect(re.test(other), other).toBe(false);
    const format = kafkaSettings(kafka).get("kafka_format")?.replace(/'/g, "");
    const fmt = await ch.rows(`SELECT name FROM system.formats WHERE name = '${format}' AND is_input`);
    expect(fmt).toHaveLength(1);
  });

  it("loads every acknowledged event once after FINAL; a broken message is skipped and counted, not fatal", async () => {
    await ch.query("CREATE DATABASE IF NOT EXISTS downstream");
    await ch.query("USE downstream");
    for (const stmt of statements(genFile(`${TABLE}.sql`))) await ch.query(stmt);
    const kafka = genFile(`${TABLE}_kafka.sql`);
    for (const stmt of statements(nullEngineDdl(kafka))) await ch.query(stmt);
    await ch.query(`SYSTEM STOP MERGES ${TABLE}`);
    const settings = kafkaInsertSettings(kafka);
    expect(settings).toContain("input_format_allow_errors_num = 1000");

    // Without the skip the broken message stops the batch (what kafka_skip_broken_messages prevents).
    await expect(
      ch.query(
        `INSERT INTO ${TABLE}_queue SETTINGS input_format_allow_errors_num = 0 FORMAT JSONEachRow\n${lines.join("\n")}`,
      ),
    ).rejects.toThrow(/Cannot parse|CANNOT_PARSE|Cannot read/);
    expect(await count(`SELECT count() AS n FROM ${TABLE}`)).toBe(0);

    // ClickHouse records each skipped message (one CSV line: time, database, table, row, …).
    const errors = join(ch.dataDir, "skipped.csv");
    await ch.query(
      `INSERT INTO ${TABLE}_queue SETTINGS ${settings}, input_format_record_errors_file_path = '${errors}' FORMAT JSONEachRow\n${lines.join("\n")}`,
    );
    const loaded = await count(`SELECT count() AS n FROM ${TABLE}`);
    const recorded = readFileSync(errors, "utf8").trim().split("\n");
    console.log(`[clickhouse] ${lines.length} messages → ${loaded} rows, ${recorded.length} skipped and recorded`);
    expect(lines.length - loaded).toBe(brokenIds.length);
    expect(recorded).toHaveLength(brokenIds.length);
    // The broken ones sit in the middle of the batch (rows N/2+1 and N/2+2, 1-based): what follows loaded.
    expect(recorded.map((r) => r.split(",")[3])).toEqual([String(N / 2 + 1), String(N / 2 + 2)]);
    // Redelivery: the first messages once more.
    const again = lines.filter((l) => !l.includes("evt_broken")).slice(0, REDELIVERED);
    await ch.query(`INSERT INTO ${TABLE}_queue SETTINGS ${settings} FORMAT JSONEachRow\n${again.join("\n")}`);
    expect(await count(`SELECT count() AS n FROM ${TABLE}`)).toBe(loaded + REDELIVERED);

    const ids = await ch.rows<{ event_id: string; n: number }>(
      `SELECT event_id, count() AS n FROM ${TABLE} FINAL GROUP BY event_id ORDER BY event_id`,
    );
    const expected = [...acked.keys(), futureId].sort();
    expect(ids.map((r) => r.event_id)).toEqual(expected);
    expect(ids.every((r) => Number(r.n) === 1)).toBe(true);
    // Merges collapse the copies on disk too.
    await ch.query(`SYSTEM START MERGES ${TABLE}`);
    await ch.query(`OPTIMIZE TABLE ${TABLE} FINAL`);
    expect(await count(`SELECT count() AS n FROM ${TABLE}`)).toBe(expected.length);
  });

  it("typed columns: numbers are numbers, enums wire names, the scenario's values in its columns", async () => {
    const rows = await ch.rows<Record<string, unknown>>(
      `SELECT *, toUnixTimestamp64Milli(timestamp) AS ts_ms, toUnixTimestamp64Milli(news_publish_time) AS publish_ms
       FROM ${TABLE} FINAL WHERE tenant_id = {tenant:String}
       SETTINGS output_format_json_quote_64bit_integers = 0`,
      { tenant },
    );
    expect(rows).toHaveLength(acked.size + 1);
    const scenarioColumns = Object.keys(rows[0] ?? {}).filter((c) =>
      SCENARIOS.some((s) => c.startsWith(`${s.type}_`) || c === s.member),
    );
    for (const row of rows) {
      const id = row.event_id as string;
      const msg = published.get(id)!;
      expect(row.ts_ms).toBe(msg.timestamp);
      expect(typeof row.position === "number" || id === futureId).toBe(true);
      if (id === futureId) {
        expect(row.scenario_type).toBe("");
        expect(row.context_device_type).toBe("tablet");
        continue;
      }
      const sent = acked.get(id)!;
      expect(row.action_type).toBe(sent.action_type);
      expect(row.context_device_type).toBe(sent.context.device_type);
      expect(row.context_os).toBe("iOS");
      expect(row.position).toBe(sent.position);
      expect(row.scenario_id).toBe(sent.scenario_id);
      const s = SCENARIOS.find((x) => sent.scenario_data && x.member in sent.scenario_data)!;
      expect(row.scenario_type).toBe(s.type);
      // The scenario's own columns hold its values; every other scenario's are NULL or empty.
      const own = new Set<string>();
      if (s.type === "custom") {
        own.add("custom_data");
        expect(row.custom_data).toEqual({ level: "3", tags: '["x"]', nested: '{"ok":true}' });
      } else {
        for (const [k, v] of Object.entries(s.data)) {
          const col = k.startsWith(`${s.type}_`) ? k : `${s.type}_${k}`;
          own.add(col);
          if (col === "news_publish_time") expect(row.publish_ms).toBe(v);
          else expect(row[col], col).toEqual(v);
        }
      }
      for (const c of scenarioColumns.filter((c) => !own.has(c))) {
        const v = row[c];
        expect(
          v === null ||
            (Array.isArray(v) && v.length === 0) ||
            (typeof v === "object" && Object.keys(v as object).length === 0),
          `${id} ${c}=${JSON.stringify(v)}`,
        ).toBe(true);
      }
      if (sent.extra_data)
        expect(row.extra_data).toEqual({
          source: "ch",
          n: String(Number((sent.extra_data as { n: number }).n)),
          nested: '{"ok":true}',
        });
      else expect(row.extra_data).toEqual({});
    }
    const types = await ch.rows<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = 'downstream' AND table = '${TABLE}' AND name IN ('action_type', 'timestamp', 'video_duration', 'social_follower_count')`,
    );
    expect(Object.fromEntries(types.map((r) => [r.name, r.type]))).toEqual({
      action_type: "LowCardinality(String)",
      timestamp: "DateTime64(3, 'UTC')",
      video_duration: "Nullable(Int32)",
      social_follower_count: "Nullable(Int64)",
    });
  });

  it("the ready queries return the expected counts", async () => {
    const params = { window_hours: 24 };
    const sql = (q: string) => statements(genFile(`queries/${TABLE}_${q}.sql`))[0]!;
    const byAction = (await ch.rows<Record<string, string | number>>(sql("by_action_and_scenario"), params)).filter(
      (r) => r.tenant_id === tenant,
    );
    const want = new Map<string, number>();
    for (const e of acked.values()) {
      const s = SCENARIOS.find((x) => e.scenario_data && x.member in e.scenario_data)!;
      const k = `${e.scenario_id}|${s.type}|${e.action_type}`;
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    want.set("direct||click", 1);
    const got = new Map(
      byAction.map((r) => [`${r.scenario_id}|${r.scenario_type}|${r.action_type}`, Number(r.events)]),
    );
    expect(got).toEqual(want);

    const volume = (await ch.rows<Record<string, string | number>>(sql("tenant_volume"), params)).filter(
      (r) => r.tenant_id === tenant,
    );
    const users = new Set([...acked.values()].map((e) => e.user_id)).add("writer");
    expect(volume).toHaveLength(1);
    expect(Number(volume[0]!.events)).toBe(acked.size + 1);
    expect(Number(volume[0]!.users)).toBe(users.size);

    const fresh = (await ch.rows<Record<string, string | number>>(sql("data_freshness"), params)).filter(
      (r) => r.tenant_id === tenant,
    );
    expect(fresh).toHaveLength(1);
    expect(Number(fresh[0]!.rows)).toBe(acked.size + 1);
    const newest = Math.max(
      ...[...published.values()].filter((m) => typeof m.timestamp === "number").map((m) => m.timestamp as number),
    );
    const last = await count(
      `SELECT toUnixTimestamp64Milli(max(timestamp)) AS n FROM ${TABLE} WHERE tenant_id = {tenant:String}`,
      { tenant },
    );
    expect(last).toBe(newest);
    expect(Number(fresh[0]!.ms_since_last_ingest)).toBeGreaterThanOrEqual(0);

    const kafkaCounters = await ch.rows<{ event: string }>(sql("kafka_ingest"));
    expect(kafkaCounters.map((r) => r.event)).toContain("KafkaMessagesFailed");
  });

  async function count(query: string, params?: Record<string, string | number>): Promise<number> {
    const r = await ch.rows<{ n: number | string }>(query, params);
    return Number(r[0]?.n);
  }
});
