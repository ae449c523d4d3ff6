/**
 * Open-loop load generator: sends requests on a fixed timeline (request i is due at
 * start + i/rate) whatever the server's speed, and measures each latency from the request's
 * SCHEDULED time, so a slow server cannot hide its queueing (no coordinated omission).
 * A due request waits for a free connection (HTTP/1.1, one request in flight per connection) or
 * stream slot (gRPC); that wait is part of its latency. When the backlog exceeds one second of
 * load the request is dropped and counted (the server is saturated).
 *
 *   kind "http1": raw keep-alive sockets with a pre-built request, minimal response parser.
 *   kind "grpc":  node:http2 sessions (h2c); success = HTTP 200 and grpc-status 0 (trailers).
 *
 * Usage (child process of the orchestrator): tsx bench/lib/openloop.ts '<json config>'; prints one JSON line.
 * Timer granularity: the schedule is driven by a 1 ms timer, so up to ~1 ms of the generator's own
 * lateness is included in the latencies (conservative). `service` latencies (from the actual write)
 * are reported too.
 */
import { readFileSync } from "node:fs";
import { type ClientHttp2Session, constants as h2c, connect as h2connect } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { type LatencySummary, round, summarize, type Turns, turnAt } from "./common.js";

export interface OpenLoopConfig {
  kind: "http1" | "grpc";
  host: string;
  port: number;
  path: string;
  bodyFile: string;
  contentType?: string;
  /** Extra request headers (e.g. `x-api-key`), sent with every request. */
  headers?: Record<string, string>;
  /** Offered requests per second. */
  rate: number;
  durationSec: number;
  /** HTTP/1.1: sockets; gRPC: HTTP/2 sessions. */
  conns: number;
  /** gRPC: most streams in flight per session. Default 256. */
  streamsPerConn?: number;
  /** Longest wait for in-flight requests after the schedule ended, ms. Default 10 000. */
  drainMs?: number;
  /**
   * Wall-clock time (epoch ms) at which the schedule starts, so that generators in different
   * processes share one timeline (their windows line up). Default: 20 ms after the connections open.
   */
  startAtEpochMs?: number;
  /**
   * Neighbours taking turns beside one continuous generator: time from the start is cut into
   * slots of `slotMs`, and each period of `conditions` slots holds every condition once, in an
   * order rotated by one each period (slot g belongs to condition (g + ⌊g / conditions⌋) mod
   * conditions), so no condition always sits at the same phase of a periodic disturbance.
   * Every generator of a run gets the same `turns` and `startAtEpochMs`.
   */
  turns?: Turns;
  /** With `turns`: send only the requests due in this condition's slots (the others are skipped, not counted). */
  onlyCondition?: number;
  /**
   * With `turns`: also summarise the latencies by condition (`byCondition`), leaving out the
   * requests due in a slot's first `settleMs` (the neighbours are still switching) and in the
   * first `warmupMs` of the run (the generators' own warm-up).
   */
  splitByCondition?: { settleMs: number; warmupMs: number };
}

/** The latencies of the requests due in one condition's slots (see `OpenLoopConfig.splitByCondition`). */
export interface ConditionLatencies {
  /** All the condition's slots pooled. */
  pooled: LatencySummary;
  /** P99 of each of its slots (one per period), in time order. */
  slotP99s: number[];
}

