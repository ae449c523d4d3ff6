/**
 * The worker side of `tracking serve --workers N`: answers the primary's requests for this
 * process's metrics, and gives /metrics and the health endpoint a view that asks the primary
 * for the sum over every worker (whichever worker the client's connection landed on, it sees
 * the whole server).
 */
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

/** Tells the primary this worker listens on both ports. */
export function reportReady(httpPort: number, grpcPort: number): void {
  send({ type: "tracking:ready", httpPort, grpcPort });
}
