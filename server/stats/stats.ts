/**
 * Ingestion counters and latency histograms behind /api/v1/behaviors/health and /metrics,
 * exported with prom-client.
 *
 * The hot path stays as cheap as the hand-written exposition this replaced: events bump plain
 * number fields (Node runs the pipeline on one thread: no atomics, no allocation) and a request
 * observation is a linear scan into a fixed Float64Array, obtained once per (transport, rpc).
 * prom-client reads them at scrape time only: counters and the gauge in their `collect()`
 * callbacks, the histogram through a collector registered like prom-client's own aggregated
 * metrics. A prom-client Histogram child cost ≈ 25× more per request (bench/metrics-bench.ts,
 * BENCHMARKS.md "prom-client"). The health endpoint reads the same fields, so the two agree.
 */
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";
import type { StatsSnapshot } from "../contracts.js";

/**
 * Upper bounds (seconds) of the request-duration buckets. Fixed so that dashboards and
 * alerts can rely on them; the spread covers sub-millisecond validation up to slow sinks.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** The content type of `metrics()` output (Prometheus text exposition 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/** Names of the metrics this module defines (documented in README.md "Deployment"). */
export const METRIC = Object.freeze({
  received: "tracking_events_received_total",
  events: "tracking_events_total",
  warnings: "tracking_validation_warnings_total",
  duration: "tracking_request_duration_seconds",
  sinkAvailable: "tracking_sink_available",
});

/** What the availability gauge needs to know about the sink: its name and whether it is up. */
export interface SinkProbe {
  readonly kind: string;
  available(): boolean;
}

/** What the tracking_spool_* metrics read from the durable spool (server/spool), when one is configured. */
export interface SpoolProbe {
  /** Events appended to the spool (answered 202 spooled), since start. */
  readonly spooledTotal: number;
  /** Spooled events the broker acknowledged since start (forwarded). */
  readonly forwardedTotal: number;
  /** Events that may be in Kafka twice: forwarded again after a crash or a failed forward, or spooled after a timed-out publish (at-least-once). */
  readonly possibleDuplicatesTotal: number;
  /** Spool segment bytes on disk now. */
  readonly bytes: number;
  /** Most bytes the spool may hold (--spool-max-bytes). */
  readonly maxBytes: number;
}

/**
 * One latency histogram for a (transport, rpc) pair. Obtain it once (e.g. when a route is
 * registered) with `Stats.histogram` and call `observe` per request.
 */
export class LatencyHistogram {
  /** Transport label, e.g. "rest", "connect", "grpc". */
  readonly transport: string;
  /** RPC label, e.g. "TrackEvent". */
  readonly rpc: string;
  /** Non-cumulative counts per bucket; the last slot is +Inf. Cumulated only at scrape time. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  /** Creates an empty histogram; prefer `Stats.histogram`, which registers it for export. */
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
  /**
   * Also export prom-client's process and Node.js default metrics (CPU, RSS, heap, GC,
   * event-loop lag, start time). Default true; unit tests that make many Stats turn it off.
   */
  defaultMetrics?: boolean;
}

/**
 * Counters of the ingestion pipeline. Callers increment them from the event path; readers
 * take a `snapshot()` (health endpoint) or `metrics()` (/metrics). `registry` is the
 * prom-client registry holding them (a worker of a cluster answers the primary's
 * aggregation requests from it; see server/cluster/).
 */
export class Stats {
  /** The prom-client registry with this server's metrics. */
  readonly registry: Registry;
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
  #spool: SpoolProbe | undefined;

