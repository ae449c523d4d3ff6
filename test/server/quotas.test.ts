/**
 * Acceptance: per-tenant and per-key ingestion quotas on a real server, over REST, Connect,
 * gRPC on the gRPC port (the fast path) and gRPC on the HTTP port (connect-node). The quota
 * buckets run on a clock the test moves (ServerOptions.quotaClock), so counts are exact and
 * "after waiting" needs no sleeping: burst 5 → the 6th event is refused, one second later one
 * more fits.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BehaviorEventSchema, BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import type { ApiKeysFile } from "../../server/auth/api-keys.js";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { seedEventMessage } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { call, seedEventData, spawnCli } from "./http-helpers.js";

const KEYS: ApiKeysFile = {
  tenants: {
    quota_a: ["ka"],
    quota_b: ["kb"],
    quota_k: ["kk_free", { key: "kk_limited", quota: { events_per_second: 1, burst: 3 } }],
  },
  admin: ["adm"],
  quotas: {
    quota_a: { events_per_second: 1, burst: 5 },
    quota_b: { events_per_second: 1, burst: 5 },
  },
};

/** What a client saw for one request, whatever the transport. */
interface Outcome {
  ok: boolean;
  /** "ok", or the HTTP status / gRPC code name. */
  status: string;
  retryAfter: string | null;
  message: string;
}

/** One way to send n events (n = 1: the single-event RPC; n > 1: the batch RPC). */
type Sender = (key: string, tenant: string, n: number) => Promise<Outcome>;

const withKey =
  (key: string): Interceptor =>
  (next) =>
  async (req) => {
    req.header.set("x-api-key", key);
    return next(req);
  };

function rpcSender(make: (baseUrl: string, key: string) => Transport, baseUrl: () => string): Sender {
  return async (key, tenant, n) => {
    const client = createClient(BehaviorService, make(baseUrl(), key));
    const event = () => create(BehaviorEventSchema, { ...seedEventMessage(), tenantId: tenant });
    try {
      if (n === 1) await client.trackEvent({ event: event() });
      else await client.trackBatch({ events: Array.from({ length: n }, event) });
      return { ok: true, status: "ok", retryAfter: null, message: "" };
    } catch (e) {
      const err = ConnectError.from(e);
      return {
        ok: false,
        status: Code[err.code],
        retryAfter: err.metadata.get("retry-after"),
        message: err.rawMessage,
      };
    }
  };
}

