/**
 * Builds an OpenAPI 3.1 document from the google.api.http annotations of the services in a
 * protoc-plugin request. Schemas are the wire form of codegen/common/model.ts: snake_case
 * proto names, enums as wire names, int64 as JSON integers, constraints from our FieldRules
 * option, descriptions from proto comments.
 */
import type { DescEnum, DescExtension, DescField, DescFile, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { getOption, hasOption } from "@bufbuild/protobuf";
import type { GenExtension } from "@bufbuild/protobuf/codegenv2";
import type { MethodOptions } from "@bufbuild/protobuf/wkt";
import type { Schema } from "@bufbuild/protoplugin";
import type { HttpRule } from "../../gen/es/google/api/http_pb.js";
import { fileComment, firstSentence, leadingComment } from "../common/comments.js";
import { MAX_SAFE_INT, enumModel, messageModel, type FieldModel, type WireKind } from "../common/model.js";
import type { FieldRules } from "../../gen/es/recommender/options/v1/options_pb.js";

/** A JSON Schema 2020-12 / OpenAPI 3.1 schema object (loosely typed). */
export interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  additionalProperties?: SchemaObject | boolean;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  maxItems?: number;
  maxProperties?: number;
  not?: SchemaObject;
  anyOf?: SchemaObject[];
  allOf?: SchemaObject[];
  [key: `x-${string}`]: unknown;
}

export interface ParameterObject {
  name: string;
  in: "path" | "query";
  required: boolean;
  description?: string;
  schema: SchemaObject;
}

export interface OperationObject {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  parameters?: ParameterObject[];
  requestBody?: { required: boolean; description?: string; content: { "application/json": { schema: SchemaObject; example?: unknown } } };
  responses: Record<string, { description: string; content?: { "application/json": { schema: SchemaObject } } }>;
  "x-codeSamples": { lang: string; label: string; source: string }[];
  "x-rpc": string;
}

export type HttpMethod = "get" | "put" | "post" | "delete" | "patch";

export interface OpenApiDocument {
  openapi: "3.1.0";
  jsonSchemaDialect: string;
  info: { title: string; version: string; description?: string };
  tags: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<HttpMethod, OperationObject>>>;
  components: { schemas: Record<string, SchemaObject> };
}

/** Base URL placeholder used in the curl examples. */
export const baseUrlPlaceholder = "$BASE_URL";

const httpMethods: readonly HttpMethod[] = ["get", "put", "post", "delete", "patch"];

/** The google.api.http extension as found in the request's descriptors (no generated code needed at run time). */
function findHttpExtension(schema: Schema): GenExtension<MethodOptions, HttpRule> | undefined {
  for (const file of schema.allFiles) {
    for (const t of schema.typesInFile(file)) {
      if (t.kind === "extension" && t.typeName === "google.api.http") return t as DescExtension as GenExtension<MethodOptions, HttpRule>;
    }
  }
  return undefined;
}

/** One HTTP binding of an RPC. */
export interface Binding {
  method: DescMethod;
  verb: HttpMethod;
  /** OpenAPI path, `{field}` for path params. */
  path: string;
  /** Field paths bound to the path, in order. */
  pathParams: string[];
  body: string;
  responseBody: string;
  /** 0 for the main binding, then 1.. for additional_bindings. */
  index: number;
}

function bindingsOf(method: DescMethod, rule: HttpRule, index: number): Binding[] {
  const where = method.toString();
  let verb: HttpMethod;
  let template: string;
  switch (rule.pattern.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      verb = rule.pattern.case;
      template = rule.pattern.value;
      break;
    case "custom":
      throw new Error(`${where}: custom HTTP verbs are not supported by OpenAPI`);
    default:
      throw new Error(`${where}: google.api.http without a pattern`);
  }
  const pathParams: string[] = [];
  const path = template.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_, name: string) => {
    pathParams.push(name);
    return `{${name}}`;
  });
  const own: Binding = { method, verb, path, pathParams, body: rule.body, responseBody: rule.responseBody, index };
  if (index > 0 && rule.additionalBindings.length > 0) throw new Error(`${where}: nested additional_bindings are not allowed`);
  return [own, ...rule.additionalBindings.flatMap((b, i) => bindingsOf(method, b, i + 1))];
}

