/**
 * Fault test through the whole stack: a server with the Kafka sink pointing at a PRIVATE second
 * broker (own ports and KAFKA_DATA, test/kafka/broker.ts), a steady bounded load of 4 sequential
 * REST clients, the broker stopped at ~3 s and started again at ~7 s. Nothing is mocked.
 *
 * Asserts: some requests got 503 with Retry-After during the outage; health showed
 * kafka_available=false during it and true after; the server recovered by itself (new requests
 * 200); and no acknowledged event was lost — every event_id answered 200 is on the topic
 * (acked − consumed = ∅). Duplicates (at-least-once) are measured and reported, not forbidden.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { type FaultBroker, readTopic, startFaultBroker, uniqueTenant } from "../kafka/broker.js";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const CLIENTS = 4;
const LOAD_MS = 12_000;
const STOP_AT_MS = 3_000;
const START_AT_MS = 7_000;
/** Keep the load running at least this long after the broker is back, to see recovery under load. */
const AFTER_RESTART_MS = 3_000;

describe("e2e fault: broker stopped and restarted under load", () => {
  let broker: FaultBroker;
  let t: TestServer;
  const tenant = uniqueTenant("e2efault");
  const topic = `user-behaviors-${tenant}`;

  beforeAll(async () => {
    broker = await startFaultBroker();
    t = await startTestServer({
      sink: "kafka",
      kafka: {
        brokers: [broker.bootstrap],
        clientId: "e2e-fault-server",
        publishTimeoutMs: 2000,
        probeIntervalMs: 250,
        connectTimeoutMs: 1000,
        partitions: 6,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await t?.stop(true);
    await broker?.destroy();
  }, 60_000);

  async function health(): Promise<boolean> {
    const r = await fetch(`${t.baseUrl}/api/v1/behaviors/health`);
    return ((await r.json()) as { kafka_available: boolean }).kafka_available;
  }

  let seq = 0;
  function event(client: number) {
    const n = seq++;
    return {
      event_id: `evt_${tenant}_${client}_${n}`,
      tenant_id: tenant,
      scenario_id: "vlog_feed",
      user_id: `user_${n % 50}`,
      item_id: `video_${n}`,
      action_type: "click",
      context: { device_type: "mobile" },
      position: n % 20,
    };
  }

  async function post(body: unknown): Promise<Response> {
    return fetch(`${t.baseUrl}/api/v1/behaviors/track`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  }

  it("503 + Retry-After during the outage, recovers by itself, loses no acknowledged event", async () => {
    // Warm up: topic created, sink available.
    const deadline = Date.now() + 20_000;
    while (!(await health())) {
      if (Date.now() > deadline) throw new Error("sink never became available");
      await sleep(100);
    }
    const acked = new Set<string>();
    const first = await post(event(-1));
    expect(first.status).toBe(200);
    acked.add(((await first.json()) as { event_id: string }).event_id);

    let unavailable = 0;
    let missingRetryAfter = 0;
    const other: string[] = [];
    const nonAcked = new Set<string>();
    const healthLog: { at: number; up: boolean }[] = [];
    let firstFailureAt: number | undefined;
    let lastFailureAt: number | undefined;
    let firstOkAfterRestartAt: number | undefined;
    const okTimes: number[] = [];
    let stopCalledAt = 0;
    let stopDoneAt = 0;
    let startCalledAt = 0;
    let startDoneAt = 0;

    const t0 = performance.now();
    const now = () => performance.now() - t0;
    // Until the broker is back, the load runs on (up.sh may take longer than the planned window).
    let loadUntil = Number.POSITIVE_INFINITY;
    let done = false;

    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      while (now() < loadUntil) {
        const e = event(c);
        let res: Response;
        try {
          res = await post(e);
        } catch (error) {
          other.push(`network: ${(error as Error).message}`);
          nonAcked.add(e.event_id);
          await sleep(100);
          continue;
        }
        const text = await res.text();
        if (res.status === 200) {
          const id = (JSON.parse(text) as { event_id: string }).event_id;
          expect(id).toBe(e.event_id);
          acked.add(id);
          okTimes.push(now());
          if (startCalledAt && firstOkAfterRestartAt === undefined) firstOkAfterRestartAt = now();
        } else if (res.status === 503) {
          unavailable++;
          nonAcked.add(e.event_id);
          if (!res.headers.get("retry-after")) missingRetryAfter++;
          firstFailureAt ??= now();
          lastFailureAt = now();
          // Back off briefly (less than Retry-After, to keep sampling the outage).
          await sleep(100);
        } else {
          other.push(`${res.status}: ${text.slice(0, 200)}`);
          nonAcked.add(e.event_id);
          await sleep(100);
        }
      }
    });

    const poller = (async () => {
      while (!done) {
        try {
          healthLog.push({ at: now(), up: await health() });
        } catch {
          // server busy: skip a sample
        }
        await sleep(100);
      }
    })();

    const chaos = (async () => {
      await sleep(STOP_AT_MS - now());
      stopCalledAt = now();
      await broker.stop();
      stopDoneAt = now();
      await sleep(Math.max(0, START_AT_MS - now()));
      startCalledAt = now();
      await broker.start();
      startDoneAt = now();
      loadUntil = Math.max(LOAD_MS, startDoneAt + AFTER_RESTART_MS);
    })();

    await chaos;
    await Promise.all(clients);
    const loadEndedAt = now();

    // Recovery: health back to true by itself, and new requests succeed.
    const recoverDeadline = Date.now() + 30_000;
    while (!(await health())) {
      if (Date.now() > recoverDeadline) throw new Error("health never came back");
      await sleep(100);
    }
    done = true;
    await poller;
    let after = 0;
    for (let i = 0; i < 20; i++) {
      const e = event(99);
      const r = await post(e);
      expect(r.status).toBe(200);
      acked.add(e.event_id);
      after++;
    }

    // Consume the whole topic: kcat to the end of every partition, then the Node consumer for the same count.
    const { stdout } = await run(
      "kcat",
      ["-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\\n"],
      { timeout: 60_000, maxBuffer: 64 << 20 },
    );
    const kcatIds = stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { event_id: string }).event_id);
    const records = await readTopic(broker.bootstrap, topic, kcatIds.length, 30_000);
    const consumedIds = records.map((r) => (JSON.parse(r.value) as { event_id: string }).event_id);
    expect(consumedIds.length).toBe(kcatIds.length);
    expect(new Set(consumedIds)).toEqual(new Set(kcatIds));

    const consumed = new Set(consumedIds);
    const lost = [...acked].filter((id) => !consumed.has(id));
    const duplicates = consumedIds.length - consumed.size;
    const storedDespite503 = [...nonAcked].filter((id) => consumed.has(id)).length;
    const downSamples = healthLog.filter((h) => !h.up);
    const downFrom = downSamples.at(0)?.at ?? NaN;
    const downTo = downSamples.at(-1)?.at ?? NaN;
    const f = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : `${(x / 1000).toFixed(2)}s`);

    console.log(
      [
        `[e2e-fault] load ${f(loadEndedAt)} with ${CLIENTS} clients; broker stop ${f(stopCalledAt)}→${f(stopDoneAt)}, start ${f(startCalledAt)}→${f(startDoneAt)}`,
        `[e2e-fault] acked=${acked.size} (incl. ${after} after recovery) 503s=${unavailable} (missing Retry-After: ${missingRetryAfter}) other=${other.length}`,
        `[e2e-fault] first 503 ${f(firstFailureAt)}, last 503 ${f(lastFailureAt)}, first 200 after restart ${f(firstOkAfterRestartAt)}; ` +
          `client-visible outage ≈ ${f(firstFailureAt !== undefined && lastFailureAt !== undefined ? lastFailureAt - firstFailureAt : undefined)}; ` +
          `health kafka_available=false ${f(downFrom)}→${f(downTo)} (${downSamples.length}/${healthLog.length} samples)`,
        `[e2e-fault] consumed=${consumedIds.length} unique=${consumed.size} duplicates=${duplicates} lost(acked−consumed)=${lost.length} stored-despite-non-200=${storedDespite503}`,
      ].join("\n"),
    );
    if (other.length) console.log(`[e2e-fault] other outcomes: ${other.slice(0, 5).join(" | ")}`);

    expect(unavailable).toBeGreaterThan(0);
    expect(missingRetryAfter).toBe(0);
    expect(other).toEqual([]);
    expect(downSamples.length).toBeGreaterThan(0);
    // Health went false only after the stop began, and was true again at the end.
    expect(downFrom).toBeGreaterThanOrEqual(stopCalledAt);
    expect(healthLog.at(-1)?.up).toBe(true);
    // Requests succeeded again while the load was still running (no restart of the server).
    expect(firstOkAfterRestartAt).toBeDefined();
    const okAfterOutage = okTimes.filter((x) => x > lastFailureAt!).length;
    console.log(`[e2e-fault] 200s under load after the last 503: ${okAfterOutage}`);
    expect(okAfterOutage).toBeGreaterThan(0);
    expect(lost).toEqual([]);
    // Every consumed event is one we sent (acked, or answered 503 but stored anyway).
    for (const id of consumed) expect(acked.has(id) || nonAcked.has(id), id).toBe(true);
  }, 180_000);
});
