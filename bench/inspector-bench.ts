/**
 * What the live inspector costs the ingest path (BENCHMARKS.md, "Live inspector"): three
 * servers (bin/tracking serve, embedded file sink) side by side —
 *   off:     --inspector-events 0 (no tap at all: the code before the inspector),
 *   idle:    the default, nobody watching (the pipeline reads one boolean per request),
 *   watched: the default with one SSE client reading /inspector/events (every event is copied
 *            to JSON, kept in the ring and streamed);
 * loaded in turn, round-robin so the machine's background load hits each alike, with h2load
 * closed loops on REST (HTTP/1.1) and gRPC (the fast path on the gRPC port). Reports the median
 * over rounds of requests/s and of the server's CPU time per 1,000 requests, and their ratios to `off`.
 *
 *   node --import tsx bench/inspector-bench.ts [--rounds 3] [--seconds 5]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  benchEvent,
  cpuSeconds,
  freePort,
  grpcTrackFrame,
  round,
  startProcess,
  stopChild,
  waitHttp,
} from "./lib/common.js";
import { h2load } from "./lib/h2load.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, seconds: { type: "string", default: "5" } },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

const work = mkdtempSync(join(tmpdir(), "inspector-bench-"));
const restBody = join(work, "event.json");
writeFileSync(restBody, JSON.stringify(benchEvent("bench_inspector")));
const grpcBody = join(work, "track.grpc");
writeFileSync(grpcBody, grpcTrackFrame("bench_inspector"));

type Mode = "off" | "idle" | "watched";
const MODES: Mode[] = ["off", "idle", "watched"];

interface Server {
  mode: Mode;
  http: number;
  grpc: number;
  pid: number | undefined;
  stop: () => Promise<void>;
}

async function startServer(mode: Mode): Promise<Server> {
  const [http, grpc] = [await freePort(), await freePort()];
  const args = ["serve", "--host", "127.0.0.1", "--http-port", `${http}`, "--grpc-port", `${grpc}`];
  args.push("--data-dir", join(work, mode));
  if (mode === "off") args.push("--inspector-events", "0");
  const { child, log } = startProcess(join(import.meta.dirname, "../bin/tracking"), args);
  try {
    await waitHttp(`http://127.0.0.1:${http}/readyz`, 60_000);
  } catch (e) {
    child.kill("SIGKILL");
    throw new Error(`${mode} server did not start: ${String(e)}\n${log()}`);
  }
  let sseBytes = 0;
  const abort = new AbortController();
  if (mode === "watched") {
    const res = await fetch(`http://127.0.0.1:${http}/inspector/events`, { signal: abort.signal });
    const reader = res.body!.getReader();
    void (async () => {
      for (;;) {
        const r = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (r.done) return;
        sseBytes += r.value?.length ?? 0;
      }
    })();
  }
  return {
    mode,
    http,
    grpc,
    pid: child.pid,
    stop: async () => {
      if (mode === "watched") console.error(`watched server streamed ${round(sseBytes / 1e6)} MB of SSE`);
      abort.abort();
      await stopChild(child);
    },
  };
}

type Transport = "rest" | "grpc";
const samples: Record<string, { rps: number[]; cpuPer1k: number[] }> = {};

async function load(s: Server, transport: Transport, sec: number): Promise<{ rps: number; cpuPer1k: number }> {
  const cpu0 = cpuSeconds(s.pid);
  const r =
    transport === "rest"
      ? await h2load({
          url: `http://127.0.0.1:${s.http}/api/v1/behaviors/track`,
          bodyFile: restBody,
          headers: ["content-type: application/json"],
          h1: true,
          clients: 8,
          durationSec: sec,
        })
      : await h2load({
          url: `http://127.0.0.1:${s.grpc}/recommender.v1.BehaviorService/TrackEvent`,
          bodyFile: grpcBody,
          headers: ["content-type: application/grpc", "te: trailers"],
          h1: false,
          clients: 4,
          streams: 16,
          durationSec: sec,
        });
  const cpu = cpuSeconds(s.pid) - cpu0;
  if (r.succeeded === 0 || r.failed + r.errored + r.status4xx + r.status5xx > 0)
    throw new Error(`${s.mode} ${transport}: ${r.raw}`);
  return { rps: r.succeeded / r.seconds, cpuPer1k: (cpu * 1e6) / r.succeeded };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

const servers: Server[] = [];
try {
  for (const m of MODES) servers.push(await startServer(m));
  // Warm-up: JIT and file sink of each server.
  for (const s of servers) for (const t of ["rest", "grpc"] as const) await load(s, t, 2);
  for (let i = 0; i < rounds; i++) {
    for (const t of ["rest", "grpc"] as const) {
      // Rotate the order each round so no mode always runs first.
      for (let j = 0; j < servers.length; j++) {
        const s = servers[(i + j) % servers.length]!;
        const r = await load(s, t, seconds);
        const k = `${t} ${s.mode}`;
        samples[k] ??= { rps: [], cpuPer1k: [] };
        samples[k].rps.push(r.rps);
        samples[k].cpuPer1k.push(r.cpuPer1k);
        console.error(`round ${i + 1} ${k}: ${round(r.rps)} req/s, ${round(r.cpuPer1k)} ms CPU / 1k req`);
      }
    }
  }
} finally {
  for (const s of servers) await s.stop();
  rmSync(work, { recursive: true, force: true });
}

const lines = [
  `| transport | inspector | req/s (median of ${rounds}) | vs off | server CPU ms / 1k req | vs off |`,
  "| --- | --- | ---: | ---: | ---: | ---: |",
];
for (const t of ["rest", "grpc"] as const) {
  const off = samples[`${t} off`]!;
  for (const m of MODES) {
    const s = samples[`${t} ${m}`]!;
    const rps = median(s.rps);
    const cpu = median(s.cpuPer1k);
    lines.push(
      `| ${t} | ${m} | ${round(rps)} | ${round(rps / median(off.rps), 3)} | ${round(cpu)} | ${round(cpu / median(off.cpuPer1k), 3)} |`,
    );
  }
}
console.log(lines.join("\n"));
