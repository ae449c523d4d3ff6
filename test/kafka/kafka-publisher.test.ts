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
  type KafkaPublisher,
  KafkaUnavailableError,
  type PublishRecord,
  SYNC_GZIP_MAX_BYTES,
} from "../../sdk/common/kafka-publisher.js";
import { createThreadedKafkaPublisher } from "../../sdk/common/kafka-publisher-thread.js";
import { partitionForKey } from "../../sdk/common/murmur2.js";
import { ensureMainBroker, readTopic, topicEndOffset, uniqueTenant } from "./broker.js";

const value = (i: number) => JSON.stringify({ n: i, pad: "x".repeat(400) });
const rec = (topic: string, i: number, users = 50): PublishRecord => ({
  topic,
  key: `user_${i % users}`,
  value: value(i),
  headers: { "schema-version": "1" },
});

// Every contract test runs on both: the publisher in the caller's thread and on its worker thread.
describe.each([
  ["in-thread", createKafkaPublisher],
  ["worker-thread", createThreadedKafkaPublisher],
] as const)("kafka publisher (%s) against the real broker", (_name, createPublisher) => {
  let bootstrap: string;
  let pub: KafkaPublisher;

  beforeAll(async () => {
    bootstrap = await ensureMainBroker();
    pub = createPublisher({ brokers: [bootstrap], clientId: "test-kafka-publisher" });
  }, 90_000);

  afterAll(async () => {
    await pub?.close();
  });

  // Its latency (about one broker round trip) is measured by `make bench`, not asserted here.
  it("sends at once when idle: each lone publish goes out as its own produce request", async () => {
    const topic = `user-behaviors-${uniqueTenant("publat")}`;
    await pub.ensureTopic(topic);
    await pub.publish([rec(topic, 0)]);
    const before = pub.stats();
    for (let i = 1; i <= 20; i++) await pub.publish([rec(topic, i)]);
    const after = pub.stats();
    expect(after.requests - before.requests).toBe(20);
    expect(after.acked - before.acked).toBe(20);
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

  it("aborting a queued publish rejects it and withdraws its record", async () => {
    const topic = `user-behaviors-${uniqueTenant("pubabortq")}`;
    await pub.ensureTopic(topic);
    const N = 30_000;
    const big = pub.publish(Array.from({ length: N }, (_, i) => rec(topic, i)));
    const c = new AbortController();
    const small = pub.publish([rec(topic, -1)], c.signal).catch((e: unknown) => e);
    c.abort(new Error("caller gave up"));
    expect(await small).toBeInstanceOf(KafkaUnavailableError);
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
    const p = createPublisher({
      brokers: [bootstrap],
      clientId: "test-kafka-publisher-fail",
      rejectQueuedOnFailure: true,
      compression: "none",
    });
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
});

describe("small-batch gzip", () => {
  it("gzips small batches synchronously with byte-identical output, large ones asynchronously", async () => {
    installSmallGzipSync();
    const gzip = compressionsAlgorithms.gzip as unknown as { compress: (b: Buffer) => Promise<Buffer> };
    for (const size of [10, 4000, SYNC_GZIP_MAX_BYTES - 1, SYNC_GZIP_MAX_BYTES, 300_000]) {
      const input = Buffer.from(
        value(size)
          .repeat(Math.ceil(size / 400))
          .slice(0, size),
      );
      const out = await gzip.compress(input);
      expect(Buffer.compare(out, gzipSync(input))).toBe(0);
      expect(Buffer.compare(gunzipSync(out), input)).toBe(0);
    }
  });
});

describe("kafka publisher on a worker thread: what crosses the thread boundary", () => {
  let bootstrap: string;

  beforeAll(async () => {
    bootstrap = await ensureMainBroker();
  }, 90_000);

  it("keys, values, headers (shared and per record, or none) arrive intact on the murmur2 partition; partitionsOf is known", async () => {
    const topic = `user-behaviors-${uniqueTenant("pubthread")}`;
    const pub = createThreadedKafkaPublisher({
      brokers: [bootstrap],
      clientId: "test-publisher-thread",
      partitions: 6,
    });
    try {
      expect(pub.partitionsOf(topic)).toBeUndefined();
      await pub.ensureTopic(topic);
      expect(pub.partitionsOf(topic)).toBe(6);
      const shared = { "schema-version": "1.2.0" };
      const records: PublishRecord[] = Array.from({ length: 300 }, (_, i) => ({
        topic,
        key: `用户_${i % 17}`,
        value: JSON.stringify({ n: i, text: "点击 ✓ \u0000 end" }),
        ...(i % 3 === 0
          ? { headers: shared }
          : i % 3 === 1
            ? { headers: { "schema-version": "1.2.0", n: String(i) } }
            : {}),
      }));
      // Spread over several calls in one turn and over several turns.
      await Promise.all([pub.publish(records.slice(0, 100)), pub.publish(records.slice(100, 150))]);
      await pub.publish(records.slice(150));
      const got = await readTopic(bootstrap, topic, records.length, 30_000);
      expect(got).toHaveLength(records.length);
      const byN = new Map(got.map((m) => [(JSON.parse(m.value) as { n: number }).n, m]));
      records.forEach((r, i) => {
        const m = byN.get(i);
        expect(m, `record ${i}`).toBeDefined();
        expect(m?.key).toBe(r.key);
        expect(m?.value).toBe(r.value);
        expect(m?.headers).toEqual(r.headers ?? {});
        expect(m?.partition).toBe(partitionForKey(r.key, 6));
      });
      expect(pub.stats().acked).toBe(records.length);
    } finally {
      await pub.close();
    }
  }, 60_000);

  it("a permanent error keeps its message and is not reported as transient; an unreachable broker is KafkaUnavailableError", async () => {
    const pub = createThreadedKafkaPublisher({ brokers: [bootstrap], clientId: "test-publisher-thread-err" });
    const down = createThreadedKafkaPublisher({
      brokers: ["127.0.0.1:9"],
      clientId: "test-publisher-thread-down",
      connectTimeoutMs: 300,
      retries: 0,
    });
    try {
      const bad = await pub.publish([{ topic: "no spaces allowed", key: "k", value: "v" }]).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(Error);
      expect(bad).not.toBeInstanceOf(KafkaUnavailableError);
      expect(String((bad as Error).message)).toMatch(/illegal topic name/);
      const gone = await down
        .publish([{ topic: "user-behaviors-x", key: "k", value: "v" }], { timeoutMs: 1500 })
        .catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(KafkaUnavailableError);
      await expect(down.probe(500)).rejects.toBeInstanceOf(KafkaUnavailableError);
    } finally {
      await Promise.all([pub.close(), down.close()]);
    }
  }, 30_000);

  it("a pending publish keeps the process alive until acknowledged; an idle publisher does not keep it alive", async () => {
    const topic = `user-behaviors-${uniqueTenant("pubthreadexit")}`;
    // No close(): the process must still wait for the ack, then exit by itself.
    const script = `
      import { createThreadedKafkaPublisher } from ${JSON.stringify(new URL("../../sdk/common/kafka-publisher-thread.ts", import.meta.url).href)};
      const pub = createThreadedKafkaPublisher({ brokers: [${JSON.stringify(bootstrap)}] });
      pub.publish([{ topic: ${JSON.stringify(topic)}, key: "k", value: "v" }]).then(() => console.log("acked"), (e) => console.log("failed", e.message));
    `;
    const { execFileSync } = await import("node:child_process");
    const t0 = Date.now();
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
      timeout: 25_000,
    });
    expect(out.trim()).toBe("acked");
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(await topicEndOffset(bootstrap, topic)).toBe(1);
  }, 30_000);
});
