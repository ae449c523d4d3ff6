/**
 * Acceptance: TLS on both listeners (--tls-cert/--tls-key) with a CA and certificate made by
 * openssl for this run. The HTTP port serves HTTPS with ALPN h2 and http/1.1 (REST and
 * Connect on both), the gRPC port gRPC over TLS (the fast path and connect-node behind it).
 * Plaintext clients and clients that do not trust the CA fail cleanly, and the server keeps
 * serving.
 */
import { rmSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { trackingCommand } from "../../server/cli.js";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { seedEventData, seedEventMessage } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { makeTestCerts, type TestCerts } from "../helpers/tls.js";

const EVT_ID = /^evt_[0-9a-f]{16}$/;

/** POST JSON over HTTPS/1.1 with node:https; resolves with status, parsed body and the negotiated ALPN. */
function postHttps1(
  port: number,
  path: string,
  body: unknown,
  ca: Buffer | undefined,
): Promise<{ status: number; body: any; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const options: RequestOptions & { ALPNProtocols: string[] } = {
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
      ...(ca ? { ca } : {}),
      ALPNProtocols: ["http/1.1"],
      agent: false,
    };
    const req = httpsRequest(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const socket = res.socket as { alpnProtocol?: string | false | null };
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
          alpn: socket.alpnProtocol ?? null,
        });
      });
    });
    req.on("error", reject);
    req.end(text);
  });
}

/** POST JSON over HTTP/2 with TLS (ALPN h2). */
function postHttp2(
  port: number,
  path: string,
  body: unknown,
  ca: Buffer,
): Promise<{ status: number; body: any; alpn: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca });
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolve({ status, body: JSON.parse(Buffer.concat(chunks).toString("utf8")), alpn });
    });
    stream.on("error", reject);
    stream.end(JSON.stringify(body));
  });
}

