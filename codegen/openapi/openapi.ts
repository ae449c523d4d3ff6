/**
 * Builds an OpenAPI 3.1 document from the google.api.http annotations of the services in a
 * protoc-plugin request.
 *
 * Schemas are not derived here: every component is the request-variant JSON Schema of its
 * message or enum, from the builder behind gen/jsonschema (codegen/common/wire-schema.ts),
 * with `#/$defs/<full name>` refs written as `#/components/schemas/<name>`. OpenAPI 3.1 uses
 * JSON Schema 2020-12, so the schemas carry over unchanged. The request variant is what the
 * server accepts, so a client generated from this document accepts every request the server
 * does; responses are in it too (the server writes wire enum names, a subset).
 */
import type { DescEnum, DescField, DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import type { Schema } from "@bufbuild/protoplugin";
import { fileComment, firstSentence, leadingComment } from "../common/comments.js";
import {
  type HttpBinding,
  type HttpVerb,
  type PathTemplate,
  pathVariables,
  serviceHttpBindings,
} from "../common/http-rule.js";
import { type FieldModel, ingestKind, type MethodAccess, messageModel, methodAccess } from "../common/model.js";
import { type JsonSchema, schemaDefs } from "../common/wire-schema.js";
import {
  errorResponses,
  errorSchema,
  errorSchemaName,
  extraResponses,
  type ResponseObject,
  type ResponseRef,
  securityOf,
  securitySchemes,
} from "./errors.js";

/**
 * A JSON Schema 2020-12 / OpenAPI 3.1 schema object: the keywords this module and html.ts
 * read, typed; any other keyword of the shared builder passes through untyped.
 */
export interface SchemaObject {
  $ref?: string;
  title?: string;
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  additionalProperties?: SchemaObject | boolean;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: SchemaObject[];
  allOf?: SchemaObject[];
  [keyword: string]: unknown;
}

export interface ParameterObject {
  name: string;
  in: "path" | "query";
  required: boolean;
  description?: string;
  schema: SchemaObject;
}

export interface MediaObject {
  schema: SchemaObject;
  example?: unknown;
}

export interface OperationObject {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  parameters?: ParameterObject[];
  requestBody?: { required: boolean; description?: string; content: { "application/json": MediaObject } };
  /** The 200 and 202 inline; errors by reference to components.responses (`resolveResponse`). */
  responses: Record<string, ResponseObject | ResponseRef>;
  /** Either API-key scheme; empty for public RPCs. */
  security: Record<string, string[]>[];
  "x-codeSamples": { lang: string; label: string; source: string }[];
  "x-rpc": string;
  /** Who may call it once the server has API keys (the proto's access option). */
  "x-access": MethodAccess;
}

/** The HTTP methods of google.api.http, which are OpenAPI's path item keys. */
export type HttpMethod = HttpVerb;

export interface OpenApiDocument {
  openapi: "3.1.0";
  jsonSchemaDialect: string;
  info: { title: string; version: string; description?: string };
  tags: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<HttpMethod, OperationObject>>>;
  components: {
    schemas: Record<string, SchemaObject>;
    responses: typeof errorResponses;
    securitySchemes: typeof securitySchemes;
  };
}

/** Base URL placeholder used in the curl examples. */
export const baseUrlPlaceholder = "$BASE_URL";

const httpMethods: readonly HttpMethod[] = ["get", "put", "post", "delete", "patch"];

// --- Routes: google.api.http, read by codegen/common/http-rule.ts. ---

/** An HTTP binding of an RPC with its OpenAPI path. */
interface Route extends HttpBinding {
  /** OpenAPI path, `{field.path}` for path params. */
  path: string;
  /** Field paths bound to the path, in order. */
  pathParams: string[];
}

/**
 * The OpenAPI path of a template: literals, `{field}` per variable, `:verb`. A variable
 * matching anything but one segment, or a bare wildcard, has no OpenAPI form.
 */
export function openApiPath(t: PathTemplate, where: string): string {
  const segments = t.segments.map((s) => {
    if (s.kind === "literal") return s.value;
    const single =
      s.kind === "variable" && s.segments.length === 1 && s.segments[0]?.kind === "wildcard" && !s.segments[0].deep;
    if (s.kind === "variable" && single) return `{${s.fieldPath}}`;
    throw new Error(
      `${where}: path template ${t.source}: only single-segment variables ({field}) have an OpenAPI form`,
    );
  });
  return `/${segments.join("/")}${t.verb !== undefined ? `:${t.verb}` : ""}`;
}

/** Every HTTP binding of the services in the files to generate, in declaration order. */
function routes(schema: Schema): Route[] {
  return schema.files
    .flatMap((f) => f.services)
    .flatMap(serviceHttpBindings)
    .map((b) => ({ ...b, path: openApiPath(b.template, b.method.toString()), pathParams: pathVariables(b.template) }));
}

// --- Schemas: components from the shared JSON Schema builder. ---

const fieldMaskTypeName = "google.protobuf.FieldMask";

function fieldByPath(message: DescMessage, path: string): DescField {
  let m = message;
  const parts = path.split(".");
  for (const [i, part] of parts.entries()) {
    const f = m.fields.find((x) => x.name === part);
    if (!f) throw new Error(`${message.typeName} has no field ${path}`);
    if (i === parts.length - 1) return f;
    if (f.fieldKind !== "message") throw new Error(`${message.typeName}.${path}: ${part} is not a message`);
    m = f.message;
  }
  throw new Error(`empty field path`);
}

function isFieldMask(f: FieldModel): boolean {
  return f.value.kind === "message" && f.value.message.typeName === fieldMaskTypeName;
}

/** A copy of a JSON value with every `$ref` string mapped. */
function mapRefs(value: unknown, ref: (r: string) => string): unknown {
  if (Array.isArray(value)) return value.map((x) => mapRefs(x, ref));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? ref(v) : mapRefs(v, ref)]),
  );
}