  /** Creates zeroed counters in a registry of their own. */
  constructor(options: StatsOptions = {}) {
    this.#sink = options.sink;
    const registry = new Registry();
    this.registry = registry;
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
    // collect() callbacks copy the plain fields into prom-client at scrape time; `self`
    // because prom-client binds `this` to the metric.
    const self = this;
    new Counter({
      name: METRIC.received,
      help: "Behavior events received by any transport, before validation.",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(self.#totalEvents);
      },
    });
    new Counter({
      name: METRIC.events,
      help: "Behavior events by outcome.",
      labelNames: ["result"] as const,
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ result: "published" }, self.#kafkaSuccess);
        this.inc({ result: "sink_failed" }, self.#kafkaFailed);
        this.inc({ result: "rejected" }, self.#rejected);
      },
    });
    new Counter({
      name: "tracking_quota_rejected_events_total",
      help: "Events refused by an ingestion quota (429 / RESOURCE_EXHAUSTED), by tenant.",
      labelNames: ["tenant"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, n] of self.#quotaRejected) this.inc({ tenant }, n);
      },
    });
    new Counter({
      name: METRIC.warnings,
      help: "Events accepted with tracking-config warnings.",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(self.#validationWarnings);
      },
    });
    registry.registerMetric(
      histogramCollector(METRIC.duration, "Request duration by transport and RPC.", () =>
        [...this.#histograms.values()].flatMap((byRpc) => [...byRpc.values()]),
      ),
    );
    new Gauge({
      name: METRIC.sinkAvailable,
      help: "Whether the event sink accepts writes (1) or not (0).",
      labelNames: ["sink"] as const,
      registers: [registry],
      // Across cluster workers: available only if every worker's sink is.
      aggregator: "min",
      collect() {
        this.reset();
        const sink = self.#sink;
        if (sink !== undefined) this.set({ sink: sink.kind }, sink.available() ? 1 : 0);
      },
    });
  }

  /** Sets the spool whose counters /metrics exports (tracking_spool_*); registered on first call. */
  setSpool(spool: SpoolProbe | undefined): void {
    if (spool !== undefined && this.#spool === undefined) this.#registerSpoolMetrics();
    this.#spool = spool;
  }

  #registerSpoolMetrics(): void {
    const self = this;
    const registers = [this.registry];
    new Counter({
      name: "tracking_spool_events_total",
      help: "Events of the durable spool: spooled (answered 202) and forwarded to the broker.",
      labelNames: ["result"] as const,
      registers,
      collect() {
        this.reset();
        const s = self.#spool;
        if (s === undefined) return;
        this.inc({ result: "spooled" }, s.spooledTotal);
        this.inc({ result: "forwarded" }, s.forwardedTotal);
      },
    });
    new Counter({
      name: "tracking_spool_possible_duplicates_total",
      help: "Spooled events forwarded more than once (crash or failed forward; at-least-once).",
      registers,
      collect() {
        this.reset();
        this.inc(self.#spool?.possibleDuplicatesTotal ?? 0);
      },
    });
    new Gauge({
      name: "tracking_spool_bytes",
      help: "Bytes of spool segments on disk.",
      registers,
      collect() {
        this.set(self.#spool?.bytes ?? 0);
      },
    });
    new Gauge({
      name: "tracking_spool_max_bytes",
      help: "Most bytes the spool may hold before new events get 503.",
      registers,
      collect() {
        this.set(self.#spool?.maxBytes ?? 0);
      },
    });
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
    return snapshotOf({
      total_events: this.#totalEvents,
      kafka_success: this.#kafkaSuccess,
      kafka_failed: this.#kafkaFailed,
      rejected: this.#rejected,
      validation_warnings: this.#validationWarnings,
    });
  }

  /** All metrics in the Prometheus text exposition format 0.0.4 (`PROMETHEUS_CONTENT_TYPE`). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Where /metrics and the health endpoint read their numbers: this process (`localView`), or
 * the sum over every worker of a cluster (server/cluster/worker.ts).
 */
export interface MetricsView {
  /** The Prometheus exposition text. */
  metrics(): Promise<string>;
  /** The health endpoint's counters. */
  snapshot(): Promise<StatsSnapshot>;
}

/** The view of a single process: its own Stats. */
export function localView(stats: Stats): MetricsView {
  return {
    metrics: () => stats.metrics(),
    snapshot: async () => stats.snapshot(),
  };
}

/** A histogram sample as prom-client's Histogram.get() gives it: `_bucket`, `_sum` or `_count`. */
type HistogramSample = MetricValue<string> & { metricName: string };

/**
 * A prom-client collector for fixed-bucket histograms kept outside prom-client. It has the
 * shape prom-client's registry reads from any metric (name, help, type, aggregator, get()), as
 * AggregatorRegistry.aggregate registers its summed metrics; so the registry renders it, and
 * getMetricsAsJSON() and the cluster aggregation see it like a prom-client Histogram.
 */
function histogramCollector(name: string, help: string, series: () => LatencyHistogram[]): Metric {
  const collector = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    get: async () => {
      const values: HistogramSample[] = [];
      for (const h of series()) {
        const labels = { transport: h.transport, rpc: h.rpc };
        const cum = h.cumulative();
        for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++)
          values.push({
            metricName: `${name}_bucket`,
            labels: { ...labels, le: LATENCY_BUCKETS_SECONDS[i]! },
            value: cum[i]!,
          });
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: "+Inf" }, value: h.count });
        values.push({ metricName: `${name}_sum`, labels, value: h.sum });
        values.push({ metricName: `${name}_count`, labels, value: h.count });
      }
      return { name, help, type: "histogram", aggregator: "sum", values };
    },
  };
  // prom-client types registerMetric's argument as one of its classes (and `type` as an enum its
  // runtime does not use); its registry reads only the fields above.
  return collector as unknown as Metric;
}

