import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { ActionType } from "../../gen/es/recommender/v1/behavior_pb.js";
import { FieldSpecSchema, FieldType } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import type { Violation } from "../contracts.js";
import { ConfigStore, ConfigValidationError, ConflictError, NotFoundError, newTrackingConfig } from "./config-store.js";

const dirs: string[] = [];
const stores: ConfigStore[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "config-store-"));
  dirs.push(d);
  return d;
}
function open(dataDir: string, extra: { validate?: (c: never) => Violation[]; now?: () => number } = {}): ConfigStore {
  const s = ConfigStore.open({ dataDir, ...(extra as object) });
  stores.push(s);
  return s;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

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

describe("ConfigStore", () => {
  it("creates, reads and caches; migrations set user_version", () => {
    let t = 1000;
    const s = open(tmp(), { now: () => t });
    expect(s.schemaVersion()).toBe(1);
    const c = s.create(vlog());
    expect(c).toMatchObject({ version: 1, isActive: true, createdAt: 1000n, updatedAt: 1000n });
    expect(s.get("mymx", "vlog_feed")?.requiredFields[0]?.fieldName).toBe("duration");
    expect(s.activeConfig("mymx", "vlog_feed")?.version).toBe(1);
    expect(s.activeConfig("mymx", "nope")).toBeUndefined();
    t = 2000;
    expect(() => s.create(vlog())).toThrow(ConflictError);
  });

  it("partial update changes only named fields and bumps the version", () => {
    let t = 1000;
    const s = open(tmp(), { now: () => t });
    s.create(vlog());
    t = 5000;
    const patch = newTrackingConfig({
      description: "更新后的描述",
      name: "ignored because not in paths",
      optionalFields: [{ fieldName: "buffer_time", fieldType: FieldType.INTEGER, description: "缓冲时间（毫秒）" }],
      version: 99,
    });
    const u = s.update("mymx", "vlog_feed", patch, ["description", "optional_fields", "version"]);
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
    s.update("mymx", "vlog_feed", p2, ["requiredFields"]);
    p2.requiredFields[0]!.fieldName = "mutated";
    expect(s.get("mymx", "vlog_feed")!.requiredFields[0]!.fieldName).toBe("x");
    expect(s.activeConfig("mymx", "vlog_feed")!.version).toBe(3);
  });

  it("update errors: not found, unknown path, changing identity", () => {
    const s = open(tmp());
    expect(() => s.update("mymx", "nope", newTrackingConfig({}), ["name"])).toThrow(NotFoundError);
    s.create(vlog());
    expect(() => s.update("mymx", "vlog_feed", newTrackingConfig({}), ["bogus"])).toThrow(ConfigValidationError);
    expect(() => s.update("mymx", "vlog_feed", newTrackingConfig({ tenantId: "other" }), ["tenant_id"])).toThrow(
      /cannot be changed/,
    );
    // Same identity in the body is fine (a GET response PUT back).
    expect(
      s.update("mymx", "vlog_feed", newTrackingConfig({ tenantId: "mymx", name: "n" }), ["tenant_id", "name"]).version,
    ).toBe(2);
  });

  it("soft delete keeps the config readable, hides it from activeConfig, and create reactivates with version+1", () => {
    const s = open(tmp());
    s.create(vlog());
    s.create(vlog("mymx", "shop"));
    const d = s.softDelete("mymx", "vlog_feed");
    expect(d).toMatchObject({ isActive: false, version: 2 });
    expect(s.get("mymx", "vlog_feed")?.isActive).toBe(false);
    expect(s.activeConfig("mymx", "vlog_feed")).toBeUndefined();
    expect(s.list().map((c) => c.scenarioId)).toEqual(["shop"]);
    expect(s.list({ include_inactive: true }).map((c) => c.scenarioId)).toEqual(["shop", "vlog_feed"]);
    const r = s.create(vlog());
    expect(r).toMatchObject({ isActive: true, version: 3 });
    expect(s.history("mymx", "vlog_feed").map((h) => h.change)).toEqual(["create", "delete", "recreate"]);
    expect(() => s.softDelete("x", "y")).toThrow(NotFoundError);
  });

  it("lists with filters", () => {
    const s = open(tmp());
    s.create(vlog("a", "v"));
    s.create(newTrackingConfig({ tenantId: "a", scenarioId: "shop", scenarioType: "ecommerce" }));
    s.create(vlog("b", "v"));
    expect(s.list({ tenant_id: "a" }).map((c) => c.scenarioId)).toEqual(["shop", "v"]);
    expect(s.list({ scenario_type: "video" }).map((c) => c.tenantId)).toEqual(["a", "b"]);
    expect(s.list({ tenant_id: "a", scenario_type: "video" })).toHaveLength(1);
  });

  it("refuses configs the validator rejects, and does not store them", () => {
    const validate = (c: { scenarioType: string }): Violation[] =>
      c.scenarioType === "bogus"
        ? [{ field: "scenario_type", rule: "enum", message: "scenario_type bogus is unknown", severity: "error" }]
        : [];
    const s = open(tmp(), { validate: validate as never });
    const bad = vlog();
    bad.scenarioType = "bogus";
    try {
      s.create(bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigValidationError);
      expect((e as ConfigValidationError).violations[0]!.field).toBe("scenario_type");
    }
    expect(s.get("mymx", "vlog_feed")).toBeUndefined();
    s.create(vlog());
    expect(() =>
      s.update("mymx", "vlog_feed", newTrackingConfig({ scenarioType: "bogus" }), ["scenario_type"]),
    ).toThrow(ConfigValidationError);
    expect(s.get("mymx", "vlog_feed")!.version).toBe(1);
  });

  it("notifies subscribers after writes", () => {
    const s = open(tmp());
    const seen: number[] = [];
    const off = s.subscribe((c) => seen.push(c.version));
    s.create(vlog());
    s.update("mymx", "vlog_feed", newTrackingConfig({ name: "x" }), ["name"]);
    off();
    s.softDelete("mymx", "vlog_feed");
    expect(seen).toEqual([1, 2]);
  });

  it("survives reopen", () => {
    const dir = tmp();
    const s1 = ConfigStore.open({ dataDir: dir });
    s1.create(vlog());
    s1.update("mymx", "vlog_feed", newTrackingConfig({ name: "renamed" }), ["name"]);
    s1.close();
    const s2 = open(dir);
    expect(s2.activeConfig("mymx", "vlog_feed")).toMatchObject({ name: "renamed", version: 2 });
    expect(s2.schemaVersion()).toBe(1);
  });

  it("committed writes survive kill -9 of the writing process", async () => {
    const dir = tmp();
    const script = join(dir, "child.ts");
    const storeModule = resolve(import.meta.dirname, "config-store.ts");
    writeFileSync(
      script,
      `import { ConfigStore, newTrackingConfig } from ${JSON.stringify(storeModule)};
       const s = ConfigStore.open({ dataDir: ${JSON.stringify(dir)} });
       for (let i = 0; i < 20; i++) s.create(newTrackingConfig({ tenantId: "mymx", scenarioId: "s" + i, scenarioType: "video" }));
       s.update("mymx", "s0", newTrackingConfig({ name: "after-update" }), ["name"]);
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

    const s = open(dir);
    expect(s.list()).toHaveLength(20);
    expect(s.activeConfig("mymx", "s0")).toMatchObject({ name: "after-update", version: 2 });
  });
});
