/**
 * The config-store contract, one suite run against every backend: SQLite (a temp file) and
 * MongoDB (a real FerretDB started by test/helpers/mongo.ts, a fresh database per test).
 * Backend-specific checks (SQLite migrations and kill -9 durability, the MongoDB document
 * layout) follow the suite.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { create } from "@bufbuild/protobuf";
import { MongoClient } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ActionType } from "../../gen/es/recommender/v1/behavior_pb.js";
import { FieldSpecSchema, FieldType } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { startTestMongo, type TestMongo } from "../../test/helpers/mongo.js";
import type { Violation } from "../contracts.js";
import {
  type ConfigStore,
  ConfigValidationError,
  ConflictError,
  NotFoundError,
  newTrackingConfig,
  type StoreOptions,
  VersionConflictError,
} from "./config-store.js";
import { CONFIGS_COLLECTION, databaseOf, maskUri, openMongoStore } from "./mongo-backend.js";
import { exportConfigs, importConfigs, parseConfigLines } from "./ndjson.js";
import { openSqliteStore, SqliteBackend } from "./sqlite-backend.js";

const dirs: string[] = [];
const stores: ConfigStore[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "config-store-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let mongo: TestMongo | undefined;
beforeAll(async () => {
  mongo = await startTestMongo();
}, 600_000);
afterAll(async () => {
  await mongo?.stop();
});

/** A backend under test: `location()` names a fresh empty store; `open` opens one (twice = two processes). */
interface Backend {
  name: string;
  location(): string;
  open(location: string, options?: StoreOptions): Promise<ConfigStore>;
  /** Writes a malformed config straight into the database. */
  corrupt(location: string): Promise<void>;
}

const backends: Backend[] = [
  {
    name: "sqlite",
    location: () => join(tmp(), "configs.db"),
    open: (file, options = {}) => openSqliteStore({ pollIntervalMs: 0, ...options, file }),
    async corrupt(file) {
      const db = new DatabaseSync(file);
      db.prepare(
        "INSERT INTO tracking_configs (tenant_id, scenario_id, scenario_type, is_active, version, created_at, updated_at, config) VALUES (?,?,?,?,?,?,?,?)",
      ).run("bad", "row", "video", 1, 1, 1, Date.now() + 60_000, new Uint8Array([0xff, 0xff, 0xff]));
      db.close();
    },
  },
  {
    name: "mongodb",
    location: () => mongo!.uri(),
    open: (uri, options = {}) => openMongoStore({ pollIntervalMs: 0, ...options, uri }),
    async corrupt(uri) {
      const client = await MongoClient.connect(uri);
      await client
        .db(databaseOf(uri))
        .collection(CONFIGS_COLLECTION)
        .insertOne({ tenant_id: "bad", scenario_id: "row", scenario_type: 42, version: "x", updated_at: Date.now() });
      await client.close();
    },
  },
];

function vlog(tenant = "mymx", scenario = "vlog_feed") {
  return newTrackingConfig({
    tenantId: tenant,
    scenarioId: scenario,
    scenarioType: "video",
    name: "Vlog feed",
    requiredFields: [{ fieldName: "duration", fieldType: FieldType.INTEGER, required: true, minValue: 0 }],
    recommendedActions: [ActionType.PLAY, ActionType.PLAY_END],
  });
}

