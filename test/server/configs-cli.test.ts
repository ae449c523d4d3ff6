/**
 * `tracking configs export|import` through the real CLI: configs move from the embedded
 * SQLite store to MongoDB (a private FerretDB) as NDJSON, a second import changes nothing,
 * a server on the MongoDB store then serves them, and a bad line imports nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMongo, type TestMongo } from "../helpers/mongo.js";
import { run, runOk } from "../helpers/run.js";
import { startTestServer } from "../helpers/server.js";
import { client } from "./http-helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
let mongo: TestMongo | undefined;
const dir = mkdtempSync(join(tmpdir(), "configs-cli-"));
beforeAll(async () => {
  mongo = await startTestMongo();
}, 600_000);
afterAll(async () => {
  await mongo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `tracking configs <args>` as the CLI (node + tsx, like bin/tracking). */
function configs(...args: string[]) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("TRACKING_")) delete env[k];
  return run(process.execPath, ["--import", "tsx", join(ROOT, "server/main.ts"), "configs", ...args], {
    env,
    timeoutMs: 60_000,
  });
}

describe("tracking configs export|import", () => {
  it("moves configs from SQLite to MongoDB; re-import is a no-op; a bad line imports nothing", async () => {
    const dataDir = join(dir, "data");
    const src = await startTestServer({ dataDir });
    const api = client(src.baseUrl);
    expect(
      (
        await api("POST", "/api/v1/tracking-configs/from-template", {
          tenant_id: "mymx",
          scenario_id: "vlog_feed",
          template_id: "video",
        })
      ).status,
    ).toBe(200);
    await api("PATCH", "/api/v1/tracking-configs/mymx/vlog_feed", { description: "短视频" });
    await api("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "shop",
      scenario_id: "old",
      template_id: "ecommerce",
    });
    await api("DELETE", "/api/v1/tracking-configs/shop/old");
    await src.stop();

    const file = join(dir, "configs.ndjson");
    const exp = await runOk(process.execPath, [
      "--import",
      "tsx",
      join(ROOT, "server/main.ts"),
      "configs",
      "export",
      "--data-dir",
      dataDir,
      "-o",
      file,
    ]);
    expect(exp.stderr).toContain("exported 2 configs from sqlite");
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.tenant_id, l.scenario_id, l.is_active, l.version])).toEqual([
      ["mymx", "vlog_feed", true, 2],
      ["shop", "old", false, 2],
    ]);
    expect(lines[0].description).toBe("短视频");

    const uri = mongo!.uri();
    const first = await configs("import", file, "--config-store", uri);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/imported into mongodb .*: 2 created, 0 updated, 0 unchanged/);
    const again = await configs("import", file, "--config-store", uri);
    expect(again.stderr).toMatch(/0 created, 0 updated, 2 unchanged/);

    const dst = await startTestServer({ configStore: uri });
    try {
      const got = await client(dst.baseUrl)("GET", "/api/v1/tracking-configs/mymx/vlog_feed");
      expect(got.body).toMatchObject({ description: "短视频", is_active: true, version: 1 });
      const all = await client(dst.baseUrl)("GET", "/api/v1/tracking-configs/?include_inactive=true");
      expect(all.body.total).toBe(2);
    } finally {
      await dst.stop(true);
    }
    // Exported from MongoDB it is the same content (versions are the target store's own).
    const back = await configs("export", "--config-store", uri);
    const strip = (l: Record<string, unknown>) => ({ ...l, version: 0, created_at: 0, updated_at: 0 });
    expect(
      back.stdout
        .trim()
        .split("\n")
        .map((l) => strip(JSON.parse(l))),
    ).toEqual(lines.map(strip));

    const bad = join(dir, "bad.ndjson");
    writeFileSync(bad, `${readFileSync(file, "utf8")}{"tenant_id": "x y", "scenario_id": "s"}\n`);
    const refused = await configs("import", bad, "--config-store", uri);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/nothing imported:\nline 3: tenant_id: .*\n?.*scenario_type/);
  }, 180_000);
});
