/**
 * How the quality gate judges one message found on a `user-behaviors-{tenant}` topic, the way
 * the server would have judged it before publishing: the generated validator in "kafka" mode
 * (a published message must be canonical: event_id and timestamp present), then the tenant's
 * tracking config (RuleBook: its config for the scenario, else the scenario template).
 * On top of that, what only a direct writer can get wrong: a value that is not JSON, an event
 * of another tenant on this tenant's topic, a key that is not the user_id, and a partition that
 * is not the Java-murmur2 partition of the key.
 */
import {
  behaviorEventKafka,
  normalizeBehaviorEvent,
  validateBehaviorEvent,
} from "../../gen/validator/recommender/v1/behavior_validator.js";
import { partitionForKey } from "../../sdk/common/murmur2.js";
import type { Violation } from "../contracts.js";
import type { EventJudge } from "../ingest/pipeline.js";

/** pass: no violation; warn: warnings only (the server accepts it); fail: at least one error. */
export type GateResult = "pass" | "warn" | "fail";

/**
 * One broken rule, as the server reports it (behavior.proto's Violation): the validator's rules,
 * the tracking config's, and the gate's own: "json" (value not JSON), "topic" (tenant_id of
 * another tenant), "key" (key is not the user_id).
 */
export type GateViolation = Violation;

/** One consumed record, as the gate needs it. */
export interface GateMessage {
  topic: string;
  partition: number;
  key: Buffer | undefined | null;
  value: Buffer | undefined | null;
}

/** What the gate found. */
export interface GateVerdict {
  result: GateResult;
  /** Tenant of the topic (`user-behaviors-{tenant}`), not of the message: a metric label that cannot be forged. */
  tenant: string;
  /** scenario_id when it is a valid one, else "" (keeps metric labels bounded and meaningful). */
  scenario: string;
  violations: GateViolation[];
  /** The parsed value; undefined when it was not JSON. */
  parsed: unknown;
  /** The key's partition differs from the record's (Java murmur2, the server's and Java clients' placement). */
  mispartitioned: boolean;
  /** Version of the tracking config that judged it (0: a template), when one applied. */
  configVersion: number | undefined;
}

/** Topic prefix of tenant topics, from the proto's Kafka option ("user-behaviors-{tenant_id}"). */
export const TENANT_TOPIC_PREFIX = behaviorEventKafka.topicTemplate.slice(
  0,
  behaviorEventKafka.topicTemplate.indexOf("{"),
);

/** Suffix of the topic failing messages are copied to. */
export const INVALID_SUFFIX = ".invalid";

/** A tenant id as the validator's tenant_id pattern allows it (so `.invalid` topics never match). */
const TENANT_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The tenant of a tenant topic, or undefined for any other topic (including `.invalid` copies). */
export function tenantOfTopic(topic: string): string | undefined {
  if (!topic.startsWith(TENANT_TOPIC_PREFIX)) return undefined;
  const tenant = topic.slice(TENANT_TOPIC_PREFIX.length);
  return TENANT_RE.test(tenant) ? tenant : undefined;
}

/** The topic failing messages of `tenant` are copied to. */
export function invalidTopicOf(tenant: string): string {
  return `${TENANT_TOPIC_PREFIX}${tenant}${INVALID_SUFFIX}`;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function resultOf(violations: readonly GateViolation[]): GateResult {
  if (violations.length === 0) return "pass";
  for (const v of violations) if (v.severity === "error") return "fail";
  return "warn";
}

/**
 * Judges one message. `partitions` is the topic's partition count (undefined: not known, the
 * placement is not checked). Never throws: every problem becomes a violation.
 */
export function judgeMessage(m: GateMessage, partitions: number | undefined, rules: EventJudge): GateVerdict {
  const tenant = tenantOfTopic(m.topic) ?? "";
  const mispartitioned =
    m.key != null && m.key.length > 0 && partitions !== undefined && partitionForKey(m.key, partitions) !== m.partition;
  const violations: GateViolation[] = [];
  let parsed: unknown;
  let text: string | undefined;
  try {
    text = m.value == null ? undefined : decoder.decode(m.value);
  } catch {
    violations.push({ field: "", rule: "json", message: "value is not UTF-8 text", severity: "error" });
  }
  if (text !== undefined) {
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      violations.push({
        field: "",
        rule: "json",
        message: `value is not JSON: ${(e as Error).message}`,
        severity: "error",
      });
    }
  } else if (violations.length === 0) {
    violations.push({ field: "", rule: "json", message: "value is empty (tombstone)", severity: "error" });
  }
  if (violations.length > 0) {
    return { result: "fail", tenant, scenario: "", violations, parsed, mispartitioned, configVersion: undefined };
  }

  const found: GateViolation[] = validateBehaviorEvent(parsed, "kafka");
  for (const v of found) violations.push(v);
  const o = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const bad = (field: string) => found.some((v) => v.field === field && v.severity === "error");
  const scenario = typeof o.scenario_id === "string" && !bad("scenario_id") ? o.scenario_id : "";
  if (typeof o.tenant_id === "string" && !bad("tenant_id") && o.tenant_id !== tenant) {
    violations.push({
      field: "tenant_id",
      rule: "topic",
      message: `tenant_id "${o.tenant_id}" does not belong on topic ${m.topic}`,
      severity: "error",
    });
  }
  if (typeof o.user_id === "string" && !bad("user_id") && (m.key == null || m.key.toString("utf8") !== o.user_id)) {
    violations.push({
      field: "user_id",
      rule: "key",
      message: "the message key is not the user_id (events of one user lose their order)",
      severity: "warning",
    });
  }
  let configVersion: number | undefined;
  if (!found.some((v) => v.severity === "error")) {
    // The validator judged the proto's rules, the tenant's config only what it adds (as in the server).
    const judged = rules.judge(normalizeBehaviorEvent(parsed));
    configVersion = judged.configVersion;
    for (const v of judged.violations) violations.push(v);
  }
  return { result: resultOf(violations), tenant, scenario, violations, parsed, mispartitioned, configVersion };
}