/** A parameter's schema: the field's schema without `null` (a path or query string is never null). */
function nonNull(s: SchemaObject): SchemaObject {
  if (Array.isArray(s.type)) {
    const types = s.type.filter((t) => t !== "null");
    return { ...s, type: types.length === 1 && types[0] !== undefined ? types[0] : types };
  }
  const members = s.anyOf?.filter((m) => m.type !== "null");
  if (s.anyOf && members?.length === 1 && members[0]) {
    const { anyOf: _, ...rest } = s;
    return { ...members[0], ...rest };
  }
  return s;
}

/** Every `$ref` string in a JSON value. */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const x of value) refsIn(x, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      // Schema refs only: a response's `$ref` (#/components/responses/…) names no schema.
      if (k === "$ref" && typeof v === "string") {
        if (v.startsWith(componentPrefix)) out.push(v);
      } else refsIn(v, out);
    }
  }
  return out;
}

const componentPrefix = "#/components/schemas/";

/**
 * The request schemas of the messages an API uses, as components. Components are named by
 * short name, or by full name when short names collide; only the ones the document refers to
 * (directly or through other components) are kept.
 */
class Components {
  private readonly defs: Map<string, JsonSchema>;
  /** Component name by full type name, and back. */
  private readonly names = new Map<string, string>();
  private readonly typeNames = new Map<string, string>();

  constructor(roots: DescMessage[], allTypes: (DescMessage | DescEnum)[]) {
    this.defs = schemaDefs(roots, "request");
    for (const t of allTypes) {
      const clash = allTypes.some((o) => o.name === t.name && o.typeName !== t.typeName);
      const name = clash ? t.typeName : t.name;
      this.names.set(t.typeName, name);
      this.typeNames.set(name, t.typeName);
    }
  }

