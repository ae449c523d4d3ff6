/**
 * The npm packages as another repository uses them: a fresh project gets nothing but
 * `npm install dist/npm/*.tgz` (dependencies such as @bufbuild/protobuf come from the registry or
 * the npm cache), then plain `node` (no tsx, loader or bundler) runs test/artifacts/node-consumer/app.mjs
 * against the real server and broker; tsc type-checks usage.ts under nodenext and bundler
 * resolution; require() and non-exported paths behave as documented in the README; and an app that
 * imports only TrackingClient bundles (esbuild, minified, gzip) to at most 10 KB.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, runOk } from "../helpers/run.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ensureMainBroker, readTopic, uniqueTenant } from "../kafka/broker.js";
import { ensureDist, npmTarballs, ROOT, VERSION } from "./dist.js";

const SCHEMA = "@recommender/behavior-schema";
const SDK = "@recommender/behavior-sdk";
const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The environment of a consumer's shell: no loaders inherited from the test runner. */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

type PackageJson = {
  name: string;
  version: string;
  sideEffects?: boolean;
  dependencies?: Record<string, string>;
  exports: Record<string, unknown>;
};

describe("npm packages in a fresh consumer project", () => {
  let dir: string;
  const node = (args: string[], extra: Record<string, string> = {}) =>
    run(process.execPath, args, { cwd: dir, env: consumerEnv(extra), timeoutMs: 120_000 });

  beforeAll(async () => {
    await ensureDist();
    dir = mkdtempSync(join(tmpdir(), "npm-consumer-"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    for (const f of ["app.mjs", "usage.ts"]) copyFileSync(join(ROOT, "test/artifacts/node-consumer", f), join(dir, f));
    // @bufbuild/protobuf and @types/node are the consumer's own choices (app.mjs imports the runtime directly; the Kafka entry's types use Node's).
    await runOk(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--loglevel=error",
        ...npmTarballs(),
        `@bufbuild/protobuf@${rootPkg.dependencies["@bufbuild/protobuf"]}`,
        `@types/node@${rootPkg.devDependencies["@types/node"]}`,
      ],
      { cwd: dir, env: consumerEnv(), timeoutMs: 300_000 },
    );
  }, 900_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("installs both packages at the repository's version, schema depending on @bufbuild/protobuf only, side-effect free", () => {
    const schema = JSON.parse(readFileSync(join(dir, "node_modules", SCHEMA, "package.json"), "utf8")) as PackageJson;
    const sdk = JSON.parse(readFileSync(join(dir, "node_modules", SDK, "package.json"), "utf8")) as PackageJson;
    expect([schema.version, sdk.version]).toEqual([VERSION, VERSION]);
    // Service descriptors are protobuf-es's own; the connect glue (gen/handlers, incl. the gRPC ingest
    // table) stays server-side, so nothing the schema package ships imports @connectrpc/connect.
    expect(Object.keys(schema.dependencies ?? {})).toEqual(["@bufbuild/protobuf"]);
    expect(existsSync(join(dir, "node_modules", SCHEMA, "handlers"))).toBe(false);
    expect(sdk.dependencies?.[SCHEMA]).toBe(VERSION);
    expect(sdk.dependencies).toHaveProperty("@platformatic/kafka");
    expect([schema.sideEffects, sdk.sideEffects]).toEqual([false, false]);
    // Every module export names its types first (TypeScript picks the first matching condition), and every target exists.
    for (const pkg of [schema, sdk]) {
      for (const [key, target] of Object.entries(pkg.exports)) {
        const targets = typeof target === "string" ? [target] : Object.values(target as Record<string, string>);
        if (typeof target !== "string") expect(Object.keys(target as object), key).toEqual(["types", "default"]);
        for (const t of targets)
          expect(existsSync(join(dir, "node_modules", pkg.name, t)), `${pkg.name} ${key} → ${t}`).toBe(true);
      }
    }
    expect(Object.keys(schema.exports)).toEqual(
      expect.arrayContaining(["./templates/scenario_templates.json", "./openapi.json", "./buf/recommender.binpb"]),
    );
  });

  it("plain node validates the seed's examples, round-trips protobuf, sends over HTTP (200) and to Kafka (read back)", async () => {
    const bootstrap = await ensureMainBroker();
    const server: TestServer = await startTestServer();
    const tenant = uniqueTenant("npmc");
    try {
      const r = await node(["app.mjs"], {
        SEED_DIR: join(ROOT, "test/fixtures/seed"),
        BASE_URL: server.baseUrl,
        KAFKA_BROKERS: bootstrap,
        TENANT: tenant,
        FALLBACK_DIR: join(dir, "fallback"),
      });
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as {
        seed: Record<string, { request: string[]; kafka: string[] }>;
        invalid: string[];
        kafkaSchemaId: string;
        roundTrip: { equal: boolean; action: boolean; device: boolean; watch: number | null };
        http: { success: boolean; event_id: string };
        kafkaEventId: string;
        kafkaStats: { delivered: number; spilled: number };
      };
      expect(Object.keys(report.seed)).toHaveLength(11);
      for (const [file, v] of Object.entries(report.seed)) expect(v, file).toEqual({ request: [], kafka: [] });
      expect(report.invalid.sort()).toEqual(["action_type:enum", "context.device_type:enum"]);
      expect(report.kafkaSchemaId).toBe("recommender.v1.BehaviorEvent.kafka.schema.json");
      expect(report.roundTrip).toEqual({ equal: true, action: true, device: true, watch: 175 });
      expect(report.http.success).toBe(true);
      expect(report.http.event_id).toMatch(/^evt_[0-9a-f]{16}$/);
      expect(report.kafkaStats).toMatchObject({ delivered: 1, spilled: 0 });

      const [got] = await readTopic(bootstrap, `user-behaviors-${tenant}`, 1, 30_000);
      expect(got?.key).toBe("user_123");
      const value = JSON.parse(got?.value ?? "{}") as { event_id: string; tenant_id: string; action_type: string };
      expect(value).toMatchObject({ event_id: report.kafkaEventId, tenant_id: tenant, action_type: "click" });
    } finally {
      await server.stop(true);
    }
  }, 120_000);

  for (const resolution of ["nodenext", "bundler"] as const) {
    it(`tsc --noEmit accepts usage.ts under moduleResolution ${resolution}`, async () => {
      const compilerOptions =
        resolution === "nodenext"
          ? { module: "nodenext", moduleResolution: "nodenext" }
          : { module: "esnext", moduleResolution: "bundler", lib: ["es2023", "dom"] };
      const config = `tsconfig.${resolution}.json`;
      writeFileSync(
        join(dir, config),
        JSON.stringify({
          compilerOptions: {
            ...compilerOptions,
            target: "es2022",
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ["node"],
          },
          files: ["usage.ts"],
        }),
      );
      const r = await run(join(ROOT, "node_modules/.bin/tsc"), ["-p", config], { cwd: dir, env: consumerEnv() });
      expect(r.stdout + r.stderr, `tsc ${resolution}`).toBe("");
      expect(r.code).toBe(0);
    }, 120_000);
  }

  it("tsc reports a type error in a usage file (the check above can fail)", async () => {
    writeFileSync(
      join(dir, "bad.ts"),
      `import { TrackingClient } from "${SDK}/http";\nnew TrackingClient({ baseUrl: 1, tenantId: "t" });\n`,
    );
    writeFileSync(
      join(dir, "tsconfig.bad.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", strict: true, noEmit: true, types: ["node"] },
        files: ["bad.ts"],
      }),
    );
    const r = await run(join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.bad.json"], {
      cwd: dir,
      env: consumerEnv(),
    });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("bad.ts(2,");
  }, 120_000);

  it("require() works (Node's require(esm), Node ≥ 20.19 / 22.12) for every entry", async () => {
    const r = await node([
      "-e",
      `const http = require("${SDK}/http"); const kafka = require("${SDK}/kafka");
       const v = require("${SCHEMA}/validator/recommender/v1/behavior_validator.js");
       console.log(typeof http.TrackingClient, typeof kafka.KafkaTracker, v.validateBehaviorEvent({}, "request").length > 0);`,
    ]);
    expect(r.stderr).not.toContain("Error");
    expect(r.stdout.trim()).toBe("function function true");
  }, 60_000);

  for (const [spec, message] of [
    [
      `${SCHEMA}/src/validator/violation.ts`,
      "Package subpath './src/validator/violation.ts' is not defined by \"exports\"",
    ],
    [`${SCHEMA}/validator/violation`, "Package subpath './validator/violation' is not defined by \"exports\""],
    [SCHEMA, 'No "exports" main defined'],
    [`${SDK}/common/kafka-publisher.js`, "Package subpath './common/kafka-publisher.js' is not defined by \"exports\""],
  ] as const) {
    it(`importing the non-exported ${spec} fails with Node's ERR_PACKAGE_PATH_NOT_EXPORTED`, async () => {
      const r = await node(["--input-type=module", "-e", `await import(${JSON.stringify(spec)})`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED");
      expect(r.stderr).toContain(message);
    }, 60_000);
  }

  it("a browser app importing only TrackingClient is ≤ 10 KB minified + gzipped, without Kafka or protobuf", async () => {
    writeFileSync(
      join(dir, "browser.mjs"),
      `import { TrackingClient } from "${SDK}/http";\nconst c = new TrackingClient({ baseUrl: location.origin, tenantId: "mymx" });\nawait c.trackVideoPlay("u1", "v1", "vlog_feed", 180, 175, 0.97);\n`,
    );
    const out = await build({
      entryPoints: [join(dir, "browser.mjs")],
      absWorkingDir: dir,
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const js = out.outputFiles[0]?.contents ?? new Uint8Array();
    const gz = gzipSync(js, { level: 9 }).length;
    // Modules that contribute code (the metafile's inputs also list modules tree-shaken to nothing).
    const inputs = Object.entries(Object.values(out.metafile.outputs)[0]?.inputs ?? {})
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([p, v]) => `${p} (${v.bytesInOutput})`);
    console.log(
      `[bundle] TrackingClient app: ${js.length} bytes minified, ${gz} bytes gzipped; inputs: ${inputs.join(", ")}`,
    );
    expect(inputs.some((p) => p.includes("@platformatic") || p.includes("@bufbuild/protobuf"))).toBe(false);
    expect(inputs.some((p) => p.includes(`${SDK}/http/tracking-client.js`))).toBe(true);
    expect(gz).toBeLessThanOrEqual(10 * 1024);
  }, 60_000);
});
