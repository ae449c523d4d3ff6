/**
 * The everyday `tracking` commands through the real binary (bin/tracking, spawned), against a
 * real server (in-process, Kafka sink, API keys) and the shared broker, with a unique tenant:
 * configs list/get/diff/apply, validate (server and local store), replay (http and kafka), tail,
 * topics; their exit codes and bad-input behaviour (missing file, malformed line, unreachable
 * server or broker → one line on stderr, exit ≠ 0). Spawns run in parallel where independent.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trackingCommand } from "../../server/cli.js";
import { run } from "../helpers/run.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { freePort } from "../kafka/broker.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/tracking");
const TENANT = `cli${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const TENANT_KEY = `tk-${TENANT}`;
/** A second tenant for the ordering check (its topic holds only those events). */
const ORDERED = `${TENANT}_o`;
const ADMIN_KEY = `ak-${TENANT}`;
const dir = mkdtempSync(join(tmpdir(), "everyday-cli-"));
let t: TestServer;

/** The environment of a spawned command: none of the parent's tracking/Kafka settings, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const k of Object.keys(e)) if (k.startsWith("TRACKING_") || k.startsWith("KAFKA_")) delete e[k];
  return { ...e, ...extra };
}

function tracking(args: string[], extra: Record<string, string> = {}) {
  return run(BIN, args, { env: env(extra), timeoutMs: 90_000 });
}

/** Like tracking(), with `input` on stdin. */
function trackingStdin(
  args: string[],
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(BIN, args, { cwd: ROOT, env: env(), stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  child.stdin.end(input);
  return new Promise((done) => child.once("close", (code) => done({ code, stdout, stderr })));
}

/** stderr's lines without tsx's "build/ is older" note. */
function errLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l !== "" && !l.startsWith("tracking: build/"));
}

function event(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenant_id: TENANT,
    scenario_id: "vlog_feed",
    user_id: "user_12345",
    item_id: "video_67890",
    action_type: "play_end",
    context: { device_type: "mobile", os: "iOS" },
    scenario_data: { video_data: { duration: 180, watch_duration: 175, completion_rate: 0.97 } },
    ...extra,
  };
}

const events = join(dir, "events.ndjson");
const valid = join(dir, "valid.json");
const feed = join(dir, "feed.json");
const feed2 = join(dir, "feed2.json");
const badFeed = join(dir, "bad-feed.json");
const ordered = join(dir, "ordered.ndjson");

const feedConfig = {
  tenant_id: TENANT,
  scenario_id: "vlog_feed",
  scenario_type: "video",
  name: "Vlog feed",
  required_fields: [{ field_name: "duration", field_type: "integer", description: "video length, s" }],
  recommended_actions: ["play", "play_end", "click"],
};

