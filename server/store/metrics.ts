/**
 * The config store's Prometheus lines, kept apart from server/stats so the exposition can
 * move to another registry without touching the store: whether the database answers, and
 * how many malformed documents/rows were skipped.
 */
import type { ConfigStore } from "./config-store.js";

/** The store's gauges/counters in the text exposition format (ends with a newline). */
export function renderConfigStoreMetrics(store: Pick<ConfigStore, "kind" | "available" | "malformedCount">): string {
  const label = `store="${store.kind}"`;
  return [
    "# HELP tracking_config_store_up Whether the config store's database answered the last operation (0: configs served from cache, writes get 503).",
    "# TYPE tracking_config_store_up gauge",
    `tracking_config_store_up{${label}} ${store.available() ? 1 : 0}`,
    "# HELP tracking_config_store_malformed_total Stored configs found malformed and skipped.",
    "# TYPE tracking_config_store_malformed_total counter",
    `tracking_config_store_malformed_total{${label}} ${store.malformedCount()}`,
    "",
  ].join("\n");
}
