import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { validateBehaviorEvent } from "../../gen/validator/recommender/v1/behavior_validator.js";
import { type Sink, type SinkRecord, SinkUnavailableError } from "../contracts.js";
import { type CheckResult, type IngestCounters, IngestPipeline, type IngestTap } from "../ingest/pipeline.js";
import { testEventTemplates } from "./examples.js";
import { type InspectedEvent, Inspector } from "./inspector.js";

/** A sink that stores records, or refuses them while `down`. */
class MemorySink implements Sink {
  readonly kind = "memory";
  readonly stored: SinkRecord[] = [];
  down = false;
  async publish(records: readonly SinkRecord[]): Promise<void> {
    if (this.down) throw new SinkUnavailableError("memory sink down");
    this.stored.push(...records);
  }
  available(): boolean {
    return !this.down;
  }
  async close(): Promise<void> {}
}

const counters: IngestCounters = {
  received: () => {},
  rejected: () => {},
  warned: () => {},
  published: () => {},
  failed: () => {},
};

const event = (tenant: string, user = "u1", extra: Record<string, unknown> = {}) => ({
  tenant_id: tenant,
  scenario_id: "vlog_feed",
  user_id: user,
  item_id: "i1",
  action_type: "click",
  context: { device_type: "mobile" },
  ...extra,
});

function pipelineWith(tap: IngestTap, sink = new MemorySink()) {
  return new IngestPipeline({ sink, judge: { judge: () => ({ violations: [] }) }, counters, tap });
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A real HTTP server whose only route is the inspector's SSE stream. */
async function sseServer(inspector: Inspector): Promise<string> {
  const server = createServer((_req, res) => inspector.subscribe(res));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An SSE client read in the background: `next(n)` resolves with the next n messages as [event, data]. */
async function openSse(url: string) {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const client = { comments: 0, queue: [] as [string, unknown][], ended: false };
  void (async () => {
    let buf = "";
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (r.done) break;
      buf += r.value;
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name !== undefined && data !== undefined) client.queue.push([name, JSON.parse(data)]);
        // Comment lines (": keep-alive") carry nothing, as for EventSource.
        else if (block.startsWith(":")) client.comments++;
      }
    }
    client.ended = true;
  })();
  return {
    get comments() {
      return client.comments;
    },
    async next(count: number): Promise<[string, unknown][]> {
      await expect.poll(() => client.queue.length >= count || client.ended, { timeout: 10_000 }).toBe(true);
      if (client.queue.length < count) throw new Error("stream ended");
      return client.queue.splice(0, count);
    },
    close: () => abort.abort(),
  };
}

