/**
 * Test harness for our protoc plugins: compiles protos with the pinned buf into an image,
 * turns it into a CodeGeneratorRequest, runs a plugin in-process and compares its files
 * with golden copies (rewritten when UPDATE_GOLDEN=1, which `make golden` sets).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create, fromBinary } from "@bufbuild/protobuf";
import { type CodeGeneratorRequest, CodeGeneratorRequestSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { Plugin } from "@bufbuild/protoplugin";

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function bufBin(): string {
  const local = join(repoRoot, "node_modules/.bin/buf");
  return existsSync(local) ? local : "buf";
}

function buildImage(args: string[]): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "plugin-harness-"));
  try {
    const out = join(dir, "image.binpb");
    execFileSync(bufBin(), ["build", ...args, "-o", out], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    return readFileSync(out);
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`buf build failed: ${err.stderr?.toString() ?? err.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function requestFrom(image: Uint8Array, generate: (name: string) => boolean, parameter: string): CodeGeneratorRequest {
  const set = fromBinary(FileDescriptorSetSchema, image);
  return create(CodeGeneratorRequestSchema, {
    protoFile: set.file,
    fileToGenerate: set.file.map((f) => f.name ?? "").filter(generate),
    parameter,
  });
}

/**
 * A request for fixture protos under `fixtureDir` (absolute or relative to the repo root),
 * a buf module root that may import the repo's proto/ and .tools/proto-deps. Every fixture
 * file is a file to generate.
 */
export function fixtureRequest(fixtureDir: string, parameter = ""): CodeGeneratorRequest {
  const rel = relative(repoRoot, resolve(repoRoot, fixtureDir));
  const config = JSON.stringify({
    version: "v2",
    modules: [{ path: rel }, { path: "proto" }, { path: ".tools/proto-deps" }],
  });
  // buf wants the module's contents (not the module root itself) as --path.
  const entries = readdirSync(join(repoRoot, rel), { withFileTypes: true }).filter(
    (d) => d.isDirectory() || d.name.endsWith(".proto"),
  );
  const pathArgs = entries.flatMap((d) => ["--path", join(rel, d.name)]);
  const image = buildImage([".", "--config", config, ...pathArgs]);
  const fixtureFiles = new Set(listProtos(join(repoRoot, rel)).map((f) => relative(join(repoRoot, rel), f)));
  return requestFrom(image, (name) => fixtureFiles.has(name), parameter);
}

/** A request for the repo's own protos (proto/recommender), as `make generate` sends it with strategy all. */
export function repoRequest(parameter = ""): CodeGeneratorRequest {
  const image = buildImage([".", "--path", "proto/recommender"]);
  return requestFrom(image, (name) => name.startsWith("recommender/"), parameter);
}

function listProtos(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith(".proto"))
    .map((d) => join(d.parentPath, d.name));
}

/** Runs a plugin and returns its files by name. Throws on a plugin error. */
export function runPlugin(plugin: Plugin, req: CodeGeneratorRequest): Map<string, string> {
  const res = plugin.run(req);
  if (res.error) throw new Error(`${plugin.name}: ${res.error}`);
  return new Map(res.file.map((f) => [f.name, f.content]));
}

/** Suffix of golden copies, so that golden .ts files are not compiled or linted. */
export const goldenSuffix = ".golden";

/**
 * Compares generated files with `goldenDir/<name>.golden`; with UPDATE_GOLDEN=1 rewrites
 * them instead. Returns the mismatches as [name, expected, actual] for the test to assert.
 */
export function compareGolden(
  goldenDir: string,
  files: Map<string, string>,
): { name: string; expected: string | undefined; actual: string | undefined }[] {
  const dir = resolve(repoRoot, goldenDir);
  if (process.env.UPDATE_GOLDEN === "1") {
    rmSync(dir, { recursive: true, force: true });
    for (const [name, content] of files) {
      const path = join(dir, name + goldenSuffix);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
    return [];
  }
  const golden = new Map<string, string>();
  if (existsSync(dir)) {
    for (const d of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!d.isFile() || !d.name.endsWith(goldenSuffix)) continue;
      const path = join(d.parentPath, d.name);
      golden.set(relative(dir, path).slice(0, -goldenSuffix.length), readFileSync(path, "utf8"));
    }
  }
  const names = [...new Set([...golden.keys(), ...files.keys()])].sort();
  return names
    .filter((n) => golden.get(n) !== files.get(n))
    .map((name) => ({ name, expected: golden.get(name), actual: files.get(name) }));
}
