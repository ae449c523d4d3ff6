/**
 * JSON Schemas (draft 2020-12) of the wire format, built from the shared model
 * (model.ts), so the JSON Schema plugin and the compiled validator read the same rules.
 *
 * One builder, four variants:
 * - request: what the API accepts, errors only (server-filled fields optional, enum wire
 *   and proto names, unknown keys allowed);
 * - strict: request plus every warning rule (scenario rules, closed objects, recommended
 *   actions), i.e. "no violation of any severity";
 * - kafka: the published Kafka message, errors only (server-filled fields required, enum
 *   wire names only);
 * - types: the canonical wire shape, for json-schema-to-typescript (no nulls, closed, no
 *   value checks, wire enum names, titles `<Name>Wire`).
 */
import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { leadingComment } from "./comments.js";
import {
  type Check,
  enumModel,
  type FieldModel,
  type MessageModel,
  messageModel,
  scenarioInfo,
  type WireKind,
} from "./model.js";
import { localName } from "./names.js";

export type SchemaVariant = "request" | "strict" | "kafka" | "types";

export const JSON_SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema";

/** What a variant includes. */
export interface VariantRules {
  /** Accept proto enum names besides wire names. */
  protoEnumNames: boolean;
  /** Server-filled fields are required. */
  serverFilledRequired: boolean;
  /** Unset values may be null. */
  nullable: boolean;
  /** additionalProperties: false on message objects. */
  closed: boolean;
  /** Warning-severity checks and the recommended-action rule. */
  warnings: boolean;
  /** Value checks at all (off for the types variant). */
  checks: boolean;
  /** Without checks: still list fields with an error-severity `required` rule as required (types variant). */
  typesRequired?: boolean;
}

export const variantRules: Record<SchemaVariant, VariantRules> = {
  request: {
    protoEnumNames: true,
    serverFilledRequired: false,
    nullable: true,
    closed: false,
    warnings: false,
    checks: true,
  },
  strict: {
    protoEnumNames: true,
    serverFilledRequired: false,
    nullable: true,
    closed: true,
    warnings: true,
    checks: true,
  },
  kafka: {
    protoEnumNames: false,
    serverFilledRequired: true,
    nullable: true,
    closed: false,
    warnings: false,
    checks: true,
  },
  types: {
    protoEnumNames: false,
    serverFilledRequired: false,
    nullable: false,
    closed: true,
    warnings: false,
    checks: false,
    typesRequired: true,
  },
};

export type JsonSchema = { [key: string]: unknown };

/** Checks of a field that a variant (or the validator in a mode) enforces. */
export function activeChecks(field: FieldModel, rules: VariantRules): Check[] {
  if (!rules.checks) return [];
  return field.checks.filter((c) => c.rule !== "required" && (c.severity === "error" || rules.warnings));
}

/** Whether a field must be present (not absent, not null, non-empty string) in a variant. */
export function isRequired(field: FieldModel, rules: VariantRules): boolean {
  if (!rules.checks)
    return rules.typesRequired === true && field.checks.some((c) => c.rule === "required" && c.severity === "error");
  if (field.serverFilled && rules.serverFilledRequired) return true;
  const req = field.checks.find((c) => c.rule === "required");
  return req !== undefined && (req.severity === "error" || rules.warnings);
}

/** A message field whose message holds a scenario oneof, with the enum field of the same message whose values the scenarios recommend. */
export interface RecommendedActionRule {
  /** e.g. scenario_data */
  scenarioField: FieldModel;
  /** e.g. action_type */
  actionField: FieldModel;
  /** Each scenario member with recommended actions, as proto names. */
  members: { member: DescField; actions: string[] }[];
}

