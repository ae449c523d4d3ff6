import { describe, expect, it } from "vitest";
import { fromWireError, workerEntry } from "./kafka-publisher-thread.js";
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
});
