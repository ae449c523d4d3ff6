/**
 * Producer ceiling of sdk/common/kafka-publisher.ts with pre-encoded records (no validation or
 * JSON encoding), published the way the KafkaTracker does: calls of `batch` records, `depth`
 * pipelined. Compare with kafka-producer-perf-test (same record size, acks=all, gzip).
 *   tsx bench/kafka/publisher-throughput.ts [records=400000] [batch=2000] [depth=4]   (env COMPRESSION; THREAD=1: the worker-thread publisher)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generatedBehaviorCodec as codec } from "../../sdk/common/behavior-codec.js";
import { createKafkaPublisher, type PublishRecord } from "../../sdk/common/kafka-publisher.js";
import { createThreadedKafkaPublisher } from "../../sdk/common/kafka-publisher-thread.js";
import { cycle, repoRoot as ROOT } from "../lib/common.js";

const total = Number(process.argv[2] ?? 400_000);
const batch = Number(process.argv[3] ?? 2000);
const depth = Number(process.argv[4] ?? 4);
const tenant = `pthru_${Date.now().toString(36)}`;
const seed = JSON.parse(readFileSync(join(ROOT, "test/fixtures/seed/http_event_data.json"), "utf8")) as Record<
  string,
  unknown
>;
const records: PublishRecord[] = Array.from({ length: 1000 }, (_, i) => {
  const e = codec.normalize({
    ...seed,
    tenant_id: tenant,
    user_id: `user_${10000 + (i % 500)}`,
    event_id: `evt_${i}`,
    timestamp: Date.now(),
  });
  return {
    topic: codec.topic(e),
    key: codec.key(e),
    value: codec.encode(e),
    headers: { "schema-version": codec.schemaVersion },
  };
});
const pub = (process.env.THREAD ? createThreadedKafkaPublisher : createKafkaPublisher)({
  brokers: [process.env.BENCH_BROKERS ?? "127.0.0.1:9092"],
  compression: (process.env.COMPRESSION ?? "gzip") as "gzip",
});
await pub.ensureTopic(cycle(records, 0).topic);
await pub.publish(records.slice(0, 100));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: depth }, async () => {
    while (next < total) {
      const from = next;
      next += batch;
      const chunk: PublishRecord[] = [];
      for (let i = from; i < Math.min(from + batch, total); i++) chunk.push(cycle(records, i));
      await pub.publish(chunk);
    }
  }),
);
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    total,
    batch,
    depth,
    recPerSec: Math.round(total / secs),
    cpuUsPerRec: +((cpu.user + cpu.system) / total).toFixed(1),
    stats: pub.stats(),
  }),
);
await pub.close();
