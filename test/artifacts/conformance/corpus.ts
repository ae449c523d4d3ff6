/**
 * The conformance corpus (ARTIFACTS.md): the seed's examples plus generated valid and invalid
 * BehaviorEvents, as `[{ id, mode, event }]`. Deterministic: the same fast-check seed gives the same
 * corpus. `tsx test/artifacts/conformance/corpus.ts OUT.json` writes it for runners in other languages.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";
import { type FieldModel, messageModel } from "../../../codegen/common/model.js";
import { BehaviorEventSchema } from "../../../gen/es/recommender/v1/behavior_pb.js";
import type { WireMode } from "../../../gen/validator/violation.js";
import { messageArb, mutatedArb } from "../../schema/arbitraries.js";

/** One corpus entry: which schema (request body or Kafka message) judges `event`. */
export interface CorpusEntry {
  id: string;
  mode: WireMode;
  event: unknown;
}

const SEED_DIR = resolve(import.meta.dirname, "../../fixtures/seed");
/** The fixed fast-check seed of the generated part. */
export const CORPUS_SEED = 20_261_128;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => x !== null && typeof x === "object" && !Array.isArray(x);

/** Values that break one check of a field, named for the corpus id (derived from the shared model, not listed by hand). */
function breakers(f: FieldModel): [what: string, value: unknown][] {
  const out: [string, unknown][] = [];
  const wrongType: Record<string, unknown> = {
    string: 123,
    bool: "true",
    integer: "1",
    number: "1.5",
    enum: true,
    message: "x",
    struct: [1],
  };
  const elementOk: Record<string, unknown> = {
    string: "x",
    bool: true,
    integer: 1,
    number: 1,
    enum: f.value.kind === "enum" ? f.value.enum.values[0]?.wireName : null,
    message: {},
    struct: {},
  };
  if (f.cardinality === "single") out.push(["type", wrongType[f.value.kind]]);
  else out.push(["type", f.cardinality === "list" ? { x: 1 } : [1]]);
  if (f.value.kind === "integer" && f.cardinality === "single") out.push(["fraction", 1.5]);
  if (f.value.kind === "enum") out.push(["enum", "zz_not_an_enum_value"]);
  for (const c of f.checks) {
    switch (c.rule) {
      case "required":
        out.push(["null", null]);
        if (f.value.kind === "string") out.push(["empty", ""]);
        break;
      case "max_len":
        out.push(["max_len", "x".repeat(c.max + 1)], ["max_len_ok", "x".repeat(c.max)]);
        break;
      case "pattern": {
        const re = new RegExp(c.pattern, "u");
        const bad = ["a b", "!", "", "é"].find((s) => !re.test(s));
        if (bad !== undefined) out.push(["pattern", bad]);
        break;
      }
      case "range":
        if (c.min !== undefined) out.push(["below_min", f.cardinality === "list" ? [c.min - 1] : c.min - 1]);
        if (c.max !== undefined) out.push(["above_max", f.cardinality === "list" ? [c.max + 1] : c.max + 1]);
        break;
      case "allowed_values":
        out.push(["allowed_values", "zz_not_allowed"]);
        break;
      case "max_items":
        out.push(["max_items", Array.from({ length: c.max + 1 }, () => elementOk[f.value.kind])]);
        break;
    }
  }
  return out;
}

/**
 * Every field of the event's messages (base, context, scenario data) broken one check at a time,
 * starting from a valid seed example, plus a deleted field and an unknown key per message.
 */
function targeted(file: string, event: Obj, seen: Set<string>, out: CorpusEntry[]): void {
  const visit = (desc: DescMessage, path: string[], at: Obj) => {
    const model = messageModel(desc);
    const emit = (key: string, mutate: (o: Obj) => void) => {
      if (seen.has(key)) return;
      seen.add(key);
      const copy = structuredClone(event);
      let target: Obj = copy;
      for (const p of path) target = target[p] as Obj;
      mutate(target);
      for (const mode of ["request", "kafka"] as const)
        out.push({ id: `targeted/${file}/${key}/${mode}`, mode, event: copy });
    };
    emit([...path, "zz_unknown_key"].join("."), (o) => {
      o.zz_unknown_key = 1;
    });
    for (const f of model.fields) {
      const name = [...path, f.name].join(".");
      if (f.name in at) emit(`${name}/absent`, (o) => delete o[f.name]);
      for (const [what, value] of breakers(f)) emit(`${name}/${what}`, (o) => (o[f.name] = structuredClone(value)));
      const v = at[f.name];
      if (f.cardinality === "single" && f.value.kind === "message" && isObj(v))
        visit(f.value.message, [...path, f.name], v);
    }
  };
  visit(BehaviorEventSchema, [], event);
}

/**
 * The seed's examples (each in both modes, and without the server-filled fields), every field of
 * them broken check by check, and `generated` events from the arbitraries.
 */
export function buildCorpus(generated = 240, seed = CORPUS_SEED): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  const files = readdirSync(SEED_DIR)
    .filter((f) => f.endsWith(".json") && f !== "batch_request.json")
    .sort();
  const seen = new Set<string>();
  for (const f of files) {
    const event = JSON.parse(readFileSync(join(SEED_DIR, f), "utf8")) as Obj;
    for (const mode of ["request", "kafka"] as const) out.push({ id: `seed/${f}/${mode}`, mode, event });
    const { event_id: _id, timestamp: _ts, ...unfilled } = event;
    for (const mode of ["request", "kafka"] as const)
      out.push({ id: `seed/${f}/unfilled/${mode}`, mode, event: unfilled });
    targeted(f, event, seen, out);
  }
  // Half mostly-valid events, half broken in up to three places; modes alternate.
  const half = Math.ceil(generated / 2);
  const valid = fc.sample(messageArb(BehaviorEventSchema), { seed, numRuns: half });
  const broken = fc.sample(mutatedArb(BehaviorEventSchema), { seed: seed + 1, numRuns: generated - half });
  for (const [i, event] of valid.entries())
    out.push({ id: `gen/valid/${i}`, mode: i % 2 ? "kafka" : "request", event });
  for (const [i, event] of broken.entries())
    out.push({ id: `gen/mutated/${i}`, mode: i % 2 ? "request" : "kafka", event });
  // JSON text is what crosses to the other runners: every entry must survive it unchanged.
  return JSON.parse(JSON.stringify(out)) as CorpusEntry[];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2];
  if (!target) throw new Error("usage: corpus.ts OUT.json");
  writeFileSync(target, `${JSON.stringify(buildCorpus())}\n`);
}
