import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openBenchSink } from "../../bench/file-sink-bench.js";

describe("bench/file-sink-bench.ts", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  // A non-JSON value tells the rows apart: only a sink that trusts its values takes it unchecked.
  it.each([true, false])("the trustValues=%s row measures a sink with that setting", async (trustValues) => {
    const dir = mkdtempSync(join(tmpdir(), "file-sink-bench-test-"));
    dirs.push(dir);
    const sink = openBenchSink(dir, trustValues);
    const published = sink.publish([{ topic: "user-behaviors-bench", key: "k", value: "not json", headers: {} }]);
    if (trustValues) await expect(published).resolves.toBeUndefined();
    else await expect(published).rejects.toThrow(/not valid JSON/);
    await sink.close();
  });
});