/** A snapshot from its counters: success_rate is published ÷ (published + failed), in %, 2 decimals. */
function snapshotOf(c: Omit<StatsSnapshot, "success_rate">): StatsSnapshot {
  const writes = c.kafka_success + c.kafka_failed;
  const successRate = writes === 0 ? 100 : Math.round((c.kafka_success / writes) * 10000) / 100;
  return { ...c, success_rate: successRate };
}

/** Metrics of several registries as `Registry.getMetricsAsJSON()` gives them (e.g. one per cluster worker). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Adds the counters and histograms of `gone` (a worker that exited, as last scraped) to
 * `retired` (those of workers that exited before). The cluster's sums include the result, so
 * they never drop when a worker is replaced: Prometheus reads any drop of a counter as a reset
 * and would count the whole remaining sum again in rate(). Gauges are left out (a dead
 * worker's memory is not the cluster's).
 */
export async function retireCounters(retired: MetricsJson, gone: MetricsJson): Promise<MetricsJson> {
  // prom-client's typings declare `type` a numeric enum, but getMetricsAsJSON() gives "counter", "gauge"…
  const cumulative = gone.filter((m) => {
    const type = m.type as unknown as string;
    return type === "counter" || type === "histogram";
  });
  return (await AggregatorRegistry.aggregate([retired, cumulative]).getMetricsAsJSON()) as MetricsJson;
}

/**
 * Sums the metrics of several registries (cluster workers) with prom-client's
 * AggregatorRegistry: counters and histograms add up, `tracking_sink_available` takes the
 * minimum, process metrics follow prom-client's own aggregators (RSS and CPU add up, event-loop
 * lag averages, start time is omitted). Returns the exposition text and the health counters.
 */
export async function aggregateMetrics(perRegistry: MetricsJson[]): Promise<{ text: string; snapshot: StatsSnapshot }> {
  const merged = AggregatorRegistry.aggregate(perRegistry);
  const text = await merged.metrics();
  const json = (await merged.getMetricsAsJSON()) as MetricsJson;
  const sample = (name: string, labels: Record<string, string> = {}): number => {
    const m = json.find((x) => x.name === name);
    const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
    return v?.value ?? 0;
  };
  return {
    text,
    snapshot: snapshotOf({
      total_events: sample(METRIC.received),
      kafka_success: sample(METRIC.events, { result: "published" }),
      kafka_failed: sample(METRIC.events, { result: "sink_failed" }),
      rejected: sample(METRIC.events, { result: "rejected" }),
      validation_warnings: sample(METRIC.warnings),
    }),
  };
}
