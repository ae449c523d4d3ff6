/**
 * Shared parts of the chaos tests: a bounded REST load whose every request has a client-side
 * deadline (so a hang is counted, not waited for), the server spawned as a real CLI process
 * against a private broker, and the "acknowledged − consumed" check with its one-line summary.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedEventData } from "../helpers/seed.js";
import { readTopic, topicEndOffset } from "../kafka/broker.js";
import { type CliServer, spawnCli } from "../server/http-helpers.js";

/** The server's bounded wait for the broker's ack in the chaos runs. */
export const PUBLISH_TIMEOUT_MS = 2000;
/** A chaos client's deadline per request: the server's publish timeout plus a margin. */
export const DEADLINE_MS = PUBLISH_TIMEOUT_MS + 3000;

/**
 * The servers and temporary directories of one chaos file, for its afterAll: `tmp` makes a
 * directory, `serve` starts a server on a data dir (Kafka sink on `bootstrap()`, optional spool),
 * `cleanUp` stops every server and removes every directory.
 */
export class ChaosRun {
  readonly #dirs: string[] = [];
  readonly #servers: CliServer[] = [];
  readonly #bootstrap: () => string;

  /** `bootstrap` is read at each `serve` (the broker may be started after construction). */
  constructor(bootstrap: () => string) {
    this.#bootstrap = bootstrap;
  }

