/**
 * `make bench`: one bounded run that measures the ingestion paths against their ceilings and a
 * naive baseline, checks every figure against the broker's end offsets, and writes
 * bench/results/latest.{json,md}. See BENCHMARKS.md for what each phase does.
 *
const GROUPS = ["rest", "grpc", "batch", "workers", "sasl", "quota", "tracker", "perftest", "bare", "baseline"] as const;
 */

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { generatedBehaviorCodec } from "../sdk/common/behavior-codec.js";
import { createKafkaPublisher } from "../sdk/common/kafka-publisher.js";
import {
  benchEvent,
  freePort,
  grpcTrackFrame,
  ProcSampler,
  type ProcUsage,
  repoRoot,
  round,
  run,
  runTsJson,
  sleep,
  startNode,
  startProcess,
  stopChild,
  type Turns,
  waitHttp,
} from "./lib/common.js";
import { type H2loadResult, h2load } from "./lib/h2load.js";
import { BenchKafka } from "./lib/kafka-admin.js";
import type { ConditionLatencies, OpenLoopConfig, OpenLoopResult } from "./lib/openloop.js";
import { renderMarkdown } from "./lib/report.js";
import type { TrackerBenchConfig, TrackerBenchResult } from "./lib/tracker-bench.js";

// ------------------------------------------------------------------ options
const argv = process.argv.slice(2);
const flag = (f: string) => argv.includes(f);
const value = (f: string) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const smoke = flag("--smoke");
const profile = flag("--profile");
const GROUPS = [
  "rest",
  "grpc",
  "batch",
  "workers",
  "sasl",
  "quota",
  "tracker",
  "perftest",
  "bare",
  "baseline",
] as const;
type Group = (typeof GROUPS)[number];
const only = new Set((value("--only") ?? GROUPS.join(",")).split(",") as Group[]);
const enabled = (g: Group) => only.has(g);

const plan = smoke
  ? {
      closedSec: 1,
      openSec: 1,
      warmSec: 1,
      brokerWarmSec: 1,
      rates: [200, 500],
      trackerEvents: 2000,
      trackerRates: [500],
      perfRecords: 2000,
      quota: { steadyRate: 200, noisyQuota: 20, slotSec: 1, periods: 1 },
    }
  : {
      closedSec: 12,
      openSec: 8,
      warmSec: 4,
      brokerWarmSec: 8,
      rates: [1000, 5000, 10000],
      trackerEvents: 200_000,
      trackerRates: [1000, 10000],
      perfRecords: 400_000,
      quota: { steadyRate: 500, noisyQuota: 50, slotSec: 2, periods: 20 },
    };
if (value("--duration")) plan.closedSec = plan.openSec = Number(value("--duration"));
// --quota R:Q: the quota group's steady tenant rate and the noisy tenant's quota (offered 10 × Q).
const quotaArg = /^(\d+):(\d+)$/.exec(value("--quota") ?? "");
if (quotaArg) plan.quota = { ...plan.quota, steadyRate: Number(quotaArg[1]), noisyQuota: Number(quotaArg[2]) };

