/**
 * The set of compiled judges the ingestion pipeline consults per event: one per active
 * tracking config (tenant, scenario) and a fallback per scenario template, chosen by the
 * scenario_data member the event carries when the tenant has no config for the scenario.
 */
import type { TrackingConfig } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { scenarioTemplates } from "../../gen/templates/scenario_templates.js";
import type { Violation } from "../contracts.js";
import { type CompiledConfig, compileConfig, type JudgeableEvent, type TemplateJson } from "./compile.js";

/** What `RuleBook.judge` found. */
export interface JudgeResult {
  violations: Violation[];
  /** The config version that judged the event; 0 for a template; undefined when neither applied. */
  configVersion: number | undefined;
}

/** The store side a RuleBook follows (ConfigStore fits). */
export interface ConfigSource {
  list(filter: { include_inactive?: boolean }): TrackingConfig[];
  subscribe(listener: (config: TrackingConfig) => void): () => void;
}

/** Compiled judges by tenant and scenario, with template fallbacks. */
export class RuleBook {
  /** tenant → scenario → judge; nested so the hot path builds no key strings. */
  readonly #configs = new Map<string, Map<string, CompiledConfig>>();
  /** scenario type → template (for a config's default recommended actions). */
  #templatesByType = new Map<string, TemplateJson>();
  /** scenario_data member ("video_data") → template judge. */
  #fallbacks = new Map<string, CompiledConfig>();

  /** Creates a book with the given templates' fallback judges (default: the generated templates). */
  constructor(templates: readonly TemplateJson[] = scenarioTemplates) {
    this.setTemplates(templates);
  }

  /** Replaces the templates (compiling their fallback judges). Existing configs keep their judges. */
  setTemplates(templates: readonly TemplateJson[]): void {
    const byType = new Map<string, TemplateJson>();
    const fallbacks = new Map<string, CompiledConfig>();
    for (const t of templates) {
      byType.set(t.scenario_type, t);
      const c = compileConfig(t);
      fallbacks.set(c.dataField, c);
    }
    this.#templatesByType = byType;
    this.#fallbacks = fallbacks;
  }

  /** Compiles and installs an active config, or removes the judge of an inactive one. */
  apply(config: TrackingConfig): void {
    if (!config.isActive) {
      this.remove(config.tenantId, config.scenarioId);
      return;
    }
    const template = this.#templatesByType.get(config.scenarioType);
    const compiled = compileConfig(config, template ? { template } : {});
    let byScenario = this.#configs.get(config.tenantId);
    if (byScenario === undefined) {
      byScenario = new Map();
      this.#configs.set(config.tenantId, byScenario);
    }
    byScenario.set(config.scenarioId, compiled);
  }

  /** Drops the judge of (tenant, scenario); events fall back to templates. */
  remove(tenant: string, scenario: string): void {
    const byScenario = this.#configs.get(tenant);
    if (byScenario === undefined) return;
    byScenario.delete(scenario);
    if (byScenario.size === 0) this.#configs.delete(tenant);
  }

  /**
   * Loads every active config of `source` and keeps following its writes.
   * Returns the unsubscribe function.
   */
  attach(source: ConfigSource): () => void {
    const off = source.subscribe((c) => this.apply(c));
    for (const c of source.list({ include_inactive: false })) this.apply(c);
    return off;
  }

  /** The judge of (tenant, scenario), if a config is installed. */
  compiledFor(tenant: string, scenario: string): CompiledConfig | undefined {
    return this.#configs.get(tenant)?.get(scenario);
  }

  /** The template fallback judge for a scenario_data member ("video_data"). */
  fallbackFor(dataField: string): CompiledConfig | undefined {
    return this.#fallbacks.get(dataField);
  }

  /**
   * Judges an event by its tenant's config for the scenario, else by the template of the
   * scenario_data member it carries; warnings only.
   */
  judge(event: JudgeableEvent): JudgeResult {
    const tenant = event.tenant_id;
    const scenario = event.scenario_id;
    if (typeof tenant === "string" && typeof scenario === "string") {
      const c = this.#configs.get(tenant)?.get(scenario);
      if (c !== undefined) return { violations: c.judge(event), configVersion: c.version };
    }
    const sd = event.scenario_data;
    if (typeof sd === "object" && sd !== null && this.#fallbacks.size > 0) {
      for (const member in sd as Record<string, unknown>) {
        const f = this.#fallbacks.get(member);
        if (f !== undefined) return { violations: f.judge(event), configVersion: 0 };
      }
    }
    return { violations: [], configVersion: undefined };
  }
}
