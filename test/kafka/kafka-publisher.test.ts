/**
 * The shared producing core (sdk/common/kafka-publisher.ts) against the real broker: natural
 * batching (no linger wait when idle, batches grow under load), the bounded wait withdrawing
 * unsent records, rejectQueuedOnFailure, and the small-batch synchronous gzip.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { compressionsAlgorithms } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createKafkaPublisher,
  installSmallGzipSync,
  KafkaUnavailableError,
  SYNC_GZIP_MAX_BYTES,
  type KafkaPublisher,
  type PublishRecord,
} from "../../sdk/common/kafka-publisher.js";
import { ensureMainBroker, readTopic, topicEndOffset, uniqueTenant } from "./broker.js";

const value = (i: number) => JSON.stringify({ n: i, pad: "x".repeat(400) });
const rec = (topic: string, i: number, users = 50): PublishRecord => ({
  topic,
  key: `user_${i % users}`,
  value: value(i),
  headers: { "schema-version": "1" },
});

describe("kafka publisher against the real broker", () => {
  let bootstrap: string;
  let pub: KafkaPublisher;

  beforeAll(async () => {
    bootstrap = await ensureMainBroker();
    pub = createKafkaPublisher({ brokers: [bootstrap], clientId: "test-kafka-publisher" });
  }, 90_000);

  afterAll(async () => {
    await pub?.close();
  });

  it("sends at once when idle: a lone publish completes in well under lingerMs(5) + RTT", async () => {
    const topic = `user-behaviors-${uniqueTenant("publat")}`;
    await pub.ensureTopic(topic);
    for (let i = 0; i < 20; i++) await pub.publish([rec(topic, i)]); // warm-up
    const lat: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await pub.publish([rec(topic, i)]);
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    const p50 = lat[100];
    console.log(`[kafka-publisher] idle single publish p50=${p50.toFixed(2)} ms p90=${lat[180].toFixed(2)} ms`);
    // The old publisher always waited lingerMs=5 first (p50 ≈ 6 ms here); now it is about one round trip.
    expect(p50).toBeLessThan(3);
  }, 60_000);

  it("batches naturally under load: 5,000 concurrent single publishes share few produce requests, in order per key", async () => {
    const topic = `user-behaviors-${uniqueTenant("pubbatch")}`;
    await pub.ensureTopic(topic);
    const before = pub.stats().requests;
    const N = 5000;
    await Promise.all(Array.from({ length: N }, (_, i) => pub.publish([rec(topic, i)])));
    const requests = pub.stats().requests - before;
    console.log(`[kafka-publisher] ${N} concurrent publishes -> ${requests} produce requests`);
    expect(requests).toBeLessThanOrEqual(10);
    const got = await readTopic(bootstrap, topic, N, 30_000);
    expect(got).toHaveLength(N);
    const last = new Map<string, number>();
    for (const m of got) {
      const n = (JSON.parse(m.value) as { n: number }).n;
      expect(n, `order of ${m.key}`).toBeGreaterThan(last.get(m.key) ?? -1);
      last.set(m.key, n);
    }
  }, 60_000);

  it("bounded wait: a publish queued behind a long request times out and its record is withdrawn, never stored", async () => {
    const topic = `user-behaviors-${uniqueTenant("pubtimeout")}`;
    await pub.ensureTopic(topic);
    const N = 30_000;
    const big = pub.publish(Array.from({ length: N }, (_, i) => rec(topic, i)));
    // Same turn: queued behind the big call; 1 ms is far less than sending 30,000 records takes.
    const small = pub.publish([rec(topic, -1)], { timeoutMs: 1 }).catch((e: unknown) => e);
    const err = await small;
    expect(err).toBeInstanceOf(KafkaUnavailableError);
    await big;
    await new Promise((r) => setTimeout(r, 200));
    expect(await topicEndOffset(bootstrap, topic)).toBe(N);
  }, 60_000);

  it("an aborted signal rejects at once without queuing", async () => {
    const topic = `user-behaviors-${uniqueTenant("pubabort")}`;
    await pub.ensureTopic(topic);
    const c = new AbortController();
    c.abort(new Error("gone"));
    await expect(pub.publish([rec(topic, 1)], c.signal)).rejects.toBeInstanceOf(KafkaUnavailableError);
    expect(pub.stats().queued).toBe(0);
  });

  it("rejectQueuedOnFailure: calls queued behind a failed request are rejected without being sent", async () => {
    const topic = `user-behaviors-${uniqueTenant("pubfail")}`;
    const p = createKafkaPublisher({ brokers: [bootstrap], clientId: "test-kafka-publisher-fail", rejectQueuedOnFailure: true, compression: "none" });
    try {
      await p.ensureTopic(topic);
      // 2 MB > the broker's message.max.bytes (1 MiB): a permanent produce error for that request.
      const tooBig = p.publish([{ topic, key: "user_1", value: "y".repeat(2 * 1024 * 1024) }]).catch((e: unknown) => e);
      const behind = p.publish([rec(topic, 1)]).catch((e: unknown) => e);
      const e1 = await tooBig;
      const e2 = await behind;
      expect(e1).toBeInstanceOf(Error);
      expect(e2).toBeInstanceOf(KafkaUnavailableError);
      expect(String((e2 as Error).message)).toMatch(/earlier produce request failed/);
      expect(await topicEndOffset(bootstrap, topic)).toBe(0);
      // The publisher keeps working afterwards.
      await p.publish([rec(topic, 2)]);
      expect(await topicEndOffset(bootstrap, topic)).toBe(1);
    } finally {
      await p.close();
    }
  }, 60_000);

  it("gzips small batches synchronously with byte-identical output, large ones asynchronously", async () => {
    installSmallGzipSync();
    const gzip = compressionsAlgorithms.gzip as unknown as { compress: (b: Buffer) => Promise<Buffer> };
    for (const size of [10, 4000, SYNC_GZIP_MAX_BYTES - 1, SYNC_GZIP_MAX_BYTES, 300_000]) {
      const input = Buffer.from(value(size).repeat(Math.ceil(size / 400)).slice(0, size));
      const out = await gzip.compress(input);
      expect(Buffer.compare(out, gzipSync(input))).toBe(0);
      expect(Buffer.compare(gunzipSync(out), input)).toBe(0);
    }
  });
});
