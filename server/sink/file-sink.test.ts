import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type SinkRecord, SinkUnavailableError } from "../contracts.js";
import { FileSink, readTopicFile } from "./file-sink.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "file-sink-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rec(topic: string, key: string, n: number): SinkRecord {
  return { topic, key, value: JSON.stringify({ user_id: key, n }), headers: { schema_version: "1" } };
}

describe("FileSink", () => {
  it("writes NDJSON lines with the value as an embedded object", async () => {
    const dir = tmp();
    const sink = new FileSink({ dataDir: dir, now: () => 42 });
    await sink.publish([rec("user-behaviors-mymx", "u1", 1)]);
    const raw = readFileSync(join(dir, "topics", "user-behaviors-mymx.ndjson"), "utf8");
    expect(raw).toBe('{"ts":42,"key":"u1","headers":{"schema_version":"1"},"value":{"user_id":"u1","n":1}}\n');
    expect(sink.available()).toBe(true);
    await sink.close();
  });

  it("batches concurrent publishes (group commit) without losing or reordering records per key", async () => {
    const dir = tmp();
    const sink = new FileSink({ dataDir: dir });
    const keys = ["a", "b", "c", "d"];
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 5000; i++) {
      const key = keys[i % keys.length]!;
      ps.push(sink.publish([rec(i % 2 === 0 ? "t-even" : "t-odd", key, i)]));
    }
    await Promise.all(ps);
    const lines = [...(await readTopicFile(dir, "t-even")), ...(await readTopicFile(dir, "t-odd"))];
    expect(lines).toHaveLength(5000);
    const seen = new Set<number>();
    for (const topic of ["t-even", "t-odd"]) {
      const last = new Map<string, number>();
      for (const l of await readTopicFile(dir, topic)) {
        const v = l.value as { n: number };
        const prev = last.get(l.key) ?? -1;
        expect(v.n).toBeGreaterThan(prev);
        last.set(l.key, v.n);
        seen.add(v.n);
      }
    }
    expect(seen.size).toBe(5000);
    await sink.close();
  });

  it("a publish resolves only after its data is on disk", async () => {
    const dir = tmp();
    const sink = new FileSink({ dataDir: dir });
    await sink.publish([rec("t", "k", 1), rec("t", "k", 2), rec("t2", "k", 3)]);
    // Read synchronously right after resolution: the bytes must already be there.
    expect(
      readFileSync(join(dir, "topics", "t.ndjson"), "utf8")
        .split("\n")
        .filter(Boolean),
    ).toHaveLength(2);
    expect(
      readFileSync(join(dir, "topics", "t2.ndjson"), "utf8")
        .split("\n")
        .filter(Boolean),
    ).toHaveLength(1);
    await sink.close();
  });

  it("survives reopen and appends after existing data; trims a torn last line", async () => {
    const dir = tmp();
    const s1 = new FileSink({ dataDir: dir });
    await s1.publish([rec("t", "k", 1)]);
    await s1.close();
    // Simulate a crash mid-write of an unacknowledged batch.
    writeFileSync(join(dir, "topics", "t.ndjson"), '{"ts":1,"key":"k","he', { flag: "a" });
    const s2 = new FileSink({ dataDir: dir });
    await s2.publish([rec("t", "k", 2)]);
    await s2.close();
    const lines = await readTopicFile(dir, "t");
    expect(lines.map((l) => (l.value as { n: number }).n)).toEqual([1, 2]);
  });

  it("close() flushes pending publishes", async () => {
    const dir = tmp();
    const sink = new FileSink({ dataDir: dir });
    const p = sink.publish([rec("t", "k", 1)]);
    await sink.close();
    await p;
    expect(await readTopicFile(dir, "t")).toHaveLength(1);
    await expect(sink.publish([rec("t", "k", 2)])).rejects.toBeInstanceOf(SinkUnavailableError);
  });

  it("a failing disk write rejects with SinkUnavailableError and marks the sink unavailable", async () => {
    const dir = tmp();
    mkdirSync(join(dir, "topics"), { recursive: true });
    if (!existsSync("/dev/full")) return;
    symlinkSync("/dev/full", join(dir, "topics", "full.ndjson"));
    const sink = new FileSink({ dataDir: dir });
    await expect(sink.publish([rec("full", "k", 1)])).rejects.toBeInstanceOf(SinkUnavailableError);
    expect(sink.available()).toBe(false);
    // Other topics still work and availability recovers with the next successful write.
    await sink.publish([rec("ok", "k", 1)]);
    expect(sink.available()).toBe(true);
    await sink.close();
  });

  it("a failed (partial) write is rolled back before the next batch, leaving valid NDJSON", async () => {
    const dir = tmp();
    let failNext = false;
    const sink = new FileSink({
      dataDir: dir,
      openFile: async (path, flags) => {
        const h = await openFile(path, flags);
        return new Proxy(h, {
          get(target, prop) {
            if (prop === "write") {
              return async (buf: Buffer, off: number, len: number, pos: number) => {
                if (failNext) {
                  failNext = false;
                  // Half the batch reaches the file, then the disk fills up.
                  await target.write(buf, off, Math.floor(len / 2), pos);
                  throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
                }
                return target.write(buf, off, len, pos);
              };
            }
            const v = Reflect.get(target, prop, target) as unknown;
            return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
      },
    });
    await sink.publish([rec("t", "k", 1)]);
    failNext = true;
    // Large enough that its torn half is longer than the next batch: only a truncate cleans it.
    const err = await sink.publish([2, 3, 5, 6, 7, 8].map((n) => rec("t", "k", n))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkUnavailableError);
    expect((err as SinkUnavailableError).message).toMatch(/ENOSPC/);
    expect(sink.available()).toBe(false);
    await sink.publish([rec("t", "k", 4)]);
    expect(sink.available()).toBe(true);
    await sink.close();
    expect((await readTopicFile(dir, "t")).map((l) => (l.value as { n: number }).n)).toEqual([1, 4]);
  });

  it("an unopenable topic file rejects, then recovers when fixed", async () => {
    const dir = tmp();
    mkdirSync(join(dir, "topics", "blocked.ndjson"), { recursive: true });
    const sink = new FileSink({ dataDir: dir });
    await expect(sink.publish([rec("blocked", "k", 1)])).rejects.toBeInstanceOf(SinkUnavailableError);
    expect(sink.available()).toBe(false);
    rmSync(join(dir, "topics", "blocked.ndjson"), { recursive: true });
    await sink.publish([rec("blocked", "k", 2)]);
    expect(sink.available()).toBe(true);
    expect((await readTopicFile(dir, "blocked")).map((l) => (l.value as { n: number }).n)).toEqual([2]);
    await sink.close();
  });

  it("rejects bad topic names and non-JSON values without writing anything", async () => {
    const dir = tmp();
    const sink = new FileSink({ dataDir: dir });
    await expect(sink.publish([{ topic: "../x", key: "k", value: "{}", headers: {} }])).rejects.toBeInstanceOf(
      TypeError,
    );
    await expect(
      sink.publish([rec("t", "k", 1), { topic: "t", key: "k", value: "{oops", headers: {} }]),
    ).rejects.toBeInstanceOf(TypeError);
    expect(await readTopicFile(dir, "t")).toEqual([]);
    // Pretty-printed values are re-serialized onto one line.
    await sink.publish([{ topic: "t", key: "k", value: '{\n  "a": 1\n}', headers: {} }]);
    expect((await readTopicFile(dir, "t"))[0]!.value).toEqual({ a: 1 });
    await sink.close();
  });

  it("rejects with SinkUnavailableError when the pending queue is full", async () => {
    const dir = tmp();
    const sink = new FileSink({ dataDir: dir, maxPendingBytes: 200 });
    const first = sink.publish([rec("t", "k", 1)]);
    await expect(sink.publish([rec("t", "k", 2), rec("t", "k", 3)])).rejects.toBeInstanceOf(SinkUnavailableError);
    await first;
    expect(sink.pendingBytes()).toBe(0);
    await sink.close();
  });

  it("every acknowledged record survives kill -9 of the writer", async () => {
    const dir = tmp();
    const script = join(dir, "child.ts");
    writeFileSync(
      script,
      `import { FileSink } from ${JSON.stringify(resolve(import.meta.dirname, "file-sink.ts"))};
       const sink = new FileSink({ dataDir: ${JSON.stringify(dir)} });
       for (let loop = 0; loop < 8; loop++) {
         void (async () => {
           for (let seq = 0; ; seq++) {
             await sink.publish([{ topic: "t", key: "k" + loop, value: JSON.stringify({ loop, seq }), headers: {} }]);
             process.stdout.write("ack " + loop + " " + seq + "\\n");
           }
         })();
       }`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: resolve(import.meta.dirname, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked = new Map<number, number>();
    let total = 0;
    let buf = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, sig) => r(sig)));
    await new Promise<void>((res, rej) => {
      child.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const l of lines) {
          const [, loop, seq] = l.split(" ");
          acked.set(Number(loop), Number(seq));
          total++;
        }
        if (total >= 3000) res();
      });
      void exited.then(() => rej(new Error(`child exited early: ${stderr}`)));
    });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const lines = await readTopicFile(dir, "t"); // also proves every line is complete JSON
    const maxByLoop = new Map<number, number>();
    for (const l of lines) {
      const v = l.value as { loop: number; seq: number };
      expect(v.seq).toBe((maxByLoop.get(v.loop) ?? -1) + 1); // per-key order, no gaps
      maxByLoop.set(v.loop, v.seq);
    }
    for (const [loop, seq] of acked) expect(maxByLoop.get(loop)).toBeGreaterThanOrEqual(seq);
  });
});
