import { describe, expect, it } from "vitest";
import { type Sink, type SinkRecord, SinkUnavailableError } from "../contracts.js";
import { EventRejectedError, type IngestCounters, IngestPipeline } from "./pipeline.js";

/** A sink whose publishes wait until the test releases them. */
class GatedSink implements Sink {
  readonly kind = "gated";
  readonly stored: SinkRecord[] = [];
  private waiting: (() => void)[] = [];
  publish(records: readonly SinkRecord[]): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.stored.push(...records);
        resolve();
      });
    });
  }
  release(): void {
    for (const w of this.waiting.splice(0)) w();
  }
  available(): boolean {
    return true;
  }
  async close(): Promise<void> {}
}

function counters() {
  const c = { received: 0, rejected: 0, warned: 0, published: 0, failed: 0 };
  const api: IngestCounters = {
    received: (n) => (c.received += n),
    rejected: (n) => (c.rejected += n),
    warned: (n) => (c.warned += n),
    published: (n) => (c.published += n),
    failed: (n) => (c.failed += n),
  };
  return { c, api };
}

const event = (user: string) => ({
  tenant_id: "mymx",
  scenario_id: "vlog_feed",
  user_id: user,
  item_id: "v1",
  action_type: "click",
  context: { device_type: "mobile" },
});

const noJudge = { judge: () => ({ violations: [] }) };

describe("IngestPipeline", () => {
  it("fills event_id and timestamp, routes by tenant and user, and answers after the sink", async () => {
    const sink = new GatedSink();
    const { c, api } = counters();
    const p = new IngestPipeline({ sink, judge: noJudge, counters: api, now: () => 1730304000000 });
    const pending = p.track(event("u1"));
    await Promise.resolve();
    expect(c.published).toBe(0);
    sink.release();
    const { eventId } = await pending;
    expect(eventId).toMatch(/^evt_[0-9a-f]{16}$/);
    expect(sink.stored.map((r) => [r.topic, r.key])).toEqual([["user-behaviors-mymx", "u1"]]);
    const values = sink.stored.map((r) => JSON.parse(r.value) as Record<string, unknown>);
    expect(values).toMatchObject([{ event_id: eventId, timestamp: 1730304000000 }]);
    expect(values.map((v) => Object.keys(v)[0])).toEqual(["event_id"]);
    expect(c).toEqual({ received: 1, rejected: 0, warned: 0, published: 1, failed: 0 });
  });

  it("rejects an invalid event with every error and publishes nothing", async () => {
    const sink = new GatedSink();
    const { c, api } = counters();
    const p = new IngestPipeline({ sink, judge: noJudge, counters: api });
    const err = await p.track({ tenant_id: "mymx" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventRejectedError);
    expect((err as EventRejectedError).errors.map((v) => v.field)).toEqual([
      "scenario_id",
      "user_id",
      "item_id",
      "action_type",
      "context",
    ]);
    expect(sink.stored).toHaveLength(0);
    expect(c.rejected).toBe(1);
  });

  it("sheds load past maxInFlightEvents with a 503-class error instead of queueing", async () => {
    const sink = new GatedSink();
    const { c, api } = counters();
    const p = new IngestPipeline({ sink, judge: noJudge, counters: api, maxInFlightEvents: 2 });
    const a = p.track(event("a"));
    const b = p.track(event("b"));
    await expect(p.track(event("c"))).rejects.toBeInstanceOf(SinkUnavailableError);
    await expect(p.trackBatch([event("d")])).rejects.toBeInstanceOf(SinkUnavailableError);
    expect(p.eventsInFlight).toBe(2);
    sink.release();
    await Promise.all([a, b]);
    expect(p.eventsInFlight).toBe(0);
    expect(c).toMatchObject({ published: 2, failed: 2 });
    // Once the sink drained, the pipeline takes events again.
    const e = p.track(event("e"));
    expect(p.eventsInFlight).toBe(1);
    sink.release();
    const { eventId } = await e;
    expect(sink.stored.map((r) => r.key)).toEqual(["a", "b", "e"]);
    expect(JSON.parse(sink.stored.at(-1)?.value ?? "null")).toMatchObject({ event_id: eventId, user_id: "e" });
    expect(c).toMatchObject({ published: 3, failed: 2 });
  });
});