/** The recommended-action rule of a message, if it has one (BehaviorEvent). */
export function recommendedActionRule(model: MessageModel): RecommendedActionRule | undefined {
  for (const sf of model.fields) {
    if (sf.cardinality !== "single" || sf.value.kind !== "message") continue;
    const members: { member: DescField; actions: string[] }[] = [];
    for (const oneof of sf.value.message.oneofs) {
      if (oneof.kind !== "oneof") continue;
      for (const member of oneof.fields) {
        if (member.fieldKind !== "message") continue;
        const info = scenarioInfo(member.message);
        if (info && info.recommendedActions.length > 0) members.push({ member, actions: [...info.recommendedActions] });
      }
    }
    if (members.length === 0) continue;
    const wanted = new Set(members.flatMap((m) => m.actions));
    const actionField = model.fields.find(
      (f) =>
        f.cardinality === "single" &&
        f.value.kind === "enum" &&
        [...wanted].every((a) => f.value.kind === "enum" && f.value.enum.values.some((v) => v.protoName === a)),
    );
    if (!actionField)
      throw new Error(`${model.desc.typeName}: no enum field carries the recommended actions of ${sf.name}`);
    return { scenarioField: sf, actionField, members };
  }
  return undefined;
}

/** Names an enum value may take in a variant. */
export function enumNames(desc: DescEnum, protoEnumNames: boolean): string[] {
  const m = enumModel(desc);
  return protoEnumNames
    ? [...m.values.map((v) => v.wireName), ...m.values.map((v) => v.protoName)]
    : m.values.map((v) => v.wireName);
}

/** Wire names and (when asked) proto names of the given proto names of an enum. */
function enumNamesOf(desc: DescEnum, protoNames: string[], protoEnumNames: boolean): string[] {
  const m = enumModel(desc);
  const vals = m.values.filter((v) => protoNames.includes(v.protoName));
  return protoEnumNames
    ? [...vals.map((v) => v.wireName), ...vals.map((v) => v.protoName)]
    : vals.map((v) => v.wireName);
}

function defName(desc: DescMessage | DescEnum): string {
  return desc.typeName;
}

function withDoc(schema: JsonSchema, description: string): JsonSchema {
  return description ? { ...schema, description } : schema;
}

/** A check as prose, for rules a variant describes but does not enforce. */
function checkText(c: Check): string {
  switch (c.rule) {
    case "required":
      return "should be set";
    case "range":
      return c.min !== undefined && c.max !== undefined
        ? `${c.min} ≤ value ≤ ${c.max}`
        : c.min !== undefined
          ? `value ≥ ${c.min}`
          : `value ≤ ${c.max}`;
    case "allowed_values":
      return `one of ${c.values.map((v) => `\`${v}\``).join(", ")}`;
    case "pattern":
      return `matches \`${c.pattern}\``;
    case "max_len":
      return `at most ${c.max} characters`;
    case "max_items":
      return `at most ${c.max} items`;
  }
}

/**
 * A field's description: its comment, its unit, whether the server fills it, and the warning
 * rules a variant leaves unenforced (so docs built on the request schema still show them).
 */
function fieldDescription(f: FieldModel, rules: VariantRules): string {
  const comment = leadingComment(f.desc);
  const parts = [comment];
  if (f.rules?.unit) parts.push(`Unit: ${f.rules.unit}.`);
  if (f.serverFilled && !/filled by the server/i.test(comment)) parts.push("Filled by the server when absent.");
  if (rules.checks && !rules.warnings) {
    // Value rules of a list or map apply to each element.
    const each = (c: Check) =>
      f.cardinality !== "single" && c.rule !== "required" && c.rule !== "max_items"
        ? `each ${checkText(c)}`
        : checkText(c);
    const advisory = f.checks.filter((c) => c.severity === "warning").map(each);
    if (advisory.length > 0)
      parts.push(`Checked with a warning only (the value is still accepted): ${advisory.join("; ")}.`);
  }
  return parts.filter((s) => s !== "").join("\n\n");
}

/** An enum's description: its comment and each wire name with its value's comment. */
function enumDescription(desc: DescEnum, protoEnumNames: boolean): string {
  const values = enumModel(desc).values;
  const list = values.map((v) => {
    const value = desc.values.find((x) => x.name === v.protoName);
    const comment = value ? leadingComment(value).replace(/\n/g, " ") : "";
    return `- \`${v.wireName}\`${comment ? `: ${comment}` : ""}`;
  });
  const first = values[0];
  const note = protoEnumNames && first ? `The proto names (e.g. \`${first.protoName}\`) are accepted too.` : "";
  return [leadingComment(desc), list.join("\n"), note].filter((s) => s !== "").join("\n\n");
}

