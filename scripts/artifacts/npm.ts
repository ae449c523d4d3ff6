/**
 * The npm half of `make artifacts` (called by scripts/artifacts/build.sh):
 *
 *   tsx scripts/artifacts/npm.ts <version> <distDir>
 *
 * - stamps the JSON Schemas and the OpenAPI document with the version into <dist>/jsonschema
 *   and <dist>/openapi.json;
 * - builds the schema package (compiled gen/es, gen/validator, gen/binary, gen/templates, the
 *   JSON Schemas, OpenAPI, the buf image <dist>/buf/recommender.binpb) and the SDK package
 *   (compiled sdk/, importing the schema package instead of ../gen) in a temp staging dir with
 *   the repo's tsc, writes their package.json files and packs both into <dist>/npm.
 *
 * Everything written is a function of the tree and the version (sorted listings, no times),
 * and `npm pack` fixes tar mtimes, so two runs give byte-identical tarballs.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The published package names (README "Consuming the artifacts"; the SDK depends on the schema package). */
export const SCHEMA_PACKAGE = "@recommender/behavior-schema";
export const SDK_PACKAGE = "@recommender/behavior-sdk";

/**
 * The gen/ folders the schema package is made of. gen/handlers (server-side route tables and the
 * gRPC ingest table, which need @connectrpc/connect) is not one of them, and nothing here imports it; whatever gen/ modules these import are shipped too (see genClosure).
 */
const SCHEMA_GEN_DIRS = ["es", "validator", "binary", "templates"] as const;
/** The name of the buf image (FileDescriptorSet) in dist/buf and in the schema package. */
export const BUF_IMAGE = "recommender.binpb";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Exports = Record<string, string | { types: string; default: string }>;

/** Every file under dir, as sorted paths relative to dir (posix separators). */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else out.push(relative(base, p).split("\\").join("/"));
  }
  return out;
}

const readJson = (p: string): { [k: string]: Json } => JSON.parse(readFileSync(p, "utf8")) as { [k: string]: Json };
const writeJson = (p: string, v: unknown): void => {
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, `${JSON.stringify(v, null, 2)}\n`);
};

/** A JSON Schema with `$comment` naming the package version, right after `$id`. */
function stampSchema(schema: { [k: string]: Json }, version: string): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$comment") continue;
    out[k] = v;
    if (k === "$id") out.$comment = `${SCHEMA_PACKAGE} ${version}`;
  }
  if (!("$comment" in out)) out.$comment = `${SCHEMA_PACKAGE} ${version}`;
  return out;
}

