/**
 * fast-check arbitraries of wire JSON derived by walking the shared model (model.ts) of a
 * message's descriptor — no field is listed by hand — and a mutator that breaks them.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";
import { type Check, type FieldModel, messageModel, type WireKind } from "../../codegen/common/model.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom("视频", "😀x", "a\u0000b", '"quoted"') },
);
const structValue: fc.Arbitrary<Json> = fc.oneof(
  text,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);

function rangeOf(checks: Check[]): { min?: number | undefined; max?: number | undefined } {
  const r = checks.find((c) => c.rule === "range");
  return r && r.rule === "range" ? { min: r.min, max: r.max } : {};
}

function valueArb(kind: WireKind, checks: Check[], nonEmpty: boolean, depth: number): fc.Arbitrary<Json> {
  switch (kind.kind) {
    case "string": {
      const allowed = checks.find((c) => c.rule === "allowed_values");
      if (allowed && allowed.rule === "allowed_values") return fc.constantFrom(...allowed.values);
      const maxLen = checks.find((c) => c.rule === "max_len");
      const max = maxLen && maxLen.rule === "max_len" ? maxLen.max : 1000;
      const pattern = checks.find((c) => c.rule === "pattern");
      let arb: fc.Arbitrary<string> =
        pattern && pattern.rule === "pattern" ? fc.stringMatching(new RegExp(pattern.pattern, "u")) : text;
      arb = fc.oneof({ weight: 9, arbitrary: arb }, { weight: 1, arbitrary: fc.constant("x".repeat(max)) });
      return arb.filter((s) => s.length <= max && (!nonEmpty || s.length > 0));
    }
    case "bool":
      return fc.boolean();
    case "integer": {
      const r = rangeOf(checks);
      const min = Math.max(kind.min, r.min ?? -Infinity);
      const max = Math.min(kind.max, r.max ?? Infinity);
      return fc.oneof(fc.integer({ min: Math.max(min, -1000), max: Math.min(max, 100000) }), fc.constantFrom(min, max));
    }
    case "number": {
      const r = rangeOf(checks);
      return fc
        .double({ min: r.min ?? -1e9, max: r.max ?? 1e9, noNaN: true, noDefaultInfinity: true })
        .map((d) => (Object.is(d, -0) ? 0 : d));
    }
    case "enum": {
      const names = kind.enum.values.flatMap((v) => [v.wireName, v.wireName, v.protoName]);
      return fc.constantFrom(...names);
    }
    case "struct":
      return fc.dictionary(key, structValue, { maxKeys: 3 });
    case "message":
      return messageArb(kind.message, depth + 1);
  }
}

function fieldArb(f: FieldModel, depth: number): fc.Arbitrary<Json> {
  const required = f.checks.some((c) => c.rule === "required");
  if (f.cardinality === "list") {
    const mi = f.checks.find((c) => c.rule === "max_items");
    return fc.array(valueArb(f.value, f.checks, false, depth), {
      maxLength: Math.min(mi && mi.rule === "max_items" ? mi.max : 4, 4),
    });
  }
  if (f.cardinality === "map") return fc.dictionary(key, valueArb(f.value, f.checks, false, depth), { maxKeys: 3 });
  return valueArb(f.value, f.checks, required, depth);
}

const cache = new Map<string, fc.Arbitrary<Json>>();

/** Mostly valid wire JSON of a message: required fields present, optional ones sometimes absent or null, at most one oneof member. */
export function messageArb(desc: DescMessage, depth = 0): fc.Arbitrary<Json> {
  const cacheKey = `${desc.typeName}@${depth}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const model = messageModel(desc);
  const parts: Record<string, fc.Arbitrary<Json | undefined>> = {};
  for (const f of model.fields) {
    if (f.oneof) continue;
    const required = f.checks.some((c) => c.rule === "required") || f.serverFilled;
    const arb = fieldArb(f, depth);
    parts[f.name] = required
      ? arb
      : fc.oneof(
          { weight: 3, arbitrary: arb },
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constant(null) },
        );
  }
  const oneofArbs = model.oneofs.map((o) => {
    const members = o.fields.map((m) => model.fields.find((f) => f.desc === m)!);
    return fc.option(fc.oneof(...members.map((m) => fieldArb(m, depth).map((v) => [m.name, v] as const))), { freq: 3 });
  });
  const arb = fc.record({ fields: fc.record(parts), oneofs: fc.tuple(...oneofArbs) }).map(({ fields, oneofs }) => {
    const o: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) o[k] = v;
    for (const m of oneofs) if (m) o[m[0]] = m[1];
    return o;
  });
  cache.set(cacheKey, arb);
  return arb;
}

const junk: fc.Arbitrary<Json | undefined> = fc.oneof<fc.Arbitrary<Json | undefined>[]>(
  fc.constant(undefined), // delete
  fc.constant(null),
  fc.string({ maxLength: 5 }),
  fc.integer(),
  // -0 is left out: JSON text cannot carry it (JSON.stringify(-0) === "0").
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
  fc.boolean(),
  fc.constant<Json>([]),
  fc.constant<Json>({}),
  fc.constantFrom(
    2 ** 31,
    -1,
    2 ** 53,
    1.5,
    -0.5,
    101,
    "",
    "x".repeat(300),
    "ACTION_TYPE_CLICK",
    "play",
    "purchase",
    "mobile",
    "DEVICE_TYPE_PC",
    "4K",
    "8K",
    "my tenant",
  ),
);

function paths(x: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  const entries: [string | number, Json][] = Array.isArray(x)
    ? [...x.entries()]
    : x !== null && typeof x === "object"
      ? Object.entries(x)
      : [];
  for (const [k, v] of entries) {
    out.push([...prefix, k]);
    paths(v, [...prefix, k], out);
  }
  return out;
}

/** A valid-ish message broken in 0–3 places: values replaced or deleted, unknown keys added. */
export function mutatedArb(desc: DescMessage): fc.Arbitrary<Json> {
  return fc
    .tuple(messageArb(desc), fc.array(fc.tuple(fc.nat(), junk, fc.boolean(), key), { maxLength: 3 }))
    .map(([value, edits]) => {
      const x = structuredClone(value);
      for (const [n, j, addKey, k] of edits) {
        const all = [[], ...paths(x)];
        const path = all[n % all.length] ?? [];
        if (addKey) {
          // add a (usually unknown) key to the object at or above path
          let target: Json = x;
          for (const p of path) {
            const next = (target as any)[p];
            if (next === null || typeof next !== "object" || Array.isArray(next)) break;
            target = next;
          }
          if (target !== null && typeof target === "object" && !Array.isArray(target) && j !== undefined)
            target[k] = structuredClone(j);
          continue;
        }
        if (path.length === 0) continue;
        let parent: any = x;
        for (const p of path.slice(0, -1)) parent = parent[p];
        const last = path[path.length - 1];
        if (last === undefined) continue;
        if (j === undefined) {
          if (Array.isArray(parent)) parent.splice(last as number, 1);
          else delete parent[last];
        } else parent[last] = structuredClone(j);
      }
      return x;
    });
}
