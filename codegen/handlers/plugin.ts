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
 * Plus `runtime.ts`, once: codegen/handlers/runtime.ts copied verbatim, the helpers the
 * generated files call, so gen/ imports nothing from codegen/. Request bodies are decoded
 * and enum wire names come from the validator plugin's output (gen/validator).
 *
 * - per service with ingest RPCs, `<service>GrpcIngest`: gRPC request path → the binary
 *   plugin's decoder, runtime call, its encoder — the table server/transport/grpc-fast.ts
 *   serves. It lives here, not in gen/binary, so the codecs need nothing from connect.
 *
 * Options: `es_out` (default `../es`), `validator_out` (default `../validator`) and
 * `binary_out` (default `../binary`): where protoc-gen-es, the validator plugin and the
 * binary plugin write, relative to this plugin's out dir.
 */
import {
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  ScalarType,
} from "@bufbuild/protobuf";
import {
  createEcmaScriptPlugin,
  type GeneratedFile,
  getComments,
  type Printable,
  type Schema,
} from "@bufbuild/protoplugin";
import { binaryFileName, decodeWireName, encodeBinaryName } from "../binary/binary-codegen.js";
import { type HttpBinding, httpBindingsOf, parsePathTemplate } from "../common/http-rule.js";
import { type IngestMethod, ingestMethodOf } from "../common/ingest.js";
import { IngestKind, ingestKind, methodAccess } from "../common/model.js";
import { localName, lowerFirst } from "../common/names.js";
import { withDefaultTarget } from "../common/plugin-target.js";
import { pluginVersion } from "../common/plugin-version.js";
import { emitRuntimeFile, runtimeFile } from "../common/runtime-file.js";
import { validatorFileName } from "../common/validator-codegen.js";
import type { QueryKind } from "./runtime.js";

const pluginName = "protoc-gen-tracking-handlers";

/** The shared runtime, emitted once as `runtime.ts` at the root of the out dir. */
const runtime = runtimeFile(new URL("./runtime.ts", import.meta.url), "runtime.ts");
/** Root-relative (to the out dir) import of the emitted runtime; protoplugin makes it file-relative. */
const RUNTIME_IMPORT = "./runtime.js";

interface Options {
  esOut: string;
  validatorOut: string;
  binaryOut: string;
}

function parseOptions(raw: { key: string; value: string }[]): Options {
  const out: Options = { esOut: "../es", validatorOut: "../validator", binaryOut: "../binary" };
  for (const { key, value } of raw) {
    if (key === "es_out") out.esOut = value;
    else if (key === "validator_out") out.validatorOut = value;
    else if (key === "binary_out") out.binaryOut = value;
    else throw new Error(`unknown option ${key}=${value}`);
  }
  return out;
}

/** A parsed path template segment, as the generated matcher uses it. */
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

/**
 * Parses "/a/{b}/c" into segments (codegen/common/http-rule.ts) and rejects what our
 * matcher does not implement: custom verbs, wildcards, nested field paths and variables
 * with a pattern other than `*`.
 */
export function parseTemplate(template: string, where: string): Segment[] {
  const t = parsePathTemplate(template, where);
  if (t.verb !== undefined) throw new Error(`${where}: custom verbs (":verb") are not supported in ${template}`);
  return t.segments.map((s): Segment => {
    if (s.kind === "literal") return { literal: s.value };
    if (s.kind === "wildcard") throw new Error(`${where}: unsupported segment ${s.deep ? "**" : "*"} in ${template}`);
    const star = s.segments.length === 1 && s.segments[0]?.kind === "wildcard" && !s.segments[0].deep;
    if (!star || s.fieldPath.includes("."))
      throw new Error(
        `${where}: only {field} and {field=*} path variables are supported, got {${s.fieldPath}=…} in ${template}`,
      );
    return { param: s.fieldPath };
  });
}

function bindingOf(b: HttpBinding): Binding {
  const where = `${b.method.parent.typeName}.${b.method.name}`;
  return {
    method: b.method,
    httpMethod: b.verb.toUpperCase(),
    pathTemplate: b.template.source,
    segments: parseTemplate(b.template.source, where),
    body: b.body,
    responseBody: b.responseBody,
  };
}