/** dist/jsonschema/*.json and dist/openapi.json, carrying the version. */
function writeDataArtifacts(version: string, dist: string): void {
  rmSync(join(dist, "jsonschema"), { recursive: true, force: true });
  for (const f of walk(join(root, "gen/jsonschema"))) {
    if (!f.endsWith(".json")) continue;
    writeJson(join(dist, "jsonschema", f), stampSchema(readJson(join(root, "gen/jsonschema", f)), version));
  }
  const openapi = readJson(join(root, "gen/openapi/openapi.json"));
  const info = openapi.info;
  if (info === null || typeof info !== "object" || Array.isArray(info))
    throw new Error("gen/openapi/openapi.json has no info object");
  // info.version is the document's version: the artifact version (the API's own version is in its paths, /api/v1).
  writeJson(join(dist, "openapi.json"), { ...openapi, info: { ...info, version } });
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** tsconfig for emitting one package: ESM for Node ≥ 18 and browsers, .d.ts and source maps. */
function tsconfig(types: string[]): Json {
  return {
    compilerOptions: {
      target: "es2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      lib: ["es2023", "dom"],
      types,
      strict: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      declaration: true,
      declarationMap: true,
      sourceMap: true,
      rootDir: "src",
      outDir: ".",
      newLine: "lf",
    },
    include: ["src"],
    // the default exclude would be the outDir, which is the package root here
    exclude: ["node_modules"],
  };
}

/** Compiles pkg/src into pkg with the repo's tsc (as ESM: the final package.json is written afterwards). */
function compile(pkg: string, types: string[]): void {
  writeJson(join(pkg, "package.json"), { type: "module" });
  writeJson(join(pkg, "tsconfig.json"), tsconfig(types));
  execFileSync("tsc", ["-p", "tsconfig.json"], { cwd: pkg, stdio: "inherit" });
  rmSync(join(pkg, "tsconfig.json"));
}

/** `exports` entries for every compiled module of the package (types condition first, as TS requires). */
function moduleExports(pkgDir: string, dirs: readonly string[]): Exports {
  const out: Exports = {};
  for (const d of dirs) {
    for (const f of walk(join(pkgDir, d))) {
      if (!f.endsWith(".js")) continue;
      const p = `./${d}/${f}`;
      out[p] = { types: p.replace(/\.js$/, ".d.ts"), default: p };
    }
  }
  return out;
}

/** Module specifiers in TypeScript source: static and dynamic imports, re-exports. */
const IMPORT_RE = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])([^"']+)\2/g;
/** The specifiers a module imports; comments (JSDoc examples) are left out. */
const importsOf = (src: string): string[] =>
  [
    ...src
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/(^|\s)\/\/[^\n]*/g, "$1")
      .matchAll(IMPORT_RE),
  ].map((m) => m[3] ?? "");

/** "@scope/name/sub" → "@scope/name", "name/sub" → "name"; undefined for relative and node: specifiers. */
export function packageOf(spec: string): string | undefined {
  if (spec.startsWith(".") || spec.startsWith("node:")) return undefined;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/**
 * The gen/ modules (paths relative to gen/) the schema package compiles: every module of
 * SCHEMA_GEN_DIRS and, transitively, every gen/ module they import; plus the npm packages they import.
 */
function genClosure(): { files: string[]; packages: Set<string> } {
  const genDir = join(root, "gen");
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = SCHEMA_GEN_DIRS.flatMap((d) =>
    walk(join(genDir, d))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `${d}/${f}`),
  );
  while (queue.length > 0) {
    const f = queue.pop() ?? "";
    if (files.has(f)) continue;
    files.add(f);
    for (const spec of importsOf(readFileSync(join(genDir, f), "utf8"))) {
      const pkgName = packageOf(spec);
      if (pkgName !== undefined) packages.add(pkgName);
      if (!spec.startsWith(".")) continue;
      const target = relative(genDir, resolve(dirname(join(genDir, f)), spec.replace(/\.js$/, ".ts")))
        .split("\\")
        .join("/");
      if (target.startsWith(".."))
        throw new Error(`gen/${f} imports ${spec}, outside gen/: gen/ must be self-contained to be packaged`);
      queue.push(target);
    }
  }
  return { files: [...files].sort(), packages };
}

const rootPkg = readJson(join(root, "package.json"));
/** A caret range on the version the repo pins, so consumers dedupe with their own copy. */
function depRange(name: string): string {
  const deps = rootPkg.dependencies as { [k: string]: string };
  const v = deps[name];
  if (!v) throw new Error(`package.json has no dependency ${name}`);
  return `^${v.replace(/^[\^~]/, "")}`;
}

/** `dependencies` of a package: exactly the npm packages its modules import (type-only imports included: its .d.ts need them). */
function dependenciesOf(packages: Iterable<string>, pinned: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [...packages].sort()) out[p] = pinned[p] ?? depRange(p);
  return out;
}

/**
 * Fields both package.json files share. `node` is the least Node version (measured): the schema
 * package loads on 18; the SDK's event ids need the global Web Crypto of ES modules, Node ≥ 19 (18 with
 * --experimental-global-webcrypto), and its ./kafka entry follows @platformatic/kafka's engines (≥ 22.22).
 */
const common = (version: string, node: string) => ({
  version,
  license: rootPkg.license,
  type: "module",
  sideEffects: false,
  engines: { node },
});

