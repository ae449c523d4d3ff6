/**
 * The gate's Prometheus metrics (prom-client, a registry of its own so a gate embedded in another
 * process never mixes its series with the host's). The seed's monitoring target
 * "数据验证通过率 > 95%" (validation pass rate) is `tracking_gate_validation_pass_ratio`: the share
 * of judged messages without errors (pass + warn: the server would have accepted them), per
 * tenant since the gate started; over a window use
 * `1 - sum by (tenant) (rate(tracking_gate_messages_total{result="fail"}[5m])) / sum by (tenant) (rate(tracking_gate_messages_total[5m]))`.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { GateVerdict } from "./judge.js";

/** Per-tenant counts kept for the pass ratio and the summary. */
export interface TenantCounts {
  pass: number;
  warn: number;
  fail: number;
  mispartitioned: number;
  copied: number;
}

/** The gate's metrics and the counts behind them. */
export class GateMetrics {
  /** The registry /metrics renders. */
  readonly registry = new Registry();
  readonly #messages: Counter<"tenant" | "scenario" | "result">;
  readonly #violations: Counter<"tenant" | "rule" | "severity">;
  readonly #mispartitioned: Counter<"tenant">;
  readonly #copied: Counter<"tenant">;
  readonly #passRatio: Gauge<"tenant">;
  readonly #topics: Gauge;
  readonly #commits: Counter;
  /** tenant → counts since start. */
  readonly tenants = new Map<string, TenantCounts>();

  /** `defaultMetrics`: also the process metrics (CPU, memory, event-loop lag). Default true. */
  constructor(defaultMetrics = true) {
    const registers = [this.registry];
    this.#messages = new Counter({
      name: "tracking_gate_messages_total",
      help: "Messages judged on user-behaviors-* topics by result: pass (no violation), warn (warnings only: the server would accept it), fail (errors or not JSON)",
      labelNames: ["tenant", "scenario", "result"],
      registers,
    });
    this.#violations = new Counter({
      name: "tracking_gate_violations_total",
      help: "Violations found, by rule and severity (field names are left out to keep the series bounded)",
      labelNames: ["tenant", "rule", "severity"],
      registers,
    });
    this.#mispartitioned = new Counter({
      name: "tracking_gate_mispartitioned_total",
      help: "Messages whose partition is not the Java-murmur2 partition of their key (per-user order is broken)",
      labelNames: ["tenant"],
      registers,
    });
    this.#copied = new Counter({
      name: "tracking_gate_invalid_copied_total",
      help: "Failing messages copied to user-behaviors-{tenant}.invalid (acknowledged by the broker)",
      labelNames: ["tenant"],
      registers,
    });
    this.#passRatio = new Gauge({
      name: "tracking_gate_validation_pass_ratio",
      help: "数据验证通过率 (the seed's validation pass rate, target > 0.95): (pass + warn) / judged, per tenant since the gate started",
      labelNames: ["tenant"],
      registers,
    });
    this.#topics = new Gauge({
      name: "tracking_gate_topics",
      help: "Tenant topics the gate currently consumes",
      registers,
    });
    this.#commits = new Counter({
      name: "tracking_gate_commits_total",
      help: "Offset commits made (each after the .invalid copies before it were acknowledged)",
      registers,
    });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "tracking_gate_" });
  }

  #counts(tenant: string): TenantCounts {
    let c = this.tenants.get(tenant);
    if (c === undefined) {
      c = { pass: 0, warn: 0, fail: 0, mispartitioned: 0, copied: 0 };
      this.tenants.set(tenant, c);
    }
    return c;
  }

  /** Counts one verdict. */
  judged(v: GateVerdict): void {
    const c = this.#counts(v.tenant);
    c[v.result]++;
    this.#messages.inc({ tenant: v.tenant, scenario: v.scenario, result: v.result });
    for (const x of v.violations) this.#violations.inc({ tenant: v.tenant, rule: x.rule, severity: x.severity });
    if (v.mispartitioned) {
      c.mispartitioned++;
      this.#mispartitioned.inc({ tenant: v.tenant });
    }
    this.#passRatio.set({ tenant: v.tenant }, (c.pass + c.warn) / (c.pass + c.warn + c.fail));
  }

  /** Counts copies the broker acknowledged. */
  copied(tenant: string, n: number): void {
    this.#counts(tenant).copied += n;
    this.#copied.inc({ tenant }, n);
  }

  /** Sets the number of consumed topics. */
  topics(n: number): void {
    this.#topics.set(n);
  }

  /** Counts one offset commit. */
  committed(): void {
    this.#commits.inc();
  }
}
