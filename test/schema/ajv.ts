/** ajv (draft 2020-12) loaded with every generated JSON Schema of gen/jsonschema. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

export type Variant = "request" | "strict" | "kafka";

/** Same options the server and docs assume: max_len counts UTF-16 code units; x- keywords allowed. */
export function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    // Deprecated but honoured by ajv 8: lengths in UTF-16 code units, as options.proto's max_len says.
    unicode: false,
    logger: {
      log: console.log,
      warn: (msg: unknown) => void (String(msg).includes("option unicode") || console.warn(msg)),
      error: console.error,
    },
  });
  ajv.addVocabulary(["x-kafka-topic-template", "x-kafka-key-field", "x-kafka-schema-version"]);
  return ajv;
}

/** Compiled validators of the schemas in `dir`, by file name. */
export function loadSchemas(dir: string): (typeName: string, variant: Variant) => ValidateFunction {
  const ajv = newAjv();
  const cache = new Map<string, ValidateFunction>();
  const files = new Set(readdirSync(dir).filter((f) => f.endsWith(".json")));
  return (typeName, variant) => {
    const name = `${typeName}.${variant === "request" ? "" : variant + "."}schema.json`;
    let fn = cache.get(name);
    if (!fn) {
      if (!files.has(name)) throw new Error(`no schema ${name} in ${dir}`);
      fn = ajv.compile(JSON.parse(readFileSync(join(dir, name), "utf8")));
      cache.set(name, fn);
    }
    return fn;
  };
}