export interface OpenLoopResult {
  kind: string;
  offeredRps: number;
  durationSec: number;
  scheduled: number;
  ok: number;
  failed: number;
  dropped: number;
  timedOut: number;
  achievedRps: number;
  /** From scheduled send time to response (what a client at this rate sees). */
  latencyMs: LatencySummary;
  /** From the actual write to the response (excludes the wait for a free connection). */
  serviceMs: LatencySummary;
  statuses: Record<string, number>;
  firstError?: string | undefined;
  /** With `splitByCondition`: one entry per condition. */
  byCondition?: ConditionLatencies[];
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as OpenLoopConfig;
const body = readFileSync(cfg.bodyFile);
const total = Math.max(1, Math.round(cfg.rate * cfg.durationSec));
const intervalMs = 1000 / cfg.rate;
const maxBacklog = Math.max(100, cfg.rate); // one second of load
const lat = new Float64Array(total);
const svc = new Float64Array(total);
/** Due time of each recorded latency, ms after the start (for `splitByCondition`). */
const due = new Float64Array(total);
let start = 0;
let nLat = 0;
let ok = 0;
let failed = 0;
let dropped = 0;
let inFlight = 0;
let firstError: string | undefined;
const statuses: Record<string, number> = {};

// Backlog of due-but-unsent requests (scheduled times), a FIFO with a moving head.
const backlog: number[] = [];
let head = 0;
const backlogSize = () => backlog.length - head;

function record(scheduled: number, sentAt: number, success: boolean, status: string, detail?: () => string): void {
  const now = performance.now();
  statuses[status] = (statuses[status] ?? 0) + 1;
  if (success) {
    ok++;
    lat[nLat] = now - scheduled;
    svc[nLat] = now - sentAt;
    due[nLat] = scheduled - start;
    nLat++;
  } else {
    failed++;
    if (firstError === undefined && detail) firstError = detail().slice(0, 300);
  }
}

// ---------------------------------------------------------------- HTTP/1.1
interface H1 {
  socket: Socket;
  busy: boolean;
  buf: Buffer | undefined;
  scheduled: number;
  sentAt: number;
}
const h1Idle: H1[] = [];
const h1Request = Buffer.concat([
  Buffer.from(
    `POST ${cfg.path} HTTP/1.1\r\nHost: ${cfg.host}:${cfg.port}\r\nContent-Type: ${cfg.contentType ?? "application/json"}\r\n` +
      Object.entries(cfg.headers ?? {})
        .map(([name, v]) => `${name}: ${v}\r\n`)
        .join("") +
      `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
  ),
  body,
]);

function h1Open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: cfg.host, port: cfg.port, noDelay: true });
    const c: H1 = { socket, busy: false, buf: undefined, scheduled: 0, sentAt: 0 };
    socket.once("connect", () => {
      h1Idle.push(c);
      resolve();
    });
    socket.once("error", (e) => {
      if (!c.busy) reject(e);
    });
    socket.on("data", (d: Buffer) => h1Data(c, d));
    socket.on("close", () => {
      const i = h1Idle.indexOf(c);
      if (i >= 0) h1Idle.splice(i, 1);
      if (c.busy) {
        c.busy = false;
        inFlight--;
        record(c.scheduled, c.sentAt, false, "closed", () => "connection closed by server");
      }
      if (!stopping) void h1Open().then(pump, () => {});
    });
  });
}

function h1Data(c: H1, d: Buffer): void {
  const buf = c.buf ? Buffer.concat([c.buf, d]) : d;
  const headerEnd = buf.indexOf("\r\n\r\n");
  if (headerEnd < 0) {
    c.buf = buf;
    return;
  }
  const head = buf.toString("latin1", 0, headerEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  let complete: boolean;
  if (cl) complete = buf.length >= headerEnd + 4 + Number(cl[1]);
  else if (head.includes("transfer-encoding: chunked"))
    complete = buf.subarray(buf.length - 5).toString("latin1") === "0\r\n\r\n";
  else complete = true;
  if (!complete) {
    c.buf = buf;
    return;
  }
  c.buf = undefined;
  c.busy = false;
  inFlight--;
  const success = status >= 200 && status < 300;
  record(c.scheduled, c.sentAt, success, String(status), () => buf.toString("utf8"));
  if (head.includes("connection: close")) return; // 'close' handler reconnects
  h1Idle.push(c);
  pump();
}

function h1Send(scheduled: number): boolean {
  const c = h1Idle.pop();
  if (!c) return false;
  c.busy = true;
  c.scheduled = scheduled;
  c.sentAt = performance.now();
  inFlight++;
  c.socket.write(h1Request);
  return true;
}

// ---------------------------------------------------------------- gRPC over h2c
const sessions: ClientHttp2Session[] = [];
const sessionLoad: number[] = [];
const streamsPerConn = cfg.streamsPerConn ?? 256;
let rr = 0;

function grpcOpen(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`http://${cfg.host}:${cfg.port}`);
    s.once("connect", () => {
      sessions.push(s);
      sessionLoad.push(0);
      resolve();
    });
    s.once("error", reject);
  });
}

function grpcSend(scheduled: number): boolean {
  for (let k = 0; k < sessions.length; k++) {
    const i = (rr + k) % sessions.length;
    const session = sessions[i];
    const load = sessionLoad[i] ?? 0;
    if (session === undefined || load >= streamsPerConn) continue;
    rr = i + 1;
    sessionLoad[i] = load + 1;
    inFlight++;
    const sentAt = performance.now();
    const st = session.request({
      [h2c.HTTP2_HEADER_METHOD]: "POST",
      [h2c.HTTP2_HEADER_PATH]: cfg.path,
      "content-type": "application/grpc",
      te: "trailers",
      ...cfg.headers,
    });
    let httpStatus = 0;
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    st.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) grpcMessage = String(h["grpc-message"]);
    });
    st.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) grpcStatus = String(t["grpc-status"]);
      if (t["grpc-message"] !== undefined) grpcMessage = String(t["grpc-message"]);
    });
    st.on("data", () => {});
    st.on("error", () => {});
    st.on("close", () => {
      sessionLoad[i] = (sessionLoad[i] ?? 1) - 1;
      inFlight--;
      const success = httpStatus === 200 && grpcStatus === "0";
      record(
        scheduled,
        sentAt,
        success,
        `http ${httpStatus} grpc ${grpcStatus ?? "-"}`,
        () => `grpc-status ${grpcStatus} ${grpcMessage ?? ""}`,
      );
      pump();
    });
    st.end(body);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- schedule