const resultsDir = join(repoRoot, "bench/results");
const workDir = join(resultsDir, "work");
const brokers = (process.env.BENCH_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? "9092"}`).split(",");
const kafkaData = process.env.KAFKA_DATA ?? join(repoRoot, ".tools/kafka-data");
const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);

// ------------------------------------------------------------------ result model
export interface OffsetCheck {
  topic: string;
  before: number;
  after: number;
  /** Records the broker appended during the phase. */
  delta: number;
  /** Events the client counted as acknowledged (2xx / grpc-status 0 / tracker delivered). */
  counted: number;
  /** delta >= counted: every counted event is in the log (delta may exceed it by requests in flight at the cut-off). */
  consistent: boolean;
}

export interface Phase {
  name: string;
  group: Group;
  /**
   * "ours" = the tracking server / SDK; references: "bare" (node:http reading the body),
   * "bare-json" (the same plus JSON.parse), "baseline" (express + kafkajs), "perftest".
   */
  subject: "ours" | "bare" | "bare-json" | "baseline" | "perftest";
  path: "rest" | "grpc" | "batch" | "tracker" | "kafka";
  loop: "closed" | "open";
  /** Server processes (`--workers`) for phases of the "workers" group. */
  workers?: number | undefined;
  tool: string;
  settings: string;
  /** Events the broker acknowledged per second: min(counted, offset delta) / seconds. */
  eventsPerSec: number;
  requestsPerSec?: number | undefined;
  offeredPerSec?: number | undefined;
  latencyMs?: { p50: number; p99: number; p999: number; max: number } | undefined;
  errors: number;
  offsets?: OffsetCheck | undefined;
  server?: ProcUsage | undefined;
  broker?: ProcUsage | undefined;
  detail: unknown;
}

const phases: Phase[] = [];
const notes: string[] = [];

// ------------------------------------------------------------------ helpers
function portOpen(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(":");
  return new Promise((resolve) => {
    const s = connect({ host, port: Number(port) });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function brokerPid(): number | undefined {
  try {
    return Number(readFileSync(join(kafkaData, "kafka.pid"), "utf8").trim()) || undefined;
  } catch {
    return undefined;
  }
}

let kafka: BenchKafka;

/** Runs one measured phase with offset bookkeeping and /proc sampling of the process under test and the broker. */
async function measured<T>(
  base: Omit<Phase, "eventsPerSec" | "errors" | "offsets" | "server" | "broker" | "detail">,
  topic: string | undefined,
  pid: number | undefined,
  body: () => Promise<T>,
  figures: (r: T) => {
    counted: number;
    seconds: number;
    errors: number;
    eventsPerRequest?: number;
    inFlight?: number;
    extra?: Partial<Phase>;
  },
): Promise<Phase> {
  log(`${base.name} …`);
  const before = topic ? await kafka.endOffset(topic) : 0;
  // A --workers primary does no request work itself: sample it with its workers.
  const server = new ProcSampler(pid, base.workers !== undefined);
  const broker = new ProcSampler(brokerPid());
  const r = await body();
  const usage = { server: server.stop(), broker: broker.stop() };
  const f = figures(r);
  let offsets: OffsetCheck | undefined;
  let acked = f.counted;
  if (topic) {
    await sleep(200);
    const after = await kafka.endOffset(topic);
    offsets = {
      topic,
      before,
      after,
      delta: after - before,
      counted: f.counted,
      consistent: after - before >= f.counted,
    };
    acked = Math.min(f.counted, after - before);
    if (after - before > f.counted * 1.01 + (f.inFlight ?? 0) + 100)
      notes.push(
        `${base.name}: the broker log grew by ${after - before} for ${f.counted} acknowledged events: duplicates (retried sends that had in fact been written) beyond what was in flight at the cut-off`,
      );
    if (!offsets.consistent)
      notes.push(
        `${base.name}: the broker log grew by ${after - before} but the client counted ${f.counted} acknowledged events`,
      );
  }
  const phase: Phase = {
    ...base,
    eventsPerSec: round(acked / f.seconds, 0),
    errors: f.errors,
    offsets,
    server: pid ? usage.server : undefined,
    broker: usage.broker,
    detail: r,
    ...f.extra,
  };
  if (f.eventsPerRequest) phase.requestsPerSec = round(acked / f.eventsPerRequest / f.seconds, 0);
  phases.push(phase);
  log(
    `${base.name}: ${phase.eventsPerSec} events/s${phase.latencyMs ? `, p50 ${phase.latencyMs.p50} ms p99 ${phase.latencyMs.p99} ms` : ""}, errors ${phase.errors}${offsets ? `, offsets Δ ${offsets.delta} (counted ${offsets.counted})` : ""}`,
  );
  return phase;
}

interface Target {
  subject: Phase["subject"];
  group: Group;
  workers?: number;
  host: string;
  port: number;
  pid: number | undefined;
}

async function closedH2load(
  t: Target,
  path: Phase["path"],
  name: string,
  o: {
    url: string;
    body: string;
    headers: string[];
    h1: boolean;
    clients: number;
    streams?: number;
    eventsPerRequest: number;
    topic: string;
    warm?: boolean;
  },
): Promise<Phase> {
  const h = (sec: number) =>
    h2load({
      url: o.url,
      bodyFile: o.body,
      headers: o.headers,
      h1: o.h1,
      clients: o.clients,
      streams: o.streams,
      durationSec: sec,
    });
  if (o.warm !== false) {
    log(`${name}: warm-up ${plan.warmSec}s`);
    await h(plan.warmSec);
  }
  const settings = o.h1
    ? `h2load --h1 -c ${o.clients} -D ${plan.closedSec}`
    : `h2load -c ${o.clients} -m ${o.streams} -D ${plan.closedSec}`;
  return measured<H2loadResult>(
    { name, group: t.group, subject: t.subject, path, loop: "closed", workers: t.workers, tool: "h2load", settings },
    o.topic,
    t.pid,
    () => h(plan.closedSec),
    (r) => ({
      counted: r.status2xx * o.eventsPerRequest,
      seconds: r.seconds,
      // Non-2xx answers and transport failures; with -D, h2load's "done" can trail its status
      // counts by the responses that finished as the run was cut, so it is not used here.
      errors: r.status4xx + r.status5xx + r.errored + r.timeout,
      eventsPerRequest: o.eventsPerRequest,
      // Requests cut off at the end of the warm-up and of the run may be acknowledged without being counted.
      inFlight: 2 * o.clients * (o.streams ?? 1) * o.eventsPerRequest,
      extra: { latencyMs: { p50: NaN, p99: NaN, p999: NaN, max: r.maxMs } },
    }),
  );
}

/** A phase's figures from an open-loop run: acknowledged requests, the offered rate, latencies from the schedule. */
function openLoopFigures(r: OpenLoopResult) {
  return {
    counted: r.ok,
    seconds: Math.max(r.durationSec, r.ok / Math.max(r.achievedRps, 1)),
    errors: r.failed + r.dropped + r.timedOut,
    extra: {
      offeredPerSec: r.offeredRps,
      latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99, p999: r.latencyMs.p999, max: r.latencyMs.max },
    },
  };
}

async function openLoop(
  t: Target,
  path: Phase["path"],
  name: string,
  cfg: Omit<OpenLoopConfig, "durationSec">,
  topic: string,
): Promise<Phase> {
  const full: OpenLoopConfig = { ...cfg, durationSec: plan.openSec };
  return measured<OpenLoopResult>(
    {
      name,
      group: t.group,
      subject: t.subject,
      path,
      loop: "open",
      tool: "bench/lib/openloop.ts",
      settings: `${cfg.rate}/s for ${plan.openSec}s over ${cfg.conns} ${cfg.kind === "http1" ? "HTTP/1.1 connections" : "h2c sessions"}`,
    },
    topic,
    t.pid,
    () => runTsJson<OpenLoopResult>("bench/lib/openloop.ts", [JSON.stringify(full)], (plan.openSec + 60) * 1000),
    openLoopFigures,
  );
}

/** REST single (closed + open rates) against any server exposing POST /api/v1/behaviors/track. */
async function restSuite(t: Target, label: string, body: string, topic: string): Promise<void> {
  const url = `http://${t.host}:${t.port}/api/v1/behaviors/track`;
  await closedH2load(t, "rest", `${label} REST single, max (closed loop)`, {
    url,
    body,
    headers: ["content-type: application/json"],
    h1: true,
    clients: 64,
    eventsPerRequest: 1,
    topic,
  });
  for (const rate of plan.rates) {
    await openLoop(
      t,
      "rest",
      `${label} REST single @ ${rate}/s`,
      { kind: "http1", host: t.host, port: t.port, path: "/api/v1/behaviors/track", bodyFile: body, rate, conns: 128 },
      topic,
    );
  }
}

