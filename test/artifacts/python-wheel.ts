/**
 * The Python side of the artifact tests: the wheel `make artifacts` puts in dist/python
 * (built through scripts/artifacts/build.sh --reuse, like every artifact test), and fresh consumer
 * venvs with it installed (test/edge/python-env.sh; PyPI through the wheelhouse in .tools/).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { run } from "../helpers/run.js";
import { ensureDist, ROOT } from "./dist.js";

/** dist/python's one wheel, after dist/ is built from the current tree. */
export async function ensurePythonWheel(): Promise<string> {
  const dir = join(await ensureDist(), "python");
  const [only, ...more] = readdirSync(dir).filter((f) => /^recommender_behavior_tracking-.*\.whl$/.test(f));
  if (only === undefined || more.length > 0)
    throw new Error(`expected one wheel in dist/python, found ${[only, ...more].join(", ") || "none"}`);
  return join(dir, only);
}

/** A new venv at `dir` with `specs` installed from PyPI/the wheelhouse (e.g. "<wheel>[kafka]"); its python. */
export async function createVenv(dir: string, specs: string[]): Promise<string> {
  const r = await run("bash", [join(ROOT, "test/edge/python-env.sh"), dir, ...specs], { timeoutMs: 600_000 });
  if (r.code !== 0)
    throw new Error(
      `python-env.sh ${dir} failed (exit ${r.code}); needs python3 + venv and PyPI:\n${r.stderr}\n${r.stdout}`,
    );
  return join(dir, "bin/python");
}
