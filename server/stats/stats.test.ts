import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_SECONDS, Stats } from "./stats.js";

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
    expect(Number.isNaN(value)).toBe(false);
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

  it("renders parseable Prometheus text with counters, histograms and gauges", () => {
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

    const { samples, types } = parse(s.renderPrometheus());
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
    expect(parse(s.renderPrometheus()).samples.get('tracking_sink_available{sink="file"}')).toBe(0);
  });

  it("buckets are cumulative and monotone", () => {
    const s = new Stats();
    const h = s.histogram("connect", "X");
    for (let i = 0; i < 1000; i++) h.observe(Math.random() * 3);
    const cum = h.cumulative();
    expect(cum).toHaveLength(LATENCY_BUCKETS_SECONDS.length + 1);
    for (let i = 1; i < cum.length; i++) expect(cum[i]).toBeGreaterThanOrEqual(cum[i - 1]!);
    expect(cum[cum.length - 1]).toBe(1000);
  });

  it("negative and NaN durations count as 0 (a clock step must not poison the sum)", () => {
    const h = new Stats().histogram("rest", "X");
    h.observe(-0.5);
    h.observe(Number.NaN);
    h.observe(0.002);
    expect(h.count).toBe(3);
    expect(h.sum).toBe(0.002);
    // Both clamped observations land in the first bucket (≤ 0.5 ms), the real one in ≤ 2.5 ms.
    expect(h.cumulative().slice(0, 3)).toEqual([2, 2, 3]);
  });

  it("escapes label values", () => {
    const s = new Stats();
    s.observeLatency('we"ird', "a\\b", 0.1);
    expect(s.renderPrometheus()).toContain('transport="we\\"ird",rpc="a\\\\b"');
  });
});
