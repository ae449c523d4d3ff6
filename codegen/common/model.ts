/**
 * The wire-format model every generator shares. It reads our custom options
 * (proto/recommender/options/v1/options.proto) off the descriptors and turns each field
 * into a list of checks, so the JSON Schema plugin and the compiled validator derive
 * their rules from the same place and cannot drift apart.
 *
 * Wire format (REST JSON body and Kafka message):
 * - field names are the proto names (snake_case); unknown keys are dropped with a warning;
 * - JSON null or an absent key means "not set";
 * - int32/uint32 are JSON integers in range; int64 are JSON integers within ±(2^53-1);
 *   double/float are finite JSON numbers; bool is a JSON boolean;
 * - enums are wire names ("play_end"); in request mode the proto name
 *   ("ACTION_TYPE_PLAY_END") is accepted too; the zero value is never valid;
 * - repeated fields are arrays, maps are objects, google.protobuf.Struct is any object;
 * - a oneof has at most one member set.
 * Severity: a wrong type, an unknown enum value or a broken base-field rule is an `error`
 * (the event cannot be represented or is rejected); rules inside a scenario message, an
 * action not recommended for the scenario and unknown keys are `warning`s.
 */
import {
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescOneof,
  getOption,
  hasOption,
  ScalarType,
} from "@bufbuild/protobuf";
import {
  Access,
  access as accessExt,
  type FieldRules,
  field as fieldExt,
  IngestKind,
  ingest as ingestExt,
  type KafkaRouting,
  kafka as kafkaExt,
  scenario as scenarioExt,
  wire_name as wireNameExt,
} from "../../gen/es/recommender/options/v1/options_pb.js";
import type { MethodAccess } from "../handlers/runtime.js";

export { IngestKind };

/** Severity of a broken rule: errors reject the event, warnings only report. */
export type Severity = "error" | "warning";

/** Whether an input is a request body (lenient) or a published Kafka message (canonical). */
export type WireMode = "request" | "kafka";

/** Largest integer a JSON number carries exactly; the bound for int64 on the wire. */
export const MAX_SAFE_INT = Number.MAX_SAFE_INTEGER;

/** JSON value kinds a field takes on the wire. */
export type WireKind =
  | { kind: "string" }
  | { kind: "bool" }
  | { kind: "integer"; min: number; max: number; int64: boolean }
  | { kind: "number" }
  | { kind: "enum"; enum: EnumModel }
  | { kind: "message"; message: DescMessage }
  | { kind: "struct" };

/** An enum with the names accepted on the wire. */
export interface EnumModel {
  desc: DescEnum;
  /** Values other than the zero value, in declaration order. */
  values: { protoName: string; wireName: string; number: number }[];
}

/** One check on a field's value, already resolved to a severity. */
export type Check =
  | { rule: "required"; severity: Severity }
  | { rule: "range"; severity: Severity; min?: number | undefined; max?: number | undefined }
  | { rule: "allowed_values"; severity: Severity; values: string[] }
  | { rule: "pattern"; severity: Severity; pattern: string }
  | { rule: "max_len"; severity: Severity; max: number }
  | { rule: "max_items"; severity: Severity; max: number };

/** A field as it appears on the wire. */
export interface FieldModel {
  desc: DescField;
  /** JSON key (the proto name). */
  name: string;
  /** Scalar/enum/message kind of the value, or of each element/map value. */
  value: WireKind;
  cardinality: "single" | "list" | "map";
  /** The oneof this field belongs to, if any (synthetic oneofs of `optional` excluded). */
  oneof?: DescOneof | undefined;
  /** Checks in the order they are evaluated. */
  checks: Check[];
  /** Filled by the server when absent in a request; required in a Kafka message. */
  serverFilled: boolean;
  /** Whether the wire value is absent when it equals the zero value (no explicit presence). */
  implicitPresence: boolean;
  rules?: FieldRules | undefined;
}

/** A message as it appears on the wire. */
export interface MessageModel {
  desc: DescMessage;
  fields: FieldModel[];
  /** Real oneofs, each at most one member set. */
  oneofs: DescOneof[];
  /** Severity of this message's own rules. */
  severity: Severity;
  scenario?: ScenarioModel | undefined;
  kafka?: KafkaRouting | undefined;
}

