/**
 * Broker-down behaviour, on a private second broker (own ports and KAFKA_DATA) that this file
 * starts, stops and wipes, so the shared broker on 9092 is never disturbed.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedBehaviorCodec } from "../../sdk/common/behavior-codec.js";
import { KafkaTracker } from "../../sdk/kafka/kafka-tracker.js";
import { SinkUnavailableError } from "../../server/contracts.js";
import { createKafkaSink } from "../../server/kafka/kafka-sink.js";
import { type FaultBroker, readTopic, startFaultBroker, uniqueTenant } from "./broker.js";
import { sampleEvent } from "./test-codec.js";

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("broker down (private second broker)", () => {
  let broker: FaultBroker;
  let dir: string;

  beforeAll(async () => {
    broker = await startFaultBroker();
    dir = await mkdtemp(join(tmpdir(), "kafka-fault-fb-"));
  }, 120_000);

  afterAll(async () => {
    await broker?.destroy();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("KafkaTracker: events land in the fsync'd fallback queue and are delivered after the broker returns", async () => {
    const codec = generatedBehaviorCodec;
    const tenant = uniqueTenant("fault");
    const tracker = new KafkaTracker({
      brokers: [broker.bootstrap],
      tenantId: tenant,
      codec,
      fallbackDir: dir,
      bufferSize: 50,
      flushIntervalMs: 200,
      maxRetries: 2,
      backoffMs: 100,
      sendTimeoutMs: 2000,
      replayIntervalMs: 500,
      connectTimeoutMs: 500,
    });
    await tracker.start();
    // Some events go through while the broker is up.
    for (let i = 0; i < 20; i++) await tracker.track(sampleEvent(`user_${i % 5}`, i));
    await tracker.flush();
    expect(tracker.stats().delivered).toBe(20);

    await broker.stop();
    const t0 = performance.now();
    for (let i = 20; i < 220; i++) await tracker.track(sampleEvent(`user_${i % 5}`, i));
    await tracker.flush();
    console.log(`[kafka-fault] flush with broker down spilled after ${(performance.now() - t0).toFixed(0)} ms`);
    expect(tracker.stats().spilled).toBe(200);
    const lines = (await readFile(tracker.fallbackPath, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(200);
    expect(JSON.parse(lines[0] ?? "null")).toMatchObject({ topic: `user-behaviors-${tenant}`, key: "user_0" });

    await broker.start();
    const t1 = performance.now();
    // The timer replays the queue by itself; new events after recovery queue behind it (order).
    for (let i = 220; i < 240; i++) await tracker.track(sampleEvent(`user_${i % 5}`, i));
    await waitFor(() => tracker.stats().delivered === 240, 30_000, "replay after restart");
    console.log(
      `[kafka-fault] fallback replayed ${tracker.stats().replayed} events ${(performance.now() - t1).toFixed(0)} ms after broker restart`,
    );
    await expect(stat(tracker.fallbackPath)).rejects.toThrow();
    await tracker.close();

    const got = await readTopic(broker.bootstrap, `user-behaviors-${tenant}`, 240, 30_000);
    const seqs = got.map((m) => (JSON.parse(m.value) as { extra_data: { seq: number } }).extra_data.seq);
    expect(new Set(seqs).size).toBe(240);
    const last = new Map<string, number>();
    for (const m of got) {
      const seq = (JSON.parse(m.value) as { extra_data: { seq: number } }).extra_data.seq;
      expect(seq, `order of ${m.key}`).toBeGreaterThan(last.get(m.key) ?? -1);
      last.set(m.key, seq);
    }
  }, 120_000);

  it("Kafka sink: SinkUnavailableError within the bounded wait and available()=false, then true after restart", async () => {
    const topic = `user-behaviors-${uniqueTenant("faultsink")}`;
    const sink = createKafkaSink({
      brokers: [broker.bootstrap],
      publishTimeoutMs: 1500,
      probeIntervalMs: 250,
      connectTimeoutMs: 500,
      retryAfterSeconds: 2,
      clientId: "test-fault-sink",
    });
    try {
      await sink.ready(10_000);
      await sink.publish([{ topic, key: "user_1", value: '{"n":1}', headers: {} }]);
      expect(sink.available()).toBe(true);

      await broker.stop();
      const t0 = performance.now();
      const err = await sink
        .publish([{ topic, key: "user_1", value: '{"n":2}', headers: {} }])
        .catch((e: unknown) => e);
      const waited = performance.now() - t0;
      console.log(`[kafka-fault] sink publish with broker down rejected after ${waited.toFixed(0)} ms`);
      expect(err).toBeInstanceOf(SinkUnavailableError);
      expect((err as SinkUnavailableError).retryAfterSeconds).toBe(2);
      expect(waited).toBeLessThan(1500 + 500);
      expect(sink.available()).toBe(false);
      // While down: fail fast, without the bounded wait of 1500 ms.
      const t1 = performance.now();
      await expect(sink.publish([{ topic, key: "user_1", value: '{"n":3}', headers: {} }])).rejects.toBeInstanceOf(
        SinkUnavailableError,
      );
      expect(performance.now() - t1).toBeLessThan(1500);

      await broker.start();
      const t2 = performance.now();
      await waitFor(() => sink.available(), 20_000, "sink available again");
      console.log(`[kafka-fault] sink available again ${(performance.now() - t2).toFixed(0)} ms after broker start`);
      await sink.publish([{ topic, key: "user_1", value: '{"n":4}', headers: {} }]);
      const got = await readTopic(broker.bootstrap, topic, 2, 15_000);
      expect(got.map((m) => m.value)).toContain('{"n":4}');
      expect(got.map((m) => m.value)).not.toContain('{"n":3}');
    } finally {
      await sink.close();
    }
  }, 120_000);
});
