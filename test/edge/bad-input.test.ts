// Bad input over the wire against the real server: every class gets a clear 4xx whose JSON
// error body names the problem, and the process stays healthy afterwards.
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { errorText, jsonOrUndefined, rawHttp, seedEvent } from "./edge-helpers.js";

const TRACK = "/api/v1/behaviors/track";
const BATCH = "/api/v1/behaviors/track/batch";
const CONFIGS = "/api/v1/tracking-configs";
const JSON_CT = { "content-type": "application/json" };
const ev = seedEvent();
const evText = JSON.stringify(ev);
const withEvent = (patch: Record<string, unknown>) => JSON.stringify({ ...ev, ...patch });
const nest = (depth: number): unknown => JSON.parse("[".repeat(depth) + "]".repeat(depth));

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | FormData | Blob | undefined;
  status: number;
  /** Must appear in the error code/message/violations (errorText). */
  names: RegExp;
  /** Extra header checks. */
  header?: [string, RegExp];
}

const cases: Case[] = [
  // Content type
  {
    name: "text/plain content type",
    headers: { "content-type": "text/plain" },
    body: evText,
    status: 415,
    names: /Content-Type must be application\/json.*text\/plain/,
  },
  {
    name: "no content type",
    headers: {},
    body: new Blob([evText]),
    status: 415,
    names: /Content-Type must be application\/json, got none/,
  },
  {
    name: "multipart form",
    headers: {},
    body: (() => {
      const f = new FormData();
      f.set("event", evText);
      return f;
    })(),
    status: 415,
    names: /Content-Type must be application\/json.*multipart\/form-data/,
  },
  {
    name: "UTF-16 body with charset=utf-16",
    headers: { "content-type": "application/json; charset=utf-16" },
    body: Buffer.from(evText, "utf16le"),
    status: 415,
    names: /charset "utf-16" is not supported.*UTF-8/,
  },
  // Malformed JSON
  { name: "truncated JSON", body: evText.slice(0, 40), status: 400, names: /invalid_json.*malformed JSON/ },
  { name: "trailing comma", body: evText.replace(/}$/, ",}"), status: 400, names: /invalid_json.*malformed JSON/ },
  { name: "single quotes", body: "{'tenant_id': 'mymx'}", status: 400, names: /invalid_json.*malformed JSON/ },
  {
    name: "NaN literal",
    body: evText.replace('"position":3', '"position":NaN'),
    status: 400,
    names: /invalid_json.*malformed JSON/,
  },
  // Not an object
  { name: "empty body", body: "", status: 400, names: /request body must be a JSON object/ },
  { name: "JSON array body", body: "[]", status: 400, names: /request body must be a JSON object/ },
  { name: "JSON string body", body: '"event"', status: 400, names: /request body must be a JSON object/ },
  { name: "JSON number body", body: "42", status: 400, names: /request body must be a JSON object/ },
  { name: "JSON null body", body: "null", status: 400, names: /request body must be a JSON object/ },
  {
    name: "config body is an array",
    path: CONFIGS,
    body: "[]",
    status: 400,
    names: /must be an object \(TrackingConfig\)/,
  },
  // Shape attacks
  {
    name: "depth 1000 in extra_data",
    body: withEvent({ extra_data: { deep: nest(1000) } }),
    status: 400,
    names: /too_deep.*JSON nesting deeper than 32/,
  },
  {
    name: "__proto__ key at top level",
    body: evText.replace("{", '{"__proto__":{"polluted":true},'),
    status: 400,
    names: /forbidden_key.*"__proto__"/,
  },
  {
    name: "__proto__ key nested in context",
    body: evText.replace('"context":{', '"context":{"__proto__":{"polluted":true},'),
    status: 400,
    names: /forbidden_key.*"__proto__"/,
  },
  {
    name: "\\u005f_proto__ escaped key",
    body: evText.replace("{", '{"\\u005f_proto__":{"polluted":true},'),
    status: 400,
    names: /forbidden_key.*"__proto__"/,
  },
  {
    name: "constructor.prototype",
    body: withEvent({ extra_data: { constructor: { prototype: { polluted: true } } } }),
    status: 400,
    names: /forbidden_key.*"constructor"/,
  },
  {
    name: "__proto__ in a tracking config",
    path: CONFIGS,
    body: '{"tenant_id":"mymx","scenario_id":"s","__proto__":{"x":1}}',
    status: 400,
    names: /forbidden_key.*"__proto__"/,
  },
  {
    name: "invalid UTF-8 bytes",
    body: Buffer.concat([Buffer.from('{"tenant_id":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
    status: 400,
    names: /invalid_utf8.*not valid UTF-8/,
  },
  // Size and encoding
  {
    name: "body over the 1 MiB limit",
    body: withEvent({ item_id: "x".repeat(1024 * 1024) }),
    status: 413,
    names: /body_too_large.*exceeds 1048576 bytes/,
  },
  {
    name: "corrupt gzip body",
    headers: { ...JSON_CT, "content-encoding": "gzip" },
    body: Buffer.from("definitely not gzip"),
    status: 400,
    names: /invalid_gzip.*not valid gzip/,
  },
  {
    name: "gzip bomb (64 MiB of spaces)",
    headers: { ...JSON_CT, "content-encoding": "gzip" },
    body: gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)),
    status: 413,
    names: /body_too_large.*decompressed request body exceeds/,
  },
  {
    name: "unknown Content-Encoding br",
    headers: { ...JSON_CT, "content-encoding": "br" },
    body: evText,
    status: 415,
    names: /unsupported_encoding.*Content-Encoding br is not supported/,
  },
  {
    name: "unknown Content-Encoding x-custom",
    headers: { ...JSON_CT, "content-encoding": "x-custom" },
    body: evText,
    status: 415,
    names: /Content-Encoding x-custom is not supported/,
  },
  // Batch envelope
  {
    name: "batch of 101 events",
    path: BATCH,
    body: JSON.stringify({ events: Array.from({ length: 101 }, () => ev) }),
    status: 400,
    names: /events.*max_items|max_items.*events/s,
  },
  {
    name: "batch events is an object",
    path: BATCH,
    body: JSON.stringify({ events: { 0: ev } }),
    status: 400,
    names: /events must be an array/,
  },
  {
    name: "batch events is a string",
    path: BATCH,
    body: JSON.stringify({ events: "[]" }),
    status: 400,
    names: /events must be an array/,
  },
  // Field rules
  {
    name: "user_id over max_len",
    body: withEvent({ user_id: "u".repeat(100_000) }),
    status: 400,
    names: /user_id.*max_len|max_len.*user_id/s,
  },
  {
    name: "position above int32",
    body: withEvent({ position: 2 ** 31 }),
    status: 400,
    names: /position.*int32.*2147483648/,
  },
  {
    name: "position below int32",
    body: withEvent({ position: -(2 ** 31) - 1 }),
    status: 400,
    names: /position.*int32/,
  },
  { name: "float for an integer", body: withEvent({ position: 1.5 }), status: 400, names: /position.*int32.*1\.5/ },
  {
    name: "boolean as string",
    body: withEvent({ scenario_data: { video_data: { is_fullscreen: "true" } } }),
    status: 400,
    names: /scenario_data\.video_data\.is_fullscreen.*boolean/,
  },
  {
    name: "tenant_id with /",
    body: withEvent({ tenant_id: "a/b" }),
    status: 400,
    names: /tenant_id \| pattern|tenant_id must match/,
  },
  { name: "tenant_id ..", body: withEvent({ tenant_id: ".." }), status: 400, names: /tenant_id must match.*"\.\."/ },
  // Routing and URL
  {
    name: "unknown route",
    method: "GET",
    path: "/api/v1/nope",
    body: undefined,
    status: 404,
    names: /not_found.*no route for GET \/api\/v1\/nope/,
  },
  {
    name: "wrong method GET on track",
    method: "GET",
    body: undefined,
    status: 405,
    names: /method_not_allowed.*GET is not allowed.*use POST/,
    header: ["allow", /^POST$/],
  },
  {
    name: "wrong method DELETE on list",
    method: "DELETE",
    path: CONFIGS,
    body: undefined,
    status: 405,
    names: /DELETE is not allowed/,
    header: ["allow", /GET/],
  },
  {
    name: "include_inactive=maybe",
    method: "GET",
    path: `${CONFIGS}?include_inactive=maybe`,
    body: undefined,
    status: 400,
    names: /include_inactive.*true or false.*maybe/,
  },
  {
    name: "very long URL (100 KB)",
    method: "GET",
    path: `${CONFIGS}?tenant_id=${"a".repeat(100_000)}`,
    body: undefined,
    status: 431,
    names: /headers_too_large.*too large/,
  },
];

