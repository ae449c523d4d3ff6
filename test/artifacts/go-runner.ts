/**
 * The Go side of the artifact tests: assembles the Go module with its builder
 * (scripts/artifacts/go.sh), runs `go vet` and `go test` on it, and builds a fresh consumer module
 * (test/artifacts/go-consumer/*.go) that depends on it through a replace directive — nothing but
 * the assembled module and the Go module proxy. Also the Go runner of the conformance protocol
 * (ARTIFACTS.md): {@link runGoConformance}.
 *
 * The module is dist/go as `make artifacts` builds it (scripts/artifacts/build.sh --reuse, under its
 * lock, so no test sees a half-written dist/); set GO_MODULE_DIR to test another built module.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runOk } from "../helpers/run.js";
import type { Verdict } from "./conformance/runners.js";
import { ensureDist, ROOT } from "./dist.js";

/** The module path, as in sdk/go/go.mod. */
export const GO_MODULE_PATH = "github.com/recommender/behavior-tracking-go";

/** A built consumer and how long each step took (ms, for the report; never asserted). */
export interface GoConsumer {
  moduleDir: string;
  consumerDir: string;
  /** The consumer binary: conformance|track|murmur2|sarama|version subcommands (go-consumer/main.go). */
  binary: string;
  version: string;
  timings: Record<string, number>;
  /** Output of `go test ./...` on the module. */
  moduleTestOutput: string;
}

/**
 * Environment of the go commands: the machine's toolchain only; module downloads cached as usual;
 * -trimpath keeps build and test results independent of the temp dir, so reruns hit Go's cache.
 */
function goEnv(extraFlags: string): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: `-buildvcs=false -trimpath ${extraFlags}`.trim() };
}

async function timed<T>(timings: Record<string, number>, name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

/** Runs the module builder, scripts/artifacts/go.sh <version> <outDir>. */
export async function assembleGoModule(version: string, outDir: string): Promise<void> {
  await runOk("bash", [join(ROOT, "scripts/artifacts/go.sh"), version, outDir], { cwd: ROOT });
}

/** `go vet ./...` in a module directory, as the module is published (go.sum complete). */
export async function goVet(dir: string): Promise<void> {
  await runOk("go", ["vet", "./..."], { cwd: dir, env: goEnv(""), timeoutMs: 900_000 });
}

let pending: Promise<GoConsumer> | undefined;
const workDirs: string[] = [];

/** Deletes the module copy and the consumer (~25 MB); call it from afterAll. */
export function disposeGoConsumer(): void {
  for (const d of workDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  pending = undefined;
}

/** Builds (once per test process) the module and the consumer. */
export function prepareGoConsumer(): Promise<GoConsumer> {
  pending ??= build();
  return pending;
}

async function build(): Promise<GoConsumer> {
  const timings: Record<string, number> = {};
  const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  const work = mkdtempSync(join(tmpdir(), "go-artifact-"));
  workDirs.push(work);
  const moduleDir = process.env.GO_MODULE_DIR
    ? resolve(process.env.GO_MODULE_DIR)
    : await timed(timings, "make artifacts (reused when fresh)", async () => join(await ensureDist(), "go"));
  // The module as published: its go.sum must be complete (-mod=readonly, the default).
  await timed(timings, "module go vet", () => goVet(moduleDir));
  const tested = await timed(timings, "module go test", () =>
    runOk("go", ["test", "./..."], { cwd: moduleDir, env: goEnv(""), timeoutMs: 900_000 }),
  );

  const consumerDir = join(work, "consumer");
  await runOk("mkdir", ["-p", consumerDir]);
  const src = join(ROOT, "test/artifacts/go-consumer");
  for (const f of readdirSync(src).filter((f) => f.endsWith(".go"))) copyFileSync(join(src, f), join(consumerDir, f));
  writeFileSync(
    join(consumerDir, "go.mod"),
    `module example.com/tracking-consumer\n\ngo 1.26.0\n\nrequire ${GO_MODULE_PATH} v0.0.0\n\nreplace ${GO_MODULE_PATH} => ${moduleDir}\n`,
  );
  // -mod=mod: the fresh module resolves the rest of its requirements (sarama, uuid, ...) itself.
  const binary = join(consumerDir, "consumer");
  await timed(timings, "consumer go build", () =>
    runOk("go", ["build", "-o", binary, "."], { cwd: consumerDir, env: goEnv("-mod=mod"), timeoutMs: 900_000 }),
  );
  await timed(timings, "consumer go vet", () =>
    runOk("go", ["vet", "./..."], { cwd: consumerDir, env: goEnv("-mod=mod"), timeoutMs: 900_000 }),
  );
  return { moduleDir, consumerDir, binary, version, timings, moduleTestOutput: tested.stdout };
}

/**
 * Publishes the built module into a directory laid out as a GOPROXY (scripts/artifacts/go-proxy.go)
 * and has a fresh module `go get` it from there by version, without a replace directive; returns
 * the program's output. It gets its own module cache, so an earlier build under the same version
 * is never reused; other modules come from the machine's cache (as a file:// proxy) or the proxy.
 */
export async function goGetFromProxy(program: string): Promise<string> {
  const c = await prepareGoConsumer();
  const work = mkdtempSync(join(tmpdir(), "go-proxy-"));
  const proxy = join(work, "proxy");
  await runOk("go", ["run", join(ROOT, "scripts/artifacts/go-proxy.go"), c.moduleDir, c.version, proxy], {
    timeoutMs: 900_000,
    cwd: ROOT,
    env: goEnv(""),
  });
  const { stdout: sharedCache } = await runOk("go", ["env", "GOMODCACHE"], { env: goEnv("") });
  const env = {
    ...goEnv("-modcacherw"),
    GOMODCACHE: join(work, "modcache"),
    GOPROXY: `file://${proxy},file://${sharedCache.trim()}/cache/download,https://proxy.golang.org`,
    GONOSUMDB: "github.com/recommender",
  };
  const app = join(work, "app");
  try {
    await runOk("mkdir", ["-p", app]);
    writeFileSync(join(app, "main.go"), program);
    writeFileSync(join(app, "go.mod"), "module example.com/proxy-consumer\n\ngo 1.26.0\n");
    await runOk("go", ["get", `${GO_MODULE_PATH}@v${c.version}`], { cwd: app, env, timeoutMs: 900_000 });
    await runOk("go", ["mod", "tidy"], { cwd: app, env, timeoutMs: 900_000 });
    const { stdout } = await runOk("go", ["run", "."], { cwd: app, env, timeoutMs: 900_000 });
    return stdout;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs a consumer subcommand; returns its stdout. */
export async function runGoConsumer(args: string[], timeoutMs = 60_000): Promise<string> {
  const c = await prepareGoConsumer();
  const { stdout } = await runOk(c.binary, args, { timeoutMs });
  return stdout;
}

/** The Go runner of the conformance protocol: `schema.Validate` on every corpus entry, in order. */
export async function runGoConformance(corpusPath: string): Promise<Verdict[]> {
  return JSON.parse(await runGoConsumer(["conformance", corpusPath])) as Verdict[];
}