describe.each(backends)("ConfigStore contract: $name", (backend) => {
  async function open(location = backend.location(), options: StoreOptions = {}): Promise<ConfigStore> {
    const s = await backend.open(location, options);
    stores.push(s);
    return s;
  }

  it("creates, reads and caches", async () => {
    let t = 1000;
    const s = await open(undefined, { now: () => t });
    const c = await s.create(vlog());
    expect(c).toMatchObject({ version: 1, isActive: true, createdAt: 1000n, updatedAt: 1000n });
    expect(s.get("mymx", "vlog_feed")?.requiredFields[0]?.fieldName).toBe("duration");
    expect(s.activeConfig("mymx", "vlog_feed")?.version).toBe(1);
    expect(s.activeConfig("mymx", "nope")).toBeUndefined();
    t = 2000;
    await expect(s.create(vlog())).rejects.toThrow(ConflictError);
    expect(s.available()).toBe(true);
  });

  it("partial update changes only named fields and bumps the version", async () => {
    let t = 1000;
    const s = await open(undefined, { now: () => t });
    await s.create(vlog());
    t = 5000;
    const patch = newTrackingConfig({
      description: "更新后的描述",
      name: "ignored because not in paths",
      optionalFields: [{ fieldName: "buffer_time", fieldType: FieldType.INTEGER, description: "缓冲时间（毫秒）" }],
      version: 99,
    });
    const u = await s.update("mymx", "vlog_feed", patch, ["description", "optional_fields", "version"]);
    expect(u).toMatchObject({
      version: 2,
      description: "更新后的描述",
      name: "Vlog feed",
      createdAt: 1000n,
      updatedAt: 5000n,
    });
    expect(u.optionalFields.map((f) => f.fieldName)).toEqual(["buffer_time"]);
    expect(u.requiredFields).toHaveLength(1);
    // camelCase paths work too; mutating the patch afterwards does not leak into the store.
    const p2 = newTrackingConfig({
      requiredFields: [create(FieldSpecSchema, { fieldName: "x", fieldType: FieldType.STRING })],
    });
    await s.update("mymx", "vlog_feed", p2, ["requiredFields"]);
    p2.requiredFields[0]!.fieldName = "mutated";
    expect(s.get("mymx", "vlog_feed")!.requiredFields[0]!.fieldName).toBe("x");
    expect(s.activeConfig("mymx", "vlog_feed")!.version).toBe(3);
  });

  it("update errors: not found, unknown path, changing identity", async () => {
    const s = await open();
    await expect(s.update("mymx", "nope", newTrackingConfig({}), ["name"])).rejects.toThrow(NotFoundError);
    await s.create(vlog());
    await expect(s.update("mymx", "vlog_feed", newTrackingConfig({}), ["bogus"])).rejects.toThrow(
      ConfigValidationError,
    );
    await expect(
      s.update("mymx", "vlog_feed", newTrackingConfig({ tenantId: "other" }), ["tenant_id"]),
    ).rejects.toThrow(/cannot be changed/);
    // Same identity in the body is fine (a GET response PUT back).
    const u = await s.update("mymx", "vlog_feed", newTrackingConfig({ tenantId: "mymx", name: "n" }), [
      "tenant_id",
      "name",
    ]);
    expect(u.version).toBe(2);
  });

  it("soft delete keeps the config readable, hides it from activeConfig, and create reactivates with version+1", async () => {
    const s = await open();
    await s.create(vlog());
    await s.create(vlog("mymx", "shop"));
    const d = await s.softDelete("mymx", "vlog_feed");
    expect(d).toMatchObject({ isActive: false, version: 2 });
    expect(s.get("mymx", "vlog_feed")?.isActive).toBe(false);
    expect(s.activeConfig("mymx", "vlog_feed")).toBeUndefined();
    expect(s.list().map((c) => c.scenarioId)).toEqual(["shop"]);
    expect(s.list({ include_inactive: true }).map((c) => c.scenarioId)).toEqual(["shop", "vlog_feed"]);
    expect((await s.softDelete("mymx", "vlog_feed")).version).toBe(2); // already inactive: no new version
    const r = await s.create(vlog());
    expect(r).toMatchObject({ isActive: true, version: 3 });
    expect((await s.history("mymx", "vlog_feed")).map((h) => [h.version, h.change])).toEqual([
      [1, "create"],
      [2, "delete"],
      [3, "recreate"],
    ]);
    await expect(s.softDelete("x", "y")).rejects.toThrow(NotFoundError);
  });

  it("lists with filters", async () => {
    const s = await open();
    await s.create(vlog("a", "v"));
    await s.create(newTrackingConfig({ tenantId: "a", scenarioId: "shop", scenarioType: "ecommerce" }));
    await s.create(vlog("b", "v"));
    expect(s.list({ tenant_id: "a" }).map((c) => c.scenarioId)).toEqual(["shop", "v"]);
    expect(s.list({ scenario_type: "video" }).map((c) => c.tenantId)).toEqual(["a", "b"]);
    expect(s.list({ tenant_id: "a", scenario_type: "video" })).toHaveLength(1);
  });

  it("refuses configs the validator rejects, and does not store them", async () => {
    const validate = (c: { scenarioType: string }): Violation[] =>
      c.scenarioType === "bogus"
        ? [{ field: "scenario_type", rule: "enum", message: "scenario_type bogus is unknown", severity: "error" }]
        : [];
    const loc = backend.location();
    const s = await open(loc, { validate });
    const bad = vlog();
    bad.scenarioType = "bogus";
    const err = await s.create(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as ConfigValidationError).violations[0]!.field).toBe("scenario_type");
    expect(s.get("mymx", "vlog_feed")).toBeUndefined();
    await s.create(vlog());
    await expect(
      s.update("mymx", "vlog_feed", newTrackingConfig({ scenarioType: "bogus" }), ["scenario_type"]),
    ).rejects.toThrow(ConfigValidationError);
    expect(s.get("mymx", "vlog_feed")!.version).toBe(1);
    expect((await open(loc)).get("mymx", "vlog_feed")!.version).toBe(1);
  });

  it("notifies subscribers after writes", async () => {
    const s = await open();
    const seen: number[] = [];
    const off = s.subscribe((c) => seen.push(c.version));
    await s.create(vlog());
    await s.update("mymx", "vlog_feed", newTrackingConfig({ name: "x" }), ["name"]);
    off();
    await s.softDelete("mymx", "vlog_feed");
    expect(seen).toEqual([1, 2]);
  });

  it("survives reopen", async () => {
    const loc = backend.location();
    const s1 = await backend.open(loc, {});
    await s1.create(vlog());
    await s1.update("mymx", "vlog_feed", newTrackingConfig({ name: "renamed" }), ["name"]);
    await s1.close();
    const s2 = await open(loc);
    expect(s2.activeConfig("mymx", "vlog_feed")).toMatchObject({ name: "renamed", version: 2 });
    expect(s2.get("mymx", "vlog_feed")!.requiredFields[0]).toMatchObject({
      fieldName: "duration",
      fieldType: FieldType.INTEGER,
      required: true,
    });
    expect(s2.get("mymx", "vlog_feed")!.recommendedActions).toEqual([ActionType.PLAY, ActionType.PLAY_END]);
  });

  it("conditional writes: the expected version must be the stored one (409 names it)", async () => {
    const s = await open();
    await s.create(vlog());
    const u = await s.update("mymx", "vlog_feed", newTrackingConfig({ name: "a" }), ["name"], 1);
    expect(u.version).toBe(2);
    const stale = await s
      .update("mymx", "vlog_feed", newTrackingConfig({ name: "b" }), ["name"], 1)
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(VersionConflictError);
    expect((stale as VersionConflictError).currentVersion).toBe(2);
    expect((stale as Error).message).toMatch(/version 2, not the expected 1/);
    await expect(s.softDelete("mymx", "vlog_feed", 7)).rejects.toThrow(VersionConflictError);
    expect(s.get("mymx", "vlog_feed")).toMatchObject({ name: "a", version: 2, isActive: true });
  });

  it("a second store on the same database sees writes by polling and tells its subscribers", async () => {
    const loc = backend.location();
    const a = await open(loc);
    const b = await open(loc);
    const seen: number[] = [];
    b.subscribe((c) => seen.push(c.version));
    await a.create(vlog());
    expect(await b.refresh()).toBe(1);
    expect(b.activeConfig("mymx", "vlog_feed")?.version).toBe(1);
    await a.update("mymx", "vlog_feed", newTrackingConfig({ name: "via a" }), ["name"]);
    await a.softDelete("mymx", "vlog_feed");
    await b.refresh();
    expect(b.get("mymx", "vlog_feed")).toMatchObject({ name: "via a", version: 3, isActive: false });
    expect(b.activeConfig("mymx", "vlog_feed")).toBeUndefined();
    expect(seen).toEqual([1, 3]);
    expect(await b.refresh()).toBe(0);
  });

  it("the poller applies other stores' writes on its own", async () => {
    const loc = backend.location();
    const a = await open(loc);
    const b = await open(loc, { pollIntervalMs: 20 });
    await a.create(vlog());
    const deadline = Date.now() + 10_000;
    while (b.activeConfig("mymx", "vlog_feed") === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(b.activeConfig("mymx", "vlog_feed")?.version).toBe(1);
  });

  it("concurrent writers on two stores lose no update (compare-and-set; stale cache retried)", async () => {
    const loc = backend.location();
    const a = await open(loc);
    const b = await open(loc);
    await a.create(vlog());
    await b.refresh();
    // Without an expected version each write re-reads on a lost race: all 40 land.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).update("mymx", "vlog_feed", newTrackingConfig({ description: `d${i}` }), ["description"]),
      ),
    );
    await a.refresh();
    expect(a.get("mymx", "vlog_feed")!.version).toBe(41);
    expect((await a.history("mymx", "vlog_feed")).map((h) => h.version)).toEqual(
      Array.from({ length: 41 }, (_, i) => i + 1),
    );
    // The stale store (b has not polled) is corrected by the database, not fooled by its cache.
    const err = await b
      .update("mymx", "vlog_feed", newTrackingConfig({ name: "x" }), ["name"], 3)
      .catch((e: unknown) => e);
    expect((err as VersionConflictError).currentVersion).toBe(41);
    expect((await b.update("mymx", "vlog_feed", newTrackingConfig({ name: "x" }), ["name"], 41)).version).toBe(42);
  });

  it("export → import into an empty store reproduces the configs; re-import makes no new version", async () => {
    const src = await open();
    await src.create(vlog());
    await src.create(vlog("mymx", "gone"));
    await src.softDelete("mymx", "gone");
    await src.update("mymx", "vlog_feed", newTrackingConfig({ description: "中文" }), ["description"]);
    const text = exportConfigs(src);
    expect(
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).scenario_id),
    ).toEqual(["gone", "vlog_feed"]);
    const dst = await open();
    expect(await importConfigs(dst, parseConfigLines(text))).toEqual({ created: 2, updated: 0, unchanged: 0 });
    expect(await importConfigs(dst, parseConfigLines(text))).toEqual({ created: 0, updated: 0, unchanged: 2 });
    expect(dst.get("mymx", "vlog_feed")).toMatchObject({ description: "中文", version: 1, isActive: true });
    expect(dst.get("mymx", "gone")?.isActive).toBe(false);
    // A changed line updates (one new version); the export of both stores then agrees on content.
    await src.update("mymx", "vlog_feed", newTrackingConfig({ name: "v3" }), ["name"]);
    expect(await importConfigs(dst, parseConfigLines(exportConfigs(src)))).toEqual({
      created: 0,
      updated: 1,
      unchanged: 1,
    });
    expect(dst.get("mymx", "vlog_feed")).toMatchObject({ name: "v3", version: 2 });
    expect(() => parseConfigLines('{"tenant_id": "x"}\nnot json\n')).toThrow(/line 1: .*scenario_id.*\n.*line 2/s);
  });

  it("a malformed stored config is reported, counted and skipped, never a crash", async () => {
    const loc = backend.location();
    const lines: string[] = [];
    const s = await open(loc, { log: (l) => lines.push(l) });
    await s.create(vlog());
    await backend.corrupt(loc);
    await s.refresh();
    await s.refresh();
    expect(s.malformedCount()).toBe(1);
    expect(lines.join("\n")).toMatch(/skipped malformed config/);
    expect(s.list().map((c) => c.scenarioId)).toEqual(["vlog_feed"]);
    const fresh = await open(loc, { log: () => {} });
    expect(fresh.malformedCount()).toBe(1);
    expect(fresh.list()).toHaveLength(1);
  });
});

