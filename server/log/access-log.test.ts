import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { seedEventData } from "../../test/helpers/seed.js";
import { startTestServer, type TestServer } from "../../test/helpers/server.js";
import { AccessLog, RequestScope, requestIdOf } from "./access-log.js";
import { createLogger, type LogLevel } from "./logger.js";

/** An AccessLog writing parsed records to an array. */
function accessLog(sample: number, level: LogLevel = "info") {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({ level, destination: { write: (l: string) => void records.push(JSON.parse(l)) } });
  return { log: new AccessLog({ logger, sample }), records };
}

describe("access records", () => {
  it("5xx and fault gRPC codes are always written (error; 503/504 and UNAVAILABLE/DEADLINE_EXCEEDED at warn)", () => {
    const { log, records } = accessLog(0);
    const scope = (id: string) => new RequestScope(log, id, performance.now(), "POST", "/x");
    for (const status of [200, 201, 400, 404, 413, 429, 499]) log.finish(scope(`h${status}`), status, -1, false);
    for (const status of [500, 502, 503, 504]) log.finish(scope(`h${status}`), status, -1, false);
    for (const code of [0, 3, 5, 7, 8, 16]) log.finish(scope(`g${code}`), 200, code, false);
    for (const code of [2, 4, 13, 14, 15]) log.finish(scope(`g${code}`), 200, code, false);
    expect(records.map((r) => [r.req_id, r.level])).toEqual([
      ["h500", "error"],
      ["h502", "error"],
      ["h503", "warn"],
      ["h504", "warn"],
      ["g2", "error"],
      ["g4", "warn"],
      ["g13", "error"],
      ["g14", "warn"],
      ["g15", "error"],
    ]);
    expect(records[0]).toMatchObject({ msg: "request", method: "POST", path: "/x", status: 500 });
    expect(records[0]).not.toHaveProperty("grpc_status");
    expect(records[4]).toMatchObject({ status: 200, grpc_status: 2 });
  });

  it("sample 1 writes every request at info; a level above info writes only the always-logged ones", () => {
    const all = accessLog(1);
    const quiet = accessLog(1, "warn");
    for (const { log } of [all, quiet]) {
      for (const status of [200, 404, 503])
        log.finish(new RequestScope(log, `r${status}`, 0, "GET", "/"), status, -1, false);
    }
    expect(all.records.map((r) => [r.status, r.level])).toEqual([
      [200, "info"],
      [404, "info"],
      [503, "warn"],
    ]);
    expect(quiet.records.map((r) => r.status)).toEqual([503]);
  });

  it("a fraction samples about that share of requests", () => {
    const { log, records } = accessLog(0.25);
    for (let i = 0; i < 4000; i++) log.finish(new RequestScope(log, `r${i}`, 0, "GET", "/"), 200, -1, false);
    // Binomial(4000, 0.25): mean 1000, sd ≈ 27; ± 200 is more than 7 sd.
    expect(records.length).toBeGreaterThan(800);
    expect(records.length).toBeLessThan(1200);
  });

  it("refuses a sample outside [0, 1]", () => {
    for (const sample of [-0.1, 1.5, Number.NaN]) expect(() => accessLog(sample)).toThrow(/\[0, 1\]/);
  });

  it("keeps a client's request id of 1-128 visible ASCII characters, else makes a UUID", () => {
    expect(requestIdOf("abc-123_XYZ.4")).toBe("abc-123_XYZ.4");
    expect(requestIdOf("x".repeat(128))).toBe("x".repeat(128));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const bad of [undefined, "", "x".repeat(129), "has space", "caf\u00e9", ["a", "b"]])
      expect(requestIdOf(bad)).toMatch(uuid);
    expect(requestIdOf(undefined)).not.toBe(requestIdOf(undefined));
  });
});

describe("a server with the default sample (0)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.stop(true));

  it("writes no access record for 2xx and 4xx, but echoes a request id on every response", async () => {
    const ok = await fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "quiet-1" },
      body: JSON.stringify(seedEventData()),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe("quiet-1");
    const bad = await fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    expect(bad.status).toBe(415);
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const missing = await fetch(`${t.baseUrl}/no/such/path`);
    expect(missing.status).toBe(404);
    await new Promise((r) => setTimeout(r, 100));
    expect(t.records().filter((r) => r.msg === "request")).toEqual([]);
  });

  it("the startup banner and the no-keys warning are records", () => {
    const records = t.records();
    expect(records.find((r) => r.level === "warn" && String(r.msg).includes("no API keys configured"))).toBeDefined();
    expect(records.find((r) => typeof r.http_port === "number")).toMatchObject({
      level: "info",
      name: "tracking",
      http_port: t.server.httpPort,
      grpc_port: t.server.grpcPort,
      sink: "file",
      runtime: "source",
      access_log_sample: 0,
    });
  });
});

describe("a server fault", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.stop(true));

  it("is an error record with the error serialised, and its request's access record is written at error", async () => {
    // A closed database is a fault of the server, not of the request.
    t.server.store.close();
    const res = await fetch(`${t.baseUrl}/api/v1/tracking-configs/from-template`, {
      method: "POST",
      headers: { "x-request-id": "fault-1", "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: "mymx", scenario_id: "vlog_feed", template_id: "video" }),
    });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toMatch(/database|sqlite/i);
    const fault = t.records().find((r) => r.level === "error" && r.msg === "CreateTrackingConfigFromTemplate failed");
    expect(fault).toMatchObject({ err: { type: expect.any(String), message: expect.any(String) } });
    const err = fault?.err as { stack?: string } | undefined;
    expect(err?.stack).toMatch(/\n\s+at /);
    await vi.waitFor(() =>
      expect(t.records().find((r) => r.req_id === "fault-1")).toMatchObject({
        level: "error",
        msg: "request",
        transport: "rest",
        rpc: "CreateTrackingConfigFromTemplate",
        tenant: "mymx",
        status: 500,
      }),
    );
  });
});
