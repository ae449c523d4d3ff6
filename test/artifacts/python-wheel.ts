/**
 * The Python wheel for consumer tests: dist/python/*.whl, built by scripts/artifacts/python.sh
 * when missing or built from other inputs (the builder's inputs hash), and fresh consumer venvs
 * with it installed (test/edge/python-env.sh; PyPI through the pip cache in .tools/pip-cache).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "../..");
export const DIST_PYTHON = join(ROOT, "dist/python");
const BUILDER = join(ROOT, "scripts/artifacts/python.sh");
const STAMP = join(DIST_PYTHON, ".recommender_behavior_tracking.inputs");

/** Outcome of a child process. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never rejects (the exit code is in the result). */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd ?? ROOT,
        env: opts.env ?? process.env,
        timeout: opts.timeout ?? 120_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && !stderr ? String(err) : "") });
      },
    );
  });
}

/** package.json "version": the version of every artifact. */
export function projectVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/** dist/python's wheel, (re)built first unless it was built from the current inputs. */
export async function ensurePythonWheel(): Promise<string> {
  const version = projectVersion();
  const want = await run("bash", [BUILDER, "--inputs-hash", version]);
  if (want.code !== 0) throw new Error(`python.sh --inputs-hash failed:\n${want.stderr}`);
  const wheels = () =>
    existsSync(DIST_PYTHON)
      ? readdirSync(DIST_PYTHON).filter((f) => /^recommender_behavior_tracking-.*\.whl$/.test(f))
      : [];
  const fresh = existsSync(STAMP) && readFileSync(STAMP, "utf8").trim() === want.stdout.trim() && wheels().length === 1;
  if (!fresh) {
    const built = await run("bash", [BUILDER, version, DIST_PYTHON], { timeout: 600_000 });
    if (built.code !== 0)
      throw new Error(`scripts/artifacts/python.sh failed (exit ${built.code}):\n${built.stderr}\n${built.stdout}`);
  }
  const [only, ...more] = wheels();
  if (only === undefined || more.length > 0)
    throw new Error(`expected one wheel in dist/python, found ${[only, ...more].join(", ") || "none"}`);
  return join(DIST_PYTHON, only);
}

/** A new venv at `dir` with `specs` installed from PyPI/the pip cache (e.g. "<wheel>[kafka]"). */
export async function createVenv(dir: string, specs: string[]): Promise<string> {
  const r = await run("bash", [join(ROOT, "test/edge/python-env.sh"), dir, ...specs], { timeout: 600_000 });
  if (r.code !== 0)
    throw new Error(
      `python-env.sh ${dir} failed (exit ${r.code}); needs python3 + venv and PyPI:\n${r.stderr}\n${r.stdout}`,
    );
  return join(dir, "bin/python");
}