/** A message's description: its comment and its oneofs. */
function messageDescription(model: MessageModel): string {
  const oneofs = model.oneofs.map((o) => `At most one of: ${o.fields.map((f) => `\`${f.name}\``).join(", ")}.`);
  return [leadingComment(model.desc), ...oneofs].filter((s) => s !== "").join("\n\n");
}

/** Builds self-contained schemas: one root message and every message/enum it reaches, under $defs. */
class Builder {
  readonly defs = new Map<string, JsonSchema>();
  constructor(
    readonly variant: SchemaVariant,
    readonly rules: VariantRules,
  ) {}

  title(desc: DescMessage | DescEnum): string {
    return this.variant === "types" ? `${localName(desc)}Wire` : desc.typeName;
  }

  ref(desc: DescMessage | DescEnum): JsonSchema {
    const name = defName(desc);
    if (!this.defs.has(name)) {
      this.defs.set(name, {}); // placeholder for recursion
      this.defs.set(name, desc.kind === "message" ? this.message(desc) : this.enumSchema(desc));
    }
    return { $ref: `#/$defs/${name}` };
  }

  enumSchema(desc: DescEnum): JsonSchema {
    return withDoc(
      { title: this.title(desc), type: "string", enum: enumNames(desc, this.rules.protoEnumNames) },
      enumDescription(desc, this.rules.protoEnumNames),
    );
  }

  message(desc: DescMessage): JsonSchema {
    if (desc.typeName === "google.protobuf.Struct") return { type: "object" };
    const model = messageModel(desc);
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    const allOf: JsonSchema[] = [];
    const fields = [...model.fields].sort((a, b) => a.desc.number - b.desc.number);
    for (const f of fields) {
      const req = isRequired(f, this.rules);
      if (req) required.push(f.name);
      const fs = this.field(f, req);
      // A description beside a bare $ref makes json-schema-to-typescript emit a copy of the type.
      properties[f.name] =
        this.variant === "types" && fs.$ref !== undefined ? fs : withDoc(fs, fieldDescription(f, this.rules));
    }
    if (this.rules.checks) {
      for (const oneof of model.oneofs) {
        const names = oneof.fields.map((m) => m.name);
        for (const name of names) {
          const others = names.filter((n) => n !== name);
          allOf.push({
            if: { required: [name], properties: { [name]: { not: { type: "null" } } } },
            // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword in a plain schema object, never awaited
            then: { properties: Object.fromEntries(others.map((n) => [n, { type: "null" }])) },
          });
        }
      }
      const rec = this.rules.warnings ? recommendedActionRule(model) : undefined;
      if (rec && rec.actionField.value.kind === "enum") {
        for (const { member, actions } of rec.members) {
          allOf.push({
            if: {
              required: [rec.scenarioField.name],
              properties: {
                [rec.scenarioField.name]: {
                  type: "object",
                  required: [member.name],
                  properties: { [member.name]: { not: { type: "null" } } },
                },
              },
            },
            // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword in a plain schema object, never awaited
            then: {
              properties: {
                [rec.actionField.name]: {
                  enum: enumNamesOf(rec.actionField.value.enum.desc, actions, this.rules.protoEnumNames),
                },
              },
            },
          });
        }
      }
    }
    const schema: JsonSchema = { title: this.title(desc) };
    const doc = messageDescription(model);
    if (doc) schema.description = doc;
    schema.type = "object";
    schema.properties = properties;
    if (required.length > 0) schema.required = required;
    if (this.rules.closed) schema.additionalProperties = false;
    if (allOf.length > 0) schema.allOf = allOf;
    return schema;
  }

  field(f: FieldModel, required: boolean): JsonSchema {
    const checks = activeChecks(f, this.rules);
    const value = this.value(f.value, checks, required && f.cardinality === "single");
    let schema: JsonSchema;
    if (f.cardinality === "list") {
      schema = { type: "array", items: value };
      const mi = checks.find((c) => c.rule === "max_items");
      if (mi && mi.rule === "max_items") schema.maxItems = mi.max;
    } else if (f.cardinality === "map") {
      schema = { type: "object", additionalProperties: value };
      const mi = checks.find((c) => c.rule === "max_items");
      if (mi && mi.rule === "max_items") schema.maxProperties = mi.max;
    } else {
      schema = value;
    }
    if (!required && this.rules.nullable) schema = nullable(schema);
    return schema;
  }

  value(kind: WireKind, checks: Check[], nonEmpty: boolean): JsonSchema {
    switch (kind.kind) {
      case "string": {
        const s: JsonSchema = { type: "string" };
        if (nonEmpty) s.minLength = 1;
        for (const c of checks) {
          if (c.rule === "max_len") s.maxLength = c.max;
          else if (c.rule === "pattern") s.pattern = c.pattern;
          else if (c.rule === "allowed_values") s.enum = c.values;
        }
        return s;
      }
      case "bool":
        return { type: "boolean" };
      case "integer":
      case "number": {
        const s: JsonSchema = { type: kind.kind };
        let min = kind.kind === "integer" ? kind.min : undefined;
        let max = kind.kind === "integer" ? kind.max : undefined;
        for (const c of checks) {
          if (c.rule !== "range") continue;
          if (c.min !== undefined) min = min === undefined ? c.min : Math.max(min, c.min);
          if (c.max !== undefined) max = max === undefined ? c.max : Math.min(max, c.max);
        }
        if (min !== undefined) s.minimum = min;
        if (max !== undefined) s.maximum = max;
        return s;
      }
      case "enum":
        return this.ref(kind.enum.desc);
      case "message":
        return this.ref(kind.message);
      case "struct":
        return this.variant === "types" ? { type: "object", additionalProperties: true } : { type: "object" };
    }
  }
}

