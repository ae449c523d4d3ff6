/**
 * Acceptance: several server processes share one config store. Two real `tracking serve`
 * processes (A and B) on one MongoDB (a private FerretDB) publishing to the shared Kafka
 * broker: a config created through A is served and judges events on B; an update through
 * B reaches A's next events' `tracking-config-version` header within a bounded wait; 200
 * read-increment-write loops with If-Match across both lose no update (also on SQLite with
 * two processes sharing one file). Propagation times are printed, never asserted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMongo, type TestMongo } from "../helpers/mongo.js";
import { ensureMainBroker, readTopic, uniqueTenant } from "../kafka/broker.js";
import { type CliServer, client, seedEventData, spawnCli } from "./http-helpers.js";

const dirs: string[] = [];
const servers: CliServer[] = [];
let mongo: TestMongo | undefined;

beforeAll(async () => {
  mongo = await startTestMongo();
}, 600_000);
afterAll(async () => {
  for (const s of servers) {
    s.child.kill("SIGTERM");
    await s.exited;
  }
  await mongo?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "multi-instance-"));
  dirs.push(d);
  return d;
}

async function serve(env: Record<string, string>): Promise<CliServer> {
  const s = await spawnCli(tmp(), { env, timeoutMs: 60_000 });
  servers.push(s);
  return s;
}

/** Polls `probe` every 5 ms until it is true or `timeoutMs` passes; resolves with the time it took. */
async function until(probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

const cfgPath = (tenant: string, scenario: string) => `/api/v1/tracking-configs/${tenant}/${scenario}`;

describe("two servers on one MongoDB, events on Kafka", () => {
  let a: CliServer;
  let b: CliServer;
  const tenant = uniqueTenant("multi");
  const topic = `user-behaviors-${tenant}`;

  beforeAll(async () => {
    const bootstrap = await ensureMainBroker();
    const env = {
      TRACKING_CONFIG_STORE: mongo!.uri(),
      TRACKING_SINK: "kafka",
      KAFKA_BROKERS: bootstrap,
      KAFKA_PARTITIONS: "1",
    };
    [a, b] = await Promise.all([serve(env), serve(env)]);
  }, 120_000);

  function longVideo() {
    const e = seedEventData();
    e.tenant_id = tenant;
    e.scenario_data.video_data.duration = 300; // above the configs' max below
    return e;
  }

  it("create through A → B serves it and judges events with it; update through B → A's events carry the new version", async () => {
    const apiA = client(a.baseUrl);
    const apiB = client(b.baseUrl);
    const created = await apiA("POST", "/api/v1/tracking-configs/", {
      tenant_id: tenant,
      scenario_id: "vlog_feed",
      scenario_type: "video",
      required_fields: [{ field_name: "duration", field_type: "integer", required: true, max_value: 120 }],
    });
    expect(created.status).toBe(200);
    const seenByB = await until(async () => (await apiB("GET", cfgPath(tenant, "vlog_feed"))).status === 200);
    const onB = await apiB("GET", cfgPath(tenant, "vlog_feed"));
    expect(onB.body).toMatchObject({ tenant_id: tenant, version: 1, is_active: true });
    expect(onB.headers.get("etag")).toBe('"1"');
    const judgedByB = await apiB("POST", "/api/v1/behaviors/track", longVideo());
    expect(judgedByB.body.validation_warnings).toEqual([
      expect.objectContaining({ rule: "range", message: expect.stringContaining(`${tenant}/vlog_feed (v1)`) }),
    ]);

    const updated = await apiB(
      "PUT",
      cfgPath(tenant, "vlog_feed"),
      { required_fields: [{ field_name: "duration", field_type: "integer", required: true, max_value: 600 }] },
      { "if-match": '"1"' },
    );
    expect(updated.status).toBe(200);
    expect(updated.body.config.version).toBe(2);
    // A judges by v2 within the bound: its events stop warning and carry header "2".
    let sentByA = 0;
    const reachedA = await until(async () => {
      const r = await apiA("POST", "/api/v1/behaviors/track", longVideo());
      expect(r.status).toBe(200);
      sentByA++;
      return r.body.validation_warnings === undefined || r.body.validation_warnings.length === 0;
    });
    const records = await readTopic("127.0.0.1:9092", topic, 1 + sentByA, 30_000);
    expect(records).toHaveLength(1 + sentByA);
    const versions = records.map((r) => r.headers["tracking-config-version"]);
    expect(versions[0]).toBe("1"); // judged by B with v1
    expect(versions.at(-1)).toBe("2"); // A's event after the update
    expect(versions.slice(1, -1).every((v) => v === "1")).toBe(true); // A before it saw v2
    console.log(
      `[multi-instance] create A→B visible in ${seenByB.toFixed(0)} ms; update B→A judging in ${reachedA.toFixed(0)} ms`,
    );
  });

  it("a stale If-Match gets 409 naming the current version, over REST and Connect (ABORTED)", async () => {
    const apiA = client(a.baseUrl);
    await apiA("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: tenant,
      scenario_id: "occ",
      template_id: "video",
    });
    const stale = await apiA("PATCH", cfgPath(tenant, "occ"), { name: "x" }, { "if-match": 'W/"7"' });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: "version_conflict", message: expect.stringMatching(/version 1/) });
    const bodyVersion = await apiA("PATCH", cfgPath(tenant, "occ"), { name: "x", version: 5 });
    expect(bodyVersion.status).toBe(409);
    const bad = await apiA("PATCH", cfgPath(tenant, "occ"), { name: "x" }, { "if-match": "yesterday" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/If-Match/);
    const connect = await fetch(`${b.baseUrl}/recommender.v1.TrackingConfigService/UpdateTrackingConfig`, {
      method: "POST",
      headers: { "content-type": "application/json", "if-match": '"9"' },
      body: JSON.stringify({
        tenantId: tenant,
        scenarioId: "occ",
        config: { name: "y" },
        updateMask: "name",
      }),
    });
    expect(connect.status).toBe(409);
    expect(await connect.json()).toMatchObject({ code: "aborted", message: expect.stringMatching(/version 1/) });
    const ok = await apiA("PATCH", cfgPath(tenant, "occ"), { name: "x" }, { "if-match": '"1"' });
    expect(ok.body.config.version).toBe(2);
  });

  it("200 read-increment-write loops with If-Match across A and B lose no update (final version 201)", async () => {
    await incrementRace(a, b, tenant);
  }, 300_000);
});