const send = cfg.kind === "http1" ? h1Send : grpcSend;
let stopping = false;

function pump(): void {
  for (let s = backlog[head]; s !== undefined; s = backlog[head]) {
    if (!send(s)) return;
    head++;
  }
  if (head > 4096 && head * 2 > backlog.length) {
    backlog.splice(0, head);
    head = 0;
  }
}

function dispatch(scheduled: number): void {
  if (backlogSize() === 0 && send(scheduled)) return;
  if (backlogSize() >= maxBacklog) {
    dropped++;
    return;
  }
  backlog.push(scheduled);
}

async function main(): Promise<void> {
  const opens: Promise<void>[] = [];
  for (let i = 0; i < cfg.conns; i++) opens.push(cfg.kind === "http1" ? h1Open() : grpcOpen());
  await Promise.all(opens);
  start = performance.now() + (cfg.startAtEpochMs === undefined ? 20 : Math.max(0, cfg.startAtEpochMs - Date.now()));
  const turns = cfg.turns;
  const only = cfg.onlyCondition;
  const inWindow = (offset: number) =>
    turns === undefined || only === undefined || turnAt(turns, offset).condition === only;
  let next = 0;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        if (inWindow(next * intervalMs)) {
          dispatch(start + next * intervalMs);
          sent++;
        }
        next++;
      }
      if (next < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const drainUntil = performance.now() + (cfg.drainMs ?? 10_000);
  while ((inFlight > 0 || backlogSize() > 0) && performance.now() < drainUntil)
    await new Promise((r) => setTimeout(r, 5));
  const elapsed = (performance.now() - start) / 1000;
  stopping = true;
  const timedOut = inFlight + backlogSize();
  // Split before summarize(), which sorts `lat` in place and so loses which latency was due when.
  const split = cfg.turns && cfg.splitByCondition && byCondition(cfg.turns, cfg.splitByCondition);
  const result: OpenLoopResult = {
    kind: cfg.kind,
    offeredRps: cfg.rate,
    durationSec: cfg.durationSec,
    scheduled: sent,
    ok,
    failed,
    dropped,
    timedOut,
    achievedRps: round(ok / Math.max(elapsed, cfg.durationSec), 0),
    latencyMs: summarize(lat.subarray(0, nLat)),
    serviceMs: summarize(svc.subarray(0, nLat)),
    ...(split && { byCondition: split }),
    statuses,
    firstError,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
  for (const s of sessions) s.destroy();
  process.exit(0);
}

/** Splits the recorded latencies by the condition whose slot they were due in (see `OpenLoopConfig.turns`). */
function byCondition(t: Turns, c: NonNullable<OpenLoopConfig["splitByCondition"]>): ConditionLatencies[] {
  const periods = Math.ceil((total * intervalMs) / (t.slotMs * t.conditions));
  const buckets: number[][][] = Array.from({ length: t.conditions }, () => Array.from({ length: periods }, () => []));
  for (let i = 0; i < nLat; i++) {
    const at = due[i]!;
    const turn = turnAt(t, at);
    if (turn.inSlotMs < c.settleMs || at < c.warmupMs) continue;
    buckets[turn.condition]![turn.period]!.push(lat[i]!);
  }
  return buckets.map((slots) => ({
    pooled: summarize(Float64Array.from(slots.flat())),
    slotP99s: slots.filter((x) => x.length > 0).map((x) => summarize(Float64Array.from(x)).p99),
  }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