/** Every HTTP binding of the services in the files to generate, in declaration order. */
export function httpBindings(schema: Schema): Binding[] {
  const ext = findHttpExtension(schema);
  if (!ext) return [];
  const out: Binding[] = [];
  for (const file of schema.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        if (!hasOption(method, ext)) continue;
        if (method.methodKind !== "unary") throw new Error(`${method.toString()}: only unary RPCs can have HTTP bindings`);
        out.push(...bindingsOf(method, getOption(method, ext), 0));
      }
    }
  }
  return out;
}

function fieldByPath(message: DescMessage, path: string): DescField {
  let m = message;
  const parts = path.split(".");
  for (let i = 0; i < parts.length; i++) {
    const f = m.fields.find((x) => x.name === parts[i]);
    if (!f) throw new Error(`${message.typeName} has no field ${path}`);
    if (i === parts.length - 1) return f;
    if (f.fieldKind !== "message") throw new Error(`${message.typeName}.${path}: ${parts[i]} is not a message`);
    m = f.message;
  }
  throw new Error(`empty field path`);
}

const wktSchemas: Record<string, () => SchemaObject> = {
  "google.protobuf.Struct": () => ({ type: "object" }),
  "google.protobuf.Value": () => ({ description: "Any JSON value." }),
  "google.protobuf.ListValue": () => ({ type: "array", items: {} }),
  "google.protobuf.FieldMask": () => ({ type: "string", description: "Comma-separated field names, e.g. \"description,optional_fields\"." }),
  "google.protobuf.Timestamp": () => ({ type: "string", format: "date-time" }),
  "google.protobuf.Duration": () => ({ type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$" }),
  "google.protobuf.Empty": () => ({ type: "object" }),
};

/** Builds component schemas on demand, naming each message and enum once. */
class SchemaBuilder {
  readonly components: Record<string, SchemaObject> = {};
  private readonly names = new Map<string, string>();
  private readonly pending: (() => void)[] = [];

  constructor(private readonly allTypes: (DescMessage | DescEnum)[]) {}

  /** Component name: the short name, or the full name when short names collide. */
  nameOf(desc: DescMessage | DescEnum, suffix = ""): string {
    const key = desc.typeName + suffix;
    const known = this.names.get(key);
    if (known) return known;
    const clash = this.allTypes.some((t) => t.name === desc.name && t.typeName !== desc.typeName);
    const name = (clash ? desc.typeName : desc.name) + suffix;
    this.names.set(key, name);
    return name;
  }

  /** A $ref to a message's component (or the inline schema of a well-known type). */
  message(desc: DescMessage, partial = false): SchemaObject {
    const wkt = wktSchemas[desc.typeName];
    if (wkt) return wkt();
    const suffix = partial ? "Update" : "";
    const name = this.nameOf(desc, suffix);
    if (!(name in this.components)) {
      this.components[name] = {};
      this.pending.push(() => {
        this.components[name] = this.messageSchema(desc, { partial });
      });
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  enumRef(desc: DescEnum): SchemaObject {
    const name = this.nameOf(desc);
    if (!(name in this.components)) this.components[name] = this.enumSchema(desc);
    return { $ref: `#/components/schemas/${name}` };
  }

  /** Completes every referenced component. */
  finish(): Record<string, SchemaObject> {
    while (this.pending.length > 0) this.pending.shift()!();
    return Object.fromEntries(Object.entries(this.components).sort(([a], [b]) => a.localeCompare(b)));
  }

  private enumSchema(desc: DescEnum): SchemaObject {
    const model = enumModel(desc);
    const lines = model.values.map((v) => {
      const comment = leadingComment(desc.values.find((x) => x.number === v.number)!);
      return `- \`${v.wireName}\`${comment ? `: ${comment.replace(/\n/g, " ")}` : ""}`;
    });
    const description = [leadingComment(desc), lines.join("\n"), `Requests may also use the proto names (e.g. \`${model.values[0]?.protoName ?? ""}\`).`]
      .filter((s) => s !== "")
      .join("\n\n");
    return { type: "string", enum: model.values.map((v) => v.wireName), description };
  }

  /**
   * The object schema of a message. `omit`: fields left out (path params);
   * `partial`: no required fields (update bodies).
   */
  messageSchema(desc: DescMessage, opts: { omit?: string[]; partial?: boolean; description?: string } = {}): SchemaObject {
    const model = messageModel(desc);
    const fields = model.fields.filter((f) => !opts.omit?.includes(f.name));
    const properties: Record<string, SchemaObject> = {};
    const required: string[] = [];
    for (const f of fields) {
      properties[f.name] = this.field(f);
      if (!opts.partial && f.rules?.required && !f.serverFilled) required.push(f.name);
    }
    const out: SchemaObject = { type: "object" };
    const description = opts.description ?? leadingComment(desc);
    const notes: string[] = [];
    if (opts.partial) notes.push("Partial: only the fields present (or named in update_mask) change.");
    const constraints: SchemaObject[] = [];
    for (const oneof of model.oneofs) {
      const members = oneof.fields.map((f) => f.name).filter((n) => n in properties);
      if (members.length < 2) continue;
      notes.push(`At most one of: ${members.map((m) => `\`${m}\``).join(", ")}.`);
      if (members.length === fields.length) {
        out.maxProperties = 1;
      } else {
        const pairs: SchemaObject[] = [];
        for (let i = 0; i < members.length; i++) for (let j = i + 1; j < members.length; j++) pairs.push({ required: [members[i], members[j]] });
        constraints.push({ not: { anyOf: pairs } });
      }
    }
    const text = [description, ...notes].filter((s) => s !== "").join("\n\n");
    if (text) out.description = text;
    out.properties = properties;
    if (required.length > 0) out.required = required;
    if (constraints.length === 1) Object.assign(out, constraints[0]);
    else if (constraints.length > 1) out.allOf = constraints;
    return out;
  }

  /** The schema of one field, with its comment, unit and constraints. */
  field(f: FieldModel): SchemaObject {
    const rules = f.rules;
    let schema: SchemaObject;
    if (f.cardinality === "list") {
      schema = { type: "array", items: this.value(f.value, rules) };
      if (rules?.maxItems !== undefined) schema.maxItems = rules.maxItems;
    } else if (f.cardinality === "map") {
      schema = { type: "object", additionalProperties: this.value(f.value, rules) };
      if (rules?.maxItems !== undefined) schema.maxProperties = rules.maxItems;
    } else {
      schema = this.value(f.value, rules);
    }
    // proto3 `optional` scalars: JSON null means "not set" (e.g. FieldSpec.min_value in templates).
    if (f.cardinality === "single" && f.desc.proto.proto3Optional && typeof schema.type === "string") {
      schema = { ...schema, type: [schema.type, "null"] };
    }
    const comment = leadingComment(f.desc);
    const parts = [comment];
    if (rules?.unit) parts.push(`Unit: ${rules.unit}.`);
    if (f.serverFilled && !/filled by the server/i.test(comment)) parts.push("Filled by the server when absent.");
    if (schema.description) parts.push(schema.description);
    const description = parts.filter((s) => s !== "").join("\n\n");
    // A description next to $ref is fine in OpenAPI 3.1 (JSON Schema 2020-12).
    const { description: _, ...rest } = schema;
    const out: SchemaObject = description ? { description, ...rest } : rest;
    if (rules?.unit) out["x-unit"] = rules.unit;
    return out;
  }

  private value(kind: WireKind, rules: FieldRules | undefined): SchemaObject {
    switch (kind.kind) {
      case "string": {
        const s: SchemaObject = { type: "string" };
        if (rules?.allowedValues.length) s.enum = [...rules.allowedValues];
        if (rules?.pattern) s.pattern = rules.pattern;
        if (rules?.maxLen !== undefined) s.maxLength = rules.maxLen;
        return s;
      }
      case "bool":
        return { type: "boolean" };
      case "integer": {
        const s: SchemaObject = { type: "integer", format: kind.int64 ? (kind.min < 0 ? "int64" : "uint64") : kind.min < 0 ? "int32" : "uint32" };
        const min = rules?.min ?? (kind.int64 || kind.min === 0 ? kind.min : undefined);
        const max = rules?.max ?? (kind.int64 ? MAX_SAFE_INT : undefined);
        if (min !== undefined) s.minimum = min;
        if (max !== undefined) s.maximum = max;
        return s;
      }
      case "number": {
        const s: SchemaObject = { type: "number", format: "double" };
        if (rules?.min !== undefined) s.minimum = rules.min;
        if (rules?.max !== undefined) s.maximum = rules.max;
        return s;
      }
      case "enum":
        return this.enumRef(kind.enum.desc);
      case "message":
        return this.message(kind.message);
      case "struct":
        return wktSchemas["google.protobuf.Struct"]();
    }
  }
}

/** An example value of a message for request bodies: its required fields, or its scalar fields when none is required. */
export function exampleOf(desc: DescMessage, omit: string[] = [], depth = 0): Record<string, unknown> {
  const fields = messageModel(desc).fields.filter((f) => !omit.includes(f.name));
  const required = fields.filter((f) => f.rules?.required && !f.serverFilled);
  const chosen = required.length > 0 ? required : fields.filter((f) => f.cardinality === "single" && f.value.kind !== "message" && f.value.kind !== "struct");
  const out: Record<string, unknown> = {};
  for (const f of chosen) {
    const v = exampleValue(f, depth);
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}

function exampleValue(f: FieldModel, depth: number): unknown {
  if (f.cardinality !== "single") return f.cardinality === "list" ? [] : {};
  const rules = f.rules;
  switch (f.value.kind) {
    case "string": {
      if (rules?.allowedValues.length) return rules.allowedValues[0];
      const eg = /e\.g\.\s*"([^"]+)"/.exec(leadingComment(f.desc));
      return eg ? eg[1] : f.name;
    }
    case "bool":
      return false;
    case "integer":
    case "number":
      return rules?.min ?? 0;
    case "enum":
      return f.value.enum.values[0]?.wireName;
    case "message":
      return depth > 3 || wktSchemas[f.value.message.typeName] ? undefined : exampleOf(f.value.message, [], depth + 1);
    case "struct":
      return {};
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function curlExample(verb: HttpMethod, path: string, query: Record<string, unknown>, body: unknown): string {
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
  const url = `${baseUrlPlaceholder}${path}${qs ? `?${qs}` : ""}`;
  const lines = [`curl${verb === "get" ? "" : ` -X ${verb.toUpperCase()}`} "${url}"`];
  if (body !== undefined) {
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d ${shellQuote(JSON.stringify(body, null, 2))}`);
  }
  return lines.join(" \\\n");
}

function operationOf(b: Binding, builder: SchemaBuilder, service: DescService): OperationObject {
  const { method } = b;
  const input = method.input;
  const where = `${method.toString()} (${b.verb.toUpperCase()} ${b.path})`;
  const comment = leadingComment(method);
  const op: OperationObject = {
    operationId: `${service.name}_${method.name}${b.index > 0 ? `_${b.index}` : ""}`,
    tags: [service.name],
    summary: firstSentence(comment) || method.name,
    responses: {},
    "x-codeSamples": [],
    "x-rpc": `${service.typeName}/${method.name}`,
  };
  if (comment && comment !== op.summary) op.description = comment;

  const pathFields = b.pathParams.map((p) => {
    const f = fieldByPath(input, p);
    if (f.fieldKind !== "scalar" && f.fieldKind !== "enum") throw new Error(`${where}: path parameter ${p} must be a scalar`);
    return f;
  });
  const topPath = b.pathParams.map((p) => p.split(".")[0]);
  const parameters: ParameterObject[] = pathFields.map((f, i) => {
    const schema = builder.field(messageModel(f.parent).fields.find((x) => x.desc === f)!);
    const { description, ...rest } = schema;
    return { name: b.pathParams[i], in: "path" as const, required: true, ...(description ? { description } : {}), schema: rest };
  });

  // Query parameters: fields bound neither to the path nor to the body.
  const queryExample: Record<string, unknown> = {};
  if (b.body !== "*") {
    for (const f of messageModel(input).fields) {
      if (topPath.includes(f.name) || f.name === b.body) continue;
      const isMask = f.value.kind === "message" && f.value.message.typeName === "google.protobuf.FieldMask";
      if (f.cardinality === "map" || ((f.value.kind === "message" || f.value.kind === "struct") && !isMask)) {
        throw new Error(`${where}: field ${f.name} is bound to neither path nor body and cannot be a query parameter`);
      }
      const schema = builder.field(f);
      const { description, ...rest } = schema;
      parameters.push({ name: f.name, in: "query", required: false, ...(description ? { description } : {}), schema: rest });
      if (f.cardinality === "single" && (f.value.kind === "string" || f.value.kind === "enum")) {
        const v = exampleValue(f, 0);
        if (typeof v === "string") queryExample[f.name] = v;
      }
    }
  }
  if (parameters.length > 0) op.parameters = parameters;

  // Request body.
  let bodyExample: unknown;
  if (b.body !== "") {
    if (b.verb === "get" || b.verb === "delete") throw new Error(`${where}: ${b.verb.toUpperCase()} cannot have a body`);
    let schema: SchemaObject;
    let description: string | undefined;
    if (b.body === "*") {
      schema = topPath.length === 0 ? builder.message(input) : builder.messageSchema(input, { omit: topPath });
      description = leadingComment(input) || undefined;
      bodyExample = exampleOf(input, topPath);
    } else {
      const f = fieldByPath(input, b.body);
      if (f.fieldKind !== "message") throw new Error(`${where}: body field ${b.body} must be a message`);
      const hasMask = input.fields.some((x) => x.fieldKind === "message" && x.message.typeName === "google.protobuf.FieldMask");
      schema = builder.message(f.message, hasMask);
      description = leadingComment(f) || undefined;
      bodyExample = exampleOf(f.message);
      if (hasMask) {
        const mf = messageModel(f.message).fields.find((x) => x.cardinality === "single" && x.value.kind === "string" && !x.rules?.required && !x.oneof);
        bodyExample = mf ? { [mf.name]: exampleValue(mf, 0) } : {};
      }
    }
    op.requestBody = { required: true, ...(description ? { description } : {}), content: { "application/json": { schema, example: bodyExample } } };
  }

  // Response.
  let responseSchema: SchemaObject;
  let responseDescription: string;
  if (b.responseBody) {
    const f = fieldByPath(method.output, b.responseBody);
    if (f.fieldKind !== "message") throw new Error(`${where}: response_body ${b.responseBody} must be a message field`);
    responseSchema = builder.message(f.message);
    responseDescription = leadingComment(f) || f.message.name;
  } else {
    responseSchema = builder.message(method.output);
    responseDescription = firstSentence(leadingComment(method.output)) || method.output.name;
  }
  op.responses["200"] = { description: responseDescription, content: { "application/json": { schema: responseSchema } } };
  op.responses.default = { description: "Error: a 4xx/5xx status with a JSON body carrying a message (and, for invalid requests, the violations)." };

  const examplePath = b.path;
  op["x-codeSamples"].push({ lang: "Shell", label: "curl", source: curlExample(b.verb, examplePath, queryExample, bodyExample) });
  // Stable, readable key order.
  const { operationId, tags, summary, description, parameters: params, requestBody, responses, ...ext } = op;
  return {
    operationId,
    tags,
    summary,
    ...(description !== undefined ? { description } : {}),
    ...(params ? { parameters: params } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
    ...ext,
  };
}

/** Builds the OpenAPI document of the request's annotated services. */
export function buildOpenApi(schema: Schema): OpenApiDocument {
  const bindings = httpBindings(schema);
  const allTypes: (DescMessage | DescEnum)[] = [];
  for (const file of schema.allFiles) for (const t of schema.typesInFile(file)) if (t.kind === "message" || t.kind === "enum") allTypes.push(t);
  const builder = new SchemaBuilder(allTypes);
  const paths: OpenApiDocument["paths"] = {};
  const services = new Map<string, DescService>();
  const seen = new Map<string, string>();
  for (const b of bindings) {
    const service = b.method.parent;
    services.set(service.typeName, service);
    const key = `${b.verb} ${b.path}`;
    const prev = seen.get(key);
    if (prev) throw new Error(`${b.method.toString()}: ${key} is already bound to ${prev}`);
    seen.set(key, b.method.toString());
    (paths[b.path] ??= {})[b.verb] = operationOf(b, builder, service);
  }
  // Path items list their operations in a fixed verb order.
  for (const p of Object.keys(paths)) {
    const item = paths[p];
    paths[p] = Object.fromEntries(httpMethods.filter((m) => item[m]).map((m) => [m, item[m]]));
  }
  const files: DescFile[] = [...new Set([...services.values()].map((s) => s.file))];
  const packages = [...new Set(files.map((f) => f.proto.package))];
  const version = packages.map((p) => p.split(".").pop()).find((s) => s && /^v\d/.test(s)) ?? "v1";
  const description = [
    ...files.map((f) => fileComment(f)).filter((s) => s !== ""),
    "Wire format: JSON with the proto field names (snake_case); enum values by their wire names (e.g. `play_end`); " +
      "64-bit integers as JSON numbers (within ±(2^53−1)); an absent key or `null` means not set; unknown keys are dropped with a warning.",
  ].join("\n\n");
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    info: { title: `${packages.join(", ")} REST API`, version, description },
    tags: [...services.values()].map((s) => {
      const d = leadingComment(s);
      return d ? { name: s.name, description: d } : { name: s.name };
    }),
    paths,
    components: { schemas: builder.finish() },
  };
}
