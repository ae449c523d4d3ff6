/**
 * The seed's direct Kafka writers as real producers for the gate tests: its Python aiokafka
 * KafkaTracker (aiokafka from PyPI, in a cached venv made by test/edge/python-env.sh) and its Go
 * sarama KafkaTracker (sarama from the Go module proxy), both copied out of the seed document by
 * test/helpers/seed.ts with their edits listed; small drivers (fixtures/) feed them events.
 * Also the gate itself as a spawned `bin/tracking gate` process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOk } from "../helpers/run.js";
import {
  SEED_AIOKAFKA_HEADING,
  SEED_SARAMA_HEADING,
  type SeedProgram,
  seedAiokafkaTracker,
  seedCodeBlock,
  seedDocument,
  seedSaramaTracker,
} from "../helpers/seed.js";
import { ROOT } from "../kafka/broker.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
/** aiokafka as pinned for these tests (the PyPI release the package lists name). */
export const AIOKAFKA_SPEC = "aiokafka==0.14.0";
/** sarama and uuid versions the driver module requires (resolved through the Go module proxy). */
const GO_REQUIRES = ["github.com/IBM/sarama v1.61.1", "github.com/google/uuid v1.6.0"];

const workDirs: string[] = [];

/** Deletes the writers' temp directories. */
export function disposeWriters(): void {
  for (const d of workDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** The seed's two writer blocks, verbatim, as kept in fixtures/ (checked against the seed when it is beside the checkout). */
export const SEED_BLOCK_FIXTURES = {
  aiokafka: join(FIXTURES, "seed-aiokafka-tracker.py.txt"),
  sarama: join(FIXTURES, "seed-sarama-tracker.go.txt"),
} as const;

/**
 * A writer block from the seed document when it is beside the checkout (test/helpers/seed.ts),
 * else its verbatim copy in fixtures/ (a fresh clone without shared/).
 */
export function seedWriterBlock(which: "aiokafka" | "sarama"): string {
  const doc = seedDocument(SEED_SARAMA_HEADING);
  if (doc === undefined) return readFileSync(SEED_BLOCK_FIXTURES[which], "utf8");
  return which === "aiokafka"
    ? seedCodeBlock(doc, SEED_AIOKAFKA_HEADING, "python")
    : seedCodeBlock(doc, SEED_SARAMA_HEADING, "go");
}

/** A ready writer: `send(spec)` runs it with a JSON spec file and returns how many events it sent. */
export interface SeedWriter {
  program: SeedProgram;
  send(spec: object): Promise<number>;
}

function specFile(dir: string, spec: object): string {
  const file = join(dir, `spec-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** The seed's aiokafka tracker in a venv with aiokafka from PyPI (cached under .tools/gate-pyenv). */
export async function prepareAiokafkaWriter(): Promise<SeedWriter> {
  const venv = join(ROOT, ".tools/gate-pyenv");
  await runOk("bash", [join(ROOT, "test/edge/python-env.sh"), venv, AIOKAFKA_SPEC], { timeoutMs: 600_000 });
  const dir = mkdtempSync(join(tmpdir(), "gate-aiokafka-"));
  workDirs.push(dir);
  const program = seedAiokafkaTracker(seedWriterBlock("aiokafka"));
  writeFileSync(join(dir, "seed_tracker.py"), program.code);
  copyFileSync(join(FIXTURES, "aiokafka_driver.py"), join(dir, "aiokafka_driver.py"));
  return {
    program,
    async send(spec) {
      const { stdout } = await runOk(join(venv, "bin/python"), ["aiokafka_driver.py", specFile(dir, spec)], {
        cwd: dir,
        timeoutMs: 60_000,
      });
      // The seed's tracker prints its own progress lines; the driver's count is the last line.
      return Number(stdout.trim().split("\n").pop());
    },
  };
}

/** The seed's sarama tracker built as a Go program (modules from the Go module proxy / its cache). */
export async function prepareSaramaWriter(): Promise<SeedWriter> {
  const dir = mkdtempSync(join(tmpdir(), "gate-sarama-"));
  workDirs.push(dir);
  const program = seedSaramaTracker(seedWriterBlock("sarama"));
  writeFileSync(join(dir, "seed_tracker.go"), program.code);
  copyFileSync(join(FIXTURES, "sarama_driver.go"), join(dir, "main.go"));
  writeFileSync(
    join(dir, "go.mod"),
    `module example.com/seed-sarama\n\ngo 1.26.0\n\nrequire (\n${GO_REQUIRES.map((r) => `\t${r}\n`).join("")})\n`,
  );
  const env = { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false -trimpath" };
  await runOk("go", ["mod", "tidy"], { cwd: dir, env, timeoutMs: 900_000 });
  const binary = join(dir, "seed-sarama");
  await runOk("go", ["build", "-o", binary, "."], { cwd: dir, env, timeoutMs: 900_000 });
  return {
    program,
    async send(spec) {
      const { stdout } = await runOk(binary, [specFile(dir, spec)], { timeoutMs: 60_000 });
      return Number(stdout.trim());
    },
  };
}

/** Counts of one tenant in the gate's exit summary. */
export interface TenantSummary {
  pass: number;
  warn: number;
  fail: number;
  mispartitioned: number;
  copied: number;
}

/** The JSON line `tracking gate` prints on exit. */
export interface GateExitSummary {
  reason: string;
  judged: number;
  committed: number;
  error?: string;
  tenants: Record<string, TenantSummary>;
}

/** A spawned `bin/tracking gate`. */
export interface GateProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT/metrics, once the gate logged it. */
  metricsUrl: Promise<string>;
  /** Exit code and summary, once it exited. */
  exited: Promise<{ code: number | null; summary: GateExitSummary | undefined; stderr: string }>;
  /** Sends a signal. */
  kill(signal: NodeJS.Signals): void;
}

/** Starts `bin/tracking gate ARGS` (with --metrics-port 0 on loopback); kill it by its pid when done. */
export function spawnGate(args: string[], timeoutMs = 120_000): GateProcess {
  const child = spawn(
    join(ROOT, "bin/tracking"),
    ["gate", "--metrics-host", "127.0.0.1", "--metrics-port", "0", ...args],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  let onUrl: (url: string) => void = () => {};
  const metricsUrl = new Promise<string>((resolve) => {
    onUrl = resolve;
  });
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    const m = /metrics on (http:\/\/\S+\/metrics)/.exec(stderr);
    if (m?.[1]) onUrl(m[1]);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const exited = new Promise<{ code: number | null; summary: GateExitSummary | undefined; stderr: string }>(
    (resolve) => {
      child.on("exit", (code) => {
        clearTimeout(timer);
        // Let the pipes drain.
        setImmediate(() => {
          const line = stdout.trim().split("\n").pop();
          let summary: GateExitSummary | undefined;
          try {
            summary = line ? (JSON.parse(line) as GateExitSummary) : undefined;
          } catch {
            summary = undefined;
          }
          resolve({ code, summary, stderr });
        });
      });
    },
  );
  return { child, metricsUrl, exited, kill: (signal) => child.kill(signal) };
}

/** Sum of a metric's samples whose labels include `labels` in a Prometheus text exposition. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}
