/**
 * protoc-gen-tracking-templates: the scenario templates (the seed's 支持的场景类型) generated
 * from the scenario messages of the protos, so templates, validators and docs share one
 * source. Outputs, relative to the plugin's out dir:
 *
 * - scenario_templates.json: an array of ScenarioTemplate (tracking_config.proto) in the
 *   snake_case wire form, what `GET /api/v1/tracking-configs/templates` returns under
 *   `templates`;
 * - scenario_templates.ts: the same data as a typed constant `scenarioTemplates` plus
 *   `templateById(id)`.
 *
 * A template's required_fields are the scenario message's `core` fields, optional_fields
 * the rest, both in declaration order. A free-form (google.protobuf.Struct) scenario gets a
 * template without fields.
 */
import type { DescEnum, DescField, DescFile } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type GeneratedFile, type Schema } from "@bufbuild/protoplugin";
import { leadingComment } from "../common/comments.js";
import {
  enumWireName,
  type FieldModel,
  fieldRules,
  messageModel,
  type ScenarioModel,
  scenarios,
} from "../common/model.js";
import { withDefaultTarget } from "../common/plugin-target.js";
import { pluginVersion } from "../common/plugin-version.js";

const pluginName = "protoc-gen-tracking-templates";

/** FieldSpec of tracking_config.proto in wire form. Unset bounds are null. */
export interface FieldSpecJson {
  field_name: string;
  field_type: FieldTypeName;
  required: boolean;
  description: string;
  min_value: number | null;
  max_value: number | null;
  allowed_values: string[];
  unit: string;
}

/** ScenarioTemplate of tracking_config.proto in wire form. */
export interface ScenarioTemplateJson {
  template_id: string;
  scenario_type: string;
  name: string;
  description: string;
  data_field: string;
  required_fields: FieldSpecJson[];
  optional_fields: FieldSpecJson[];
  recommended_actions: string[];
}

/** JSON types a template field can have: the wire names of tracking_config.proto's FieldType. */
export type FieldTypeName = "integer" | "number" | "string" | "boolean" | "array" | "object";

/** JSON type of a field on the wire, as a FieldType wire name. */
export function fieldTypeOf(field: FieldModel): FieldTypeName {
  if (field.cardinality === "list") return "array";
  if (field.cardinality === "map") return "object";
  switch (field.value.kind) {
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "string":
    case "enum":
      return "string";
    case "bool":
      return "boolean";
    case "message":
    case "struct":
      return "object";
  }
}

function fieldSpec(field: FieldModel): FieldSpecJson {
  const rules = field.rules ?? fieldRules(field.desc);
  const allowed = rules?.allowedValues.length
    ? [...rules.allowedValues]
    : field.value.kind === "enum"
      ? field.value.enum.values.map((v) => v.wireName)
      : [];
  return {
    field_name: field.name,
    field_type: fieldTypeOf(field),
    required: rules?.core ?? false,
    description: leadingComment(field.desc),
    min_value: rules?.min ?? null,
    max_value: rules?.max ?? null,
    allowed_values: allowed,
    unit: rules?.unit ?? "",
  };
}

/** All enums of the request (nested ones included). */
function allEnums(schema: Schema): DescEnum[] {
  const out: DescEnum[] = [];
  for (const file of schema.allFiles) {
    for (const t of schema.typesInFile(file)) if (t.kind === "enum") out.push(t);
  }
  return out;
}

/** Wire name of an enum value given by its proto name (unique within a package); same package preferred. */
function actionWireName(enums: DescEnum[], protoName: string, pkg: string, where: string): string {
  const matches = enums.filter((e) => e.values.some((v) => v.name === protoName));
  const match = matches.find((e) => e.file.proto.package === pkg) ?? matches[0];
  if (!match) throw new Error(`${where}: recommended action ${protoName} is not a value of any enum`);
  return enumWireName(match, protoName);
}

