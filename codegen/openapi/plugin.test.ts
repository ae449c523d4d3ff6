import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { validateBehaviorEvent } from "../../gen/validator/recommender/v1/behavior_validator.js";
import { parsePathTemplate } from "../common/http-rule.js";
import { compareGolden, fixtureRequest, repoRequest, repoRoot, runPlugin } from "../common/plugin-harness.js";
import { plugin as jsonschemaPlugin } from "../jsonschema/plugin.js";
import { plugin as templatesPlugin } from "../templates/plugin.js";
import { errorSchemaName, resolveResponse } from "./errors.js";
import { type OpenApiDocument, openApiPath, type SchemaObject } from "./openapi.js";
import { plugin } from "./plugin.js";

const testdata = "codegen/openapi/testdata";

async function expectValidOpenApi(doc: OpenApiDocument) {
  const validator = new Validator();
  const res = await validator.validate(structuredClone(doc) as unknown as Parameters<Validator["validate"]>[0]);
  expect(res.errors ?? [], JSON.stringify(res.errors, null, 2)).toEqual([]);
  expect(res.valid).toBe(true);
  expect(validator.version).toBe("3.1");
}

const docId = "https://example.invalid/openapi.json";

/** Ajv (JSON Schema 2020-12) over the document, to compile every schema (inline ones too) and check examples against them. */
function schemaValidator(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: docId, components: doc.components });
  return (schema: SchemaObject) => ajv.compile(mapRefs(schema, (r) => `${docId}${r}`) as object);
}

function operations(doc: OpenApiDocument) {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([verb, op]) => ({ path, verb, op: op! })),
  );
}

function checkExamples(doc: OpenApiDocument) {
  const compile = schemaValidator(doc);
  for (const name of Object.keys(doc.components.schemas)) compile({ $ref: `#/components/schemas/${name}` });
  for (const { path, verb, op } of operations(doc)) {
    const media = op.requestBody?.content["application/json"];
    if (!media || media.example === undefined) continue;
    const validate = compile(media.schema);
    expect(validate(media.example), `${verb} ${path} example: ${JSON.stringify(validate.errors)}`).toBe(true);
  }
}

type Json = { [key: string]: unknown };

/**
 * The request-variant JSON Schema (what the API accepts) of every message and enum, by full
 * name: the roots and $defs of the JSON Schema plugin's `<full name>.schema.json` files.
 */
function requestSchemas(files: Map<string, string>): Map<string, Json> {
  const out = new Map<string, Json>();
  const add = (name: string, schema: Json) => {
    const prev = out.get(name);
    if (prev) expect(schema, `${name} differs between schema files`).toEqual(prev);
    out.set(name, schema);
  };
  for (const [file, text] of files) {
    if (!file.endsWith(".schema.json") || /\.(strict|kafka)\.schema\.json$/.test(file)) continue;
    const { $schema: _s, $id: _i, $defs, ...root } = JSON.parse(text) as Json;
    add(String(root.title), root);
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, Json>)) add(name, def);
  }
  return out;
}

/** A copy of `schema` with every `$ref` mapped by `ref`. */
function mapRefs(schema: unknown, ref: (r: string) => string): unknown {
  if (Array.isArray(schema)) return schema.map((x) => mapRefs(x, ref));
  if (schema === null || typeof schema !== "object") return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? ref(v) : mapRefs(v, ref)]),
  );
}

/**
 * Every component schema is the request-variant JSON Schema of its message or enum, with
 * `#/$defs/<full name>` refs written as `#/components/schemas/<component>`.
 */
