/**
 * TypeScript interfaces of the wire JSON, generated with json-schema-to-typescript from the
 * `types` variant of wire-schema.ts. json-schema-to-typescript is async and protoplugin's
 * generateTs is not, so it runs in a child Node process (wire-types-worker.mjs); one
 * process compiles every file of a plugin run.
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonSchema } from "./wire-schema.js";

const worker = join(dirname(fileURLToPath(import.meta.url)), "wire-types-worker.mjs");

export interface WireTypesJob {
  /** Name of the root type. */
  name: string;
  schema: JsonSchema;
  bannerComment?: string;
}

/** Compiles each schema to TypeScript source, in order. */
export function compileWireTypes(jobs: WireTypesJob[]): string[] {
  if (jobs.length === 0) return [];
  const stdout = execFileSync(process.execPath, [worker], {
    input: JSON.stringify(jobs),
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["pipe", "pipe", "pipe"],
    cwd: join(dirname(worker), "../.."),
  });
  return JSON.parse(stdout.toString("utf8")) as string[];
}
