// Golden tests of protoc-gen-tracking-handlers: a fixture proto compiled with the pinned buf
// (temp v2 workspace with the repo's proto/ and .tools/proto-deps), fed to plugin.run as a
// CodeGeneratorRequest, output compared with testdata/golden/. UPDATE_GOLDEN=1 rewrites.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { parseTemplate, plugin } from "./plugin.js";

const here = import.meta.dirname;
const root = join(here, "../..");
const target = "fixture/v1/library.proto";

function buildRequest(parameter = "") {
  const ws = mkdtempSync(join(tmpdir(), "handlers-golden-"));
  cpSync(join(root, "proto"), join(ws, "proto"), { recursive: true });
  cpSync(join(root, ".tools/proto-deps"), join(ws, "deps"), { recursive: true });
  cpSync(join(here, "testdata/fixture"), join(ws, "fixture/fixture"), { recursive: true });
  writeFileSync(join(ws, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n  - path: deps\n  - path: fixture\n");
  const image = join(ws, "image.binpb");
  execFileSync(join(root, "node_modules/.bin/buf"), ["build", "--as-file-descriptor-set", "-o", image], { cwd: ws });
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(image));
  return create(CodeGeneratorRequestSchema, { fileToGenerate: [target], protoFile: set.file, parameter });
}

describe("protoc-gen-tracking-handlers", () => {
  it("matches the golden output", () => {
    const res = plugin.run(buildRequest());
    expect(res.error ?? "").toBe("");
    expect(res.file.map((f) => f.name)).toEqual(["fixture/v1/library_handlers.ts"]);
    for (const f of res.file) {
      // ".golden" suffix: tsconfig includes codegen/, and the fixture output imports paths that only exist under gen/.
      const golden = join(here, "testdata/golden", `${f.name}.golden`);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(dirname(golden), { recursive: true });
        writeFileSync(golden, f.content);
      }
      expect(f.content).toBe(readFileSync(golden, "utf8"));
    }
  }, 60_000);

  it("emits the generated validator calls with codec=validator", () => {
    const res = plugin.run(buildRequest("codec=validator"));
    const content = res.file[0].content;
    expect(content).toContain('validateBook(body ?? {}, "request", [], "")');
    expect(content).toContain("bookFromWire(body ?? {})");
    expect(content).toContain('from "../../../validator/fixture/v1/library_validator.js"');
  }, 60_000);

  it("rejects templates the matcher does not implement", () => {
    expect(() => parseTemplate("/v1/{name=shelves/*}", "x")).toThrow(/only \{field\}/);
    expect(() => parseTemplate("/v1/books:batch", "x")).toThrow(/custom verbs/);
    expect(parseTemplate("/v1/a/{b}/", "x")).toEqual([{ literal: "v1" }, { literal: "a" }, { param: "b" }, { literal: "" }]);
  });
});