describe("ingestion quotas", () => {
  let t: TestServer;
  let now = 1_700_000_000_000;
  let keysFile: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "quotas-"));
    keysFile = join(dir, "keys.json");
    writeFileSync(keysFile, JSON.stringify(KEYS));
    t = await startTestServer({ apiKeysFile: keysFile, quotaClock: () => now });
  });
  afterAll(async () => {
    await t.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });
  // A minute later every bucket is full again: each test starts from full quotas.
  beforeEach(() => {
    now += 60_000;
  });

  const published = async (tenant: string) => (await readTopicFile(t.dataDir, `user-behaviors-${tenant}`)).length;

  const rest: Sender = async (key, tenant, n) => {
    const event = () => ({ ...seedEventData(), tenant_id: tenant });
    const res =
      n === 1
        ? await call(t.baseUrl, "POST", "/api/v1/behaviors/track", event(), { "x-api-key": key })
        : await call(
            t.baseUrl,
            "POST",
            "/api/v1/behaviors/track/batch",
            { events: Array.from({ length: n }, event) },
            { "x-api-key": key },
          );
    return {
      ok: res.status === 200,
      status: res.status === 200 ? "ok" : String(res.status),
      retryAfter: res.headers.get("retry-after"),
      message: res.body?.error?.message ?? "",
    };
  };

  const transports: Array<[string, Sender, string]> = [
    ["REST", rest, "429"],
    [
      "Connect (HTTP/1.1)",
      rpcSender(
        (baseUrl, key) => createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [withKey(key)] }),
        () => t.baseUrl,
      ),
      "ResourceExhausted",
    ],
    [
      "gRPC on the gRPC port (fast path)",
      rpcSender(
        (baseUrl, key) => createGrpcTransport({ baseUrl, interceptors: [withKey(key)] }),
        () => t.grpcUrl,
      ),
      "ResourceExhausted",
    ],
    [
      "gRPC on the HTTP port (connect-node)",
      rpcSender(
        (baseUrl, key) => createGrpcTransport({ baseUrl, interceptors: [withKey(key)] }),
        () => t.baseUrl,
      ),
      "ResourceExhausted",
    ],
  ];

  describe.each(transports)("%s", (_name, send, refused) => {
    it("burst 5: five events pass, the 6th is refused with Retry-After naming the tenant and limit; a second later one more fits", async () => {
      const before = await published("quota_a");
      for (let i = 0; i < 5; i++) expect((await send("ka", "quota_a", 1)).status).toBe("ok");
      const over = await send("ka", "quota_a", 1);
      expect(over.status).toBe(refused);
      expect(over.retryAfter).toBe("1");
      expect(over.message).toBe("tenant quota_a is over its ingestion quota of 1 events/s (burst 5); retry in 1 s");
      expect(await published("quota_a")).toBe(before + 5);
      now += 1000;
      expect((await send("ka", "quota_a", 1)).status).toBe("ok");
      expect((await send("ka", "quota_a", 1)).status).toBe(refused);
      expect(await published("quota_a")).toBe(before + 6);
    });

    it("one tenant's exhausted quota does not affect another's", async () => {
      for (let i = 0; i < 5; i++) await send("ka", "quota_a", 1);
      expect((await send("ka", "quota_a", 1)).status).toBe(refused);
      for (let i = 0; i < 5; i++) expect((await send("kb", "quota_b", 1)).status).toBe("ok");
      // A tenant with no quota of its own (and no default) is unlimited.
      for (let i = 0; i < 8; i++) expect((await send("kk_free", "quota_k", 1)).status).toBe("ok");
    });

    it("a batch counts its events, all or nothing", async () => {
      const before = await published("quota_a");
      expect((await send("ka", "quota_a", 3)).status).toBe("ok");
      // Two tokens left: a batch of 3 is refused whole (Retry-After: the 1 s the third token takes).
      const over = await send("ka", "quota_a", 3);
      expect(over.status).toBe(refused);
      expect(over.retryAfter).toBe("1");
      expect(await published("quota_a")).toBe(before + 3);
      expect((await send("ka", "quota_a", 2)).status).toBe("ok");
      expect((await send("ka", "quota_a", 1)).status).toBe(refused);
      expect(await published("quota_a")).toBe(before + 5);
    });

    it("a key with a quota of its own is limited on top of its tenant; the tenant's other key is not", async () => {
      for (let i = 0; i < 3; i++) expect((await send("kk_limited", "quota_k", 1)).status).toBe("ok");
      const over = await send("kk_limited", "quota_k", 1);
      expect(over.status).toBe(refused);
      expect(over.message).toBe(
        "this API key (tenant quota_k) is over its ingestion quota of 1 events/s (burst 3); retry in 1 s",
      );
      expect((await send("kk_free", "quota_k", 1)).status).toBe("ok");
    });
  });

  it("REST: the 429 body has the server's error shape plus the quota; validate is not charged", async () => {
    for (let i = 0; i < 5; i++) await rest("ka", "quota_a", 1);
    const res = await call(
      t.baseUrl,
      "POST",
      "/api/v1/behaviors/track",
      { ...seedEventData(), tenant_id: "quota_a" },
      { "x-api-key": "ka" },
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.body).toEqual({
      success: false,
      error: {
        code: "resource_exhausted",
        message: "tenant quota_a is over its ingestion quota of 1 events/s (burst 5); retry in 1 s",
        quota: { scope: "tenant", tenant: "quota_a", events_per_second: 1, burst: 5, retry_after_seconds: 1 },
      },
    });
    const v = await call(
      t.baseUrl,
      "POST",
      "/api/v1/behaviors/validate",
      { ...seedEventData(), tenant_id: "quota_a" },
      { "x-api-key": "ka" },
    );
    expect(v.status).toBe(200);
  });

  it("auth comes first: a wrong key is 401 even for an exhausted tenant", async () => {
    for (let i = 0; i < 6; i++) await rest("ka", "quota_a", 1);
    expect((await rest("nope", "quota_a", 1)).status).toBe("401");
    expect((await rest("kb", "quota_a", 1)).status).toBe("403");
  });

  it("REST: a one-event request of a key whose only tenant is over quota is refused before its body is read", async () => {
    const raw = (path: string, key: string | undefined, body: string) =>
      fetch(t.baseUrl + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key === undefined ? {} : { "x-api-key": key }) },
        body,
      });
    const broken = '{"tenant_id": "quota_a", ';
    // With quota left, the body is judged: 400 for broken JSON.
    expect((await raw("/api/v1/behaviors/track", "ka", broken)).status).toBe(400);
    for (let i = 0; i < 5; i++) await rest("ka", "quota_a", 1);
    // Over quota: 429 although the body is broken — it was never parsed.
    const early = await raw("/api/v1/behaviors/track", "ka", broken);
    expect(early.status).toBe(429);
    expect(early.headers.get("retry-after")).toBe("1");
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe("resource_exhausted");
    // A batch is charged by its events, so its body is still read: 400.
    expect((await raw("/api/v1/behaviors/track/batch", "ka", broken)).status).toBe(400);
    // The key comes before the body too: no key or an unknown key → 401, whatever the body.
    expect((await raw("/api/v1/behaviors/track", undefined, broken)).status).toBe(401);
    expect((await raw("/api/v1/behaviors/track", "nope", broken)).status).toBe(401);
    // The unread body of a refused request is drained: the same keep-alive connection serves the next request.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = JSON.stringify({
        ...seedEventData(),
        tenant_id: "quota_a",
        extra_data: { pad: "x".repeat(200_000) },
      });
      const first = await post(agent, "/api/v1/behaviors/track", "ka", big);
      expect(first.status).toBe(429);
      now += 1000;
      const second = await post(
        agent,
        "/api/v1/behaviors/track",
        "ka",
        JSON.stringify({ ...seedEventData(), tenant_id: "quota_a" }),
      );
      expect(second).toEqual({ status: 200, reusedSocket: true });
    } finally {
      agent.destroy();
    }
  });

  /** POSTs `body` over `agent` (node:http, so the socket reuse is visible). */
  function post(
    agent: Agent,
    path: string,
    key: string,
    body: string,
  ): Promise<{ status: number; reusedSocket: boolean }> {
    return new Promise((resolve, reject) => {
      const req = request(t.baseUrl + path, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "x-api-key": key, "content-length": Buffer.byteLength(body) },
      });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, reusedSocket: req.reusedSocket }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  it("refused events are counted in /metrics by tenant", async () => {
    const metric = async () => {
      const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
      const m = /^tracking_quota_rejected_events_total\{tenant="quota_b"\} (\d+)$/m.exec(text);
      return m ? Number(m[1]) : 0;
    };
    const before = await metric();
    for (let i = 0; i < 5; i++) await rest("kb", "quota_b", 1);
    await rest("kb", "quota_b", 1);
    await rest("kb", "quota_b", 4);
    expect(await metric()).toBe(before + 5);
  });

  it("reloadKeys: a new quota applies, a removed key is revoked, a bad file keeps the old keys", async () => {
    writeFileSync(
      keysFile,
      JSON.stringify({
        ...KEYS,
        tenants: { ...KEYS.tenants, quota_a: ["ka2"] },
        quotas: { quota_a: { events_per_second: 1, burst: 2 } },
      }),
    );
    t.server.reloadKeys();
    expect((await rest("ka", "quota_a", 1)).status).toBe("401");
    expect((await rest("ka2", "quota_a", 1)).status).toBe("ok");
    expect((await rest("ka2", "quota_a", 1)).status).toBe("ok");
    expect((await rest("ka2", "quota_a", 1)).status).toBe("429");
    // quota_b's limit did not change.
    expect((await rest("kb", "quota_b", 1)).status).toBe("ok");
    writeFileSync(keysFile, JSON.stringify({ quotas: { quota_a: { events_per_second: "fast" } } }));
    expect(() => t.server.reloadKeys()).toThrow(/quotas\.quota_a\.events_per_second must be a number > 0/);
    expect((await rest("kb", "quota_b", 1)).status).toBe("ok");
    writeFileSync(keysFile, JSON.stringify(KEYS));
    t.server.reloadKeys();
    expect((await rest("ka", "quota_a", 1)).status).toBe("ok");
  });

  it("reloadKeys applies to the inspector too: open streams end, a removed admin key is refused, a new one accepted", async () => {
    const inspect = async (key: string) =>
      (await fetch(`${t.baseUrl}/inspector/api/events`, { headers: { "x-api-key": key } })).status;
    expect(await inspect("adm")).toBe(200);
    // A live stream opened with the key before the reload.
    const stream = await fetch(`${t.baseUrl}/inspector/events`, { headers: { "x-api-key": "adm" } });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/event: snapshot/);
    writeFileSync(keysFile, JSON.stringify({ ...KEYS, admin: ["adm2"] }));
    t.server.reloadKeys();
    try {
      // The reload ends it (the page reconnects under the new keys).
      let ended = false;
      while (!ended) ended = (await reader.read()).done;
      expect((await fetch(`${t.baseUrl}/inspector/events`, { headers: { "x-api-key": "adm" } })).status).toBe(401);
      expect(await inspect("adm")).toBe(401);
      expect(await inspect("adm2")).toBe(200);
    } finally {
      writeFileSync(keysFile, JSON.stringify(KEYS));
      t.server.reloadKeys();
    }
  });
});

