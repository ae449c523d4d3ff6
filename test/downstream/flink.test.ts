/**
 * The generated Flink SQL (gen/flink) on a real Flink: a real server publishes events tracked over
 * REST (single and batch) and gRPC to the shared broker, a direct writer adds messages that do not
 * fit the row type, and scripts/flink/run-sql.sh runs the generated source table and example job
 * unmodified in a local Flink 2.x mini-cluster (Maven Central jars, cached in .tools/flink). The
 * only additions are what a deployment sets: ALTER TABLE of the connection, this tenant's topic,
 * a bounded read ('scan.bounded.mode' = 'latest-offset', so the job ends) and the sink topic, plus
 * a print sink that echoes nested row fields so the row type is checked against what was sent.
 *
 * Checks: the job finishes; its per-minute counts by tenant, scenario and action equal what was
 * sent, window by window. Bad messages do not stop it, as the generated DDL says: a value that does
 * not fit its column reads as NULL and the event still counts; a message that is not JSON, or whose
 * timestamp does not read, is skipped (messages on the topic − rows read = skipped).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Producer, stringSerializers } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { behaviorEventFromWire } from "../../gen/validator/recommender/v1/behavior_validator.js";
import type { BehaviorEventWire } from "../../gen/validator/recommender/v1/behavior_wire.js";
import { runOk } from "../helpers/run.js";
import { startTestServer, type TestServer, untilSinkAvailable } from "../helpers/server.js";
import { ensureMainBroker, ROOT, readTopic, topicEndOffset, uniqueTenant } from "../kafka/broker.js";

const SOURCE = "behavior_events";
const JOB = "behavior_event_counts_per_minute";
const MINUTE = 60_000;

/** One good event per (transport, index): scenario, action and minute vary so that windows and groups differ. */
function event(tenant: string, i: number, minuteStart: number): { wire: BehaviorEventWire; scenario: string | null } {
  const base: BehaviorEventWire = {
    tenant_id: tenant,
    scenario_id: "feed",
    user_id: `user_${i % 5}`,
    item_id: `item_${i}`,
    action_type: "click",
    // Two minutes, mixed across scenarios and actions; the offset stays inside the minute.
    timestamp: minuteStart + (i % 3 === 0 ? 0 : MINUTE) + 1_000 + i * 10,
    context: { device_type: i % 3 === 0 ? "pc" : "mobile", os: "iOS" },
    position: i,
    extra_data: { source: "flink-test", n: i, nested: { ok: true } },
  };
  switch (i % 4) {
    case 0:
      base.action_type = i % 8 === 0 ? "play" : "impression";
      base.scenario_data = {
        video_data: { duration: 180, watch_duration: 100 + i, completion_rate: 0.5, seek_positions: [1, 2, 3] },
      };
      return { wire: base, scenario: "video" };
    case 1:
      base.action_type = "add_cart";
      base.scenario_data = { ecommerce_data: { price: 9.5 + i, currency: "CNY", quantity: 1 } };
      return { wire: base, scenario: "ecommerce" };
    case 2:
      base.scenario_data = { custom_data: { level: "gold", score: 3 } };
      return { wire: base, scenario: "custom" };
    default:
      return { wire: base, scenario: null };
  }
}

interface Sent {
  wire: BehaviorEventWire;
  scenario: string | null;
  eventId: string;
}

