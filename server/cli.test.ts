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
});
