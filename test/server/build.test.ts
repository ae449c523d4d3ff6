// `make build` and the production command: bin/tracking runs the JavaScript build (plain node,
// no tsx) when it is fresh, and that process serves /livez, the API reference (read from
// build/gen/openapi at run time), REST and gRPC ingest, writes JSON log records with request
// ids, and drains on SIGTERM. A stale build is not run.
import { mkdtempSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { run, runOk } from "../helpers/run.js";
import { seedEventMessage } from "../helpers/seed.js";
import { type CliServer, call, seedEventData, spawnCli } from "./http-helpers.js";

const ROOT = join(import.meta.dirname, "../..");
const MAIN = join(ROOT, "build/server/main.js");

describe("make build → bin/tracking", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tracking-build-"));
  let cli: CliServer;
  beforeAll(async () => {
    await runOk("make", ["--no-print-directory", "build"], { timeoutMs: 120_000 });
    cli = await spawnCli(dataDir, { via: "bin", args: ["--access-log-sample", "1"] });
  }, 150_000);
  afterAll(async () => {
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill("SIGKILL");
      await cli.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The access record of request `id`, once written. */
  const accessRecord = (id: string) =>
    vi.waitFor(
      () => {
        const r = cli.records().find((x) => x.msg === "request" && x.req_id === id);
        if (r === undefined) throw new Error(`no access record ${id}`);
        return r;
      },
      { timeout: 5_000 },
    );

  it("runs the build, not the sources, and logs its startup and the no-keys warning as JSON", () => {
    const records = cli.records();
    expect(records.find((r) => typeof r.http_port === "number")).toMatchObject({ level: "info", runtime: "build" });
    expect(records.some((r) => r.level === "warn" && String(r.msg).includes("no API keys configured"))).toBe(true);
    expect(cli.output()).not.toContain("running the sources");
  });

  it("answers /livez, the API reference, Swagger UI (from node_modules) and the inspector page (build/server/inspector/static)", async () => {
    const live = await fetch(`${cli.baseUrl}/livez`);
    expect(live.status).toBe(200);
    expect(live.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const docs = await fetch(`${cli.baseUrl}/api/v1/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("<html");
    for (const path of [
      "/api/v1/docs/try",
      "/api/v1/docs/try/swagger-ui-bundle.js",
      "/inspector",
      "/inspector/app.js",
    ]) {
      const r = await fetch(`${cli.baseUrl}${path}`);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      expect((await r.text()).length).toBeGreaterThan(500);
    }
  });

  it("ingests over REST and gRPC with access records carrying the request id", async () => {
    const rest = await call(cli.baseUrl, "POST", "/api/v1/behaviors/track", seedEventData(), {
      "x-request-id": "build-rest-1",
    });
    expect(rest.status).toBe(200);
    expect(rest.headers.get("x-request-id")).toBe("build-rest-1");
    expect(await accessRecord("build-rest-1")).toMatchObject({
      transport: "rest",
      rpc: "TrackEvent",
      tenant: "mymx",
      status: 200,
      path: "/api/v1/behaviors/track",
    });

    const client = createClient(BehaviorService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${cli.grpcPort}` }));
    const res = await client.trackEvent({ event: seedEventMessage() }, { headers: { "x-request-id": "build-grpc-1" } });
    expect(res.success).toBe(true);
    expect(await accessRecord("build-grpc-1")).toMatchObject({ transport: "grpc", grpc_status: 0, tenant: "mymx" });
  });

  it("drains on SIGTERM and exits 0", async () => {
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    const msgs = cli.records().map((r) => r.msg);
    expect(msgs).toContain("tracking server: draining");
    expect(msgs).toContain("tracking server: stopped");
  });

  it("a build older than a source is not run: bin/tracking says so and runs the sources", async () => {
    const { mtime } = statSync(MAIN);
    utimesSync(MAIN, new Date(0), new Date(0));
    try {
      const r = await run(join(ROOT, "bin/tracking"), ["--help"], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/build\/ is older than \S+\.ts; running the sources with tsx/);
    } finally {
      utimesSync(MAIN, mtime, mtime);
    }
  });
});