/** The schema package in stage/schema. */
function buildSchemaPackage(version: string, dist: string, stage: string): string {
  const pkg = join(stage, "schema");
  const { files, packages } = genClosure();
  for (const f of files) cpSync(join(root, "gen", f), join(pkg, "src", f));
  // Node's types: gen/ modules reached through type-only imports may be server runtime (Buffer);
  // the browser bundle test is what holds TrackingClient's runtime path to browser code.
  compile(pkg, ["node"]);
  // Data files next to the modules (scenario_templates.json) ship as they are.
  for (const d of SCHEMA_GEN_DIRS)
    for (const f of walk(join(root, "gen", d)))
      if (!f.endsWith(".ts")) cpSync(join(root, "gen", d, f), join(pkg, d, f));
  cpSync(join(dist, "jsonschema"), join(pkg, "jsonschema"), { recursive: true });
  cpSync(join(dist, "openapi.json"), join(pkg, "openapi.json"));
  cpSync(join(dist, "buf", BUF_IMAGE), join(pkg, "buf", BUF_IMAGE));
  const exports: Exports = { ...moduleExports(pkg, [...new Set(files.map((f) => f.split("/")[0] ?? ""))].sort()) };
  for (const d of SCHEMA_GEN_DIRS)
    for (const f of walk(join(root, "gen", d))) if (!f.endsWith(".ts")) exports[`./${d}/${f}`] = `./${d}/${f}`;
  for (const f of walk(join(pkg, "jsonschema"))) exports[`./jsonschema/${f}`] = `./jsonschema/${f}`;
  exports["./openapi.json"] = "./openapi.json";
  exports[`./buf/${BUF_IMAGE}`] = `./buf/${BUF_IMAGE}`;
  exports["./package.json"] = "./package.json";
  writeJson(join(pkg, "package.json"), {
    name: SCHEMA_PACKAGE,
    description:
      "Behavior-event schema, generated from recommender/v1/*.proto: protobuf-es types, compiled validators and Kafka JSON codec, binary codecs, scenario templates, JSON Schemas, OpenAPI and the buf image.",
    ...common(version, ">=18"),
    exports,
    dependencies: dependenciesOf(packages),
  });
  writeFileSync(join(pkg, "README.md"), schemaReadme(version));
  return pkg;
}

/**
 * Import specifiers in sdk/ that leave sdk/: `../gen/<dir>/…` becomes the schema package's
 * export `<schema>/<dir>/…`; anything else (server/, codegen/) cannot be shipped and stops the build.
 */
export function rewriteSdkImport(spec: string, fileDepth: number): string {
  const up = "../".repeat(fileDepth + 1);
  if (!spec.startsWith(up)) return spec;
  const rest = spec.slice(up.length);
  const m = /^gen\/([a-z]+)\//.exec(rest);
  if (m && (SCHEMA_GEN_DIRS as readonly string[]).includes(m[1] ?? ""))
    return `${SCHEMA_PACKAGE}/${rest.slice("gen/".length)}`;
  throw new Error(
    `sdk imports ${spec}, which is outside sdk/ and not in the schema package; the SDK package cannot ship it`,
  );
}

