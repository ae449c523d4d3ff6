/**
 * Conformance (ARTIFACTS.md): one corpus — the seed's examples and generated valid and invalid
 * events (conformance/corpus.ts) — judged by the TS validator, ajv on the JSON Schemas, Python's
 * validate_event (from the wheel, in a fresh venv) and Go's Validate (from the Go module). Every
 * runner must give the TS validator's verdict and, for base fields (not scenario_data/extra_data,
 * not the root), the same set of error fields; Python and Go must also give the same rule ids.
 *
 * Each language is one table entry; Python and Go are judged from dist/ as `make artifacts` builds it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOk } from "../helpers/run.js";
import { buildCorpus, type CorpusEntry } from "./conformance/corpus.js";
import { runAjv, runTs, schemaDirOf, type Verdict } from "./conformance/runners.js";
import { ROOT } from "./dist.js";
import { disposeGoConsumer, runGoConformance } from "./go-runner.js";
import { createVenv, ensurePythonWheel } from "./python-wheel.js";

/** A runner in another process or language. */
interface LanguageRunner {
  name: string;
  /** Whether rule ids must match the TS validator's too (ajv's keyword mapping is not held to that). */
  compareRules: boolean;
  run(corpusPath: string, corpus: readonly CorpusEntry[]): Promise<Verdict[]>;
}

const runners: LanguageRunner[] = [
  {
    name: "ajv on the JSON Schemas",
    compareRules: false,
    run: async (_path, corpus) => runAjv(corpus, schemaDirOf(ROOT)),
  },
  {
    name: "python validate_event (wheel in a fresh venv)",
    compareRules: true,
    run: async (path) => {
      const wheel = await ensurePythonWheel();
      const venv = mkdtempSync(join(tmpdir(), "conformance-py-"));
      try {
        const python = await createVenv(venv, [wheel]);
        const r = await runOk(python, ["-m", "recommender_behavior_tracking.conformance", path], { cwd: venv });
        return JSON.parse(r.stdout) as Verdict[];
      } finally {
        rmSync(venv, { recursive: true, force: true });
      }
    },
  },
  {
    name: "go Validate (Go module)",
    compareRules: true,
    run: (path) => runGoConformance(path),
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
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    disposeGoConsumer();
  });

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
    it(`${r.name} gives the TS validator's verdicts and base-field error paths${r.compareRules ? " and rule ids" : ""}`, async () => {
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
    }, 900_000);
  }
});
