import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Sink, type SinkRecord, SinkUnavailableError } from "../contracts.js";
import { decodeCursor, encodeCursor, encodeRecord, parseRecords, segmentName } from "./spool-format.js";
import { SpoolSink } from "./spool-sink.js";

/** A broker stand-in the test switches up and down; "gate" holds publishes until released. */
class SwitchSink implements Sink {
  readonly kind = "kafka";
  readonly stored: SinkRecord[] = [];
  mode: "up" | "down" | "gate" | "denied" = "up";
  publishes = 0;
  readonly #gated: Array<{ records: readonly SinkRecord[]; resolve: () => void; reject: (e: Error) => void }> = [];

  publish(records: readonly SinkRecord[]): Promise<void> {
    this.publishes++;
    if (this.mode === "down") return Promise.reject(new SinkUnavailableError("kafka broker unavailable"));
    if (this.mode === "denied") return Promise.reject(new Error("TOPIC_AUTHORIZATION_FAILED"));
    if (this.mode === "gate") {
      return new Promise((resolve, reject) => this.#gated.push({ records, resolve, reject }));
    }
    this.stored.push(...records);
    return Promise.resolve();
  }

  /** Settles gated publishes: stored (up) or failed (down). */
  release(outcome: "up" | "down"): void {
    for (const g of this.#gated.splice(0)) {
      if (outcome === "up") {
        this.stored.push(...g.records);
        g.resolve();
      } else g.reject(new SinkUnavailableError("kafka broker unavailable: timeout"));
    }
  }

  get gated(): number {
    return this.#gated.length;
  }

  available(): boolean {
    return this.mode === "up";
  }

  async close(): Promise<void> {}
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "spool-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rec(key: string, n: number): SinkRecord {
  return {
    topic: "user-behaviors-t1",
    key,
    value: JSON.stringify({ user_id: key, n, text: "ü€" }),
    headers: { "schema-version": "1" },
  };
}

const nOf = (r: SinkRecord) => (JSON.parse(r.value) as { n: number }).n;
const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("segment-"));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("spool format", () => {
  it("round-trips records byte-exact and stops at a torn or corrupt record", () => {
    const a = encodeRecord(rec("u1", 1));
    const b = encodeRecord(rec("u2", 2));
    const both = Buffer.concat([a, b]);
    const parsed = parseRecords(both);
    expect(parsed.records).toEqual([rec("u1", 1), rec("u2", 2)]);
    expect(parsed.consumed).toBe(both.length);
    expect(parseRecords(both.subarray(0, both.length - 3))).toMatchObject({ consumed: a.length, stop: "partial" });
    const flipped = Buffer.from(both);
    flipped[a.length + 12] = flipped[a.length + 12]! ^ 0xff;
    expect(parseRecords(flipped)).toMatchObject({ consumed: a.length, stop: "corrupt" });
  });

  it("cursor: round trip; a torn or foreign cursor reads as none", () => {
    const c = { seq: 7, done: 100, attempted: 250 };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    const bad = encodeCursor(c);
    bad[9] = bad[9]! ^ 1;
    expect(decodeCursor(bad)).toBeUndefined();
    expect(decodeCursor(Buffer.alloc(5))).toBeUndefined();
  });
});

