/**
 * What the everyday `tracking` commands share: reading events from files or stdin with their
 * line numbers, colours (only on a TTY, NO_COLOR respected), a one-line fatal error, the
 * admin/HTTP calls to a running server (routes read from the generated REST tables), and a
 * judge built from a local config store (the same IngestPipeline.check the server runs).
 */
import { createReadStream, openSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { styleText } from "node:util";
import { type Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { trackingConfigServiceRoutes } from "../../gen/handlers/recommender/v1/tracking_config_handlers.js";
import type { Sink, Violation } from "../contracts.js";
import { type CheckResult, IngestPipeline } from "../ingest/pipeline.js";
import { RuleBook } from "../rules/index.js";
import type { CachedConfigStore } from "../store/config-store.js";
import { openConfigStore } from "../store/open.js";

/** A command failure: printed as one line (`tracking: <message>`), exit code `code`. */
export class CliError extends Error {
  readonly code: number;
  constructor(message: string, code = 2) {
    super(message);
    this.name = "CliError";
    this.code = code;
  }
}

type Style = Parameters<typeof styleText>[0];

/** Colours text for `stream` only when it is a TTY and NO_COLOR is unset (node's styleText checks both). */
export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return styleText(style, text, { stream });
}

/** One input event with where it came from. */
export interface InputEvent {
  /** File name ("-" for stdin). */
  file: string;
  /** 1-based line (NDJSON) or the line the JSON document starts on (1); array items: their index + 1 in `line`. */
  line: number;
  /** The parsed JSON, or undefined when `error` is set. */
  event?: unknown;
  /** Why the line is not an event (not JSON). */
  error?: string;
}

/** Reads a file (or stdin for "-"), naming the file in the error when it cannot be read. */
export function readInput(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(`cannot read ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  }
}

/**
 * Splits `text` into events: a JSON document (one event or an array of them) when the whole text
 * parses, else NDJSON (one event per non-empty line; a line that is not JSON is reported, not fatal).
 * `fromLine` skips NDJSON lines before it (replay's resume).
 */
export function* parseEvents(file: string, text: string, fromLine = 1): Generator<InputEvent> {
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || (trimmed.startsWith("{") && !trimmed.includes("\n"))) {
    try {
      const doc: unknown = JSON.parse(trimmed);
      if (Array.isArray(doc)) {
        for (let i = 0; i < doc.length; i++) if (i + 1 >= fromLine) yield { file, line: i + 1, event: doc[i] };
      } else if (fromLine <= 1) yield { file, line: 1, event: doc };
      return;
    } catch {
      // Not one document: fall through to NDJSON, which reports the bad lines.
    }
  }
  const lines = text.split("\n");
  // A pretty-printed single object spans lines: try it whole before calling it NDJSON.
  if (trimmed.startsWith("{") && lines.length > 1) {
    try {
      const doc: unknown = JSON.parse(trimmed);
      if (fromLine <= 1) yield { file, line: 1, event: doc };
      return;
    } catch {
      // NDJSON
    }
  }
  for (let i = Math.max(0, fromLine - 1); i < lines.length; i++) {
    const at = parseLine(file, i + 1, lines[i]!);
    if (at !== undefined) yield at;
  }
}

/** One NDJSON line as an event (or its JSON error); undefined for a blank line. */
export function parseLine(file: string, line: number, text: string): InputEvent | undefined {
  const raw = text.trim();
  if (raw === "") return undefined;
  try {
    return { file, line, event: JSON.parse(raw) as unknown };
  } catch (e) {
    return { file, line, error: `not JSON: ${(e as Error).message}` };
  }
}

/**
 * Streams the events of an NDJSON file or stdin line by line (memory stays flat for recordings
 * of any size); a JSON array or a pretty-printed object (see the first line) is read whole.
 */
export async function* streamEvents(file: string, fromLine = 1): AsyncGenerator<InputEvent> {
  let input: NodeJS.ReadableStream;
  if (file === "-") input = process.stdin;
  else {
    try {
      const fd = openSync(file, "r");
      input = createReadStream("", { fd });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new CliError(`cannot read ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    }
  }
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  let whole: string[] | undefined;
  for await (const text of lines) {
    n++;
    if (whole !== undefined) {
      whole.push(text);
      continue;
    }
    // A JSON array, or a pretty-printed object (its first line alone is not JSON): read whole.
    if (
      n === 1 &&
      (text.trimStart().startsWith("[") || (text.trimStart().startsWith("{") && parseLine(file, 1, text)?.error))
    ) {
      whole = [text];
      continue;
    }
    if (n < fromLine) continue;
    const at = parseLine(file, n, text);
    if (at !== undefined) yield at;
  }
  if (whole !== undefined) yield* parseEvents(file, whole.join("\n"), fromLine);
}

/** Lines of a file, counted by streaming its bytes (replay's progress total). */
export async function countLines(file: string): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(file)) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
    if (b.length > 0) last = b[b.length - 1]!;
  }
  return last === 10 ? lines : lines + 1;
}

/** `file:line field rule message` (the per-line report of validate and replay). */
export function violationLine(at: { file: string; line: number }, v: Violation, stream = process.stdout): string {
  const sev = v.severity === "error" ? paint("red", "error", stream) : paint("yellow", "warning", stream);
  return `${at.file}:${at.line} ${sev} ${v.field || "(event)"} ${paint("dim", v.rule, stream)} ${v.message}`;
}