describe("bad input gets a clear 4xx", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.stop(true));

  it("has at least 25 classes", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)("$name → $status", async (c) => {
    const res = await fetch(t.baseUrl + (c.path ?? TRACK), {
      method: c.method ?? "POST",
      headers: c.headers ?? JSON_CT,
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
    const text = await res.text();
    const body = jsonOrUndefined(text);
    expect(res.status, text.slice(0, 300)).toBe(c.status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(body, text.slice(0, 300)).toMatchObject({
      success: false,
      error: { code: expect.any(String), message: expect.any(String) },
    });
    expect(errorText(body)).toMatch(c.names);
    if (c.header) expect(res.headers.get(c.header[0])).toMatch(c.header[1]);
  });

  it("a valid gzip body is tracked (200)", async () => {
    const res = await fetch(t.baseUrl + TRACK, {
      method: "POST",
      headers: { ...JSON_CT, "content-encoding": "gzip" },
      body: gzipSync(evText),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, event_id: expect.stringMatching(/^evt_/) });
  });

  it("an HTTP/1.0 request is answered and the connection closed", async () => {
    const r = await rawHttp(
      t.server.httpPort,
      `POST ${TRACK} HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(evText)}\r\n\r\n${evText}`,
    );
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe("close");
    expect(JSON.parse(r.body)).toMatchObject({ success: true, event_id: expect.stringMatching(/^evt_/) });
  });

  it("an HTTP/1.0 POST without Content-Length has an empty body → 400", async () => {
    const r = await rawHttp(
      t.server.httpPort,
      `POST ${TRACK} HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n\r\n`,
    );
    expect(r.status).toBe(400);
    expect(errorText(JSON.parse(r.body))).toMatch(/request body must be a JSON object/);
  });

  it("a malformed request line gets a JSON 400 and the connection is closed", async () => {
    const r = await rawHttp(t.server.httpPort, "BLAH /x HTTP/9.9 nonsense\r\n\r\n");
    expect(r.status).toBe(400);
    expect(r.headers.connection).toBe("close");
    expect(JSON.parse(r.body)).toMatchObject({ success: false, error: { code: "bad_request" } });
  });

  it("the process is still healthy afterwards", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/behaviors/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; stats: { rejected: number } };
    expect(body.status).toBe("healthy");
    expect(body.stats.rejected).toBeGreaterThan(0);
    expect(t.logs.filter((l) => /failed|error/i.test(l) && !/WARNING/.test(l))).toEqual([]);
  });
});
