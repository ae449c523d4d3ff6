// The gRPC fast path answers exactly like the connect path: connect-node's gRPC client and
// `buf curl --protocol grpc` get the same results from a server with the fast handler and one
// with only the connect handler; bad frames are errors, not crashes; the rest falls back.
// The fast server is wired as in server/app.ts: a 'stream' listener, no compat objects.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import {
  createServer,
  type Http2Server,
  connect as h2connect,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BehaviorService,
  EventResultSchema,
  GetHealthResponseSchema,
  TrackBatchResponseSchema,
  TrackEventRequestSchema,
  TrackEventResponseSchema,
  ValidateEventResponseSchema,
  ViolationSchema,
} from "../../gen/es/recommender/v1/behavior_pb.js";
import {
  type BehaviorServiceRuntime,
  registerBehaviorService,
} from "../../gen/handlers/recommender/v1/behavior_handlers.js";
import { seedEventMessage } from "../../test/helpers/seed.js";
import { SinkUnavailableError } from "../contracts.js";
import { EventRejectedError } from "../ingest/pipeline.js";
import { createConnectHandler } from "./connect.js";
import { createGrpcServer } from "./grpc.js";
import { configureGrpcServer, createGrpcFastHandler } from "./grpc-fast.js";

const ROOT = join(import.meta.dirname, "../..");
const BUF = join(ROOT, "node_modules/.bin/buf");

/** What the runtime saw, per call. */
interface Seen {
  rpc: string;
  input: unknown;
  protocol: string;
  apiKey: string | null;
  fast: boolean;
}

/** Whether context.signal was aborted when a "watch" call finished. */
const aborted: boolean[] = [];

function fakeRuntime(seen: Seen[]): BehaviorServiceRuntime {
  const note = (rpc: string, input: unknown, ctx: HandlerContext) =>
    seen.push({
      rpc,
      input,
      protocol: ctx.protocolName,
      apiKey: ctx.requestHeader.get("x-api-key"),
      fast: ctx.constructor.name === "Call",
    });
  const behave = async (event: unknown) => {
    const tenant = (event as { tenant_id?: string }).tenant_id;
    switch (tenant) {
      case "bad":
        throw new EventRejectedError(
          [
            {
              field: "tenant_id",
              rule: "pattern",
              message: "tenant_id must match ^[A-Za-z0-9_-]+$",
              severity: "error",
            },
            {
              field: "context.device_type",
              rule: "required",
              message: "context.device_type is required",
              severity: "error",
            },
          ],
          [],
        );
      case "down":
        throw new SinkUnavailableError("kafka down", 7);
      case "anon":
        throw Object.assign(new Error("missing API key"), { name: "UnauthenticatedError" });
      case "boom":
        throw new Error("secret internals");
      case "slow":
        await new Promise((r) => setTimeout(r, 400));
        break;
      case "watch":
        await new Promise((r) => setTimeout(r, 300));
    }
  };
  return {
    async trackEvent(event, ctx) {
      note("TrackEvent", event, ctx);
      if ((event as { tenant_id?: string }).tenant_id === "watch") {
        const signal = ctx.signal;
        await behave(event);
        aborted.push(signal.aborted);
      }
      await behave(event);
      return create(TrackEventResponseSchema, {
        success: true,
        eventId: "evt_0123456789abcdef",
        message: "Event tracked successfully",
        validationWarnings: [
          create(ViolationSchema, { field: "scenario_data", rule: "unknown_field", message: "héllo ✓", severity: 2 }),
        ],
      });
    },
    async trackBatch(events, ctx) {
      note("TrackBatch", events, ctx);
      for (const e of events) await behave(e);
      return create(TrackBatchResponseSchema, {
        success: true,
        total: events.length,
        succeeded: events.length,
        results: events.map((_, i) => create(EventResultSchema, { index: i, eventId: `evt_${i}`, success: true })),
        message: `${events.length} events tracked successfully`,
      });
    },
    async validateEvent(event, ctx) {
      note("ValidateEvent", event, ctx);
      await behave(event);
      return create(ValidateEventResponseSchema, { success: true, message: "Event is valid" });
    },
    async getHealth(_req, ctx) {
      note("GetHealth", {}, ctx);
      return create(GetHealthResponseSchema, { status: "healthy", kafkaAvailable: true });
    },
  };
}

