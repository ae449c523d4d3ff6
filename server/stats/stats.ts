/**
 * Ingestion counters and latency histograms behind /api/v1/behaviors/health and /metrics.
 *
 * Node runs the pipeline on one thread, so plain number fields are already "lock-free":
 * no atomics, no allocation per event. Histograms are fixed-bucket Float64Arrays obtained
 * once per (transport, rpc) so that observing a request never allocates.
 */
import type { StatsSnapshot } from "../contracts.js";

/**
 * Upper bounds (seconds) of the request-duration buckets. Fixed so that dashboards and
 * alerts can rely on them; the spread covers sub-millisecond validation up to slow sinks.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** What `renderPrometheus` needs to know about the sink: its name and whether it is up. */
export interface SinkProbe {
  readonly kind: string;
  available(): boolean;
}

/**
 * One latency histogram for a (transport, rpc) pair. Obtain it once (e.g. when a route is
 * registered) with `Stats.histogram` and call `observe` per request.
 */
export class LatencyHistogram {
  /** Transport label, e.g. "rest", "connect", "grpc". */
  readonly transport: string;
  /** RPC label, e.g. "TrackBehavior". */
  readonly rpc: string;
  /** Non-cumulative counts per bucket; the last slot is +Inf. Cumulated only at render time. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  /** Creates an empty histogram; prefer `Stats.histogram`, which registers it for rendering. */
  constructor(transport: string, rpc: string) {
    this.transport = transport;
    this.rpc = rpc;
    this.#counts = new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1);
  }

  /** Records one request that took `seconds`. Negative or NaN values count as 0 (clock steps). */
  observe(seconds: number): void {
    // Not Math.max(seconds, 0): that is NaN for NaN.
    const v = Number.isNaN(seconds) ? 0 : Math.max(seconds, 0);
    const bounds = LATENCY_BUCKETS_SECONDS;
    let i = 0;
    // Linear scan: 14 bounds, most requests land in the first few, cheaper than a binary search.
    while (i < bounds.length && v > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += v;
    this.#count++;
  }

  /** Total observations. */
  get count(): number {
    return this.#count;
  }

  /** Sum of observed seconds. */
  get sum(): number {
    return this.#sum;
  }

  /** Cumulative counts per bucket bound, last entry for +Inf (equals `count`). */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      acc += this.#counts[i]!;
      out.push(acc);
    }
    return out;
  }
}

/** Options for `Stats`. */
export interface StatsOptions {
  /** The sink whose availability is exported as `tracking_sink_available`. */
  sink?: SinkProbe;
  /** Clock for process uptime; injectable for tests. */
  now?: () => number;
}

/**
 * Counters of the ingestion pipeline. Callers increment them from the event path; readers
 * take a `snapshot()` (health endpoint) or `renderPrometheus()` (/metrics).
 */
export class Stats {
  #totalEvents = 0;
  #kafkaSuccess = 0;
  #kafkaFailed = 0;
  #rejected = 0;
  #validationWarnings = 0;
  /** tenant → events refused by its quota (or its key's); see server/auth/quotas.ts. */
  readonly #quotaRejected = new Map<string, number>();
  /** transport → rpc → histogram; nested maps so lookups need no key-string concatenation. */
  readonly #histograms = new Map<string, Map<string, LatencyHistogram>>();
  #sink: SinkProbe | undefined;
  readonly #startedAt: number;

  /** Creates zeroed counters. */
  constructor(options: StatsOptions = {}) {
    this.#sink = options.sink;
    this.#startedAt = (options.now ?? Date.now)();
  }

  /** Sets (or replaces) the sink reported by the availability gauge. */
  setSink(sink: SinkProbe | undefined): void {
    this.#sink = sink;
  }

  /** Counts events received by any transport, before validation. */
  addReceived(n = 1): void {
    this.#totalEvents += n;
  }

  /** Counts events the sink stored durably (the seed's kafka_success). */
  addPublished(n = 1): void {
    this.#kafkaSuccess += n;
  }

  /** Counts events the sink failed to store (the seed's kafka_failed). */
  addSinkFailed(n = 1): void {
    this.#kafkaFailed += n;
  }

  /** Counts events rejected by validation errors (refused credentials never reach the pipeline). */
  addRejected(n = 1): void {
    this.#rejected += n;
  }

  /** Counts events accepted with at least one warning (the seed's validation_warnings). */
  addValidationWarnings(n = 1): void {
    this.#validationWarnings += n;
  }

  /** Counts events of `tenant` refused with 429 / RESOURCE_EXHAUSTED by an ingestion quota. */
  addQuotaRejected(tenant: string, n = 1): void {
    this.#quotaRejected.set(tenant, (this.#quotaRejected.get(tenant) ?? 0) + n);
  }

