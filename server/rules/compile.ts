/**
 * Tracking-config rules: a TrackingConfig (or a scenario template) is compiled ONCE, at
 * create/update time, into a flat array of specialized check closures with precomputed
 * paths and Sets. Judging an event then only reads the event: no config parsing and no
 * string formatting unless a rule is violated. All violations are warnings (the seed's Q3:
 * scenario fields never block an event).
 */
import {
  FieldType,
  type FieldSpec,
  type TrackingConfig,
} from "../../gen/es/recommender/v1/tracking_config_pb.js";
import type { ActionType } from "../../gen/es/recommender/v1/behavior_pb.js";
import { actionTypeToWire, scenarioTypeByDataField, scenarioTypes } from "../../gen/validator/recommender/v1/behavior_validator.js";
import type { Violation } from "../contracts.js";

/** JSON type names of FieldType, as on the wire ("integer", "number", …). */
export type FieldKind = "integer" | "number" | "string" | "boolean" | "array" | "object";

/** A FieldSpec in wire (snake_case JSON) form, as in templates and REST bodies. */
export interface FieldSpecWire {
  field_name: string;
  /** Wire name ("integer") or proto enum name ("FIELD_TYPE_INTEGER"). */
  field_type: string;
  required?: boolean;
  description?: string;
  /** Inclusive bounds; null or absent when unset (generated templates use null). */
  min_value?: number | null;
  max_value?: number | null;
  allowed_values?: readonly string[];
  unit?: string;
}

/**
 * A scenario template in wire form; `gen/templates/scenario_templates.ts` entries
 * (ScenarioTemplate) are assignable to it. Only the members used for judging are required.
 */
export interface TemplateLike {
  template_id: string;
  scenario_type: string;
  name?: string;
  description?: string;
  /** Member of scenario_data, e.g. "video_data"; defaults to `${scenario_type}_data`. */
  data_field?: string;
  required_fields?: readonly FieldSpecWire[];
  optional_fields?: readonly FieldSpecWire[];
  /** Wire names, e.g. "play_end". */
  recommended_actions?: readonly string[];
}

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

/** ActionType enum → wire name ("play_end"), from the generated tables (the wire_name option). */
export function actionWireName(action: ActionType): string | undefined {
  return actionTypeToWire(action);
}

const KIND_BY_ENUM: Record<number, FieldKind | undefined> = {
  [FieldType.INTEGER]: "integer",
  [FieldType.NUMBER]: "number",
  [FieldType.STRING]: "string",
  [FieldType.BOOLEAN]: "boolean",
  [FieldType.ARRAY]: "array",
  [FieldType.OBJECT]: "object",
};

/** Wire or enum-name field type → kind; undefined when unknown. */
export function fieldKindOf(t: string | FieldType): FieldKind | undefined {
  if (typeof t === "number") return KIND_BY_ENUM[t];
  const s = t.startsWith("FIELD_TYPE_") ? t.slice("FIELD_TYPE_".length).toLowerCase() : t;
  return (["integer", "number", "string", "boolean", "array", "object"] as const).find((k) => k === s);
}

/** The judge's normalized view of a FieldSpec, independent of proto vs wire form. */
interface NormSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
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
      out.push(warn(at, "allowed_values", `${at} = ${JSON.stringify(v)} is not one of ${allowedText} allowed by ${source}`));
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
          out.push(warn("action_type", "recommended_action", `action_type ${a} is not a recommended action of ${source} (expected one of: ${actionsText})`));
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
              out.push(warn("scenario_data", "scenario_type", `scenario_data carries ${k} but ${source} is a ${scenarioType} scenario (expects ${dataPath})`));
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

function normFromProto(spec: FieldSpec, inRequiredList: boolean): NormSpec | undefined {
  const kind = fieldKindOf(spec.fieldType);
  if (kind === undefined) return undefined;
  return {
    name: spec.fieldName,
    kind,
    required: inRequiredList || spec.required,
    min: spec.minValue,
    max: spec.maxValue,
    allowed: spec.allowedValues.length > 0 ? spec.allowedValues : undefined,
  };
}

function normFromWire(spec: FieldSpecWire, inRequiredList: boolean): NormSpec | undefined {
  const kind = fieldKindOf(spec.field_type);
  if (kind === undefined) return undefined;
  return {
    name: spec.field_name,
    kind,
    required: inRequiredList || spec.required === true,
    min: typeof spec.min_value === "number" ? spec.min_value : undefined,
    max: typeof spec.max_value === "number" ? spec.max_value : undefined,
    allowed: spec.allowed_values !== undefined && spec.allowed_values.length > 0 ? spec.allowed_values : undefined,
  };
}

function isTrackingConfig(x: TrackingConfig | TemplateLike): x is TrackingConfig {
  return (x as TrackingConfig).$typeName === "recommender.v1.TrackingConfig";
}

/** Options of `compileConfig`. */
export interface CompileOptions {
  /** Template whose recommended actions apply when the config lists none. */
  template?: TemplateLike;
}

/**
 * Compiles a tracking config or a template into a judge.
 *
 * Fields in `required_fields` are required (whatever their `required` flag); fields in
 * `optional_fields` only when their flag says so. Specs with an unknown field type are
 * skipped (validateConfigDefinition refuses them before they are stored). A template is
 * judged exactly like a config created from it (its required_fields are required), with
 * version 0 and messages naming "template <id>".
 */
export function compileConfig(source: TrackingConfig | TemplateLike, options: CompileOptions = {}): CompiledConfig {
  if (isTrackingConfig(source)) {
    const type = source.scenarioType;
    const specs: NormSpec[] = [];
    for (const f of source.requiredFields) {
      const n = normFromProto(f, true);
      if (n) specs.push(n);
    }
    for (const f of source.optionalFields) {
      const n = normFromProto(f, false);
      if (n) specs.push(n);
    }
    let actions: string[] = [];
    for (const a of source.recommendedActions) {
      const w = actionWireName(a);
      if (w !== undefined) actions.push(w);
    }
    if (actions.length === 0 && options.template?.recommended_actions) actions = [...options.template.recommended_actions];
    const key = `${source.tenantId}/${source.scenarioId}`;
    return build({
      key,
      version: source.version,
      scenarioType: type,
      dataField: `${type}_data`,
      source: `tracking config ${key} (v${source.version})`,
      specs,
      actions,
    });
  }
  const t = source;
  const specs: NormSpec[] = [];
  for (const f of t.required_fields ?? []) {
    const n = normFromWire(f, true);
    if (n) specs.push(n);
  }
  for (const f of t.optional_fields ?? []) {
    const n = normFromWire(f, false);
    if (n) specs.push(n);
  }
  return build({
    key: undefined,
    version: 0,
    scenarioType: t.scenario_type,
    dataField: t.data_field ?? `${t.scenario_type}_data`,
    source: `template ${t.template_id}`,
    specs,
    actions: t.recommended_actions ?? [],
  });
}
