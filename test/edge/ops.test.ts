// Operational endpoints and graceful shutdown, over the wire: /metrics (valid Prometheus
// text that counts what we sent), /livez, /readyz (503 while draining), the offline API
// reference, and stop() under 200 concurrent track requests losing no acknowledged event.

import { connect as connectH2 } from "node:http2";
import { connect } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { listenDual } from "../../server/transport/server.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { seedEvent } from "./edge-helpers.js";

const TRACK = "/api/v1/behaviors/track";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition 0.0.4 strictly; throws on any malformed line. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
  const labelRe = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const m = new RegExp(`^# HELP (${NAME}) .+$`).exec(line);
      const name = m?.[1];
      if (name === undefined) throw new Error(`bad HELP: ${line}`);
      if (helps.has(name)) throw new Error(`duplicate HELP ${name}`);
      helps.add(name);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      const [, name, type] = m ?? [];
      if (name === undefined || type === undefined) throw new Error(`bad TYPE: ${line}`);
      if (types.has(name)) throw new Error(`duplicate TYPE ${name}`);
      types.set(name, type);
      continue;
    }
    // The format ignores empty lines; prom-client separates metric families with one.
    if (line === "") continue;
    if (line.startsWith("#")) throw new Error(`unexpected line: ${JSON.stringify(line)}`);
    const [, name, labelText, raw] = sampleRe.exec(line) ?? [];
    if (name === undefined || raw === undefined) throw new Error(`bad sample: ${line}`);
    const labels: Record<string, string> = {};
    let rest = labelText ?? "";
    while (rest !== "") {
      const l = labelRe.exec(rest);
      const [all, key, val] = l ?? [];
      if (all === undefined || key === undefined || val === undefined) throw new Error(`bad labels in: ${line}`);
      labels[key] = val;
      rest = rest.slice(all.length);
    }
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : /^nan$/i.test(raw) ? NaN : Number(raw);
    // Prometheus parses floats case-insensitively; prom-client writes "Nan" for an empty event-loop lag.
    if (!/^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/i.test(raw))
      throw new Error(`bad value in: ${line}`);
    const family = name.replace(/_(bucket|sum|count|total)$/, "");
    if (!types.has(name) && !types.has(family) && !types.has(name.replace(/_(bucket|sum|count)$/, "")))
      throw new Error(`sample before its TYPE: ${line}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

async function metrics(baseUrl: string) {
  const res = await fetch(`${baseUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

const post = (baseUrl: string, body: unknown) =>
  fetch(baseUrl + TRACK, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("operational endpoints", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.stop(true));

  it("/metrics is valid Prometheus text and counts the requests we made", async () => {
    const before = (await metrics(t.baseUrl)).samples;
    for (let i = 0; i < 5; i++) expect((await post(t.baseUrl, { ...seedEvent(), user_id: `m_${i}` })).status).toBe(200);
    for (let i = 0; i < 3; i++)
      expect((await post(t.baseUrl, { ...seedEvent(), tenant_id: "bad/tenant" })).status).toBe(400);
    const client = createClient(BehaviorService, createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }));
    await client.getHealth({});
    await client.getHealth({});

    const { samples, types } = await metrics(t.baseUrl);
    expect(types.get("tracking_request_duration_seconds")).toBe("histogram");
    const d = (name: string, labels?: Record<string, string>) =>
      value(samples, name, labels) - value(before, name, labels);
    expect(d("tracking_events_received_total")).toBe(8);
    expect(d("tracking_events_total", { result: "published" })).toBe(5);
    expect(d("tracking_events_total", { result: "rejected" })).toBe(3);
    expect(d("tracking_request_duration_seconds_count", { transport: "rest", rpc: "TrackEvent" })).toBe(8);
    expect(d("tracking_request_duration_seconds_count", { transport: "connect", rpc: "GetHealth" })).toBe(2);
    expect(value(samples, "tracking_sink_available", { sink: "file" })).toBe(1);

    // Histogram buckets are cumulative and end at +Inf == _count.
    const buckets = samples.filter(
      (s) =>
        s.name === "tracking_request_duration_seconds_bucket" &&
        s.labels.rpc === "TrackEvent" &&
        s.labels.transport === "rest",
    );
    expect(buckets.length).toBeGreaterThan(2);
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value ?? NaN);
    expect(buckets.at(-1)!.labels.le).toBe("+Inf");
    expect(buckets.at(-1)!.value).toBe(
      value(samples, "tracking_request_duration_seconds_count", { transport: "rest", rpc: "TrackEvent" }),
    );
  });

  it("/livez and /readyz answer 200 with JSON", async () => {
    const live = await fetch(`${t.baseUrl}/livez`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "alive" });
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, sink: "file", sink_available: true, draining: false });
  });

  it("/api/v1/openapi.json is a valid OpenAPI 3.1 document; /api/v1/docs is the offline HTML reference listing every path", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    const v = new Validator();
    const r = await v.validate(structuredClone(doc) as unknown as Parameters<Validator["validate"]>[0]);
    expect(r.errors ?? [], JSON.stringify(r.errors)).toEqual([]);
    expect(Object.keys(doc.paths)).toContain(TRACK);

    for (const path of ["/api/v1/docs", "/api/v1/docs/"]) {
      const html = await fetch(t.baseUrl + path);
      expect(html.status).toBe(200);
      expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const text = await html.text();
      expect(text).toMatch(/^<!doctype html>/i);
      for (const p of Object.keys(doc.paths)) expect(text, p).toContain(p.replace(/[{}]/g, (c) => c));
      // Offline: no external scripts, styles or fonts.
      expect(text).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/i);
    }
  });
});