  /**
   * The histogram for (transport, rpc), created on first use. Hold on to the result in hot
   * paths; repeated calls return the same object.
   */
  histogram(transport: string, rpc: string): LatencyHistogram {
    let byRpc = this.#histograms.get(transport);
    if (byRpc === undefined) {
      byRpc = new Map();
      this.#histograms.set(transport, byRpc);
    }
    let h = byRpc.get(rpc);
    if (h === undefined) {
      h = new LatencyHistogram(transport, rpc);
      byRpc.set(rpc, h);
    }
    return h;
  }

  /** Records one request duration; convenience over `histogram(...).observe(...)`. */
  observeLatency(transport: string, rpc: string, seconds: number): void {
    this.histogram(transport, rpc).observe(seconds);
  }

  /** The health endpoint's counters, with success_rate in percent rounded to 2 decimals. */
  snapshot(): StatsSnapshot {
    const writes = this.#kafkaSuccess + this.#kafkaFailed;
    const successRate = writes === 0 ? 100 : Math.round((this.#kafkaSuccess / writes) * 10000) / 100;
    return {
      total_events: this.#totalEvents,
      kafka_success: this.#kafkaSuccess,
      kafka_failed: this.#kafkaFailed,
      rejected: this.#rejected,
      validation_warnings: this.#validationWarnings,
      success_rate: successRate,
    };
  }

  /**
   * All metrics in the Prometheus text exposition format 0.0.4 (content type
   * `text/plain; version=0.0.4; charset=utf-8`).
   */
  renderPrometheus(): string {
    const lines: string[] = [];
    lines.push(
      "# HELP tracking_events_received_total Behavior events received by any transport, before validation.",
      "# TYPE tracking_events_received_total counter",
      `tracking_events_received_total ${this.#totalEvents}`,
      "# HELP tracking_events_total Behavior events by outcome.",
      "# TYPE tracking_events_total counter",
      `tracking_events_total{result="published"} ${this.#kafkaSuccess}`,
      `tracking_events_total{result="sink_failed"} ${this.#kafkaFailed}`,
      `tracking_events_total{result="rejected"} ${this.#rejected}`,
      "# HELP tracking_validation_warnings_total Events accepted with tracking-config warnings.",
      "# TYPE tracking_validation_warnings_total counter",
      `tracking_validation_warnings_total ${this.#validationWarnings}`,
    );

    if (this.#quotaRejected.size > 0) {
      lines.push(
        "# HELP tracking_quota_rejected_events_total Events refused by an ingestion quota (429 / RESOURCE_EXHAUSTED), by tenant.",
        "# TYPE tracking_quota_rejected_events_total counter",
      );
      for (const [tenant, n] of this.#quotaRejected) {
        lines.push(`tracking_quota_rejected_events_total{tenant="${escapeLabel(tenant)}"} ${n}`);
      }
    }

    lines.push(
      "# HELP tracking_request_duration_seconds Request duration by transport and RPC.",
      "# TYPE tracking_request_duration_seconds histogram",
    );
    for (const byRpc of this.#histograms.values()) {
      for (const h of byRpc.values()) {
        const labels = `transport="${escapeLabel(h.transport)}",rpc="${escapeLabel(h.rpc)}"`;
        const cum = h.cumulative();
        for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) {
          lines.push(
            `tracking_request_duration_seconds_bucket{${labels},le="${LATENCY_BUCKETS_SECONDS[i]}"} ${cum[i]}`,
          );
        }
        lines.push(`tracking_request_duration_seconds_bucket{${labels},le="+Inf"} ${cum[cum.length - 1]}`);
        lines.push(`tracking_request_duration_seconds_sum{${labels}} ${formatFloat(h.sum)}`);
        lines.push(`tracking_request_duration_seconds_count{${labels}} ${h.count}`);
      }
    }

    if (this.#sink !== undefined) {
      lines.push(
        "# HELP tracking_sink_available Whether the event sink accepts writes (1) or not (0).",
        "# TYPE tracking_sink_available gauge",
        `tracking_sink_available{sink="${escapeLabel(this.#sink.kind)}"} ${this.#sink.available() ? 1 : 0}`,
      );
    }

    lines.push(
      "# HELP process_resident_memory_bytes Resident memory size in bytes.",
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
      "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
      "# TYPE process_start_time_seconds gauge",
      `process_start_time_seconds ${formatFloat(this.#startedAt / 1000)}`,
    );
    return lines.join("\n") + "\n";
  }
}

/** Escapes a label value per the exposition format: backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Formats a float as Prometheus expects (Go-style special values). */
function formatFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** The content type of `renderPrometheus` output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
