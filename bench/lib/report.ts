/** Renders bench/results/latest.md from the run's report: headline ratios, latency, per-phase resources, targets. */
import type { Phase, Report } from "../orchestrator.js";

/** The seed document's performance table (000_bf502578892a6470.txt, "性能对比" / "接入方式对比"). */
export const SEED = {
  rest: { tps: 5000, p50: 50, p99: 100, p999: 200 },
  grpc: { tps: 10000, p50: 20, p99: 50, p999: 100 },
  tracker: { tps: 50000, p50: 5, p99: 15, p999: 30 },
} as const;

const n = (x: number | undefined, d = 0) =>
  x === undefined || !Number.isFinite(x)
    ? "—"
    : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const ms = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? "—" : x < 10 ? x.toFixed(2) : x.toFixed(1);
const ratio = (a: number | undefined, b: number | undefined) =>
  a && b && Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : "—";
const pct = (a: number | undefined, b: number | undefined) =>
  a && b && Number.isFinite(a) && Number.isFinite(b) ? `${Math.round((100 * a) / b)} %` : "—";

export function renderMarkdown(r: Report): string {
  const find = (pred: (p: Phase) => boolean) => r.phases.find(pred);
  const closed = (subject: Phase["subject"], path: Phase["path"]) =>
    find((p) => p.subject === subject && p.path === path && p.loop === "closed");
  const open = (subject: Phase["subject"], path: Phase["path"], rate: number) =>
    find((p) => p.subject === subject && p.path === path && p.loop === "open" && p.offeredPerSec === rate);
  const restOurs = closed("ours", "rest");
  const bare = closed("bare", "rest");
  const bareJson = closed("bare-json", "rest");
  const baseline = closed("baseline", "rest");
  const grpc = closed("ours", "grpc");
  const batch = closed("ours", "batch");
  const tracker = closed("ours", "tracker");
  const perf = closed("perftest", "kafka");
  const checkOffsets = (p: Phase | undefined) =>
    !p
      ? "—"
      : p.offsets
        ? `${n(p.offsets.delta)} / ${n(p.offsets.counted)} ${p.offsets.consistent ? "✓" : "✗"}`
        : "n/a (no Kafka)";

  const L: string[] = [];
  L.push(`# Benchmark results`, "");
  L.push(
    `Run ${r.run.startedAt} → ${r.run.finishedAt} (${r.run.seconds} s), mode **${r.run.mode}**${r.run.profile ? " with --cpu-prof" : ""}, commit \`${r.run.commit}\`.`,
  );
  L.push(
    `Reproduce: \`${r.run.mode === "smoke" ? "make bench-smoke" : "make bench"}\` (this run: \`${r.run.command}\`).`,
    "",
  );
  const m = r.machine;
  L.push(
    `Machine: ${m.nproc} CPUs (${m.cpu}), ${m.ramGB} GB RAM, Node ${m.node}, Kafka ${m.kafka} (single local broker, KRaft), ${m.h2load}. Load average at start ${m.loadavgAtStart}, at end ${m.loadavgAtEnd}. Load generator, server and broker share these CPUs.`,
  );
  L.push(
    "",
    `Every events/s figure counts only events the broker acknowledged: min(client-counted successes, growth of the topic's end offsets). Column "offsets Δ / counted" shows both (Δ may exceed counted by requests in flight when a closed-loop run is cut off).`,
    "",
  );

  L.push(`## Throughput`, "");
  L.push(
    `| path | ours (events/s) | ceiling | ours ÷ ceiling | naive baseline | ours ÷ baseline | seed claim | issue target | offsets Δ / counted |`,
  );
  L.push(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |`);
  L.push(
    `| REST single event (closed loop, 64 conns) | ${n(restOurs?.eventsPerSec)} | ${n(bareJson?.eventsPerSec)} (bare node:http + JSON.parse) / ${n(bare?.eventsPerSec)} (bare, body read only) | ${pct(restOurs?.eventsPerSec, bareJson?.eventsPerSec)} / ${pct(restOurs?.eventsPerSec, bare?.eventsPerSec)} | ${n(baseline?.eventsPerSec)} | ${ratio(restOurs?.eventsPerSec, baseline?.eventsPerSec)} | ~${n(SEED.rest.tps)} TPS | ≥ 15,000; ≥ 50 % of bare; ≥ 3× baseline | ${checkOffsets(restOurs)} |`,
  );
  L.push(
    `| gRPC TrackEvent (closed loop, 8×16 streams) | ${n(grpc?.eventsPerSec)} | — | — | — | — | ~${n(SEED.grpc.tps)} TPS | ≥ 20,000 | ${checkOffsets(grpc)} |`,
  );
  L.push(
    `| REST batch of 100 (closed loop, 16 conns) | ${n(batch?.eventsPerSec)} | ${n(perf?.eventsPerSec)} (perf-test) | ${pct(batch?.eventsPerSec, perf?.eventsPerSec)} | — | — | — | ≥ 50 % of perf-test | ${checkOffsets(batch)} |`,
  );
  L.push(
    `| KafkaTracker direct (SDK defaults) | ${n(tracker?.eventsPerSec)} | ${n(perf?.eventsPerSec)} (perf-test) | ${pct(tracker?.eventsPerSec, perf?.eventsPerSec)} | — | — | ~${n(SEED.tracker.tps)} TPS | ≥ 70 % of perf-test | ${checkOffsets(tracker)} |`,
  );
  L.push(
    `| kafka-producer-perf-test (${r.recordBytes} B records, acks=all, gzip) | — | ${n(perf?.eventsPerSec)} | — | — | — | — | (ceiling) | ${checkOffsets(perf)} |`,
  );
  L.push("");

  const byWorkers = r.phases.filter((p) => p.group === "workers");
  if (byWorkers.length > 0) {
    L.push(`## 1 vs 2 server processes (\`--workers\`), same run`, "");
    L.push(
      `Closed loop, the settings of the rows above; the servers run side by side and the phases alternate. CPU and RSS are the primary and its workers summed. On a 2-core machine the load generator and the broker compete for the same cores (see BENCHMARKS.md "Workers").`,
      "",
    );
    L.push(`| path | workers | events/s | ÷ 1 worker | CPU s (% of a core) | peak RSS MB | offsets Δ / counted |`);
    L.push(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
    for (const p of byWorkers) {
      const one = byWorkers.find((x) => x.path === p.path && x.workers === 1);
      L.push(
        `| ${p.path} | ${p.workers} | ${n(p.eventsPerSec)} | ${p.workers === 1 ? "—" : ratio(p.eventsPerSec, one?.eventsPerSec)} | ${p.server ? `${p.server.cpuSeconds} (${p.server.cpuPercentOfOneCore} %)` : "—"} | ${p.server?.peakRssMB ?? "—"} | ${checkOffsets(p)} |`,
      );
    }
    L.push("");
  }

  const bySasl = r.phases.filter((p) => p.group === "sasl");
  if (bySasl.length > 0) {
    L.push(`## SASL_SSL (SCRAM-SHA-512 over TLS) vs PLAINTEXT, same run`, "");
    L.push(
      `The same server binary against the same broker, once on its PLAINTEXT listener and once on its SASL_SSL listener (scripts/kafka/secure.sh); closed loop, the settings of the rows above, phases alternating.`,
      "",
    );
    L.push(`| phase | events/s | ÷ PLAINTEXT | CPU s (% of a core) | offsets Δ / counted |`);
    L.push(`| --- | ---: | ---: | ---: | ---: |`);
    for (const p of bySasl) {
      const plain = bySasl.find((x) => x.path === p.path && x.name.includes("PLAINTEXT"));
      L.push(
        `| ${p.name} | ${n(p.eventsPerSec)} | ${p === plain ? "—" : ratio(p.eventsPerSec, plain?.eventsPerSec)} | ${p.server ? `${p.server.cpuSeconds} (${p.server.cpuPercentOfOneCore} %)` : "—"} | ${checkOffsets(p)} |`,
      );
    }
    L.push("");
  }

  L.push(`## Latency at fixed offered rates (open loop, from scheduled send time)`, "");
  L.push(
    `| subject | path | offered/s | acked events/s | P50 ms | P99 ms | P99.9 ms | max ms | errors/dropped | seed P50/P99/P999 | offsets Δ / counted |`,
  );
  L.push(`| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |`);
  for (const p of r.phases.filter((x) => x.loop === "open")) {
    const seed =
      p.path === "rest" ? SEED.rest : p.path === "grpc" ? SEED.grpc : p.path === "tracker" ? SEED.tracker : undefined;
    const sat = p.offeredPerSec && p.eventsPerSec < 0.95 * p.offeredPerSec ? " (saturated)" : "";
    L.push(
      `| ${p.subject === "ours" ? "ours" : p.subject} | ${p.path} | ${n(p.offeredPerSec)} | ${n(p.eventsPerSec)}${sat} | ${ms(p.latencyMs?.p50)} | ${ms(p.latencyMs?.p99)} | ${ms(p.latencyMs?.p999)} | ${ms(p.latencyMs?.max)} | ${n(p.errors)} | ${seed && p.subject === "ours" ? `${seed.p50}/${seed.p99}/${seed.p999}` : "—"} | ${checkOffsets(p)} |`,
    );
  }
  if (perf?.latencyMs)
    L.push(
      `| perf-test | kafka | unbounded | ${n(perf.eventsPerSec)} | ${ms(perf.latencyMs.p50)} | ${ms(perf.latencyMs.p99)} | ${ms(perf.latencyMs.p999)} | ${ms(perf.latencyMs.max)} | 0 | — | ${checkOffsets(perf)} |`,
    );
  L.push(
    "",
    `KafkaTracker latency = from the event's scheduled track() time to the broker's ack of the batch that carried it (includes the SDK's buffering: a batch goes out when the previous one is acknowledged; 100 events or 1 s are upper bounds).`,
    "",
  );

  L.push(`## Targets from the issue (reported, not asserted)`, "");
  const rest5k = open("ours", "rest", 5000);
  const grpc10k = open("ours", "grpc", 10000);
  // One server process: the --workers phases sum a process tree, reported in their own table.
  const peakRss = Math.max(
    ...r.phases
      .filter((p) => p.subject === "ours" && p.server && p.workers === undefined)
      .map((p) => p.server!.peakRssMB),
  );
  const t = (name: string, got: string, ok: boolean | undefined) =>
    L.push(`| ${name} | ${got} | ${ok === undefined ? "not measured" : ok ? "met" : "**not met**"} |`);
  L.push(`| target | measured | |`, `| --- | --- | --- |`);
  t("REST single ≥ 15K req/s", n(restOurs?.eventsPerSec), restOurs && restOurs.eventsPerSec >= 15000);
  t(
    "REST P99 ≤ 10 ms at 5K/s",
    rest5k ? `${ms(rest5k.latencyMs?.p99)} ms` : "—",
    rest5k && (rest5k.latencyMs?.p99 ?? Infinity) <= 10,
  );
  t(
    "REST ≥ 50 % of bare node:http parsing the JSON (the issue's reference)",
    pct(restOurs?.eventsPerSec, bareJson?.eventsPerSec),
    restOurs && bareJson ? restOurs.eventsPerSec >= 0.5 * bareJson.eventsPerSec : undefined,
  );
  t(
    "(stricter) REST ≥ 50 % of bare node:http reading the body only",
    pct(restOurs?.eventsPerSec, bare?.eventsPerSec),
    restOurs && bare ? restOurs.eventsPerSec >= 0.5 * bare.eventsPerSec : undefined,
  );
  t("gRPC ≥ 20K req/s", n(grpc?.eventsPerSec), grpc && grpc.eventsPerSec >= 20000);
  t(
    "gRPC P99 ≤ 10 ms at 10K/s",
    grpc10k ? `${ms(grpc10k.latencyMs?.p99)} ms` : "—",
    grpc10k && (grpc10k.latencyMs?.p99 ?? Infinity) <= 10,
  );
  t(
    "REST batch ≥ 50 % of perf-test events/s",
    pct(batch?.eventsPerSec, perf?.eventsPerSec),
    batch && perf ? batch.eventsPerSec >= 0.5 * perf.eventsPerSec : undefined,
  );
  t(
    "KafkaTracker ≥ 70 % of perf-test",
    pct(tracker?.eventsPerSec, perf?.eventsPerSec),
    tracker && perf ? tracker.eventsPerSec >= 0.7 * perf.eventsPerSec : undefined,
  );
  t(
    "≥ 3× naive baseline on REST single",
    ratio(restOurs?.eventsPerSec, baseline?.eventsPerSec),
    restOurs && baseline ? restOurs.eventsPerSec >= 3 * baseline.eventsPerSec : undefined,
  );
  t(
    "server RSS ≤ 300 MB",
    Number.isFinite(peakRss) ? `${peakRss} MB peak` : "—",
    Number.isFinite(peakRss) ? peakRss <= 300 : undefined,
  );
  L.push("");

  L.push(`## Every phase`, "");
  L.push(
    `| phase | tool | settings | events/s | req/s | errors | offsets Δ / counted | process CPU s (% of a core) | process peak RSS MB | broker CPU s (% of a core) |`,
  );
  L.push(`| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const p of r.phases) {
    L.push(
      `| ${p.name} | ${p.tool} | ${p.settings} | ${n(p.eventsPerSec)} | ${n(p.requestsPerSec)} | ${n(p.errors)} | ${checkOffsets(p)} | ${p.server ? `${p.server.cpuSeconds} (${p.server.cpuPercentOfOneCore} %)` : "—"} | ${p.server ? p.server.peakRssMB : "—"} | ${p.broker ? `${p.broker.cpuSeconds} (${p.broker.cpuPercentOfOneCore} %)` : "—"} |`,
    );
  }
  L.push("");
  if (r.notes.length) {
    L.push(`## Notes`, "");
    for (const x of r.notes) L.push(`- ${x}`);
    L.push("");
  }
  return L.join("\n");
}