function listen(server: Http2Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
}

/** The seed's event, with a timestamp, seek positions and extra data so every value kind crosses the codecs. */
const seedEvent = seedEventMessage();
seedEvent.timestamp = 1730304000100n;
if (seedEvent.scenarioData?.data.case === "videoData") seedEvent.scenarioData.data.value.seekPositions = [1, 2, 3];
seedEvent.extraData = { a: [1, "x", null, { b: true }], "0": 1 };

/** One raw HTTP/2 request; resolves with headers, trailers and body. */
function raw(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: Buffer | (() => Buffer),
  opts: { reset?: boolean } = {},
) {
  return new Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; data: Buffer; error?: unknown }>(
    (resolve) => {
      const session = h2connect(`http://127.0.0.1:${port}`);
      session.on("error", () => {});
      const req = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      let resHeaders: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on("response", (h) => (resHeaders = h));
      req.on("trailers", (t) => (trailers = t));
      req.on("data", (c: Buffer) => chunks.push(c));
      const done = (error?: unknown) => {
        session.close();
        resolve({ headers: resHeaders, trailers, data: Buffer.concat(chunks), error });
      };
      req.on("end", () => done());
      req.on("error", (e) => done(e));
      if (opts.reset) {
        req.write(typeof body === "function" ? body() : body);
        setTimeout(() => req.close(8 /* CANCEL */), 20);
        req.on("close", () => done());
        return;
      }
      req.end(typeof body === "function" ? body() : body);
    },
  );
}