function machine(): Record<string, string | number> {
  const cpuModel = cpus()[0]?.model ?? "unknown";
  let kafkaVersion = "unknown";
  try {
    kafkaVersion =
      /<kafka\.version>([^<]+)</.exec(readFileSync(join(repoRoot, "scripts/kafka/pom.xml"), "utf8"))?.[1] ??
      kafkaVersion;
  } catch {}
  return {
    nproc: cpus().length,
    cpu: cpuModel,
    ramGB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    kafka: kafkaVersion,
    loadavgAtStart: loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  };
}

/**
 * Loads the broker before the first phase: its JVM compiles the produce path during the first
 * seconds of load, and a freshly started broker made the first phase measured (REST) up to ~25 %
 * slower than the same phase a minute later. Big batches and a burst of single-record requests,
 * like the phases that follow, to a topic no phase reads.
 */
async function warmUpBroker(seconds: number, value: string): Promise<void> {
  const topic = "bench-warmup";
  const pub = createKafkaPublisher({ brokers, clientId: "bench-warmup" });
  try {
    await pub.ensureTopic(topic);
    const batch = Array.from({ length: 500 }, (_, i) => ({ topic, key: `user_${i}`, value }));
    const until = performance.now() + seconds * 1000;
    let records = 0;
    for (let round = 0; performance.now() < until; round++) {
      if (round % 2 === 0) {
        await Promise.all([pub.publish(batch), pub.publish(batch)]);
        records += 1000;
      } else {
        await Promise.all(batch.slice(0, 200).map((r) => pub.publish([r])));
        records += 200;
      }
    }
    log(`broker warm-up: ${records} records in ${seconds}s`);
  } finally {
    await pub.close();
  }
}

/**
 * Noisy neighbour: a server whose keys file gives each bench tenant its own API key (as in
 * production) and limits tenant bench_noisy to Q events/s (burst Q). Tenant bench_steady (no
 * quota) is offered R/s for the whole run by one generator, while three neighbours take turns
 * beside it in slots of a few seconds (each period of four slots holds every condition once, the
 * order rotating each period; bench/lib/openloop.ts `turns`): nobody (alone); bench_noisy offered 10 × Q/s (all above its quota
 * answered 429); a tenant without quota offered the same 10 × Q/s (for comparison); and, as a
 * control, the same 10 × Q/s sent to a bare node:http server in another process (what the steady
 * tenant loses then is the machine's share: a second generator and its loopback traffic on the
 * same cores). The steady tenant's latencies are split by the condition of the slot they were due in.
 * Why interleaved: separate 8-second phases alone and with the noisy tenant differed by up to 3×
 * in P99 between two runs of the same condition on this 2-core VM (the broker, the generators and
 * the server share its cores), so conditions a minute apart could not be compared to 20 %. Slots
 * of a few seconds, repeated, put every condition under the same machine state, and the rotation
 * keeps a periodic disturbance (timers, the broker's housekeeping) from always hitting one condition.
 */
