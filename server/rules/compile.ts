/**
 * Tracking-config rules: a TrackingConfig (or a scenario template) is compiled ONCE, at
 * create/update time, into a flat array of specialized check closures with precomputed
 * paths and Sets. Judging an event then only reads the event: no config parsing and no
 * string formatting unless a rule is violated. All violations are warnings (the seed's Q3:
 * scenario fields never block an event).
 */
import type {
  FieldSpec,
  FieldType,
  ScenarioTemplate,
  TrackingConfig,
} from "../../gen/es/recommender/v1/tracking_config_pb.js";
import type { ScenarioTemplate as ScenarioTemplateJson } from "../../gen/templates/scenario_templates.js";
import {
  actionTypeToWire,
  dataFieldByScenarioType,
  scenarioTypeByDataField,
  scenarioTypes,
} from "../../gen/validator/recommender/v1/behavior_validator.js";
import {
  fieldTypeToWire,
  scenarioTemplateFromWire,
} from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import type { FieldTypeWire } from "../../gen/validator/recommender/v1/tracking_config_wire.js";
import type { Violation } from "../contracts.js";

/** JSON type names of FieldType, as on the wire ("integer", "number", …). */
export type FieldKind = FieldTypeWire;

/** A generated scenario template (gen/templates), in wire form. */
export type TemplateJson = ScenarioTemplateJson;

/**
 * The parts of an event the judge reads; a BehaviorEventWire (or any parsed request JSON)
 * fits. Values are `unknown` because the judge must tolerate malformed input.
 */
export interface JudgeableEvent {
  tenant_id?: unknown;
  scenario_id?: unknown;
  action_type?: unknown;
  scenario_data?: unknown;
}

/** A config or template compiled into a judge. */
export interface CompiledConfig {
  /** "tenant/scenario" for configs, undefined for templates. */
  readonly key: string | undefined;
  /** Config version; 0 for templates. */
  readonly version: number;
  /** Scenario type the judge expects, e.g. "video" or "custom". */
  readonly scenarioType: string;
  /** Member of scenario_data holding the fields, e.g. "video_data". */
  readonly dataField: string;
  /** Human-readable source, e.g. "tracking config mymx/vlog_feed (v3)" or "template video". */
  readonly source: string;
  /** Checks one event; returns warnings (an empty array when it conforms). */
  judge(event: JudgeableEvent): Violation[];
}

/** Scenario types known from behavior.proto's ScenarioSpecificData oneof ("video", …, "custom"). */
export const KNOWN_SCENARIO_TYPES: ReadonlySet<string> = new Set(scenarioTypes);

/** Every scenario_data member name ("video_data", …), to recognize which one an event carries. */
const DATA_MEMBERS: ReadonlySet<string> = new Set(Object.keys(scenarioTypeByDataField));

/** FieldType → wire kind ("integer", …); undefined for FIELD_TYPE_UNSPECIFIED and unknown values. */
export function fieldKindOf(t: FieldType): FieldKind | undefined {
  // The generated table maps exactly FieldType's wire_name options, which FieldTypeWire lists.
  return fieldTypeToWire(t) as FieldKind | undefined;
}

/** The judge's normalized view of a FieldSpec, independent of proto vs wire form. */
interface NormSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** False when the generated validator already types the member (a wrong type is an error there). */
  checkType: boolean;
  min: number | undefined;
  max: number | undefined;
  allowed: readonly string[] | undefined;
}

type Check = (data: Readonly<Record<string, unknown>>, out: Violation[]) => void;

const TYPE_TESTS: Record<FieldKind, (v: unknown) => boolean> = {
  integer: (v) => typeof v === "number" && Number.isInteger(v),
  number: (v) => typeof v === "number" && Number.isFinite(v),
  string: (v) => typeof v === "string",
  boolean: (v) => typeof v === "boolean",
  array: (v) => Array.isArray(v),
  object: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
};

const ARTICLE: Record<FieldKind, string> = {
  integer: "an integer",
  number: "a number",
  string: "a string",
  boolean: "a boolean",
  array: "an array",
  object: "an object",
};

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  return `${typeof v === "object" ? "an" : "a"} ${typeof v}`;
}

function warn(field: string, rule: string, message: string): Violation {
  return { field, rule, message, severity: "warning" };
}