/** The SDK package in stage/sdk. */
function buildSdkPackage(version: string, stage: string, schemaPkg: string): string {
  const pkg = join(stage, "sdk");
  const packages = new Set<string>();
  for (const f of walk(join(root, "sdk"))) {
    if (!f.endsWith(".ts") || f.endsWith(".test.ts")) continue;
    const depth = f.split("/").length - 1;
    const src = readFileSync(join(root, "sdk", f), "utf8").replace(
      IMPORT_RE,
      (_all, kw: string, q: string, spec: string) => `${kw}${q}${rewriteSdkImport(spec, depth)}${q}`,
    );
    for (const spec of importsOf(src)) {
      const name = packageOf(spec);
      if (name !== undefined) packages.add(name);
    }
    mkdirSync(dirname(join(pkg, "src", f)), { recursive: true });
    writeFileSync(join(pkg, "src", f), src);
  }
  // tsc resolves the schema package like a consumer would: through its package.json exports.
  mkdirSync(join(pkg, "node_modules/@recommender"), { recursive: true });
  symlinkSync(schemaPkg, join(pkg, "node_modules", SCHEMA_PACKAGE));
  compile(pkg, ["node"]);
  rmSync(join(pkg, "node_modules"), { recursive: true });
  const entry = (p: string) => ({ types: `./${p}.d.ts`, default: `./${p}.js` });
  writeJson(join(pkg, "package.json"), {
    name: SDK_PACKAGE,
    description:
      "Behavior-tracking SDK: TrackingClient (HTTP, fetch only: browsers, Node ≥ 20, Deno, Bun; entry ./http) and KafkaTracker (Node ≥ 22.22, straight to Kafka; entry ./kafka).",
    ...common(version, ">=20"),
    exports: {
      ".": entry("index"),
      "./http": entry("http/tracking-client"),
      "./kafka": entry("kafka/kafka-tracker"),
      "./package.json": "./package.json",
    },
    dependencies: dependenciesOf(packages, { [SCHEMA_PACKAGE]: version }),
  });
  writeFileSync(join(pkg, "README.md"), sdkReadme(version));
  return pkg;
}

function schemaReadme(version: string): string {
  return `# ${SCHEMA_PACKAGE} ${version}

Generated from the behavior-tracking protos (recommender/v1). ESM only; every module is an
explicit export (types included):

- \`${SCHEMA_PACKAGE}/es/recommender/v1/behavior_pb.js\` — protobuf-es message types and schemas
- \`${SCHEMA_PACKAGE}/validator/recommender/v1/behavior_validator.js\` — \`validateBehaviorEvent(x, "request" | "kafka")\`,
  \`normalizeBehaviorEvent\`, \`behaviorEventToWire\`/\`FromWire\`, \`behaviorEventKafka\` (topic, key)
- \`${SCHEMA_PACKAGE}/binary/recommender/v1/behavior_binary.js\` — protobuf binary codecs of the ingest RPCs
- \`${SCHEMA_PACKAGE}/templates/scenario_templates.js\` (and \`.json\`) — scenario templates
- \`${SCHEMA_PACKAGE}/jsonschema/<type>[.strict|.kafka].schema.json\` — JSON Schemas (draft 2020-12)
- \`${SCHEMA_PACKAGE}/openapi.json\`, \`${SCHEMA_PACKAGE}/buf/${BUF_IMAGE}\` (FileDescriptorSet)
`;
}

function sdkReadme(version: string): string {
  return `# ${SDK_PACKAGE} ${version}

- \`import { TrackingClient } from "${SDK_PACKAGE}/http"\` — HTTP client of the ingestion server
  (fetch only: browsers, Node ≥ 20 — Node 18 with --experimental-global-webcrypto —, Deno, Bun).
- \`import { KafkaTracker } from "${SDK_PACKAGE}/kafka"\` — Node ≥ 22.22 only: validates with the generated
  validator and produces straight to \`user-behaviors-{tenant_id}\` (key user_id).
- \`"${SDK_PACKAGE}"\` — both, plus the partitioner and the codec (Node).
`;
}

function main(argv: string[]): void {
  const [version, distArg] = argv;
  if (!version || !distArg) throw new Error("usage: npm.ts <version> <distDir>");
  const dist = resolve(distArg);
  writeDataArtifacts(version, dist);
  // Staged under the OS temp dir; node_modules links back so tsc finds @bufbuild/protobuf, @types/node, @platformatic/kafka.
  const stage = mkdtempSync(join(tmpdir(), "artifacts-npm-"));
  try {
    symlinkSync(join(root, "node_modules"), join(stage, "node_modules"));
    const schemaPkg = buildSchemaPackage(version, dist, stage);
    const sdkPkg = buildSdkPackage(version, stage, schemaPkg);
    const out = join(dist, "npm");
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const p of [schemaPkg, sdkPkg]) {
      const packed = JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", out], p)) as {
        filename: string;
        size: number;
        entryCount: number;
      }[];
      for (const t of packed) console.log(`npm: ${t.filename} (${t.entryCount} files, ${t.size} bytes)`);
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
