import { describe, expect, it } from "vitest";
import { aggregateMetrics, type MetricsJson, Stats } from "./stats.js";

/** Minimal parser of the text exposition format: name{labels} value lines plus TYPE lines. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    expect(m, `bad line: ${line}`).not.toBeNull();
    const value = m![3] === "+Inf" ? Infinity : Number(m![3]);
    // prom-client writes "Nan" for an event-loop lag with no sample yet (parsers take any case).
    expect(Number.isNaN(value) && !/^nan$/i.test(m![3]!)).toBe(false);
    samples.set(m![1]! + (m![2] ?? ""), value);
  }
  return { samples, types };
}

describe("Stats", () => {
  it("snapshot reports 100% success when nothing was written", () => {
    const s = new Stats();
    expect(s.snapshot()).toEqual({
      total_events: 0,
      kafka_success: 0,
      kafka_failed: 0,
      rejected: 0,
      validation_warnings: 0,
      success_rate: 100,
    });
  });

  it("success_rate is rounded to 2 decimals", () => {
    const s = new Stats();
    s.addReceived(10000);
    s.addPublished(9995);
    s.addSinkFailed(5);
    s.addValidationWarnings(10);
    expect(s.snapshot().success_rate).toBe(99.95);
    const t = new Stats();
    t.addPublished(2);
    t.addSinkFailed(1);
    expect(t.snapshot().success_rate).toBe(66.67);
    expect(s.snapshot()).toMatchObject({ total_events: 10000, validation_warnings: 10 });
  });

  it("renders parseable Prometheus text with counters, histograms and gauges", async () => {
    let up = true;
    const s = new Stats({ sink: { kind: "file", available: () => up } });
    s.addReceived(3);
    s.addPublished(2);
    s.addRejected(1);
    const h = s.histogram("rest", "TrackBehavior");
    expect(s.histogram("rest", "TrackBehavior")).toBe(h);
    h.observe(0.0004);
    h.observe(0.003);
    h.observe(20);
    s.observeLatency("grpc", "TrackBatch", 0.01);

    const { samples, types } = parse(await s.metrics());
    expect(types.get("tracking_events_total")).toBe("counter");
    expect(types.get("tracking_request_duration_seconds")).toBe("histogram");
    expect(types.get("process_resident_memory_bytes")).toBe("gauge");
    expect(samples.get('tracking_events_total{result="published"}')).toBe(2);
    expect(samples.get('tracking_events_total{result="rejected"}')).toBe(1);
    expect(samples.get('tracking_events_total{result="sink_failed"}')).toBe(0);
    expect(samples.get("tracking_events_received_total")).toBe(3);
    const lbl = 'transport="rest",rpc="TrackBehavior"';
    expect(samples.get(`tracking_request_duration_seconds_bucket{${lbl},le="0.0005"}`)).toBe(1);
    expect(samples.get(`tracking_request_duration_seconds_bucket{${lbl},le="0.005"}`)).toBe(2);
    expect(samples.get(`tracking_request_duration_seconds_bucket{${lbl},le="10"}`)).toBe(2);
    expect(samples.get(`tracking_request_duration_seconds_bucket{${lbl},le="+Inf"}`)).toBe(3);
    expect(samples.get(`tracking_request_duration_seconds_count{${lbl}}`)).toBe(3);
    expect(samples.get(`tracking_request_duration_seconds_sum{${lbl}}`)).toBeCloseTo(20.0034, 6);
    expect(samples.get('tracking_request_duration_seconds_count{transport="grpc",rpc="TrackBatch"}')).toBe(1);
    expect(samples.get('tracking_sink_available{sink="file"}')).toBe(1);
    expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(0);

    up = false;
    expect(parse(await s.metrics()).samples.get('tracking_sink_available{sink="file"}')).toBe(0);
  });

  it("buckets are cumulative and monotone", async () => {
    const s = new Stats({ defaultMetrics: false });
    const h = s.histogram("connect", "X");
    for (let i = 0; i < 1000; i++) h.observe(Math.random() * 3);
    const { samples } = parse(await s.metrics());
    const cum = [...samples]
      .filter(([k]) => k.startsWith("tracking_request_duration_seconds_bucket"))
      .map(([, v]) => v);
    expect(cum).toHaveLength(15);
    for (let i = 1; i < cum.length; i++) expect(cum[i]).toBeGreaterThanOrEqual(cum[i - 1]!);
    expect(cum.at(-1)).toBe(1000);
  });

  it("negative and NaN durations count as 0 (a clock step must not poison the sum)", async () => {
    const s = new Stats({ defaultMetrics: false });
    const h = s.histogram("rest", "X");
    h.observe(-0.5);
    h.observe(Number.NaN);
    h.observe(0.002);
    const { samples } = parse(await s.metrics());
    const l = 'transport="rest",rpc="X"';
    expect(samples.get(`tracking_request_duration_seconds_count{${l}}`)).toBe(3);
    expect(samples.get(`tracking_request_duration_seconds_sum{${l}}`)).toBe(0.002);
    // Both clamped observations land in the first bucket (≤ 0.5 ms), the real one in ≤ 2.5 ms.
    expect(samples.get(`tracking_request_duration_seconds_bucket{${l},le="0.0005"}`)).toBe(2);
    expect(samples.get(`tracking_request_duration_seconds_bucket{${l},le="0.001"}`)).toBe(2);
    expect(samples.get(`tracking_request_duration_seconds_bucket{${l},le="0.0025"}`)).toBe(3);
  });

  it("escapes label values", async () => {
    const s = new Stats({ defaultMetrics: false });
    s.observeLatency('we"ird', "a\\b", 0.1);
    expect(await s.metrics()).toContain('transport="we\\"ird",rpc="a\\\\b"');
  });

  it("aggregates several workers' registries: counters and histograms add up, sink availability is the minimum", async () => {
    const a = new Stats({ sink: { kind: "kafka", available: () => true } });
    const b = new Stats({ sink: { kind: "kafka", available: () => false } });
    a.addReceived(3);
    a.addPublished(2);
    a.addRejected(1);
    b.addReceived(5);
    b.addPublished(4);
    b.addSinkFailed(1);
    b.addValidationWarnings(2);
    a.observeLatency("rest", "TrackEvent", 0.001);
    b.observeLatency("rest", "TrackEvent", 0.002);
    b.observeLatency("grpc", "TrackEvent", 0.002);
    const json = [
      (await a.registry.getMetricsAsJSON()) as MetricsJson,
      (await b.registry.getMetricsAsJSON()) as MetricsJson,
    ];
    const { text, snapshot } = await aggregateMetrics(json);
    expect(snapshot).toEqual({
      total_events: 8,
      kafka_success: 6,
      kafka_failed: 1,
      rejected: 1,
      validation_warnings: 2,
      success_rate: 85.71,
    });
    const { samples, types } = parse(text);
    expect(samples.get("tracking_events_received_total")).toBe(8);
    expect(samples.get('tracking_events_total{result="published"}')).toBe(6);
    expect(samples.get('tracking_request_duration_seconds_count{transport="rest",rpc="TrackEvent"}')).toBe(2);
    expect(samples.get('tracking_request_duration_seconds_count{transport="grpc",rpc="TrackEvent"}')).toBe(1);
    expect(samples.get('tracking_sink_available{sink="kafka"}')).toBe(0);
    expect(types.get("process_resident_memory_bytes")).toBe("gauge");
  });
});
