/**
 * protoc-gen-tracking-handlers: for every proto file with services, generates
 * `<file>_handlers.ts` next to the other generated trees (gen/handlers/…) with
 *
 * - `<Service>Runtime`: the interface the hand-written server implements (one method per
 *   RPC → response message). Ingest RPCs (ingest kind TRACK, TRACK_BATCH, VALIDATE) take
 *   the event(s) as request-mode wire JSON, never decoded into a message: `(event: unknown,
 *   context)` or `(events: readonly unknown[], context)`; every other RPC takes its request
 *   message;
 * - `register<Service>(router, runtime)`: mounts it on a connect ConnectRouter (Connect,
 *   gRPC, gRPC-Web), converting the event messages of ingest RPCs to wire JSON with the
 *   generated codec (`<m>ToWire`);
 * - a REST route table derived from google.api.http (primary + additional_bindings) as
 *   plain constants, a matcher `match<Service>Route(method, path)` compiled to a switch on
 *   segment count and literal comparisons (no regex, no annotation parsing at runtime), and
 *   `<service>AllowedMethods(path)` for 405 responses;
 * - per RPC, transcoding glue `<rpc>RestToRequest(params, query, body, warnings)` and
 *   `<rpc>ResponseToRest(response)` following grpc-gateway semantics; for ingest RPCs the
 *   glue checks only the body's envelope (a JSON object; for TRACK_BATCH an `events` array
 *   within the field's max_items) and hands the raw JSON on — the runtime (the ingest
 *   pipeline) validates each event, so a batch with some invalid events still gets 200
 *   with per-event results.
 *
 * Shared helpers the generated code calls live in codegen/handlers/runtime.ts.
 */
import { type DescExtension, type DescField, type DescFile, type DescMessage, type DescMethod, type DescService, ScalarType, getOption, hasOption } from "@bufbuild/protobuf";
import type { CodeGeneratorRequest, CodeGeneratorResponse } from "@bufbuild/protobuf/wkt";
import { type GeneratedFile, type Plugin, type Printable, type Schema, createEcmaScriptPlugin, getComments } from "@bufbuild/protoplugin";
import { IngestKind, fieldRules, ingestKind, kafkaRouting } from "../common/model.js";

/** Root-relative (to the plugin's out dir, gen/handlers) import of the shared runtime. */
const RUNTIME_IMPORT = "../../codegen/handlers/runtime.js";

/**
 * Which codec decodes request bodies. "validator" calls the generated validator/codec
 * (gen/validator, codegen/validator/API.md): `validateM(json, "request", out, path)` then
 * `mFromWire(json)`. "placeholder" calls runtime.ts `wireFromJson` (protobuf-es fromJson)
 * for trees where gen/validator is not generated yet. Switching is this one setting (or the
 * plugin option codec=validator|placeholder).
 */
const DEFAULT_CODEC: "validator" | "placeholder" = "validator";

/** The shape of google.api.HttpRule we read (protobuf-es v2 message, local names). */
interface HttpRuleShape {
  pattern: { case: "get" | "put" | "post" | "delete" | "patch"; value: string } | { case: "custom"; value: { kind: string; path: string } } | { case: undefined };
  body: string;
  responseBody: string;
  additionalBindings: HttpRuleShape[];
}

/** A parsed path template segment. */
export type Segment = { literal: string } | { param: string };

/** One REST binding of an RPC, resolved at generation time. */
export interface Binding {
  method: DescMethod;
  httpMethod: string;
  pathTemplate: string;
  segments: Segment[];
  /** "*", a field name, or undefined. */
  body: string | undefined;
  responseBody: string | undefined;
}

/** Query kinds, as in runtime.ts QueryKind. */
type QueryKind = "string" | "bool" | "int32" | "uint32" | "int64" | "uint64" | "double" | "enum" | "field_mask";

const base = createEcmaScriptPlugin({
  name: "protoc-gen-tracking-handlers",
  version: "v0.1.0",
  parseOptions(raw: { key: string; value: string }[]): { codec: "validator" | "placeholder" } {
    let codec: "validator" | "placeholder" = DEFAULT_CODEC;
    for (const { key, value } of raw) {
      if (key !== "codec" || (value !== "validator" && value !== "placeholder")) throw new Error(`unknown option ${key}=${value}`);
      codec = value;
    }
    return { codec };
  },
  generateTs(schema: Schema<{ codec: "validator" | "placeholder" }>) {
    const codec = schema.options.codec;
    const httpExt = findHttpExtension(schema);
    for (const file of schema.files) {
      if (file.services.length === 0) continue;
      const f = schema.generateFile(`${file.name}_handlers.ts`);
      f.preamble(file);
      generateFile(f, file, httpExt, codec);
    }
  },
});

