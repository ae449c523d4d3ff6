// gRPC with clients that are not ours: `buf curl` (Go gRPC/Connect stack) against both ports,
// and connect-node's gRPC, Connect (HTTP/1.1 and 2) and gRPC-Web transports.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JsonObject, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BehaviorEventSchema, BehaviorService, ViolationSchema } from "../../gen/es/recommender/v1/behavior_pb.js";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { seedEventMessage } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const ROOT = join(import.meta.dirname, "../..");
const BUF = join(ROOT, "node_modules/.bin/buf");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as NodeJS.ErrnoException).code === "number"
          ? (err as unknown as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The seed's gRPC example event in the protobuf JSON mapping (enum names, camelCase). */
const seedEventJson = toJson(BehaviorEventSchema, seedEventMessage());

/** The same event with snake_case proto field names (also valid protobuf JSON input). */
const seedEventSnake = {
  ...(toJson(BehaviorEventSchema, seedEventMessage(), { useProtoFieldName: true }) as JsonObject),
  user_id: "user_buf_snake",
};

describe("gRPC with foreign clients", () => {
  let t: TestServer;
  let tmp: string;
  let image: string;
  beforeAll(async () => {
    // Every request gets an access record, so each transport's can be checked.
    t = await startTestServer({ accessLogSample: 1 });
    tmp = mkdtempSync(join(tmpdir(), "edge-grpc-"));
    image = join(tmp, "image.binpb");
    const built = await run(BUF, ["build", "-o", image]);
    if (built.code !== 0) throw new Error(`buf build failed: ${built.stderr}`);
  });
  afterAll(async () => {
    await t?.stop(true);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const curl = (protocol: "grpc" | "connect" | "grpcweb", url: string, method: string, data: unknown) =>
    run(BUF, [
      "curl",
      "--protocol",
      protocol,
      ...(protocol === "grpc" ? ["--http2-prior-knowledge"] : []),
      "--schema",
      image,
      "-d",
      JSON.stringify(data),
      `${url}/recommender.v1.BehaviorService/${method}`,
    ]);

  it("buf curl --protocol grpc: the seed's event (JSON mapping) → success and an event_id", async () => {
    const r = await curl("grpc", t.grpcUrl, "TrackEvent", { event: seedEventJson });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { success: boolean; eventId: string; message: string };
    expect(out).toMatchObject({
      success: true,
      eventId: expect.stringMatching(/^evt_[0-9a-f]{16}$/),
      message: "Event tracked successfully",
    });
    const lines = await readTopicFile(t.dataDir, "user-behaviors-mymx");
    const line =
      lines.find((l) => (l.value as { event_id?: string }).event_id === out.eventId) ??
      lines.find((l) => JSON.stringify(l).includes(out.eventId));
    expect(line, "acknowledged event is in the sink").toBeDefined();
    expect(line!.key).toBe("user_12345");
  });

  it("buf curl --protocol grpc: snake_case proto names are accepted too", async () => {
    const r = await curl("grpc", t.grpcUrl, "TrackEvent", { event: seedEventSnake });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, eventId: expect.stringMatching(/^evt_/) });
  });

  it("buf curl --protocol grpc: an invalid event → invalid_argument naming every violation", async () => {
    const r = await curl("grpc", t.grpcUrl, "TrackEvent", {
      event: { tenantId: "a/b", actionType: "ACTION_TYPE_PLAY_END", position: 3 },
    });
    expect(r.code).not.toBe(0);
    const err = JSON.parse(r.stderr) as { code: string; message: string; details: { type: string }[] };
    expect(err.code).toBe("invalid_argument");
    for (const field of ["tenant_id", "scenario_id", "user_id", "item_id", "context"])
      expect(err.message).toContain(field);
    expect(err.message).toMatch(/tenant_id must match/);
    expect(err.details.length).toBe(5);
    expect(err.details.every((d) => d.type === "recommender.v1.Violation")).toBe(true);
  });

  it("buf curl also reaches TrackEvent and GetHealth over h2c gRPC, Connect and gRPC-Web on the HTTP port", async () => {
    for (const protocol of ["grpc", "connect", "grpcweb"] as const) {
      const tr = await curl(protocol, t.baseUrl, "TrackEvent", { event: seedEventJson });
      expect(tr.code, `${protocol}: ${tr.stderr}`).toBe(0);
      expect(JSON.parse(tr.stdout)).toMatchObject({ success: true, eventId: expect.stringMatching(/^evt_/) });
      const h = await curl(protocol, t.baseUrl, "GetHealth", {});
      expect(h.code, `${protocol}: ${h.stderr}`).toBe(0);
      expect(JSON.parse(h.stdout)).toMatchObject({ status: "healthy" });
    }
  });

  /** [name, transport, the access record's `transport`, whether the status is a grpc-status]. */
  const transports: [string, () => Transport, string, boolean][] = [
    ["gRPC (HTTP/2) on the gRPC port", () => createGrpcTransport({ baseUrl: t.grpcUrl }), "grpc", true],
    ["gRPC (h2c) on the HTTP port", () => createGrpcTransport({ baseUrl: t.baseUrl }), "grpc", true],
    [
      "Connect over HTTP/1.1",
      () => createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
      "connect",
      false,
    ],
    ["Connect over HTTP/2", () => createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "2" }), "connect", false],
    [
      "Connect binary over HTTP/1.1",
      () => createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
      "connect",
      false,
    ],
    [
      "gRPC-Web over HTTP/1.1",
      () => createGrpcWebTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }),
      "grpc-web",
      false,
    ],
    ["gRPC-Web over HTTP/2", () => createGrpcWebTransport({ baseUrl: t.baseUrl, httpVersion: "2" }), "grpc-web", false],
  ];

  /** The access record of request `id`, once written (after the response: polled). */
  async function accessRecord(id: string): Promise<Record<string, unknown>> {
    return vi.waitFor(
      () => {
        const r = t.records().find((x) => x.msg === "request" && x.req_id === id);
        if (r === undefined) throw new Error(`no access record with req_id ${id}`);
        return r;
      },
      { timeout: 5_000 },
    );
  }

  describe.each(transports)("connect-node %s", (name, make, transport, grpcStatus) => {
    it("the request id is echoed and the access record names transport, RPC, tenant and status", async () => {
      const client = createClient(BehaviorService, make());
      const id = `req-${transport}-${name.replace(/\W+/g, "-")}`;
      let echoed: string | null = null;
      const res = await client.trackEvent(
        { event: seedEventMessage() },
        {
          headers: { "x-request-id": id },
          onHeader: (h) => {
            echoed = h.get("x-request-id");
          },
        },
      );
      expect(res.success).toBe(true);
      expect(echoed).toBe(id);
      expect(await accessRecord(id)).toMatchObject({
        level: "info",
        transport,
        rpc: "TrackEvent",
        tenant: "mymx",
        status: 200,
        latency_ms: expect.any(Number),
        ...(grpcStatus ? { grpc_status: 0 } : {}),
      });

      // GetHealth is not on the gRPC port's fast path (connect-node serves it there): echoed too.
      let healthEcho: string | null = null;
      await client.getHealth(
        {},
        {
          headers: { "x-request-id": `${id}-health` },
          onHeader: (h) => {
            healthEcho = h.get("x-request-id");
          },
        },
      );
      expect(healthEcho).toBe(`${id}-health`);
      expect(await accessRecord(`${id}-health`)).toMatchObject({ transport, rpc: "GetHealth", status: 200 });

      const badId = `${id}-bad`;
      const bad = seedEventMessage();
      bad.userId = "";
      await expect(client.trackEvent({ event: bad }, { headers: { "x-request-id": badId } })).rejects.toThrow(
        /user_id/,
      );
      // Connect maps InvalidArgument to HTTP 400; gRPC and gRPC-Web answer 200 with the code as grpc-status
      // (gRPC-Web carries it in the body, which the access record does not read).
      expect(await accessRecord(badId)).toMatchObject({
        rpc: "TrackEvent",
        ...(grpcStatus ? { status: 200, grpc_status: Code.InvalidArgument } : {}),
        ...(transport === "connect" ? { status: 400 } : {}),
      });
    });

    it("TrackEvent and GetHealth succeed; an invalid event is InvalidArgument with Violation details", async () => {
      const client = createClient(BehaviorService, make());
      const userId = `user_${name.replace(/\W+/g, "_")}`;
      const res = await client.trackEvent({ event: { ...seedEventMessage(), userId } });
      expect(res.success).toBe(true);
      expect(res.eventId).toMatch(/^evt_[0-9a-f]{16}$/);
      const lines = await readTopicFile(t.dataDir, "user-behaviors-mymx");
      expect(lines.some((l) => l.key === userId)).toBe(true);

      const health = await client.getHealth({});
      expect(health.status).toBe("healthy");
      expect(health.stats?.totalEvents).toBeGreaterThan(0n);

      const bad = seedEventMessage();
      bad.tenantId = "../etc";
      bad.userId = "";
      bad.position = -1;
      const err = await client.trackEvent({ event: bad }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectError);
      const ce = err as ConnectError;
      expect(ce.code).toBe(Code.InvalidArgument);
      const details = ce.findDetails(ViolationSchema);
      expect(details.map((d) => `${d.field}:${d.rule}`).sort()).toEqual([
        "position:range",
        "tenant_id:pattern",
        "user_id:required",
      ]);
      expect(ce.rawMessage).toMatch(/tenant_id/);
    });
  });
});