describe("--default-quota for tenants the keys file gives none (open mode)", () => {
  let t: TestServer;
  let now = 1_700_000_000_000;
  beforeAll(async () => {
    t = await startTestServer({ defaultQuota: { eventsPerSecond: 1, burst: 2 }, quotaClock: () => now });
  });
  afterAll(async () => t.stop(true));

  it("every tenant gets a bucket of its own with the default limit", async () => {
    const track = (tenant: string) =>
      call(t.baseUrl, "POST", "/api/v1/behaviors/track", { ...seedEventData(), tenant_id: tenant });
    expect((await track("dq_one")).status).toBe(200);
    expect((await track("dq_one")).status).toBe(200);
    const over = await track("dq_one");
    expect(over.status).toBe(429);
    expect(over.body.error.message).toContain("tenant dq_one");
    expect((await track("dq_two")).status).toBe(200);
    now += 1000;
    expect((await track("dq_one")).status).toBe(200);
    expect(t.logs.join("\n")).toContain("ingestion quotas: others 1/s burst 2");
  });
});

describe("key rotation through the real CLI and SIGHUP", () => {
  it("both keys work; after removing the old one from the file and SIGHUP it is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rotate-"));
    const file = join(dir, "keys.json");
    writeFileSync(file, JSON.stringify({ tenants: { rot_t: ["old_key", "new_key"] }, admin: ["adm"] }));
    const cli = await spawnCli(join(dir, "data"), { env: { TRACKING_API_KEYS_FILE: file } });
    try {
      const track = (key: string) =>
        call(
          cli.baseUrl,
          "POST",
          "/api/v1/behaviors/track",
          { ...seedEventData(), tenant_id: "rot_t" },
          {
            "x-api-key": key,
          },
        );
      expect((await track("old_key")).status).toBe(200);
      expect((await track("new_key")).status).toBe(200);
      writeFileSync(file, JSON.stringify({ tenants: { rot_t: ["new_key"] }, admin: ["adm"] }));
      cli.child.kill("SIGHUP");
      // The reload happens when the process handles the signal; its log line says so.
      for (let i = 0; i < 200 && !cli.output().includes("API keys reloaded"); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(cli.output()).toContain("API keys reloaded: 2 keys");
      expect((await track("old_key")).status).toBe(401);
      expect((await track("new_key")).status).toBe(200);
      // A broken file is reported and the keys in force stay.
      writeFileSync(file, "{broken");
      cli.child.kill("SIGHUP");
      for (let i = 0; i < 200 && !cli.output().includes("keys not reloaded"); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(cli.output()).toContain("keys not reloaded, the previous keys stay in force");
      expect((await track("new_key")).status).toBe(200);
    } finally {
      cli.child.kill("SIGTERM");
      await cli.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
