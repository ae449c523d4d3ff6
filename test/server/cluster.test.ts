// `tracking serve --workers 2` as a real process tree (primary + 2 workers) on the real Kafka
// broker: requests spread over the workers are summed by /metrics and the health endpoint; a
// worker killed with SIGKILL is replaced while the other keeps serving; SIGTERM to the primary
// drains both workers and exits 0; every acknowledged event is in Kafka.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureMainBroker, readTopic, uniqueTenant } from "../kafka/broker.js";
import { type CliServer, client, seedEventData, spawnCli, trackOnce, waitForLog } from "./http-helpers.js";

/** The value of one sample (exact name and label text) in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Pids of the primary's worker processes (not other children, e.g. tsx's esbuild service after a cache miss). */
function workerPids(primary: number): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(primary), "-f", "server/main\\.ts serve"], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

/** One GET on a fresh connection (so the primary's round-robin hands it to the next worker). */
function getOnce(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, headers: { connection: "close" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("tracking serve --workers 2", () => {
  const dirs: string[] = [];
  let cli: CliServer | undefined;
  afterAll(() => {
    if (cli && cli.child.exitCode === null) cli.child.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("sums metrics and health over the workers, replaces a SIGKILLed worker, drains on SIGTERM and exits 0, loses nothing acknowledged", async () => {
    const bootstrap = await ensureMainBroker();
    const tenant = uniqueTenant("wrk");
    const dir = mkdtempSync(join(tmpdir(), "tracking-workers-"));
    dirs.push(dir);
    cli = await spawnCli(dir, {
      timeoutMs: 60_000,
      args: ["--workers", "2", "--sink", "kafka", "--brokers", bootstrap],
    });
    const primary = cli.child.pid!;
    const firstPids = workerPids(primary);
    expect(firstPids).toHaveLength(2);

    const acked: string[] = [];
    const send = async (n: number, tag: string) => {
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          trackOnce(cli!.httpPort, { ...seedEventData(), tenant_id: tenant, user_id: `${tag}_${i}` }),
        ),
      );
      for (const r of results) {
        expect(r.status, r.body).toBe(200);
        acked.push((JSON.parse(r.body) as { event_id: string }).event_id);
      }
    };

    // Round-robin hands the connections to the workers in turn: a worker's own counters would
    // show about half; the primary's sum shows all of them, whichever worker answers the scrape.
    const N = 40;
    await send(N, "first");
    for (let scrape = 0; scrape < 2; scrape++) {
      const text = await (await fetch(`${cli.baseUrl}/metrics`)).text();
      expect(sample(text, "tracking_workers")).toBe(2);
      expect(sample(text, "tracking_events_received_total")).toBe(N);
      expect(sample(text, 'tracking_events_total{result="published"}')).toBe(N);
      expect(sample(text, 'tracking_request_duration_seconds_count{transport="rest",rpc="TrackEvent"}')).toBe(N);
      expect(sample(text, 'tracking_sink_available{sink="kafka"}')).toBe(1);
      expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    }
    const health = (await (await fetch(`${cli.baseUrl}/api/v1/behaviors/health`)).json()) as {
      status: string;
      stats: Record<string, number>;
    };
    expect(health.status).toBe("healthy");
    expect(health.stats).toMatchObject({ total_events: N, kafka_success: N, kafka_failed: 0, success_rate: 100 });

    // SIGKILL one worker: the other keeps serving while the primary forks a replacement.
    const victim = firstPids[0]!;
    process.kill(victim, "SIGKILL");
    await waitForLog(cli, new RegExp(`worker \\d \\(pid ${victim}\\) exited \\(signal SIGKILL\\)`), 10_000);
    await send(20, "during");
    await waitForLog(cli, /tracking cluster: worker \d \(pid \d+\) serving/, 60_000);
    const pidsAfter = workerPids(primary);
    expect(pidsAfter).toHaveLength(2);
    expect(pidsAfter).not.toContain(victim);
    await send(20, "after");
    const text = await (await fetch(`${cli.baseUrl}/metrics`)).text();
    expect(sample(text, "tracking_workers")).toBe(2);
    // The killed worker's counts (all scraped above, before it died) stay in the sums: counters
    // never drop when a worker is replaced (Prometheus would read a drop as a reset).
    expect(sample(text, "tracking_events_received_total")).toBe(N + 40);
    expect(sample(text, 'tracking_events_total{result="published"}')).toBe(N + 40);
    expect(sample(text, 'tracking_request_duration_seconds_count{transport="rest",rpc="TrackEvent"}')).toBe(N + 40);

    // SIGTERM to the primary: both workers drain, the primary exits 0, no worker is left.
    cli.child.kill("SIGTERM");
    const exit = await cli.exited;
    expect(exit, cli.output()).toEqual({ code: 0, signal: null });
    expect(workerPids(primary)).toEqual([]);
    for (const pid of pidsAfter) expect(() => process.kill(pid, 0)).toThrow();

    const records = await readTopic(bootstrap, `user-behaviors-${tenant}`, acked.length, 30_000);
    const stored = new Set(records.map((r) => (JSON.parse(r.value) as { event_id: string }).event_id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  }, 150_000);
  it("a config created or updated through one worker is served by every worker after the store poll", async () => {
    const bootstrap = await ensureMainBroker();
    const tenant = uniqueTenant("wrkcfg");
    const dir = mkdtempSync(join(tmpdir(), "tracking-workers-cfg-"));
    dirs.push(dir);
    const c = await spawnCli(dir, {
      timeoutMs: 60_000,
      args: ["--workers", "2", "--sink", "kafka", "--brokers", bootstrap, "--config-poll-ms", "200"],
    });
    try {
      const api = client(c.baseUrl);
      const path = `/api/v1/tracking-configs/${tenant}/feed`;
      const created = await api("POST", "/api/v1/tracking-configs/from-template", {
        tenant_id: tenant,
        scenario_id: "feed",
        template_id: "video",
      });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      // Ten consecutive GETs on fresh connections alternate between the two workers: all must
      // see `version` (the worker that wrote it at once, the other after its next poll).
      const everyWorkerSees = async (version: number) => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const seen = await Promise.all(Array.from({ length: 10 }, () => getOnce(c.httpPort, path)));
          const versions = seen.map((r) => (r.status === 200 ? r.body.version : r.status));
          if (versions.every((v) => v === version)) return;
          if (Date.now() > deadline) throw new Error(`workers still disagree after 10 s: ${JSON.stringify(versions)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await everyWorkerSees(1);
      const updated = await api("PATCH", path, { name: "renamed" }, { "if-match": '"1"' });
      expect(updated.status, JSON.stringify(updated.body)).toBe(200);
      await everyWorkerSees(2);
    } finally {
      c.child.kill("SIGTERM");
      await c.exited;
    }
  }, 120_000);

  it("a tenant's quota and a key's quota hold for the whole server, not once per worker", async () => {
    const bootstrap = await ensureMainBroker();
    const tenant = uniqueTenant("wrkq");
    const keyed = uniqueTenant("wrkk");
    const dir = mkdtempSync(join(tmpdir(), "tracking-workers-quota-"));
    dirs.push(dir);
    // Burst 10, 1 event/s: each worker alone would admit 10 at once, 20 or more between two.
    const keysFile = join(dir, "keys.json");
    writeFileSync(
      keysFile,
      JSON.stringify({
        tenants: { [tenant]: ["k-tenant"], [keyed]: [{ key: "k-keyed", quota: { events_per_second: 1, burst: 10 } }] },
        quotas: { [tenant]: { events_per_second: 1, burst: 10 } },
      }),
    );
    const c = await spawnCli(dir, {
      timeoutMs: 60_000,
      args: ["--workers", "2", "--sink", "kafka", "--brokers", bootstrap, "--api-keys-file", keysFile],
    });
    try {
      // 40 requests per limit, one connection each (round-robin alternates the workers), 20 ms apart.
      const offer = async (t: string, key: string) => {
        const started = performance.now();
        const statuses: number[] = [];
        for (let i = 0; i < 40; i++) {
          const r = await trackOnce(
            c.httpPort,
            { ...seedEventData(), tenant_id: t, user_id: `u_${i}` },
            { "x-api-key": key },
          );
          statuses.push(r.status);
          await new Promise((r) => setTimeout(r, 20));
        }
        return { statuses, seconds: (performance.now() - started) / 1000 };
      };
      for (const [t, key] of [
        [tenant, "k-tenant"],
        [keyed, "k-keyed"],
      ] as const) {
        const { statuses, seconds } = await offer(t, key);
        const admitted = statuses.filter((s) => s === 200).length;
        expect(
          statuses.filter((s) => s !== 200 && s !== 429),
          JSON.stringify(statuses),
        ).toEqual([]);
        // The burst, the refill over the run, and what the other worker may admit before the
        // charges reach it (one QUOTA_SHARE_MS; at 50 requests/s, a few).
        expect(admitted, `${t}: ${JSON.stringify(statuses)} in ${seconds.toFixed(1)} s`).toBeGreaterThanOrEqual(10);
        expect(admitted, `${t}: ${JSON.stringify(statuses)} in ${seconds.toFixed(1)} s`).toBeLessThanOrEqual(
          10 + Math.ceil(seconds) + 4,
        );
      }
    } finally {
      c.child.kill("SIGTERM");
      await c.exited;
    }
  }, 120_000);
});
