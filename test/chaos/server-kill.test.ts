/**
 * Chaos: the server SIGKILLed under load with the Kafka sink and restarted on the same data dir
 * (no spool; the spooling server's SIGKILL is in kafka-chaos.test.ts, where the broker is down).
 * Nothing here stops Kafka, so it runs on the shared broker (unique topic), in parallel with the
 * private-broker chaos file. Asserts acknowledged − consumed = ∅, no request past its deadline,
 * per-user order kept; prints one summary line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMainBroker, uniqueTenant } from "../kafka/broker.js";
import { ChaosRun, DEADLINE_MS, killServer, Load, stopServer, summary, verify } from "./chaos-helpers.js";

describe("chaos: server SIGKILL under load (Kafka sink)", () => {
  let bootstrap: string;
  const run = new ChaosRun(() => bootstrap);
  const tmp = (prefix: string) => run.tmp(prefix);
  const serve = (dataDir: string) => run.serve(dataDir);

  beforeAll(async () => {
    bootstrap = await ensureMainBroker();
  }, 120_000);

  afterAll(() => run.cleanUp(), 60_000);

  it("server SIGKILL mid-load, restarted on the same data dir (no spool): acknowledged − consumed = ∅", async () => {
    const tenant = uniqueTenant("chaos_srvkill");
    const dataDir = tmp("chaos-srv-");
    const faults: string[] = [];
    const s1 = await serve(dataDir);
    const load = new Load(s1.baseUrl, tenant, { workers: 6, maxEvents: 6000, deadlineMs: DEADLINE_MS });
    await load.ackedAtLeast(250, 20_000);
    await killServer(s1);
    faults.push("server SIGKILL");
    const s2 = await serve(dataDir);
    load.baseUrl = s2.baseUrl;
    const before = load.acked.size;
    await load.ackedAtLeast(before + 150, 20_000);
    await load.stop();
    await stopServer(s2);

    const v = await verify(bootstrap, `user-behaviors-${tenant}`, load);
    console.log(summary("server kill -9 (no spool)", faults, load, v));
    expect(load.acked.size).toBeGreaterThan(before);
    expect(v.lost).toEqual([]);
    expect(load.counts.hung).toBe(0);
    expect(load.otherStatuses).toEqual([]);
    expect(v.orderViolations).toBe(0);
  }, 90_000);
});