/** A scenario: one member of ScenarioSpecificData's oneof. */
export interface ScenarioModel {
  /** Scenario type and template id, e.g. "video". */
  type: string;
  displayName: string;
  description: string;
  /** Member of the scenario oneof, e.g. "video_data". */
  dataField: string;
  /** Recommended actions as proto names. */
  recommendedActions: string[];
  /** The scenario's message; undefined for free-form (google.protobuf.Struct) scenarios. */
  message?: DescMessage;
}

const structTypeName = "google.protobuf.Struct";

/** Name of an enum value on the wire: the wire_name option, else the proto name minus the enum prefix, lowercased. */
export function enumWireName(desc: DescEnum, protoName: string): string {
  const value = desc.values.find((v) => v.name === protoName);
  if (value && hasOption(value, wireNameExt)) return getOption(value, wireNameExt);
  const prefix = `${desc.name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}_`;
  return (protoName.startsWith(prefix) ? protoName.slice(prefix.length) : protoName).toLowerCase();
}

/** The enum's non-zero values with their wire names. */
export function enumModel(desc: DescEnum): EnumModel {
  return {
    desc,
    values: desc.values
      .filter((v) => v.number !== 0)
      .map((v) => ({ protoName: v.name, wireName: enumWireName(desc, v.name), number: v.number })),
  };
}

function integerBounds(t: ScalarType): { min: number; max: number; int64: boolean } | undefined {
  switch (t) {
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { min: -2147483648, max: 2147483647, int64: false };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { min: 0, max: 4294967295, int64: false };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { min: -MAX_SAFE_INT, max: MAX_SAFE_INT, int64: true };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { min: 0, max: MAX_SAFE_INT, int64: true };
    default:
      return undefined;
  }
}

function scalarKind(t: ScalarType): WireKind {
  if (t === ScalarType.STRING) return { kind: "string" };
  if (t === ScalarType.BOOL) return { kind: "bool" };
  if (t === ScalarType.DOUBLE || t === ScalarType.FLOAT) return { kind: "number" };
  const bounds = integerBounds(t);
  if (bounds) return { kind: "integer", ...bounds };
  throw new Error(`unsupported scalar type ${ScalarType[t]} on the wire`);
}

function messageKind(desc: DescMessage): WireKind {
  return desc.typeName === structTypeName ? { kind: "struct" } : { kind: "message", message: desc };
}

function wireKindOf(field: DescField): { value: WireKind; cardinality: FieldModel["cardinality"] } {
  switch (field.fieldKind) {
    case "scalar":
      return { value: scalarKind(field.scalar), cardinality: "single" };
    case "enum":
      return { value: { kind: "enum", enum: enumModel(field.enum) }, cardinality: "single" };
    case "message":
      return { value: messageKind(field.message), cardinality: "single" };
    case "list":
      switch (field.listKind) {
        case "scalar":
          return { value: scalarKind(field.scalar), cardinality: "list" };
        case "enum":
          return { value: { kind: "enum", enum: enumModel(field.enum) }, cardinality: "list" };
        case "message":
          return { value: messageKind(field.message), cardinality: "list" };
      }
      break;
    case "map":
      if (field.mapKey !== ScalarType.STRING)
        throw new Error(`${field.toString()}: only string map keys are supported`);
      switch (field.mapKind) {
        case "scalar":
          return { value: scalarKind(field.scalar), cardinality: "map" };
        case "enum":
          return { value: { kind: "enum", enum: enumModel(field.enum) }, cardinality: "map" };
        case "message":
          return { value: messageKind(field.message), cardinality: "map" };
      }
  }
  throw new Error("unsupported field kind");
}

/** Our FieldRules option of a field, if set. */
export function fieldRules(field: DescField): FieldRules | undefined {
  return hasOption(field, fieldExt) ? getOption(field, fieldExt) : undefined;
}

function checksOf(rules: FieldRules | undefined, severity: Severity): Check[] {
  if (!rules) return [];
  const checks: Check[] = [];
  // "required" is always an error in base messages; in a scenario message it is the
  // template's business (core fields), so the option's `required` means the same there.
  if (rules.required) checks.push({ rule: "required", severity });
  if (rules.min !== undefined || rules.max !== undefined) {
    checks.push({ rule: "range", severity, min: rules.min, max: rules.max });
  }
  if (rules.allowedValues.length > 0)
    checks.push({ rule: "allowed_values", severity, values: [...rules.allowedValues] });
  if (rules.pattern !== "") checks.push({ rule: "pattern", severity, pattern: rules.pattern });
  if (rules.maxLen !== undefined) checks.push({ rule: "max_len", severity, max: rules.maxLen });
  if (rules.maxItems !== undefined) checks.push({ rule: "max_items", severity, max: rules.maxItems });
  return checks;
}

