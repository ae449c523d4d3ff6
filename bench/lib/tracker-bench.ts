/**
 * KafkaTracker (sdk/kafka/kafka-tracker.ts) measured directly, with its default settings
 * (buffer 100 events, flush every 1 s, gzip, acks=all idempotent producer).
 *
 *   mode "max":  track() N events back to back (track() waits only under backpressure), then flush();
 *                events/s = N / time until the broker acknowledged the last one.
 *   mode "rate": open loop, `rate` events/s for `durationSec` on a fixed timeline.
 *
 * Send latency = from the event's track() call (or its scheduled time, in "rate" mode) to the
 * broker's acknowledgement of the produce that carried it. The tracker sends its batches one after
 * another in order, so the publisher is wrapped to stamp, per acknowledged batch, the events it held.
 * Usage: tsx bench/lib/tracker-bench.ts '<json config>'; prints one JSON line.
 */
import { rmSync } from "node:fs";
import type { KafkaPublisher } from "../../sdk/common/kafka-publisher.js";
import { KafkaTracker } from "../../sdk/kafka/kafka-tracker.js";
import { benchEvent, cycle, type LatencySummary, round, summarize } from "./common.js";

export interface TrackerBenchConfig {
  brokers: string[];
  tenantId: string;
  mode: "max" | "rate";
  events?: number;
  rate?: number;
  durationSec?: number;
  fallbackDir: string;
}

export interface TrackerBenchResult {
  mode: string;
  offered?: number | undefined;
  tracked: number;
  delivered: number;
  spilled: number;
  failedAttempts: number;
  seconds: number;
  eventsPerSec: number;
  latencyMs: LatencySummary;
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as TrackerBenchConfig;

async function main(): Promise<void> {
  rmSync(cfg.fallbackDir, { recursive: true, force: true });
  const tracker = new KafkaTracker({ brokers: cfg.brokers, tenantId: cfg.tenantId, fallbackDir: cfg.fallbackDir });
  const total = cfg.mode === "max" ? (cfg.events ?? 10000) : Math.round((cfg.rate ?? 1000) * (cfg.durationSec ?? 5));
  const startTimes = new Float64Array(total);
  const lat = new Float64Array(total);
  let acked = 0;
  // Wrap publish: batches are sent strictly in order, so the next `records.length` tracked events are the acked ones.
  const publisher = (tracker as unknown as { publisher: KafkaPublisher }).publisher;
  const publish = publisher.publish.bind(publisher);
  publisher.publish = async (records, signal) => {
    await publish(records, signal);
    const now = performance.now();
    for (let k = 0; k < records.length && acked < total; k++, acked++) lat[acked] = now - (startTimes[acked] ?? now);
  };
  await tracker.start();
  // One warm-up event (connection, metadata), not counted.
  const events = Array.from({ length: 1000 }, (_, i) => benchEvent(cfg.tenantId, i));
  const warm = performance.now();
  startTimes[0] = warm;
  await tracker.track(cycle(events, 0));
  await tracker.flush();
  acked = 0;

  const t0 = performance.now();
  if (cfg.mode === "max") {
    for (let i = 0; i < total; i++) {
      startTimes[i] = performance.now();
      await tracker.track(cycle(events, i));
    }
    await tracker.flush();
  } else {
    const interval = 1000 / (cfg.rate ?? 1000);
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (next < total && t0 + next * interval <= now) {
          startTimes[next] = t0 + next * interval;
          void tracker.track(cycle(events, next));
          next++;
        }
        if (next < total) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    await tracker.flush();
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = tracker.stats();
  await tracker.close();
  const result: TrackerBenchResult = {
    mode: cfg.mode,
    offered: cfg.rate,
    tracked: s.tracked - 1,
    delivered: s.delivered - 1,
    spilled: s.spilled,
    failedAttempts: s.failedAttempts,
    seconds: round(seconds, 2),
    eventsPerSec: round((s.delivered - 1) / seconds, 0),
    latencyMs: summarize(lat.subarray(0, acked)),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
