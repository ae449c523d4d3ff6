/**
 * What /metrics costs on the request path, per request: the metric updates one REST track
 * request makes (received + published counters, one latency observation), three ways:
 * - server/stats/stats.ts (plain fields and a Float64Array histogram, read by prom-client at scrape time);
 * - the same on bare fields, outside any class (the floor);
 * - prom-client's own Counter.inc and a cached Histogram child's observe on every request.
 * BENCHMARKS.md "prom-client".
 *
 *   node --import tsx bench/metrics-bench.ts [iterations]
 */
import { Counter, Histogram, Registry } from "prom-client";
import { LATENCY_BUCKETS_SECONDS, Stats } from "../server/stats/stats.js";

/** The replaced implementation's hot path: plain counters and a linear-scan bucket array. */
class PlainStats {
  received = 0;
  published = 0;
  readonly counts = new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1);
  sum = 0;
  count = 0;
  observe(v: number): void {
    const bounds = LATENCY_BUCKETS_SECONDS;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

const N = Number(process.argv[2] ?? 2_000_000);
// Latencies spread over the first buckets, as the ingest paths produce them.
const latency = (i: number) => 0.0003 + (i & 7) * 0.0004;

function perRequestNs(label: string, fn: (i: number) => void): number {
  for (let i = 0; i < 100_000; i++) fn(i); // warm-up: let V8 optimise
  const t = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  const ns = ((performance.now() - t) * 1e6) / N;
  console.log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(5)} ns/request`);
  return ns;
}

const stats = new Stats({ defaultMetrics: false });
const observer = stats.histogram("rest", "TrackEvent");
const plain = new PlainStats();
const registry = new Registry();
const received = new Counter({ name: "r_total", help: "r", registers: [registry] });
const events = new Counter({ name: "e_total", help: "e", labelNames: ["result"], registers: [registry] });
const published = events.labels("published");
const duration = new Histogram({
  name: "d_seconds",
  help: "d",
  labelNames: ["transport", "rpc"],
  buckets: [...LATENCY_BUCKETS_SECONDS],
  registers: [registry],
}).labels("rest", "TrackEvent");
const rounds: { floor: number; ours: number; prom: number }[] = [];
for (let round = 0; round < 3; round++) {
  const floor = perRequestNs("bare fields + Float64Array histogram", (i) => {
    plain.received++;
    plain.published++;
    plain.observe(latency(i));
  });
  const ours = perRequestNs("server/stats/stats.ts (collect at scrape)", (i) => {
    stats.addReceived(1);
    stats.addPublished(1);
    observer.observe(latency(i));
  });
  const prom = perRequestNs("prom-client Counter.inc + Histogram.observe", (i) => {
    received.inc();
    published.inc();
    duration.observe(latency(i));
  });
  rounds.push({ floor, ours, prom });
}
const best = (k: "floor" | "ours" | "prom") => Math.min(...rounds.map((r) => r[k]));
console.log(
  `best of 3, ns per request: bare ${best("floor").toFixed(0)}, stats.ts ${best("ours").toFixed(0)}, prom-client per request ${best("prom").toFixed(0)} (${(best("prom") / best("ours")).toFixed(1)}× stats.ts)`,
);
// Keep the results observable so the loops are not optimised away.
if (plain.count + (await stats.metrics()).length + (await registry.metrics()).length < 0) console.log("unreachable");
