/**
 * ClickHouse for the downstream tests and the bench: chDB (PyPI chdb-core, ClickHouse in-process)
 * in a venv cached under .tools/chdb-venv by test/edge/python-env.sh (the wheel, ≈180 MB, is
 * downloaded once into .tools/pip-wheelhouse), driven through one long-lived Python process, plus
 * helpers that read the generated DDL in gen/clickhouse/.
 *
 * chDB cannot run a Kafka engine table ("Code: 49. Shutdown was called" on CREATE), so
 * `nullEngineDdl` swaps the queue table's engine for Null (a materialized view fires on inserts
 * into its source whatever the engine) and `kafkaInsertSettings` turns the queue's SETTINGS into
 * what ClickHouse's Kafka engine applies to its parser: the format settings as given, and
 * `input_format_allow_errors_num = kafka_skip_broken_messages` (with ratio 0), as StorageKafka does.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { runOk } from "../helpers/run.js";
import { ROOT } from "../kafka/broker.js";

/** The pinned chDB wheel (ClickHouse 26.9). */
export const CHDB_SPEC = "chdb-core==26.9.0";
const VENV = join(ROOT, ".tools/chdb-venv");
/** gen/clickhouse of this checkout. */
export const GEN_CLICKHOUSE = join(ROOT, "gen/clickhouse");

/** Installs (first time: downloads) chDB into the cached venv; returns its python. */
export async function ensureChdb(): Promise<string> {
  // Test files run in parallel: one installs, the others wait for it (flock) instead of racing on the venv.
  mkdirSync(join(ROOT, ".tools"), { recursive: true });
  const lock = join(ROOT, ".tools/chdb-venv.lock");
  await runOk("flock", [lock, "bash", join(ROOT, "test/edge/python-env.sh"), VENV, CHDB_SPEC], { timeoutMs: 600_000 });
  return join(VENV, "bin/python");
}

/** A ClickHouse error from chDB. */
export class ChdbError extends Error {}

/** Result of one query. */
export interface ChdbResult {
  /** The output in the requested format. */
  data: string;
  rowsWritten: number;
  elapsedSeconds: number;
}

/** One chDB session (its own data directory) in a child Python process. */
export class ChdbSession {
  private readonly waiting: ((line: string) => void)[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private exited: string | undefined;
  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly dataDir: string,
  ) {
    createInterface({ input: proc.stdout }).on("line", (line) => this.waiting.shift()?.(line));
    // A crashed engine answers every waiting query with the error instead of leaving it hanging.
    proc.once("exit", (code, signal) => {
      this.exited = `chDB process exited (${code ?? signal})`;
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ ok: false, error: this.exited }));
    });
  }

  /** Starts a session in a fresh temp directory. */
  static async start(): Promise<ChdbSession> {
    const python = await ensureChdb();
    const dir = mkdtempSync(join(tmpdir(), "chdb-"));
    const proc = spawn(python, [join(ROOT, "test/downstream/chdb_session.py"), dir], { stdio: "pipe" });
    const stderr: string[] = [];
    proc.stderr.on("data", (b: Buffer) => stderr.push(b.toString()));
    const s = new ChdbSession(proc, dir);
    const ready = await Promise.race([
      new Promise<string>((done) => s.waiting.push(done)),
      new Promise<never>((_, fail) =>
        proc.once("exit", (code) => fail(new Error(`chdb_session.py exited ${code}: ${stderr.join("")}`))),
      ),
    ]);
    if (!(JSON.parse(ready) as { ready?: boolean }).ready) throw new Error(`chdb_session.py: ${ready}`);
    return s;
  }

  /** Runs one statement; throws ChdbError with ClickHouse's message when it fails. */
  query(sql: string, format = "JSONEachRow", params?: Record<string, string | number>): Promise<ChdbResult> {
    const next = this.chain.then(
      () =>
        new Promise<ChdbResult>((done, fail) => {
          if (this.exited !== undefined) return fail(new ChdbError(this.exited));
          this.waiting.push((line) => {
            const r = JSON.parse(line) as {
              ok: boolean;
              data?: string;
              rows_written?: number;
              elapsed?: number;
              error?: string;
            };
            if (!r.ok) fail(new ChdbError(r.error ?? "unknown chDB error"));
            else done({ data: r.data ?? "", rowsWritten: r.rows_written ?? 0, elapsedSeconds: r.elapsed ?? 0 });
          });
          this.proc.stdin.write(`${JSON.stringify({ sql, format, params: params ?? null })}\n`);
        }),
    );
    this.chain = next.catch(() => {});
    return next;
  }

  /** Rows of a JSONEachRow query. */
  async rows<T = Record<string, unknown>>(sql: string, params?: Record<string, string | number>): Promise<T[]> {
    const r = await this.query(sql, "JSONEachRow", params);
    return r.data
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as T);
  }

  /** Ends the Python process and deletes the data directory. */
  async close(): Promise<void> {
    this.proc.stdin.end();
    await new Promise<void>((done) => {
      if (this.proc.exitCode !== null) return done();
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
      this.proc.once("exit", () => {
        clearTimeout(t);
        done();
      });
    });
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The statements of a generated .sql file (comment lines dropped; statements end with `;` at a line end). */
export function statements(sql: string): string[] {
  return sql
    .split("\n")
    .filter((l) => !l.startsWith("--"))
    .join("\n")
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A generated file's text, by its path under gen/clickhouse. */
export function genFile(name: string, dir = GEN_CLICKHOUSE): string {
  return readFileSync(join(dir, name), "utf8");
}

/** Every generated .sql file under gen/clickhouse, relative paths, sorted. */
export function genSqlFiles(dir = GEN_CLICKHOUSE): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

/** The `name = value` pairs of the Kafka engine's SETTINGS clause in a generated ingestion file. */
export function kafkaSettings(kafkaSql: string): Map<string, string> {
  const m = /ENGINE = Kafka\s+SETTINGS\s+([\s\S]*?);\s*$/m.exec(kafkaSql);
  if (!m?.[1]) throw new Error("no ENGINE = Kafka SETTINGS … ; in the ingestion DDL");
  const out = new Map<string, string>();
  for (const line of m[1].split(",\n")) {
    const kv = /^\s*(\w+)\s*=\s*(.+?)\s*$/.exec(line);
    if (!kv?.[1] || kv[2] === undefined) throw new Error(`unparsable setting: ${line}`);
    out.set(kv[1], kv[2]);
  }
  return out;
}

/** The ingestion DDL with the Kafka engine (and its SETTINGS) replaced by `ENGINE = Null`. */
export function nullEngineDdl(kafkaSql: string): string {
  const out = kafkaSql.replace(/ENGINE = Kafka\s+SETTINGS\s+[\s\S]*?;\s*$/m, "ENGINE = Null;");
  if (out === kafkaSql) throw new Error("no Kafka engine to swap");
  return out;
}

/**
 * The settings ClickHouse's Kafka engine gives the parser of the queue's messages: the non-kafka_
 * settings of the table, input_format_allow_errors_num = kafka_skip_broken_messages, ratio 0.
 */
export function kafkaInsertSettings(kafkaSql: string): string {
  const s = kafkaSettings(kafkaSql);
  const parts = [...s].filter(([k]) => !k.startsWith("kafka_")).map(([k, v]) => `${k} = ${v}`);
  parts.push(`input_format_allow_errors_num = ${s.get("kafka_skip_broken_messages") ?? "0"}`);
  parts.push("input_format_allow_errors_ratio = 0");
  return parts.join(", ");
}
