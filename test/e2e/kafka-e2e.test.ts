/**
 * End to end through the real broker (never mocked): events tracked over REST (fetch), gRPC
 * (connect-node gRPC transport on the gRPC port) and Connect (on the HTTP port) are read back from
 * `user-behaviors-{tenant}` by three independent consumers — a @platformatic/kafka Consumer, kcat
 * (librdkafka) and Kafka's own ConsoleConsumer (Java) — and must be the seed's Kafka message format
 * field by field: the value is the JSON we sent plus the filled event_id/timestamp (snake_case,
 * enum wire names, timestamp a JSON number), key = user_id, partition = Java murmur2 of the key,
 * headers schema-version and tracking-config-version.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ActionType,
  BehaviorEventSchema,
  BehaviorService,
  DeviceType,
} from "../../gen/es/recommender/v1/behavior_pb.js";
import type { BehaviorEventWire } from "../../gen/validator/recommender/v1/behavior_wire.js";
import { partitionForKey } from "../../sdk/common/murmur2.js";
import { startTestServer, type TestServer, untilSinkAvailable } from "../helpers/server.js";
import { ensureMainBroker, type ReadRecord, ROOT, readTopic, uniqueTenant } from "../kafka/broker.js";

const run = promisify(execFile);

type Transport = "rest" | "grpc" | "connect";

/** What one tracked event should look like on Kafka. */
interface Sent {
  transport: Transport;
  /** The wire JSON we sent (for gRPC/Connect: the wire form of the message we built). */
  wire: BehaviorEventWire;
  eventId: string;
  /** Whether the request carried event_id/timestamp (else the server filled them). */
  filled: boolean;
  t0: number;
  t1: number;
  latencyMs: number;
}

const PER_TRANSPORT = 20;
const USERS = ["user_12345", "用户_42", "u", "user_99999", "user-α", "user_7", "😀user", "u_long_" + "x".repeat(40)];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** The seed's video event (HTTP example) as wire JSON, varied per index. */
function seedEvent(tenant: string, i: number, transport: Transport): BehaviorEventWire {
  const user = USERS[i % USERS.length] ?? "u";
  const e: BehaviorEventWire = {
    tenant_id: tenant,
    scenario_id: "vlog_feed",
    user_id: user,
    item_id: `video_${transport}_${i}`,
    action_type: i % 3 === 0 ? "play_end" : i % 3 === 1 ? "click" : "impression",
    context: { device_type: i % 2 ? "mobile" : "tablet", os: "iOS", location: "Beijing" },
    experiment_id: "exp_001",
    experiment_group: "treatment",
    position: i + 1,
    scenario_data: {
      video_data: {
        duration: 180,
        watch_duration: 175 - i,
        completion_rate: 0.97,
        video_quality: "1080p",
        is_fullscreen: true,
        is_muted: false,
        playback_speed: 1.5,
        seek_positions: [30, 60, 90],
        buffer_time: 1200,
      },
    },
  };
  if (transport === "rest") e.extra_data = { source: "e2e", n: i, nested: { ok: true } };
  return e;
}

/** Every object key in the value (recursively, except inside extra_data) is snake_case. */
function assertSnakeCase(v: unknown, path = ""): void {
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) assertSnakeCase(x, `${path}[${i}]`);
    return;
  }
  if (v === null || typeof v !== "object") return;
  for (const [k, x] of Object.entries(v)) {
    expect(k, `${path}.${k}`).toMatch(/^[a-z][a-z0-9_]*$/);
    if (k !== "extra_data") assertSnakeCase(x, `${path}.${k}`);
  }
}

const DEVICE: Record<string, DeviceType> = { mobile: DeviceType.MOBILE, pc: DeviceType.PC, tablet: DeviceType.TABLET };
const ACTION: Record<string, ActionType> = {
  play_end: ActionType.PLAY_END,
  click: ActionType.CLICK,
  impression: ActionType.IMPRESSION,
};

/** The same event as a protobuf message (for gRPC/Connect). */
function toMessage(e: BehaviorEventWire) {
  const v = e.scenario_data!.video_data!;
  return create(BehaviorEventSchema, {
    eventId: e.event_id ?? "",
    tenantId: e.tenant_id,
    scenarioId: e.scenario_id,
    userId: e.user_id,
    itemId: e.item_id,
    actionType: ACTION[e.action_type],
    timestamp: e.timestamp !== undefined ? BigInt(e.timestamp) : undefined,
    context: { deviceType: DEVICE[e.context.device_type], os: e.context.os, location: e.context.location },
    experimentId: e.experiment_id,
    experimentGroup: e.experiment_group,
    position: e.position,
    scenarioData: {
      data: {
        case: "videoData",
        value: {
          duration: v.duration,
          watchDuration: v.watch_duration,
          completionRate: v.completion_rate,
          videoQuality: v.video_quality,
          isFullscreen: v.is_fullscreen,
          isMuted: v.is_muted,
          playbackSpeed: v.playback_speed,
          seekPositions: v.seek_positions,
          bufferTime: v.buffer_time,
        },
      },
    },
  } as never);
}