function nullable(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === "string" && schema.enum === undefined && schema.$ref === undefined) {
    return { ...schema, type: [schema.type, "null"] };
  }
  return { anyOf: [schema, { type: "null" }] };
}

/** The file name of a message's schema in a variant. */
export function schemaFileName(desc: DescMessage, variant: Exclude<SchemaVariant, "types">): string {
  const suffix = variant === "request" ? "schema.json" : `${variant}.schema.json`;
  return `${desc.typeName}.${suffix}`;
}

/** A self-contained schema of one message: nested messages and enums under $defs. */
export function messageSchema(desc: DescMessage, variant: SchemaVariant): JsonSchema {
  const b = new Builder(variant, variantRules[variant]);
  const root = b.message(desc);
  const out: JsonSchema = { $schema: JSON_SCHEMA_DRAFT };
  if (variant !== "types") out.$id = schemaFileName(desc, variant);
  Object.assign(out, root);
  if (variant === "kafka") {
    const k = messageModel(desc).kafka;
    if (k) {
      out["x-kafka-topic-template"] = k.topicTemplate;
      out["x-kafka-key-field"] = k.keyField;
      out["x-kafka-schema-version"] = k.schemaVersion;
    }
  }
  b.defs.delete(desc.typeName);
  if (b.defs.size > 0) out.$defs = Object.fromEntries([...b.defs].sort(([a], [b]) => a.localeCompare(b)));
  return out;
}

/**
 * One schema holding the canonical wire types of several messages and enums (for
 * json-schema-to-typescript): the root lists them all, $defs hold them.
 */
export function wireTypesSchema(title: string, roots: (DescMessage | DescEnum)[]): JsonSchema {
  const defs = schemaDefs(roots, "types");
  return {
    $schema: JSON_SCHEMA_DRAFT,
    title,
    anyOf: roots.map((r) => ({ $ref: `#/$defs/${defName(r)}` })),
    $defs: Object.fromEntries(defs),
  };
}

/**
 * The schemas of several messages and enums in a variant, and of every message and enum they
 * reach, by full name and sorted by it; they refer to each other as `#/$defs/<full name>`.
 * Each is the same object messageSchema puts under $defs (or at its root, without $schema/$id).
 */
export function schemaDefs(roots: (DescMessage | DescEnum)[], variant: SchemaVariant): Map<string, JsonSchema> {
  const b = new Builder(variant, variantRules[variant]);
  for (const r of roots) b.ref(r);
  return new Map([...b.defs].sort(([x], [y]) => x.localeCompare(y)));
}

/** The TS name json-schema-to-typescript gives a message's or enum's wire type. */
export function wireTypeName(desc: DescMessage | DescEnum): string {
  return `${localName(desc)}Wire`;
}