describe("the dual-protocol HTTP port", () => {
  // How fast they are belongs in `make bench` (BENCHMARKS.md), not in a pass/fail test.
  it("h2c requests on one session are answered one after another", async () => {
    const t = await startTestServer();
    const session = connectH2(t.baseUrl);
    try {
      const one = () =>
        new Promise<number>((resolve, reject) => {
          let status = 0;
          const st = session.request({ ":method": "GET", ":path": "/livez" });
          st.on("response", (h) => (status = Number(h[":status"])));
          st.on("data", () => {});
          st.on("end", () => resolve(status));
          st.on("error", reject);
          st.end();
        });
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) statuses.push(await one());
      expect(statuses).toEqual(Array.from({ length: 21 }, () => 200));
    } finally {
      session.close();
      await t.stop(true);
    }
  });

  it("a client that never finishes its headers is cut after headersTimeout (slowloris guard)", async () => {
    const d = await listenDual((_req, res) => res.end("{}"), 0, "127.0.0.1");
    try {
      // Production checks every 30 s; re-arm node's checker faster for the test.
      d.http1.headersTimeout = 300;
      d.http1.requestTimeout = 300;
      (d.http1 as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = 100;
      d.http1.emit("listening");
      const socket = connect(d.port(), "127.0.0.1");
      let received = "";
      socket.on("data", (c: Buffer) => (received += c.toString()));
      socket.on("error", () => {});
      await new Promise<void>((r) => socket.once("connect", () => r()));
      socket.write("GET /livez HTTP/1.1\r\nHost: x\r\n"); // never ends the headers
      const t0 = Date.now();
      await new Promise<void>((r) => socket.once("close", () => r()));
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(received).toContain('"request_timeout"');
    } finally {
      await d.close(500);
    }
  });

  it("stop() closes a keep-alive connection right after its in-flight response (no wait for keepAliveTimeout)", async () => {
    const t = await startTestServer({ shutdownTimeoutMs: 10_000 });
    try {
      const body = JSON.stringify({ ...seedEvent(), user_id: "keepalive" });
      const socket = connect(t.server.httpPort, "127.0.0.1");
      await new Promise<void>((r) => socket.once("connect", () => r()));
      let received = "";
      socket.on("data", (c: Buffer) => (received += c.toString()));
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      socket.write(
        `POST ${TRACK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`,
      );
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      const stopped = t.server.stop();
      await new Promise((r) => setTimeout(r, 20));
      socket.write(body.slice(5));
      await stopped;
      await closed;
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      await t.stop(true);
    }
  });
});

