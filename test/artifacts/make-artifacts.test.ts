/**
 * `make artifacts` (scripts/artifacts/build.sh) as a release tool: what dist/ holds and that it
 * carries the version; it refuses a stale gen/; it refuses a proto change that `buf breaking` flags
 * against the last release unless the major version moved (scripts/artifacts/release-check.sh, in a
 * temp git repository); and every builder gives byte-identical output twice.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, describe, expect, it } from "vitest";
import { run, runOk } from "../helpers/run.js";
import { DIST, ensureDist, ROOT, VERSION } from "./dist.js";

const temps: string[] = [];
function temp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** sha256 of every file under dir, by relative path. */
function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

/** A copy of this tree's files (tracked and untracked, not ignored) sharing node_modules and .tools, as a fresh one-commit git repo. */
async function copyOfTree(paths: string[] = ["."]): Promise<string> {
  const dir = temp("artifacts-tree-");
  await runOk("bash", [
    "-c",
    `git ls-files -z --cached --others --exclude-standard -- ${paths.join(" ")} ':!:node_modules' ':!:.tools' | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\\0' "$f"; done | tar --null -T - -cf - | tar -xf - -C "$1"`,
    "_",
    dir,
  ]);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  symlinkSync(join(ROOT, ".tools"), join(dir, ".tools"));
  await git(dir, "init", "-q");
  // The links are not part of the tree (.gitignore's "node_modules/" does not match a symlink).
  writeFileSync(join(dir, ".git/info/exclude"), "node_modules\n.tools\n");
  await commit(dir, "initial");
  return dir;
}

const git = (dir: string, ...args: string[]) =>
  runOk("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: dir });
async function commit(dir: string, message: string): Promise<void> {
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "--allow-empty", "-m", message);
}
function setVersion(dir: string, version: string): void {
  const p = join(dir, "package.json");
  writeFileSync(p, readFileSync(p, "utf8").replace(/"version": "[^"]+"/, `"version": "${version}"`));
}
const behaviorProto = (dir: string) => join(dir, "proto/recommender/v1/behavior.proto");
function editProto(dir: string, edit: (s: string) => string): void {
  const before = readFileSync(behaviorProto(dir), "utf8");
  const after = edit(before);
  expect(after).not.toBe(before);
  writeFileSync(behaviorProto(dir), after);
}
/** Deleting an enum value: buf breaking (FILE) flags ENUM_VALUE_NO_DELETE. */
const deleteEnumValue = (s: string) => s.replace(/^\s*ACTION_TYPE_BLOCK = .*\n/m, "");
/** Adding a message: compatible. */
const addMessage = (s: string) =>
  `${s}\n// Added by the release-check test.\nmessage ReleaseCheckExtra {\n  string note = 1;\n}\n`;

describe("dist/ from make artifacts", () => {
  it("holds the JSON Schemas, OpenAPI and buf image, stamped with package.json's version, the ClickHouse and Flink SQL, and SHA256SUMS of all of it", async () => {
    await ensureDist();
    expect(readFileSync(join(DIST, "VERSION"), "utf8").trim()).toBe(VERSION);
    const schemas = readdirSync(join(DIST, "jsonschema")).sort();
    expect(schemas).toEqual(
      readdirSync(join(ROOT, "gen/jsonschema"))
        .filter((f) => f.endsWith(".json"))
        .sort(),
    );
    for (const f of schemas) {
      const s = JSON.parse(readFileSync(join(DIST, "jsonschema", f), "utf8")) as Record<string, unknown>;
      const g = JSON.parse(readFileSync(join(ROOT, "gen/jsonschema", f), "utf8")) as Record<string, unknown>;
      expect(s.$comment, f).toBe(`@recommender/behavior-schema ${VERSION}`);
      expect({ ...s, $comment: undefined }, f).toEqual({ ...g, $comment: undefined });
    }
    const openapi = JSON.parse(readFileSync(join(DIST, "openapi.json"), "utf8")) as {
      info: { version: string };
      paths: object;
    };
    expect(openapi.info.version).toBe(VERSION);
    const image = fromBinary(FileDescriptorSetSchema, readFileSync(join(DIST, "buf/recommender.binpb")));
    expect(image.file.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        "recommender/v1/behavior.proto",
        "recommender/v1/tracking_config.proto",
        "google/api/annotations.proto",
      ]),
    );
    // The downstream SQL, byte for byte as generated.
    for (const sql of ["clickhouse", "flink"]) {
      const shipped = hashes(join(DIST, "sql", sql));
      expect(Object.keys(shipped).length, sql).toBeGreaterThan(1);
      expect(shipped, sql).toEqual(hashes(join(ROOT, "gen", sql)));
    }
    expect(readdirSync(join(DIST, "npm")).sort()).toEqual([
      `recommender-behavior-schema-${VERSION}.tgz`,
      `recommender-behavior-sdk-${VERSION}.tgz`,
    ]);
    const sums = readFileSync(join(DIST, "SHA256SUMS"), "utf8").trim().split("\n");
    const listed = Object.fromEntries(sums.map((l) => [l.slice(66), l.slice(0, 64)]));
    const actual = hashes(DIST);
    // Dot files are build bookkeeping (input hashes, the lock), not artifacts.
    for (const k of Object.keys(actual)) if (k === "SHA256SUMS" || basename(k).startsWith(".")) delete actual[k];
    expect(listed).toEqual(actual);
  }, 900_000);
});

