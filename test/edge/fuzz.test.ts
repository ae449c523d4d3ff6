// Random bodies and headers against the real server (fast-check): every answer is a 2xx or
// 4xx with a JSON body — never a 5xx, never a dropped connection — and the server stays healthy.
import { connect as connectH2 } from "node:http2";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { jsonOrUndefined, seedEvent } from "./edge-helpers.js";

const PATHS = [
  "/api/v1/behaviors/track",
  "/api/v1/behaviors/track/batch",
  "/api/v1/behaviors/validate",
  "/api/v1/tracking-configs",
  "/api/v1/tracking-configs/from-template",
];
const FIELDS = [
  "tenant_id",
  "scenario_id",
  "user_id",
  "item_id",
  "action_type",
  "context",
  "scenario_data",
  "position",
  "experiment_id",
  "extra_data",
  "timestamp",
  "session_id",
  "__proto__",
  "constructor",
  "events",
];

/** A body: random JSON, random bytes, or the seed event mutated (fields replaced/removed/added). */
const jsonish = fc.jsonValue({ maxDepth: 4 });
const mutatedEvent = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        ...FIELDS,
        "context.device_type",
        "scenario_data.video_data",
        "scenario_data.video_data.duration",
      ),
      fc.option(jsonish, { nil: undefined }),
    ),
    { maxLength: 4 },
  )
  .map((edits) => {
    const e: Record<string, any> = seedEvent();
    for (const [path, value] of edits) {
      const keys = path.split(".");
      let target = e;
      for (const k of keys.slice(0, -1)) {
        if (target[k] === null || typeof target[k] !== "object") target[k] = {};
        target = target[k];
      }
      const last = keys.at(-1)!;
      // defineProperty so "__proto__" becomes an own key, as JSON.parse would make it.
      if (value === undefined) delete target[last];
      else Object.defineProperty(target, last, { value, enumerable: true, writable: true, configurable: true });
    }
    return e;
  });
const body = fc.oneof(
  jsonish.map((v) => Buffer.from(JSON.stringify(v) ?? "")),
  fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
  mutatedEvent.map((e) => Buffer.from(JSON.stringify(e))),
  fc.array(mutatedEvent, { maxLength: 3 }).map((events) => Buffer.from(JSON.stringify({ events }))),
  fc.tuple(mutatedEvent, fc.nat(), fc.string({ maxLength: 3 })).map(([e, at, junk]) => {
    const s = JSON.stringify(e);
    const i = at % (s.length + 1);
    return Buffer.from(s.slice(0, i) + junk + s.slice(i + 1)); // byte-level corruption of a valid event
  }),
);
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "application/json; charset=latin1",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/proto",
      "application/connect+json",
      "*/*",
      "",
    ),
    fc.stringMatching(/^[a-z+/;= -]{0,40}$/),
  ),
  { nil: undefined },
);
const contentEncoding = fc.option(
  fc.constantFrom("gzip", "identity", "br", "deflate", "GZIP", "gzip, gzip", "x-unknown"),
  { nil: undefined },
);
const request = fc.record({
  path: fc.constantFrom(...PATHS),
  body,
  contentType,
  contentEncoding,
  gzipIt: fc.boolean(),
});

describe("fuzz", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.stop(true));

  it("every random request gets a 2xx/4xx JSON answer", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers["content-type"] = r.contentType;
        if (r.contentEncoding !== undefined) headers["content-encoding"] = r.contentEncoding;
        const payload = r.contentEncoding?.toLowerCase() === "gzip" && r.gzipIt ? gzipSync(r.body) : r.body;
        // A dropped connection makes fetch throw, which fails the property.
        const res = await fetch(t.baseUrl + r.path, { method: "POST", headers, body: payload });
        const text = await res.text();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        const ok = res.status >= 200 && res.status < 500 && !(res.status >= 300 && res.status < 400);
        const json = jsonOrUndefined(text);
        if (!ok || json === undefined || !/^application\/json/.test(res.headers.get("content-type") ?? "")) {
          throw new Error(`${r.path} → ${res.status} ${res.headers.get("content-type")}: ${text.slice(0, 300)}`);
        }
        if (res.status >= 400) expect(json).toMatchObject({ success: false, error: { message: expect.any(String) } });
      }),
      {
        numRuns: 300,
        interruptAfterTimeLimit: 60_000,
        markInterruptAsFailure: false,
        // Whether a random run yields an accepted event is luck (one CI run of 300 had none), so
        // the seed's event as is and a mangled one always run first, through the same property.
        examples: [
          [
            {
              path: PATHS[0]!,
              body: Buffer.from(JSON.stringify(seedEvent())),
              contentType: "application/json",
              contentEncoding: undefined,
              gzipIt: false,
            },
          ],
          [
            {
              path: PATHS[0]!,
              body: Buffer.from('{"tenant_id":'),
              contentType: "application/json",
              contentEncoding: undefined,
              gzipIt: false,
            },
          ],
        ],
      },
    );
    // Both the accepted and the rejected side of the property were exercised.
    const statuses = [...seen.keys()];
    expect(statuses.some((s) => s >= 200 && s < 300)).toBe(true);
    expect(statuses.some((s) => s >= 400)).toBe(true);
  }, 120_000);

  it("the same over h2c (HTTP/2 prior knowledge on the HTTP port): 2xx/4xx JSON, session never reset", async () => {
    const session = connectH2(t.baseUrl);
    session.on("error", () => {});
    try {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const headers: Record<string, string> = { ":method": "POST", ":path": r.path };
          if (r.contentType !== undefined) headers["content-type"] = r.contentType;
          if (r.contentEncoding !== undefined) headers["content-encoding"] = r.contentEncoding;
          const payload = r.contentEncoding?.toLowerCase() === "gzip" && r.gzipIt ? gzipSync(r.body) : r.body;
          const { status, contentType, text } = await new Promise<{
            status: number;
            contentType: string;
            text: string;
          }>((resolve, reject) => {
            const stream = session.request(headers);
            let status = 0;
            let contentType = "";
            const chunks: Buffer[] = [];
            stream.on("response", (h) => {
              status = Number(h[":status"]);
              contentType = String(h["content-type"] ?? "");
            });
            stream.on("data", (c: Buffer) => chunks.push(c));
            stream.on("end", () => resolve({ status, contentType, text: Buffer.concat(chunks).toString("utf8") }));
            stream.on("error", reject);
            stream.end(payload);
          });
          if (
            status < 200 ||
            status >= 500 ||
            (status >= 300 && status < 400) ||
            jsonOrUndefined(text) === undefined ||
            !/^application\/json/.test(contentType)
          ) {
            throw new Error(`h2 ${r.path} → ${status} ${contentType}: ${text.slice(0, 300)}`);
          }
        }),
        { numRuns: 150, interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false },
      );
      expect(session.destroyed).toBe(false);
    } finally {
      session.close();
    }
  }, 60_000);

  it("the server is healthy afterwards and logged no fault", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/behaviors/health`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("healthy");
    expect((await fetch(`${t.baseUrl}/readyz`)).status).toBe(200);
    expect(t.logs.filter((l) => /failed|internal/i.test(l))).toEqual([]);
  });
});