describe("graceful shutdown", () => {
  it("/readyz answers 503 while draining (pipelined behind a slow request)", async () => {
    const t = await startTestServer();
    try {
      const body = JSON.stringify({ ...seedEvent(), user_id: "slow_one" });
      const socket = connect(t.server.httpPort, "127.0.0.1");
      await new Promise<void>((r) => socket.once("connect", () => r()));
      let received = "";
      socket.on("data", (c: Buffer) => (received += c.toString("utf8")));
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      // A track request whose body is still arriving keeps the server draining.
      socket.write(
        `POST ${TRACK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
      );
      await new Promise((r) => setTimeout(r, 50));
      const stopped = t.server.stop();
      await new Promise((r) => setTimeout(r, 50));
      socket.write(`${body.slice(10)}GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n`);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000))]);
      socket.destroy();
      await stopped;
      const responses = received.split(/(?=HTTP\/1\.1 )/);
      expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /);
      expect(responses[0]).toContain('"success":true');
      expect(responses[1], received).toMatch(/^HTTP\/1\.1 503 /);
      expect(responses[1]).toContain('"draining":true');
      const lines = await readTopicFile(t.dataDir, "user-behaviors-mymx");
      expect(lines.map((l) => l.key)).toContain("slow_one");
    } finally {
      await t.stop(true);
    }
  });

  it("stop() during 200 concurrent track requests: every acknowledged event is in the file sink", async () => {
    const t = await startTestServer();
    try {
      const N = 200;
      let stopCalled = false;
      let firstDone!: () => void;
      const first = new Promise<void>((r) => (firstDone = r));
      const outcomes = await Promise.all([
        ...Array.from({ length: N }, async (_, i) => {
          const userId = `shutdown_${i}`;
          try {
            const res = await post(t.baseUrl, { ...seedEvent(), user_id: userId });
            const text = await res.text();
            firstDone();
            return { userId, status: res.status, body: text, afterStop: stopCalled };
          } catch (err) {
            firstDone();
            return { userId, status: 0, body: String((err as Error).cause ?? err) };
          }
        }),
        // Stop as soon as the first request has been answered, with the rest in flight.
        first
          .then(() => {
            stopCalled = true;
            return t.server.stop();
          })
          .then(() => undefined),
      ]);
      await t.server.stop();
      const results = outcomes.filter(
        (o): o is { userId: string; status: number; body: string; afterStop?: boolean } => o !== undefined,
      );
      expect(results).toHaveLength(N);
      const acked = results.filter((r) => r.status === 200);
      const failed = results.filter((r) => r.status === 0);
      // Nothing in between: answered means 200, otherwise the connection failed.
      expect(results.filter((r) => r.status !== 200 && r.status !== 0).map((r) => `${r.status} ${r.body}`)).toEqual([]);
      for (const f of failed)
        expect(f.body).toMatch(/ECONNREFUSED|ECONNRESET|other side closed|socket|closed|terminated/i);
      const reasons = new Map<string, number>();
      for (const f of failed) reasons.set(f.body.slice(0, 60), (reasons.get(f.body.slice(0, 60)) ?? 0) + 1);
      console.info("failures:", Object.fromEntries(reasons));
      expect(acked.length).toBeGreaterThan(0);
      // Requests in flight when stop() was called were drained, not cut.
      expect(acked.filter((a) => a.afterStop).length).toBeGreaterThan(0);

      const lines = await readTopicFile(t.dataDir, "user-behaviors-mymx");
      const inSink = new Map(lines.map((l) => [l.key, l]));
      const missing = acked.filter((a) => {
        const line = inSink.get(a.userId);
        const eventId = (JSON.parse(a.body) as { event_id: string }).event_id;
        return !line || !JSON.stringify(line.value).includes(eventId);
      });
      expect(missing.map((m) => m.userId)).toEqual([]);
      console.info(
        `graceful shutdown: ${acked.length} acknowledged (${acked.filter((a) => a.afterStop).length} after stop(); all in the sink), ${failed.length} failed at the connection, ${lines.length} lines in the sink`,
      );
    } finally {
      await t.stop(true);
    }
  });
});
