/**
 * Shared by the artifact tests: builds dist/ with `make artifacts`' own script (reused when its
 * inputs did not change: scripts/artifacts/build.sh --reuse), and runs commands the way a consumer
 * project would (child processes, no loaders).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Repository root (this file lives in test/artifacts/). */
export const ROOT = resolve(import.meta.dirname, "../..");
/** dist/ of this tree. */
export const DIST = join(ROOT, "dist");

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a non-zero exit is returned, not thrown. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  try {
    const r = await exec(cmd, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 600_000,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof err.code === "number" ? err.code : 1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? err.message,
    };
  }
}

/** Like run(), but throws with the output when the command fails. */
export async function runOk(cmd: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** dist/ built from the current tree (built now unless a build from the same inputs is there). */
export async function ensureDist(): Promise<string> {
  await runOk("bash", [join(ROOT, "scripts/artifacts/build.sh"), "--reuse"], { timeoutMs: 900_000 });
  return DIST;
}

/** The npm tarballs in dist/npm. */
export function npmTarballs(): string[] {
  const dir = join(DIST, "npm");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".tgz"))
    .sort()
    .map((f) => join(dir, f));
}

/** The artifact builder of a language, when this tree has it (scripts/artifacts/<lang>.sh). */
export function builderOf(lang: "python" | "go"): string | undefined {
  const p = join(ROOT, "scripts/artifacts", `${lang}.sh`);
  return existsSync(p) ? p : undefined;
}

/** The package.json version: the one version of every artifact. */
export const VERSION: string = (await import(join(ROOT, "package.json"), { with: { type: "json" } })).default.version;