/** Builds the specialized check of one field. Runs at compile time only. */
function compileField(spec: NormSpec, dataPath: string, source: string): Check {
  const name = spec.name;
  const path = `${dataPath}.${name}`;
  const required = spec.required;
  const isType = TYPE_TESTS[spec.kind];
  const kind = spec.kind;
  const { min, max } = spec;
  const hasRange = min !== undefined || max !== undefined;
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  const allowed = spec.allowed !== undefined && spec.allowed.length > 0 ? new Set(spec.allowed) : undefined;
  const allowedText = allowed === undefined ? "" : listText([...allowed]);

  const range = (v: number, at: string, out: Violation[]): void => {
    if (v < lo) out.push(warn(at, "range", `${at} = ${v} is below the minimum ${lo} of ${source}`));
    else if (v > hi) out.push(warn(at, "range", `${at} = ${v} is above the maximum ${hi} of ${source}`));
  };
  const allow = (v: unknown, at: string, out: Violation[]): void => {
    if (typeof v === "string" && !allowed!.has(v)) {
      out.push(
        warn(at, "allowed_values", `${at} = ${JSON.stringify(v)} is not one of ${allowedText} allowed by ${source}`),
      );
    }
  };

  // Value checks after the type test, specialized by kind and by which rules are configured.
  let valueCheck: ((v: unknown, out: Violation[]) => void) | undefined;
  if (kind === "integer" || kind === "number") {
    if (hasRange) valueCheck = (v, out) => range(v as number, path, out);
  } else if (kind === "string") {
    if (allowed) valueCheck = (v, out) => allow(v, path, out);
  } else if (kind === "array") {
    if (hasRange || allowed) {
      valueCheck = (v, out) => {
        const arr = v as readonly unknown[];
        for (let i = 0; i < arr.length; i++) {
          const e = arr[i];
          if (hasRange && typeof e === "number") range(e, `${path}[${i}]`, out);
          if (allowed) allow(e, `${path}[${i}]`, out);
        }
      };
    }
  } else if (kind === "object") {
    // Maps like feature_importance carry numeric values bounded by min/max.
    if (hasRange) {
      valueCheck = (v, out) => {
        const o = v as Record<string, unknown>;
        for (const k in o) {
          const e = o[k];
          if (typeof e === "number") range(e, `${path}.${k}`, out);
        }
      };
    }
  }

  return (data, out) => {
    const v = data[name];
    if (v === undefined || v === null) {
      if (required) out.push(warn(path, "required", `${path} is required by ${source}`));
      return;
    }
    if (!isType(v)) {
      if (!spec.checkType) return;
      out.push(warn(path, "type", `${path} should be ${ARTICLE[kind]}, got ${describeValue(v)} (${source})`));
      return;
    }
    if (valueCheck !== undefined) valueCheck(v, out);
  };
}

function listText(values: readonly string[]): string {
  const shown = values.slice(0, 12).map((v) => JSON.stringify(v));
  return `[${shown.join(", ")}${values.length > 12 ? `, … ${values.length - 12} more` : ""}]`;
}

interface CompileInput {
  key: string | undefined;
  version: number;
  scenarioType: string;
  dataField: string;
  source: string;
  specs: NormSpec[];
  actions: readonly string[];
}

