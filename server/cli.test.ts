import { afterEach, describe, expect, it, vi } from "vitest";
import type { ServerOptions } from "./app.js";
import { trackingCommand } from "./cli.js";

/** Parses `tracking serve <args>` with the given environment; returns what serve would start. */
async function resolve(env: Record<string, string>, ...args: string[]): Promise<ServerOptions> {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  let got: ServerOptions | undefined;
  const program = trackingCommand(async (o) => {
    got = o;
  });
  // Throw instead of exiting the test process on a bad value.
  for (const c of [program, ...program.commands]) c.exitOverride().configureOutput({ writeErr: () => {} });
  await program.parseAsync(["serve", ...args], { from: "user" });
  if (got === undefined) throw new Error("serve did not run");
  return got;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("tracking serve options", () => {
  it.each([
    ["0", false],
    ["false", false],
    ["no", false],
    ["off", false],
    ["1", true],
    ["true", true],
    ["yes", true],
  ])("KAFKA_PRODUCER_THREAD=%s → producer thread %s", async (value, expected) => {
    const o = await resolve({ KAFKA_PRODUCER_THREAD: value });
    expect(o.kafka?.producerThread).toBe(expected);
  });

  it("KAFKA_PRODUCER_THREAD with a value that is no boolean is refused", async () => {
    await expect(resolve({ KAFKA_PRODUCER_THREAD: "maybe" })).rejects.toThrow(/KAFKA_PRODUCER_THREAD|producer-thread/);
  });

  it("--kafka-producer-thread alone turns it on; unset it is off", async () => {
    expect((await resolve({}, "--kafka-producer-thread")).kafka?.producerThread).toBe(true);
    vi.stubEnv("KAFKA_PRODUCER_THREAD", undefined);
    expect((await resolve({})).kafka?.producerThread).toBe(false);
  });

  it("an explicit TRACKING_SINK=file wins over KAFKA_BROKERS in the environment", async () => {
    const o = await resolve({ TRACKING_SINK: "file", KAFKA_BROKERS: "127.0.0.1:9092" });
    expect(o.sink).toBe("file");
  });

  it("an explicit --sink file wins over KAFKA_BROKERS in the environment", async () => {
    const o = await resolve({ KAFKA_BROKERS: "127.0.0.1:9092" }, "--sink", "file");
    expect(o.sink).toBe("file");
  });

  it("brokers alone (flag or environment) imply the Kafka sink", async () => {
    vi.stubEnv("TRACKING_SINK", undefined);
    const byFlag = await resolve({}, "--brokers", "k1:9092, k2:9092");
    expect(byFlag.sink).toBe("kafka");
    expect(byFlag.kafka?.brokers).toEqual(["k1:9092", "k2:9092"]);
    expect((await resolve({ KAFKA_BROKERS: "k3:9092" })).sink).toBe("kafka");
  });

  it("no sink and no brokers: the embedded file sink", async () => {
    vi.stubEnv("TRACKING_SINK", undefined);
    vi.stubEnv("KAFKA_BROKERS", undefined);
    expect((await resolve({})).sink).toBe("file");
  });

  it("--config-store / TRACKING_CONFIG_STORE and the poll interval reach the server options", async () => {
    const byEnv = await resolve({ TRACKING_CONFIG_STORE: "mongodb://db:27017/cfg", TRACKING_CONFIG_POLL_MS: "250" });
    expect(byEnv).toMatchObject({
      configStore: "mongodb://db:27017/cfg",
      configPollMs: 250,
      configStoreTimeoutMs: 3000,
    });
    vi.unstubAllEnvs();
    const byFlag = await resolve({}, "--config-store", "sqlite:/tmp/x.db", "--config-store-timeout-ms", "900");
    expect(byFlag).toMatchObject({ configStore: "sqlite:/tmp/x.db", configPollMs: 500, configStoreTimeoutMs: 900 });
    expect((await resolve({})).configStore).toBeUndefined();
  });

  it("--log-level / TRACKING_LOG_LEVEL default to info; other values than the levels are refused", async () => {
    vi.stubEnv("TRACKING_LOG_LEVEL", undefined);
    expect((await resolve({})).logLevel).toBe("info");
    expect((await resolve({ TRACKING_LOG_LEVEL: "warn" })).logLevel).toBe("warn");
    expect((await resolve({ TRACKING_LOG_LEVEL: "warn" }, "--log-level", "silent")).logLevel).toBe("silent");
    await expect(resolve({}, "--log-level", "loud")).rejects.toThrow(/log-level/);
  });

  it("--access-log-sample / TRACKING_ACCESS_LOG_SAMPLE: default 0, a fraction from 0 to 1", async () => {
    vi.stubEnv("TRACKING_ACCESS_LOG_SAMPLE", undefined);
    expect((await resolve({})).accessLogSample).toBe(0);
    expect((await resolve({ TRACKING_ACCESS_LOG_SAMPLE: "0.01" })).accessLogSample).toBe(0.01);
    expect((await resolve({}, "--access-log-sample", "1")).accessLogSample).toBe(1);
    for (const bad of ["2", "-0.5", "abc", ""])
      await expect(resolve({}, `--access-log-sample=${bad}`)).rejects.toThrow(/access-log-sample/);
  });

  it("inspector flags: sizes and recording reach the server options; --inspector-events 0 turns it off", async () => {
    expect((await resolve({})).inspector).toEqual({ eventsPerTenant: 200, maxTenants: 50, recordAlways: false });
    const set = await resolve(
      { TRACKING_INSPECTOR_TENANTS: "3" },
      "--inspector-events",
      "10",
      "--inspector-record-always",
    );
    expect(set.inspector).toEqual({ eventsPerTenant: 10, maxTenants: 3, recordAlways: true });
    expect((await resolve({}, "--inspector-events", "0")).inspector).toBe(false);
    await expect(resolve({}, "--inspector-events", "-1")).rejects.toThrow(/non-negative/);
  });
});
