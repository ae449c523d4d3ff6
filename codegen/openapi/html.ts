/**
 * Renders an OpenAPI document as one self-contained HTML page (inline CSS, no scripts, no
 * external resources): the API reference served at /api/v1/docs.
 */
import { resolveResponse } from "./errors.js";
import type { HttpMethod, OpenApiDocument, OperationObject, ParameterObject, SchemaObject } from "./openapi.js";

const verbs: readonly HttpMethod[] = ["get", "post", "put", "patch", "delete"];

function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Comment text: paragraphs, `- ` lists and `code` spans; everything else escaped. */
function prose(text: string | undefined): string {
  if (!text) return "";
  const inline = (s: string) => esc(s).replace(/`([^`]+)`/g, "<code>$1</code>");
  return text
    .split(/\n{2,}/)
    .map((para) => {
      const lines = para.split("\n");
      if (lines.every((l) => l.startsWith("- ")))
        return `<ul>${lines.map((l) => `<li>${inline(l.slice(2))}</li>`).join("")}</ul>`;
      return `<p>${lines.map(inline).join(" ")}</p>`;
    })
    .join("");
}

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf("/") + 1);
}

const schemaAnchor = (name: string) => `schema-${name.replace(/[^A-Za-z0-9_.-]/g, "-")}`;
const opAnchor = (op: OperationObject) => `op-${op.operationId}`;

/** A short type description with links to components. */
function typeOf(s: SchemaObject): string {
  if (s.$ref) {
    const n = refName(s.$ref);
    return `<a href="#${schemaAnchor(n)}">${esc(n)}</a>`;
  }
  // Nullable refs and enums: `anyOf: [schema, {type: "null"}]`.
  if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
  const types = typesOf(s);
  if (types.length === 0) return "any";
  return types
    .map((t) => {
      if (t === "array") return `array&lt;${s.items ? typeOf(s.items) : "any"}&gt;`;
      if (isMap(s) && t === "object" && typeof s.additionalProperties === "object")
        return `map&lt;string, ${typeOf(s.additionalProperties)}&gt;`;
      return esc(t);
    })
    .join(" | ");
}

/** The JSON types a schema allows (`type` is a name or a list of names, e.g. `["string", "null"]`). */
function typesOf(s: SchemaObject): string[] {
  return Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
}

/** Whether a schema is a proto map: an object whose values share one schema. */
function isMap(s: SchemaObject): boolean {
  return typesOf(s).includes("object") && typeof s.additionalProperties === "object";
}

/** Constraints of a schema (and of its items/values) as text. */
function constraintsOf(s: SchemaObject, prefix = ""): string[] {
  const out: string[] = [];
  const p = (x: string) => `${prefix}${x}`;
  if (s.enum) out.push(p(`one of: ${s.enum.map((v) => `<code>${esc(v)}</code>`).join(", ")}`));
  // The bounds of the integer type itself (int32, uint32, JSON-safe int64) say nothing the type does not.
  const min = s.minimum === -(2 ** 31) || s.minimum === -Number.MAX_SAFE_INTEGER ? undefined : s.minimum;
  const max =
    s.maximum === 2 ** 31 - 1 || s.maximum === 2 ** 32 - 1 || s.maximum === Number.MAX_SAFE_INTEGER
      ? undefined
      : s.maximum;
  if (min !== undefined && max !== undefined) out.push(p(`${min} ≤ value ≤ ${max}`));
  else if (min !== undefined) out.push(p(`≥ ${min}`));
  else if (max !== undefined) out.push(p(`≤ ${max}`));
  if (s.minLength === 1) out.push(p("non-empty"));
  else if (s.minLength !== undefined) out.push(p(`min length ${s.minLength}`));
  if (s.maxLength !== undefined) out.push(p(`max length ${s.maxLength}`));
  if (s.pattern) out.push(p(`pattern <code>${esc(s.pattern)}</code>`));
  if (s.maxItems !== undefined) out.push(p(`at most ${s.maxItems} items`));
  if (s.maxProperties !== undefined) out.push(p(`at most ${s.maxProperties} ${isMap(s) ? "entries" : "properties"}`));
  if (s.items) out.push(...constraintsOf(s.items, "each: "));
  if (s.additionalProperties && typeof s.additionalProperties === "object")
    out.push(...constraintsOf(s.additionalProperties, "each value: "));
  for (const member of s.anyOf ?? []) out.push(...constraintsOf(member, prefix));
  return out;
}

function propertiesTable(s: SchemaObject): string {
  const props = Object.entries(s.properties ?? {});
  if (props.length === 0) return `<p class="muted">No fields.</p>`;
  const required = new Set(s.required ?? []);
  const rows = props
    .map(([name, p]) => {
      const c = constraintsOf(p);
      return `<tr><td><code>${esc(name)}</code>${required.has(name) ? ` <span class="req">required</span>` : ""}</td><td>${typeOf(p)}</td><td>${prose(p.description)}${
        c.length ? `<div class="constraints">${c.join("; ")}</div>` : ""
      }</td></tr>`;
    })
    .join("\n");
  return `<table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function paramsTable(params: ParameterObject[]): string {
  const rows = params
    .map((p) => {
      const c = constraintsOf(p.schema);
      return `<tr><td><code>${esc(p.name)}</code>${p.required ? ` <span class="req">required</span>` : ""}</td><td>${p.in}</td><td>${typeOf(p.schema)}</td><td>${prose(p.description)}${
        c.length ? `<div class="constraints">${c.join("; ")}</div>` : ""
      }</td></tr>`;
    })
    .join("\n");
  return `<table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** A body schema: a link to its component, or the table of an inline object. */
function bodySchema(s: SchemaObject): string {
  if (s.$ref) return `<p>Schema: ${typeOf(s)}</p>`;
  return `${prose(s.description)}${propertiesTable(s)}`;
}

/** Who may call an operation, as the reference says it. */
const accessText: Record<OperationObject["x-access"], string> = {
  public: "no API key needed",
  tenant: "needs an API key of the events' tenant (when keys are configured)",
  admin: "needs an admin API key (when keys are configured)",
};

function operation(verb: HttpMethod, path: string, op: OperationObject): string {
  const parts: string[] = [];
  parts.push(`<section class="op" id="${esc(opAnchor(op))}">`);
  parts.push(`<h3><span class="verb ${verb}">${verb.toUpperCase()}</span> <code class="path">${esc(path)}</code></h3>`);
  parts.push(`<p class="summary">${esc(op.summary)}</p>`);
  if (op.description) parts.push(prose(op.description));
  parts.push(
    `<p class="muted">Operation <code>${esc(op.operationId)}</code> · RPC <code>${esc(op["x-rpc"])}</code> · ${esc(accessText[op["x-access"]])}</p>`,
  );
  if (op.parameters?.length) parts.push(`<h4>Parameters</h4>${paramsTable(op.parameters)}`);
  if (op.requestBody) {
    const media = op.requestBody.content["application/json"];
    parts.push(`<h4>Request body <span class="muted">application/json</span></h4>`);
    if (op.requestBody.description) parts.push(prose(op.requestBody.description));
    parts.push(bodySchema(media.schema));
  }
  for (const [status, shared] of Object.entries(op.responses)) {
    const r = resolveResponse(shared);
    parts.push(`<h4>Response ${esc(status)}</h4>${prose(r.description)}`);
    for (const [name, h] of Object.entries(r.headers ?? {})) {
      parts.push(`<p class="muted">Header <code>${esc(name)}</code>: ${esc(h.description)}</p>`);
    }
    const media = r.content?.["application/json"];
    if (media) parts.push(bodySchema(media.schema));
  }
  for (const sample of op["x-codeSamples"]) {
    parts.push(`<h4>Example (${esc(sample.label)})</h4><pre><code>${esc(sample.source)}</code></pre>`);
  }
  parts.push(`</section>`);
  return parts.join("\n");
}

function schemaSection(name: string, s: SchemaObject): string {
  const body = typesOf(s).includes("object")
    ? propertiesTable(s)
    : `<p>Type: ${typeOf(s)}</p>${s.enum ? `<div class="constraints">${constraintsOf(s).join("; ")}</div>` : ""}`;
  return `<section class="schema" id="${esc(schemaAnchor(name))}">\n<h3>${esc(name)}</h3>\n${prose(s.description)}\n${body}\n</section>`;
}

const css = `
:root { color-scheme: light dark; --fg:#1d232b; --bg:#fff; --muted:#667; --line:#dde1e6; --code:#f4f6f8; --accent:#2563eb; }
@media (prefers-color-scheme: dark) { :root { --fg:#e6e9ee; --bg:#14171b; --muted:#99a; --line:#2c323a; --code:#1e2329; --accent:#7aa7ff; } }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"PingFang SC","Microsoft YaHei",sans-serif; color:var(--fg); background:var(--bg); }
.layout { display:flex; min-height:100vh; }
nav { width:300px; flex:none; border-right:1px solid var(--line); padding:16px; position:sticky; top:0; height:100vh; overflow:auto; font-size:13px; overflow-wrap:anywhere; }
nav ul { list-style:none; padding:0; margin:0 0 12px; }
nav li { margin:2px 0; }
nav h2 { font-size:12px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); margin:16px 0 6px; }
main { flex:1; min-width:0; padding:24px 40px; max-width:1100px; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
code, pre { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:13px; }
code { background:var(--code); padding:1px 4px; border-radius:3px; }
pre { background:var(--code); padding:12px; border-radius:6px; overflow:auto; }
pre code { padding:0; background:none; }
section.op, section.schema { border-top:1px solid var(--line); padding:16px 0; }
h1 { margin-top:0; } h3 { margin:0 0 8px; } h4 { margin:16px 0 6px; }
table { border-collapse:collapse; width:100%; margin:6px 0; font-size:14px; }
th, td { border:1px solid var(--line); padding:6px 8px; text-align:left; vertical-align:top; }
th { background:var(--code); }
td p { margin:0 0 4px; }
.verb { display:inline-block; min-width:64px; text-align:center; color:#fff; border-radius:4px; padding:2px 6px; font-size:13px; font-weight:600; }
.verb.get { background:#2f855a; } .verb.post { background:#2b6cb0; } .verb.put { background:#b7791f; } .verb.patch { background:#6b46c1; } .verb.delete { background:#c53030; }
.verb.small { min-width:48px; font-size:11px; padding:0 4px; }
.summary { font-weight:600; }
.muted { color:var(--muted); font-size:13px; }
.req { color:#c53030; font-size:11px; font-weight:600; }
.constraints { color:var(--muted); font-size:13px; }
`;

/** The HTML page of an OpenAPI document. */
export function renderHtml(doc: OpenApiDocument): string {
  const ops: { verb: HttpMethod; path: string; op: OperationObject }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const verb of verbs) {
      const op = item[verb];
      if (op) ops.push({ verb, path, op });
    }
  }
  const byTag = new Map<string, typeof ops>();
  for (const tag of doc.tags) byTag.set(tag.name, []);
  for (const o of ops) {
    const tag = o.op.tags[0] ?? "default";
    if (!byTag.has(tag)) byTag.set(tag, []);
    byTag.get(tag)!.push(o);
  }
  const nav: string[] = [];
  const body: string[] = [];
  for (const [tag, list] of byTag) {
    nav.push(`<h2>${esc(tag)}</h2><ul>`);
    for (const o of list) {
      nav.push(
        `<li><a href="#${esc(opAnchor(o.op))}"><span class="verb small ${o.verb}">${o.verb.toUpperCase()}</span> ${esc(o.path)}</a></li>`,
      );
    }
    nav.push(`</ul>`);
    const tagInfo = doc.tags.find((t) => t.name === tag);
    body.push(`<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${prose(tagInfo?.description)}`);
    for (const o of list) body.push(operation(o.verb, o.path, o.op));
  }
  const schemas = Object.entries(doc.components.schemas);
  nav.push(`<h2>Schemas</h2><ul>`);
  for (const [name] of schemas) nav.push(`<li><a href="#${esc(schemaAnchor(name))}">${esc(name)}</a></li>`);
  nav.push(`</ul>`);
  body.push(`<h2 id="schemas">Schemas</h2>`);
  for (const [name, s] of schemas) body.push(schemaSection(name, s));

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} ${esc(doc.info.version)}</title>
<style>${css}</style>
</head>
<body>
<div class="layout">
<nav>
<p><strong>${esc(doc.info.title)}</strong><br><span class="muted">version ${esc(doc.info.version)} · OpenAPI ${esc(doc.openapi)}</span></p>
${nav.join("\n")}
</nav>
<main>
<h1>${esc(doc.info.title)}</h1>
${prose(doc.info.description)}
<p class="muted">Examples use <code>$BASE_URL</code> for the server's address, e.g. <code>export BASE_URL=http://localhost:8080</code>.</p>
${body.join("\n")}
</main>
</div>
</body>
</html>
`;
}
