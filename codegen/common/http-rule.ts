/**
 * The one reader of the google.api.http option for every plugin (handlers, OpenAPI). It
 * reads the option with the generated types (gen/es/google/api, made by the bootstrap
 * step buf.gen.bootstrap.yaml) and parses each path template once, after the grammar of
 * google/api/http.proto:
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * The parse keeps everything the grammar says; what a consumer cannot serve (a verb, a
 * multi-segment variable, a nested field path) it rejects itself, with `where` in the error.
 */
import { type DescMethod, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { http } from "../../gen/es/google/api/annotations_pb.js";
import type { HttpRule } from "../../gen/es/google/api/http_pb.js";

/** An HTTP method google.api.http names (custom methods are rejected). */
export type HttpVerb = "get" | "put" | "post" | "delete" | "patch";

/** One segment of a path template. */
export type PathSegment =
  | { kind: "literal"; value: string }
  /** `*` (one segment) or `**` (the rest of the path). */
  | { kind: "wildcard"; deep: boolean }
  /** `{field.path}` (= `{field.path=*}`) or `{field.path=segments}`. */
  | { kind: "variable"; fieldPath: string; segments: PathSegment[] };

/** A parsed path template. */
export interface PathTemplate {
  /** The template as written in the proto. */
  source: string;
  segments: PathSegment[];
  /** The custom verb after `:`, if any. */
  verb: string | undefined;
}

/** One HTTP binding of an RPC: the rule itself or one of its additional_bindings. */
export interface HttpBinding {
  method: DescMethod;
  verb: HttpVerb;
  template: PathTemplate;
  /** "*", a request field name, or undefined when the request has no body. */
  body: string | undefined;
  /** A response field name, or undefined for the whole response. */
  responseBody: string | undefined;
  /** 0 for the rule itself, then 1.. for its additional_bindings. */
  index: number;
}

const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
const literal = /^[A-Za-z0-9_.~!$&'()+,;=@%-]+$/;

/** Parses a path template; throws with `where` on anything outside the grammar. */
export function parsePathTemplate(source: string, where: string): PathTemplate {
  const fail = (why: string): never => {
    throw new Error(`${where}: path template ${source}: ${why}`);
  };
  if (!source.startsWith("/")) fail("must start with /");
  let rest = source.slice(1);
  let verb: string | undefined;
  // The verb's colon is the last one outside braces.
  let depth = 0;
  for (let i = rest.length - 1; i >= 0; i--) {
    const c = rest[i];
    if (c === "}") depth++;
    else if (c === "{") depth--;
    else if (c === ":" && depth === 0) {
      verb = rest.slice(i + 1);
      if (!literal.test(verb)) fail(`bad verb ":${verb}"`);
      rest = rest.slice(0, i);
      break;
    }
  }
  const raw = splitTop(rest, fail);
  // A trailing slash is kept as an empty last literal: "/a/" and "/a" are distinct routes.
  const trailing = raw.length > 1 && raw[raw.length - 1] === "";
  const segments = parseSegments(trailing ? raw.slice(0, -1) : raw, fail, true);
  if (trailing) segments.push({ kind: "literal", value: "" });
  return { source, segments, verb };
}

/** Splits on "/" outside braces. */
function splitTop(s: string, fail: (why: string) => never): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    if (depth < 0 || depth > 1) fail("unbalanced or nested braces");
    if (c === "/" && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) fail("unbalanced braces");
  out.push(s.slice(start));
  return out;
}

function parseSegments(raw: string[], fail: (why: string) => never, allowVariables: boolean): PathSegment[] {
  return raw.map((seg): PathSegment => {
    if (seg === "*" || seg === "**") return { kind: "wildcard", deep: seg === "**" };
    if (seg.startsWith("{")) {
      if (!allowVariables) fail(`variable ${seg} inside a variable`);
      if (!seg.endsWith("}")) fail(`bad segment ${seg}`);
      const inner = seg.slice(1, -1);
      const eq = inner.indexOf("=");
      const fieldPath = eq < 0 ? inner : inner.slice(0, eq);
      if (!fieldPath.split(".").every((p) => ident.test(p))) fail(`bad field path in ${seg}`);
      const segments =
        eq < 0
          ? [{ kind: "wildcard" as const, deep: false }]
          : parseSegments(inner.slice(eq + 1).split("/"), fail, false);
      return { kind: "variable", fieldPath, segments };
    }
    if (!literal.test(seg)) fail(seg === "" ? "empty segment" : `bad segment ${seg}`);
    return { kind: "literal", value: seg };
  });
}

/** The field paths bound by the template's variables, in order. */
export function pathVariables(t: PathTemplate): string[] {
  return t.segments.flatMap((s) => (s.kind === "variable" ? [s.fieldPath] : []));
}

function bindingOf(method: DescMethod, rule: HttpRule, index: number): HttpBinding {
  const where = `${method.parent.typeName}.${method.name}`;
  const p = rule.pattern;
  switch (p.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      return {
        method,
        verb: p.case,
        template: parsePathTemplate(p.value, where),
        body: rule.body === "" ? undefined : rule.body,
        responseBody: rule.responseBody === "" ? undefined : rule.responseBody,
        index,
      };
    case "custom":
      throw new Error(`${where}: custom HTTP methods (${p.value.kind}) are not supported`);
    default:
      throw new Error(`${where}: google.api.http without a pattern`);
  }
}

/**
 * The HTTP bindings of one RPC — the rule, then its additional_bindings — or none when
 * it has no google.api.http option. Only unary RPCs may have one; additional_bindings
 * may not nest (http.proto forbids it).
 */
export function httpBindingsOf(method: DescMethod): HttpBinding[] {
  if (!hasOption(method, http)) return [];
  const where = `${method.parent.typeName}.${method.name}`;
  if (method.methodKind !== "unary") throw new Error(`${where}: only unary RPCs can have HTTP bindings`);
  const rule = getOption(method, http);
  return [rule, ...rule.additionalBindings].map((r, i) => {
    if (i > 0 && r.additionalBindings.length > 0)
      throw new Error(`${where}: nested additional_bindings are not allowed`);
    return bindingOf(method, r, i);
  });
}

/** The HTTP bindings of every RPC of a service, in declaration order. */
export function serviceHttpBindings(service: DescService): HttpBinding[] {
  return service.methods.flatMap(httpBindingsOf);
}
