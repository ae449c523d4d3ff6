/**
 * Throughput benchmark of FileSink group commit: N concurrent single-record publishes, with
 * and without `trustValues`, then a closed loop of 256 clients.
 * Run: `source scripts/env.sh && tsx bench/file-sink-bench.ts [N] [dataDir]`
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSink } from "../server/sink/file-sink.js";

/** The sink one row of the benchmark measures. */
export function openBenchSink(dir: string, trustValues: boolean): FileSink {
  return new FileSink({ dataDir: join(dir, String(trustValues)), trustValues });
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20000);
  const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), "file-sink-bench-"));
  const value = JSON.stringify({
    event_id: "evt_0123456789abcdef",
    tenant_id: "mymx",
    scenario_id: "vlog_feed",
    user_id: "u",
    item_id: "video_12345",
    action_type: "play_end",
    timestamp: Date.now(),
    context: { device_type: "mobile", os: "iOS" },
    scenario_data: { video_data: { duration: 300, watch_duration: 240, completion_rate: 0.8, video_quality: "1080p" } },
  });
  for (const trustValues of [false, true]) {
    const sink = openBenchSink(dir, trustValues);
    await sink.publish([{ topic: "user-behaviors-mymx", key: "warm", value, headers: {} }]);
    const t0 = performance.now();
    const ps: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      ps.push(
        sink.publish([{ topic: "user-behaviors-mymx", key: `u${i % 1000}`, value, headers: { schema_version: "1" } }]),
      );
    }
    await Promise.all(ps);
    const ms = performance.now() - t0;
    await sink.close();
    console.log(
      `trustValues=${trustValues}: ${n} concurrent single-record publishes in ${ms.toFixed(0)} ms → ${Math.round((n / ms) * 1000)} records/s`,
    );
  }
  // Closed loop: 256 clients, each awaiting its previous publish (like HTTP keep-alive clients).
  {
    const sink = new FileSink({ dataDir: join(dir, "closed-loop") });
    const clients = 256;
    const per = Math.ceil(n / clients);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; i < per; i++) {
          await sink.publish([{ topic: "user-behaviors-mymx", key: `u${c}`, value, headers: { schema_version: "1" } }]);
        }
      }),
    );
    const ms = performance.now() - t0;
    await sink.close();
    console.log(
      `closed loop: ${clients} clients × ${per} sequential publishes in ${ms.toFixed(0)} ms → ${Math.round(((clients * per) / ms) * 1000)} records/s`,
    );
  }
  if (process.argv[3] === undefined) rmSync(dir, { recursive: true, force: true });
}

if (import.meta.main) await main();
