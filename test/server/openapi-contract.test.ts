/**
 * The OpenAPI document (gen/openapi/openapi.json) against a real server: every error the REST
 * API answers has a status the document lists for that operation, and a body that validates
 * against its ErrorResponse schema (the transport writes the body, codegen/openapi/errors.ts
 * describes it: this test is what keeps the two from drifting). Keys and a quota are
 * configured, so 401/403/429 are real answers; the quota clock is the test's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveResponse } from "../../codegen/openapi/errors.js";
import type { OpenApiDocument } from "../../codegen/openapi/openapi.js";
import type { ApiKeysFile } from "../../server/auth/api-keys.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { call, seedEventData } from "./http-helpers.js";

const doc = JSON.parse(
  readFileSync(new URL("../../gen/openapi/openapi.json", import.meta.url), "utf8"),
) as OpenApiDocument;
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: "openapi.json", components: doc.components });
const validateError = ajv.compile({ $ref: "openapi.json#/components/schemas/ErrorResponse" });

const KEYS: ApiKeysFile = {
  tenants: { contract_t: ["kt"], contract_u: ["ku"] },
  admin: ["adm"],
  quotas: { contract_u: { events_per_second: 1, burst: 1 } },
};

describe("REST error answers match the OpenAPI document", () => {
  let t: TestServer;
  let dir: string;
  const seen: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "openapi-contract-"));
    writeFileSync(join(dir, "keys.json"), JSON.stringify(KEYS));
    t = await startTestServer({ apiKeysFile: join(dir, "keys.json"), quotaClock: () => 1_700_000_000_000 });
  });
  afterAll(async () => {
    await t.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends a request to the operation at `verb template` and checks its error answer against the document. */
  async function expectDocumentedError(
    verb: "get" | "post" | "put" | "patch" | "delete",
    template: string,
    status: number,
    code: string,
    init: {
      path?: string;
      body?: unknown;
      raw?: { text: string; contentType: string };
      headers?: Record<string, string>;
    },
  ) {
    const op = doc.paths[template]?.[verb];
    expect(op, `${verb} ${template} is in the document`).toBeDefined();
    const path = init.path ?? template;
    let res: { status: number; body: unknown; headers: Headers };
    if (init.raw) {
      const r = await fetch(t.baseUrl + path, {
        method: verb.toUpperCase(),
        headers: { "content-type": init.raw.contentType, ...init.headers },
        body: init.raw.text,
      });
      res = { status: r.status, body: JSON.parse(await r.text()), headers: r.headers };
    } else {
      res = await call(t.baseUrl, verb.toUpperCase(), path, init.body, init.headers);
    }
    const where = `${verb} ${path} → ${res.status} ${JSON.stringify(res.body)}`;
    expect(res.status, where).toBe(status);
    expect(Object.keys(op!.responses), `${where}: status documented`).toContain(String(status));
    expect(validateError(res.body), `${where}: ${JSON.stringify(validateError.errors)}`).toBe(true);
    expect((res.body as { error: { code: string } }).error.code, where).toBe(code);
    const documentedHeaders = Object.keys(resolveResponse(op!.responses[String(status)]!).headers ?? {});
    for (const h of documentedHeaders) expect(res.headers.get(h), `${where}: header ${h}`).not.toBeNull();
    seen.push(`${status} ${code}`);
    return res;
  }

  const track = "/api/v1/behaviors/track";
  const event = (tenant = "contract_t") => ({ ...seedEventData(), tenant_id: tenant });

  it("ingest: 400 (JSON and rules), 401, 403, 413, 415, 429", async () => {
    const kt = { "x-api-key": "kt" };
    await expectDocumentedError("post", track, 400, "invalid_json", {
      raw: { text: "{not json", contentType: "application/json" },
      headers: kt,
    });
    const invalid = await expectDocumentedError("post", track, 400, "invalid_argument", {
      body: { ...event(), user_id: undefined },
      headers: kt,
    });
    expect((invalid.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain("user_id");
    await expectDocumentedError("post", track, 401, "unauthenticated", { body: event() });
    await expectDocumentedError("post", track, 403, "forbidden", { body: event("contract_u"), headers: kt });
    await expectDocumentedError("post", track, 403, "forbidden", { body: event(), headers: { "x-api-key": "adm" } });
    await expectDocumentedError("post", track, 413, "body_too_large", {
      raw: { text: JSON.stringify({ ...event(), pad: "x".repeat(2 * 1024 * 1024) }), contentType: "application/json" },
      headers: kt,
    });
    await expectDocumentedError("post", track, 415, "unsupported_media_type", {
      raw: { text: JSON.stringify(event()), contentType: "text/plain" },
      headers: kt,
    });
    // Burst 1 and a clock that does not move: the second event is over the quota.
    const ku = { "x-api-key": "ku" };
    expect((await call(t.baseUrl, "POST", track, event("contract_u"), ku)).status).toBe(200);
    const over = await expectDocumentedError("post", track, 429, "resource_exhausted", {
      body: event("contract_u"),
      headers: ku,
    });
    expect((over.body as { error: { quota: { scope: string } } }).error.quota.scope).toBe("tenant");
    await expectDocumentedError("post", "/api/v1/behaviors/track/batch", 429, "resource_exhausted", {
      body: { events: [event("contract_u")] },
      headers: ku,
    });
    await expectDocumentedError("post", "/api/v1/behaviors/track/batch", 400, "invalid_argument", {
      body: { events: "nope" },
      headers: kt,
    });
  });

  it("config API: 401, 403, 404, 409 (exists, stale version), 400", async () => {
    const adm = { "x-api-key": "adm" };
    const one = "/api/v1/tracking-configs/{tenant_id}/{scenario_id}";
    await expectDocumentedError("get", "/api/v1/tracking-configs", 401, "unauthenticated", {});
    await expectDocumentedError("get", "/api/v1/tracking-configs", 403, "forbidden", {
      headers: { "x-api-key": "kt" },
    });
    await expectDocumentedError("get", one, 404, "not_found", {
      path: "/api/v1/tracking-configs/contract_t/nothing",
      headers: adm,
    });
    const create = { tenant_id: "contract_t", scenario_id: "feed", template_id: "video" };
    expect((await call(t.baseUrl, "POST", "/api/v1/tracking-configs/from-template", create, adm)).status).toBe(200);
    await expectDocumentedError("post", "/api/v1/tracking-configs/from-template", 409, "conflict", {
      body: create,
      headers: adm,
    });
    await expectDocumentedError("patch", one, 409, "version_conflict", {
      path: "/api/v1/tracking-configs/contract_t/feed",
      body: { name: "renamed" },
      headers: { ...adm, "if-match": '"7"' },
    });
    await expectDocumentedError("post", "/api/v1/tracking-configs/from-template", 400, "invalid_argument", {
      body: { ...create, template_id: "no_such_template" },
      headers: adm,
    });
  });

  it("covered every error status the document lists for these operations but 503 (the spool and store tests cause it)", () => {
    expect(new Set(seen.map((s) => s.split(" ")[0]))).toEqual(
      new Set(["400", "401", "403", "404", "409", "413", "415", "429"]),
    );
  });
});