describe("SpoolSink", () => {
  it("publishes directly while the broker is up (no receipt, nothing on disk)", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const spool = await SpoolSink.open(inner, { dir, log: () => {} });
    expect(await spool.publish([rec("u1", 1)])).toBeUndefined();
    expect(inner.stored.map(nOf)).toEqual([1]);
    expect(segments(dir)).toEqual([]);
    await spool.close();
  });

  it("spools while the broker is down, then forwards in order and deletes the segments", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const logs: string[] = [];
    const spool = await SpoolSink.open(inner, { dir, retryIntervalMs: 10, log: (l) => logs.push(l) });
    inner.mode = "down";
    const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => spool.publish([rec(`u${i % 3}`, i)])));
    expect(receipts.every((r) => r?.spooled === true)).toBe(true);
    expect(spool.spooledTotal).toBe(50);
    expect(spool.bytes).toBeGreaterThan(0);
    expect(segments(dir).length).toBeGreaterThan(0);
    expect(inner.stored).toEqual([]);

    inner.mode = "up";
    await spool.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(spool.forwardedTotal).toBe(50);
    expect(segments(dir)).toEqual([]);
    expect(spool.bytes).toBe(0);
    // Back to direct publishing.
    expect(await spool.publish([rec("u1", 50)])).toBeUndefined();
    expect(logs.some((l) => l.includes("drained"))).toBe(true);
    await spool.close();
  });

  it("new events during the drain queue behind the spooled ones (never overtake a key)", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const spool = await SpoolSink.open(inner, { dir, retryIntervalMs: 5, forwardBatchRecords: 7, log: () => {} });
    inner.mode = "down";
    let n = 0;
    for (; n < 40; n++) await spool.publish([rec("same-user", n)]);
    inner.mode = "up";
    // Keep publishing while the drainer forwards in batches of 7.
    const during: Promise<unknown>[] = [];
    while (spool.spooling && n < 400) {
      during.push(spool.publish([rec("same-user", n++)]));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(during);
    await spool.drained(10_000);
    const seen = inner.stored.map(nOf);
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
    await spool.close();
  });

  it("a direct publish in flight when spooling starts is spooled ahead of later events", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const spool = await SpoolSink.open(inner, { dir, retryIntervalMs: 5, log: () => {} });
    inner.mode = "gate";
    const a = spool.publish([rec("k", 1)]); // in flight, will time out
    await until(() => inner.gated === 1, "gated publish");
    inner.mode = "down";
    const c = spool.publish([rec("other", 0)]); // fails at once: spooling starts
    await c;
    const b = spool.publish([rec("k", 2)]); // must wait for a
    inner.release("down");
    expect(await a).toEqual({ spooled: true });
    expect(await b).toEqual({ spooled: true });
    inner.mode = "up";
    await spool.drained(10_000);
    const k = inner.stored.filter((r) => r.key === "k").map(nOf);
    expect(k).toEqual([1, 2]);
    await spool.close();
  });

  it("errors other than unavailable (e.g. authorization) reach the caller and are not spooled", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const spool = await SpoolSink.open(inner, { dir, log: () => {} });
    inner.mode = "denied";
    await expect(spool.publish([rec("u", 1)])).rejects.toThrow(/AUTHORIZATION/);
    expect(spool.spooling).toBe(false);
    expect(segments(dir)).toEqual([]);
    await spool.close();
  });

  it("a full spool refuses with SinkUnavailableError (503), nothing half-stored", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const one = encodeRecord(rec("u", 0)).length;
    const spool = await SpoolSink.open(inner, { dir, maxBytes: one * 3, log: () => {} });
    inner.mode = "down";
    for (let i = 0; i < 3; i++) expect(await spool.publish([rec("u", i)])).toEqual({ spooled: true });
    await expect(spool.publish([rec("u", 3)])).rejects.toBeInstanceOf(SinkUnavailableError);
    await expect(spool.publish([rec("u", 3)])).rejects.toThrow(/spool is full/);
    inner.mode = "up";
    await spool.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual([0, 1, 2]);
    await spool.close();
  });

  it("rolls segments and deletes each once forwarded", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const spool = await SpoolSink.open(inner, { dir, segmentBytes: 1000, retryIntervalMs: 5, log: () => {} });
    inner.mode = "down";
    for (let i = 0; i < 60; i++) await spool.publish([rec("u", i)]);
    expect(segments(dir).length).toBeGreaterThan(3);
    inner.mode = "up";
    await spool.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(segments(dir)).toEqual([]);
    await spool.close();
  });

  it("a batch publish spools all its records together", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const spool = await SpoolSink.open(inner, { dir, retryIntervalMs: 5, log: () => {} });
    inner.mode = "down";
    expect(await spool.publish([rec("a", 1), rec("b", 2), rec("a", 3)])).toEqual({ spooled: true });
    inner.mode = "up";
    await spool.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual([1, 2, 3]);
    await spool.close();
  });

  it("after a restart: a torn tail is truncated with a log line, the rest is forwarded", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    inner.mode = "down";
    const first = await SpoolSink.open(inner, { dir, log: () => {} });
    for (let i = 0; i < 10; i++) await first.publish([rec("u", i)]);
    await first.close();
    const [seg] = segments(dir);
    const path = join(dir, seg!);
    const good = statSync(path).size;
    // A crash in the middle of the next write: half a record.
    appendFileSync(path, encodeRecord(rec("u", 10)).subarray(0, 20));

    const logs: string[] = [];
    inner.mode = "up";
    const second = await SpoolSink.open(inner, { dir, retryIntervalMs: 5, log: (l) => logs.push(l) });
    expect(logs.some((l) => /torn or corrupt tail/.test(l) && l.includes("truncated"))).toBe(true);
    await second.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(good).toBeGreaterThan(0);
    await second.close();
  });

  it("garbage in the middle of the last segment: cut there, never a refusal to start", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    inner.mode = "down";
    const first = await SpoolSink.open(inner, { dir, log: () => {} });
    for (let i = 0; i < 5; i++) await first.publish([rec("u", i)]);
    await first.close();
    const path = join(dir, segments(dir)[0]!);
    const bytes = readFileSync(path);
    const cut = encodeRecord(rec("u", 0)).length * 3 + 5;
    bytes[cut] = bytes[cut]! ^ 0xff; // inside the 4th record
    writeFileSync(path, bytes);
    const logs: string[] = [];
    inner.mode = "up";
    const second = await SpoolSink.open(inner, { dir, retryIntervalMs: 5, log: (l) => logs.push(l) });
    await second.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual([0, 1, 2]);
    expect(logs.join("\n")).toMatch(/truncated/);
    await second.close();
  });

  it("a forward cut short by a crash is sent again and counted as possible duplicates", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    inner.mode = "down";
    const first = await SpoolSink.open(inner, { dir, log: () => {} });
    for (let i = 0; i < 6; i++) await first.publish([rec("u", i)]);
    await first.close();
    // As if the server died after recording "forwarding records 0..3" and before their ack.
    const seq = Number(/\d+/.exec(segments(dir)[0]!)![0]);
    const three = encodeRecord(rec("u", 0)).length * 3;
    writeFileSync(join(dir, "cursor"), encodeCursor({ seq, done: 0, attempted: three }));
    expect(segmentName(seq)).toBe(segments(dir)[0]);

    const logs: string[] = [];
    inner.mode = "up";
    const second = await SpoolSink.open(inner, { dir, retryIntervalMs: 5, log: (l) => logs.push(l) });
    expect(second.possibleDuplicatesTotal).toBe(3);
    expect(logs.join("\n")).toMatch(/3 events .* forwarded again and may be duplicated/);
    await second.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual([0, 1, 2, 3, 4, 5]);
    await second.close();
  });

  it("a forward that already completed is not sent again after a restart", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    inner.mode = "down";
    const first = await SpoolSink.open(inner, { dir, log: () => {} });
    for (let i = 0; i < 4; i++) await first.publish([rec("u", i)]);
    await first.close();
    const seq = Number(/\d+/.exec(segments(dir)[0]!)![0]);
    const two = encodeRecord(rec("u", 0)).length * 2;
    writeFileSync(join(dir, "cursor"), encodeCursor({ seq, done: two, attempted: two }));
    inner.mode = "up";
    const second = await SpoolSink.open(inner, { dir, retryIntervalMs: 5, log: () => {} });
    await second.drained(10_000);
    expect(inner.stored.map(nOf)).toEqual([2, 3]);
    expect(second.possibleDuplicatesTotal).toBe(0);
    await second.close();
  });

  it("one process per spool directory: a live holder is refused, a dead one's lock is taken over", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    // pid 1 (init) is alive and not us.
    writeFileSync(join(dir, "lock"), "1");
    await expect(SpoolSink.open(inner, { dir, log: () => {} })).rejects.toThrow(/in use by process 1/);
    // A pid that cannot exist (above pid_max): the holder died.
    writeFileSync(join(dir, "lock"), "2147483646");
    const spool = await SpoolSink.open(inner, { dir, log: () => {} });
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(String(process.pid));
    await spool.close();
    expect(readdirSync(dir)).not.toContain("lock");
  });

  it("spooling that restarts while the emptied segments are being deleted loses nothing", async () => {
    const dir = tmp();
    const inner = new SwitchSink();
    const spool = await SpoolSink.open(inner, { dir, retryIntervalMs: 1, log: () => {} });
    for (let round = 0; round < 5; round++) {
      inner.mode = "down";
      for (let i = 0; i < 5; i++) await spool.publish([rec("u", round * 10 + i)]);
      inner.mode = "up";
      // The moment the drainer declares the spool empty (and starts deleting), spool again.
      while (spool.spooling) await new Promise((r) => setImmediate(r));
      inner.mode = "down";
      await spool.publish([rec("u", round * 10 + 5)]);
      inner.mode = "up";
      await spool.drained(10_000);
    }
    const want = Array.from({ length: 5 }, (_, r) => [0, 1, 2, 3, 4, 5].map((i) => r * 10 + i)).flat();
    expect(inner.stored.map(nOf)).toEqual(want);
    await spool.close();
  });
});