describe("make artifacts refuses a stale gen/", () => {
  it("exits 1 with the reason, and writes no packages, when a proto changed without make generate", async () => {
    const dir = await copyOfTree();
    editProto(dir, (s) =>
      s.replace('// Scenario id, e.g. "vlog_feed".', '// Scenario id, e.g. "vlog_feed" or "shop_home".'),
    );
    const r = await run("bash", [join(dir, "scripts/artifacts/build.sh")], { cwd: dir, timeoutMs: 600_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("gen/es/recommender/v1/behavior_pb.ts differ");
    expect(r.stderr).toContain("make artifacts: refused, gen/ is stale");
    expect(existsSync(join(dir, "dist/npm"))).toBe(false);
  }, 600_000);
});

describe("release check: a breaking proto change needs a new major version", () => {
  const check = (dir: string) =>
    run(
      "bash",
      [
        join(dir, "scripts/artifacts/release-check.sh"),
        JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version,
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );

  it("compares against the release before the last version bump, then against release tags", async () => {
    // Only what the check needs: the protos, buf.yaml, package.json and the scripts.
    const dir = await copyOfTree([
      "proto",
      "buf.yaml",
      "package.json",
      "scripts/env.sh",
      "scripts/buf-breaking.sh",
      "scripts/artifacts/release-check.sh",
    ]);
    setVersion(dir, "0.1.0");
    await commit(dir, "release 0.1.0");
    expect((await check(dir)).stdout).toContain("no earlier release");

    setVersion(dir, "0.1.1");
    await commit(dir, "0.1.1");
    editProto(dir, deleteEnumValue);
    const refused = await check(dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Previously present enum value "27" on enum "ActionType" was deleted');
    expect(refused.stderr).toContain("refused");
    expect(refused.stderr).toContain("keeps its major version 0.1");

    // The same change with the compatible edit only passes.
    await git(dir, "checkout", "--", "proto");
    editProto(dir, addMessage);
    const compatible = await check(dir);
    expect(compatible.code, compatible.stderr).toBe(0);
    expect(compatible.stdout).toContain("no breaking proto changes");

    // Released as 0.2.0 (a new major for 0.x), the breaking change is allowed.
    editProto(dir, deleteEnumValue);
    setVersion(dir, "0.2.0");
    await commit(dir, "0.2.0: drop ACTION_TYPE_BLOCK");
    const bumped = await check(dir);
    expect(bumped.code, bumped.stderr).toBe(0);
    expect(bumped.stdout).toContain("new major version 0.2.0");

    // Once v0.2.0 is tagged, it is the last release: breaking it again under 0.2.x is refused.
    await git(dir, "tag", "v0.2.0");
    editProto(dir, (s) => s.replace(/^\s*ACTION_TYPE_FOLLOW = .*\n/m, ""));
    setVersion(dir, "0.2.1");
    const again = await check(dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("last release v0.2.0 (0.2.0)");
  }, 300_000);
});

/** Each artifact builder as a table entry. */
const builders: { name: string; build: (out: string) => Promise<void> }[] = [
  {
    name: "npm (scripts/artifacts/npm.ts) and the buf image",
    build: async (out) => {
      mkdirSync(join(out, "buf"), { recursive: true });
      await runOk(join(ROOT, "node_modules/.bin/buf"), ["build", "-o", join(out, "buf/recommender.binpb")]);
      await runOk(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "scripts/artifacts/npm.ts"), VERSION, out]);
    },
  },
  ...(["python", "go"] as const).map((lang) => ({
    name: `${lang} (scripts/artifacts/${lang}.sh)`,
    build: async (out: string) => {
      await runOk("bash", [join(ROOT, "scripts/artifacts", `${lang}.sh`), VERSION, join(out, lang)], {
        env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000" },
      });
    },
  })),
];

describe("reproducible builds: two runs give byte-identical artifacts", () => {
  for (const b of builders) {
    it(b.name, async () => {
      const [first, second] = [temp("artifacts-a-"), temp("artifacts-b-")];
      await b.build(first);
      await b.build(second);
      const a = hashes(first);
      expect(Object.keys(a).length).toBeGreaterThan(0);
      expect(hashes(second)).toEqual(a);
      for (const f of Object.keys(a)) expect(statSync(join(first, f)).size, f).toBeGreaterThan(0);
    }, 600_000);
  }
});
