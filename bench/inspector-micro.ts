/**
 * The inspector's cost inside the ingest pipeline alone, without sockets (BENCHMARKS.md, "Live
 * inspector"): IngestPipeline.track of the seed event into an instant sink, with no tap, with an
 * idle Inspector (nobody watching) and with a recording one (as while a page watches; its SSE
 * fan-out is not included: no watcher is connected), in alternating blocks; median ns per event.
 *
 *   node --import tsx bench/inspector-micro.ts [--blocks 15] [--events 20000]
 */
import { parseArgs } from "node:util";
import type { Sink, SinkRecord } from "../server/contracts.js";
import { type IngestCounters, IngestPipeline } from "../server/ingest/pipeline.js";
import { Inspector } from "../server/inspector/inspector.js";
import { RuleBook } from "../server/rules/index.js";
import { benchEvent, round } from "./lib/common.js";

const { values } = parseArgs({
  options: { blocks: { type: "string", default: "15" }, events: { type: "string", default: "20000" } },
});
const blocks = Number(values.blocks);
const perBlock = Number(values.events);

const sink: Sink = {
  kind: "instant",
  publish: async (_records: readonly SinkRecord[]) => {},
  available: () => true,
  close: async () => {},
};
const counters: IngestCounters = {
  received: () => {},
  rejected: () => {},
  warned: () => {},
  published: () => {},
  failed: () => {},
};
const judge = new RuleBook();
const recording = new Inspector({ recordAlways: true });
const pipelines = {
  "no tap": new IngestPipeline({ sink, judge, counters }),
  "idle inspector": new IngestPipeline({ sink, judge, counters, tap: new Inspector() }),
  "recording inspector": new IngestPipeline({ sink, judge, counters, tap: recording }),
};
const events = Array.from({ length: 1000 }, (_, i) => benchEvent("bench_micro", i));

async function block(p: IngestPipeline): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < perBlock; i++) await p.track({ ...events[i % events.length] }, "rest");
  return Number(process.hrtime.bigint() - start) / perBlock;
}

const results: Record<string, number[]> = {};
for (const p of Object.values(pipelines)) await block(p); // warm-up
for (let b = 0; b < blocks; b++) {
  for (const [name, p] of Object.entries(pipelines)) {
    const ns = await block(p);
    results[name] = [...(results[name] ?? []), ns];
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const base = median(results["no tap"]!);
console.log(`| pipeline.track | ns/event (median of ${blocks} × ${perBlock}) | vs no tap |`);
console.log("| --- | ---: | ---: |");
for (const [name, xs] of Object.entries(results)) {
  console.log(`| ${name} | ${round(median(xs), 0)} | ${round(median(xs) / base, 3)} |`);
}
recording.close();
