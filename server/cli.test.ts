import { availableParallelism } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ServerOptions } from "./app.js";
import { type ServeProcess, trackingCommand } from "./cli.js";

/** Parses `tracking serve <args>` with the given environment; returns what serve would start. */
async function resolve(env: Record<string, string>, ...args: string[]): Promise<ServerOptions> {
  return (await resolveRun(env, ...args)).options;
}

/** Like resolve, with how many processes would serve. */
async function resolveRun(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ options: ServerOptions; run: ServeProcess }> {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  let got: { options: ServerOptions; run: ServeProcess } | undefined;
  const program = trackingCommand(async (options, run) => {
    got = { options, run };
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

  it("the spool is off by default; --spool-dir / TRACKING_SPOOL_DIR and TRACKING_SPOOL_MAX_BYTES turn it on", async () => {
    vi.stubEnv("TRACKING_SPOOL_DIR", undefined);
    expect((await resolve({})).spool).toBeUndefined();
    expect((await resolve({}, "--spool-dir", "/tmp/sp", "--spool-max-bytes", "4096")).spool).toEqual({
      dir: "/tmp/sp",
      maxBytes: 4096,
    });
    expect((await resolve({ TRACKING_SPOOL_DIR: "/s", TRACKING_SPOOL_MAX_BYTES: "100" })).spool).toEqual({
      dir: "/s",
      maxBytes: 100,
    });
    await expect(resolve({}, "--spool-dir", "/s", "--spool-max-bytes", "-1")).rejects.toThrow(/positive integer/);
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

  it("--workers: 1 by default, a number, TRACKING_WORKERS, or auto = available cores", async () => {
    vi.stubEnv("TRACKING_WORKERS", undefined);
    expect((await resolveRun({}, "--sink", "kafka")).run.workers).toBe(1);
    expect((await resolveRun({}, "--sink", "kafka", "--workers", "3")).run.workers).toBe(3);
    expect((await resolveRun({ TRACKING_WORKERS: "2" }, "--sink", "kafka")).run.workers).toBe(2);
    expect((await resolveRun({}, "--sink", "kafka", "--workers", "auto")).run.workers).toBe(availableParallelism());
  });

  it.each(["0", "-1", "1.5", "many"])("--workers %s is refused", async (n) => {
    await expect(resolveRun({}, "--sink", "kafka", "--workers", n)).rejects.toThrow(
      /--workers.*positive integer or "auto"/,
    );
  });

  it("--workers > 1 with the embedded file sink is refused with the reason", async () => {
    vi.stubEnv("KAFKA_BROKERS", undefined);
    vi.stubEnv("TRACKING_SINK", undefined);
    await expect(resolveRun({}, "--workers", "2")).rejects.toThrow(
      /--workers 2 needs the Kafka sink.*file sink has one writer per data directory/,
    );
    // One worker keeps the file sink.
    expect((await resolveRun({}, "--workers", "1")).options.sink).toBe("file");
  });

  it("--reuse-port (TRACKING_REUSE_PORT) turns SO_REUSEPORT listeners on; off by default", async () => {
    vi.stubEnv("TRACKING_REUSE_PORT", undefined);
    expect((await resolve({})).reusePort).toBe(false);
    expect((await resolve({}, "--reuse-port")).reusePort).toBe(true);
    expect((await resolve({ TRACKING_REUSE_PORT: "1" })).reusePort).toBe(true);
  });

  it("--default-quota / TRACKING_DEFAULT_QUOTA: RATE or RATE:BURST, unlimited by default, bad values refused", async () => {
    vi.stubEnv("TRACKING_DEFAULT_QUOTA", undefined);
    expect((await resolve({})).defaultQuota).toBeUndefined();
    expect((await resolve({}, "--default-quota", "1000:2000")).defaultQuota).toEqual({
      eventsPerSecond: 1000,
      burst: 2000,
    });
    expect((await resolve({ TRACKING_DEFAULT_QUOTA: "50" })).defaultQuota).toEqual({ eventsPerSecond: 50, burst: 50 });
    expect((await resolve({ TRACKING_DEFAULT_QUOTA: "unlimited" })).defaultQuota).toBeUndefined();
    await expect(resolve({}, "--default-quota", "lots")).rejects.toThrow(/default-quota.*RATE or RATE:BURST/);
    await expect(resolve({ TRACKING_DEFAULT_QUOTA: "5:0" })).rejects.toThrow(/burst must be an integer ≥ 1/);
  });

  it("TLS files from flags or TRACKING_TLS_CERT/KEY; none by default", async () => {
    vi.stubEnv("TRACKING_TLS_CERT", undefined);
    vi.stubEnv("TRACKING_TLS_KEY", undefined);
    expect((await resolve({})).tls).toBeUndefined();
    expect((await resolve({}, "--tls-cert", "c.pem", "--tls-key", "k.pem")).tls).toEqual({
      certFile: "c.pem",
      keyFile: "k.pem",
    });
    expect((await resolve({ TRACKING_TLS_CERT: "e.pem", TRACKING_TLS_KEY: "f.pem" })).tls).toEqual({
      certFile: "e.pem",
      keyFile: "f.pem",
    });
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
