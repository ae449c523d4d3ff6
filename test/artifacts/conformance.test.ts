/**
 * Conformance (ARTIFACTS.md): one corpus — the seed's examples and generated valid and invalid
 * events (conformance/corpus.ts) — judged by the TS validator, ajv on the JSON Schemas, Python's
 * validate_event (from the wheel, in a fresh venv) and Go's Validate (from the Go module). Every
 * runner must give the TS validator's verdict and, for base fields (not scenario_data/extra_data,
 * not the root), the same set of error fields; Python and Go must also give the same rule ids.
 *
 * Each language is one table entry. Python and Go come from their own builders
 * (scripts/artifacts/{python,go}.sh) and test helpers; where a tree lacks a builder the entry is
 * reported as skipped with "NOT BUILT IN THIS BRANCH" in its name rather than dropped.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCorpus, type CorpusEntry } from "./conformance/corpus.js";
import { runAjv, runTs, schemaDirOf, type Verdict } from "./conformance/runners.js";
import { builderOf, DIST, ensureDist, ROOT, runOk } from "./dist.js";

/** A runner in another process or language; `notBuilt` names why this tree cannot run it. */
interface LanguageRunner {
  name: string;
  notBuilt: string | undefined;
  /** Whether rule ids must match the TS validator's too (ajv's keyword mapping is not held to that). */
  compareRules: boolean;
  run(corpusPath: string, corpus: readonly CorpusEntry[]): Promise<Verdict[]>;
}

/** A helper module of another branch, loaded by path so this file compiles without it. */
async function helper<T>(file: string): Promise<T> {
  return (await import(join(ROOT, "test/artifacts", file))) as T;
}

const notBuilt = (lang: "python" | "go") =>
  builderOf(lang) ? undefined : `NOT BUILT IN THIS BRANCH (no scripts/artifacts/${lang}.sh)`;

const runners: LanguageRunner[] = [
  {
    name: "ajv on the JSON Schemas",
    notBuilt: undefined,
    compareRules: false,
    run: async (_path, corpus) => runAjv(corpus, schemaDirOf(ROOT)),
  },
  {
    name: "python validate_event (wheel in a fresh venv)",
    notBuilt: notBuilt("python"),
    compareRules: true,
    run: async (path) => {
      const { createVenv } = await helper<{ createVenv(dir: string, specs: string[]): Promise<string> }>(
        "python-wheel.ts",
      );
      // The wheel of dist/ (make artifacts' own build, serialized with the other artifact tests).
      const wheels = readdirSync(join(await ensureDist(), "python")).filter((f) => f.endsWith(".whl"));
      expect(wheels).toHaveLength(1);
      const venv = mkdtempSync(join(tmpdir(), "conformance-py-"));
      try {
        const python = await createVenv(venv, [join(DIST, "python", wheels[0] ?? "")]);
        const r = await runOk(python, ["-m", "recommender_behavior_tracking.conformance", path], { cwd: venv });
        return JSON.parse(r.stdout) as Verdict[];
      } finally {
        rmSync(venv, { recursive: true, force: true });
      }
    },
  },
  {
    name: "go Validate (Go module)",
    notBuilt: notBuilt("go"),
    compareRules: true,
    run: async (path) => {
      const { runGoConformance } = await helper<{ runGoConformance(corpusPath: string): Promise<Verdict[]> }>(
        "go-runner.ts",
      );
      return runGoConformance(path);
    },
  },
];

/** Base fields: what every language must report alike (scenario data and the root are left to each validator's detail). */
const isBase = (field: string) => field !== "" && !field.startsWith("scenario_data") && !field.startsWith("extra_data");
const baseFields = (v: Verdict) => [...new Set(v.errors.map((e) => e.field).filter(isBase))].sort();
const baseRules = (v: Verdict) =>
  [...new Set(v.errors.filter((e) => isBase(e.field)).map((e) => `${e.field}:${e.rule}`))].sort();

describe("conformance corpus", () => {
  let corpus: CorpusEntry[];
  let corpusPath: string;
  let dir: string;
  let ts: Verdict[];

  beforeAll(() => {
    corpus = buildCorpus();
    dir = mkdtempSync(join(tmpdir(), "conformance-"));
    corpusPath = join(dir, "corpus.json");
    writeFileSync(corpusPath, JSON.stringify(corpus));
    ts = runTs(corpus);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is the seed's examples plus ≥ 200 generated events, the same on every build, with both verdicts well represented", () => {
    expect(buildCorpus()).toEqual(corpus);
    expect(corpus.filter((c) => c.id.startsWith("seed/")).length).toBe(44);
    expect(corpus.filter((c) => c.id.startsWith("gen/")).length).toBeGreaterThanOrEqual(200);
    expect(new Set(corpus.map((c) => c.id)).size).toBe(corpus.length);
    const valid = ts.filter((v) => v.valid).length;
    expect(valid).toBeGreaterThanOrEqual(60);
    expect(corpus.length - valid).toBeGreaterThanOrEqual(60);
    // Invalid base fields are exercised, not only scenario data.
    expect(ts.filter((v) => baseFields(v).length > 0).length).toBeGreaterThanOrEqual(40);
    // The seed's examples are valid, and without event_id/timestamp only as requests.
    for (const v of ts.filter((v) => v.id.startsWith("seed/")))
      expect(v.valid, v.id).toBe(!v.id.endsWith("/unfilled/kafka"));
  });

  for (const r of runners) {
    const title = r.notBuilt
      ? `${r.name}: ${r.notBuilt}`
      : `${r.name} gives the TS validator's verdicts and base-field error paths${r.compareRules ? " and rule ids" : ""}`;
    it.skipIf(r.notBuilt !== undefined)(
      title,
      async () => {
        const got = await r.run(corpusPath, corpus);
        expect(got.map((v) => v.id)).toEqual(corpus.map((c) => c.id));
        const mismatches: string[] = [];
        got.forEach((v, i) => {
          const want = ts[i];
          const c = corpus[i];
          if (!want || !c) return;
          const detail = () =>
            `${v.id} (${c.mode}) ${JSON.stringify(c.event)}\n  ts:   ${JSON.stringify(want.errors)}\n  ${r.name}: ${JSON.stringify(v.errors)}`;
          if (v.valid !== want.valid) mismatches.push(`verdict ${detail()}`);
          else if (JSON.stringify(baseFields(v)) !== JSON.stringify(baseFields(want)))
            mismatches.push(`fields ${detail()}`);
          else if (r.compareRules && JSON.stringify(baseRules(v)) !== JSON.stringify(baseRules(want)))
            mismatches.push(`rules ${detail()}`);
        });
        expect(mismatches.slice(0, 10), `${mismatches.length} of ${corpus.length} differ`).toEqual([]);
      },
      900_000,
    );
  }
});
