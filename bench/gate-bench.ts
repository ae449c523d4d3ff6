/**
 * Throughput of the quality gate (server/gate): messages/s judged, end to end (consume from the
 * broker, judge with the generated validator and the RuleBook, copy failures to `.invalid` with
 * acks=all, commit), and the judge alone on the same messages in memory (its CPU ceiling).
 *   tsx bench/gate-bench.ts [messages=200000] [failPercent=10]   (env BENCH_BROKERS, default 127.0.0.1:9092)
 * Fills a fresh 12-partition tenant topic with the seed's HTTP example event (canonical, every
 * `failPercent`-th one with an unknown action_type), then runs a gate with a fresh group over it
 * until it judged them all. The topics are deleted at the end. Not a test: nothing is asserted.
 */
import { Admin } from "@platformatic/kafka";
import { generatedBehaviorCodec as codec } from "../sdk/common/behavior-codec.js";
import { createKafkaPublisher, type PublishRecord } from "../sdk/common/kafka-publisher.js";
import { partitionForKey } from "../sdk/common/murmur2.js";
import { startGate } from "../server/gate/gate.js";
import { judgeMessage } from "../server/gate/judge.js";
import { GateMetrics } from "../server/gate/metrics.js";
import { RuleBook } from "../server/rules/index.js";
import { benchEvent } from "./lib/common.js";
import { BenchKafka } from "./lib/kafka-admin.js";

const total = Number(process.argv[2] ?? 200_000);
const failPercent = Number(process.argv[3] ?? 10);
const brokers = (process.env.BENCH_BROKERS ?? "127.0.0.1:9092").split(",");
const tenant = `gatebench_${Date.now().toString(36)}`;
const topic = `user-behaviors-${tenant}`;
const failEvery = failPercent > 0 ? Math.round(100 / failPercent) : 0;

function record(i: number): PublishRecord {
  const e = codec.normalize({ ...benchEvent(tenant, i), event_id: `evt_${i}`, timestamp: Date.now() });
  const value = codec.encode(e);
  return {
    topic,
    key: codec.key(e),
    value: failEvery > 0 && i % failEvery === 0 ? value.replace('"play_end"', '"bogus"') : value,
  };
}

const kafka = new BenchKafka(brokers);
await kafka.ensureTopics([topic]);

// Fill.
const publisher = createKafkaPublisher({ brokers });
let t0 = performance.now();
const pending: Promise<void>[] = [];
for (let i = 0; i < total; i += 2000) {
  pending.push(publisher.publish(Array.from({ length: Math.min(2000, total - i) }, (_, k) => record(i + k))));
  if (pending.length >= 4) await pending.shift();
}
await Promise.all(pending);
await publisher.close();
const fillS = (performance.now() - t0) / 1000;
console.log(`filled ${topic}: ${total} messages (${failPercent} % failing) in ${fillS.toFixed(1)} s`);

// Judge alone, in memory (20,000 of the messages, cycled): the CPU ceiling.
const rules = new RuleBook();
const sample = Array.from({ length: 20_000 }, (_, i) => {
  const r = record(i);
  return { topic, partition: partitionForKey(r.key, 12), key: Buffer.from(r.key), value: Buffer.from(r.value) };
});
for (const m of sample) judgeMessage(m, 12, rules); // warm up
t0 = performance.now();
const judgeN = Math.max(total / 2, 100_000);
for (let i = 0; i < judgeN; i++) judgeMessage(sample[i % sample.length]!, 12, rules);
const judgeRate = judgeN / ((performance.now() - t0) / 1000);

// The gate, end to end.
const metrics = new GateMetrics(false);
let first = 0;
let last = 0;
const gate = startGate({
  brokers,
  group: `gatebench_${Date.now().toString(36)}`,
  rules,
  metrics,
  tenants: [tenant],
  maxMessages: total,
  onVerdict: () => {
    last = performance.now();
    if (first === 0) first = last;
  },
  log: () => {},
});
const wall0 = performance.now();
const summary = await gate.done;
const wallS = (performance.now() - wall0) / 1000;
const judgedS = (last - first) / 1000;
const counts = metrics.tenants.get(tenant);
console.log(`gate: ${JSON.stringify({ ...summary, ...counts })}`);
console.log(
  `gate end to end: ${Math.round(summary.judged / judgedS)} messages/s judged (first to last verdict ${judgedS.toFixed(1)} s; ` +
    `${wallS.toFixed(1)} s with group join and final commit); ${counts?.copied ?? 0} copied to .invalid`,
);
console.log(`judge alone (in memory, one core): ${Math.round(judgeRate)} messages/s`);

const admin = new Admin({ clientId: "gate-bench", bootstrapBrokers: brokers });
await admin.deleteTopics({ topics: [topic, `${topic}.invalid`] }).catch(() => {});
await admin.close();
await kafka.close();
