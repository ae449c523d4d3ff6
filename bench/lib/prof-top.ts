/**
 * Summarizes V8 .cpuprofile files (from `bench/run.sh --profile`): self time by function and by
 * package/file, so a hot path shows without opening a flame graph.
 * Usage: tsx bench/lib/prof-top.ts bench/results/prof/*.cpuprofile [--top N]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const args = process.argv.slice(2);
const topIdx = args.indexOf("--top");
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
const files = args.filter((a, i) => a.endsWith(".cpuprofile") && (topIdx < 0 || i !== topIdx + 1));

const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
for (const f of files) {
  const p = JSON.parse(readFileSync(f, "utf8")) as Profile;
  const usPerSample = (p.endTime - p.startTime) / Math.max(1, p.samples.length);
  for (const n of p.nodes) {
    const ms = ((n.hitCount ?? 0) * usPerSample) / 1000;
    if (!ms) continue;
    total += ms;
    const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|gen|server|sdk|bench)\//, "$1/");
    const fn = `${n.callFrame.functionName || "(anonymous)"}  ${url}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
    const group =
      /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(url)?.[1] ??
      (url.startsWith("node:") ? url : url.split("/").slice(0, 2).join("/") || n.callFrame.functionName);
    byFile.set(group, (byFile.get(group) ?? 0) + ms);
  }
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${v.toFixed(0).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
};
console.log(`${files.length} profile(s), ${total.toFixed(0)} ms sampled`);
show("self time by package / file", byFile);
show("self time by function", byFn);