describe("Inspector", () => {
  it("keeps the last N events per tenant, at most M tenants (stalest dropped), JSON cut at the byte cap", async () => {
    const inspector = new Inspector({ eventsPerTenant: 3, maxTenants: 2, maxEventBytes: 200, recordAlways: true });
    const p = pipelineWith(inspector);
    for (let i = 0; i < 5; i++) await p.track(event("a", `ua${i}`), "rest");
    await p.track(event("b"), "grpc");
    await p.track(event("a", "ua5"), "rest");
    // c arrives: b (whose latest event is older than a's) is dropped.
    await p.track(event("c", "uc", { note: "x".repeat(500) }), "connect");
    const list = inspector.list();
    expect(list.map((e) => `${e.tenant}:${JSON.parse(e.truncated ? "{}" : e.json).user_id ?? "cut"}`)).toEqual([
      "a:ua3",
      "a:ua4",
      "a:ua5",
      "c:cut",
    ]);
    const c = list.at(-1)!;
    expect(c).toMatchObject({ tenant: "c", transport: "connect", status: "warned", truncated: true });
    expect(c.json).toHaveLength(200);
  });

  it("records good, warned and rejected events with their violations, batch items, and sink failures", async () => {
    const inspector = new Inspector({ recordAlways: true });
    const sink = new MemorySink();
    const p = pipelineWith(inspector, sink);
    await p.track(event("t", "u1", { unknown_top: 1 }), "rest");
    await expect(p.track({ tenant_id: "t" }, "grpc")).rejects.toThrow(/user_id/);
    await p.trackBatch([event("t", "u2"), { tenant_id: 5 }], "connect");
    sink.down = true;
    await expect(p.track(event("t", "u3"), "rest")).rejects.toThrow(/memory sink down/);
    const [warned, rejected, batchOk, batchBad, failed] = inspector.list() as InspectedEvent[];
    expect(warned).toMatchObject({ status: "warned", violations: [{ field: "unknown_top", rule: "unknown_field" }] });
    expect(rejected).toMatchObject({ status: "rejected", transport: "grpc", eventId: "" });
    expect(rejected!.violations.map((v) => `${v.field}:${v.rule}:${v.severity}`)).toContain("user_id:required:error");
    expect(batchOk).toMatchObject({ status: "good", batch: true, transport: "connect", sinkError: null });
    expect(batchOk!.eventId).toMatch(/^evt_/);
    expect(batchBad).toMatchObject({ status: "rejected", batch: true, tenant: "" });
    expect(failed).toMatchObject({ status: "good", sinkError: "memory sink down" });
  });

  it("costs nothing while idle: the tap is not called and nothing is kept", async () => {
    const calls: CheckResult[] = [];
    const tap: IngestTap = { active: false, observe: (_i, r) => calls.push(r) };
    const p = pipelineWith(tap);
    await p.track(event("t"), "rest");
    await p.trackBatch([event("t"), {}], "rest");
    await expect(p.track({}, "rest")).rejects.toThrow();
    expect(calls).toEqual([]);
    const inspector = new Inspector();
    expect(inspector.active).toBe(false);
    await pipelineWith(inspector).track(event("t"), "rest");
    expect(inspector.list()).toEqual([]);
  });

  it("streams a snapshot, then events and resets; records while watched and lingerMs after", async () => {
    const inspector = new Inspector({ lingerMs: 100, flushMs: 5, heartbeatMs: 20 });
    const p = pipelineWith(inspector);
    const url = await sseServer(inspector);
    const first = await openSse(url);
    const [[name, snap]] = (await first.next(1)) as [[string, unknown]];
    // Quiet streams get keep-alive comments.
    await expect.poll(() => first.comments, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(name).toBe("snapshot");
    expect(snap).toMatchObject({ events: [], info: { eventsPerTenant: 200, maxTenants: 50 } });
    expect(inspector.active).toBe(true);
    await p.track(event("t", "u1"), "rest");
    await p.track(event("t", "u2"), "grpc");
    const events = await first.next(2);
    expect(events.map(([n]) => n)).toEqual(["event", "event"]);
    expect(events[1]![1]).toMatchObject({ tenant: "t", transport: "grpc", status: "good" });
    inspector.reset();
    expect((await first.next(1))[0]![0]).toBe("reset");
    expect(inspector.list()).toEqual([]);

    // A second watcher gets the kept events in its snapshot.
    await p.track(event("t", "u3"), "rest");
    const second = await openSse(url);
    const [[, snap2]] = (await second.next(1)) as [[string, { events: InspectedEvent[] }]];
    second.close();
    expect(snap2.events.map((e) => JSON.parse(e.json).user_id)).toEqual(["u3"]);

    first.close();
    await expect.poll(() => inspector.watchers).toBe(0);
    // Still recording right after the last watcher left (a reload), off after lingerMs.
    expect(inspector.active).toBe(true);
    await expect.poll(() => inspector.active, { timeout: 5_000 }).toBe(false);
    inspector.close();
  });

  it("disconnects a watcher that does not read once maxClientBufferBytes are queued for it", async () => {
    const inspector = new Inspector({ maxClientBufferBytes: 256 * 1024, flushMs: 1 });
    const p = pipelineWith(inspector);
    const url = new URL(await sseServer(inspector));
    // A raw client that sends the request and never reads the answer.
    const socket = connect(Number(url.port), url.hostname);
    socket.write(`GET /inspector/events HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    socket.pause();
    await expect.poll(() => inspector.watchers).toBe(1);
    const big = "x".repeat(7000);
    // ~9 KB per SSE message: far more than the socket buffers and the cap hold.
    for (let i = 0; i < 4000 && inspector.watchers > 0; i++) {
      await p.track(event("t", `u${i}`, { note: big }), "rest");
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    expect(inspector.watchers).toBe(0);
    socket.destroy();
    inspector.close();
  });

  it("close() ends open streams (graceful shutdown is not held up) and refuses new ones", async () => {
    const inspector = new Inspector();
    const url = await sseServer(inspector);
    const abort = new AbortController();
    const res = await fetch(url, { signal: abort.signal });
    await expect.poll(() => inspector.watchers).toBe(1);
    inspector.close();
    expect(await res.text()).toMatch(/^retry: 2000\nevent: snapshot/);
    expect(inspector.active).toBe(false);
    expect((await fetch(url)).status).toBe(503);
  });
});

describe("test events of the inspector's form", () => {
  it("one per generated template, each accepted by the generated validator without errors", () => {
    const base = {
      tenant_id: "x",
      scenario_id: "s",
      user_id: "u",
      item_id: "i",
      action_type: "click",
      context: { device_type: "mobile" },
    };
    const templates = testEventTemplates(base);
    expect(templates.length).toBeGreaterThanOrEqual(9);
    for (const t of templates) {
      const violations = validateBehaviorEvent(structuredClone(t.event), "request");
      expect({ id: t.id, violations }).toEqual({ id: t.id, violations: [] });
    }
  });
});
