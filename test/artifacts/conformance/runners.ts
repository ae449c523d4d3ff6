/**
 * The in-process runners of the conformance protocol (ARTIFACTS.md): the generated TS validator
 * and ajv on the generated JSON Schemas, both giving `{ id, valid, errors: [{ field, rule }] }` with
 * the TS validator's path form and rule ids.
 */
import { join } from "node:path";
import type { ErrorObject } from "ajv";
import { validateBehaviorEvent } from "../../../gen/validator/recommender/v1/behavior_validator.js";
import type { ViolationRule } from "../../../gen/validator/violation.js";
import { loadSchemas } from "../../schema/ajv.js";
import type { CorpusEntry } from "./corpus.js";

/** One runner's verdict on one corpus entry. */
export interface Verdict {
  id: string;
  valid: boolean;
  errors: { field: string; rule: string }[];
}

/** The TS validator: errors are the violations of severity "error" (warnings do not reject). */
export function runTs(corpus: readonly CorpusEntry[]): Verdict[] {
  return corpus.map(({ id, mode, event }) => {
    const errors = validateBehaviorEvent(event, mode)
      .filter((v) => v.severity === "error")
      .map((v) => ({ field: v.field, rule: v.rule }));
    return { id, valid: errors.length === 0, errors };
  });
}

/** "/context/seek_positions/2" → "context.seek_positions[2]" (the TS validator's path form). */
export function pointerToField(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  }
  return out;
}

/** The value at a JSON pointer (ajv's errors carry it only in verbose mode). */
function valueAt(root: unknown, pointer: string): unknown {
  let x = root;
  for (const raw of pointer.split("/").slice(1)) {
    if (x === null || typeof x !== "object") return undefined;
    x = (x as Record<string, unknown>)[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return x;
}

const child = (parent: string, name: string) => (parent === "" ? name : `${parent}.${name}`);

/**
 * An ajv error in the protocol's form. Missing and unknown properties are reported at the
 * property's own path; a required property that is null or "" is "required" (as the TS validator
 * says); enums of a proto enum type ($defs) are "enum", inline string value lists "allowed_values".
 */
export function ajvError(e: ErrorObject, event: unknown): { field: string; rule: ViolationRule | string } {
  const at = pointerToField(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { field: child(at, String(p.missingProperty)), rule: "required" };
    case "additionalProperties":
    case "unevaluatedProperties":
      return { field: child(at, String(p.additionalProperty ?? p.unevaluatedProperty)), rule: "unknown_field" };
    case "type":
      return { field: at, rule: valueAt(event, e.instancePath) === null && at !== "" ? "required" : "type" };
    case "minLength":
      return { field: at, rule: "required" };
    case "maxLength":
      return { field: at, rule: "max_len" };
    case "pattern":
      return { field: at, rule: "pattern" };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return { field: at, rule: "range" };
    case "maxItems":
      return { field: at, rule: "max_items" };
    case "enum":
    case "const":
      return { field: at, rule: /\/\$defs\/[^/]+\/(enum|const)$/.test(e.schemaPath) ? "enum" : "allowed_values" };
    case "oneOf":
    case "not":
      return { field: at, rule: "oneof" };
    default:
      return { field: at, rule: e.keyword };
  }
}

/** ajv (draft 2020-12) on the request or Kafka JSON Schema of BehaviorEvent in `schemaDir`. */
export function runAjv(corpus: readonly CorpusEntry[], schemaDir: string): Verdict[] {
  const schemaOf = loadSchemas(schemaDir);
  return corpus.map(({ id, mode, event }) => {
    const validate = schemaOf("recommender.v1.BehaviorEvent", mode);
    const valid = validate(event);
    const seen = new Set<string>();
    const errors: Verdict["errors"] = [];
    for (const e of valid ? [] : (validate.errors ?? [])) {
      // anyOf/if branches explain themselves through their own errors.
      if (e.keyword === "anyOf" || e.keyword === "if") continue;
      const v = ajvError(e, event);
      const k = `${v.field}\u0000${v.rule}`;
      if (seen.has(k)) continue;
      seen.add(k);
      errors.push(v);
    }
    return { id, valid, errors };
  });
}

/** Where the JSON Schemas are (gen/jsonschema of this tree). */
export const schemaDirOf = (root: string): string => join(root, "gen/jsonschema");