async function quotaSuite(steadyTopic: string): Promise<void> {
  const { steadyRate, noisyQuota, slotSec, periods } = plan.quota;
  const noisyRate = 10 * noisyQuota;
  const keysFile = join(workDir, "quota-keys.json");
  const keyOf = (tenant: string) => `bench-key-${tenant}`;
  writeFileSync(
    keysFile,
    JSON.stringify({
      tenants: Object.fromEntries(["bench_steady", "bench_noisy", "bench_unlimited"].map((t) => [t, [keyOf(t)]])),
      quotas: { bench_noisy: { events_per_second: noisyQuota, burst: noisyQuota } },
    }),
  );
  const bodyOf = (tenant: string) => {
    const file = join(workDir, `event-${tenant}.json`);
    writeFileSync(file, JSON.stringify(benchEvent(tenant)));
    return file;
  };
  const [steadyBody, noisyBody, unlimitedBody] = ["bench_steady", "bench_noisy", "bench_unlimited"].map(bodyOf) as [
    string,
    string,
    string,
  ];
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const args = ["serve", "--sink", "kafka", "--brokers", brokers.join(","), "--host", "127.0.0.1"];
  args.push(
    "--http-port",
    String(httpPort),
    "--grpc-port",
    String(grpcPort),
    "--data-dir",
    join(workDir, "quota-data"),
  );
  args.push("--api-keys-file", keysFile);
  log(`starting the quota server: bin/tracking ${args.join(" ")}`);
  const srv = startProcess(join(repoRoot, "bin/tracking"), args, {
    ...process.env,
    TRACKING_NODE_FLAGS: "",
    TRACKING_API_KEYS: "",
    TRACKING_ADMIN_KEYS: "",
  });
  const loop = (bodyFile: string, tenant: string, rate: number, sec: number): OpenLoopConfig => ({
    kind: "http1",
    host: "127.0.0.1",
    port: httpPort,
    path: "/api/v1/behaviors/track",
    bodyFile,
    headers: { "x-api-key": keyOf(tenant) },
    rate,
    conns: 64,
    durationSec: sec,
  });
  const runLoop = (c: OpenLoopConfig) =>
    runTsJson<OpenLoopResult>("bench/lib/openloop.ts", [JSON.stringify(c)], (c.durationSec + 60) * 1000);
  const barePort = await freePort();
  const bare = startNode(["--import", "tsx", "bench/lib/bare-server.ts", String(barePort)]);
  try {
    await waitHttp(`http://127.0.0.1:${httpPort}/readyz`, 60_000);
    await waitHttp(`http://127.0.0.1:${barePort}/`, 30_000);
    log(`quota: warm-up ${plan.warmSec}s`);
    await Promise.all([
      runLoop(loop(steadyBody, "bench_steady", steadyRate, plan.warmSec)),
      runLoop(loop(noisyBody, "bench_noisy", noisyRate, plan.warmSec)),
      runLoop(loop(unlimitedBody, "bench_unlimited", noisyRate, plan.warmSec)),
    ]);
    const conditions = [
      { name: "alone" },
      {
        name: `with the noisy tenant (offered ${noisyRate}/s, 10× its quota of ${noisyQuota}/s)`,
        neighbour: loop(noisyBody, "bench_noisy", noisyRate, 0),
      },
      {
        name: `next to a tenant without quota offered ${noisyRate}/s (for comparison)`,
        neighbour: loop(unlimitedBody, "bench_unlimited", noisyRate, 0),
      },
      {
        name: `control: the noisy tenant's ${noisyRate}/s sent to a bare node:http server instead`,
        neighbour: { ...loop(noisyBody, "bench_noisy", noisyRate, 0), port: barePort },
      },
    ];
    const turns: Turns = { slotMs: slotSec * 1000, conditions: conditions.length };
    const periodMs = turns.slotMs * turns.conditions;
    // One period more than measured: the generators' first seconds (their own JIT warm-up) are not counted.
    const warmupMs = periodMs;
    const seconds = (warmupMs + periods * periodMs) / 1000;
    // Every generator starts on one wall-clock instant, so the slots line up across processes.
    const startAtEpochMs = Date.now() + 3000;
    const settleMs = Math.min(250, turns.slotMs / 4);
    const settings = `${steadyRate}/s for ${seconds}s over 64 HTTP/1.1 connections; neighbours take turns in ${slotSec}s slots (${periods} periods measured after ${warmupMs / 1000}s)`;
    let neighbours: OpenLoopResult[] = [];
    const steady = await measured<OpenLoopResult>(
      {
        name: `quota: steady tenant REST @ ${steadyRate}/s, neighbours taking turns (alone / noisy / unlimited / control)`,
        group: "quota",
        subject: "ours",
        path: "rest",
        loop: "open",
        tool: "bench/lib/openloop.ts",
        settings,
      },
      steadyTopic,
      srv.child.pid,
      async () => {
        const runs = conditions.flatMap((c, i) =>
          c.neighbour
            ? [runLoop({ ...c.neighbour, durationSec: seconds, startAtEpochMs, turns, onlyCondition: i })]
            : [],
        );
        const s = await runLoop({
          ...loop(steadyBody, "bench_steady", steadyRate, seconds),
          startAtEpochMs,
          turns,
          splitByCondition: { settleMs, warmupMs },
        });
        neighbours = await Promise.all(runs);
        return s;
      },
      openLoopFigures,
    );
    const split = (steady.detail as OpenLoopResult | undefined)?.byCondition;
    if (!split || split.length !== conditions.length)
      throw new Error("quota: the steady generator reported no conditions");
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const refusedMetric = /^tracking_quota_rejected_events_total\{tenant="bench_noisy"\} (\d+)$/m.exec(metrics)?.[1];
    const [alone] = split as [ConditionLatencies];
    const noisy = neighbours[0]!;
    // The noisy generator sends in its slot of every period, the warm-up period included.
    const noisySeconds = (periods + 1) * slotSec;
    const described = split.map((sl, i) => {
      const pooled = `P99 ${round(sl.pooled.p99, 2)} ms (${round(sl.pooled.p99 / alone.pooled.p99, 2)}×)`;
      const windows = `median of its ${sl.slotP99s.length} slots' P99s ${round(median(sl.slotP99s), 2)} ms (${round(median(sl.slotP99s) / median(alone.slotP99s), 2)}×)`;
      return `${conditions[i]!.name}: ${pooled}, P50 ${round(sl.pooled.p50, 2)} ms, ${sl.pooled.count} requests; ${windows}`;
    });
    const ratioP99 = split[1]!.pooled.p99 / alone.pooled.p99;
    // What the noisy tenant costs through our server alone: the control carries the same load on
    // the machine (its generator, a server answering it) but none of it in our process.
    const serverShare = split[1]!.pooled.p99 / split[3]!.pooled.p99;
    notes.push(
      `quota (noisy neighbour, ${periods} periods of ${conditions.length} × ${slotSec}s slots, order rotating; a slot's first ${settleMs} ms not counted): steady tenant ${described.join("; ")}. Goal (P99 with the noisy tenant ≤ 1.2× alone): ${round(ratioP99, 2)}×, ${ratioP99 <= 1.2 ? "met" : "not met"}; the server's share (with the noisy tenant ÷ control): ${round(serverShare, 2)}×. Noisy tenant: offered ${noisyRate}/s in its slots, accepted ${round(noisy.ok / noisySeconds, 0)}/s (quota ${noisyQuota}/s, burst ${noisyQuota}, refilled while it waits for its slot), answers ${JSON.stringify(noisy.statuses)}; /metrics tracking_quota_rejected_events_total{tenant="bench_noisy"} = ${refusedMetric ?? "missing"} (warm-up included).`,
    );
  } catch (e) {
    log(`quota server log tail:\n${srv.log().slice(-3000)}`);
    throw e;
  } finally {
    await Promise.all([stopChild(srv.child), stopChild(bare.child)]);
  }
}

