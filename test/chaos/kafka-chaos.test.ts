/**
 * Chaos under load with the Kafka sink, against a PRIVATE broker (test/kafka/broker.ts
 * startFaultBroker: own ports and data dir; the shared broker on 9092 is never touched):
 * - the broker SIGKILLed mid-load and restarted (no spool: 503 / UNAVAILABLE; with spool: 202);
 * - the broker paused with SIGSTOP for 10 s while the spooling server is SIGKILLed and restarted,
 *   then SIGKILLed again while it forwards the spool, and restarted.
 * Each asserts: nothing acknowledged (200/202) is missing from Kafka, no request outlived its
 * client deadline, per-user order kept; and prints one summary line (faults, acknowledged,
 * found, lost, duplicates).
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { seedEventMessage } from "../helpers/seed.js";
import { type FaultBroker, startFaultBroker, uniqueTenant } from "../kafka/broker.js";
import type { CliServer } from "../server/http-helpers.js";
import {
  ChaosRun,
  DEADLINE_MS,
  killServer,
  Load,
  metric,
  PUBLISH_TIMEOUT_MS,
  sleep,
  stopServer,
  summary,
  verify,
  waitSpoolDrained,
} from "./chaos-helpers.js";

describe("chaos: Kafka sink under load (private broker)", () => {
  let broker: FaultBroker;
  const run = new ChaosRun(() => broker.bootstrap);
  const tmp = (prefix: string) => run.tmp(prefix);
  const serve = (dataDir: string, spoolDir?: string) => run.serve(dataDir, spoolDir);

  beforeAll(async () => {
    broker = await startFaultBroker();
  }, 200_000);

  afterAll(async () => {
    await run.cleanUp();
    await broker?.destroy();
  }, 90_000);

  /** Grpc TrackEvent with a deadline; returns the response or the ConnectError code. */
  async function grpcTrack(s: CliServer, tenant: string): Promise<{ spooled?: boolean | undefined } | Code> {
    const client = createClient(BehaviorService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${s.grpcPort}` }));
    try {
      return await client.trackEvent(
        { event: { ...seedEventMessage(), tenantId: tenant, userId: "grpc_user" } },
        { timeoutMs: DEADLINE_MS },
      );
    } catch (e) {
      return ConnectError.from(e).code;
    }
  }

  it("broker SIGKILL mid-load, then restarted: without spool 503/UNAVAILABLE, with spool 202; nothing acknowledged lost", async () => {
    // Two servers on the one broker, so one broker crash and restart serves both variants.
    const plainTenant = uniqueTenant("chaos_brkill");
    const spoolTenant = uniqueTenant("chaos_brkill_spool");
    const faults: string[] = [];
    const plain = await serve(tmp("chaos-brk-"));
    const spooling = await serve(tmp("chaos-brk2-"), tmp("chaos-brk-spool-"));
    const opts = { workers: 4, maxEvents: 8000, deadlineMs: DEADLINE_MS, pauseMs: 5 };
    // Refused requests are fast (503 at once while the broker is known down), so the plain load
    // may send thousands during the outage; its cap must outlast a slow broker restart (>60 s under
    // load was seen) or it ends before it can show the recovery. Still bounded: 60,000 requests.
    const plainLoad = new Load(plain.baseUrl, plainTenant, { ...opts, maxEvents: 60_000 });
    const spoolLoad = new Load(spooling.baseUrl, spoolTenant, opts);
    await Promise.all([plainLoad.ackedAtLeast(200, 20_000), spoolLoad.ackedAtLeast(200, 20_000)]);
    await broker.signal("SIGKILL");
    faults.push("broker SIGKILL");
    await sleep(PUBLISH_TIMEOUT_MS + 1000);
    const grpcPlain = await grpcTrack(plain, plainTenant);
    const grpcSpool = await grpcTrack(spooling, spoolTenant);
    const plainAckedInOutage = plainLoad.acked.size;
    await broker.start();
    faults.push("broker restart");
    await waitSpoolDrained(spooling, 60_000);
    await Promise.all([
      plainLoad.ackedAtLeast(plainAckedInOutage + 200, 40_000),
      spoolLoad.ackedAtLeast(spoolLoad.acked.size + 100, 20_000),
    ]);
    await Promise.all([plainLoad.stop(), spoolLoad.stop()]);
    const m = await fetch(`${spooling.baseUrl}/metrics`).then((r) => r.text());
    await Promise.all([stopServer(plain), stopServer(spooling)]);

    const vPlain = await verify(broker.bootstrap, `user-behaviors-${plainTenant}`, plainLoad);
    const vSpool = await verify(broker.bootstrap, `user-behaviors-${spoolTenant}`, spoolLoad);
    const forwarded = metric(m, 'tracking_spool_events_total{result="forwarded"}');
    console.log(
      summary("broker kill -9 (no spool)", faults, plainLoad, vPlain, `grpc_during_outage=${Code[grpcPlain as Code]}`),
    );
    console.log(
      summary(
        "broker kill -9 (spool)",
        faults,
        spoolLoad,
        vSpool,
        `grpc_during_outage_spooled=${(grpcSpool as { spooled?: boolean }).spooled} spool_forwarded=${forwarded} spool_possible_duplicates=${metric(m, "tracking_spool_possible_duplicates_total")}`,
      ),
    );
    expect(grpcPlain).toBe(Code.Unavailable);
    expect(grpcSpool).toMatchObject({ spooled: true });
    expect(plainLoad.counts.unavailable).toBeGreaterThan(0);
    expect(plainLoad.counts.spooled).toBe(0);
    expect(plainLoad.acked.size).toBeGreaterThan(plainAckedInOutage);
    expect(spoolLoad.counts.spooled).toBeGreaterThan(0);
    expect(spoolLoad.counts.unavailable).toBe(0);
    expect(forwarded).toBeGreaterThanOrEqual(spoolLoad.counts.spooled);
    for (const [load, v] of [
      [plainLoad, vPlain],
      [spoolLoad, vSpool],
    ] as const) {
      expect(v.lost).toEqual([]);
      expect(load.counts.hung).toBe(0);
      expect(load.otherStatuses).toEqual([]);
      expect(v.orderViolations).toBe(0);
    }
  }, 240_000);

  it("broker SIGSTOP 10 s with the spool, server SIGKILLed while spooling and again while forwarding: all acknowledged forwarded", async () => {
    const tenant = uniqueTenant("chaos_pause_spool");
    const faults: string[] = [];
    const spoolDir = tmp("chaos-pause-spool-");
    const dataDir = tmp("chaos-pause-");
    const s1 = await serve(dataDir, spoolDir);
    const load = new Load(s1.baseUrl, tenant, { workers: 6, maxEvents: 8000, deadlineMs: DEADLINE_MS, pauseMs: 2 });
    await load.ackedAtLeast(300, 20_000);
    await broker.signal("SIGSTOP");
    const pausedAt = Date.now();
    faults.push("broker SIGSTOP");
    while (load.counts.spooled < 200 && Date.now() - pausedAt < 8000) await sleep(50);
    await killServer(s1);
    faults.push("server SIGKILL while spooling");
    const s2 = await serve(dataDir, spoolDir);
    load.baseUrl = s2.baseUrl;
    const grpc = await grpcTrack(s2, tenant);
    expect(grpc).toMatchObject({ spooled: true });
    await sleep(Math.max(0, 10_000 - (Date.now() - pausedAt)));
    await broker.signal("SIGCONT");
    faults.push("broker SIGCONT after 10 s");
    // Kill it again while it reconnects and forwards the spool: the cursor decides what is resent.
    await sleep(500);
    await killServer(s2);
    faults.push("server SIGKILL while forwarding");
    const s3 = await serve(dataDir, spoolDir);
    load.baseUrl = s3.baseUrl;
    await waitSpoolDrained(s3, 60_000);
    const after = load.acked.size;
    await load.ackedAtLeast(after + 100, 20_000);
    await load.stop();
    const m = await fetch(`${s3.baseUrl}/metrics`).then((r) => r.text());
    const resent = /spool: (\d+) events of \S+ were being forwarded/.exec(s3.output())?.[1] ?? "0";
    await stopServer(s3);

    const v = await verify(broker.bootstrap, `user-behaviors-${tenant}`, load);
    const dup = metric(m, "tracking_spool_possible_duplicates_total");
    console.log(
      summary(
        "broker SIGSTOP 10 s + server kill -9 twice (spool)",
        faults,
        load,
        v,
        `spool_forwarded_after_last_restart=${metric(m, 'tracking_spool_events_total{result="forwarded"}')} resent_after_crash=${resent} spool_possible_duplicates=${dup}`,
      ),
    );
    expect(load.counts.spooled).toBeGreaterThan(0);
    expect(v.lost).toEqual([]);
    expect(load.counts.hung).toBe(0);
    expect(load.otherStatuses).toEqual([]);
    expect(v.orderViolations).toBe(0);
  }, 150_000);
});