/** The oneof member that carries a scenario, for the comment of free-form scenarios. */
function dataMember(file: DescFile, dataField: string): DescField | undefined {
  for (const message of file.messages) {
    for (const oneof of message.oneofs) {
      const member = oneof.fields.find((f) => f.name === dataField);
      if (member) return member;
    }
  }
  return undefined;
}

function templateOf(scenario: ScenarioModel, file: DescFile, enums: DescEnum[]): ScenarioTemplateJson {
  const fields = scenario.message ? messageModel(scenario.message).fields : [];
  const where = scenario.message?.toString() ?? `${file.name}: ${scenario.dataField}`;
  const member = scenario.message ? undefined : dataMember(file, scenario.dataField);
  const description =
    scenario.description ||
    (scenario.message ? leadingComment(scenario.message) : member ? leadingComment(member) : "");
  return {
    template_id: scenario.type,
    scenario_type: scenario.type,
    name: scenario.displayName,
    description,
    data_field: scenario.dataField,
    required_fields: fields.filter((f) => f.rules?.core).map(fieldSpec),
    optional_fields: fields.filter((f) => !f.rules?.core).map(fieldSpec),
    recommended_actions: scenario.recommendedActions.map((a) => actionWireName(enums, a, file.proto.package, where)),
  };
}

/** The templates of every file to generate, in declaration order; template ids are unique. */
export function buildTemplates(schema: Schema): ScenarioTemplateJson[] {
  const enums = allEnums(schema);
  const out: ScenarioTemplateJson[] = [];
  const seen = new Set<string>();
  for (const file of schema.files) {
    for (const scenario of scenarios(file)) {
      if (seen.has(scenario.type)) throw new Error(`${file.name}: duplicate scenario type "${scenario.type}"`);
      seen.add(scenario.type);
      out.push(templateOf(scenario, file, enums));
    }
  }
  return out;
}

/** Wire names of the enum the recommended actions come from, for the generated TS type. */
function actionNames(schema: Schema, templates: ScenarioTemplateJson[]): string[] {
  const used = new Set(templates.flatMap((t) => t.recommended_actions));
  for (const e of allEnums(schema)) {
    const names = e.values.filter((v) => v.number !== 0).map((v) => enumWireName(e, v.name));
    if (used.size > 0 && [...used].every((n) => names.includes(n))) return names;
  }
  return [...used];
}

const fieldTypeNames: readonly FieldTypeName[] = ["integer", "number", "string", "boolean", "array", "object"];

/**
 * Wire names of tracking_config.proto's FieldType when the request has it (the generated
 * type follows the proto), else the names this plugin produces. Checks every template
 * field against them.
 */
function fieldTypes(schema: Schema, templates: ScenarioTemplateJson[]): string[] {
  const fieldType = allEnums(schema).find(
    (e) => e.name === "FieldType" && e.values.some((v) => v.name === "FIELD_TYPE_INTEGER"),
  );
  if (!fieldType) return [...fieldTypeNames];
  const names = fieldType.values.filter((v) => v.number !== 0).map((v) => enumWireName(fieldType, v.name));
  for (const t of templates) {
    for (const f of [...t.required_fields, ...t.optional_fields]) {
      if (!names.includes(f.field_type))
        throw new Error(
          `template ${t.template_id}: field_type "${f.field_type}" is not a ${fieldType.typeName} wire name`,
        );
    }
  }
  return names;
}

const lit = (s: string) => JSON.stringify(s);
const union = (names: string[]) => (names.length ? names.map(lit).join(" | ") : "never");

