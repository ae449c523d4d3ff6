/**
 * Config-store faults with a real (private) FerretDB: unreachable at start → the real CLI
 * exits non-zero within the selection timeout naming the URI with the password masked; a
 * refused authentication fails fast; killed at runtime → configs and events served from the
 * cache, `tracking_config_store_up 0`, /readyz 503, config writes 503 + Retry-After, and
 * recovery without a restart once the database is back; a malformed document is counted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIGS_COLLECTION, databaseOf } from "../../server/store/mongo-backend.js";
import { startTestMongo, type TestMongo } from "../helpers/mongo.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { freePort } from "../kafka/broker.js";
import { client, seedEventData, spawnCli } from "./http-helpers.js";

let mongo: TestMongo | undefined;
const dirs: string[] = [];
beforeAll(async () => {
  mongo = await startTestMongo();
}, 600_000);
afterAll(async () => {
  await mongo?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "store-faults-"));
  dirs.push(d);
  return d;
}

async function until(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("MongoDB unreachable or refusing at start", () => {
  it("exits non-zero within the timeout, naming the URI with the password masked", async () => {
    const port = await freePort(); // nothing listens there
    const err = await spawnCli(tmp(), {
      env: {
        TRACKING_CONFIG_STORE: `mongodb://svc:s3cret@127.0.0.1:${port}/tracking`,
        TRACKING_CONFIG_STORE_TIMEOUT_MS: "1000",
      },
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/CLI exited early \(code 1/);
    expect(msg).toContain(`config store mongodb://svc:***@127.0.0.1:${port}/tracking: unreachable within 1000 ms`);
    expect(msg).not.toContain("s3cret");
  }, 60_000);

  it("a refused authentication fails fast with an auth error, not a timeout", async () => {
    // FerretDB v1 on SQLite cannot check passwords: it refuses SCRAM outright (code 18),
    // which exercises the same driver path as a wrong password on MongoDB.
    const err = await spawnCli(tmp(), {
      env: {
        TRACKING_CONFIG_STORE: `mongodb://svc:wrong@127.0.0.1:${mongo!.port}/tracking`,
        TRACKING_CONFIG_STORE_TIMEOUT_MS: "30000",
      },
    }).catch((e: unknown) => e as Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/CLI exited early \(code 1/);
    expect(msg).toContain(`config store mongodb://svc:***@127.0.0.1:${mongo!.port}/tracking: authentication failed`);
    expect(msg).not.toContain("wrong@");
  }, 60_000);
});

describe("MongoDB lost at runtime", () => {
  let t: TestServer | undefined;
  afterAll(async () => {
    await t?.stop(true);
  });

  it("serves configs and events from the cache, reports it, refuses writes with 503, and recovers", async () => {
    const uri = mongo!.uri();
    t = await startTestServer({ configStore: uri, configPollMs: 100, configStoreTimeoutMs: 1000 });
    const api = client(t.baseUrl);
    const path = "/api/v1/tracking-configs/mymx/vlog_feed";
    const created = await api("POST", "/api/v1/tracking-configs/", {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      scenario_type: "video",
      required_fields: [{ field_name: "duration", field_type: "integer", required: true, max_value: 120 }],
    });
    expect(created.status).toBe(200);
    expect((await api("GET", "/readyz")).body).toMatchObject({
      ready: true,
      config_store: "mongodb",
      config_store_available: true,
    });

    await mongo!.kill();
    await until(async () =>
      (await api("GET", "/metrics")).text.includes('tracking_config_store_up{store="mongodb"} 0'),
    );
    const ready = await api("GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, config_store_available: false });
    expect((await api("GET", path)).body).toMatchObject({ version: 1 });
    const tracked = await api("POST", "/api/v1/behaviors/track", seedEventData());
    expect(tracked.status).toBe(200);
    expect(tracked.body.validation_warnings[0].message).toContain("mymx/vlog_feed (v1)");
    const write = await api("PATCH", path, { name: "during outage" });
    expect(write.status).toBe(503);
    expect(write.headers.get("retry-after")).toBe("1");
    expect(write.body.error.code).toBe("unavailable");
    expect(t.logs.join("\n")).toMatch(/config store mongodb:\/\/127\.0\.0\.1:\d+\/\S+: unreachable/);

    await mongo!.start();
    await until(async () => (await api("PATCH", path, { name: "after outage" })).status === 200, 30_000);
    expect((await api("GET", path)).body).toMatchObject({ name: "after outage", version: 2 });
    await until(async () =>
      (await api("GET", "/metrics")).text.includes('tracking_config_store_up{store="mongodb"} 1'),
    );
    expect((await api("GET", "/readyz")).status).toBe(200);
    // FerretDB has no change streams: said once, and polling carries the changes.
    expect(
      t.logs.filter((l) => /no change streams \(.*\$changeStream.*\); other servers' changes are polled/.test(l)),
    ).toHaveLength(1);

    // A malformed document is logged, counted and skipped; the server keeps serving.
    const c = await MongoClient.connect(uri);
    await c.db(databaseOf(uri)).collection(CONFIGS_COLLECTION).insertOne({ tenant_id: 5, updated_at: Date.now() });
    await c.close();
    await until(async () =>
      (await api("GET", "/metrics")).text.includes('tracking_config_store_malformed_total{store="mongodb"} 1'),
    );
    expect((await api("GET", "/api/v1/tracking-configs/")).body.total).toBe(1);
  }, 120_000);
});
