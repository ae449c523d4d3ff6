/**
 * The config store's metrics, registered on the server's prom-client registry (server/stats):
 * whether the database answers, and how many malformed documents/rows were skipped. Read at
 * scrape time, so the store's hot path is untouched.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { ConfigStore } from "./config-store.js";

/** Registers tracking_config_store_up and tracking_config_store_malformed_total for `store`. */
export function registerConfigStoreMetrics(
  registry: Registry,
  store: Pick<ConfigStore, "kind" | "available" | "malformedCount">,
): void {
  new Gauge({
    name: "tracking_config_store_up",
    help: "Whether the config store's database answered the last operation (0: configs served from cache, writes get 503).",
    labelNames: ["store"] as const,
    registers: [registry],
    // Across cluster workers: up only if every worker reaches it.
    aggregator: "min",
    collect() {
      this.set({ store: store.kind }, store.available() ? 1 : 0);
    },
  });
  new Counter({
    name: "tracking_config_store_malformed_total",
    help: "Stored configs found malformed and skipped.",
    labelNames: ["store"] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ store: store.kind }, store.malformedCount());
    },
  });
}
