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
export function trackOnce(
  port: number,
  event: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(event);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/api/v1/behaviors/track",
        agent: false,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          connection: "close",
        },
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
    const m = re.exec(cli.output());
    if (m) return m;
    if (Date.now() > until) throw new Error(`no ${re} in the server log within ${timeoutMs} ms:\n${cli.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running `tracking serve` child process. */
export interface CliServer {
  child: ChildProcess;
  baseUrl: string;
  httpPort: number;
  grpcPort: number;
  /** Everything the process wrote to stdout (its JSON log records) and stderr so far. */
  output(): string;
  /** The JSON log records (stdout lines) so far, parsed. */
  records(): Record<string, unknown>[];
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

/** How {@link spawnCli} starts the server. */
export interface SpawnCliOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Extra `serve` flags. */
  args?: string[];
  /** Longest wait for the startup record. Default 30 s. */
  timeoutMs?: number;
  /**
   * "source" (default): `node --import tsx server/main.ts` as ONE process (no tsx wrapper
   * process, so a SIGKILL hits the server itself). "bin": the real `bin/tracking`, which
   * execs node on build/ when `make build` made a fresh one (else on the sources).
   */
  via?: "source" | "bin";
}

/**
 * Spawns `tracking serve --data-dir <dir> --http-port 0 --grpc-port 0` and waits for its
 * startup log record, which names the ports it bound; with `--workers N` in `args` it also waits
 * for the primary's "N workers serving" record.
 */
export async function spawnCli(dataDir: string, options: SpawnCliOptions = {}): Promise<CliServer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const w = options.args?.indexOf("--workers") ?? -1;
  const workers = w >= 0 ? Number(options.args?.[w + 1]) : 1;
  const serveArgs = [
    "serve",
    "--host",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    "--http-port",
    "0",
    "--grpc-port",
    "0",
    ...(options.args ?? []),
  ];
  const [cmd, args] =
    options.via === "bin"
      ? [join(ROOT, "bin/tracking"), serveArgs]
      : [process.execPath, ["--import", "tsx", join(ROOT, "server/main.ts"), ...serveArgs]];
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: cliEnv(options.env ?? {}) });
  let out = "";
  let stdout = "";
  const records: Record<string, unknown>[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    out += chunk;
  });
  child.stdout!.setEncoding("utf8");
  let bound: { http: number; grpc: number } | undefined;
  let clusterUp = false;
  const ports = await new Promise<{ http: number; grpc: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`CLI did not start within ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      stdout += chunk;
      let nl = stdout.indexOf("\n");
      while (nl !== -1) {
        const record = JSON.parse(stdout.slice(0, nl)) as Record<string, unknown>;
        stdout = stdout.slice(nl + 1);
        records.push(record);
        if (typeof record.http_port === "number" && typeof record.grpc_port === "number") {
          bound = { http: record.http_port, grpc: record.grpc_port };
        }
        if (typeof record.msg === "string" && /tracking cluster: \d+ workers serving/.test(record.msg)) {
          clusterUp = true;
        }
        if (bound !== undefined && (workers <= 1 || clusterUp)) {
          clearTimeout(timer);
          resolve(bound);
        }
        nl = stdout.indexOf("\n");
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited early (code ${code}, signal ${signal}); output:\n${out}`));
    });
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${ports.http}`,
    httpPort: ports.http,
    grpcPort: ports.grpc,
    output: () => out,
    records: () => records,
    exited,
  };
}
