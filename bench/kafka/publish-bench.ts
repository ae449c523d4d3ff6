/**
 * Micro bench of the Kafka sink's publish path (not a test).
 *
 *   tsx bench/kafka/publish-bench.ts [mode] [n] [concurrency]
 *
 * mode "closed": `concurrency` loops each awaiting one single-record publish at a time (the server's
 *                shape: one publish per HTTP request), n publishes in total.
 * mode "burst":  n single-record publishes issued at once, then awaited.
 * mode "serial": n publishes one after another (latency at idle: ≈ broker round trip).
 * mode "rate":   open loop, `concurrency` is the offered rate/s; latency from the scheduled time.
 * env COMPRESSION=gzip|lz4|zstd|snappy|none (default gzip), LINGER_MS (default: the publisher's).
 * Prints records/s, process CPU (user+sys) µs per record and latency percentiles.
 * Run under `node --cpu-prof --import tsx` for a profile (bench/lib/prof-top.ts summarizes it).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generatedBehaviorCodec } from "../../sdk/common/behavior-codec.js";
import { createKafkaSink } from "../../server/kafka/kafka-sink.js";
import { cycle, repoRoot as ROOT } from "../lib/common.js";

const mode = process.argv[2] ?? "closed";
const n = Number(process.argv[3] ?? 200_000);
const concurrency = Number(process.argv[4] ?? 256);
const brokers = [process.env.BENCH_BROKERS ?? "127.0.0.1:9092"];
const tenant = `pbench_${Date.now().toString(36)}`;
const topic = `user-behaviors-${tenant}`;

const seed = JSON.parse(readFileSync(join(ROOT, "test/fixtures/seed/http_event_data.json"), "utf8")) as Record<
  string,
  unknown
>;
const codec = generatedBehaviorCodec;
const records = Array.from({ length: 1000 }, (_, i) => {
  const e = codec.normalize({
    ...seed,
    tenant_id: tenant,
    user_id: `user_${10000 + (i % 500)}`,
    event_id: `evt_${i}`,
    timestamp: Date.now(),
  });
  return {
    topic,
    key: codec.key(e),
    value: codec.encode(e),
    headers: { "schema-version": codec.schemaVersion, "x-tracking-config": "v1" },
  };
});

const sink = createKafkaSink({
  brokers,
  clientId: "publish-bench",
  publishTimeoutMs: 30_000,
  compression: (process.env.COMPRESSION ?? "gzip") as "gzip",
  ...(process.env.LINGER_MS ? { lingerMs: Number(process.env.LINGER_MS) } : {}),
});
await sink.ready(10_000);
await sink.ensureTopic(topic);
for (let i = 0; i < 200; i++) await sink.publish([cycle(records, i)]); // warm-up

const lat = new Float64Array(n);
let errors = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
async function one(i: number, scheduled?: number): Promise<void> {
  const s = scheduled ?? performance.now();
  try {
    await sink.publish([cycle(records, i)]);
  } catch {
    errors++;
  }
  lat[i] = performance.now() - s;
}
if (mode === "burst") {
  const ps: Promise<void>[] = [];
  for (let i = 0; i < n; i++) ps.push(one(i));
  await Promise.all(ps);
} else if (mode === "rate") {
  const interval = 1000 / concurrency;
  const ps: Promise<void>[] = [];
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (next < n && t0 + next * interval <= now) {
        ps.push(one(next, t0 + next * interval));
        next++;
      }
      if (next < n) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  await Promise.all(ps);
} else if (mode === "serial") {
  for (let i = 0; i < n; i++) await one(i);
} else {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++);
    }),
  );
}
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
lat.sort();
const pct = (p: number) => (lat[Math.min(n - 1, Math.floor(n * p))] ?? NaN).toFixed(2);
console.log(
  JSON.stringify({
    mode,
    n,
    concurrency: mode === "closed" ? concurrency : undefined,
    recPerSec: Math.round(n / secs),
    cpuUsPerRec: +((cpu.user + cpu.system) / n).toFixed(1),
    cpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / secs) * 100),
    p50: pct(0.5),
    p99: pct(0.99),
    max: (lat.at(-1) ?? NaN).toFixed(1),
    errors,
    stats: sink.stats(),
  }),
);
await sink.close();