  /** A $ref to a message's component. */
  ref(desc: DescMessage): SchemaObject {
    return { $ref: `${componentPrefix}${this.nameOf(desc.typeName)}` };
  }

  /** A message's schema for use inline, without its title (the caller adapts it to its binding). */
  inline(desc: DescMessage): SchemaObject {
    const { title: _, ...rest } = this.convert(this.def(desc.typeName));
    return rest;
  }

  /** The schema of one field of a message, with its description. */
  field(f: DescField): SchemaObject {
    const s = this.inline(f.parent).properties?.[f.name];
    if (!s) throw new Error(`${f.toString()}: no schema`);
    return s;
  }

  /**
   * The components that `paths` refers to, directly or through other components, by name, plus
   * `extra` (schemas that are not a proto type's) and what they refer to.
   */
  referencedBy(paths: unknown, extra: Record<string, SchemaObject> = {}): Record<string, SchemaObject> {
    const out = new Map<string, SchemaObject>(Object.entries(extra));
    const pending = [...refsIn(paths), ...refsIn(extra)];
    for (let ref = pending.pop(); ref !== undefined; ref = pending.pop()) {
      const name = ref.slice(componentPrefix.length);
      if (out.has(name)) continue;
      const schema = this.convert(this.def(this.typeNames.get(name) ?? name));
      out.set(name, schema);
      pending.push(...refsIn(schema));
    }
    return Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)));
  }

  private def(typeName: string): JsonSchema {
    const d = this.defs.get(typeName);
    if (!d) throw new Error(`no JSON Schema for ${typeName}`);
    return d;
  }

  private nameOf(typeName: string): string {
    return this.names.get(typeName) ?? typeName;
  }

  /** The OpenAPI form of a builder schema: the same keywords, component refs. */
  private convert(s: JsonSchema): SchemaObject {
    // The builder's output is JSON Schema 2020-12, which SchemaObject types loosely.
    return mapRefs(s, (r) => `${componentPrefix}${this.nameOf(r.replace(/^#\/\$defs\//, ""))}`) as SchemaObject;
  }
}

/** A body schema without the fields bound to the path. */
function withoutFields(s: SchemaObject, desc: DescMessage, omit: string[], where: string): SchemaObject {
  for (const name of omit) {
    if (messageModel(desc).oneofs.some((o) => o.fields.some((f) => f.name === name)))
      throw new Error(`${where}: path parameter ${name} is in a oneof`);
  }
  const properties = Object.fromEntries(Object.entries(s.properties ?? {}).filter(([k]) => !omit.includes(k)));
  const required = (s.required ?? []).filter((k) => !omit.includes(k));
  const { required: _, ...rest } = s;
  return { ...rest, properties, ...(required.length > 0 ? { required } : {}) };
}

/** An update body: no field is required, the mask (or the keys present) says what changes. */
function partial(s: SchemaObject, mask: string): SchemaObject {
  const { required: _, description, ...rest } = s;
  const note = `Partial: only the fields present (or named in \`${mask}\`) change.`;
  return { ...(description ? { description: `${description}\n\n${note}` } : { description: note }), ...rest };
}

// --- Examples: request bodies and query strings for the curl samples. ---