describe("e2e: REST + gRPC + Connect → server → real Kafka → three consumers", () => {
  let bootstrap: string;
  let t: TestServer;
  let tenant: string;
  let topic: string;
  let configVersion: string;
  const sent = new Map<string, Sent>();

  beforeAll(async () => {
    bootstrap = await ensureMainBroker();
    tenant = uniqueTenant("e2e");
    topic = `user-behaviors-${tenant}`;
    t = await startTestServer({ sink: "kafka", kafka: { brokers: [bootstrap], clientId: "e2e-server" } });
    // A tracking config for the scenario, so the tracking-config-version header is set.
    const r = await fetch(`${t.baseUrl}/api/v1/tracking-configs/from-template`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        tenant_id: tenant,
        scenario_id: "vlog_feed",
        template_id: "video",
        name: "短视频Feed流埋点配置",
      }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { config?: { version?: number } };
    configVersion = String(body.config?.version ?? 1);
    await untilSinkAvailable(t);
  }, 90_000);

  afterAll(async () => {
    await t?.stop(true);
  });

  it("tracks over the three transports", async () => {
    // REST: even events without event_id/timestamp (server fills), odd with our own.
    for (let i = 0; i < PER_TRANSPORT; i++) {
      const wire = seedEvent(tenant, i, "rest");
      const filled = i % 2 === 1;
      if (filled) {
        wire.event_id = `evt_rest_${tenant}_${i}`;
        wire.timestamp = Date.now() - 1000;
      }
      const t0 = Date.now();
      const p0 = performance.now();
      const res = await fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(wire),
      });
      const latencyMs = performance.now() - p0;
      const body = (await res.json()) as { success: boolean; event_id: string; message: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.success).toBe(true);
      if (filled) expect(body.event_id).toBe(wire.event_id);
      else expect(body.event_id).toMatch(/^evt_[0-9a-f]{16}$/);
      sent.set(body.event_id, {
        transport: "rest",
        wire,
        eventId: body.event_id,
        filled,
        t0,
        t1: Date.now(),
        latencyMs,
      });
    }
    for (const transport of ["grpc", "connect"] as const) {
      const client = createClient(
        BehaviorService,
        transport === "grpc"
          ? createGrpcTransport({ baseUrl: t.grpcUrl })
          : createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
      );
      for (let i = 0; i < PER_TRANSPORT; i++) {
        const wire = seedEvent(tenant, i, transport);
        const filled = i % 2 === 1;
        if (filled) {
          wire.event_id = `evt_${transport}_${tenant}_${i}`;
          wire.timestamp = Date.now() - 1000;
        }
        const t0 = Date.now();
        const p0 = performance.now();
        const res = await client.trackEvent({ event: toMessage(wire) });
        const latencyMs = performance.now() - p0;
        expect(res.success).toBe(true);
        if (filled) expect(res.eventId).toBe(wire.event_id);
        sent.set(res.eventId, { transport, wire, eventId: res.eventId, filled, t0, t1: Date.now(), latencyMs });
      }
    }
    expect(sent.size).toBe(3 * PER_TRANSPORT);
    for (const tr of ["rest", "grpc", "connect"] as Transport[]) {
      const lat = [...sent.values()].filter((s) => s.transport === tr).map((s) => s.latencyMs);
      console.log(
        `[e2e] ${tr}: track → broker ack (acks=all) latency p50=${pct(lat, 50).toFixed(1)} ms p99=${pct(lat, 99).toFixed(1)} ms max=${Math.max(...lat).toFixed(1)} ms (n=${lat.length})`,
      );
    }
  }, 60_000);

  /** Checks one read-back record against what was sent. */
  function check(
    m: { key: string; partition: number; value: string; headers?: Record<string, string> },
    partitions: number,
  ): Sent {
    const value = JSON.parse(m.value) as Record<string, unknown>;
    const s = sent.get(value.event_id as string);
    expect(s, `unexpected event ${m.value}`).toBeDefined();
    const expected: Record<string, unknown> = { ...s!.wire, event_id: s!.eventId };
    if (!s!.filled) expected.timestamp = value.timestamp;
    // Field by field: exactly what we sent plus event_id/timestamp, nothing else.
    expect(value).toEqual(expected);
    expect(Object.keys(value).sort()).toEqual(Object.keys(expected).sort());
    expect(typeof value.timestamp).toBe("number");
    expect(Number.isSafeInteger(value.timestamp)).toBe(true);
    if (!s!.filled) {
      expect(value.timestamp as number).toBeGreaterThanOrEqual(s!.t0);
      expect(value.timestamp as number).toBeLessThanOrEqual(s!.t1);
    }
    expect(value.tenant_id).toBe(tenant);
    expect(["play_end", "click", "impression"]).toContain(value.action_type);
    expect(["mobile", "tablet"]).toContain((value.context as { device_type: string }).device_type);
    assertSnakeCase(value);
    expect(m.key).toBe(s!.wire.user_id);
    expect(m.partition, `${m.key}`).toBe(partitionForKey(m.key, partitions));
    if (m.headers) {
      expect(m.headers["schema-version"]).toBe("1");
      expect(m.headers["tracking-config-version"]).toBe(configVersion);
    }
    return s!;
  }

  it("@platformatic/kafka Consumer reads them back in the seed's format, on the murmur2 partition", async () => {
    const n = sent.size;
    const p0 = performance.now();
    const got: ReadRecord[] = await readTopic(bootstrap, topic, n, 30_000);
    console.log(`[e2e] consumer read ${got.length}/${n} records in ${(performance.now() - p0).toFixed(0)} ms`);
    expect(got).toHaveLength(n);
    // Partition count from the broker (GetOffsetShell prints topic:partition:endOffset per partition).
    const { stdout } = await run(
      "bash",
      [
        join(ROOT, "scripts/kafka/run-class.sh"),
        "org.apache.kafka.tools.GetOffsetShell",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
      ],
      { cwd: ROOT, timeout: 60_000 },
    );
    const offsets = stdout
      .trim()
      .split("\n")
      .map((l) => l.split(":"));
    const partitions = offsets.length;
    expect(partitions).toBe(12);
    expect(offsets.reduce((a, o) => a + Number(o[2]), 0)).toBe(n);
    const seen = new Set<string>();
    for (const m of got) {
      const s = check(m, partitions);
      expect(Object.keys(m.headers).sort()).toEqual(["schema-version", "tracking-config-version"]);
      seen.add(s.eventId);
    }
    expect(seen.size).toBe(n);
    // One user's events are on one partition, in the order they were tracked.
    for (const user of USERS) {
      const mine = got.filter((m) => m.key === user);
      expect(new Set(mine.map((m) => m.partition)).size).toBeLessThanOrEqual(1);
      const order = mine
        .sort((a, b) => Number(a.offset - b.offset))
        .map((m) => sent.get(JSON.parse(m.value).event_id)!.t0);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
  }, 90_000);

  it("kcat (librdkafka) reads the same records", async () => {
    const { stdout } = await run(
      "kcat",
      ["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k %p %s\\n"],
      { timeout: 60_000, maxBuffer: 16 << 20 },
    );
    const lines = stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(sent.size);
    const ids = new Set<string>();
    for (const line of lines) {
      const a = line.indexOf(" ");
      const b = line.indexOf(" ", a + 1);
      const s = check({ key: line.slice(0, a), partition: Number(line.slice(a + 1, b)), value: line.slice(b + 1) }, 12);
      ids.add(s.eventId);
    }
    expect(ids.size).toBe(sent.size);
  }, 90_000);

  it("Kafka's ConsoleConsumer reads the same records, headers included", async () => {
    const { stdout } = await run(
      "bash",
      [
        join(ROOT, "scripts/kafka/run-class.sh"),
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        String(sent.size),
        "--timeout-ms",
        "30000",
        "--formatter-property",
        "print.partition=true",
        "--formatter-property",
        "print.headers=true",
        "--formatter-property",
        "print.key=true",
      ],
      { cwd: ROOT, timeout: 90_000, maxBuffer: 16 << 20 },
    );
    // DefaultMessageFormatter: "Partition:<p>\t<h1:v1,h2:v2>\t<key>\t<value>"
    const lines = stdout.split("\n").filter((l) => l.startsWith("Partition:"));
    expect(lines).toHaveLength(sent.size);
    const ids = new Set<string>();
    for (const line of lines) {
      const [p = "", h = "", key = "", ...rest] = line.split("\t");
      const headers = Object.fromEntries(
        h.split(",").map((kv) => [kv.slice(0, kv.indexOf(":")), kv.slice(kv.indexOf(":") + 1)]),
      );
      expect(Object.keys(headers).sort()).toEqual(["schema-version", "tracking-config-version"]);
      const s = check({ key, partition: Number(p.slice("Partition:".length)), value: rest.join("\t"), headers }, 12);
      ids.add(s.eventId);
    }
    expect(ids.size).toBe(sent.size);
  }, 120_000);
});