/** The typed TS module of the templates (`scenario_templates.ts`), printed into `f`. */
function printTs(
  f: GeneratedFile,
  schema: Schema,
  templates: ScenarioTemplateJson[],
  sources: string[],
  types: string[],
): void {
  const ids = templates.map((t) => t.template_id);
  const actions = actionNames(schema, templates);
  f.print(`// @generated by ${pluginName} ${pluginVersion} from ${sources.join(", ")}. DO NOT EDIT.`);
  f.print("// Scenario templates, derived from the scenario messages and their options.");
  f.print();
  f.print(f.jsDoc("JSON type of a template field (tracking_config.proto FieldType, wire names)."));
  f.print(f.export("type", "FieldType"), " = ", union(types), ";");
  f.print();
  f.print(f.jsDoc("Id of a generated template (equal to its scenario type)."));
  f.print(f.export("type", "TemplateId"), " = ", union(ids), ";");
  f.print();
  f.print(f.jsDoc("Action wire names."));
  f.print(f.export("type", "ActionName"), " = ", union(actions), ";");
  f.print();
  f.print(f.jsDoc("One field of a template (tracking_config.proto FieldSpec, wire form; unset bounds are null)."));
  f.print(f.export("interface", "FieldSpec"), " {");
  for (const [name, type] of [
    ["field_name", "string"],
    ["field_type", "FieldType"],
    ["required", "boolean"],
    ["description", "string"],
    ["min_value", "number | null"],
    ["max_value", "number | null"],
    ["allowed_values", "readonly string[]"],
    ["unit", "string"],
  ] as const) {
    f.print("  readonly ", name, ": ", type, ";");
  }
  f.print("}");
  f.print();
  f.print(f.jsDoc("A scenario template (tracking_config.proto ScenarioTemplate, wire form)."));
  f.print(f.export("interface", "ScenarioTemplate"), " {");
  for (const [name, type] of [
    ["template_id", "TemplateId"],
    ["scenario_type", "TemplateId"],
    ["name", "string"],
    ["description", "string"],
    ["data_field", "string"],
    ["required_fields", "readonly FieldSpec[]"],
    ["optional_fields", "readonly FieldSpec[]"],
    ["recommended_actions", "readonly ActionName[]"],
  ] as const) {
    f.print("  readonly ", name, ": ", type, ";");
  }
  f.print("}");
  f.print();
  f.print(
    f.jsDoc(
      'All templates, in declaration order: the body of GET /api/v1/tracking-configs/templates is `{"templates": scenarioTemplates}`.',
    ),
  );
  f.print(
    f.export("const", "scenarioTemplates"),
    ": readonly ScenarioTemplate[] = ",
    JSON.stringify(templates, null, 2),
    ";",
  );
  f.print();
  f.print(
    "const byId: ReadonlyMap<string, ScenarioTemplate> = new Map(scenarioTemplates.map((t) => [t.template_id, t]));",
  );
  f.print();
  f.print(f.jsDoc("Whether `id` is the id of a generated template."));
  f.print(f.export("function", "isTemplateId"), "(id: string): id is TemplateId {");
  f.print("  return byId.has(id);");
  f.print("}");
  f.print();
  f.print(f.jsDoc("The template with this id, or undefined."));
  f.print(f.export("function", "templateById"), "(id: TemplateId): ScenarioTemplate;");
  f.print(f.export("function", "templateById"), "(id: string): ScenarioTemplate | undefined;");
  f.print(f.export("function", "templateById"), "(id: string): ScenarioTemplate | undefined {");
  f.print("  return byId.get(id);");
  f.print("}");
}

function generateTs(schema: Schema): void {
  const templates = buildTemplates(schema);
  const types = fieldTypes(schema, templates);
  const sources = schema.files.filter((f) => scenarios(f).length > 0).map((f) => `${f.name}.proto`);
  schema.generateFile("scenario_templates.json").print(JSON.stringify(templates, null, 2));
  printTs(schema.generateFile("scenario_templates.ts"), schema, templates, sources, types);
}

export const plugin = withDefaultTarget(
  createEcmaScriptPlugin({
    name: pluginName,
    version: pluginVersion,
    generateTs,
  }),
);
