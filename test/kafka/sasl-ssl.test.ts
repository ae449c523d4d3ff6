/**
 * The seed's production protocol against a real broker: SASL_SSL with SCRAM-SHA-512 on the shared
 * broker's second listener (scripts/kafka/secure.sh), tenant isolation enforced by its
 * StandardAuthorizer, and `tracking kafka grant`. No mocks: the server, the KafkaTracker and the
 * CLI talk TLS and SCRAM to Kafka 4.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedBehaviorCodec } from "../../sdk/common/behavior-codec.js";
import { KafkaTracker } from "../../sdk/kafka/kafka-tracker.js";
import { grantTenant } from "../../server/kafka/tenant-grant.js";
import { run } from "../helpers/run.js";
import { seedEventData } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  ensureMainBroker,
  readTopic,
  type SecureListener,
  secureListener,
  topicEndOffset,
  uniqueTenant,
} from "./broker.js";
import { sampleEvent } from "./test-codec.js";

const SCRAM = "SCRAM-SHA-512" as const;

async function track(s: TestServer, tenant: string): Promise<Response> {
  return fetch(`${s.baseUrl}/api/v1/behaviors/track`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...seedEventData(), tenant_id: tenant }),
  });
}

async function readyz(s: TestServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${s.baseUrl}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function health(s: TestServer): Promise<Record<string, unknown>> {
  const r = await fetch(`${s.baseUrl}/api/v1/behaviors/health`);
  return (await r.json()) as Record<string, unknown>;
}

/** Waits until /readyz names a sink error matching `pattern` (the first probe may still be running). */
async function sinkErrorMatching(
  s: TestServer,
  pattern: RegExp,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return eventually(
    async () => {
      const r = await readyz(s);
      return typeof r.body.sink_error === "string" && pattern.test(r.body.sink_error) ? r : undefined;
    },
    15_000,
    `/readyz sink_error matching ${pattern}`,
  );
}

