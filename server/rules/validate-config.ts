/**
 * Checks a tracking-config definition before it is stored (create and the merged result of
 * an update), so a bad config is refused with 400 naming the field instead of producing
 * confusing warnings on every event later.
 */
import { FieldType, type FieldSpec, type TrackingConfig } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import type { Violation } from "../contracts.js";
import { actionWireName, fieldKindOf, KNOWN_SCENARIO_TYPES } from "./compile.js";

const FIELD_NAME_RE = /^[a-z][a-z0-9_]*$/;
const TENANT_RE = /^[A-Za-z0-9_-]+$/;
const SCENARIO_RE = /^[A-Za-z0-9_.-]+$/;

function err(field: string, rule: string, message: string): Violation {
  return { field, rule, message, severity: "error" };
}

function maxLen(out: Violation[], field: string, value: string, max: number): void {
  if (value.length > max) out.push(err(field, "max_len", `${field} is ${value.length} characters long; at most ${max} are allowed`));
}

/**
 * Returns the config's definition errors (severity "error"), empty when valid. Paths use
 * wire names, e.g. `required_fields[2].max_value`. `scenarioTypes` defaults to the types of
 * behavior.proto's scenario_data members plus "custom".
 */
export function validateConfigDefinition(
  config: TrackingConfig,
  scenarioTypes: ReadonlySet<string> = KNOWN_SCENARIO_TYPES,
): Violation[] {
  const out: Violation[] = [];
  if (config.tenantId === "") out.push(err("tenant_id", "required", "tenant_id is required"));
  else if (!TENANT_RE.test(config.tenantId)) out.push(err("tenant_id", "pattern", `tenant_id ${JSON.stringify(config.tenantId)} must match ${TENANT_RE.source}`));
  else maxLen(out, "tenant_id", config.tenantId, 64);
  if (config.scenarioId === "") out.push(err("scenario_id", "required", "scenario_id is required"));
  else if (!SCENARIO_RE.test(config.scenarioId)) out.push(err("scenario_id", "pattern", `scenario_id ${JSON.stringify(config.scenarioId)} must match ${SCENARIO_RE.source}`));
  else maxLen(out, "scenario_id", config.scenarioId, 128);
  if (config.scenarioType === "") out.push(err("scenario_type", "required", "scenario_type is required"));
  else if (!scenarioTypes.has(config.scenarioType)) {
    out.push(err("scenario_type", "enum", `scenario_type ${JSON.stringify(config.scenarioType)} is unknown; expected one of ${[...scenarioTypes].join(", ")}`));
  }
  maxLen(out, "name", config.name, 256);
  maxLen(out, "description", config.description, 2048);

  const seen = new Map<string, string>();
  const lists: Array<[string, FieldSpec[]]> = [
    ["required_fields", config.requiredFields],
    ["optional_fields", config.optionalFields],
  ];
  for (const [listName, specs] of lists) {
    if (specs.length > 200) out.push(err(listName, "max_items", `${listName} has ${specs.length} entries; at most 200 are allowed`));
    specs.forEach((spec, i) => checkSpec(out, `${listName}[${i}]`, spec, seen));
  }

  config.recommendedActions.forEach((a, i) => {
    if (actionWireName(a) === undefined) {
      out.push(err(`recommended_actions[${i}]`, "enum", `recommended_actions[${i}] is not a known action type`));
    }
  });
  return out;
}

function checkSpec(out: Violation[], at: string, spec: FieldSpec, seen: Map<string, string>): void {
  const name = spec.fieldName;
  if (name === "") out.push(err(`${at}.field_name`, "required", `${at}.field_name is required`));
  else if (!FIELD_NAME_RE.test(name)) {
    out.push(err(`${at}.field_name`, "pattern", `${at}.field_name ${JSON.stringify(name)} must match ${FIELD_NAME_RE.source} (lowercase snake_case)`));
  } else {
    maxLen(out, `${at}.field_name`, name, 64);
    const prev = seen.get(name);
    if (prev !== undefined) out.push(err(`${at}.field_name`, "duplicate", `${at}.field_name ${JSON.stringify(name)} is already defined at ${prev}`));
    else seen.set(name, at);
  }
  const kind = fieldKindOf(spec.fieldType);
  if (spec.fieldType === FieldType.UNSPECIFIED || kind === undefined) {
    out.push(err(`${at}.field_type`, "required", `${at}.field_type must be one of integer, number, string, boolean, array, object`));
  }
  const { minValue: min, maxValue: max } = spec;
  for (const [k, v] of [["min_value", min], ["max_value", max]] as const) {
    if (v !== undefined && !Number.isFinite(v)) out.push(err(`${at}.${k}`, "type", `${at}.${k} must be a finite number`));
  }
  if (min !== undefined && max !== undefined && min > max) {
    out.push(err(`${at}.min_value`, "range", `${at}.min_value ${min} is greater than max_value ${max}`));
  }
  if ((min !== undefined || max !== undefined) && (kind === "string" || kind === "boolean")) {
    out.push(err(`${at}.${min !== undefined ? "min_value" : "max_value"}`, "range", `${at}: min_value/max_value apply to numbers (or arrays/objects of numbers), not to a ${kind} field`));
  }
  if (spec.allowedValues.length > 0) {
    if (kind !== undefined && kind !== "string" && kind !== "array") {
      out.push(err(`${at}.allowed_values`, "allowed_values", `${at}.allowed_values is only allowed for string or array fields, not ${kind}`));
    }
    if (spec.allowedValues.length > 1000) out.push(err(`${at}.allowed_values`, "max_items", `${at}.allowed_values has more than 1000 entries`));
  }
  maxLen(out, `${at}.description`, spec.description, 1024);
  maxLen(out, `${at}.unit`, spec.unit, 32);
}
