/**
 * The IPC messages between the cluster primary (server/cluster/primary.ts) and its workers
 * (server/cluster/worker.ts). Every type starts with "tracking:" so they never collide with
 * node:cluster's or a library's own messages on the same channel.
 */
import type { QuotaUsage } from "../auth/quotas.js";
import type { StatsSnapshot } from "../contracts.js";
import type { MetricsJson } from "../stats/stats.js";

/** Worker → primary: both ports listen, the worker serves. */
export interface ReadyMessage {
  type: "tracking:ready";
  httpPort: number;
  grpcPort: number;
}

/** Worker → primary: a client asked this worker for /metrics or health; sum every worker's. */
export interface ClusterMetricsRequest {
  type: "tracking:cluster-metrics?";
  id: number;
}

/** Primary → worker: the answer to a ClusterMetricsRequest. */
export interface ClusterMetricsResponse {
  type: "tracking:cluster-metrics";
  id: number;
  text?: string;
  snapshot?: StatsSnapshot;
  error?: string;
}

/** Primary → worker: send your own registry's metrics. */
export interface LocalMetricsRequest {
  type: "tracking:local-metrics?";
  id: number;
}

/** Worker → primary: the answer to a LocalMetricsRequest. */
export interface LocalMetricsResponse {
  type: "tracking:local-metrics";
  id: number;
  metrics: MetricsJson;
}

/**
 * Worker → primary: the events this worker charged to quotas since its last message; the
 * primary passes it on to every other worker (primary → worker), which charges it to its own
 * buckets, so the workers together admit a tenant's quota once.
 */
export interface QuotaUsageMessage {
  type: "tracking:quota-usage";
  usage: QuotaUsage;
}

/** Any message of this protocol. */
export type ClusterMessage =
  | ReadyMessage
  | QuotaUsageMessage
  | ClusterMetricsRequest
  | ClusterMetricsResponse
  | LocalMetricsRequest
  | LocalMetricsResponse;

/** Narrows an IPC message to this protocol's `type`. */
export function isMessage<T extends ClusterMessage["type"]>(
  m: unknown,
  type: T,
): m is Extract<ClusterMessage, { type: T }> {
  return typeof m === "object" && m !== null && (m as { type?: unknown }).type === type;
}