describe("SQLite backend", () => {
  it("migrates to the current schema version, and refuses a newer one", async () => {
    const file = join(tmp(), "configs.db");
    const b = new SqliteBackend(file);
    expect(b.schemaVersion()).toBe(2);
    await b.close();
    const db = new DatabaseSync(file);
    db.exec("PRAGMA user_version = 99");
    db.close();
    expect(() => new SqliteBackend(file)).toThrow(/schema version 99 is newer/);
  });

  it("committed writes survive kill -9 of the writing process", async () => {
    const dir = tmp();
    const file = join(dir, "configs.db");
    const script = join(dir, "child.mts");
    const storeModule = resolve(import.meta.dirname, "sqlite-backend.ts");
    const cfgModule = resolve(import.meta.dirname, "config-store.ts");
    writeFileSync(
      script,
      `import { openSqliteStore } from ${JSON.stringify(storeModule)};
       import { newTrackingConfig } from ${JSON.stringify(cfgModule)};
       const s = await openSqliteStore({ file: ${JSON.stringify(file)}, pollIntervalMs: 0 });
       for (let i = 0; i < 20; i++) await s.create(newTrackingConfig({ tenantId: "mymx", scenarioId: "s" + i, scenarioType: "video" }));
       await s.update("mymx", "s0", newTrackingConfig({ name: "after-update" }), ["name"]);
       process.stdout.write("committed\\n");
       setInterval(() => {}, 1000); // stay alive until killed; never close the DB
      `,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: resolve(import.meta.dirname, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((res, rej) => {
      child.stdout.on("data", (d: Buffer) => {
        if (d.toString().includes("committed")) res();
      });
      child.on("exit", (code) => rej(new Error(`child exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise((r) => child.on("exit", (_code, signal) => r(signal)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const s = await openSqliteStore({ file, pollIntervalMs: 0 });
    stores.push(s);
    expect(s.list()).toHaveLength(20);
    expect(s.activeConfig("mymx", "s0")).toMatchObject({ name: "after-update", version: 2 });
  });
});

describe("MongoDB backend", () => {
  it("stores documents a person can read: the seed's JSON shape, unique (tenant, scenario), history", async () => {
    const uri = mongo!.uri();
    const s = await openMongoStore({ uri, pollIntervalMs: 0, now: () => 1_700_000_000_000 });
    stores.push(s);
    await s.create(vlog());
    const client = await MongoClient.connect(uri);
    try {
      const db = client.db(databaseOf(uri));
      const doc = await db.collection(CONFIGS_COLLECTION).findOne({}, { projection: { _id: 0 } });
      expect(doc).toMatchObject({
        tenant_id: "mymx",
        scenario_id: "vlog_feed",
        scenario_type: "video",
        required_fields: [{ field_name: "duration", field_type: "integer", required: true }],
        recommended_actions: ["play", "play_end"],
        is_active: true,
        version: 1,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
      });
      const dup = await db
        .collection(CONFIGS_COLLECTION)
        .insertOne({ tenant_id: "mymx", scenario_id: "vlog_feed" })
        .catch((e: unknown) => e);
      expect((dup as { code?: number }).code).toBe(11000);
      const h = await db.collection("tracking_config_history").find().toArray();
      expect(h).toHaveLength(1);
      expect(h[0]).toMatchObject({ version: 1, change: "create", config: { tenant_id: "mymx" } });
    } finally {
      await client.close();
    }
  });

  it("names the database after the URI path (default tracking) and masks passwords", () => {
    expect(databaseOf("mongodb://h:1/cfg?replicaSet=r")).toBe("cfg");
    expect(databaseOf("mongodb://h:1")).toBe("tracking");
    expect(databaseOf("mongodb://h1:1,h2:2/?w=1")).toBe("tracking");
    expect(maskUri("mongodb://user:s3cret@h:1/db")).toBe("mongodb://user:***@h:1/db");
    expect(maskUri("mongodb://h:1/db")).toBe("mongodb://h:1/db");
  });
});
