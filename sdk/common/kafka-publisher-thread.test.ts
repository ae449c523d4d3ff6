import { describe, expect, it } from "vitest";
import { fromWireError, packUtf8, workerEntry } from "./kafka-publisher-thread.js";
import { KafkaUnavailableError } from "./kafka-publisher.js";

describe("kafka publisher thread: worker start-up and error transport", () => {
  it("keeps only loader and profiling flags from the parent (workers reject per-process flags) and adds tsx for a .ts entry", () => {
    const ts = "file:///app/sdk/common/kafka-publisher-thread.ts";
    expect(workerEntry(["--max-semi-space-size=8", "--import", "tsx", "--input-type=module"], ts).execArgv).toEqual(["--import", "tsx"]);
    expect(workerEntry(["--cpu-prof", "--cpu-prof-dir", "/tmp/p", "--max-old-space-size=900"], ts).execArgv).toEqual(["--cpu-prof", "--cpu-prof-dir", "/tmp/p", "--import", "tsx"]);
    expect(workerEntry([], ts).execArgv).toEqual(["--import", "tsx"]);
    expect(workerEntry(["--import=file:///x/node_modules/tsx/dist/esm/index.mjs", "--conditions", "dev"], ts).execArgv).toEqual([
      "--import=file:///x/node_modules/tsx/dist/esm/index.mjs",
      "--conditions",
      "dev",
    ]);
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
      expect(buf.subarray(start, ends[2 * i]).toString("utf8")).toBe(keys[i]);
      expect(buf.subarray(ends[2 * i], ends[2 * i + 1]).toString("utf8")).toBe(values[i]);
      start = ends[2 * i + 1];
    }
    expect(start).toBe(keys.concat(values).reduce((n, s) => n + Buffer.byteLength(s), 0));
    // A dedicated ArrayBuffer (transferable), not a slice of Buffer's shared pool.
    expect(bytes.byteLength).toBeGreaterThanOrEqual(start);
  });
});