/** The scenario a message describes, if it carries the scenario option. */
export function scenarioInfo(desc: DescMessage) {
  return hasOption(desc, scenarioExt) ? getOption(desc, scenarioExt) : undefined;
}

/** Kafka routing of a message, if it carries the kafka option. */
export function kafkaRouting(desc: DescMessage): KafkaRouting | undefined {
  return hasOption(desc, kafkaExt) ? getOption(desc, kafkaExt) : undefined;
}

/** What an RPC does, from the ingest option. */
export function ingestKind(method: DescMethod): IngestKind {
  return hasOption(method, ingestExt) ? getOption(method, ingestExt) : IngestKind.UNSPECIFIED;
}

// The type is the handlers runtime's (emitted verbatim into gen/, where the server reads it).
export type { MethodAccess };

/**
 * The access option of an RPC. Not set means admin: a new RPC stays locked until its proto
 * says otherwise. The one reading of the option: the handlers plugin emits it for the server
 * and the OpenAPI plugin documents it.
 */
export function methodAccess(method: DescMethod): MethodAccess {
  const a = hasOption(method, accessExt) ? getOption(method, accessExt) : Access.UNSPECIFIED;
  switch (a) {
    case Access.PUBLIC:
      return "public";
    case Access.TENANT:
      return "tenant";
    default:
      return "admin";
  }
}

/** Builds the wire model of a message; scenario messages get warning severity. */
export function messageModel(desc: DescMessage): MessageModel {
  const info = scenarioInfo(desc);
  const severity: Severity = info ? "warning" : "error";
  const fields = desc.fields.map((field): FieldModel => {
    const rules = fieldRules(field);
    const { value, cardinality } = wireKindOf(field);
    return {
      desc: field,
      name: field.name,
      value,
      cardinality,
      oneof: field.oneof,
      checks: checksOf(rules, severity),
      serverFilled: rules?.serverFilled ?? false,
      implicitPresence:
        cardinality === "single" &&
        field.fieldKind !== "message" &&
        !field.oneof &&
        field.presence === 2 /* IMPLICIT */,
      rules,
    };
  });
  return {
    desc,
    fields,
    oneofs: desc.oneofs.filter((o) => o.kind === "oneof"),
    severity,
    scenario: info ? scenarioModelFromMessage(desc) : undefined,
    kafka: kafkaRouting(desc),
  };
}

function scenarioModelFromMessage(desc: DescMessage): ScenarioModel | undefined {
  const info = scenarioInfo(desc);
  if (!info) return undefined;
  return {
    type: info.type,
    displayName: info.displayName,
    description: info.description,
    dataField: `${info.type}_data`,
    recommendedActions: [...info.recommendedActions],
    message: desc,
  };
}

/**
 * The scenarios of a file: members of every oneof whose members are scenario messages
 * (or a free-form google.protobuf.Struct named `<type>_data`). Member names must be
 * `<type>_data`, which keeps template ids, JSON keys and configs in step.
 */
export function scenarios(file: DescFile): ScenarioModel[] {
  const out: ScenarioModel[] = [];
  for (const message of file.messages) {
    for (const oneof of message.oneofs) {
      if (oneof.kind !== "oneof") continue;
      const hasScenario = oneof.fields.some((f) => f.fieldKind === "message" && scenarioInfo(f.message));
      if (!hasScenario) continue;
      for (const member of oneof.fields) {
        if (member.fieldKind !== "message") continue;
        const model = scenarioModelFromMessage(member.message);
        if (model) {
          if (model.dataField !== member.name) {
            throw new Error(
              `${member.toString()}: scenario "${model.type}" must be carried by a member named ${model.dataField}`,
            );
          }
          out.push(model);
        } else if (member.message.typeName === structTypeName && member.name.endsWith("_data")) {
          const type = member.name.slice(0, -"_data".length);
          out.push({
            type,
            displayName: type,
            description: "",
            dataField: member.name,
            recommendedActions: [],
          });
        }
      }
    }
  }
  return out;
}