export const plugin = withDefaultTarget(
  createEcmaScriptPlugin({
    name: pluginName,
    version: pluginVersion,
    parseOptions,
    generateTs(schema: Schema<Options>) {
      let any = false;
      for (const file of schema.files) {
        if (file.services.length === 0) continue;
        const f = schema.generateFile(`${file.name}_handlers.ts`);
        f.preamble(file);
        new FileGen(f, file, schema.options).generate();
        any = true;
      }
      if (any) {
        emitRuntimeFile(schema, pluginName, runtime);
      }
    },
  }),
);

function queryKindOf(field: DescField): QueryKind | undefined {
  if (field.fieldKind === "enum") return "enum";
  if (field.fieldKind === "message")
    return field.message.typeName === "google.protobuf.FieldMask" ? "field_mask" : undefined;
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

/** Key identifying a URL shape: bindings with the same key differ only by HTTP method. */
function shapeKey(segments: Segment[]): string {
  return segments.map((s) => ("literal" in s ? `L${s.literal}` : "P")).join("/");
}

/** The message a REST response serializes: the response_body field's type, else the output. */
function restResponseMessage(b: Binding): DescMessage {
  if (!b.responseBody) return b.method.output;
  const where = `${b.method.parent.typeName}.${b.method.name}`;
  const rf = fieldByName(b.method.output, b.responseBody, where);
  if (rf.fieldKind !== "message")
    throw new Error(`${where}: response_body ${b.responseBody} must be a singular message field`);
  return rf.message;
}

/** The REST/Connect glue of one proto file, printed into `f`. */
class FileGen {
  constructor(
    readonly f: GeneratedFile,
    private readonly file: DescFile,
    private readonly opts: Options,
  ) {}

  /** A symbol of the emitted runtime.ts. */
  rt(name: string, typeOnly = false): Printable {
    return this.f.import(name, RUNTIME_IMPORT, typeOnly);
  }

  /** protoc-gen-es output module of a descriptor, root-relative. */
  esPath(d: DescMessage | DescEnum | DescService): string {
    return `${this.opts.esOut}/${d.file.name}_pb.js`;
  }

  private validator(d: DescMessage | DescEnum, name: string): Printable {
    return this.f.import(name, `${this.opts.validatorOut}/${validatorFileName(d.file).replace(/\.ts$/, ".js")}`);
  }

  /** A codec function of the binary plugin's module for `d`'s file. */
  binary(d: DescMessage, name: string): Printable {
    return this.f.import(name, `${this.opts.binaryOut}/${binaryFileName(d.file).replace(/\.ts$/, ".js")}`);
  }

  schemaOf(d: DescMessage): Printable {
    return d.file.name === "google/protobuf/field_mask"
      ? this.f.import("FieldMaskSchema", "@bufbuild/protobuf/wkt")
      : this.f.import(`${d.name}Schema`, this.esPath(d));
  }

  shapeOf(d: DescMessage): Printable {
    return this.f.import(d.name, this.esPath(d), true);
  }

  generate(): void {
    for (const service of this.file.services) new ServiceGen(this, service).generate();
  }

  /** Request-body decoding with the generated validator/codec. `partial`: the body is a partial update (the request has an update_mask), so a top-level "required" error for a key the body does not carry is not an error. */
  decodeBody(desc: DescMessage, into: string, partial = false): void {
    const { f } = this;
    const found: Printable = partial ? [this.rt("dropAbsentRequired"), "(found, body)"] : "found";
    f.print("  const found = ", this.validator(desc, `validate${desc.name}`), '(body ?? {}, "request", [], "");');
    f.print("  ", this.rt("throwOnErrors"), "(", found, ", warnings);");
    f.print("  const ", into, " = ", this.validator(desc, `${lowerFirst(desc.name)}FromWire`), "(body ?? {});");
  }

  /** message → request-mode wire JSON for ingest RPCs over Connect/gRPC/gRPC-Web. */
  toWire(desc: DescMessage, expr: string): Printable {
    return [this.validator(desc, `${lowerFirst(desc.name)}ToWire`), "(", expr, ")"];
  }

  /**
   * Response → wire JSON with the validator's codec (the one message → wire JSON conversion),
   * writing implicit-presence zero values as REST responses do.
   */
  generateResponseToRest(b: Binding, fnOut: string): void {
    const { f } = this;
    const m = b.method;
    f.print(
      f.jsDoc(
        `${m.output.name} → wire JSON for REST: snake_case keys, enums as wire names, zero values written` +
          (b.responseBody ? `; only the ${b.responseBody} field (response_body).` : "."),
      ),
    );
    const msg = restResponseMessage(b);
    const wire = f.import(
      `${msg.name}Wire`,
      `${this.opts.validatorOut}/${validatorFileName(msg.file).replace(/\.ts$/, ".js")}`,
      true,
    );
    const toWire = this.validator(msg, `${lowerFirst(msg.name)}ToWire`);
    if (b.responseBody) {
      const rf = fieldByName(m.output, b.responseBody, "");
      f.print(
        f.export("function", fnOut),
        "(response: ",
        this.shapeOf(m.output),
        "): ",
        wire,
        " | Record<string, never> {",
      );
      f.print(
        "  return response.",
        rf.localName,
        " === undefined ? {} : ",
        toWire,
        "(response.",
        rf.localName,
        ", true);",
      );
    } else {
      f.print(f.export("function", fnOut), "(response: ", this.shapeOf(m.output), "): ", wire, " {");
      f.print("  return ", toWire, "(response, true);");
    }
    f.print("}");
    f.print();
  }

  /**
   * REST glue of an ingest RPC: checks the envelope only and returns the raw event JSON
   * (TRACK/VALIDATE: the body object; TRACK_BATCH: the body's event array). Unknown
   * top-level keys of a batch body are reported as warnings, not errors.
   */
  generateIngestGlue(b: Binding, variants: Binding[], im: IngestMethod): void {
    const { f } = this;
    const m = b.method;
    const where = `${m.parent.typeName}.${m.name}`;
    const kindName = IngestKind[im.kind];
    for (const v of variants) {
      if (v.segments.some((s) => "param" in s))
        throw new Error(`${where}: ingest ${kindName} RPCs cannot bind path variables (${v.pathTemplate})`);
    }
    if (im.repeated && b.body !== "*")
      throw new Error(`${where}: ingest ${kindName} needs body: "*" (the {"${im.field.name}": [...]} envelope)`);
    if (!im.repeated && b.body !== im.field.name)
      throw new Error(`${where}: ingest ${kindName} needs body: "${im.field.name}" (the event is the whole body)`);
    const fnIn = `${m.localName}RestToRequest`;
    const variantsDoc = variants.map((v) => `${v.httpMethod} ${v.pathTemplate}`);
    const signature = (ret: string): Printable[] => [
      f.export("function", fnIn),
      "(_params: ",
      this.rt("RestParams", true),
      ", _query: URLSearchParams, body: unknown, ",
      im.repeated ? "warnings" : "_warnings",
      ": ",
      this.rt("WireViolation", true),
      `[]): ${ret} {`,
    ];
    if (im.repeated) {
      const maxName = `${m.localName}${im.field.localName.charAt(0).toUpperCase()}${im.field.localName.slice(1)}MaxItems`;
      if (im.maxItems !== undefined) {
        f.print(
          f.jsDoc(
            `Most items ${m.input.name}.${im.field.name} may have (its max_items option); more is a 400 over REST.`,
          ),
        );
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
        `Throws TranscodeError (HTTP 400): rule "type" for a non-object body or a non-array ${im.field.name}` +
          (im.maxItems !== undefined ? `, rule "max_items" for too many items.` : "."),
      ];
      f.print(f.jsDoc(doc.join("\n")));
      f.print(...signature("readonly unknown[]"));
      f.print(
        "  return ",
        this.rt("ingestBatchBody"),
        "(body, ",
        f.string(im.field.name),
        ", ",
        im.maxItems !== undefined ? maxName : "undefined",
        ", warnings);",
      );
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
      f.print(...signature("unknown"));
      f.print("  return ", this.rt("ingestEventBody"), "(body);");
      f.print("}");
    }
    f.print();
    this.generateResponseToRest(b, `${m.localName}ResponseToRest`);
  }

  /** REST glue of a non-ingest RPC: path, query and body → request message, response → wire JSON. */
  generateRestGlue(b: Binding, variants: Binding[]): void {
    const { f } = this;
    const m = b.method;
    const where = `${m.parent.typeName}.${m.name}`;
    const pathParams = new Set(variants.flatMap((v) => v.segments.flatMap((s) => ("param" in s ? [s.param] : []))));
    for (const p of pathParams) {
      const pf = fieldByName(m.input, p, where);
      if (pf.fieldKind !== "scalar" || pf.scalar !== ScalarType.STRING)
        throw new Error(`${where}: path variable ${p} must be a string field`);
    }
    const queryFields = queryFieldsOf(b);
    const bodyField = b.body !== undefined && b.body !== "*" ? fieldByName(m.input, b.body, where) : undefined;
    const doc = [
      `REST → ${m.input.name} for ${where}.`,
      ...variants.map((v) => `${v.httpMethod} ${v.pathTemplate}`),
      b.body === "*" ? "Body: the whole request." : b.body ? `Body: field ${b.body}.` : "Body: none (ignored).",
      queryFields.length
        ? `Query: ${queryFields.map((q) => `${q.field.name} (${q.kind})`).join(", ")}.`
        : "Query: none.",
      "Throws TranscodeError (HTTP 400) for a bad path, query or body; body warnings go to `warnings`.",
    ];
    const used = (yes: boolean, name: string) => (yes ? name : `_${name}`);
    f.print(f.jsDoc(doc.join("\n")));
    f.print(
      f.export("function", `${m.localName}RestToRequest`),
      "(",
      used(pathParams.size > 0, "params"),
      ": ",
      this.rt("RestParams", true),
      ", ",
      used(queryFields.length > 0, "query"),
      ": URLSearchParams, ",
      used(b.body !== undefined, "body"),
      ": unknown, ",
      used(b.body !== undefined, "warnings"),
      ": ",
      this.rt("WireViolation", true),
      "[]): ",
      this.shapeOf(m.input),
      " {",
    );
    const create = f.import("create", "@bufbuild/protobuf");
    if (b.body === "*") {
      this.decodeBody(m.input, "decoded");
      f.print("  const request = decoded ?? ", create, "(", this.schemaOf(m.input), ");");
    } else {
      f.print("  const request = ", create, "(", this.schemaOf(m.input), ");");
    }
    for (const p of pathParams) {
      const pf = fieldByName(m.input, p, where);
      // Path variables win over the body, as in grpc-gateway.
      f.print(
        "  if (params.",
        p,
        " !== undefined) request.",
        pf.localName,
        " = ",
        this.rt("pathParam"),
        "(params, ",
        f.string(p),
        ");",
      );
    }
    for (const q of queryFields) this.generateQueryField(q.field, q.kind);
    if (bodyField) {
      if (bodyField.fieldKind !== "message")
        throw new Error(`${where}: body field ${b.body} must be a singular message field`);
      const mask = m.input.fields.find(
        (x) =>
          x.name === "update_mask" && x.fieldKind === "message" && x.message.typeName === "google.protobuf.FieldMask",
      );
      this.decodeBody(bodyField.message, "decoded", mask !== undefined);
      f.print("  request.", bodyField.localName, " = decoded;");
      if (mask) {
        f.print("  // grpc-gateway: without an explicit update_mask, the body's top-level keys are the mask.");
        f.print(
          "  if (request.",
          mask.localName,
          " === undefined) request.",
          mask.localName,
          " = ",
          this.rt("fieldMaskFromBody"),
          "(",
          this.schemaOf(bodyField.message),
          ", body);",
        );
      }
    }
    f.print("  return request;");
    f.print("}");
    f.print();
    this.generateResponseToRest(b, `${m.localName}ResponseToRest`);
  }

  private generateQueryField(field: DescField, kind: QueryKind): void {
    const { f } = this;
    const name = f.string(field.name);
    const parse: Printable[] = (() => {
      switch (kind) {
        case "string":
          return [this.rt("queryString"), "(query, ", name, ")"];
        case "bool":
          return [this.rt("queryBool"), "(query, ", name, ")"];
        case "int32":
        case "uint32":
          return [this.rt("queryInt32"), "(query, ", name, ", ", kind === "uint32", ")"];
        case "int64":
        case "uint64":
          return [this.rt("queryInt64"), "(query, ", name, ", ", kind === "uint64", ")"];
        case "double":
          return [this.rt("queryDouble"), "(query, ", name, ")"];
        case "enum": {
          if (field.fieldKind !== "enum") throw new Error(`${field.parent.typeName}.${field.name}: not an enum`);
          const n = lowerFirst(localName(field.enum));
          return [
            this.rt("queryEnum"),
            "(query, ",
            name,
            ", ",
            this.validator(field.enum, `${n}FromWire`),
            ", ",
            this.validator(field.enum, `${n}WireNames`),
            ")",
          ];
        }
        case "field_mask":
          return [this.rt("queryFieldMask"), "(query, ", name, ")"];
      }
    })();
    f.print("  { const v = ", parse, "; if (v !== undefined) request.", field.localName, " = v; }");
  }
}

/** The runtime interface, Connect registration, REST glue, route table and matcher of one service. */
class ServiceGen {
  private readonly f: GeneratedFile;
  private readonly svc: string;
  private readonly svcLower: string;
  private readonly runtimeName: string;
  private readonly bindings: Binding[];
  private readonly ingestOf = new Map<DescMethod, IngestMethod>();

  constructor(
    private readonly file: FileGen,
    private readonly service: DescService,
  ) {
    this.f = file.f;
    this.svc = service.name;
    this.svcLower = lowerFirst(service.name);
    this.runtimeName = `${service.name}Runtime`;
    this.bindings = service.methods.flatMap((m) => {
      if (m.methodKind !== "unary") throw new Error(`${m.parent.typeName}.${m.name}: only unary RPCs are supported`);
      return httpBindingsOf(m).map(bindingOf);
    });
    for (const m of service.methods) {
      const im = ingestMethodOf(m);
      if (im) this.ingestOf.set(m, im);
    }
  }

  private rt(name: string, typeOnly = false): Printable {
    return this.file.rt(name, typeOnly);
  }

  generate(): void {
    this.generateRuntimeInterface();
    this.generateRegister();
    this.generateGrpcIngestTable();
    this.generateAccess();
    if (this.bindings.length === 0) return;
    this.generateGlue();
    this.generateRouteTable();
    this.generateMatcher();
    this.generateRestService();
  }

  /** The runtime parameter of an ingest method is named after its event field. */
  private paramOf(im: IngestMethod): string {
    return im.field.localName === "context" || im.field.localName === "runtime" ? "input" : im.field.localName;
  }

  private shapeOf(d: DescMessage): Printable {
    return this.file.shapeOf(d);
  }

  private generateRuntimeInterface(): void {
    const { f, service, svc, svcLower, runtimeName, ingestOf } = this;
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
      const rest = this.bindings
        .filter((b) => b.method === m)
        .map((b) => `${b.httpMethod} ${b.pathTemplate}${b.body ? ` (body: ${b.body})` : ""}`);
      const kind = ingestKind(m);
      const im = ingestOf.get(m);
      const lines = [
        getComments(m).leading?.trim() || `Handles ${m.name}.`,
        "",
        ...rest.map((r) => `REST: ${r}`),
        ...(kind !== IngestKind.UNSPECIFIED ? [`Ingest kind: ${IngestKind[kind]}`] : []),
        ...(im ? this.ingestDoc(im) : []),
        `@generated from rpc ${service.typeName}.${m.name}`,
      ];
      f.print(f.jsDoc(lines.join("\n"), "  "));
      const param: Printable = im
        ? `${this.paramOf(im)}: ${im.repeated ? "readonly unknown[]" : "unknown"}`
        : ["request: ", this.shapeOf(m.input)];
      f.print(
        "  ",
        m.localName,
        "(",
        param,
        ", context: ",
        this.connect("HandlerContext"),
        "): Promise<",
        this.shapeOf(m.output),
        ">;",
      );
    }
    f.print("}");
    f.print();
  }

  private ingestDoc(im: IngestMethod): string[] {
    const m = im.method;
    return im.repeated
      ? [
          "",
          `\`${this.paramOf(im)}\`: the items of ${m.input.name}.${im.field.name} (${im.event.typeName}) as request-mode wire JSON,`,
          "each un-validated (an item may not even be an object).",
          `REST: the body's \`${im.field.name}\` array as parsed; only the envelope was checked (a JSON object,`,
          `\`${im.field.name}\` an array${im.maxItems !== undefined ? ` of at most ${im.maxItems} items` : ""}; unknown top-level keys are warnings).`,
          `Connect/gRPC/gRPC-Web: each message converted with ${lowerFirst(im.event.name)}ToWire (absent fields omitted,`,
          "so a missing required field is still reported).",
          "Validate each item and answer per item (the ingest pipeline does).",
        ]
      : [
          "",
          `\`${this.paramOf(im)}\`: ${m.input.name}.${im.field.name} (${im.event.typeName}) as request-mode wire JSON, un-validated.`,
          "REST: the body object as parsed.",
          `Connect/gRPC/gRPC-Web: the message converted with ${lowerFirst(im.event.name)}ToWire (absent fields omitted,`,
          `so a missing required field is still reported); \`{}\` when the request has no ${im.field.name}.`,
          "Validate it before use (the ingest pipeline does).",
        ];
  }

  private connect(name: string): Printable {
    return this.f.import(name, "@connectrpc/connect", true);
  }

  private serviceDesc(): Printable {
    return this.f.import(this.svc, this.file.esPath(this.service));
  }

  private generateRegister(): void {
    const { f, service, svc, runtimeName, ingestOf } = this;
    f.print(
      f.jsDoc(
        `Mounts ${service.typeName} on a connect router (Connect, gRPC and gRPC-Web protocols).` +
          (ingestOf.size
            ? `\nIngest RPCs hand the runtime their event message(s) converted to request-mode wire JSON.`
            : ""),
      ),
    );
    f.print(
      f.export("function", `register${svc}`),
      "(router: ",
      this.connect("ConnectRouter"),
      ", runtime: ",
      runtimeName,
      "): ",
      this.connect("ConnectRouter"),
      " {",
    );
    f.print("  return router.service(", this.serviceDesc(), ", {");
    for (const m of service.methods) {
      const im = ingestOf.get(m);
      if (!im) {
        f.print("    ", m.localName, ": (request, context) => runtime.", m.localName, "(request, context),");
      } else if (im.repeated) {
        f.print(
          "    ",
          m.localName,
          ": (request, context) => runtime.",
          m.localName,
          "(request.",
          im.field.localName,
          ".map((x) => ",
          this.file.toWire(im.event, "x"),
          "), context),",
        );
      } else {
        const fl = `request.${im.field.localName}`;
        f.print(
          "    ",
          m.localName,
          ": (request, context) => runtime.",
          m.localName,
          "(",
          fl,
          " ? ",
          this.file.toWire(im.event, fl),
          " : {}, context),",
        );
      }
    }
    f.print("  });");
    f.print("}");
    f.print();
  }

  /**
   * `<service>GrpcIngest`: the ingest RPCs by gRPC request path → the binary plugin's decoder,
   * the runtime call and its encoder, for server/transport/grpc-fast.ts. The list of ingest
   * RPCs is the proto's (codegen/common/ingest.ts), not a hand-written one.
   */
  private generateGrpcIngestTable(): void {
    const { f, service, svcLower, runtimeName, ingestOf } = this;
    if (ingestOf.size === 0) return;
    const T: Printable = [this.rt("GrpcIngestRpc", true), "<", runtimeName, ">"];
    f.print(
      f.jsDoc(
        `The ingest RPCs of ${service.typeName} by gRPC request path, for a fast path that\n` +
          `answers them on the HTTP/2 stream itself (server/transport/grpc-fast.ts).`,
      ),
    );
    f.print(f.export("const", `${svcLower}GrpcIngest`), ": ReadonlyMap<string, ", T, "> = new Map<string, ", T, ">([");
    for (const im of ingestOf.values()) {
      const m = im.method;
      // The binary plugin exports codecs only for the messages of the file it generates for.
      if (m.input.file !== service.file || m.output.file !== service.file)
        throw new Error(
          `${service.typeName}.${m.name}: request and response must be declared in ${service.file.proto.name}`,
        );
      f.print("  [", f.string(`/${service.typeName}/${m.name}`), ", {");
      f.print("    rpc: ", f.string(m.name), ",");
      f.print(
        "    invoke: (runtime, buf, start, end, context, reserve) => runtime.",
        m.localName,
        "(",
        this.file.binary(m.input, decodeWireName(m.input)),
        `(buf, start, end).${im.field.name} ?? ${im.repeated ? "[]" : "{}"}, context).then((res) => `,
        this.file.binary(m.output, encodeBinaryName(m.output)),
        "(res, reserve)),",
      );
      f.print("  }],");
    }
    f.print("]);");
    f.print();
  }

  /** Transcoding glue per RPC, in declaration order. */
  private generateGlue(): void {
    const seen = new Set<DescMethod>();
    for (const b of this.bindings) {
      if (seen.has(b.method)) continue;
      seen.add(b.method);
      const m = b.method;
      const variants = this.bindings.filter((x) => x.method === m);
      // Additional bindings may differ in body/response_body; one function per distinct pair
      // would be needed then. Our APIs keep them equal, so insist on it rather than guess.
      for (const v of variants) {
        if (v.body !== b.body || v.responseBody !== b.responseBody) {
          throw new Error(
            `${this.service.typeName}.${m.name}: additional_bindings with a different body/response_body are not supported`,
          );
        }
      }
      const im = this.ingestOf.get(m);
      if (im) this.file.generateIngestGlue(b, variants, im);
      else this.file.generateRestGlue(b, variants);
    }
  }

  private get routesName(): string {
    return `${this.svcLower}Routes`;
  }

  private get matchName(): string {
    return `match${this.svc}Route`;
  }

  private get allowedName(): string {
    return `${this.svcLower}AllowedMethods`;
  }

  private generateRouteTable(): void {
    const { f, service, runtimeName } = this;
    const restInputOf = (m: DescMethod): Printable => {
      const im = this.ingestOf.get(m);
      if (!im) return this.shapeOf(m.input);
      return im.repeated ? "readonly unknown[]" : "unknown";
    };
    f.print(
      f.jsDoc(
        `REST bindings of ${service.typeName}, from google.api.http (additional_bindings included), in declaration order.`,
      ),
    );
    f.print(f.export("const", this.routesName), ": readonly ", this.rt("RestRoute", true), "<", runtimeName, ">[] = [");
    for (const b of this.bindings) {
      const m = b.method;
      const reqShape = restInputOf(m);
      f.print("  {");
      f.print("    rpc: ", f.string(m.name), ",");
      f.print("    service: ", f.string(service.typeName), ",");
      f.print("    method: ", f.string(b.httpMethod), ",");
      f.print("    pathTemplate: ", f.string(b.pathTemplate), ",");
      f.print(
        "    segments: [",
        b.segments
          .map((s) =>
            "literal" in s ? `{ literal: ${JSON.stringify(s.literal)} }` : `{ param: ${JSON.stringify(s.param)} }`,
          )
          .join(", "),
        "],",
      );
      f.print("    bodyField: ", b.body === undefined ? "undefined" : f.string(b.body), ",");
      f.print("    responseBodyField: ", b.responseBody === undefined ? "undefined" : f.string(b.responseBody), ",");
      f.print(
        "    queryFields: [",
        queryFieldsOf(b)
          .map((q) => `{ name: ${JSON.stringify(q.field.name)}, kind: ${JSON.stringify(q.kind)} }`)
          .join(", "),
        "],",
      );
      f.print("    toRequest: ", m.localName, "RestToRequest,");
      if (reqShape === "unknown")
        f.print("    call: (runtime, request, context) => runtime.", m.localName, "(request, context),");
      else
        f.print(
          "    call: (runtime, request, context) => runtime.",
          m.localName,
          "(request as ",
          reqShape,
          ", context),",
        );
      f.print("    toRest: (response) => ", m.localName, "ResponseToRest(response as ", this.shapeOf(m.output), "),");
      f.print("  },");
    }
    f.print("];");
    f.print();
  }

  private generateMatcher(): void {
    const { f, service, runtimeName } = this;
    f.print(
      f.jsDoc(
        `Finds the ${service.typeName} route for a method and a path (without query string).\n` +
          `Exact: a trailing slash matches only where one is declared; path variables match one\n` +
          `non-empty segment and are returned raw (pathParam decodes them).`,
      ),
    );
    f.print(
      f.export("function", this.matchName),
      "(method: string, path: string): ",
      this.rt("RestMatch", true),
      "<",
      runtimeName,
      "> | undefined {",
    );
    f.print('  const s = path.split("/");');
    f.print("  // s[0] is the empty string before the leading slash.");
    f.print('  if (s[0] !== "") return undefined;');
    f.print("  switch (s.length) {");
    const byLen = new Map<number, Binding[]>();
    for (const b of this.bindings) {
      const n = b.segments.length + 1;
      byLen.set(n, [...(byLen.get(n) ?? []), b]);
    }
    for (const [len, group] of [...byLen.entries()].sort((a, b) => a[0] - b[0])) {
      f.print("    case ", len, ": {");
      // Same URL shape → one `if`, then a switch on the method. Shapes with more literals
      // first, so a literal beats a variable at the same position.
      const shapes = new Map<string, Binding[]>();
      for (const b of group) shapes.set(shapeKey(b.segments), [...(shapes.get(shapeKey(b.segments)) ?? []), b]);
      const literals = (bs: Binding[]) => bs[0]?.segments.filter((s) => "literal" in s).length ?? 0;
      const ordered = [...shapes.values()].sort((a, b) => literals(b) - literals(a));
      for (const shape of ordered) {
        const segs = shape[0]?.segments ?? [];
        const conds = segs.map((s, i) =>
          "literal" in s ? `s[${i + 1}] === ${JSON.stringify(s.literal)}` : `s[${i + 1}] !== ""`,
        );
        f.print("      if (", conds.join(" && "), ") {");
        f.print("        switch (method) {");
        for (const b of shape) {
          const idx = this.bindings.indexOf(b);
          // `!`: the length case guarantees s[i + 1] exists.
          const params = b.segments.flatMap((s, i) => ("param" in s ? [`${s.param}: s[${i + 1}]!`] : []));
          f.print("          case ", f.string(b.httpMethod), ":");
          f.print(
            "            return { route: ",
            this.routesName,
            "[",
            idx,
            "]!, params: ",
            params.length ? `{ ${params.join(", ")} }` : "{}",
            " };",
          );
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
  }

  private generateAccess(): void {
    const { f, service } = this;
    f.print(
      f.jsDoc(
        `Who may call each RPC of ${service.typeName} once the server has API keys (the proto's access option; not set = admin).`,
      ),
    );
    f.print(
      f.export("const", `${this.svcLower}Access`),
      ": Readonly<Record<string, ",
      this.rt("MethodAccess", true),
      ">> = {",
    );
    for (const m of service.methods) f.print("  ", m.name, ": ", f.string(methodAccess(m)), ",");
    f.print("};");
    f.print();
  }

  private generateRestService(): void {
    const { f, service, runtimeName } = this;
    const methods = [...new Set(this.bindings.map((b) => b.httpMethod))];
    f.print(f.jsDoc(`HTTP methods ${service.typeName} accepts at a path; for 405 responses (cold path).`));
    f.print(f.export("function", this.allowedName), "(path: string): ", this.rt("HttpMethod", true), "[] {");
    f.print(
      "  const all: ",
      this.rt("HttpMethod", true),
      "[] = [",
      methods.map((x) => JSON.stringify(x)).join(", "),
      "];",
    );
    f.print("  return all.filter((m) => ", this.matchName, "(m, path) !== undefined);");
    f.print("}");
    f.print();

    f.print(f.jsDoc(`${service.typeName} for the REST transport: route table, matcher, allowed methods and access.`));
    f.print(f.export("const", `${this.svcLower}Rest`), ": ", this.rt("RestService", true), "<", runtimeName, "> = {");
    f.print("  service: ", f.string(service.typeName), ",");
    f.print("  desc: ", this.serviceDesc(), ",");
    f.print("  routes: ", this.routesName, ",");
    f.print("  match: ", this.matchName, ",");
    f.print("  allowedMethods: ", this.allowedName, ",");
    f.print("  access: ", `${this.svcLower}Access`, ",");
    f.print("};");
    f.print();
  }
}
