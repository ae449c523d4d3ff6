import { type AddressInfo, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { KafkaUnavailableError } from "./kafka-publisher.js";
import { at, createThreadedKafkaPublisher, fromWireError, packUtf8, workerEntry } from "./kafka-publisher-thread.js";

describe("kafka publisher thread: worker start-up and error transport", () => {
  it("keeps only loader and profiling flags from the parent (workers reject per-process flags) and adds tsx for a .ts entry", () => {
    const ts = "file:///app/sdk/common/kafka-publisher-thread.ts";
    expect(workerEntry(["--max-semi-space-size=8", "--import", "tsx", "--input-type=module"], ts).execArgv).toEqual([
      "--import",
      "tsx",
    ]);
    expect(workerEntry(["--cpu-prof", "--cpu-prof-dir", "/tmp/p", "--max-old-space-size=900"], ts).execArgv).toEqual([
      "--cpu-prof",
      "--cpu-prof-dir",
      "/tmp/p",
      "--import",
      "tsx",
    ]);
    expect(workerEntry([], ts).execArgv).toEqual(["--import", "tsx"]);
    expect(
      workerEntry(["--import=file:///x/node_modules/tsx/dist/esm/index.mjs", "--conditions", "dev"], ts).execArgv,
    ).toEqual(["--import=file:///x/node_modules/tsx/dist/esm/index.mjs", "--conditions", "dev"]);
    expect(workerEntry(["-r", "./otel.cjs"], ts).execArgv).toEqual(["-r", "./otel.cjs", "--import", "tsx"]);
    const js = workerEntry(["--max-old-space-size=512"], "file:///app/dist/sdk/common/kafka-publisher-thread.js");
    expect(js.execArgv).toEqual([]);
    expect(js.url.href).toBe("file:///app/dist/sdk/common/kafka-publisher-worker.js");
  });

  it("rebuilds KafkaUnavailableError as itself and other errors with their name and message", () => {
    const u = fromWireError({ unavailable: true, name: "KafkaUnavailableError", message: "broker down" });
    expect(u).toBeInstanceOf(KafkaUnavailableError);
    expect(u.message).toBe("broker down");
    const r = fromWireError({ unavailable: false, name: "RangeError", message: "kafka: illegal topic name" });
    expect(r).not.toBeInstanceOf(KafkaUnavailableError);
    expect([r.name, r.message]).toEqual(["RangeError", "kafka: illegal topic name"]);
  });

  it("packs keys and values as UTF-8 back to back, growing the buffer for multi-byte text", () => {
    // 4-byte emoji and 3-byte CJK exceed the initial ~1.25 bytes per UTF-16 unit estimate.
    const keys = ["user_1", "", "用户", "😀".repeat(500)];
    const values = ['{"a":1}', "", "点击".repeat(1000), "x"];
    const { bytes, ends } = packUtf8(keys, values);
    const buf = Buffer.from(bytes);
    let start = 0;
    for (let i = 0; i < keys.length; i++) {
      expect(buf.subarray(start, at(ends, 2 * i)).toString("utf8")).toBe(keys[i]);
      expect(buf.subarray(at(ends, 2 * i), at(ends, 2 * i + 1)).toString("utf8")).toBe(values[i]);
      start = at(ends, 2 * i + 1);
    }
    expect(start).toBe(keys.concat(values).reduce((n, s) => n + Buffer.byteLength(s), 0));
    // A dedicated ArrayBuffer (transferable), not a slice of Buffer's shared pool.
    expect(bytes.byteLength).toBeGreaterThanOrEqual(start);
  });
});

describe("kafka publisher thread: close()", () => {
  it("settles a publish still waiting on topic creation in the worker (rejects, does not hang)", async () => {
    // A loopback port nobody listens on, and a long retry delay: the worker's topic creation is
    // still between retries when close() runs, so nothing in the worker settles the publish.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const publisher = createThreadedKafkaPublisher({
      brokers: [`127.0.0.1:${port}`],
      retries: 3,
      retryDelayMs: 20_000,
    });
    const outcome = publisher.publish([{ topic: "user-behaviors-close_test", key: "u1", value: "{}" }]).then(
      () => "resolved",
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    // Let the call reach the worker and its first connection attempt fail.
    await new Promise((r) => setTimeout(r, 500));
    await publisher.close();
    const settled = await Promise.race([
      outcome,
      new Promise((r) => setTimeout(() => r("still pending 5 s after close()"), 5000)),
    ]);
    expect(settled).toMatch(/publisher (thread )?(is )?closed/);
    await expect(publisher.publish([{ topic: "t", key: "k", value: "v" }])).rejects.toThrow(/closed/);
  }, 20_000);
});