/** One plain HTTP/2 request (any method, any headers); resolves with the status, body and whether a 100 Continue came first. */
function h2(port: number, headers: Record<string, string>, body?: Buffer) {
  return new Promise<{
    status: number | undefined;
    headers: IncomingHttpHeaders;
    body: string;
    continued: boolean;
    error?: unknown;
  }>((resolve) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const req = session.request(headers, { endStream: body === undefined && headers[":method"] !== "CONNECT" });
    let resHeaders: IncomingHttpHeaders = {};
    let continued = false;
    const chunks: Buffer[] = [];
    req.on("continue", () => {
      continued = true;
      if (body !== undefined) req.end(body);
    });
    req.on("response", (h) => {
      resHeaders = h;
      // A CONNECT tunnel or a request the server refused before the body: end our side.
      if (!req.writableEnded) req.end();
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    const done = (error?: unknown) => {
      session.close();
      resolve({
        status: resHeaders[":status"] as number | undefined,
        headers: resHeaders,
        body: Buffer.concat(chunks).toString(),
        continued,
        error,
      });
    };
    req.on("end", () => done());
    req.on("error", (e) => done(e));
    if (body !== undefined && headers.expect === undefined) req.end(body);
  });
}

/**
 * Opens a TrackEvent stream, sends `body` (ending the request side if `end`), waits `afterMs`
 * and resets the stream (RST_STREAM `code`, default CANCEL; any other code makes node emit
 * an 'error' on the server's stream); resolves once the stream is closed.
 */
function resetCall(
  port: number,
  headers: Record<string, string>,
  body: Buffer,
  opts: { end: boolean; afterMs: number; code?: number },
) {
  return new Promise<{ headers: IncomingHttpHeaders }>((resolve) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const req = session.request({
      ":method": "POST",
      ":path": "/recommender.v1.BehaviorService/TrackEvent",
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let resHeaders: IncomingHttpHeaders = {};
    req.on("response", (h) => (resHeaders = h));
    req.on("error", () => {});
    req.resume();
    req.on("close", () => {
      session.close();
      resolve({ headers: resHeaders });
    });
    if (opts.end) req.end(body);
    else if (body.length > 0) req.write(body);
    setTimeout(() => req.close(opts.code ?? 8 /* CANCEL */), opts.afterMs);
  });
}

function frame(msg: Uint8Array, flags = 0): Buffer {
  const b = Buffer.alloc(5 + msg.length);
  b[0] = flags;
  b.writeUInt32BE(msg.length, 1);
  b.set(msg, 5);
  return b;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({
        code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

describe("gRPC fast path", () => {
  const seen: Seen[] = [];
  const runtime = fakeRuntime(seen);
  const connect = createConnectHandler({ routes: (r) => void registerBehaviorService(r, runtime), log: () => {} });
  const faults: unknown[] = [];
  const fastServer = createGrpcServer(
    createGrpcFastHandler({ behavior: runtime, fallback: connect, log: (_m, e) => faults.push(e) }),
  );
  // The reference: node's own compat wiring of the connect handler.
  const plainServer = createServer(connect);
  let fastPort = 0;
  let plainPort = 0;
  let tmp = "";
  let image = "";

  beforeAll(async () => {
    configureGrpcServer(fastServer, { maxConcurrentStreams: 16 });
    fastPort = await listen(fastServer);
    plainPort = await listen(plainServer);
    tmp = mkdtempSync(join(tmpdir(), "grpc-fast-"));
    image = join(tmp, "image.binpb");
    const built = await run(BUF, ["build", "-o", image]);
    if (built.code !== 0) throw new Error(`buf build failed: ${built.stderr}`);
  });
  afterAll(async () => {
    fastServer.close();
    plainServer.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const clients = (opts: Partial<Parameters<typeof createGrpcTransport>[0]> = {}) => ({
    fast: createClient(BehaviorService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${fastPort}`, ...opts })),
    plain: createClient(BehaviorService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${plainPort}`, ...opts })),
  });

  async function both<T>(call: (c: ReturnType<typeof clients>["fast"]) => Promise<T>, opts = {}) {
    const c = clients(opts);
    const start = seen.length;
    const outcome = async (p: Promise<T>): Promise<{ value?: T; err?: ConnectError }> =>
      p.then(
        (value) => ({ value }),
        (err: unknown) => ({ err: ConnectError.from(err) }),
      );
    const fast = await outcome(call(c.fast));
    const fastSeen = seen.slice(start);
    const plainStart = seen.length;
    const plain = await outcome(call(c.plain));
    const plainSeen = seen.slice(plainStart);
    return { fast, plain, fastSeen, plainSeen };
  }

  /** The first of what the runtime saw; fails the test when it saw nothing. */
  function first<T>(list: readonly T[]): T {
    const [x] = list;
    if (x === undefined) throw new Error("the runtime saw no call");
    return x;
  }

  function expectSameError(a: { err?: ConnectError | undefined }, b: { err?: ConnectError | undefined }) {
    expect(a.err).toBeDefined();
    expect(b.err).toBeDefined();
    expect(a.err!.code).toBe(b.err!.code);
    expect(a.err!.rawMessage).toBe(b.err!.rawMessage);
    expect(a.err!.findDetails(ViolationSchema)).toEqual(b.err!.findDetails(ViolationSchema));
    expect(a.err!.metadata.get("retry-after")).toBe(b.err!.metadata.get("retry-after"));
  }

  it("TrackEvent, TrackBatch, ValidateEvent: same responses, and the runtime sees the same wire JSON", async () => {
    const r1 = await both((c) => c.trackEvent({ event: seedEvent }, { headers: { "x-api-key": "k1" } }));
    expect(r1.fast).toEqual(r1.plain);
    expect(r1.fastSeen).toHaveLength(1);
    expect(first(r1.fastSeen).fast).toBe(true);
    expect(first(r1.plainSeen).fast).toBe(false);
    expect(JSON.stringify(first(r1.fastSeen).input)).toBe(JSON.stringify(first(r1.plainSeen).input));
    expect({ ...first(r1.fastSeen), fast: false }).toEqual(first(r1.plainSeen));
    expect(first(r1.fastSeen)).toMatchObject({ protocol: "grpc", apiKey: "k1" });

    const r2 = await both((c) => c.trackBatch({ events: [seedEvent, { userId: "u2" }, {}] }));
    expect(r2.fast).toEqual(r2.plain);
    expect(JSON.stringify(first(r2.fastSeen).input)).toBe(JSON.stringify(first(r2.plainSeen).input));

    const r3 = await both((c) => c.validateEvent({}));
    expect(r3.fast).toEqual(r3.plain);
    expect(first(r3.fastSeen).input).toEqual({});
    expect(first(r3.plainSeen).input).toEqual({});
  });

  it("errors: INVALID_ARGUMENT with Violation details, UNAVAILABLE + retry-after, UNAUTHENTICATED, INTERNAL", async () => {
    const bad = await both((c) => c.trackEvent({ event: { tenantId: "bad" } }));
    expectSameError(bad.fast, bad.plain);
    expect(bad.fast.err!.code).toBe(Code.InvalidArgument);
    expect(bad.fast.err!.findDetails(ViolationSchema).map((v) => v.field)).toEqual([
      "tenant_id",
      "context.device_type",
    ]);

    const down = await both((c) => c.trackEvent({ event: { tenantId: "down" } }));
    expectSameError(down.fast, down.plain);
    expect(down.fast.err!.code).toBe(Code.Unavailable);
    expect(down.fast.err!.metadata.get("retry-after")).toBe("7");

    const anon = await both((c) => c.validateEvent({ event: { tenantId: "anon" } }));
    expectSameError(anon.fast, anon.plain);
    expect(anon.fast.err!.code).toBe(Code.Unauthenticated);

    const boom = await both((c) => c.trackBatch({ events: [{ tenantId: "boom" }] }));
    expectSameError(boom.fast, boom.plain);
    expect(boom.fast.err!.code).toBe(Code.Internal);
    expect(boom.fast.err!.rawMessage).toBe("internal error");
  });

  it("gzip-compressed requests", async () => {
    const r = await both((c) => c.trackEvent({ event: seedEvent }), {
      sendCompression: compressionGzip,
      compressMinBytes: 0,
    });
    expect(r.fast).toEqual(r.plain);
    expect(first(r.fastSeen).fast).toBe(true);
    expect(first(r.fastSeen).input).toEqual(first(r.plainSeen).input);
  });

  it("grpc-timeout: DEADLINE_EXCEEDED", async () => {
    const r = await both((c) => c.trackEvent({ event: { tenantId: "slow" } }, { timeoutMs: 100 }));
    expect(r.fast.err?.code).toBe(Code.DeadlineExceeded);
    expect(r.plain.err?.code).toBe(Code.DeadlineExceeded);
  });

  it("context.signal is aborted when the deadline passes", async () => {
    aborted.length = 0;
    const r = await both((c) => c.trackEvent({ event: { tenantId: "watch" } }, { timeoutMs: 50 }));
    expect(r.fast.err?.code).toBe(Code.DeadlineExceeded);
    await new Promise((res) => setTimeout(res, 400));
    expect(aborted).toEqual([true, true]);
  });

  it("other methods and codecs fall back to connect", async () => {
    const h = await both((c) => c.getHealth({}));
    expect(h.fast).toEqual(h.plain);
    expect(first(h.fastSeen).fast).toBe(false);
    const json = await both((c) => c.trackEvent({ event: seedEvent }), { useBinaryFormat: false });
    expect(json.fast).toEqual(json.plain);
    expect(first(json.fastSeen).fast).toBe(false);
  });

  it("buf curl --protocol grpc gets identical output from both", async () => {
    const curl = (port: number, method: string, data: unknown) =>
      run(BUF, [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--schema",
        image,
        "-d",
        JSON.stringify(data),
        `http://127.0.0.1:${port}/recommender.v1.BehaviorService/${method}`,
      ]);
    const cases: [string, unknown][] = [
      [
        "TrackEvent",
        {
          event: {
            tenantId: "mymx",
            actionType: "ACTION_TYPE_PLAY_END",
            context: { deviceType: "DEVICE_TYPE_MOBILE" },
            extraData: { k: [1, 2] },
          },
        },
      ],
      ["TrackEvent", { event: { tenantId: "bad" } }],
      ["TrackEvent", { event: { tenantId: "down" } }],
      ["TrackBatch", { events: [{ tenantId: "anon" }] }],
      ["ValidateEvent", { event: { userId: "x" } }],
      ["GetHealth", {}],
    ];
    for (const [method, data] of cases) {
      const a = await curl(fastPort, method, data);
      const b = await curl(plainPort, method, data);
      expect({ method, code: a.code, stdout: a.stdout, stderr: a.stderr }).toEqual({
        method,
        code: b.code,
        stdout: b.stdout,
        stderr: b.stderr,
      });
    }
    const bad = await curl(fastPort, "TrackEvent", { event: { tenantId: "bad" } });
    expect(bad.stderr).toContain("invalid_argument");
    expect(bad.stderr).toContain("recommender.v1.Violation");
  });

  it("malformed frames and encodings are gRPC errors, not crashes", async () => {
    const path = "/recommender.v1.BehaviorService/TrackEvent";
    const good = toBinary(TrackEventRequestSchema, create(TrackEventRequestSchema, { event: seedEvent }));
    const status = async (headers: Record<string, string>, body: Buffer) => {
      const r = await raw(fastPort, path, headers, body);
      return {
        status: r.trailers["grpc-status"] ?? r.headers["grpc-status"],
        message: r.trailers["grpc-message"],
        accept: r.headers["grpc-accept-encoding"],
      };
    };
    expect((await status({}, Buffer.from([0, 0]))).status).toBe(String(Code.InvalidArgument));
    expect((await status({}, Buffer.alloc(0))).status).toBe(String(Code.InvalidArgument));
    expect((await status({}, frame(good).subarray(0, 20))).status).toBe(String(Code.InvalidArgument));
    expect((await status({}, Buffer.concat([frame(good), frame(good)]))).status).toBe(String(Code.InvalidArgument));
    const garbage = await status({}, frame(new Uint8Array([0x0a, 0x05, 0x0a, 0x09, 0x61])));
    expect(garbage.status).toBe(String(Code.InvalidArgument));
    expect(decodeURIComponent(String(garbage.message))).toContain("invalid request message");
    expect((await status({}, frame(good, 1))).status).toBe(String(Code.Internal));
    const br = await status({ "grpc-encoding": "br" }, frame(good, 1));
    expect(br.status).toBe(String(Code.Unimplemented));
    expect(br.accept).toBe("gzip");
    expect((await status({ "grpc-encoding": "gzip" }, frame(Buffer.from("not gzip"), 1))).status).toBe(
      String(Code.InvalidArgument),
    );
    const ok = await status({ "grpc-encoding": "gzip" }, frame(gzipSync(good), 1));
    expect(ok.status).toBe("0");
    // 2 MiB message → RESOURCE_EXHAUSTED, plain and as a gzip bomb.
    expect((await status({}, frame(Buffer.alloc(2 * 1024 * 1024, 0x20)))).status).toBe(String(Code.ResourceExhausted));
    expect((await status({ "grpc-encoding": "gzip" }, frame(gzipSync(Buffer.alloc(4 * 1024 * 1024)), 1))).status).toBe(
      String(Code.ResourceExhausted),
    );
    expect((await status({ "grpc-timeout": "bogus" }, frame(good))).status).toBe(String(Code.InvalidArgument));
    // A client that resets mid-request.
    await raw(fastPort, path, {}, frame(good).subarray(0, 10), { reset: true });
    const slow = raw(
      fastPort,
      path,
      {},
      frame(toBinary(TrackEventRequestSchema, create(TrackEventRequestSchema, { event: { tenantId: "slow" } }))),
      { reset: true },
    );
    await slow;
    await new Promise((r) => setTimeout(r, 450));
    // Still serving, nothing logged as a fault except the INTERNAL test's own.
    expect((await status({}, frame(good))).status).toBe("0");
    expect(faults.every((e) => e instanceof Error && e.message === "secret internals")).toBe(true);
  });

  it("serves the ingest calls on raw streams: no 'request' listener, no compat objects on the stream", async () => {
    expect(fastServer.listenerCount("request")).toBe(0);
    expect(fastServer.listenerCount("stream")).toBe(1);
    // Runs after the server's own 'stream' listener: counts the listeners node's
    // Http2ServerRequest/Http2ServerResponse constructors put on a stream ('aborted' from
    // both, 'trailers' from the request).
    const probed: { path: string; compat: number }[] = [];
    const probe = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      probed.push({
        path: String(headers[":path"]),
        compat: stream.listenerCount("aborted") + stream.listenerCount("trailers"),
      });
    fastServer.on("stream", probe);
    try {
      const c = clients().fast;
      const start = seen.length;
      expect((await c.trackEvent({ event: seedEvent })).success).toBe(true);
      expect((await c.trackBatch({ events: [seedEvent] })).total).toBe(1);
      expect((await c.validateEvent({ event: seedEvent })).success).toBe(true);
      expect((await c.getHealth({})).status).toBe("healthy");
      expect(seen.slice(start).map((x) => [x.rpc, x.fast])).toEqual([
        ["TrackEvent", true],
        ["TrackBatch", true],
        ["ValidateEvent", true],
        ["GetHealth", false],
      ]);
      const byMethod = Object.fromEntries(probed.map((p) => [p.path.split("/").pop(), p.compat]));
      expect(byMethod).toEqual({ TrackEvent: 0, TrackBatch: 0, ValidateEvent: 0, GetHealth: 3 });
    } finally {
      fastServer.off("stream", probe);
    }
  });

  it("Connect JSON, Connect binary and gRPC-Web over HTTP/2 fall back to connect", async () => {
    for (const [name, make] of [
      ["connect+json", (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "2" })],
      [
        "connect+proto",
        (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
      ],
      ["grpc-web", (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "2" })],
    ] as const) {
      const fast = createClient(BehaviorService, make(`http://127.0.0.1:${fastPort}`));
      const plain = createClient(BehaviorService, make(`http://127.0.0.1:${plainPort}`));
      const start = seen.length;
      const a = await fast.trackEvent({ event: seedEvent }, { headers: { "x-api-key": "k2" } });
      const b = await plain.trackEvent({ event: seedEvent }, { headers: { "x-api-key": "k2" } });
      expect(a, name).toEqual(b);
      const [fastSeen, plainSeen] = seen.slice(start);
      if (fastSeen === undefined || plainSeen === undefined)
        throw new Error(`${name}: the runtime saw ${seen.length - start} calls, expected 2`);
      expect(fastSeen.fast, name).toBe(false);
      expect({ ...fastSeen, input: JSON.stringify(fastSeen.input) }, name).toEqual({
        ...plainSeen,
        input: JSON.stringify(plainSeen.input),
      });
      expect(fastSeen.protocol, name).toBe(name === "grpc-web" ? "grpc-web" : "connect");
      const errA = await fast.trackEvent({ event: { tenantId: "bad" } }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      const errB = await plain.trackEvent({ event: { tenantId: "bad" } }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expectSameError({ err: errA }, { err: errB });
      expect(errA!.code, name).toBe(Code.InvalidArgument);
    }
  });

  it("GET, CONNECT and Expect requests get node's HTTP answers, as from a compat server", async () => {
    const ask = async (headers: Record<string, string>, body?: Buffer) => {
      const a = await h2(fastPort, headers, body);
      const b = await h2(plainPort, headers, body);
      expect(a.error).toBeUndefined();
      expect({ status: a.status, body: a.body, continued: a.continued }).toEqual({
        status: b.status,
        body: b.body,
        continued: b.continued,
      });
      return a;
    };
    const get = await ask({ ":method": "GET", ":path": "/" });
    expect(get.status).toBe(404);
    expect(JSON.parse(get.body)).toMatchObject({ error: { code: "not_found" } });
    const getRpc = await ask({
      ":method": "GET",
      ":path": "/recommender.v1.BehaviorService/TrackEvent",
      "content-type": "application/grpc",
    });
    expect(getRpc.status).toBeGreaterThanOrEqual(400);
    expect((await ask({ ":method": "CONNECT", ":authority": "example.com:443" })).status).toBe(405);
    const json = Buffer.from(JSON.stringify({ event: { tenantId: "mymx" } }));
    const cont = await ask(
      {
        ":method": "POST",
        ":path": "/recommender.v1.BehaviorService/ValidateEvent",
        "content-type": "application/json",
        expect: "100-continue",
      },
      json,
    );
    expect(cont).toMatchObject({ status: 200, continued: true });
    expect(JSON.parse(cont.body)).toMatchObject({ success: true });
    const odd = await ask(
      {
        ":method": "POST",
        ":path": "/recommender.v1.BehaviorService/ValidateEvent",
        "content-type": "application/json",
        expect: "something-else",
      },
      json,
    );
    expect(odd.status).toBe(417);
    // An ingest call with Expect is still answered (by connect, after the 100).
    const start = seen.length;
    const grpc = await h2(
      fastPort,
      {
        ":method": "POST",
        ":path": "/recommender.v1.BehaviorService/ValidateEvent",
        "content-type": "application/grpc",
        te: "trailers",
        expect: "100-continue",
      },
      frame(new Uint8Array(0)),
    );
    expect(grpc).toMatchObject({ status: 200, continued: true });
    expect(seen.slice(start).map((x) => x.fast)).toEqual([false]);
  });

  it("client resets (before the body, mid-body, under a deadline, while the runtime works) do not crash the server", async () => {
    const faultsBefore = faults.length;
    const good = frame(toBinary(TrackEventRequestSchema, create(TrackEventRequestSchema, { event: seedEvent })));
    const watch = frame(
      toBinary(TrackEventRequestSchema, create(TrackEventRequestSchema, { event: { tenantId: "watch" } })),
    );
    aborted.length = 0;
    const start = seen.length;
    await Promise.all([
      resetCall(fastPort, {}, Buffer.alloc(0), { end: false, afterMs: 5 }),
      resetCall(fastPort, {}, good.subarray(0, 10), { end: false, afterMs: 20 }),
      resetCall(fastPort, {}, good.subarray(0, 10), { end: false, afterMs: 20, code: 2 /* INTERNAL_ERROR */ }),
      resetCall(fastPort, { "grpc-timeout": "60m" }, good.subarray(0, 10), { end: false, afterMs: 20 }),
      resetCall(fastPort, { "grpc-encoding": "gzip" }, good.subarray(0, 3), { end: false, afterMs: 20 }),
      // The runtime holds the call ~300 ms, then records whether context.signal was aborted.
      resetCall(fastPort, {}, watch, { end: true, afterMs: 100 }),
      resetCall(fastPort, { "grpc-timeout": "10S" }, watch, { end: true, afterMs: 100, code: 2 /* INTERNAL_ERROR */ }),
    ]);
    // Only the complete requests reached the runtime.
    expect(seen.slice(start).map((x) => [x.rpc, x.fast, (x.input as { tenant_id?: string }).tenant_id])).toEqual([
      ["TrackEvent", true, "watch"],
      ["TrackEvent", true, "watch"],
    ]);
    await new Promise((r) => setTimeout(r, 700));
    // The reset aborted both calls' context.signal, with and without a deadline timer.
    expect(aborted).toEqual([true, true]);
    expect(faults.length).toBe(faultsBefore);
    const r = await raw(fastPort, "/recommender.v1.BehaviorService/TrackEvent", {}, good);
    expect(r.trailers["grpc-status"]).toBe("0");
    expect((await clients().fast.trackEvent({ event: seedEvent })).success).toBe(true);
  });

  it("context.signal is aborted on shutdown", async () => {
    const shutdown = new AbortController();
    const server = createGrpcServer(
      createGrpcFastHandler({
        behavior: runtime,
        fallback: connect,
        log: (_m, e) => faults.push(e),
        shutdownSignal: shutdown.signal,
      }),
    );
    const port = await listen(server);
    try {
      aborted.length = 0;
      const c = createClient(BehaviorService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
      const call = c.trackEvent({ event: { tenantId: "watch" } });
      setTimeout(() => shutdown.abort(), 100);
      expect((await call).success).toBe(true);
      expect(aborted).toEqual([true]);
      // Without a shutdown the same call sees a live signal.
      aborted.length = 0;
      expect((await clients().fast.trackEvent({ event: { tenantId: "watch" } })).success).toBe(true);
      expect(aborted).toEqual([false]);
    } finally {
      server.close();
    }
  });

  it("answers many concurrent calls on one connection (more than maxConcurrentStreams: the client queues)", async () => {
    const c = clients().fast;
    // The first call sets the connection up; the client then knows the server's SETTINGS
    // (a burst racing the very first SETTINGS frame would get REFUSED_STREAM, as with any h2 server).
    await c.trackEvent({ event: seedEvent });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.trackEvent({ event: { ...seedEvent, userId: `u${i}` } })),
    );
    expect(results.every((r) => r.success && r.eventId === "evt_0123456789abcdef")).toBe(true);
  });
});
