/**
 * The spool's answers on every transport, with the Kafka sink pointed at a loopback port where
 * no broker listens (so nothing here needs or disturbs a broker): REST 202 `"spooled": true`,
 * gRPC/Connect OK with spooled, the spool counters in /metrics, readiness, a full spool → 503,
 * and without a spool the old 503. Forwarding to a real broker is covered by test/chaos.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { seedEventData, seedEventMessage } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { freePort } from "../kafka/broker.js";
import { call } from "./http-helpers.js";

/** A loopback port nobody listens on: test/kafka/broker.ts's freePort binds one and releases it. */
const deadPort = freePort;

describe("durable spool: answers while the broker is unreachable", () => {
  let t: TestServer;
  let spoolDir: string;
  let brokers: string[];

  beforeAll(async () => {
    spoolDir = mkdtempSync(join(tmpdir(), "spool-answers-"));
    brokers = [`127.0.0.1:${await deadPort()}`];
    t = await startTestServer({
      sink: "kafka",
      kafka: { brokers, publishTimeoutMs: 1500, connectTimeoutMs: 300 },
      spool: { dir: spoolDir },
    });
  }, 30_000);

  afterAll(async () => {
    await t?.stop(true);
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it("REST track → 202 with spooled: true; batch → 202 with spooled: true", async () => {
    const r = await call(t.baseUrl, "POST", "/api/v1/behaviors/track", seedEventData());
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ success: true, spooled: true, event_id: expect.stringMatching(/^evt_/) });
    expect(r.body.message).toMatch(/spooled/);

    const b = await call(t.baseUrl, "POST", "/api/v1/behaviors/track/batch", {
      events: [seedEventData(), { ...seedEventData(), user_id: "" }],
    });
    expect(b.status).toBe(202);
    expect(b.body).toMatchObject({ success: false, succeeded: 1, failed: 1, spooled: true });
  }, 20_000);

  it("gRPC and Connect: OK with spooled", async () => {
    for (const transport of [
      createGrpcTransport({ baseUrl: t.grpcUrl }),
      createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
    ]) {
      const client = createClient(BehaviorService, transport);
      const res = await client.trackEvent({ event: seedEventMessage() });
      expect(res.success).toBe(true);
      expect(res.spooled).toBe(true);
      const batch = await client.trackBatch({ events: [seedEventMessage(), seedEventMessage()] });
      expect(batch.spooled).toBe(true);
      expect(batch.succeeded).toBe(2);
    }
  }, 20_000);

  it("/metrics exports the spool counters; /readyz stays ready; health says Kafka is down", async () => {
    const m = await fetch(`${t.baseUrl}/metrics`).then((r) => r.text());
    // 1 + 1 (REST) + 3 + 3 (gRPC, Connect) events spooled.
    expect(m).toContain('tracking_spool_events_total{result="spooled"} 8');
    expect(m).toContain('tracking_spool_events_total{result="forwarded"} 0');
    expect(m).toMatch(/^tracking_spool_bytes [1-9]\d*$/m);
    const ready = await call(t.baseUrl, "GET", "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, sink_available: false, spooling: true });
    const health = await call(t.baseUrl, "GET", "/api/v1/behaviors/health");
    expect(health.body).toMatchObject({ status: "degraded", kafka_available: false });
  });
});

describe("durable spool: limits and default", () => {
  it("a full spool answers 503 with Retry-After, as without a spool", async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), "spool-full-"));
    const t = await startTestServer({
      sink: "kafka",
      kafka: { brokers: [`127.0.0.1:${await deadPort()}`], publishTimeoutMs: 1500, connectTimeoutMs: 300 },
      spool: { dir: spoolDir, maxBytes: 1500 },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await call(t.baseUrl, "POST", "/api/v1/behaviors/track", seedEventData());
        statuses.push(r.status);
        if (r.status === 503) {
          expect(r.headers.get("retry-after")).toBeTruthy();
          expect(r.body).toMatchObject({ success: false, error: { code: "unavailable" } });
        }
      }
      expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(0);
      expect(statuses.at(-1)).toBe(503);
    } finally {
      await t.stop(true);
      rmSync(spoolDir, { recursive: true, force: true });
    }
  }, 30_000);

  it("without --spool-dir the answer stays 503 (default: answer after the broker's ack)", async () => {
    const t = await startTestServer({
      sink: "kafka",
      kafka: { brokers: [`127.0.0.1:${await deadPort()}`], publishTimeoutMs: 1500, connectTimeoutMs: 300 },
    });
    try {
      const r = await call(t.baseUrl, "POST", "/api/v1/behaviors/track", seedEventData());
      expect(r.status).toBe(503);
      expect(r.body.spooled).toBeUndefined();
      expect(await fetch(`${t.baseUrl}/metrics`).then((x) => x.text())).not.toContain("tracking_spool_");
    } finally {
      await t.stop(true);
    }
  }, 30_000);
});