/** `--server`, `--api-key` and `--timeout-ms` of the commands that talk to a running server. */
export function serverOptions(required: boolean, keyEnv = "TRACKING_ADMIN_KEY"): Option[] {
  const server = new Option("--server <url>", "base URL of a running tracking server, e.g. http://127.0.0.1:8080").env(
    "TRACKING_SERVER",
  );
  return [
    required ? server.makeOptionMandatory() : server,
    new Option("--api-key <key>", "API key sent as X-API-Key (configs: an admin key; validate: the tenant's key)").env(
      keyEnv,
    ),
    new Option("--timeout-ms <ms>", "longest wait for one answer of the server")
      .argParser((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
        return n;
      })
      .default(5000),
  ];
}

/** The parsed server options. */
export interface ServerFlags {
  server?: string;
  apiKey?: string;
  timeoutMs: number;
}

/** The REST path of a TrackingConfigService RPC, from the generated route table. */
export function configRoute(rpc: string, params: Record<string, string> = {}): string {
  const route = trackingConfigServiceRoutes.find((r) => r.rpc === rpc);
  if (route === undefined) throw new Error(`no REST route for TrackingConfigService.${rpc}`);
  return route.pathTemplate.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
}

/** An HTTP answer of the server. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * One request to the server; a connection failure or timeout becomes a one-line CliError naming
 * the URL (no retries: a person is waiting).
 */
export async function serverRequest(
  o: ServerFlags,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  if (o.server === undefined) throw new CliError("--server is required (or TRACKING_SERVER)");
  let base: URL;
  try {
    base = new URL(o.server);
  } catch {
    throw new CliError(`--server ${o.server} is not a URL (like http://127.0.0.1:8080)`);
  }
  const url = new URL(path, base);
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (o.apiKey) headers["x-api-key"] = o.apiKey;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why =
      err.name === "TimeoutError"
        ? `no answer within ${o.timeoutMs} ms`
        : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new CliError(`cannot reach ${base.origin}: ${why}`);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/** The server's error message of a non-2xx answer, one line. */
export function answerError(what: string, a: HttpAnswer): CliError {
  const b = a.body as { message?: string; error?: { message?: string } } | string | undefined;
  const msg = typeof b === "object" ? (b?.message ?? b?.error?.message) : b;
  const hint = a.status === 401 || a.status === 403 ? " (admin key: --api-key or TRACKING_ADMIN_KEY)" : "";
  return new CliError(`${what}: HTTP ${a.status}${msg ? `: ${String(msg).split("\n")[0]}` : ""}${hint}`, 1);
}

/** The config-store flags of the local judge (the same as `serve` and `configs export|import`). */
export interface StoreFlags {
  dataDir: string;
  configStore?: string;
  configStoreTimeoutMs: number;
}

/** A local judge: the server's own check (generated validator + RuleBook over the config store). */
export interface LocalJudge {
  check(event: unknown): CheckResult;
  /** The RuleBook (replay to Kafka builds its pipeline on it). */
  rules: RuleBook;
  close(): Promise<void>;
}

// validate() never publishes; the pipeline still wants a sink.
const VALIDATION_ONLY: Sink = {
  kind: "none",
  publish: () => Promise.reject(new Error("validation only")),
  available: () => true,
  close: async () => {},
};

/** Opens the config store read-only and judges events like the server does. */
export async function openLocalJudge(o: StoreFlags): Promise<LocalJudge> {
  let store: CachedConfigStore;
  try {
    store = await openConfigStore({
      spec: o.configStore,
      dataDir: o.dataDir,
      pollIntervalMs: 0,
      serverSelectionTimeoutMs: o.configStoreTimeoutMs,
      log: () => {},
    });
  } catch (e) {
    throw new CliError(`cannot open the config store: ${(e as Error).message.split("\n")[0]}`);
  }
  const rules = new RuleBook();
  const off = rules.attach(store);
  const pipeline = new IngestPipeline({
    sink: VALIDATION_ONLY,
    judge: rules,
    counters: { received() {}, rejected() {}, warned() {}, published() {}, failed() {} },
  });
  return {
    check: (event) => pipeline.validate(event),
    rules,
    close: async () => {
      off();
      await store.close();
    },
  };
}

/**
 * Sets up an everyday command and its subcommands: commander's usage errors exit 2 (1 stays for
 * "the input has problems"; main.ts exits with {@link exitCodeOf}), and a closed stdout
 * (`tracking topics list | head`) ends the command quietly instead of crashing on EPIPE.
 */
export function everydayCommand(cmd: Command): Command {
  cmd.exitOverride((err) => {
    throw err.exitCode === 0 ? err : new CommanderError(2, err.code, err.message);
  });
  cmd.hook("preAction", () => {
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw err;
    });
  });
  for (const sub of cmd.commands) everydayCommand(sub);
  return cmd;
}

/** The exit code and the one line to print for an error that ended a command (main.ts). */
export function exitCodeOf(err: unknown): { code: number; line?: string } {
  if (err instanceof CliError) return { code: err.code, line: `tracking: ${err.message}` };
  // commander printed its message already
  if (err instanceof CommanderError) return { code: err.exitCode };
  return { code: 1, line: err instanceof Error ? err.message : String(err) };
}