/** An example value of a message for request bodies: its required fields, or its scalar fields when none is required. */
export function exampleOf(desc: DescMessage, omit: string[] = [], depth = 0): Record<string, unknown> {
  const fields = messageModel(desc).fields.filter((f) => !omit.includes(f.name));
  const required = fields.filter((f) => f.rules?.required && !f.serverFilled);
  const chosen =
    required.length > 0
      ? required
      : fields.filter((f) => f.cardinality === "single" && f.value.kind !== "message" && f.value.kind !== "struct");
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
      return depth > 3 || f.value.message.typeName.startsWith("google.protobuf.")
        ? undefined
        : exampleOf(f.value.message, [], depth + 1);
    case "struct":
      return {};
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function curlExample(
  verb: HttpMethod,
  path: string,
  query: Record<string, unknown>,
  body: unknown,
  access: MethodAccess,
): string {
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
  const url = `${baseUrlPlaceholder}${path}${qs ? `?${qs}` : ""}`;
  const lines = [`curl${verb === "get" ? "" : ` -X ${verb.toUpperCase()}`} "${url}"`];
  if (access !== "public") lines.push(`  -H "X-API-Key: $API_KEY"`);
  if (body !== undefined) {
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d ${shellQuote(JSON.stringify(body, null, 2))}`);
  }
  return lines.join(" \\\n");
}

// --- Operations. ---

/** A parameter from a field's schema: its description moves up to the parameter. */
function parameter(name: string, where: "path" | "query", schema: SchemaObject): ParameterObject {
  const { description, ...rest } = nonNull(schema);
  return { name, in: where, required: where === "path", ...(description ? { description } : {}), schema: rest };
}

/** The messages whose schemas an operation uses: its input (parameters, bodies) and its output. */
function messagesOf(b: Route): DescMessage[] {
  return [b.method.input, b.method.output];
}

function operationOf(b: Route, components: Components, service: DescService): OperationObject {
  const { method } = b;
  const input = method.input;
  const where = `${method.toString()} (${b.verb.toUpperCase()} ${b.path})`;
  const comment = leadingComment(method);
  const summary = firstSentence(comment) || method.name;
  const access = methodAccess(method);

  const parameters: ParameterObject[] = b.pathParams.map((p) => {
    const f = fieldByPath(input, p);
    if (f.fieldKind !== "scalar" && f.fieldKind !== "enum")
      throw new Error(`${where}: path parameter ${p} must be a scalar`);
    return parameter(p, "path", components.field(f));
  });
  const topPath = b.pathParams.map((p) => p.split(".")[0] ?? p);

  // Query parameters: fields bound neither to the path nor to the body.
  const queryExample: Record<string, unknown> = {};
  if (b.body !== "*") {
    for (const f of messageModel(input).fields) {
      if (topPath.includes(f.name) || f.name === b.body) continue;
      if (isFieldMask(f)) {
        // grpc-gateway's query form of a FieldMask: the paths, comma-separated.
        const description = [leadingComment(f.desc), `Comma-separated field names, e.g. "description,optional_fields".`]
          .filter((s) => s !== "")
          .join("\n\n");
        parameters.push({ name: f.name, in: "query", required: false, description, schema: { type: "string" } });
        continue;
      }
      if (f.cardinality === "map" || f.value.kind === "message" || f.value.kind === "struct") {
        throw new Error(`${where}: field ${f.name} is bound to neither path nor body and cannot be a query parameter`);
      }
      parameters.push(parameter(f.name, "query", components.field(f.desc)));
      if (f.cardinality === "single" && (f.value.kind === "string" || f.value.kind === "enum")) {
        const v = exampleValue(f, 0);
        if (typeof v === "string") queryExample[f.name] = v;
      }
    }
  }

  let requestBody: OperationObject["requestBody"];
  let bodyExample: unknown;
  if (b.body !== undefined) {
    if (b.verb === "get" || b.verb === "delete")
      throw new Error(`${where}: ${b.verb.toUpperCase()} cannot have a body`);
    let schema: SchemaObject;
    let description: string;
    if (b.body === "*") {
      schema =
        topPath.length === 0 ? components.ref(input) : withoutFields(components.inline(input), input, topPath, where);
      description = leadingComment(input);
      bodyExample = exampleOf(input, topPath);
    } else {
      const f = fieldByPath(input, b.body);
      if (f.fieldKind !== "message") throw new Error(`${where}: body field ${b.body} must be a message`);
      const mask = messageModel(input).fields.find(isFieldMask);
      description = leadingComment(f);
      if (mask) {
        schema = partial(components.inline(f.message), mask.name);
        const mf = messageModel(f.message).fields.find(
          (x) => x.cardinality === "single" && x.value.kind === "string" && !x.rules?.required && !x.oneof,
        );
        bodyExample = mf ? { [mf.name]: exampleValue(mf, 0) } : {};
      } else {
        schema = components.ref(f.message);
        bodyExample = exampleOf(f.message);
      }
    }
    requestBody = {
      required: true,
      ...(description ? { description } : {}),
      content: { "application/json": { schema, example: bodyExample } },
    };
  }

  let response: { description: string; schema: SchemaObject };
  if (b.responseBody) {
    const f = fieldByPath(method.output, b.responseBody);
    if (f.fieldKind !== "message") throw new Error(`${where}: response_body ${b.responseBody} must be a message field`);
    response = { description: leadingComment(f) || f.message.name, schema: components.ref(f.message) };
  } else {
    response = {
      description: firstSentence(leadingComment(method.output)) || method.output.name,
      schema: components.ref(method.output),
    };
  }

  return {
    operationId: `${service.name}_${method.name}${b.index > 0 ? `_${b.index}` : ""}`,
    tags: [service.name],
    summary,
    ...(comment && comment !== summary ? { description: comment } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: {
      "200": { description: response.description, content: { "application/json": { schema: response.schema } } },
      ...extraResponses(
        {
          access,
          ingest: ingestKind(method),
          hasBody: requestBody !== undefined,
          hasParameters: parameters.length > 0,
          hasPathParameters: b.pathParams.length > 0,
          writes: b.verb !== "get",
        },
        response.schema,
      ),
    },
    security: securityOf(access),
    "x-codeSamples": [
      { lang: "Shell", label: "curl", source: curlExample(b.verb, b.path, queryExample, bodyExample, access) },
    ],
    "x-rpc": `${service.typeName}/${method.name}`,
    "x-access": access,
  };
}

/** Builds the OpenAPI document of the request's annotated services. */
export function buildOpenApi(schema: Schema): OpenApiDocument {
  const bindings = routes(schema);
  const allTypes: (DescMessage | DescEnum)[] = [];
  for (const file of schema.allFiles)
    for (const t of schema.typesInFile(file)) if (t.kind === "message" || t.kind === "enum") allTypes.push(t);
  const components = new Components([...new Set(bindings.flatMap(messagesOf))], allTypes);
  // The error body lists violations with the proto's own Violation message (what TrackEventResponse.errors holds).
  const violation = allTypes.find((t): t is DescMessage => t.kind === "message" && t.name === "Violation");
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
    const item = paths[b.path] ?? {};
    item[b.verb] = operationOf(b, components, service);
    paths[b.path] = item;
  }
  // Path items list their operations in a fixed verb order.
  for (const [p, item] of Object.entries(paths)) {
    paths[p] = Object.fromEntries(httpMethods.flatMap((m) => (item[m] ? [[m, item[m]]] : [])));
  }
  const files: DescFile[] = [...new Set([...services.values()].map((s) => s.file))];
  const packages = [...new Set(files.map((f) => f.proto.package))];
  const version = packages.map((p) => p.split(".").pop()).find((s) => s && /^v\d/.test(s)) ?? "v1";
  const description = [
    ...files.map((f) => fileComment(f)).filter((s) => s !== ""),
    "Wire format: JSON with the proto field names (snake_case); enum values by their wire names (e.g. `play_end`), " +
      "requests may use the proto names too; 64-bit integers as JSON numbers (within ±(2^53−1)); an absent key or `null` " +
      "means not set; unknown keys are dropped with a warning. The schemas are exactly what the server accepts; rules that " +
      "only raise a warning are named in the field descriptions.",
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
    components: {
      schemas: components.referencedBy(paths, {
        [errorSchemaName]: errorSchema(violation && components.ref(violation)),
      }),
      responses: errorResponses,
      securitySchemes,
    },
  };
}