/** Polls `probe` until it returns a value, or fails after `ms`. */
async function eventually<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("SASL_SSL (SCRAM-SHA-512) and broker-enforced tenant isolation", () => {
  let sec: SecureListener;
  let dir: string;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    await ensureMainBroker();
    sec = secureListener();
    dir = await mkdtemp(join(tmpdir(), "sasl-ssl-"));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop(true)));
    await rm(dir, { recursive: true, force: true });
  });

  async function serverAs(user: { username: string; password: string }, tls: { ca?: Buffer } | true | false) {
    const s = await startTestServer({
      sink: "kafka",
      kafka: {
        brokers: [sec.bootstrap],
        sasl: { mechanism: SCRAM, ...user },
        ...(tls === false ? {} : { tls: tls === true ? {} : tls }),
        publishTimeoutMs: 3000,
        probeIntervalMs: 300,
      },
    });
    servers.push(s);
    return s;
  }

  it("the server publishes over SASL_SSL as its own principal; the event lands in the tenant topic", async () => {
    const s = await serverAs(sec.server, { ca: sec.ca });
    const tenant = uniqueTenant("sasl");
    const r = await track(s, tenant);
    expect(r.status, await r.clone().text()).toBe(200);
    const { event_id } = (await r.json()) as { event_id: string };
    const got = await readTopic(sec.adminTarget, `user-behaviors-${tenant}`, 1);
    expect(got.map((m) => JSON.parse(m.value).event_id)).toEqual([event_id]);
    expect((await readyz(s)).body.sink_available).toBe(true);
  }, 60_000);

  it("a wrong password is named in /readyz, health and the log; fixing the credential on the broker recovers without restart", async () => {
    const tenant = uniqueTenant("saslfix");
    const user = { username: `tenant-${tenant}`, password: randomBytes(12).toString("hex") };
    // The user does not exist yet: SCRAM refuses it exactly like a wrong password.
    const s = await serverAs(user, { ca: sec.ca });
    const down = await sinkErrorMatching(s, /SASL authentication failed/);
    expect(down.status).toBe(503);
    const h = await health(s);
    expect(h.kafka_available).toBe(false);
    expect(h.kafka_error).toMatch(/SASL authentication failed/);
    expect(s.logs.join("\n")).toMatch(/kafka sink unavailable: SASL authentication failed/);
    const refused = await track(s, tenant);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).not.toBeNull();

    // The operator creates the user with that password (and its ACLs): the probe recovers.
    await grantTenant(
      { brokers: [sec.bootstrap], sasl: { mechanism: SCRAM, ...sec.admin }, tls: { ca: sec.ca } },
      tenant,
      { password: user.password },
    );
    await eventually(async () => ((await readyz(s)).status === 200 ? true : undefined), 15_000, "recovery");
    const r = await track(s, tenant);
    expect(r.status, `${await r.clone().text()}\n${s.logs.join("\n")}`).toBe(200);
    expect(await topicEndOffset(sec.adminTarget, `user-behaviors-${tenant}`)).toBe(1);
  }, 60_000);

  it("an untrusted broker certificate (no CA given) is named, not retried silently", async () => {
    const s = await serverAs(sec.server, true);
    const r = await sinkErrorMatching(s, /certificate is not trusted.*--kafka-ca-file/);
    expect(r.status).toBe(503);
  }, 30_000);

  it("a plaintext client on the TLS listener is told the listener needs TLS", async () => {
    const s = await serverAs(sec.server, false);
    const r = await sinkErrorMatching(s, /requires TLS|expects TLS/);
    expect(r.status).toBe(503);
  }, 30_000);

  it("a KafkaTracker with tenant A's credentials cannot write tenant B's topic: a clear authorization error, not retried, nothing in B", async () => {
    const a = uniqueTenant("isoa");
    const b = uniqueTenant("isob");
    const admin = { brokers: [sec.bootstrap], sasl: { mechanism: SCRAM, ...sec.admin }, tls: { ca: sec.ca } };
    const grantA = await grantTenant(admin, a);
    // B exists (granted to B), so the only thing stopping A is the ACL.
    await grantTenant(admin, b);
    const errors: Array<{ error: unknown; context: string }> = [];
    const tracker = new KafkaTracker({
      brokers: [sec.bootstrap],
      tenantId: a,
      codec: generatedBehaviorCodec,
      fallbackDir: dir,
      sasl: { mechanism: SCRAM, username: grantA.username, password: grantA.password },
      tls: { ca: sec.ca },
      producerThread: false,
      flushIntervalMs: 100,
      backoffMs: 50,
      onError: (error, context) => errors.push({ error, context }),
    });
    await tracker.start();
    try {
      await tracker.track(sampleEvent("u1", 1));
      await tracker.flush();
      expect(await topicEndOffset(sec.adminTarget, `user-behaviors-${a}`)).toBe(1);

      await tracker.track({ ...sampleEvent("u2", 2), tenant_id: b });
      await tracker.flush();
      const permanent = errors.filter((e) => e.context === "permanent");
      expect(permanent.length, JSON.stringify(errors.map((e) => String(e.error)))).toBe(1);
      expect(String((permanent[0]!.error as Error).message)).toMatch(/not authorized|AUTHORIZATION_FAILED/);
      // Not spooled as if the broker were down.
      expect(errors.some((e) => e.context === "fallback")).toBe(false);
      expect(tracker.stats().spilled).toBe(0);
      expect(await topicEndOffset(sec.adminTarget, `user-behaviors-${b}`)).toBe(0);
    } finally {
      await tracker.close();
    }
  }, 60_000);

  it("tracking kafka grant: prints the tenant's settings; a bad tenant id and a wrong admin password exit 1 with the cause", async () => {
    const tenant = uniqueTenant("grant");
    const flags = [
      "--brokers",
      sec.bootstrap,
      "--kafka-security-protocol",
      "sasl_ssl",
      "--kafka-sasl-mechanism",
      SCRAM,
      "--kafka-ca-file",
      sec.caFile,
    ];
    const env = { ...process.env, KAFKA_ADMIN_USER: sec.admin.username, KAFKA_ADMIN_PASSWORD: sec.admin.password };
    const ok = await run("bin/tracking", ["kafka", "grant", "--tenant", tenant, "--json", ...flags], {
      env,
      timeoutMs: 60_000,
    });
    expect(ok.code, ok.stderr).toBe(0);
    const printed = JSON.parse(ok.stdout) as { principal: string; topic: string; settings: Record<string, string> };
    expect(printed.principal).toBe(`User:tenant-${tenant}`);
    expect(printed.topic).toBe(`user-behaviors-${tenant}`);
    expect(printed.settings).toMatchObject({
      KAFKA_BROKERS: sec.bootstrap,
      KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
      KAFKA_SASL_MECHANISM: SCRAM,
      KAFKA_USER: `tenant-${tenant}`,
    });
    // The printed settings work: a server started with them publishes that tenant's events.
    const s = await serverAs(
      { username: printed.settings.KAFKA_USER!, password: printed.settings.KAFKA_PASSWORD! },
      { ca: sec.ca },
    );
    const r = await track(s, tenant);
    expect(r.status, `${await r.clone().text()}\n${s.logs.join("\n")}`).toBe(200);

    const bad = await run("bin/tracking", ["kafka", "grant", "--tenant", "no spaces", ...flags], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/tenant id "no spaces" must match/);
    const wrong = await run("bin/tracking", ["kafka", "grant", "--tenant", tenant, ...flags], {
      env: { ...env, KAFKA_ADMIN_PASSWORD: "wrong" },
      timeoutMs: 60_000,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/SASL authentication failed/);
  }, 120_000);
});