/**
 * The generator: one `<file>_handlers.ts` per proto file that declares services.
 * buf.gen.yaml passes no options, and protoplugin's defaults (js+dts, extensionless
 * imports) do not fit a TS-only ESM tree, so target=ts and import_extension=js are the
 * defaults here; explicit options still win.
 */
export const plugin: Plugin = {
  name: base.name,
  version: base.version,
  run(request: CodeGeneratorRequest): CodeGeneratorResponse {
    const given = request.parameter;
    const extra = [!/(^|,)target=/.test(given) ? "target=ts" : "", !/(^|,)import_extension=/.test(given) ? "import_extension=js" : ""].filter((x) => x !== "");
    const parameter = [given, ...extra].filter((x) => x !== "").join(",");
    return base.run({ ...request, parameter });
  },
};

/**
 * The google.api.http extension, taken from the request's own descriptors rather than
 * from gen/es: `make generate` wipes gen/ and buf runs plugins side by side, so the es
 * output for google/api is not there when this plugin runs.
 */
function findHttpExtension(schema: Schema): DescExtension | undefined {
  for (const file of schema.allFiles) {
    for (const ext of file.extensions) {
      if (ext.typeName === "google.api.http") return ext;
    }
  }
  return undefined;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Parses "/a/{b}/c" into segments; rejects what our matcher does not implement. */
export function parseTemplate(template: string, where: string): Segment[] {
  if (!template.startsWith("/")) throw new Error(`${where}: path template ${template} must start with /`);
  if (template.includes(":")) throw new Error(`${where}: custom verbs (":verb") are not supported in ${template}`);
  return template
    .slice(1)
    .split("/")
    .map((seg): Segment => {
      if (seg.startsWith("{")) {
        const m = /^\{([a-z_][a-z0-9_]*)(=\*)?\}$/.exec(seg);
        if (!m) throw new Error(`${where}: only {field} and {field=*} path variables are supported, got ${seg} in ${template}`);
        return { param: m[1] };
      }
      if (seg.includes("{") || seg.includes("}") || seg.includes("*")) throw new Error(`${where}: unsupported segment ${seg} in ${template}`);
      return { literal: seg };
    });
}

function bindingsOf(method: DescMethod, httpExt: DescExtension | undefined): Binding[] {
  if (!httpExt || !hasOption(method, httpExt)) return [];
  const rule = getOption(method, httpExt) as unknown as HttpRuleShape;
  const out: Binding[] = [];
  const add = (r: HttpRuleShape) => {
    const p = r.pattern;
    if (p.case === undefined) return;
    const where = `${method.parent.typeName}.${method.name}`;
    if (p.case === "custom") throw new Error(`${where}: custom HTTP methods are not supported`);
    const template = p.value;
    out.push({
      method,
      httpMethod: p.case.toUpperCase(),
      pathTemplate: template,
      segments: parseTemplate(template, where),
      body: r.body === "" ? undefined : r.body,
      responseBody: r.responseBody === "" ? undefined : r.responseBody,
    });
  };
  add(rule);
  for (const extra of rule.additionalBindings) add(extra);
  return out;
}

function queryKindOf(field: DescField): QueryKind | undefined {
  if (field.fieldKind === "enum") return "enum";
  if (field.fieldKind === "message") return field.message.typeName === "google.protobuf.FieldMask" ? "field_mask" : undefined;
  if (field.fieldKind !== "scalar") return undefined; // repeated/map query params: not needed by our API
  switch (field.scalar) {
    case ScalarType.STRING:
      return "string";
    case ScalarType.BOOL:
      return "bool";
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return "int32";
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return "uint32";
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return "int64";
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return "uint64";
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return "double";
    default:
      return undefined;
  }
}

/** Request fields bound from the query string: neither a path variable nor (part of) the body. */
function queryFieldsOf(b: Binding): { field: DescField; kind: QueryKind }[] {
  if (b.body === "*") return [];
  const inPath = new Set(b.segments.flatMap((s) => ("param" in s ? [s.param] : [])));
  const out: { field: DescField; kind: QueryKind }[] = [];
  for (const field of b.method.input.fields) {
    if (inPath.has(field.name) || field.name === b.body) continue;
    const kind = queryKindOf(field);
    if (kind) out.push({ field, kind });
  }
  return out;
}

function fieldByName(desc: DescMessage, name: string, where: string): DescField {
  const field = desc.fields.find((x) => x.name === name);
  if (!field) throw new Error(`${where}: ${desc.typeName} has no field ${name}`);
  return field;
}

/** An ingest RPC (TRACK, TRACK_BATCH, VALIDATE) and its event field, resolved at generation time. */
export interface IngestMethod {
  kind: IngestKind.TRACK | IngestKind.TRACK_BATCH | IngestKind.VALIDATE;
  /** The request field whose message type carries the kafka option. */
  field: DescField;
  /** That message type. */
  event: DescMessage;
  /** TRACK_BATCH: the field is repeated. */
  repeated: boolean;
  /** TRACK_BATCH: the field's max_items option, if set. */
  maxItems: number | undefined;
}

/**
 * The event field of an ingest RPC: exactly one request field whose message type carries
 * the (recommender.options.v1.kafka) option — singular for TRACK/VALIDATE, repeated for
 * TRACK_BATCH — and no other request field (the runtime receives only the event wire JSON,
 * so anything else would be dropped silently). Undefined for other RPCs.
 */
export function ingestMethodOf(m: DescMethod): IngestMethod | undefined {
  const kind = ingestKind(m);
  if (kind !== IngestKind.TRACK && kind !== IngestKind.TRACK_BATCH && kind !== IngestKind.VALIDATE) return undefined;
  const where = `${m.parent.typeName}.${m.name} (ingest ${IngestKind[kind]})`;
  const candidates = m.input.fields.filter(
    (f) => (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) && kafkaRouting(f.message) !== undefined,
  );
  if (candidates.length !== 1) {
    throw new Error(
      `${where}: ${m.input.typeName} must have exactly one field whose message type has the (recommender.options.v1.kafka) option, found ${candidates.length}` +
        (candidates.length ? ` (${candidates.map((f) => f.name).join(", ")})` : ""),
    );
  }
  const field = candidates[0];
  const repeated = field.fieldKind === "list";
  if (kind === IngestKind.TRACK_BATCH && !repeated) throw new Error(`${where}: event field ${field.name} must be repeated`);
  if (kind !== IngestKind.TRACK_BATCH && repeated) throw new Error(`${where}: event field ${field.name} must not be repeated`);
  const others = m.input.fields.filter((f) => f !== field);
  if (others.length) throw new Error(`${where}: ${m.input.typeName} may carry only the event field ${field.name}, but also has ${others.map((f) => f.name).join(", ")}`);
  const event = field.fieldKind === "list" && field.listKind === "message" ? field.message : field.fieldKind === "message" ? field.message : undefined;
  if (!event) throw new Error(`${where}: unreachable`);
  return { kind, field, event, repeated, maxItems: repeated ? fieldRules(field)?.maxItems : undefined };
}

/** Key identifying a URL shape: bindings with the same key differ only by HTTP method. */
function shapeKey(segments: Segment[]): string {
  return segments.map((s) => ("literal" in s ? `L${s.literal}` : "P")).join("/");
}

function generateFile(f: GeneratedFile, file: DescFile, httpExt: DescExtension | undefined, codec: "validator" | "placeholder") {
  const rt = (name: string, typeOnly = false) => f.import(name, RUNTIME_IMPORT, typeOnly);
  const esPath = (d: DescMessage | DescService) => `../es/${d.file.name}_pb.js`;
  const schemaOf = (d: DescMessage) => (d.file.name === "google/protobuf/field_mask" ? f.import("FieldMaskSchema", "@bufbuild/protobuf/wkt") : f.import(`${d.name}Schema`, esPath(d)));
  const shapeOf = (d: DescMessage) => f.import(d.name, esPath(d), true);
  const connect = (name: string) => f.import(name, "@connectrpc/connect", true);
  const create = f.import("create", "@bufbuild/protobuf");
  const JsonValue = f.import("JsonValue", "@bufbuild/protobuf", true);
  // The one place that names the body codec (see DEFAULT_CODEC).
  // `partial`: the body is a partial update (the request has an update_mask), so a
  // top-level "required" error for a key the body does not carry is not an error.
  const decodeBody = (desc: DescMessage, into: string, partial = false) => {
    const found: Printable = partial ? [rt("dropAbsentRequired"), "(found, body)"] : "found";
    if (codec === "validator") {
      const from = `../validator/${desc.file.name}_validator.js`;
      f.print("  const found = ", f.import(`validate${desc.name}`, from), "(body ?? {}, \"request\", [], \"\");");
      f.print("  ", rt("throwOnErrors"), "(", found, ", warnings);");
      f.print("  const ", into, " = ", f.import(`${lowerFirst(desc.name)}FromWire`, from), "(body ?? {});");
    } else {
      f.print("  const found: ", rt("WireViolation", true), "[] = [];");
      f.print("  const ", into, " = ", rt("wireFromJson"), "<", shapeOf(desc), ">(", schemaOf(desc), ", body ?? {}, \"\", found);");
      f.print("  ", rt("throwOnErrors"), "(", found, ", warnings);");
    }
  };
  // The other place that names the codec: message → request-mode wire JSON for ingest RPCs
  // over Connect/gRPC/gRPC-Web. Both codecs omit absent optional fields and empty lists.
  const toWire = (desc: DescMessage, expr: string): Printable => {
    if (codec === "validator") {
      return [f.import(`${lowerFirst(desc.name)}ToWire`, `../validator/${desc.file.name}_validator.js`), "(", expr, ")"];
    }
    return [rt("wireToJson"), "(", schemaOf(desc), ", ", expr, ")"];
  };

  const generateResponseToRest = (b: Binding, fnOut: string) => {
    const m = b.method;
    const where = `${m.parent.typeName}.${m.name}`;
    f.print(
      f.jsDoc(
        `${m.output.name} → wire JSON for REST: snake_case keys, enums as wire names` +
          (b.responseBody ? `; only the ${b.responseBody} field (response_body).` : "."),
      ),
    );
    f.print(f.export("function", fnOut), "(response: ", shapeOf(m.output), "): ", JsonValue, " {");
    if (b.responseBody) {
      const rf = fieldByName(m.output, b.responseBody, where);
      if (rf.fieldKind !== "message") throw new Error(`${where}: response_body ${b.responseBody} must be a singular message field`);
      f.print("  return response.", rf.localName, " === undefined ? {} : ", rt("wireToJson"), "(", schemaOf(rf.message), ", response.", rf.localName, ");");
    } else {
      f.print("  return ", rt("wireToJson"), "(", schemaOf(m.output), ", response);");
    }
    f.print("}");
    f.print();
  };

  // REST glue of an ingest RPC: checks the envelope only and returns the raw event JSON
  // (TRACK/VALIDATE: the body object; TRACK_BATCH: the body's event array). Unknown
  // top-level keys of a batch body are reported as warnings (restWarningsKey), not errors.
  const generateIngestGlue = (b: Binding, variants: Binding[], im: IngestMethod) => {
    const m = b.method;
    const where = `${m.parent.typeName}.${m.name}`;
    const kindName = IngestKind[im.kind];
    for (const v of variants) {
      if (v.segments.some((s) => "param" in s)) throw new Error(`${where}: ingest ${kindName} RPCs cannot bind path variables (${v.pathTemplate})`);
    }
    if (im.repeated && b.body !== "*") throw new Error(`${where}: ingest ${kindName} needs body: "*" (the {"${im.field.name}": [...]} envelope)`);
    if (!im.repeated && b.body !== im.field.name) throw new Error(`${where}: ingest ${kindName} needs body: "${im.field.name}" (the event is the whole body)`);
    const fnIn = `${m.localName}RestToRequest`;
    const variantsDoc = variants.map((v) => `${v.httpMethod} ${v.pathTemplate}`);
    if (im.repeated) {
      const maxName = `${m.localName}${im.field.localName.charAt(0).toUpperCase()}${im.field.localName.slice(1)}MaxItems`;
      if (im.maxItems !== undefined) {
        f.print(f.jsDoc(`Most items ${m.input.name}.${im.field.name} may have (its max_items option); more is a 400 over REST.`));
        f.print(f.export("const", maxName), " = ", im.maxItems, ";");
        f.print();
      }
      const doc = [
        `REST → the ${im.field.name} of ${where} (ingest ${kindName}) as raw wire JSON items.`,
        ...variantsDoc,
        `Body: the whole request, {"${im.field.name}": [...]}; only the envelope is checked: a JSON object, ${im.field.name}`,
        `an array (absent or null: [])${im.maxItems !== undefined ? ` of at most ${maxName} items` : ""}. The items (${im.event.typeName})`,
        "are returned as parsed, un-validated; the runtime validates each one and answers per item.",
        "Unknown top-level keys go to `warnings` (rule unknown_field) and are ignored.",
        `Throws TranscodeError (HTTP 400): rule "type" for a non-object body or a non-array ${im.field.name}` + (im.maxItems !== undefined ? `, rule "max_items" for too many items.` : "."),
      ];
      f.print(f.jsDoc(doc.join("\n")));
      f.print(
        f.export("function", fnIn),
        "(params: ",
        rt("RestParams", true),
        ", query: URLSearchParams, body: unknown, warnings: ",
        rt("WireViolation", true),
        "[]): readonly unknown[] {",
      );
      f.print("  return ", rt("ingestBatchBody"), "(body, ", f.string(im.field.name), ", ", im.maxItems !== undefined ? maxName : "undefined", ", warnings);");
      f.print("}");
    } else {
      const doc = [
        `REST → the ${im.field.name} of ${where} (ingest ${kindName}) as raw wire JSON.`,
        ...variantsDoc,
        `Body: field ${im.field.name} (${im.event.typeName}), returned as parsed: request-mode wire JSON, un-validated`,
        "(the runtime validates it). Query: none.",
        `Throws TranscodeError (HTTP 400, rule "type") when the body is not a JSON object.`,
      ];
      f.print(f.jsDoc(doc.join("\n")));
      f.print(
        f.export("function", fnIn),
        "(params: ",
        rt("RestParams", true),
        ", query: URLSearchParams, body: unknown, warnings: ",
        rt("WireViolation", true),
        "[]): unknown {",
      );
      f.print("  return ", rt("ingestEventBody"), "(body);");
      f.print("}");
    }
    f.print();
    generateResponseToRest(b, `${m.localName}ResponseToRest`);
  };

  for (const service of file.services) {
    const svc = service.name;
    const svcLower = lowerFirst(svc);
    const runtimeName = `${svc}Runtime`;
    const allBindings = service.methods.flatMap((m) => {
      if (m.methodKind !== "unary") throw new Error(`${m.parent.typeName}.${m.name}: only unary RPCs are supported`);
      return bindingsOf(m, httpExt);
    });
    const ingestOf = new Map<DescMethod, IngestMethod>();
    for (const m of service.methods) {
      const im = ingestMethodOf(m);
      if (im) ingestOf.set(m, im);
    }
    // The runtime parameter of an ingest method is named after its event field.
    const paramOf = (im: IngestMethod) => (im.field.localName === "context" || im.field.localName === "runtime" ? "input" : im.field.localName);

    // --- Runtime interface and Connect registration -------------------------------------
    f.print(
      f.jsDoc(
        `What the hand-written server implements for ${service.typeName}: one method per RPC,\n` +
          `returning the response message. ` +
          (ingestOf.size
            ? `Ingest RPCs (${[...ingestOf.keys()].map((m) => m.name).join(", ")}) take the event(s) as\n` +
              `request-mode wire JSON, not validated and not decoded (the runtime validates them, e.g.\n` +
              `with the ingest pipeline); the other RPCs take their request message.\n`
            : `Each RPC takes its request message.\n`) +
          `register${svc} serves it over Connect, gRPC and gRPC-Web, ${svcLower}Rest over REST.\n` +
          `Throw ConnectError (or the server's error types) to fail a call; transports map them.`,
      ),
    );
    f.print(f.export("interface", runtimeName), " {");
    for (const m of service.methods) {
      const rest = allBindings.filter((b) => b.method === m).map((b) => `${b.httpMethod} ${b.pathTemplate}${b.body ? ` (body: ${b.body})` : ""}`);
      const kind = ingestKind(m);
      const im = ingestOf.get(m);
      const ingestDoc = !im
        ? []
        : im.repeated
          ? [
              "",
              `\`${paramOf(im)}\`: the items of ${m.input.name}.${im.field.name} (${im.event.typeName}) as request-mode wire JSON,`,
              "each un-validated (an item may not even be an object).",
              `REST: the body's \`${im.field.name}\` array as parsed; only the envelope was checked (a JSON object,`,
              `\`${im.field.name}\` an array${im.maxItems !== undefined ? ` of at most ${im.maxItems} items` : ""}; unknown top-level keys are warnings).`,
              `Connect/gRPC/gRPC-Web: each message converted with ${lowerFirst(im.event.name)}ToWire (absent fields omitted,`,
              "so a missing required field is still reported).",
              "Validate each item and answer per item (the ingest pipeline does).",
            ]
          : [
              "",
              `\`${paramOf(im)}\`: ${m.input.name}.${im.field.name} (${im.event.typeName}) as request-mode wire JSON, un-validated.`,
              "REST: the body object as parsed.",
              `Connect/gRPC/gRPC-Web: the message converted with ${lowerFirst(im.event.name)}ToWire (absent fields omitted,`,
              `so a missing required field is still reported); \`{}\` when the request has no ${im.field.name}.`,
              "Validate it before use (the ingest pipeline does).",
            ];
      const lines = [
        getComments(m).leading?.trim() || `Handles ${m.name}.`,
        "",
        ...rest.map((r) => `REST: ${r}`),
        ...(kind !== IngestKind.UNSPECIFIED ? [`Ingest kind: ${IngestKind[kind]}`] : []),
        ...ingestDoc,
        `@generated from rpc ${service.typeName}.${m.name}`,
      ];
      f.print(f.jsDoc(lines.join("\n"), "  "));
      if (im) {
        const param = im.repeated ? `${paramOf(im)}: readonly unknown[]` : `${paramOf(im)}: unknown`;
        f.print("  ", m.localName, "(", param, ", context: ", connect("HandlerContext"), "): Promise<", shapeOf(m.output), ">;");
      } else {
        f.print("  ", m.localName, "(request: ", shapeOf(m.input), ", context: ", connect("HandlerContext"), "): Promise<", shapeOf(m.output), ">;");
      }
    }
    f.print("}");
    f.print();
    f.print(
      f.jsDoc(
        `Mounts ${service.typeName} on a connect router (Connect, gRPC and gRPC-Web protocols).` +
          (ingestOf.size ? `\nIngest RPCs hand the runtime their event message(s) converted to request-mode wire JSON.` : ""),
      ),
    );
    f.print(f.export("function", `register${svc}`), "(router: ", connect("ConnectRouter"), ", runtime: ", runtimeName, "): ", connect("ConnectRouter"), " {");
    f.print("  return router.service(", f.import(svc, esPath(service)), ", {");
    for (const m of service.methods) {
      const im = ingestOf.get(m);
      if (!im) {
        f.print("    ", m.localName, ": (request, context) => runtime.", m.localName, "(request, context),");
      } else if (im.repeated) {
        f.print("    ", m.localName, ": (request, context) => runtime.", m.localName, "(request.", im.field.localName, ".map((x) => ", toWire(im.event, "x"), "), context),");
      } else {
        const fl = `request.${im.field.localName}`;
        f.print("    ", m.localName, ": (request, context) => runtime.", m.localName, "(", fl, " ? ", toWire(im.event, fl), " : {}, context),");
      }
    }
    f.print("  });");
    f.print("}");
    f.print();

    if (allBindings.length === 0) continue;

    // --- Transcoding glue per RPC --------------------------------------------------------
    const seen = new Set<DescMethod>();
    for (const b of allBindings) {
      if (seen.has(b.method)) continue;
      seen.add(b.method);
      const m = b.method;
      const where = `${service.typeName}.${m.name}`;
      const variants = allBindings.filter((x) => x.method === m);
      // Additional bindings may differ in body/response_body; one function per distinct pair
      // would be needed then. Our APIs keep them equal, so insist on it rather than guess.
      for (const v of variants) {
        if (v.body !== b.body || v.responseBody !== b.responseBody) {
          throw new Error(`${where}: additional_bindings with a different body/response_body are not supported`);
        }
      }
      const im = ingestOf.get(m);
      if (im) {
        generateIngestGlue(b, variants, im);
        continue;
      }
      const pathParams = new Set(variants.flatMap((v) => v.segments.flatMap((s) => ("param" in s ? [s.param] : []))));
      for (const p of pathParams) {
        const pf = fieldByName(m.input, p, where);
        if (pf.fieldKind !== "scalar" || pf.scalar !== ScalarType.STRING) throw new Error(`${where}: path variable ${p} must be a string field`);
      }
      const queryFields = queryFieldsOf(b);
      const reqShape = shapeOf(m.input);
      const fnIn = `${m.localName}RestToRequest`;
      const fnOut = `${m.localName}ResponseToRest`;
      const doc = [
        `REST → ${m.input.name} for ${where}.`,
        ...variants.map((v) => `${v.httpMethod} ${v.pathTemplate}`),
        b.body === "*" ? "Body: the whole request." : b.body ? `Body: field ${b.body}.` : "Body: none (ignored).",
        queryFields.length ? `Query: ${queryFields.map((q) => `${q.field.name} (${q.kind})`).join(", ")}.` : "Query: none.",
        "Throws TranscodeError (HTTP 400) for a bad path, query or body; body warnings go to `warnings`.",
      ];
      f.print(f.jsDoc(doc.join("\n")));
      f.print(
        f.export("function", fnIn),
        "(params: ",
        rt("RestParams", true),
        ", query: URLSearchParams, body: unknown, warnings: ",
        rt("WireViolation", true),
        "[]): ",
        reqShape,
        " {",
      );
      if (b.body === "*") {
        decodeBody(m.input, "decoded");
        f.print("  const request = decoded ?? ", create, "(", schemaOf(m.input), ");");
      } else {
        f.print("  const request = ", create, "(", schemaOf(m.input), ");");
      }
      for (const p of pathParams) {
        const pf = fieldByName(m.input, p, where);
        // Path variables win over the body, as in grpc-gateway.
        f.print("  if (params.", p, " !== undefined) request.", pf.localName, " = ", rt("pathParam"), "(params, ", f.string(p), ");");
      }
      for (const q of queryFields) {
        const ln = q.field.localName;
        const name = f.string(q.field.name);
        switch (q.kind) {
          case "string":
            f.print("  { const v = ", rt("queryString"), "(query, ", name, "); if (v !== undefined) request.", ln, " = v; }");
            break;
          case "bool":
            f.print("  { const v = ", rt("queryBool"), "(query, ", name, "); if (v !== undefined) request.", ln, " = v; }");
            break;
          case "int32":
          case "uint32":
            f.print("  { const v = ", rt("queryInt32"), "(query, ", name, ", ", q.kind === "uint32", "); if (v !== undefined) request.", ln, " = v; }");
            break;
          case "int64":
          case "uint64":
            f.print("  { const v = ", rt("queryInt64"), "(query, ", name, ", ", q.kind === "uint64", "); if (v !== undefined) request.", ln, " = v; }");
            break;
          case "double":
            f.print("  { const v = ", rt("queryDouble"), "(query, ", name, "); if (v !== undefined) request.", ln, " = v; }");
            break;
          case "enum":
            if (q.field.fieldKind !== "enum") break;
            f.print("  { const v = ", rt("queryEnum"), "(query, ", name, ", ", f.import(`${q.field.enum.name}Schema`, `../es/${q.field.enum.file.name}_pb.js`), "); if (v !== undefined) request.", ln, " = v; }");
            break;
          case "field_mask":
            f.print("  { const v = ", rt("queryFieldMask"), "(query, ", name, "); if (v !== undefined) request.", ln, " = v; }");
            break;
        }
      }
      if (b.body !== undefined && b.body !== "*") {
        const bf = fieldByName(m.input, b.body, where);
        if (bf.fieldKind !== "message") throw new Error(`${where}: body field ${b.body} must be a singular message field`);
        const mask = m.input.fields.find((x) => x.name === "update_mask" && x.fieldKind === "message" && x.message.typeName === "google.protobuf.FieldMask");
        decodeBody(bf.message, "decoded", mask !== undefined);
        f.print("  request.", bf.localName, " = decoded;");
        if (mask) {
          f.print("  // grpc-gateway: without an explicit update_mask, the body's top-level keys are the mask.");
          f.print("  if (request.", mask.localName, " === undefined) request.", mask.localName, " = ", rt("fieldMaskFromBody"), "(", schemaOf(bf.message), ", body);");
        }
      }
      f.print("  return request;");
      f.print("}");
      f.print();
      generateResponseToRest(b, fnOut);
    }

    // --- Route table --------------------------------------------------------------------
    const restInputOf = (m: DescMethod): Printable => {
      const im = ingestOf.get(m);
      if (!im) return shapeOf(m.input);
      return im.repeated ? "readonly unknown[]" : "unknown";
    };
    const routesName = `${svcLower}Routes`;
    f.print(f.jsDoc(`REST bindings of ${service.typeName}, from google.api.http (additional_bindings included), in declaration order.`));
    f.print(f.export("const", routesName), ": readonly ", rt("RestRoute", true), "<", runtimeName, ">[] = [");
    for (const b of allBindings) {
      const m = b.method;
      const reqShape = restInputOf(m);
      const resShape = shapeOf(m.output);
      f.print("  {");
      f.print("    rpc: ", f.string(m.name), ",");
      f.print("    service: ", f.string(service.typeName), ",");
      f.print("    method: ", f.string(b.httpMethod), ",");
      f.print("    pathTemplate: ", f.string(b.pathTemplate), ",");
      f.print("    segments: [", b.segments.map((s) => ("literal" in s ? `{ literal: ${JSON.stringify(s.literal)} }` : `{ param: ${JSON.stringify(s.param)} }`)).join(", "), "],");
      f.print("    bodyField: ", b.body === undefined ? "undefined" : f.string(b.body), ",");
      f.print("    responseBodyField: ", b.responseBody === undefined ? "undefined" : f.string(b.responseBody), ",");
      f.print("    queryFields: [", queryFieldsOf(b).map((q) => `{ name: ${JSON.stringify(q.field.name)}, kind: ${JSON.stringify(q.kind)} }`).join(", "), "],");
      f.print("    toRequest: ", m.localName, "RestToRequest,");
      if (reqShape === "unknown") f.print("    call: (runtime, request, context) => runtime.", m.localName, "(request, context),");
      else f.print("    call: (runtime, request, context) => runtime.", m.localName, "(request as ", reqShape, ", context),");
      f.print("    toRest: (response) => ", m.localName, "ResponseToRest(response as ", resShape, "),");
      f.print("  },");
    }
    f.print("];");
    f.print();

    // --- Matcher ------------------------------------------------------------------------
    const matchName = `match${svc}Route`;
    f.print(
      f.jsDoc(
        `Finds the ${service.typeName} route for a method and a path (without query string).\n` +
          `Exact: a trailing slash matches only where one is declared; path variables match one\n` +
          `non-empty segment and are returned raw (pathParam decodes them).`,
      ),
    );
    f.print(f.export("function", matchName), "(method: string, path: string): ", rt("RestMatch", true), "<", runtimeName, "> | undefined {");
    f.print("  const s = path.split(\"/\");");
    f.print("  // s[0] is the empty string before the leading slash.");
    f.print("  if (s[0] !== \"\") return undefined;");
    f.print("  switch (s.length) {");
    const byLen = new Map<number, Binding[]>();
    for (const b of allBindings) {
      const n = b.segments.length + 1;
      byLen.set(n, [...(byLen.get(n) ?? []), b]);
    }
    for (const [len, group] of [...byLen.entries()].sort((a, b) => a[0] - b[0])) {
      f.print("    case ", len, ": {");
      // Same URL shape → one `if`, then a switch on the method. Shapes with more literals
      // first, so a literal beats a variable at the same position.
      const shapes = new Map<string, Binding[]>();
      for (const b of group) shapes.set(shapeKey(b.segments), [...(shapes.get(shapeKey(b.segments)) ?? []), b]);
      const ordered = [...shapes.values()].sort((a, b) => b[0].segments.filter((s) => "literal" in s).length - a[0].segments.filter((s) => "literal" in s).length);
      for (const shape of ordered) {
        const segs = shape[0].segments;
        const conds = segs.map((s, i) => ("literal" in s ? `s[${i + 1}] === ${JSON.stringify(s.literal)}` : `s[${i + 1}] !== ""`));
        f.print("      if (", conds.join(" && "), ") {");
        f.print("        switch (method) {");
        for (const b of shape) {
          const idx = allBindings.indexOf(b);
          const params = b.segments.flatMap((s, i) => ("param" in s ? [`${s.param}: s[${i + 1}]`] : []));
          f.print("          case ", f.string(b.httpMethod), ":");
          f.print("            return { route: ", routesName, "[", idx, "], params: ", params.length ? `{ ${params.join(", ")} }` : "{}", " };");
        }
        f.print("        }");
        f.print("      }");
      }
      f.print("      return undefined;");
      f.print("    }");
    }
    f.print("    default:");
    f.print("      return undefined;");
    f.print("  }");
    f.print("}");
    f.print();

    const methods = [...new Set(allBindings.map((b) => b.httpMethod))];
    const allowedName = `${svcLower}AllowedMethods`;
    f.print(f.jsDoc(`HTTP methods ${service.typeName} accepts at a path; for 405 responses (cold path).`));
    f.print(f.export("function", allowedName), "(path: string): ", rt("HttpMethod", true), "[] {");
    f.print("  const all: ", rt("HttpMethod", true), "[] = [", methods.map((x) => JSON.stringify(x)).join(", "), "];");
    f.print("  return all.filter((m) => ", matchName, "(m, path) !== undefined);");
    f.print("}");
    f.print();

    f.print(f.jsDoc(`${service.typeName} for the REST transport: route table, matcher and allowed methods.`));
    f.print(f.export("const", `${svcLower}Rest`), ": ", rt("RestService", true), "<", runtimeName, "> = {");
    f.print("  service: ", f.string(service.typeName), ",");
    f.print("  desc: ", f.import(svc, esPath(service)), ",");
    f.print("  routes: ", routesName, ",");
    f.print("  match: ", matchName, ",");
    f.print("  allowedMethods: ", allowedName, ",");
    f.print("};");
    f.print();
  }
}
