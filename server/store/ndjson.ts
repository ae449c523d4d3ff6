/**
 * `tracking configs export|import`: configs as NDJSON, one per line in the seed's JSON shape
 * (the generated wire codec), so they move between stores (SQLite → MongoDB) and into Git.
 */
import type { TrackingConfig } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import {
  trackingConfigFromWire,
  trackingConfigToWire,
  validateTrackingConfig,
} from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import type { ConfigStore, ImportOutcome } from "./config-store.js";

/** Every config (inactive ones too), one JSON line each, ordered by tenant then scenario. */
export function exportConfigs(store: Pick<ConfigStore, "list">): string {
  return store
    .list({ include_inactive: true })
    .map((c) => `${JSON.stringify(trackingConfigToWire(c, true))}\n`)
    .join("");
}

/** A line of an import that is not a valid config. */
export class ImportLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportLineError";
  }
}

/** Parses NDJSON configs; every bad line is reported (line number, field, rule) before anything is written. */
export function parseConfigLines(text: string): TrackingConfig[] {
  const configs: TrackingConfig[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      problems.push(`line ${i + 1}: not JSON: ${(e as Error).message}`);
      return;
    }
    const errors = validateTrackingConfig(json, "request").filter((v) => v.severity === "error");
    if (errors.length > 0) {
      problems.push(`line ${i + 1}: ${errors.map((v) => `${v.field}: ${v.message}`).join("; ")}`);
      return;
    }
    configs.push(trackingConfigFromWire(json));
  });
  if (problems.length > 0) throw new ImportLineError(`nothing imported:\n${problems.join("\n")}`);
  return configs;
}

/** Writes each config (idempotent: equal content gives no new version); counts by outcome. */
export async function importConfigs(
  store: Pick<ConfigStore, "importConfig">,
  configs: readonly TrackingConfig[],
): Promise<Record<ImportOutcome, number>> {
  const counts: Record<ImportOutcome, number> = { created: 0, updated: 0, unchanged: 0 };
  for (const c of configs) counts[await store.importConfig(c)]++;
  return counts;
}