describe("two servers sharing one SQLite file", () => {
  it("200 read-increment-write loops lose no update; each sees the other's configs", async () => {
    const file = join(tmp(), "shared-configs.db");
    const env = { TRACKING_CONFIG_STORE: `sqlite:${file}` };
    const [a, b] = await Promise.all([serve(env), serve(env)]);
    await incrementRace(a, b, uniqueTenant("sqlite"));
  }, 300_000);
});

/**
 * Creates a config whose `name` is a counter, then runs 200 increments from 4 concurrent
 * clients (2 per server): GET, +1, PUT with If-Match; 409 → read again and retry. No lost
 * update means name = 200 and version = 201 at the end, on both servers.
 */
async function incrementRace(a: CliServer, b: CliServer, tenant: string): Promise<void> {
  const apis = [client(a.baseUrl), client(b.baseUrl)];
  const path = cfgPath(tenant, "counter");
  const created = await apis[0]!("POST", "/api/v1/tracking-configs/", {
    tenant_id: tenant,
    scenario_id: "counter",
    scenario_type: "video",
    name: "0",
  });
  expect(created.status).toBe(200);
  await until(async () => (await apis[1]!("GET", path)).status === 200);
  let remaining = 200;
  let conflicts = 0;
  const loop = async (i: number) => {
    const api = apis[i % 2]!;
    while (remaining > 0) {
      remaining--;
      for (;;) {
        const got = await api("GET", path);
        expect(got.status).toBe(200);
        const put = await api(
          "PUT",
          path,
          { name: String(Number(got.body.name) + 1) },
          { "if-match": got.headers.get("etag")! },
        );
        if (put.status === 200) break;
        expect(put.status).toBe(409);
        conflicts++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 4 }, (_, i) => loop(i)));
  const ms = performance.now() - t0;
  for (const api of apis) {
    await until(async () => (await api("GET", path)).body.version === 201);
    expect((await api("GET", path)).body).toMatchObject({ name: "200", version: 201 });
  }
  console.log(
    `[multi-instance] 200 increments over 2 servers: ${conflicts} conflicts (409) retried, ${ms.toFixed(0)} ms`,
  );
}
