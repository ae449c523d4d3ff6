/**
 * The worker side of `tracking serve --workers N`: answers the primary's requests for this
 * process's metrics, and gives /metrics and the health endpoint a view that asks the primary
 * for the sum over every worker (whichever worker the client's connection landed on, it sees
 * the whole server).
 */
import type { QuotaUsageLink } from "../auth/quotas.js";
import type { StatsSnapshot } from "../contracts.js";
import type { MetricsView, Stats } from "../stats/stats.js";
import { type ClusterMessage, isMessage } from "./messages.js";

/** Longest wait for the primary's aggregated answer; it waits for the workers less than this. */
const ANSWER_TIMEOUT_MS = 5_000;

/** Sends over the IPC channel to the primary. */
function send(m: ClusterMessage): void {
  process.send?.(m);
}

/**
 * Wires this worker's Stats to the primary and returns the cluster-wide view. Call once per
 * worker process, with the Stats its server counts into.
 */
export function clusterMetricsView(stats: Stats): MetricsView {
  let nextId = 0;
  const pending = new Map<number, (m: { text?: string; snapshot?: StatsSnapshot; error?: string }) => void>();
  process.on("message", (m: unknown) => {
    if (isMessage(m, "tracking:local-metrics?")) {
      stats.registry.getMetricsAsJSON().then(
        (metrics) => send({ type: "tracking:local-metrics", id: m.id, metrics }),
        // An empty answer rather than none: the primary then need not wait for its timeout.
        () => send({ type: "tracking:local-metrics", id: m.id, metrics: [] }),
      );
    } else if (isMessage(m, "tracking:cluster-metrics")) {
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    }
  });
  const ask = () =>
    new Promise<{ text: string; snapshot: StatsSnapshot }>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("the cluster primary did not answer the metrics request"));
      }, ANSWER_TIMEOUT_MS);
      pending.set(id, (m) => {
        clearTimeout(timer);
        if (m.text !== undefined && m.snapshot !== undefined) resolve({ text: m.text, snapshot: m.snapshot });
        else reject(new Error(m.error ?? "the cluster primary sent no metrics"));
      });
      send({ type: "tracking:cluster-metrics?", id });
    });
  return {
    metrics: async () => (await ask()).text,
    snapshot: async () => (await ask()).snapshot,
  };
}

/**
 * How often a worker sends the quota charges it made: what another worker may over-admit is
 * bounded by about this much of a tenant's traffic.
 */
export const QUOTA_SHARE_MS = 50;

/**
 * Shares this worker's quota charges with the other workers through the primary, every
 * QUOTA_SHARE_MS while there are any, and charges theirs to this worker's buckets; without
 * it each worker would admit a tenant's whole quota, N × in all. Returns the function that
 * stops sharing (after sending what is left).
 */
export function shareQuotaUsage(link: QuotaUsageLink): () => void {
  const flush = () => {
    const usage = link.takeQuotaUsage();
    if (usage !== undefined) send({ type: "tracking:quota-usage", usage });
  };
  const timer = setInterval(flush, QUOTA_SHARE_MS);
  timer.unref();
  const onMessage = (m: unknown) => {
    if (isMessage(m, "tracking:quota-usage")) link.chargeSharedUsage(m.usage);
  };
  process.on("message", onMessage);
  return () => {
    clearInterval(timer);
    process.off("message", onMessage);
    flush();
  };
}

/** Tells the primary this worker listens on both ports. */
export function reportReady(httpPort: number, grpcPort: number): void {
  send({ type: "tracking:ready", httpPort, grpcPort });
}