function expectComponentsAreRequestSchemas(doc: OpenApiDocument, jsonSchemaFiles: Map<string, string>) {
  const schemas = requestSchemas(jsonSchemaFiles);
  // The error body is the REST transport's, not a proto type's (codegen/openapi/errors.ts).
  const components = Object.entries(doc.components.schemas).filter(([name]) => name !== errorSchemaName);
  expect(components.length).toBeGreaterThan(0);
  const componentOf = new Map(components.map(([name, s]) => [s.title, name]));
  for (const [name, component] of components) {
    const expected = schemas.get(String(component.title));
    expect(expected, `component ${name} (title ${String(component.title)}) has no request JSON Schema`).toBeDefined();
    const rewritten = mapRefs(expected, (r) => {
      const target = componentOf.get(r.replace(/^#\/\$defs\//, ""));
      expect(target, `${name}: ${r} has no component`).toBeDefined();
      return `#/components/schemas/${target}`;
    });
    expect(component, `component ${name}`).toEqual(rewritten);
  }
}

describe("openApiPath", () => {
  const path = (template: string) => openApiPath(parsePathTemplate(template, "T"), "Svc.Rpc");

  it("writes literals, single-segment variables, a trailing slash and a custom verb", () => {
    expect(path("/v1/things/{owner}/{item.id}:rename")).toBe("/v1/things/{owner}/{item.id}:rename");
    expect(path("/v1/things/")).toBe("/v1/things/");
    expect(path("/v1/things/{owner=*}")).toBe("/v1/things/{owner}");
  });

  it.each(["/v1/things/{owner=owners/*}", "/v1/things/{owner=**}", "/v1/*/things"])(
    "rejects %s, which has no OpenAPI form",
    (template) => {
      expect(() => path(template)).toThrow("Svc.Rpc: path template");
    },
  );
});

describe("protoc-gen-tracking-openapi golden", () => {
  const files = runPlugin(plugin, fixtureRequest(`${testdata}/protos`));
  const doc = JSON.parse(files.get("openapi.json")!) as OpenApiDocument;

  it("matches the golden files for the fixture protos", () => {
    expect([...files.keys()].sort()).toEqual(["docs.html", "openapi.json"]);
    const diffs = compareGolden(`${testdata}/golden`, files);
    for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
    expect(diffs).toEqual([]);
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    await expectValidOpenApi(doc);
    checkExamples(doc);
  });

  it("has the request JSON Schema of each message and enum as its component", () => {
    expectComponentsAreRequestSchemas(doc, runPlugin(jsonschemaPlugin, fixtureRequest(`${testdata}/protos`)));
  });

  it("binds paths, verbs, additional bindings and params", () => {
    expect(Object.fromEntries(Object.entries(doc.paths).map(([p, i]) => [p, Object.keys(i)]))).toEqual({
      "/v1/things/{owner}/{id}": ["get"],
      "/v1/things": ["get"],
      "/v1/things/": ["get"],
      "/v1/things/{owner}": ["put", "patch"],
      "/v1/things/{owner}/{id}:rename": ["post"],
    });
    const get = doc.paths["/v1/things/{owner}/{id}"]!.get!;
    expect(get.parameters!.map((p) => [p.name, p.in, p.required])).toEqual([
      ["owner", "path", true],
      ["id", "path", true],
      ["archived", "query", false],
    ]);
    // response_body: the field's message.
    expect(resolveResponse(get.responses["200"]!).content!["application/json"].schema).toEqual({
      $ref: "#/components/schemas/fixture.v1.Thing",
    });
    expect(get.summary).toBe("Gets a thing.");
    expect(get.description).toBe("Gets a thing. Returns only the thing.");

    const list = doc.paths["/v1/things"]!.get!;
    expect(list.parameters!.map((p) => p.name)).toEqual(["kind", "limit", "owners"]);
    // Parameters: the field's request schema, without null.
    expect(list.parameters![1]!.schema).toEqual({ type: "integer", minimum: 1, maximum: 100 });
    expect(list.parameters![0]!.schema).toEqual({ $ref: "#/components/schemas/Kind" });
    expect(doc.paths["/v1/things/"]!.get!.operationId).toBe("ShopService_ListThings_1");

    // body "thing" with a FieldMask: Thing's schema with nothing required, inline; the mask is a query param.
    const put = doc.paths["/v1/things/{owner}"]!.put!;
    const { title: _, required, description, ...thing } = doc.components.schemas["fixture.v1.Thing"]!;
    expect(required).toEqual(["owner", "id"]);
    const { description: putDescription, ...putBody } = put.requestBody!.content["application/json"].schema;
    expect(putBody).toEqual(thing);
    expect(putDescription).toBe(
      `${description}\n\nPartial: only the fields present (or named in \`update_mask\`) change.`,
    );
    expect(put.parameters!.map((p) => [p.name, p.in, p.schema.type])).toEqual([
      ["owner", "path", "string"],
      ["update_mask", "query", "string"],
    ]);
    expect(put.description).toBe("Creates or replaces a thing.\n\nOnly the masked fields change.");

    // body "*" with path params: the request minus them, inline.
    const rename = doc.paths["/v1/things/{owner}/{id}:rename"]!.post!;
    expect(rename.requestBody!.content["application/json"].schema).toMatchObject({
      type: "object",
      required: ["name"],
    });
    expect(Object.keys(rename.requestBody!.content["application/json"].schema.properties!)).toEqual(["name"]);
    expect(rename.requestBody!.content["application/json"].example).toEqual({ name: "shiny" });
  });

  it("names components by short name unless it clashes, and documents units, server-filled fields, oneofs and enum values", () => {
    expect(Object.keys(doc.components.schemas)).toEqual([
      "ErrorResponse",
      "fixture.other.Thing",
      "fixture.v1.Thing",
      "Kind",
      "ListThingsResponse",
      "RenameResponse",
    ]);
    const thing = doc.components.schemas["fixture.v1.Thing"]!;
    const p = thing.properties!;
    expect(p.other).toMatchObject({ anyOf: [{ $ref: "#/components/schemas/fixture.other.Thing" }, { type: "null" }] });
    expect(p.price!.description).toBe("Price in cents.\n\nUnit: cents.");
    expect(p.created_at!.description).toBe("Set by the server.\n\nFilled by the server when absent.");
    expect(thing.description).toBe("A thing in the shop.\n\nAt most one of: `number`, `word`.");
    expect(doc.components.schemas.Kind!.description).toBe(
      "Kind of a widget.\n\n- `small`: Small one.\n- `large`\n\nThe proto names (e.g. `KIND_SMALL`) are accepted too.",
    );
    const validate = schemaValidator(doc)({ $ref: "#/components/schemas/fixture.v1.Thing" });
    expect(validate({ owner: "acme", id: "1", kind: "KIND_LARGE", number: 1, word: null })).toBe(true);
    expect(validate({ owner: "acme", id: "1", number: 1, word: "w" })).toBe(false);
    expect(validate({ owner: "ACME", id: "1" })).toBe(false);
    // Hidden has no HTTP binding.
    expect(JSON.stringify(doc)).not.toContain("Hidden");
  });
});

const seedOps: [string, string][] = [
  ["post", "/api/v1/behaviors/track"],
  ["post", "/api/v1/behaviors/track/batch"],
  ["post", "/api/v1/behaviors/validate"],
  ["get", "/api/v1/behaviors/health"],
  ["get", "/api/v1/tracking-configs/templates"],
  ["get", "/api/v1/tracking-configs/templates/"],
  ["post", "/api/v1/tracking-configs/from-template"],
  ["post", "/api/v1/tracking-configs"],
  ["post", "/api/v1/tracking-configs/"],
  ["get", "/api/v1/tracking-configs"],
  ["get", "/api/v1/tracking-configs/"],
  ["get", "/api/v1/tracking-configs/{tenant_id}/{scenario_id}"],
  ["put", "/api/v1/tracking-configs/{tenant_id}/{scenario_id}"],
  ["patch", "/api/v1/tracking-configs/{tenant_id}/{scenario_id}"],
  ["delete", "/api/v1/tracking-configs/{tenant_id}/{scenario_id}"],
];

describe("OpenAPI document of the real protos", () => {
  const files = runPlugin(plugin, repoRequest());
  const doc = JSON.parse(files.get("openapi.json")!) as OpenApiDocument;
  const html = files.get("docs.html")!;

  it("has every seed path and verb, and nothing else", () => {
    const ops = operations(doc)
      .map(({ verb, path }) => `${verb} ${path}`)
      .sort();
    expect(ops).toEqual(seedOps.map(([v, p]) => `${v} ${p}`).sort());
  });

  it("is a valid OpenAPI 3.1 document whose examples match their schemas", async () => {
    await expectValidOpenApi(doc);
    checkExamples(doc);
    const ids = operations(doc).map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("documents each operation's access, security and error answers from the proto", () => {
    const op = (verb: string, path: string) => operations(doc).find((o) => o.verb === verb && o.path === path)!.op;
    const statuses = (o: ReturnType<typeof op>) => Object.keys(o.responses);
    const track = op("post", "/api/v1/behaviors/track");
    expect(track["x-access"]).toBe("tenant");
    expect(track.security).toEqual([{ ApiKey: [] }, { Bearer: [] }]);
    expect(statuses(track)).toEqual(["200", "202", "400", "401", "403", "413", "415", "429", "503", "default"]);
    const response = (status: string) => resolveResponse(track.responses[status]!);
    expect(response("202").content).toEqual(response("200").content);
    expect(Object.keys(response("429").headers ?? {})).toEqual(["Retry-After"]);
    // Errors refer to the shared responses; 403 says which key is missing.
    expect(track.responses["429"]).toEqual({ $ref: "#/components/responses/TooManyRequests" });
    expect(track.responses["403"]).toEqual({ $ref: "#/components/responses/ForbiddenTenant" });
    expect(track["x-codeSamples"][0]!.source).toContain('-H "X-API-Key: $API_KEY"');
    // Validation publishes nothing: no spool, no quota, no sink.
    expect(statuses(op("post", "/api/v1/behaviors/validate"))).toEqual([
      "200",
      "400",
      "401",
      "403",
      "413",
      "415",
      "default",
    ]);
    const health = op("get", "/api/v1/behaviors/health");
    expect([health["x-access"], health.security, statuses(health)]).toEqual(["public", [], ["200", "default"]]);
    expect(health["x-codeSamples"][0]!.source).not.toContain("X-API-Key");
    expect(op("get", "/api/v1/tracking-configs/templates")["x-access"]).toBe("public");
    const update = op("patch", "/api/v1/tracking-configs/{tenant_id}/{scenario_id}");
    expect(update["x-access"]).toBe("admin");
    expect(statuses(update)).toEqual(["200", "400", "401", "403", "404", "409", "413", "415", "503", "default"]);
    // Reads are served from the cache while the store is down: no 503.
    expect(statuses(op("get", "/api/v1/tracking-configs/{tenant_id}/{scenario_id}"))).toEqual([
      "200",
      "400",
      "401",
      "403",
      "404",
      "default",
    ]);
    // Every error answer has the one error body, and every shared response is in components.
    for (const { op: o } of operations(doc)) {
      for (const [status, r] of Object.entries(o.responses)) {
        if (status === "200" || status === "202") continue;
        const name = (r as { $ref: string }).$ref.replace("#/components/responses/", "");
        expect(Object.keys(doc.components.responses), `${o.operationId} ${status}`).toContain(name);
        expect(resolveResponse(r).content?.["application/json"].schema, `${o.operationId} ${status}`).toEqual({
          $ref: `#/components/schemas/${errorSchemaName}`,
        });
      }
    }
    expect(doc.components.schemas[errorSchemaName]!.properties!.errors!.items).toEqual({
      $ref: "#/components/schemas/Violation",
    });
    expect(Object.keys(doc.components.securitySchemes)).toEqual(["ApiKey", "Bearer"]);
    expect(html).toContain("needs an admin API key");
  });

  it("uses the seed's wire form", () => {
    const s = doc.components.schemas;
    expect(s.BehaviorEvent!.required).toEqual([
      "tenant_id",
      "scenario_id",
      "user_id",
      "item_id",
      "action_type",
      "context",
    ]);
    expect(s.BehaviorEvent!.properties!.timestamp).toMatchObject({
      type: ["integer", "null"],
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
    });
    expect(s.ActionType!.enum).toContain("play_end");
    expect(s.DeviceType!.enum).toEqual([
      "mobile",
      "pc",
      "tablet",
      "DEVICE_TYPE_MOBILE",
      "DEVICE_TYPE_PC",
      "DEVICE_TYPE_TABLET",
    ]);
    // Scenario rules only warn: documented, not enforced.
    expect(s.VideoScenarioData!.properties!.video_quality!.description).toBe(
      "视频质量（360p/720p/1080p/4K）\n\nChecked with a warning only (the value is still accepted): one of `360p`, `720p`, `1080p`, `4K`.",
    );
    expect(s.VideoScenarioData!.properties!.completion_rate!.description).toContain("0 ≤ value ≤ 1");
    const scenario = schemaValidator(doc)({ $ref: "#/components/schemas/ScenarioSpecificData" });
    expect(scenario({ video_data: {} })).toBe(true);
    expect(scenario({ video_data: {}, music_data: {} })).toBe(false);
    expect(s.FieldSpec!.properties!.field_type).toMatchObject({ $ref: "#/components/schemas/FieldType" });
    expect(s.FieldType!.enum!.slice(0, 6)).toEqual(["integer", "number", "string", "boolean", "array", "object"]);
    expect(s.TrackBatchRequest!.properties!.events).toMatchObject({
      maxItems: 100,
      items: { $ref: "#/components/schemas/BehaviorEvent" },
    });
    const getConfig = doc.paths["/api/v1/tracking-configs/{tenant_id}/{scenario_id}"]!.get!;
    expect(resolveResponse(getConfig.responses["200"]!).content!["application/json"].schema).toEqual({
      $ref: "#/components/schemas/TrackingConfig",
    });
    const list = doc.paths["/api/v1/tracking-configs/"]!.get!;
    expect(list.parameters!.map((p) => [p.name, p.in, p.schema.type])).toEqual([
      ["tenant_id", "query", "string"],
      ["scenario_type", "query", "string"],
      ["include_inactive", "query", "boolean"],
    ]);
    const track = doc.paths["/api/v1/behaviors/track"]!.post!;
    expect(track.summary).toBe("Tracks one event.");
    expect(track.requestBody!.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/BehaviorEvent",
    });
    const templates = doc.paths["/api/v1/tracking-configs/templates"]!.get!;
    expect(resolveResponse(templates.responses["200"]!).content!["application/json"].schema).toEqual({
      $ref: "#/components/schemas/ListTemplatesResponse",
    });
    const fromTemplate = doc.paths["/api/v1/tracking-configs/from-template"]!.post!;
    expect(fromTemplate.requestBody!.content["application/json"].example).toMatchObject({ template_id: "video" });
  });

  it("has the request JSON Schema of each message and enum as its component", () => {
    expectComponentsAreRequestSchemas(doc, runPlugin(jsonschemaPlugin, repoRequest()));
  });

  it("accepts what the API accepts: BehaviorEvent's bounds and enums agree with gen/jsonschema", () => {
    const request = JSON.parse(
      readFileSync(join(repoRoot, "gen/jsonschema/recommender.v1.BehaviorEvent.schema.json"), "utf8"),
    ) as {
      $defs: Record<
        string,
        {
          enum?: string[];
          properties?: Record<
            string,
            { minimum?: number; maximum?: number; anyOf?: { minimum?: number; maximum?: number }[] }
          >;
        }
      >;
    };
    const bounds = (
      s: { minimum?: number; maximum?: number; anyOf?: { minimum?: number; maximum?: number }[] } | undefined,
    ) => {
      const inner = s?.anyOf?.[0] ?? s;
      return [inner?.minimum, inner?.maximum];
    };
    const rate = doc.components.schemas.VideoScenarioData!.properties!.completion_rate;
    expect(bounds(rate as Parameters<typeof bounds>[0])).toEqual(
      bounds(request.$defs["recommender.v1.VideoScenarioData"]!.properties!.completion_rate),
    );
    expect(doc.components.schemas.ActionType!.enum!.length).toBe(
      request.$defs["recommender.v1.ActionType"]!.enum!.length,
    );

    // An event the server accepts (out-of-range rate and a proto enum name are warnings at most)
    // must pass a client that validates against the OpenAPI document.
    const event = {
      tenant_id: "t1",
      scenario_id: "vlog_feed",
      user_id: "u1",
      item_id: "v1",
      action_type: "ACTION_TYPE_PLAY_END",
      context: { device_type: "mobile" },
      scenario_data: { video_data: { completion_rate: 1.5 } },
    };
    expect(validateBehaviorEvent(event, "request").filter((v) => v.severity === "error")).toEqual([]);
    const validate = schemaValidator(doc)({ $ref: "#/components/schemas/BehaviorEvent" });
    expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
  });

  it("describes the generated scenario templates (GET /api/v1/tracking-configs/templates)", () => {
    const templates = JSON.parse(
      runPlugin(templatesPlugin, repoRequest()).get("scenario_templates.json")!,
    ) as unknown[];
    const validate = schemaValidator(doc)({ $ref: "#/components/schemas/ListTemplatesResponse" });
    expect(validate({ templates }), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ templates: [{ template_id: "x", required_fields: [{ field_type: "float" }] }] })).toBe(false);
  });

  it("renders a self-contained HTML reference", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(|src=/i);
    expect(html).not.toMatch(/href="(?!#)/);
    for (const { op } of operations(doc)) expect(html).toContain(`id="op-${op.operationId}"`);
    for (const [, path] of seedOps) expect(html).toContain(path.replace(/&/g, "&amp;"));
    for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
    // every internal link has a target
    const targets = new Set([...html.matchAll(/id="([^"]+)"/g)].map((m) => m[1]));
    for (const m of html.matchAll(/href="#([^"]+)"/g)) expect(targets, m[1]).toContain(m[1]);
    expect(html).toContain("curl -X POST &quot;$BASE_URL/api/v1/behaviors/track&quot;");
    expect(html).toContain("视频质量（360p/720p/1080p/4K）");
  });

  it("gen/openapi matches a fresh run (make generate)", () => {
    expect(readFileSync(join(repoRoot, "gen/openapi/openapi.json"), "utf8")).toBe(files.get("openapi.json"));
    expect(readFileSync(join(repoRoot, "gen/openapi/docs.html"), "utf8")).toBe(files.get("docs.html"));
  });
});
