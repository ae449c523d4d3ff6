/**
 * Checks a tracking-config definition before it is stored (create and the merged result of
 * an update), so a bad config is refused with 400 naming the field instead of producing
 * confusing warnings on every event later.
 */
import type { FieldSpec, TrackingConfig } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import {
  trackingConfigToWire,
  validateTrackingConfig,
} from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import type { Violation } from "../contracts.js";
import { fieldKindOf, KNOWN_SCENARIO_TYPES } from "./compile.js";

function err(field: string, rule: string, message: string): Violation {
  return { field, rule, message, severity: "error" };
}

/**
 * Returns the config's definition errors (severity "error"), empty when valid. Paths use
 * wire names, e.g. `required_fields[2].max_value`. `scenarioTypes` defaults to the types of
 * behavior.proto's scenario_data members plus "custom".
 *
 * What tracking_config.proto says (required fields, patterns, lengths, list sizes, enum values,
 * finite bounds) the generated validator checks on the config's canonical wire form; this adds
 * only what the proto cannot say: known scenario types, unique field names, and bounds and
 * allowed values that fit the field's type.
 */
export function validateConfigDefinition(
  config: TrackingConfig,
  scenarioTypes: ReadonlySet<string> = KNOWN_SCENARIO_TYPES,
): Violation[] {
  const out: Violation[] = validateTrackingConfig(trackingConfigToWire(config), "kafka");
  if (config.scenarioType !== "" && !scenarioTypes.has(config.scenarioType)) {
    out.push(
      err(
        "scenario_type",
        "enum",
        `scenario_type ${JSON.stringify(config.scenarioType)} is unknown; expected one of ${[...scenarioTypes].join(", ")}`,
      ),
    );
  }
  const seen = new Map<string, string>();
  const lists: Array<[string, FieldSpec[]]> = [
    ["required_fields", config.requiredFields],
    ["optional_fields", config.optionalFields],
  ];
  for (const [listName, specs] of lists) {
    for (const [i, spec] of specs.entries()) checkSpec(out, `${listName}[${i}]`, spec, seen);
  }
  return out;
}

function checkSpec(out: Violation[], at: string, spec: FieldSpec, seen: Map<string, string>): void {
  const name = spec.fieldName;
  if (name !== "") {
    const prev = seen.get(name);
    if (prev !== undefined)
      out.push(
        err(`${at}.field_name`, "duplicate", `${at}.field_name ${JSON.stringify(name)} is already defined at ${prev}`),
      );
    else seen.set(name, at);
  }
  const kind = fieldKindOf(spec.fieldType);
  const { minValue: min, maxValue: max } = spec;
  if (min !== undefined && max !== undefined && min > max) {
    out.push(err(`${at}.min_value`, "range", `${at}.min_value ${min} is greater than max_value ${max}`));
  }
  if ((min !== undefined || max !== undefined) && (kind === "string" || kind === "boolean")) {
    out.push(
      err(
        `${at}.${min !== undefined ? "min_value" : "max_value"}`,
        "range",
        `${at}: min_value/max_value apply to numbers (or arrays/objects of numbers), not to a ${kind} field`,
      ),
    );
  }
  if (spec.allowedValues.length > 0 && kind !== undefined && kind !== "string" && kind !== "array") {
    out.push(
      err(
        `${at}.allowed_values`,
        "allowed_values",
        `${at}.allowed_values is only allowed for string or array fields, not ${kind}`,
      ),
    );
  }
}