function build(input: CompileInput): CompiledConfig {
  const { dataField, scenarioType, source } = input;
  const dataPath = `scenario_data.${dataField}`;
  const checks: Check[] = input.specs.map((s) => compileField(s, dataPath, source));
  const actions = input.actions.length > 0 ? new Set(input.actions) : undefined;
  const actionsText = actions === undefined ? "" : [...actions].join(", ");
  const nChecks = checks.length;

  return {
    key: input.key,
    version: input.version,
    scenarioType,
    dataField,
    source,
    judge(event: JudgeableEvent): Violation[] {
      const out: Violation[] = [];
      if (actions !== undefined) {
        const a = event.action_type;
        if (typeof a === "string" && !actions.has(a)) {
          out.push(
            warn(
              "action_type",
              "recommended_action",
              `action_type ${a} is not a recommended action of ${source} (expected one of: ${actionsText})`,
            ),
          );
        }
      }
      // Field rules judge the scenario data an event carries. An event without any (an
      // impression, say) is not warned about every missing field: that would bury real
      // problems, and the seed's health numbers (10 warnings in 10,000 events) show it isn't meant.
      let data: Readonly<Record<string, unknown>> | undefined;
      const sd = event.scenario_data;
      if (typeof sd === "object" && sd !== null && !Array.isArray(sd)) {
        const members = sd as Record<string, unknown>;
        const d = members[dataField];
        if (typeof d === "object" && d !== null && !Array.isArray(d)) data = d as Record<string, unknown>;
        else if (d === undefined || d === null) {
          for (const k in members) {
            if (DATA_MEMBERS.has(k) && members[k] !== undefined && members[k] !== null) {
              out.push(
                warn(
                  "scenario_data",
                  "scenario_type",
                  `scenario_data carries ${k} but ${source} is a ${scenarioType} scenario (expects ${dataPath})`,
                ),
              );
              break;
            }
          }
        } else {
          out.push(warn(dataPath, "type", `${dataPath} should be an object, got ${describeValue(d)} (${source})`));
        }
      }
      if (data !== undefined) for (let i = 0; i < nChecks; i++) checks[i]!(data, out);
      return out;
    },
  };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

/**
 * The judge's view of one spec. `proto` is the template's spec of the same typed scenario member:
 * what it says (type, bounds, allowed values) the generated validator judges on every event
 * already, so only what the spec adds or changes is judged here, and each rule is judged once.
 */
function norm(spec: FieldSpec, inRequiredList: boolean, proto: FieldSpec | undefined): NormSpec | undefined {
  const kind = fieldKindOf(spec.fieldType);
  if (kind === undefined) return undefined;
  const p = proto !== undefined && proto.fieldType === spec.fieldType ? proto : undefined;
  return {
    name: spec.fieldName,
    kind,
    required: inRequiredList || spec.required,
    checkType: p === undefined,
    min: p !== undefined && spec.minValue === p.minValue ? undefined : spec.minValue,
    max: p !== undefined && spec.maxValue === p.maxValue ? undefined : spec.maxValue,
    allowed:
      spec.allowedValues.length === 0 || (p !== undefined && sameStrings(spec.allowedValues, p.allowedValues))
        ? undefined
        : spec.allowedValues,
  };
}

function isTrackingConfig(x: TrackingConfig | TemplateJson): x is TrackingConfig {
  return (x as TrackingConfig).$typeName === "recommender.v1.TrackingConfig";
}

/** Options of `compileConfig`. */
export interface CompileOptions {
  /**
   * The template of the config's scenario type: its recommended actions apply when the config
   * lists none, and its fields are the proto's rules, which the generated validator judges.
   */
  template?: TemplateJson;
}

/**
 * Compiles a tracking config or a template into a judge.
 *
 * Fields in `required_fields` are required (whatever their `required` flag); fields in
 * `optional_fields` only when their flag says so. Specs with an unknown field type are
 * skipped (validateConfigDefinition refuses them before they are stored).
 *
 * Rules the proto states for a typed scenario member (the template's: type, bounds, allowed
 * values, recommended actions) are left to the generated validator, so a template judges only
 * the presence of its core fields, and a config only what it adds or changes. Without a
 * template (a custom scenario), the config's every rule is judged here.
 */
export function compileConfig(source: TrackingConfig | TemplateJson, options: CompileOptions = {}): CompiledConfig {
  const isConfig = isTrackingConfig(source);
  const templateJson = isConfig ? options.template : source;
  const template: ScenarioTemplate | undefined =
    templateJson === undefined ? undefined : scenarioTemplateFromWire(templateJson);
  const rules: TrackingConfig | ScenarioTemplate = isConfig ? source : (template ?? scenarioTemplateFromWire(source));
  const protoSpecs = new Map<string, FieldSpec>();
  for (const f of [...(template?.requiredFields ?? []), ...(template?.optionalFields ?? [])])
    protoSpecs.set(f.fieldName, f);

  const specs: NormSpec[] = [];
  for (const [list, inRequired] of [
    [rules.requiredFields, true],
    [rules.optionalFields, false],
  ] as const) {
    for (const f of list) {
      const n = norm(f, inRequired, protoSpecs.get(f.fieldName));
      if (n) specs.push(n);
    }
  }
  const wireActions = (list: readonly number[]): string[] => {
    const out: string[] = [];
    for (const a of list) {
      const w = actionTypeToWire(a);
      if (w !== undefined) out.push(w);
    }
    return out;
  };
  const protoActions = wireActions(template?.recommendedActions ?? []);
  let actions = wireActions(rules.recommendedActions);
  if (actions.length === 0) actions = protoActions;
  if (template !== undefined && sameStrings(actions, protoActions)) actions = [];

  const type = isTrackingConfig(source) ? source.scenarioType : source.scenario_type;
  if (isTrackingConfig(source)) {
    const key = `${source.tenantId}/${source.scenarioId}`;
    return build({
      key,
      version: source.version,
      scenarioType: type,
      // validateConfigDefinition admits only known scenario types.
      dataField: dataFieldByScenarioType[type] ?? "",
      source: `tracking config ${key} (v${source.version})`,
      specs,
      actions,
    });
  }
  return build({
    key: undefined,
    version: 0,
    scenarioType: type,
    dataField: source.data_field,
    source: `template ${source.template_id}`,
    specs,
    actions,
  });
}
