import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionForKey } from "../../sdk/common/murmur2.js";
import type { SinkRecord } from "../../server/contracts.js";
import { createKafkaSink, type KafkaSink } from "../../server/kafka/kafka-sink.js";
import { ensureMainBroker, readTopic, uniqueTenant } from "./broker.js";

// The sink's default (producer on the main thread) and --kafka-producer-thread.
describe.each([false, true])("kafka sink (producerThread: %s) against the real broker", (producerThread) => {
  let bootstrap: string;
  let sink: KafkaSink;

  beforeAll(async () => {
    bootstrap = await ensureMainBroker();
    sink = createKafkaSink({ brokers: [bootstrap], clientId: "test-kafka-sink", producerThread });
    await sink.ready(10_000);
  }, 90_000);

  afterAll(async () => {
    await sink?.close();
  });

  it("publishes value/key/headers onto the partition murmur2 predicts", async () => {
    const tenant = uniqueTenant("sink");
    const topic = `user-behaviors-${tenant}`;
    const users = ["user_12345", "用户_42", "😀user", "u", "user_99999"];
    const records: SinkRecord[] = users.map((user_id, i) => ({
      topic,
      key: user_id,
      value: JSON.stringify({ event_id: `evt_${i}`, tenant_id: tenant, user_id, n: i }),
      headers: { "schema-version": "1", "tracking-config-version": String(i) },
    }));
    expect(sink.available()).toBe(true);
    await sink.publish(records);
    const got = await readTopic(bootstrap, topic, records.length);
    expect(got).toHaveLength(records.length);
    for (const r of records) {
      const m = got.find((g) => g.key === r.key)!;
      expect(m, r.key).toBeDefined();
      expect(m.value).toBe(r.value);
      expect(m.headers).toEqual(r.headers);
      // 12 partitions by default; placement must equal the Java client's.
      expect(m.partition, r.key).toBe(partitionForKey(r.key, 12));
    }
    expect(new Set(got.map((g) => g.partition)).size).toBeGreaterThan(1);
  });

  it("creates topics with the configured partitions and rejects illegal topic names", async () => {
    const topic = `user-behaviors-${uniqueTenant("sinkp")}`;
    const small = createKafkaSink({ brokers: [bootstrap], partitions: 3, clientId: "test-kafka-sink-3" });
    try {
      await small.publish([{ topic, key: "k", value: "{}", headers: {} }]);
      const got = await readTopic(bootstrap, topic, 1);
      expect(got.map((m) => m.partition)).toEqual([partitionForKey("k", 3)]);
      await expect(small.publish([{ topic: "bad topic/name", key: "k", value: "{}", headers: {} }])).rejects.toThrow(
        /illegal topic/,
      );
      expect(small.available()).toBe(true);
    } finally {
      await small.close();
    }
  });

  it("sustains concurrent publishes (throughput, acks=all, gzip)", async () => {
    const tenant = uniqueTenant("sinkperf");
    const topic = `user-behaviors-${tenant}`;
    await sink.ensureTopic(topic);
    const calls = 400;
    const perCall = 50;
    const value = JSON.stringify({
      tenant_id: tenant,
      scenario_id: "vlog_feed",
      item_id: "video_67890",
      action_type: "click",
      context: { device_type: "mobile" },
      pad: "x".repeat(200),
    });
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: calls }, (_, c) =>
        sink.publish(
          Array.from({ length: perCall }, (_, i) => ({
            topic,
            key: `user_${(c * perCall + i) % 500}`,
            value,
            headers: { "schema-version": "1" },
          })),
        ),
      ),
    );
    const ms = performance.now() - t0;
    const n = calls * perCall;
    console.log(
      `[kafka-sink] ${n} records in ${calls} concurrent publishes: ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)} records/s; produce requests=${sink.stats().requests}`,
    );
    // One-at-a-time publishes (latency of a single acked publish).
    const lat: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      await sink.publish([{ topic, key: `user_${i}`, value, headers: {} }]);
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    console.log(
      `[kafka-sink] single-record publish latency p50=${lat[25]?.toFixed(1)} ms p99=${lat[49]?.toFixed(1)} ms`,
    );
    expect(sink.stats().acked).toBeGreaterThanOrEqual(n + 50);
  }, 60_000);
});
