/**
 * Shared helpers of the benchmark harness: the benchmark event, free ports, child processes,
 * /proc sampling (CPU time, RSS) and percentiles.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { create, fromJson, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { BehaviorEventSchema, TrackEventRequestSchema } from "../../gen/es/recommender/v1/behavior_pb.js";

export const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The seed's HTTP example event (test/fixtures/seed/http_event_data.json) without the server-filled fields. */
export function benchEvent(tenantId: string, i = 0): Record<string, unknown> {
  const e = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/seed/http_event_data.json"), "utf8")) as Record<
    string,
    unknown
  >;
  delete e.event_id;
  delete e.timestamp;
  e.tenant_id = tenantId;
  e.user_id = `user_${10000 + (i % 5000)}`;
  e.item_id = `video_${60000 + ((i * 7) % 20000)}`;
  return e;
}

/**
 * `benchEvent(tenantId)` as a length-prefixed gRPC frame of TrackEventRequest (what h2load and
 * the open-loop tool send to BehaviorService/TrackEvent). The seed's enum values ("view",
 * "mobile") become their proto JSON names for fromJson.
 */
export function grpcTrackFrame(tenantId: string): Buffer {
  const json = benchEvent(tenantId) as Record<string, unknown> & { context: Record<string, unknown> };
  json.action_type = `ACTION_TYPE_${String(json.action_type).toUpperCase()}`;
  json.context = { ...json.context, device_type: `DEVICE_TYPE_${String(json.context.device_type).toUpperCase()}` };
  const msg = toBinary(
    TrackEventRequestSchema,
    create(TrackEventRequestSchema, { event: fromJson(BehaviorEventSchema, json as JsonObject) }),
  );
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  return frame;
}

/** A free TCP port on loopback (bind to 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, capturing output (bounded by timeoutMs, then SIGKILL). */
export function run(cmd: string, args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Runs a TypeScript file of the harness in its own Node process (tsx loader) and parses the JSON it prints last. */
export async function runTsJson<T>(
  file: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const r = await run(process.execPath, ["--import", "tsx", join(repoRoot, file), ...args], {
    cwd: repoRoot,
    timeoutMs,
    env,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(
      `${file} ${args.join(" ")} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`,
    );
  }
}

/** Starts a long-running Node process (tsx loader) whose stderr/stdout go to a log string. */
export function startNode(
  nodeArgs: string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; log: () => string } {
  return startProcess(process.execPath, nodeArgs, env);
}

/** Starts a command from the repo root, keeping the tail of its output for error reports. */
export function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; log: () => string } {
  let log = "";
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
  return { child, log: () => log };
}

/** Polls a URL until it answers 200 or the time runs out. */
export async function waitHttp(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${String(last)}`);
}

/** Stops a child: SIGTERM, then SIGKILL after graceMs. Resolves when it exited. */
export function stopChild(child: ChildProcess, graceMs = 15000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

const CLK_TCK = 100; // USER_HZ on Linux

/** utime+stime of a process in seconds (from /proc/<pid>/stat), or NaN if gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is state (field 3); utime is field 14, stime field 15 → indexes 11, 12.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** VmRSS and VmHWM of a process in MB, or NaN if gone. */
export function memMB(pid: number | undefined): { rss: number; hwm: number } {
  if (!pid) return { rss: NaN, hwm: NaN };
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** Per-phase resource use of the processes under test: CPU seconds and peak RSS sampled every 100 ms. */
export interface ProcUsage {
  cpuSeconds: number;
  cpuPercentOfOneCore: number;
  peakRssMB: number;
}

/** Pids of the direct children of `pid` (e.g. a cluster primary's workers), from /proc/<n>/stat. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Field 4 (ppid) is the second after the ")" that ends the command name.
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(name));
    } catch {}
  }
  return out;
}

/**
 * Samples CPU and RSS of a process under test; with `tree`, of the process and its children
 * summed (a `--workers N` primary and its workers).
 */
export class ProcSampler {
  private readonly startCpu: number;
  private readonly t0 = performance.now();
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number | undefined,
    private readonly tree = false,
  ) {
    this.startCpu = this.cpu();
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }
  private pids(): (number | undefined)[] {
    return this.tree && this.pid ? [this.pid, ...childPids(this.pid)] : [this.pid];
  }
  private cpu(): number {
    return this.pids().reduce<number>((sum, p) => sum + cpuSeconds(p), 0);
  }
  private sample(): void {
    const rss = this.pids().reduce<number>((sum, p) => sum + memMB(p).rss, 0);
    if (rss > this.peak) this.peak = rss;
  }
  stop(): ProcUsage {
    clearInterval(this.timer);
    this.sample();
    const cpu = this.cpu() - this.startCpu;
    const wall = (performance.now() - this.t0) / 1000;
    return {
      cpuSeconds: round(cpu, 2),
      cpuPercentOfOneCore: round((100 * cpu) / wall, 0),
      peakRssMB: round(this.peak, 1),
    };
  }
}

export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Percentile (nearest-rank) of an ascending-sorted array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}

/** list[i mod its length], for benchmarks cycling through a fixed, non-empty set of inputs. */
export function cycle<T>(list: readonly T[], i: number): T {
  const v = list[i % list.length];
  if (v === undefined) throw new RangeError("cycle: empty list");
  return v;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Latency summary in ms from an array of ms values (sorted in place). */
export function summarize(values: Float64Array): LatencySummary {
  values.sort();
  let sum = 0;
  for (const v of values) sum += v;
  return {
    count: values.length,
    p50: round(percentile(values, 50), 2),
    p90: round(percentile(values, 90), 2),
    p99: round(percentile(values, 99), 2),
    p999: round(percentile(values, 99.9), 2),
    max: round(values.at(-1) ?? NaN, 2),
    mean: round(values.length ? sum / values.length : NaN, 2),
  };
}

/** Neighbours taking turns in slots (bench/lib/openloop.ts `OpenLoopConfig.turns`). */
export interface Turns {
  slotMs: number;
  conditions: number;
}

/** The condition whose slot holds `offsetMs` (ms after the start), and the period's index. */
export function turnAt(t: Turns, offsetMs: number): { condition: number; period: number; inSlotMs: number } {
  const slot = Math.floor(offsetMs / t.slotMs);
  const period = Math.floor(slot / t.conditions);
  return { condition: (slot + period) % t.conditions, period, inSlotMs: offsetMs - slot * t.slotMs };
}