  /** A new temporary directory named with `prefix`. */
  tmp(prefix: string): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(d);
    return d;
  }

  /** Starts a server on `dataDir` (spooling to `spoolDir` if given). */
  async serve(dataDir: string, spoolDir?: string): Promise<CliServer> {
    const s = await startServer(dataDir, serverEnv(this.#bootstrap(), PUBLISH_TIMEOUT_MS, spoolDir));
    this.#servers.push(s);
    return s;
  }

  /** Stops every server started here and removes every directory made here. */
  async cleanUp(): Promise<void> {
    for (const s of this.#servers) await stopServer(s);
    for (const d of this.#dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Server settings for a chaos run: Kafka sink on `bootstrap`, short publish timeout, optional spool. */
export function serverEnv(bootstrap: string, publishTimeoutMs: number, spoolDir?: string): Record<string, string> {
  return {
    TRACKING_SINK: "kafka",
    KAFKA_BROKERS: bootstrap,
    KAFKA_PUBLISH_TIMEOUT_MS: String(publishTimeoutMs),
    KAFKA_PARTITIONS: "3",
    ...(spoolDir !== undefined ? { TRACKING_SPOOL_DIR: spoolDir } : {}),
  };
}

/** Starts `tracking serve` as a child process (one process: SIGKILL hits the server itself). */
export function startServer(dataDir: string, env: Record<string, string>): Promise<CliServer> {
  return spawnCli(dataDir, { env, timeoutMs: 60_000 });
}

/** SIGKILLs the server and waits for the exit. */
export async function killServer(s: CliServer): Promise<void> {
  s.child.kill("SIGKILL");
  await s.exited;
}

/** Stops the server cleanly (SIGTERM) if it is still running. */
export async function stopServer(s: CliServer | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill("SIGTERM");
  const timer = setTimeout(() => s.child.kill("SIGKILL"), 15_000);
  await s.exited;
  clearTimeout(timer);
}

/** Outcome counters of a load run. */
export interface LoadCounts {
  sent: number;
  /** 200 (broker ack). */
  ok: number;
  /** 202 (spooled). */
  spooled: number;
  /** 503 (unavailable). */
  unavailable: number;
  /** Other HTTP statuses (a failure of the test). */
  otherStatus: number;
  /** Connection refused/reset (server killed or restarting). */
  connectionErrors: number;
  /** Requests that hit the client deadline: must stay 0. */
  hung: number;
  /** Longest request, ms. */
  maxLatencyMs: number;
}

/**
 * A bounded REST load: `workers` loops, each sending one event at a time for its own users (so
 * per user, event k+1 is sent only after k was answered: Kafka must keep that order), until
 * stopped or `maxEvents` were sent. Every request has a deadline of `deadlineMs`.
 */
export class Load {
  /** event_id → [user, seq] of every acknowledged (200/202) event. */
  readonly acked = new Map<string, { user: string; seq: number }>();
  readonly counts: LoadCounts = {
    sent: 0,
    ok: 0,
    spooled: 0,
    unavailable: 0,
    otherStatus: 0,
    connectionErrors: 0,
    hung: 0,
    maxLatencyMs: 0,
  };
  readonly otherStatuses: string[] = [];
  #running = true;
  readonly #done: Promise<void>[];
  baseUrl: string;

  constructor(
    baseUrl: string,
    readonly tenant: string,
    options: { workers: number; maxEvents: number; deadlineMs: number; pauseMs?: number },
  ) {
    this.baseUrl = baseUrl;
    this.#done = Array.from({ length: options.workers }, (_, w) => this.#worker(w, options));
  }

  async #worker(w: number, o: { maxEvents: number; deadlineMs: number; pauseMs?: number }): Promise<void> {
    let seq = 0;
    while (this.#running && this.counts.sent < o.maxEvents) {
      const user = `w${w}_u${seq % 4}`;
      const event = { ...seedEventData(), tenant_id: this.tenant, user_id: user, item_id: `item_${seq}` };
      this.counts.sent++;
      const t0 = performance.now();
      try {
        const res = await fetch(`${this.baseUrl}/api/v1/behaviors/track`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(o.deadlineMs),
        });
        const body = (await res.json().catch(() => ({}))) as { event_id?: string };
        if (res.status === 200 || res.status === 202) {
          if (res.status === 200) this.counts.ok++;
          else this.counts.spooled++;
          if (typeof body.event_id === "string") this.acked.set(body.event_id, { user, seq });
        } else if (res.status === 503) {
          this.counts.unavailable++;
        } else {
          this.counts.otherStatus++;
          if (this.otherStatuses.length < 5) this.otherStatuses.push(`${res.status} ${JSON.stringify(body)}`);
        }
      } catch (e) {
        if ((e as Error).name === "TimeoutError") this.counts.hung++;
        else {
          this.counts.connectionErrors++;
          await sleep(50); // the server is down or restarting
        }
      }
      this.counts.maxLatencyMs = Math.max(this.counts.maxLatencyMs, performance.now() - t0);
      seq++;
      if (o.pauseMs) await sleep(o.pauseMs);
    }
  }

  /** Waits until `n` more events were acknowledged (or `timeoutMs` passed). */
  async ackedAtLeast(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked.size < n && Date.now() < deadline) await sleep(20);
  }

  /** Stops the workers and waits for their last requests. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#done);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What the topic holds compared with what was acknowledged. */
export interface Verdict {
  acknowledged: number;
  /** Records in the topic (duplicates included). */
  found: number;
  /** Acknowledged event_ids not in the topic. */
  lost: string[];
  /** Records beyond the first of each event_id. */
  duplicates: number;
  /** Users whose acknowledged events appear out of send order (first occurrences). */
  orderViolations: number;
}

/** Reads the whole topic and checks every acknowledged event is in it, in order per user. */
export async function verify(bootstrap: string, topic: string, load: Load): Promise<Verdict> {
  const end = await topicEndOffset(bootstrap, topic);
  const records = end === 0 ? [] : await readTopic(bootstrap, topic, end, 30_000);
  const seen = new Set<string>();
  let duplicates = 0;
  const lastSeq = new Map<string, number>();
  let orderViolations = 0;
  // readTopic returns records in offset order per partition; a user's events share a partition.
  for (const r of records) {
    const v = JSON.parse(r.value) as { event_id: string; user_id: string };
    if (seen.has(v.event_id)) {
      duplicates++;
      continue;
    }
    seen.add(v.event_id);
    const a = load.acked.get(v.event_id);
    if (a === undefined) continue;
    const prev = lastSeq.get(a.user) ?? -1;
    if (a.seq < prev) orderViolations++;
    lastSeq.set(a.user, a.seq);
  }
  const lost = [...load.acked.keys()].filter((id) => !seen.has(id));
  return { acknowledged: load.acked.size, found: records.length, lost, duplicates, orderViolations };
}

/** The one-line summary every chaos test prints. */
export function summary(name: string, faults: string[], load: Load, v: Verdict, extra = ""): string {
  const c = load.counts;
  return (
    `[chaos] ${name}: faults=${faults.length} (${faults.join(", ")}) ` +
    `sent=${c.sent} acknowledged=${v.acknowledged} (200=${c.ok}, 202 spooled=${c.spooled}) 503=${c.unavailable} ` +
    `conn_errors=${c.connectionErrors} hung=${c.hung} max_latency_ms=${Math.round(c.maxLatencyMs)} ` +
    `found=${v.found} lost=${v.lost.length} duplicates=${v.duplicates} order_violations=${v.orderViolations}${extra ? ` ${extra}` : ""}`
  );
}

/** Reads a Prometheus sample value from /metrics text. */
export function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Polls the server's /readyz until the spool is empty. */
export async function waitSpoolDrained(s: CliServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${s.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) })
      .then((x) => x.json() as Promise<{ spooling?: boolean; sink_available?: boolean }>)
      .catch(() => undefined);
    if (r && r.spooling === false && r.sink_available === true) return;
    if (Date.now() > deadline) throw new Error(`spool not drained after ${timeoutMs} ms: ${JSON.stringify(r)}`);
    await sleep(200);
  }
}