beforeAll(async () => {
  const { user_id: _, ...noUser } = event();
  writeFileSync(
    events,
    [
      JSON.stringify(event()),
      JSON.stringify(noUser),
      '{"tenant_id": "x", oops',
      JSON.stringify(event({ scenario_data: { video_data: { duration: 180, completion_rate: 3 } } })),
      JSON.stringify(event({ action_type: "click", item_id: "video_1" })),
    ].join("\n"),
  );
  writeFileSync(valid, JSON.stringify([event()], null, 2));
  writeFileSync(feed, JSON.stringify(feedConfig, null, 2));
  writeFileSync(feed2, JSON.stringify({ ...feedConfig, name: "Vlog feed v2" }));
  writeFileSync(badFeed, JSON.stringify({ ...feedConfig, recommended_actions: ["dance"] }));
  writeFileSync(
    ordered,
    Array.from({ length: 20 }, (_, i) =>
      JSON.stringify(event({ tenant_id: ORDERED, user_id: "user_order", item_id: `item_${i}` })),
    ).join("\n"),
  );
  const keys = join(dir, "keys.json");
  writeFileSync(
    keys,
    JSON.stringify({ tenants: { [TENANT]: [TENANT_KEY], [ORDERED]: [TENANT_KEY] }, admin: [ADMIN_KEY] }),
  );
  t = await startTestServer({
    dataDir: join(dir, "server"),
    sink: "kafka",
    kafka: { brokers: ["127.0.0.1:9092"], clientId: "everyday-cli-test" },
    apiKeysFile: keys,
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("tracking everyday commands", () => {
  it("has --help with exit codes on every new command", () => {
    const program = trackingCommand(async () => {});
    const names = ["validate", "replay", "tail", "topics list", "topics create", "topics describe"].concat(
      ["list", "get", "diff", "apply"].map((n) => `configs ${n}`),
    );
    for (const name of names) {
      let cmd = program;
      for (const part of name.split(" ")) cmd = cmd.commands.find((c) => c.name() === part)!;
      expect(cmd, name).toBeDefined();
      let help = "";
      cmd.configureOutput({ writeOut: (s) => (help += s) });
      cmd.outputHelp();
      expect(help, name).toMatch(/Exit codes: 0 /);
    }
  });

  it("configs apply (dry run, create, idempotent), list, get, diff; refused key and bad file", async () => {
    const admin = { TRACKING_ADMIN_KEY: ADMIN_KEY };
    const s = ["--server", t.baseUrl];
    const dry = await tracking(["configs", "apply", feed, ...s, "--dry-run"], admin);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`+  "name": "Vlog feed",`);
    expect(dry.stdout).toContain(`${TENANT}/vlog_feed: would be created`);

    const created = await tracking(["configs", "apply", feed, ...s], admin);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`${TENANT}/vlog_feed: created (version 1)`);

    const [again, list, get, diff, diffSame, noKey, bad, missing] = await Promise.all([
      tracking(["configs", "apply", feed, ...s, "--json"], admin),
      tracking(["configs", "list", ...s, "--tenant", TENANT, "--json"], admin),
      tracking(["configs", "get", TENANT, "vlog_feed", ...s], admin),
      tracking(["configs", "diff", feed2, ...s], admin),
      tracking(["configs", "diff", feed, ...s], admin),
      tracking(["configs", "apply", feed2, ...s]),
      tracking(["configs", "apply", badFeed, ...s], admin),
      tracking(["configs", "get", TENANT, "nope", ...s], admin),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ config: `${TENANT}/vlog_feed`, outcome: "unchanged", version: 1 });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).configs).toMatchObject([{ tenant_id: TENANT, version: 1, is_active: true }]);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ name: "Vlog feed", version: 1 });
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain(`-  "name": "Vlog feed",\n+  "name": "Vlog feed v2",`);
    expect([diffSame.code, diffSame.stdout]).toEqual([0, ""]);
    expect(noKey.code).toBe(1);
    expect(errLines(noKey.stderr)).toEqual([expect.stringMatching(/^tracking: get .*HTTP 401.*TRACKING_ADMIN_KEY/)]);
    expect(bad.code).toBe(1);
    expect(errLines(bad.stderr)).toEqual([
      expect.stringMatching(/bad-feed\.json: line 1: recommended_actions\[0\]: .*"dance"/),
    ]);
    expect(missing.code).toBe(1);
    expect(errLines(missing.stderr)).toEqual([`tracking: no tracking config ${TENANT}/nope on ${t.baseUrl}`]);
  }, 180_000);

  it("validate: locally and by the server; exit 1 on errors, 0 when valid, 2 for a missing file or dead server", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const [local, server, serverJson, ok, missing, unreachable, usage, stdin] = await Promise.all([
      tracking(["validate", events, "--data-dir", join(dir, "server"), "--json"]),
      tracking(["validate", events, "--server", t.baseUrl], { TRACKING_API_KEY: TENANT_KEY }),
      tracking(["validate", events, "--server", t.baseUrl, "--json", "--concurrency", "4"], {
        TRACKING_API_KEY: TENANT_KEY,
      }),
      tracking(["validate", valid, "--server", t.baseUrl, "--api-key", TENANT_KEY]),
      tracking(["validate", join(dir, "nope.ndjson"), "--data-dir", join(dir, "server")]),
      tracking(["validate", valid, "--server", dead]),
      tracking(["validate", "--no-such-flag"]),
      trackingStdin(
        ["validate", "-", "--data-dir", join(dir, "server")],
        `${JSON.stringify(event({ position: -1 }))}\n`,
      ),
    ]);
    expect(local.code, local.stderr).toBe(1);
    const verdicts = local.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(verdicts.map((v) => [v.line, v.status])).toEqual([
      [1, "valid"],
      [2, "invalid"],
      [3, "invalid"],
      [4, "warned"],
      [5, "valid"],
    ]);
    // Judged by the tenant's config applied above (version 1), not the template.
    expect(verdicts[0].config_version).toBe(1);
    expect(verdicts[1].errors).toEqual([expect.objectContaining({ field: "user_id", rule: "required" })]);
    expect(verdicts[2].errors[0].rule).toBe("json");

    // Four requests in flight, the verdicts still in input order and the same as the local judge's.
    expect(serverJson.code, serverJson.stderr).toBe(1);
    const byServer = serverJson.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(byServer.map((v) => [v.line, v.status])).toEqual(verdicts.map((v) => [v.line, v.status]));
    expect(server.code, server.stderr).toBe(1);
    expect(server.stdout).toContain(`${events}:2 error user_id required user_id is required`);
    expect(server.stdout).toMatch(new RegExp(`${events}:4 warning scenario_data.video_data.completion_rate range `));
    expect(server.stderr).toContain("5 events: 2 valid, 1 with warnings, 2 invalid");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe("");
    expect(missing.code).toBe(2);
    expect(errLines(missing.stderr)).toEqual([`tracking: cannot read ${join(dir, "nope.ndjson")}: no such file`]);
    expect(unreachable.code).toBe(2);
    expect(errLines(unreachable.stderr)).toEqual([`tracking: cannot reach ${dead}: ECONNREFUSED`]);
    expect(usage.code).toBe(2);
    expect(stdin.code).toBe(1);
    expect(stdin.stdout).toMatch(/^-:1 error position range /);
  }, 180_000);

  it("replay to the server and to Kafka, tail (history, filter, live), topics; dead targets fail with one line", async () => {
    const [http, inOrder] = await Promise.all([
      tracking(["replay", events, "--to", t.baseUrl, "--rate", "100", "--json"], { TRACKING_API_KEY: TENANT_KEY }),
      tracking(["replay", ordered, "--to", t.baseUrl, "--concurrency", "8", "--json"], {
        TRACKING_API_KEY: TENANT_KEY,
      }),
    ]);
    expect(inOrder.code, inOrder.stderr).toBe(0);
    expect(JSON.parse(inOrder.stdout)).toMatchObject({ accepted: 20, rejected: 0 });
    expect(http.code, http.stderr).toBe(1);
    expect(JSON.parse(http.stdout.trim().split("\n").at(-1)!)).toMatchObject({
      accepted: 3,
      warned: 1,
      rejected: 1,
      bad_lines: 1,
    });
    expect(http.stdout).toContain(`${events}:3 error (event) json not JSON`);
    expect(http.stdout).toContain(`${events}:2 error user_id required`);

    // Resume at line 4: the warned event and the click, judged locally, produced like the server does.
    const kafka = await tracking([
      "replay",
      events,
      "--to",
      "kafka://127.0.0.1:9092",
      "--from-line",
      "4",
      "--data-dir",
      join(dir, "server"),
    ]);
    expect(kafka.code, kafka.stderr).toBe(0);
    expect(kafka.stderr).toMatch(
      /replayed 2 events to kafka:\/\/127\.0\.0\.1:9092 .*: 2 accepted \(1 with warnings\), 0 rejected, 0 bad lines/,
    );

    const deadBroker = `127.0.0.1:${await freePort()}`;
    const deadHttp = `http://127.0.0.1:${await freePort()}`;
    const [history, clicks, describeTopic, list, noTopic, tailDead, replayDead, created, createdAgain, orderedTail] =
      await Promise.all([
        tracking(["tail", "--tenant", TENANT, "--from-beginning", "--max", "5", "--json"]),
        tracking(["tail", "--tenant", TENANT, "--from-beginning", "--max", "2", "--action", "click"]),
        tracking(["topics", "describe", "--tenant", TENANT, "--json"]),
        tracking(["topics", "list", "--json"]),
        tracking(["topics", "describe", "--tenant", `${TENANT}_none`]),
        tracking(["tail", "--tenant", TENANT, "--brokers", deadBroker, "--timeout-ms", "1000"]),
        tracking(["replay", events, "--to", deadHttp, "--timeout-ms", "500"]),
        tracking(["topics", "create", "--tenant", `${TENANT}_b`, "--partitions", "2"]),
        tracking(["topics", "create", "--tenant", `${TENANT}_c`]).then(async () =>
          tracking(["topics", "create", "--tenant", `${TENANT}_c`, "--partitions", "3"]),
        ),
        tracking(["tail", "--tenant", ORDERED, "--from-beginning", "--max", "20", "--json"]),
      ]);
    // --concurrency 8, one user: the topic holds the file's order.
    expect(orderedTail.code, orderedTail.stderr).toBe(0);
    expect(
      orderedTail.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).event.item_id),
    ).toEqual(Array.from({ length: 20 }, (_, i) => `item_${i}`));
    expect(history.code, history.stderr).toBe(0);
    const records = history.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(5);
    for (const r of records) {
      expect(r.headers["tracking-config-version"]).toBe("1");
      expect(r.key).toBe(r.event.user_id);
      expect(r.event.tenant_id).toBe(TENANT);
    }
    // One user: one partition (murmur2 of the key), for the server's and the replay's records alike.
    expect(new Set(records.map((r) => r.partition)).size).toBe(1);
    expect(clicks.code, clicks.stderr).toBe(0);
    const lines = clicks.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/ vlog_feed click user=user_12345 item=video_1 .*config v1 evt_/);

    expect(describeTopic.code, describeTopic.stderr).toBe(0);
    expect(JSON.parse(describeTopic.stdout)).toMatchObject([
      { topic: `user-behaviors-${TENANT}`, partitions: 12, replication: 1, end_offset_total: "5" },
    ]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ tenant_id: TENANT }));
    expect(noTopic.code).toBe(1);
    expect(errLines(noTopic.stderr)).toEqual([`tracking: topic user-behaviors-${TENANT}_none does not exist`]);
    expect(tailDead.code).toBe(2);
    expect(errLines(tailDead.stderr)).toEqual([expect.stringMatching(new RegExp(`^tracking: Kafka ${deadBroker}: `))]);
    expect(replayDead.code).toBe(2);
    expect(errLines(replayDead.stderr)).toEqual([
      `tracking: cannot reach ${deadHttp}: ECONNREFUSED; resume with --from-line 1`,
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(`user-behaviors-${TENANT}_b: created`);
    expect(created.stdout).toMatch(new RegExp(`user-behaviors-${TENANT}_b\\s+2\\s+1\\s+0`));
    expect(createdAgain.code).toBe(0);
    expect(createdAgain.stderr).toContain("exists already (left unchanged)");
    expect(createdAgain.stdout).toMatch(new RegExp(`user-behaviors-${TENANT}_c\\s+12\\s+1\\s+0`));
  }, 240_000);

  it("tail follows new events live", async () => {
    const child = spawn(BIN, ["tail", "--tenant", TENANT, "--max", "1", "--scenario", "vlog_feed"], {
      cwd: ROOT,
      env: env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await new Promise<void>((ready, fail) => {
        const timer = setTimeout(() => fail(new Error(`tail did not start: ${err}`)), 60_000);
        child.stderr.setEncoding("utf8").on("data", (c: string) => {
          err += c;
          if (err.includes("following")) {
            clearTimeout(timer);
            ready();
          }
        });
      });
      // The group's partitions may be assigned just after "following": send until one shows.
      const deadline = Date.now() + 60_000;
      while (out === "" && Date.now() < deadline) {
        const r = await fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": TENANT_KEY },
          body: JSON.stringify(event({ item_id: "video_live" })),
        });
        expect(r.status).toBe(200);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
      }
      expect(await exited).toBe(0);
      expect(out).toMatch(/ vlog_feed play_end user=user_12345 item=video_live .*config v1/);
    } finally {
      child.kill("SIGKILL");
    }
  }, 150_000);
  // Last: it moves the config to version 2, which the tests above expect at 1.
  it("configs apply refuses to overwrite a change made between its read and its write (409)", async () => {
    // A proxy in front of the real server makes another admin's write land just before apply's PUT.
    let raced = false;
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k)),
      ) as Record<string, string>;
      if (req.method === "PUT" && !raced) {
        raced = true;
        const other = await fetch(`${t.baseUrl}${req.url}`, {
          method: "PATCH",
          headers: { "content-type": "application/json", "x-api-key": ADMIN_KEY },
          body: JSON.stringify({ description: "changed by someone else" }),
        });
        expect(other.status).toBe(200);
      }
      const r = await fetch(`${t.baseUrl}${req.url}`, {
        method: req.method ?? "GET",
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const conflict = await tracking(["configs", "apply", feed2, "--server", url], { TRACKING_ADMIN_KEY: ADMIN_KEY });
      expect(raced).toBe(true);
      expect(conflict.code).toBe(1);
      expect(errLines(conflict.stderr)).toEqual([
        `tracking: ${TENANT}/vlog_feed changed on the server since it was read (version 1); run apply again to see the new diff`,
      ]);
      // Nothing of the file was written over the other change.
      const now = await fetch(`${t.baseUrl}/api/v1/tracking-configs/${TENANT}/vlog_feed`, {
        headers: { "x-api-key": ADMIN_KEY },
      }).then((r) => r.json());
      expect(now).toMatchObject({ name: "Vlog feed", description: "changed by someone else", version: 2 });
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  }, 120_000);
});