describe("generated Flink SQL on a local Flink mini-cluster over the real topics", () => {
  let bootstrap: string;
  let t: TestServer;
  let tenant: string;
  let topic: string;
  let dir: string;
  let minuteStart: number;
  const sent: Sent[] = [];
  let badCount = 0;
  /** The event the bad messages are copies of (read back with the bad values as NULL). */
  let badBase: BehaviorEventWire | undefined;

  beforeAll(async () => {
    // Jars from Maven Central into .tools/flink, once (stamped with the pom's hash).
    const f0 = performance.now();
    await runOk("bash", [join(ROOT, "scripts/flink/fetch.sh")], { timeoutMs: 280_000 });
    console.log(`[flink] scripts/flink/fetch.sh took ${((performance.now() - f0) / 1000).toFixed(1)} s`);
    bootstrap = await ensureMainBroker();
    tenant = uniqueTenant("flink");
    topic = `user-behaviors-${tenant}`;
    dir = mkdtempSync(join(tmpdir(), "flink-test-"));
    // Whole minutes a few minutes back, so both windows lie in the past.
    minuteStart = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    t = await startTestServer({ sink: "kafka", kafka: { brokers: [bootstrap], clientId: "flink-test-server" } });
    await untilSinkAvailable(t);
  }, 300_000);

  afterAll(async () => {
    await t?.stop(true);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the server publishes events tracked over REST (single, batch) and gRPC", async () => {
    let i = 0;
    // REST, one by one.
    for (; i < 8; i++) {
      const e = event(tenant, i, minuteStart);
      const res = await fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(e.wire),
      });
      const body = (await res.json()) as { success: boolean; event_id: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      sent.push({ ...e, eventId: body.event_id });
    }
    // REST batch.
    const batch = Array.from({ length: 8 }, (_, k) => event(tenant, i + k, minuteStart));
    const res = await fetch(`${t.baseUrl}/api/v1/behaviors/track/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: batch.map((e) => e.wire) }),
    });
    const body = (await res.json()) as { success: boolean; results: { index: number; event_id: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.success).toBe(true);
    for (const r of body.results) sent.push({ ...(batch[r.index] as (typeof batch)[number]), eventId: r.event_id });
    i += batch.length;
    // gRPC: the same wire events as protobuf messages (the generated codec converts them).
    const client = createClient(BehaviorService, createGrpcTransport({ baseUrl: t.grpcUrl }));
    for (const end = i + 8; i < end; i++) {
      const e = event(tenant, i, minuteStart);
      const r = await client.trackEvent({ event: behaviorEventFromWire(e.wire) });
      expect(r.success).toBe(true);
      sent.push({ ...e, eventId: r.eventId });
    }
    expect(sent).toHaveLength(24);
    expect(new Set(sent.map((s) => s.eventId)).size).toBe(24);
  }, 60_000);

  it("a direct writer adds messages that do not fit the row type", async () => {
    const good = event(tenant, 100, minuteStart).wire;
    // "share" is never sent above, so the bad messages that count show up as their own rows.
    const bad = [
      { ...good, event_id: "evt_bad_position", action_type: "share", position: "third" }, // string for INT
      { ...good, event_id: "evt_bad_timestamp", action_type: "share", timestamp: "yesterday" }, // string for BIGINT
      {
        ...good,
        event_id: "evt_bad_nested",
        action_type: "share",
        scenario_data: { video_data: { duration: "long" } }, // string for a nested INT
      },
    ].map((v) => JSON.stringify(v));
    bad.push("not json at all");
    badBase = good;
    badCount = bad.length;
    const producer = new Producer({
      clientId: "flink-test-direct",
      bootstrapBrokers: [bootstrap],
      serializers: stringSerializers,
      autocreateTopics: false,
    });
    try {
      await producer.send({ messages: bad.map((value) => ({ topic, key: "user_bad", value })) });
    } finally {
      await producer.close();
    }
    expect(await topicEndOffset(bootstrap, topic)).toBe(sent.length + badCount);
  }, 60_000);

  it("the generated source table and example job count exactly what was sent, skipping the bad messages", async () => {
    const sinkTopic = `flink-counts-${tenant}`;
    const overrides = join(dir, "overrides.sql");
    // What a deployment sets on the generated tables; the tenant id is [a-z0-9_] only, so the
    // topic name is its own regular expression.
    writeFileSync(
      overrides,
      `ALTER TABLE ${SOURCE} SET (
  'topic-pattern' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = 'flink-test-${tenant}',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset'
);
ALTER TABLE ${JOB} SET ('topic' = '${sinkTopic}', 'properties.bootstrap.servers' = '${bootstrap}');
-- Echo of nested fields, to check the row type against what was sent.
CREATE TABLE rows_echo (
  event_id STRING, scenario_type STRING, action_type STRING, device_type STRING, pos INT, ts BIGINT,
  watch_duration INT, seeks INT, price DOUBLE, level STRING, source STRING, nested STRING, topic STRING
) WITH ('connector' = 'print');
INSERT INTO rows_echo SELECT event_id, scenario_type, action_type, context.device_type, \`position\`, \`timestamp\`,
  scenario_data.video_data.watch_duration, CARDINALITY(scenario_data.video_data.seek_positions),
  scenario_data.ecommerce_data.price, scenario_data.custom_data['level'], extra_data['source'], extra_data['nested'],
  kafka_topic
FROM ${SOURCE};
`,
    );
    const t0 = performance.now();
    const r = await runOk(
      "bash",
      [join(ROOT, "scripts/flink/run-sql.sh"), `gen/flink/${SOURCE}.sql`, `gen/flink/${JOB}.sql`, overrides],
      { timeoutMs: 240_000 },
    );
    console.log(
      `[flink] run-sql.sh (JVM, planning, mini-cluster, job) took ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(r.stdout).toMatch(/^flink-sql: job [0-9a-f]{32} FINISHED$/m);

    // The row type read every good message, nested fields included.
    const echoed = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("+I["))
      .map((l) => l.slice(3, -1).split(", "));
    // 24 good + the two whose bad value reads as NULL; the bad timestamp and the non-JSON are skipped.
    expect(echoed).toHaveLength(sent.length + 2);
    const byId = new Map(echoed.map((cols) => [cols[0], cols]));
    const str = (v: unknown) => (v === undefined || v === null ? "null" : String(v));
    const expectRow = (id: string, w: BehaviorEventWire, scenario: string | null) =>
      expect(byId.get(id), id).toEqual([
        id,
        str(scenario),
        w.action_type,
        w.context.device_type,
        str(w.position),
        str(w.timestamp),
        str(w.scenario_data?.video_data?.watch_duration),
        str(w.scenario_data?.video_data?.seek_positions?.length),
        str(w.scenario_data?.ecommerce_data?.price),
        str((w.scenario_data?.custom_data as { level?: string } | undefined)?.level),
        "flink-test",
        '{"ok":true}',
        topic,
      ]);
    for (const s of sent) expectRow(s.eventId, s.wire, s.scenario);
    const base = badBase as BehaviorEventWire;
    // A string for INT `position`: NULL, the rest of the row intact.
    const { position: _p, ...noPosition } = base;
    expectRow("evt_bad_position", { ...noPosition, action_type: "share" }, "video");
    // A string for a nested INT: that field NULL (video_data stays set, so the scenario still reads).
    expectRow("evt_bad_nested", { ...base, action_type: "share", scenario_data: { video_data: {} } }, "video");
    expect(byId.has("evt_bad_timestamp")).toBe(false);

    // The example job's per-minute counts equal what was sent.
    const expected = new Map<string, number>();
    const count = (timestamp: number, scenario: string | null, action: string) => {
      const start = Math.floor(timestamp / MINUTE) * MINUTE;
      const key = [new Date(start).toISOString(), tenant, scenario, action].join("|");
      expected.set(key, (expected.get(key) ?? 0) + 1);
    };
    for (const s of sent) count(s.wire.timestamp ?? 0, s.scenario, s.wire.action_type);
    // The two bad messages whose event time reads are events too.
    count(base.timestamp ?? 0, "video", "share");
    count(base.timestamp ?? 0, "video", "share");
    // Exactly one row per window and group on the sink topic, no more.
    expect(await topicEndOffset(bootstrap, sinkTopic)).toBe(expected.size);
    const rows = await readTopic(bootstrap, sinkTopic, expected.size, 30_000);
    const got = new Map<string, number>();
    for (const m of rows) {
      const row = JSON.parse(m.value) as {
        window_start: string;
        window_end: string;
        tenant_id: string;
        scenario_type: string | null;
        action_type: string;
        event_count: number;
      };
      expect(Date.parse(row.window_end) - Date.parse(row.window_start)).toBe(MINUTE);
      const key = [new Date(row.window_start).toISOString(), row.tenant_id, row.scenario_type, row.action_type].join(
        "|",
      );
      expect(got.has(key), `duplicate row ${key}`).toBe(false);
      got.set(key, row.event_count);
    }
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
    expect([...got.values()].reduce((a, b) => a + b, 0)).toBe(sent.length + 2);
    // Skipped = on the topic − read: the bad timestamp and the non-JSON message.
    const onTopic = await topicEndOffset(bootstrap, topic);
    expect(onTopic).toBe(sent.length + badCount);
    expect(onTopic - echoed.length).toBe(2);
    console.log(
      `[flink] ${sent.length} events + 2 with a NULLed bad value in ${got.size} (minute, scenario, action) rows; ` +
        `${onTopic - echoed.length} of ${badCount} bad messages skipped`,
    );
  }, 300_000);
});
