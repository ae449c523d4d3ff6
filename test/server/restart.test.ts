/**
 * Acceptance: state survives restarts. Configs (with versions, active or soft-deleted) come
 * back after a clean stop/start on the same data directory and keep judging events the
 * same way; a soft-deleted config no longer judges. And after `kill -9` of the real CLI,
 * configs are present and every acknowledged event is in the NDJSON topic file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { type CliServer, call, client, copy, seedEventData, spawnCli } from "./http-helpers.js";

const TOPIC = "user-behaviors-mymx";

function longVideo() {
  const e = seedEventData();
  e.scenario_data.video_data.duration = 180; // above the max 120 set below
  return e;
}

describe("clean restart on the same data directory", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tracking-restart-"));
  let t: TestServer | undefined;
  afterAll(async () => {
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const cfgPath = (tenant: string, scenario: string) => `/api/v1/tracking-configs/${tenant}/${scenario}`;
  const snapshot: Record<string, any> = {};
  let linesBefore = 0;

  it("first run: create, update and soft-delete configs; track events", async () => {
    t = await startTestServer({ dataDir });
    const api = client(t.baseUrl);
    const a = await api("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      template_id: "video",
      name: "短视频Feed流埋点配置",
    });
    expect(a.status).toBe(200);
    const required = a.body.config.required_fields.map((f: any) =>
      f.field_name === "duration" ? { ...f, max_value: 120 } : f,
    );
    const u = await api("PUT", cfgPath("mymx", "vlog_feed"), { required_fields: required, description: "max 120 s" });
    expect(u.body.config.version).toBe(2);
    const b = await api("POST", "/api/v1/tracking-configs/", {
      tenant_id: "tenant_abc",
      scenario_id: "shop",
      scenario_type: "ecommerce",
      name: "商城",
      required_fields: [{ field_name: "price", field_type: "number", required: true, min_value: 0, max_value: 10000 }],
    });
    expect(b.status).toBe(200);
    const c = await api("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "news_feed",
      template_id: "news",
    });
    expect(c.status).toBe(200);
    expect((await api("DELETE", cfgPath("mymx", "news_feed"))).status).toBe(200);

    const tr = await api("POST", "/api/v1/behaviors/track", longVideo());
    expect(tr.body.validation_warnings).toEqual([
      expect.objectContaining({ field: "scenario_data.video_data.duration", rule: "range" }),
    ]);
    for (const [tenant, scenario] of [
      ["mymx", "vlog_feed"],
      ["tenant_abc", "shop"],
      ["mymx", "news_feed"],
    ] as const) {
      snapshot[`${tenant}/${scenario}`] = (await api("GET", cfgPath(tenant, scenario))).body;
    }
    expect(snapshot["mymx/vlog_feed"]).toMatchObject({ version: 2, is_active: true });
    expect(snapshot["tenant_abc/shop"]).toMatchObject({ version: 1, is_active: true });
    expect(snapshot["mymx/news_feed"]).toMatchObject({ version: 2, is_active: false });
    linesBefore = (await readTopicFile(dataDir, TOPIC)).length;
    expect(linesBefore).toBe(1);
    await t.stop();
    t = undefined;
  });

  it("second run: every config is back, identical, with its version; rules judge as before", async () => {
    t = await startTestServer({ dataDir });
    const api = client(t.baseUrl);
    for (const [key, before] of Object.entries(snapshot)) {
      const [tenant, scenario] = key.split("/");
      const got = await api("GET", cfgPath(tenant!, scenario!));
      expect(got.status).toBe(200);
      expect(got.body, key).toEqual(before);
    }
    const active = await api("GET", "/api/v1/tracking-configs/");
    expect(active.body.configs.map((c: any) => `${c.tenant_id}/${c.scenario_id}@${c.version}`)).toEqual([
      "mymx/vlog_feed@2",
      "tenant_abc/shop@1",
    ]);
    const all = await api("GET", "/api/v1/tracking-configs/?include_inactive=true");
    expect(all.body.total).toBe(3);

    // The v2 rule (duration ≤ 120) still judges, recompiled from the store.
    const tr = await api("POST", "/api/v1/behaviors/track", longVideo());
    expect(tr.body.validation_warnings).toEqual([
      expect.objectContaining({
        field: "scenario_data.video_data.duration",
        rule: "range",
        message: expect.stringContaining("mymx/vlog_feed (v2)"),
      }),
    ]);
    const lines = await readTopicFile(dataDir, TOPIC);
    expect(lines).toHaveLength(linesBefore + 1);
    expect(lines.at(-1)!.headers["tracking-config-version"]).toBe("2");

    // Soft-delete now; the effect must survive the next restart.
    const del = await api("DELETE", cfgPath("mymx", "vlog_feed"));
    expect(del.status).toBe(200);
    await t.stop();
    t = undefined;
  });

  it("third run: the soft-deleted config is readable but no longer judges; the template does", async () => {
    t = await startTestServer({ dataDir });
    const api = client(t.baseUrl);
    const got = await api("GET", cfgPath("mymx", "vlog_feed"));
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ is_active: false, version: 3, description: "max 120 s" });
    expect(got.body.required_fields.find((f: any) => f.field_name === "duration").max_value).toBe(120);

    const tr = await api("POST", "/api/v1/behaviors/track", longVideo());
    expect(tr.status).toBe(200);
    expect(tr.body.validation_warnings).toBeUndefined(); // the custom max 120 rule is gone
    const broken = copy(longVideo());
    broken.scenario_data.video_data.completion_rate = 1.5;
    const tw = await api("POST", "/api/v1/behaviors/track", broken);
    expect(tw.body.validation_warnings).toEqual([
      // The proto's bound, reported once (by the generated validator; the template judges only core fields' presence).
      expect.objectContaining({
        field: "scenario_data.video_data.completion_rate",
        rule: "range",
        message: expect.stringContaining("between 0 and 1"),
      }),
    ]);
    const lines = await readTopicFile(dataDir, TOPIC);
    expect(lines).toHaveLength(linesBefore + 3);
    expect(lines.slice(-2).map((l) => l.headers["tracking-config-version"])).toEqual(["0", "0"]);

    // The other configs are untouched.
    expect((await api("GET", cfgPath("tenant_abc", "shop"))).body).toEqual(snapshot["tenant_abc/shop"]);

    // Re-creating a soft-deleted scenario makes it active again with the next version.
    const again = await api("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      template_id: "video",
    });
    expect(again.status).toBe(200);
    expect(again.body.config).toMatchObject({ is_active: true, version: 4 });
  });
});

describe("kill -9 of the real CLI", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tracking-kill-"));
  const children: CliServer[] = [];
  afterAll(async () => {
    for (const c of children) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill("SIGKILL");
        await c.exited;
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("after SIGKILL the config is present and every acknowledged event is in the topic file", async () => {
    const first = await spawnCli(dataDir);
    children.push(first);
    expect(first.output()).toContain("WARNING: no API keys configured");
    const api = client(first.baseUrl);
    const created = await api("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      template_id: "video",
    });
    expect(created.status).toBe(200);
    const updated = await api("PUT", "/api/v1/tracking-configs/mymx/vlog_feed", { description: "before the crash" });
    expect(updated.body.config.version).toBe(2);

    const acked = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await api("POST", "/api/v1/behaviors/track", { ...seedEventData(), item_id: `seq_${i}` });
      expect(r.status).toBe(200);
      acked.add(r.body.event_id);
    }
    const batch = await api("POST", "/api/v1/behaviors/track/batch", {
      events: Array.from({ length: 50 }, (_, i) => ({ ...seedEventData(), item_id: `batch_${i}` })),
    });
    expect(batch.body).toMatchObject({ success: true, succeeded: 50 });
    for (const r of batch.body.results) acked.add(r.event_id);

    // A burst in flight when the process is killed: only the answered ones count as acknowledged.
    const inFlight: Promise<void>[] = [];
    let answered = 0;
    let killed = false;
    const killAfter = 30;
    await new Promise<void>((resolve) => {
      for (let i = 0; i < 300; i++) {
        inFlight.push(
          call(first.baseUrl, "POST", "/api/v1/behaviors/track", { ...seedEventData(), item_id: `burst_${i}` }).then(
            (r) => {
              if (r.status === 200) {
                acked.add(r.body.event_id);
                answered++;
              }
              if (answered >= killAfter && !killed) {
                killed = true;
                first.child.kill("SIGKILL");
                resolve();
              }
            },
            () => {
              if (!killed) {
                killed = true;
                first.child.kill("SIGKILL");
                resolve();
              }
            },
          ),
        );
      }
    });
    const exit = await first.exited;
    expect(exit.signal).toBe("SIGKILL");
    await Promise.allSettled(inFlight);
    expect(acked.size).toBeGreaterThanOrEqual(70 + killAfter);

    const second = await spawnCli(dataDir);
    children.push(second);
    const api2 = client(second.baseUrl);
    const cfg = await api2("GET", "/api/v1/tracking-configs/mymx/vlog_feed");
    expect(cfg.status).toBe(200);
    expect(cfg.body).toMatchObject({
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      template_id: "video",
      version: 2,
      is_active: true,
      description: "before the crash",
    });

    // One more event: opening the topic again also cuts a torn tail of an unacknowledged write.
    const after = await api2("POST", "/api/v1/behaviors/track", { ...seedEventData(), item_id: "after_restart" });
    expect(after.status).toBe(200);
    const lines = await readTopicFile(dataDir, TOPIC);
    const ids = lines.map((l) => (l.value as any).event_id as string);
    const missing = [...acked].filter((id) => !ids.includes(id));
    expect(missing).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.at(-1)).toBe(after.body.event_id);
    expect(lines.at(-1)!.headers["tracking-config-version"]).toBe("2");

    // A graceful stop (SIGTERM) exits 0.
    second.child.kill("SIGTERM");
    expect(await second.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