describe("TLS on the HTTP and gRPC ports", () => {
  let certs: TestCerts;
  let t: TestServer;
  let https: string;
  let grpcs: string;

  beforeAll(async () => {
    certs = await makeTestCerts();
    t = await startTestServer({ tls: { certFile: certs.certFile, keyFile: certs.keyFile } });
    https = `https://127.0.0.1:${t.server.httpPort}`;
    grpcs = `https://127.0.0.1:${t.server.grpcPort}`;
  });
  afterAll(async () => {
    await t?.stop(true);
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  const tracked = async (userId: string) =>
    (await readTopicFile(t.dataDir, "user-behaviors-mymx")).filter((r) => r.key === userId).length;

  it("says so in its startup log", () => {
    expect(t.server.tls).toBe(true);
    expect(t.logs.join("\n")).toMatch(/tracking server \(TLS\): REST\/Connect\/gRPC-Web over HTTPS \(h2, http\/1\.1\)/);
  });

  it("REST over HTTPS/1.1 with the CA → 200", async () => {
    const res = await postHttps1(
      t.server.httpPort,
      "/api/v1/behaviors/track",
      { ...seedEventData(), user_id: "tls_h1" },
      certs.ca,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, event_id: expect.stringMatching(EVT_ID) });
    expect(res.alpn).toBe("http/1.1");
    expect(await tracked("tls_h1")).toBe(1);
  });

  it("REST over HTTP/2 with TLS (ALPN h2) → 200", async () => {
    const res = await postHttp2(
      t.server.httpPort,
      "/api/v1/behaviors/track",
      { ...seedEventData(), user_id: "tls_h2" },
      certs.ca,
    );
    expect(res.alpn).toBe("h2");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, event_id: expect.stringMatching(EVT_ID) });
    expect(await tracked("tls_h2")).toBe(1);
  });

  it.each([
    [
      "Connect over HTTPS/1.1",
      () => createConnectTransport({ baseUrl: https, httpVersion: "1.1", nodeOptions: { ca: certs.ca } }),
    ],
    [
      "Connect over HTTP/2 + TLS",
      () => createConnectTransport({ baseUrl: https, httpVersion: "2", nodeOptions: { ca: certs.ca } }),
    ],
    ["gRPC over TLS on the gRPC port", () => createGrpcTransport({ baseUrl: grpcs, nodeOptions: { ca: certs.ca } })],
    ["gRPC over TLS on the HTTP port", () => createGrpcTransport({ baseUrl: https, nodeOptions: { ca: certs.ca } })],
  ])("%s: TrackEvent and GetHealth → OK", async (name, make) => {
    const client = createClient(BehaviorService, make());
    const userId = `tls_${name.replace(/\W+/g, "_")}`;
    const res = await client.trackEvent({ event: { ...seedEventMessage(), userId } });
    expect(res.success).toBe(true);
    expect(res.eventId).toMatch(EVT_ID);
    expect((await client.getHealth({})).status).toBe("healthy");
    expect(await tracked(userId)).toBe(1);
  });

  it("the inspector's sign-in cookie is Secure (never sent back over plain HTTP)", async () => {
    const body = "key=anything"; // open mode: any key signs in
    const res = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: t.server.httpPort,
          path: "/inspector/login",
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) },
          ca: certs.ca,
          agent: false,
        },
        (r) => {
          r.resume();
          r.on("end", () => resolve({ status: r.statusCode ?? 0, cookie: String(r.headers["set-cookie"] ?? "") }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(res.status).toBe(303);
    expect(res.cookie).toMatch(
      /^tracking_inspector_key=anything; Path=\/inspector; HttpOnly; SameSite=Strict; Secure$/,
    );
  });

  it("a client that does not trust the CA is refused in the handshake", async () => {
    await expect(postHttps1(t.server.httpPort, "/api/v1/behaviors/track", seedEventData(), undefined)).rejects.toThrow(
      /self[- ]signed|unable to (get|verify)/i,
    );
    const grpc = createClient(BehaviorService, createGrpcTransport({ baseUrl: grpcs }));
    const err = await grpc.getHealth({}).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect(err?.message).toMatch(/self[- ]signed|unable to (get|verify)/i);
  });

  it("plaintext requests to the TLS ports fail cleanly, and the server keeps serving", async () => {
    // HTTP/1.1 in clear text to the HTTPS port: the handshake fails, the connection is closed.
    await expect(
      fetch(`http://127.0.0.1:${t.server.httpPort}/api/v1/behaviors/health`, { signal: AbortSignal.timeout(10_000) }),
    ).rejects.toThrow(/fetch failed/);
    // h2c gRPC to the TLS gRPC port.
    const h2c = createClient(
      BehaviorService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${t.server.grpcPort}` }),
    );
    const err = await h2c.getHealth({}, { timeoutMs: 10_000 }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect(err?.code).not.toBe(Code.DeadlineExceeded);
    const ok = await postHttps1(t.server.httpPort, "/api/v1/behaviors/track", seedEventData(), certs.ca);
    expect(ok.status).toBe(200);
    const grpc = createClient(BehaviorService, createGrpcTransport({ baseUrl: grpcs, nodeOptions: { ca: certs.ca } }));
    expect((await grpc.getHealth({})).status).toBe("healthy");
  });
});

describe("TLS options", () => {
  const parse = async (...args: string[]) => {
    const program = trackingCommand(async () => {});
    for (const c of [program, ...program.commands]) c.exitOverride().configureOutput({ writeErr: () => {} });
    await program.parseAsync(["serve", ...args], { from: "user" });
  };

  it("--tls-cert without --tls-key (and the reverse) is refused naming both", async () => {
    await expect(parse("--tls-cert", "c.pem")).rejects.toThrow(/--tls-cert and --tls-key .* only --tls-cert was given/);
    await expect(parse("--tls-key", "k.pem")).rejects.toThrow(/only --tls-key was given/);
  });

  it("an unreadable certificate file is named at start", async () => {
    await expect(
      startTestServer({ tls: { certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" } }),
    ).rejects.toThrow(/cannot read the TLS certificate \(--tls-cert\) \/nonexistent\/cert\.pem/);
  });

  it("a file that is not a certificate, or a key of another certificate, is a clear error at start", async () => {
    const certs = await makeTestCerts();
    try {
      await expect(startTestServer({ tls: { certFile: certs.keyFile, keyFile: certs.certFile } })).rejects.toThrow(
        `invalid TLS certificate/key (--tls-cert ${certs.keyFile}, --tls-key ${certs.certFile})`,
      );
      await expect(startTestServer({ tls: { certFile: certs.caFile, keyFile: certs.keyFile } })).rejects.toThrow(
        /invalid TLS certificate\/key .*key values mismatch/,
      );
    } finally {
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });
});
