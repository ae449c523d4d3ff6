/**
 * Small HTTP helpers for the server acceptance tests: JSON calls over fetch against a
 * running server (in-process via startTestServer, or the spawned CLI), and a way to run the
 * real `tracking serve` CLI as a child process and learn its ports from its startup log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";

/** A JSON response: status, parsed body (or undefined), raw text and headers. */
export interface JsonResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** Calls `method path` on `baseUrl` with an optional JSON body and headers. */
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    (init.headers as Record<string, string>)["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(baseUrl + path, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed as T, text, headers: res.headers };
}

/** Binds `call` to one base URL (and default headers). */
export function client(baseUrl: string, defaults: Record<string, string> = {}) {
  return <T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call<T>(baseUrl, method, path, body, { ...defaults, ...headers });
}

/** Deep copy of a JSON value. */
export function copy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export { seedEventData } from "../helpers/seed.js";

/** One event of the seed's batch example. */
export interface SeedBatchEvent {
  tenant_id: string;
  scenario_id: string;
  user_id: string;
  item_id: string;
  action_type: string;
  context: { device_type: string };
  position: number;
}

/** The seed's 批量上报 `events`, verbatim. */
export function seedBatchEvents(): [SeedBatchEvent, SeedBatchEvent] {
  return [
    {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      user_id: "user_001",
      item_id: "video_001",
      action_type: "impression",
      context: { device_type: "mobile" },
      position: 1,
    },
    {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      user_id: "user_001",
      item_id: "video_002",
      action_type: "impression",
      context: { device_type: "mobile" },
      position: 2,
    },
  ];
}

/**
 * POSTs one event to /api/v1/behaviors/track on a connection of its own (`Connection: close`),
 * so a cluster's round-robin or a balancer places every request afresh.
 */
export function trackOnce(port: number, event: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(event);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/api/v1/behaviors/track",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Resolves once `cli`'s stderr matches `re` (polled), with the match; rejects after `timeoutMs`. */
export async function waitForLog(cli: CliServer, re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(cli.stderr());
    if (m) return m;
    if (Date.now() > until) throw new Error(`no ${re} in the server log within ${timeoutMs} ms:\n${cli.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running `tracking serve` child process. */
export interface CliServer {
  child: ChildProcess;
  baseUrl: string;
  httpPort: number;
  grpcPort: number;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code / signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The parent's environment without server settings (keys, Kafka, ports), plus `extra`. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("TRACKING_") || k.startsWith("KAFKA_")) delete env[k];
  return { ...env, ...extra };
}

const ROOT = join(import.meta.dirname, "../..");

/**
 * Spawns `node --import tsx server/main.ts serve --data-dir <dir> --http-port 0 --grpc-port 0`
 * as ONE process (no tsx wrapper process, so a SIGKILL hits the server itself) and waits
 * for its startup line, which names the ports it bound. `args` go after these (a later
 * `--http-port` wins); with `--workers N` it waits for the primary's "N workers serving" line.
 */
export async function spawnCli(
  dataDir: string,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
  args: string[] = [],
): Promise<CliServer> {
  const w = args.indexOf("--workers");
  const workers = w >= 0 ? Number(args[w + 1]) : 1;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "server/main.ts"),
      "serve",
      "--host",
      "127.0.0.1",
      "--data-dir",
      dataDir,
      "--http-port",
      "0",
      "--grpc-port",
      "0",
      ...args,
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: cliEnv(env),
    },
  );
  let err = "";
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ports = await new Promise<{ http: number; grpc: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`CLI did not start within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      err += chunk;
      const m = /on [^\s]+:(\d+), gRPC on [^\s]+:(\d+)/.exec(err);
      if (m && (workers <= 1 || /tracking cluster: \d+ workers serving/.test(err))) {
        clearTimeout(timer);
        resolve({ http: Number(m[1]), grpc: Number(m[2]) });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited early (code ${code}, signal ${signal}); stderr:\n${err}`));
    });
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${ports.http}`,
    httpPort: ports.http,
    grpcPort: ports.grpc,
    stderr: () => err,
    exited,
  };
}
