/**
 * A private FerretDB (the MongoDB wire protocol on SQLite) per test file: built once by
 * scripts/mongo/build.sh (cached under .tools/ferretdb), started on a free loopback port with
 * a temp data dir, so tests never depend on `make mongo-up`. It can be stopped (SIGKILL, as
 * a crashed database) and started again on the same port and data for fault tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, portOpen } from "../kafka/broker.js";
import { runOk } from "./run.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** A FerretDB started for tests. */
export interface TestMongo {
  /** e.g. mongodb://127.0.0.1:40123/tracking_<random> — a fresh database each call of `uri()`. */
  uri(db?: string): string;
  port: number;
  dataDir: string;
  /** Kills the server (SIGKILL); the data stays. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Kills it and deletes its data. */
  stop(): Promise<void>;
}

/** Builds FerretDB if needed (first time ≈ 75-120 s) and returns the binary. */
export async function ferretdbBinary(): Promise<string> {
  const r = await runOk("bash", [join(ROOT, "scripts/mongo/build.sh")], { timeoutMs: 600_000 });
  return r.stdout.trim().split("\n").pop()!;
}

let dbCounter = 0;

/** Starts a private FerretDB on a free port. */
export async function startTestMongo(): Promise<TestMongo> {
  const bin = await ferretdbBinary();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "ferretdb-test-"));
  let child: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    child = spawn(
      bin,
      [
        "--handler=sqlite",
        `--sqlite-url=file:${dataDir}/`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${dataDir}`,
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!(await portOpen(port, 200))) {
      if (child.exitCode !== null) throw new Error(`ferretdb exited (${child.exitCode}): ${output}`);
      if (Date.now() > deadline) throw new Error(`ferretdb not listening on ${port} after 20 s: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
  };
  await start();
  return {
    uri: (db?: string) => `mongodb://127.0.0.1:${port}/${db ?? `tracking_${process.pid}_${++dbCounter}`}`,
    port,
    dataDir,
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
