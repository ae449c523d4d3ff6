/**
 * Config propagation between two server processes: how long after an update through server A
 * answers does server B serve (and judge events by) the new version? Both are real
 * `tracking serve` processes sharing one config store — a private FerretDB (MongoDB) or one
 * SQLite file — with the default poll interval (500 ms) unless --poll-ms is given.
 *
 *   node --import tsx bench/config-propagation.ts [--store mongodb|sqlite|both] [--updates N] [--poll-ms MS]
 *
 * Prints P50/P90/P99/max per store (ms, from A's 200 to B's GET showing the version,
 * sampled every 2 ms). Numbers go to BENCHMARKS.md; nothing here asserts a time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startTestMongo } from "../test/helpers/mongo.js";
import { type CliServer, client, spawnCli } from "../test/server/http-helpers.js";

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "both" },
    updates: { type: "string", default: "100" },
    "poll-ms": { type: "string" },
  },
});
const updates = Number(values.updates);
const pollMs = Number(values["poll-ms"] ?? 500);
const stores = values.store === "both" ? ["sqlite", "mongodb"] : [values.store!];

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(store: string, spec: string): Promise<void> {
  const dirs = [mkdtempSync(join(tmpdir(), "prop-a-")), mkdtempSync(join(tmpdir(), "prop-b-"))];
  const env: Record<string, string> = { TRACKING_CONFIG_STORE: spec };
  if (values["poll-ms"] !== undefined) env.TRACKING_CONFIG_POLL_MS = values["poll-ms"];
  const servers: CliServer[] = [];
  try {
    for (const d of dirs) servers.push(await spawnCli(d, { env, timeoutMs: 60_000 }));
    const [a, b] = [client(servers[0]!.baseUrl), client(servers[1]!.baseUrl)];
    const tenant = `prop_${Date.now().toString(36)}`;
    const path = `/api/v1/tracking-configs/${tenant}/feed`;
    await a("POST", "/api/v1/tracking-configs/from-template", {
      tenant_id: tenant,
      scenario_id: "feed",
      template_id: "video",
    });
    const latencies: number[] = [];
    for (let i = 1; i <= updates; i++) {
      const put = await a("PATCH", path, { name: `n${i}` });
      if (put.status !== 200) throw new Error(`update failed: ${put.status} ${put.text}`);
      const t0 = performance.now();
      const want = put.body.config.version as number;
      for (;;) {
        const got = await b("GET", path);
        if (got.status === 200 && got.body.version >= want) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      latencies.push(performance.now() - t0);
      // Start the next update at a random phase of B's poll timer (else each would start
      // right after B's poll and measure nearly a full interval).
      await new Promise((r) => setTimeout(r, Math.random() * pollMs));
    }
    latencies.sort((x, y) => x - y);
    const f = (v: number) => v.toFixed(0);
    console.log(
      `${store.padEnd(8)} updates=${updates} poll=${pollMs}ms  P50 ${f(pct(latencies, 50))} ms  P90 ${f(pct(latencies, 90))} ms  P99 ${f(pct(latencies, 99))} ms  max ${f(latencies.at(-1)!)} ms`,
    );
  } finally {
    for (const s of servers) {
      s.child.kill("SIGTERM");
      await s.exited;
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

for (const store of stores) {
  if (store === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "prop-sqlite-"));
    try {
      await measure("sqlite", `sqlite:${join(dir, "configs.db")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (store === "mongodb") {
    const mongo = await startTestMongo();
    try {
      await measure("mongodb", mongo.uri());
    } finally {
      await mongo.stop();
    }
  } else {
    throw new Error(`--store ${store}: use mongodb, sqlite or both`);
  }
}