/** The median of a non-empty list. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ------------------------------------------------------------------ main
async function main(): Promise<void> {
  const startedAt = new Date();
  const machineAtStart = machine();
  const deadline = setTimeout(
    () => {
      log("hard time limit reached (15 min), aborting");
      process.exit(2);
    },
    (smoke ? 3 : 15) * 60_000,
  );
  deadline.unref();
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });

  // ---- broker
  let startedBroker = false;
  if (!(await portOpen(brokers[0] ?? ""))) {
    if (process.env.BENCH_BROKERS) throw new Error(`BENCH_BROKERS=${process.env.BENCH_BROKERS} is not reachable`);
    log("starting the Kafka broker (scripts/kafka/up.sh)");
    const r = await run(join(repoRoot, "scripts/kafka/up.sh"), [], { cwd: repoRoot, timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`scripts/kafka/up.sh failed:\n${r.stdout}\n${r.stderr}`);
    startedBroker = true;
  }
  kafka = new BenchKafka(brokers);
  const T = {
    rest: "user-behaviors-bench_rest",
    grpc: "user-behaviors-bench_grpc",
    batch: "user-behaviors-bench_batch",
    tracker: "user-behaviors-bench_tracker",
    baseline: "user-behaviors-bench_baseline",
    perf: "bench-perftest",
    steady: "user-behaviors-bench_steady",
    noisy: "user-behaviors-bench_noisy",
    unlimited: "user-behaviors-bench_unlimited",
  };
  await kafka.ensureTopics(Object.values(T));

  // ---- request bodies
  const restBody = join(workDir, "event.json");
  const bareBody = restBody;
  const ev = benchEvent("bench_rest");
  writeFileSync(restBody, JSON.stringify(ev));
  const baselineBody = join(workDir, "event-baseline.json");
  writeFileSync(baselineBody, JSON.stringify(benchEvent("bench_baseline")));
  const batchBody = join(workDir, "batch.json");
  writeFileSync(
    batchBody,
    JSON.stringify({ events: Array.from({ length: 100 }, (_, i) => benchEvent("bench_batch", i)) }),
  );
  const grpcBody = join(workDir, "track.grpc");
  writeFileSync(grpcBody, grpcTrackFrame("bench_grpc"));
  // The Kafka record our server writes for this event: the perf-test ceiling uses records of this size and content.
  const wire = generatedBehaviorCodec.normalize({ ...ev, event_id: "evt_0123456789abcdef", timestamp: Date.now() });
  const record = generatedBehaviorCodec.encode(wire);
  const recordBytes = Buffer.byteLength(record);
  const payloadFile = join(workDir, "perf-payloads.txt");
  writeFileSync(
    payloadFile,
    Array.from({ length: 1000 }, (_, i) =>
      generatedBehaviorCodec.encode(
        generatedBehaviorCodec.normalize({
          ...benchEvent("bench_rest", i),
          event_id: `evt_${(0x1000000000000000n + BigInt(i) * 7919n).toString(16).slice(0, 16)}`,
          timestamp: Date.now() + i,
        }),
      ),
    ).join("\n"),
  );

  await warmUpBroker(plan.brokerWarmSec, record);

  // ---- our server
  /** Starts `bin/tracking serve` (Kafka sink, free loopback ports, extra `args`) and waits for /readyz. */
  const startOurs = async (name: string, args: string[] = [], env: Record<string, string> = {}) => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const dataDir = join(workDir, name);
    // bin/tracking execs node with the production flags, so the pid measured is the server's.
    const serverArgs = [
      "serve",
      "--sink",
      "kafka",
      "--brokers",
      brokers.join(","),
      "--host",
      "127.0.0.1",
      "--http-port",
      String(httpPort),
      "--grpc-port",
      String(grpcPort),
      "--data-dir",
      dataDir,
      ...args,
    ];
    const nodeFlags = profile ? `--cpu-prof --cpu-prof-dir ${join(resultsDir, "prof")}` : "";
    log(
      `starting the server: ${nodeFlags ? `TRACKING_NODE_FLAGS='${nodeFlags}' ` : ""}bin/tracking ${serverArgs.join(" ")}`,
    );
    const srv = startProcess(join(repoRoot, "bin/tracking"), serverArgs, {
      ...process.env,
      ...env,
      TRACKING_NODE_FLAGS: nodeFlags,
      TRACKING_API_KEYS: "",
      TRACKING_ADMIN_KEYS: "",
    });
    try {
      await waitHttp(`http://127.0.0.1:${httpPort}/readyz`, 60_000);
      if (args.includes("--workers")) {
        // /readyz answers as soon as one worker listens; the primary logs when all do.
        const until = Date.now() + 60_000;
        while (!/tracking cluster: \d+ workers serving/.test(srv.log()) && Date.now() < until) await sleep(100);
      }
    } catch (e) {
      log(`server log tail:\n${srv.log().slice(-3000)}`);
      await stopChild(srv.child);
      throw e;
    }
    return { srv, httpPort, grpcPort };
  };
  const grpcPath = "/recommender.v1.BehaviorService/TrackEvent";
  // The closed-loop settings the comparison groups (workers, sasl) share with the main rows.
  const restSingleMax = (t: Target, name: string, httpPort: number) =>
    closedH2load(t, "rest", name, {
      url: `http://127.0.0.1:${httpPort}/api/v1/behaviors/track`,
      body: restBody,
      headers: ["content-type: application/json"],
      h1: true,
      clients: 64,
      eventsPerRequest: 1,
      topic: T.rest,
    });
  const restBatchMax = (t: Target, name: string, httpPort: number) =>
    closedH2load(t, "batch", name, {
      url: `http://127.0.0.1:${httpPort}/api/v1/behaviors/track/batch`,
      body: batchBody,
      headers: ["content-type: application/json"],
      h1: true,
      clients: 16,
      eventsPerRequest: 100,
      topic: T.batch,
    });
  const grpcMax = (t: Target, name: string, grpcPort: number) =>
    closedH2load(t, "grpc", name, {
      url: `http://127.0.0.1:${grpcPort}${grpcPath}`,
      body: grpcBody,
      headers: ["content-type: application/grpc", "te: trailers"],
      h1: false,
      clients: 8,
      streams: 16,
      eventsPerRequest: 1,
      topic: T.grpc,
    });
  if (enabled("rest") || enabled("grpc") || enabled("batch")) {
    const { srv, httpPort, grpcPort } = await startOurs("server-data");
    try {
      const t: Target = { subject: "ours", group: "rest", host: "127.0.0.1", port: httpPort, pid: srv.child.pid };
      if (enabled("rest")) await restSuite(t, "ours", restBody, T.rest);
      if (enabled("grpc")) {
        const g: Target = { ...t, group: "grpc", port: grpcPort };
        const path = grpcPath;
        // The open-loop runs double as the grpc-status check: only HTTP 200 + grpc-status 0 counts.
        await openLoop(
          g,
          "grpc",
          "ours gRPC TrackEvent verify (grpc-status 0)",
          { kind: "grpc", host: g.host, port: grpcPort, path, bodyFile: grpcBody, rate: smoke ? 200 : 1000, conns: 2 },
          T.grpc,
        );
        await grpcMax(g, "ours gRPC TrackEvent, max (closed loop)", grpcPort);
        for (const rate of plan.rates) {
          await openLoop(
            g,
            "grpc",
            `ours gRPC TrackEvent @ ${rate}/s`,
            { kind: "grpc", host: g.host, port: grpcPort, path, bodyFile: grpcBody, rate, conns: 4 },
            T.grpc,
          );
        }
      }
      if (enabled("batch")) {
        await restBatchMax({ ...t, group: "batch" }, "ours REST batch of 100, max (closed loop)", httpPort);
      }
      const hwm = readFileSync(`/proc/${srv.child.pid}/status`, "utf8").match(/VmHWM:\s+(\d+)/)?.[1];
      notes.push(`server peak RSS over the whole run (VmHWM): ${round(Number(hwm) / 1024, 1)} MB`);
    } catch (e) {
      log(`server log tail:\n${srv.log().slice(-3000)}`);
      throw e;
    } finally {
      await stopChild(srv.child);
    }
    if (profile)
      notes.push(`CPU profile of the server written to bench/results/prof/ (open in Chrome DevTools or speedscope)`);
  }

  // ---- 1 vs 2 server processes (--workers), same run, alternating so drift hits both alike
  if (enabled("workers")) {
    const counts = smoke ? [2] : [1, 2];
    const servers = [];
    try {
      for (const w of counts) servers.push({ w, ...(await startOurs(`workers-${w}`, ["--workers", String(w)])) });
      for (const path of ["rest", "grpc"] as const) {
        if (smoke && path === "grpc") continue;
        for (const s of servers) {
          const t: Target = {
            subject: "ours",
            group: "workers",
            workers: s.w,
            host: "127.0.0.1",
            port: path === "rest" ? s.httpPort : s.grpcPort,
            pid: s.srv.child.pid,
          };
          const label = `ours --workers ${s.w}`;
          if (path === "rest") await restSingleMax(t, `${label} REST single, max (closed loop)`, s.httpPort);
          else await grpcMax(t, `${label} gRPC TrackEvent, max (closed loop)`, s.grpcPort);
        }
      }
    } catch (e) {
      for (const s of servers) log(`--workers ${s.w} server log tail:\n${s.srv.log().slice(-3000)}`);
      throw e;
    } finally {
      for (const s of servers) await stopChild(s.srv.child);
    }
  }

  // ---- the seed's production protocol: the same server over SASL_SSL (SCRAM-SHA-512, TLS) and
  // over PLAINTEXT, REST single and batch alternating so drift hits both alike
  if (enabled("sasl")) {
    const file = join(kafkaData, "client-sasl-ssl.env");
    if (!existsSync(file)) {
      notes.push(`sasl: skipped, ${file} is missing (the broker was started without its SASL_SSL listener)`);
    } else {
      const client = Object.fromEntries(
        readFileSync(file, "utf8")
          .split("\n")
          .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => [m[1]!, m[2]!]),
      );
      const secured = [
        "--brokers",
        client.KAFKA_BROKERS ?? "",
        "--kafka-security-protocol",
        "SASL_SSL",
        "--kafka-sasl-mechanism",
        "SCRAM-SHA-512",
        "--kafka-ca-file",
        client.KAFKA_SSL_CA_FILE ?? "",
      ];
      const servers = [];
      try {
        servers.push({ label: "PLAINTEXT", ...(await startOurs("sasl-plaintext")) });
        servers.push({
          label: "SASL_SSL",
          ...(await startOurs("sasl-ssl", secured, {
            KAFKA_USER: client.KAFKA_USER ?? "",
            KAFKA_PASSWORD: client.KAFKA_PASSWORD ?? "",
          })),
        });
        for (const path of ["rest", "batch"] as const) {
          for (const s of servers) {
            const t: Target = {
              subject: "ours",
              group: "sasl",
              host: "127.0.0.1",
              port: s.httpPort,
              pid: s.srv.child.pid,
            };
            if (path === "rest")
              await restSingleMax(t, `ours REST single over ${s.label}, max (closed loop)`, s.httpPort);
            else await restBatchMax(t, `ours REST batch of 100 over ${s.label}, max (closed loop)`, s.httpPort);
          }
        }
      } catch (e) {
        for (const s of servers) log(`${s.label} server log tail:\n${s.srv.log().slice(-3000)}`);
        throw e;
      } finally {
        for (const s of servers) await stopChild(s.srv.child);
      }
    }
  }

  // ---- quotas: the steady tenant's latency alone and next to a tenant at 10× its quota
  if (enabled("quota")) await quotaSuite(T.steady);

  // ---- KafkaTracker direct
  if (enabled("tracker")) {
    const cfg: TrackerBenchConfig = {
      brokers,
      tenantId: "bench_tracker",
      mode: "max",
      events: plan.trackerEvents,
      fallbackDir: join(workDir, "tracker-fallback"),
    };
    const trackerPhase = (name: string, c: TrackerBenchConfig) =>
      measured<TrackerBenchResult>(
        {
          name,
          group: "tracker",
          subject: "ours",
          path: "tracker",
          loop: c.mode === "max" ? "closed" : "open",
          tool: "bench/lib/tracker-bench.ts",
          settings:
            c.mode === "max" ? `${c.events} events, SDK defaults` : `${c.rate}/s for ${c.durationSec}s, defaults`,
        },
        T.tracker,
        undefined,
        () => runTsJson<TrackerBenchResult>("bench/lib/tracker-bench.ts", [JSON.stringify(c)], 180_000),
        (r) => ({
          counted: r.delivered,
          seconds: r.seconds,
          errors: r.tracked - r.delivered,
          extra:
            c.mode === "rate"
              ? {
                  offeredPerSec: c.rate,
                  latencyMs: {
                    p50: r.latencyMs.p50,
                    p99: r.latencyMs.p99,
                    p999: r.latencyMs.p999,
                    max: r.latencyMs.max,
                  },
                }
              : {},
        }),
      );
    await trackerPhase("ours KafkaTracker direct, max", cfg);
    for (const rate of plan.trackerRates)
      await trackerPhase(`ours KafkaTracker direct @ ${rate}/s`, {
        ...cfg,
        mode: "rate",
        rate,
        durationSec: plan.openSec,
      });
  }

  // ---- Kafka's own producer ceiling
  if (enabled("perftest")) {
    await measured<{
      line: string;
      recordsPerSec: number;
      p50: number;
      p99: number;
      p999: number;
      max: number;
      seconds: number;
      records: number;
    }>(
      {
        name: "ceiling kafka-producer-perf-test",
        group: "perftest",
        subject: "perftest",
        path: "kafka",
        loop: "closed",
        tool: "ProducerPerformance",
        settings: `${plan.perfRecords} records of ~${recordBytes} B (our encoded events), acks=all, gzip, --throughput -1`,
      },
      T.perf,
      undefined,
      async () => {
        const r = await run(
          join(repoRoot, "scripts/kafka/run-class.sh"),
          [
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            T.perf,
            "--num-records",
            String(plan.perfRecords),
            "--payload-file",
            payloadFile,
            "--throughput",
            "-1",
            "--command-property",
            `bootstrap.servers=${brokers.join(",")}`,
            "acks=all",
            "compression.type=gzip",
          ],
          { cwd: repoRoot, timeoutMs: 300_000 },
        );
        const line =
          r.stdout
            .trim()
            .split("\n")
            .filter((l) => l.includes("records sent"))
            .pop() ?? "";
        const m =
          /(\d+) records sent, ([\d.]+) records\/sec .* ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th/.exec(
            line,
          );
        if (!m)
          throw new Error(
            `ProducerPerformance output not understood (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`,
          );
        const records = Number(m[1]);
        const recordsPerSec = Number(m[2]);
        return {
          line,
          records,
          recordsPerSec,
          seconds: records / recordsPerSec,
          max: Number(m[4]),
          p50: Number(m[5]),
          p99: Number(m[7]),
          p999: Number(m[8]),
        };
      },
      (r) => ({
        counted: r.records,
        seconds: r.seconds,
        errors: 0,
        extra: { latencyMs: { p50: r.p50, p99: r.p99, p999: r.p999, max: r.max } },
      }),
    );
  }

  // ---- bare node:http ceilings: reading the body only, and reading + JSON.parse (closed loop only)
  if (enabled("bare")) {
    for (const json of [false, true]) {
      const port = await freePort();
      const bare = startNode([
        "--import",
        "tsx",
        "bench/lib/bare-server.ts",
        String(port),
        ...(json ? ["--json"] : []),
      ]);
      const subject = json ? "bare-json" : "bare";
      const label = json ? "ceiling bare node:http + JSON.parse" : "ceiling bare node:http";
      try {
        await sleep(300);
        await waitHttp(`http://127.0.0.1:${port}/`, 30_000);
        const t: Target = { subject, group: "bare", host: "127.0.0.1", port, pid: bare.child.pid };
        const url = `http://127.0.0.1:${port}/api/v1/behaviors/track`;
        await closedH2load(t, "rest", `${label}, max (closed loop)`, {
          url,
          body: bareBody,
          headers: ["content-type: application/json"],
          h1: true,
          clients: 64,
          eventsPerRequest: 1,
          topic: "",
        });
        if (!json)
          for (const rate of plan.rates)
            await openLoop(
              t,
              "rest",
              `${label} @ ${rate}/s`,
              {
                kind: "http1",
                host: t.host,
                port,
                path: "/api/v1/behaviors/track",
                bodyFile: bareBody,
                rate,
                conns: 128,
              },
              "",
            );
      } finally {
        await stopChild(bare.child);
      }
    }
  }

  // ---- naive baseline: express + kafkajs
  if (enabled("baseline")) {
    const port = await freePort();
    const base = startNode([join(repoRoot, "bench/baseline/server.mjs")], {
      ...process.env,
      PORT: String(port),
      KAFKA_BROKERS: brokers.join(","),
    });
    try {
      const until = Date.now() + 30_000;
      while (!/baseline express\+kafkajs on/.test(base.log()) && Date.now() < until) await sleep(100);
      const t: Target = { subject: "baseline", group: "baseline", host: "127.0.0.1", port, pid: base.child.pid };
      await restSuite(t, "baseline express+kafkajs", baselineBody, T.baseline);
    } catch (e) {
      log(`baseline log tail:\n${base.log().slice(-3000)}`);
      throw e;
    } finally {
      await stopChild(base.child);
    }
  }

  await kafka.close();
  if (startedBroker) {
    log("stopping the broker this run started");
    await run(join(repoRoot, "scripts/kafka/down.sh"), [], { cwd: repoRoot, timeoutMs: 60_000 });
  }

  let commit = "unknown";
  try {
    const r = await run("git", ["-C", repoRoot, "describe", "--always", "--dirty"], {});
    commit = r.stdout.trim() || commit;
  } catch {}
  const finishedAt = new Date();
  const h2v = (await run("h2load", ["--version"], {})).stdout.trim().split("\n")[0] ?? "";
  const report = {
    run: {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 0),
      mode: smoke ? "smoke" : "full",
      profile,
      commit,
      command: `bench/run.sh ${argv.join(" ")}`.trim(),
    },
    machine: {
      ...machineAtStart,
      h2load: h2v,
      loadavgAtEnd: loadavg()
        .map((x) => x.toFixed(2))
        .join(" "),
    },
    recordBytes,
    plan,
    phases,
    notes,
  };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "latest.json"), JSON.stringify(report, null, 2) + "\n");
  const md = renderMarkdown(report);
  writeFileSync(join(resultsDir, "latest.md"), md);
  process.stdout.write(md);
  if (!existsSync(join(resultsDir, "latest.md"))) process.exit(1);
  process.exit(0);
}

export type Report = {
  run: {
    startedAt: string;
    finishedAt: string;
    seconds: number;
    mode: string;
    profile: boolean;
    commit: string;
    command: string;
  };
  machine: Record<string, string | number>;
  recordBytes: number;
  plan: typeof plan;
  phases: Phase[];
  notes: string[];
};

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
