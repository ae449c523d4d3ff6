/**
 * Shared by the artifact tests: builds dist/ with `make artifacts`' own script (reused when its
 * inputs did not change: scripts/artifacts/build.sh --reuse); child processes run through
 * test/helpers/run.ts.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { runOk } from "../helpers/run.js";

/** Repository root (this file lives in test/artifacts/). */
export const ROOT = resolve(import.meta.dirname, "../..");
/** dist/ of this tree. */
export const DIST = join(ROOT, "dist");

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

/** The package.json version: the one version of every artifact. */
export const VERSION: string = (await import(join(ROOT, "package.json"), { with: { type: "json" } })).default.version;
