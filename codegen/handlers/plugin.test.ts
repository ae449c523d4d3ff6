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

/** `extra`: one more proto (path under the fixture module → content) to generate instead of the fixture. */
function buildRequest(parameter = "", extra?: { path: string; content: string }) {
  const ws = mkdtempSync(join(tmpdir(), "handlers-golden-"));
  cpSync(join(root, "proto"), join(ws, "proto"), { recursive: true });
  cpSync(join(root, ".tools/proto-deps"), join(ws, "deps"), { recursive: true });
  cpSync(join(here, "testdata/fixture"), join(ws, "fixture/fixture"), { recursive: true });
  if (extra) {
    mkdirSync(dirname(join(ws, "fixture", extra.path)), { recursive: true });
    writeFileSync(join(ws, "fixture", extra.path), extra.content);
  }
  writeFileSync(join(ws, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n  - path: deps\n  - path: fixture\n");
  const image = join(ws, "image.binpb");
  execFileSync(join(root, "node_modules/.bin/buf"), ["build", "--as-file-descriptor-set", "-o", image], { cwd: ws });
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(image));
  return create(CodeGeneratorRequestSchema, { fileToGenerate: [extra?.path ?? target], protoFile: set.file, parameter });
}

/** The generator's error for a request, or "" when it generated. */
function errorOf(parameter: string, extra: { path: string; content: string }): string {
  try {
    return plugin.run(buildRequest(parameter, extra)).error ?? "";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** A one-RPC ingest service around `messages` (proto text) for the generation-error tests. */
function ingestProto(kind: string, request: string, http: string, messages: string) {
  return {
    path: "bad/v1/bad.proto",
    content: `syntax = "proto3";
package bad.v1;
import "google/api/annotations.proto";
import "recommender/options/v1/options.proto";
message Ev {
  option (recommender.options.v1.kafka) = {topic_template: "t" key_field: "k"};
  string k = 1;
}
message Other { string x = 1; }
message Res { bool ok = 1; }
${messages}
service S {
  rpc M(${request}) returns (Res) {
    option (google.api.http) = {${http}};
    option (recommender.options.v1.ingest) = ${kind};
  }
}
`,
  };
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

  it("uses the generated validator/codec by default (golden) and protobuf-es with codec=placeholder", () => {
    const golden = readFileSync(join(here, "testdata/golden/fixture/v1/library_handlers.ts.golden"), "utf8");
    expect(golden).toContain('validateBook(body ?? {}, "request", [], "")');
    expect(golden).toContain("bookFromWire(body ?? {})");
    expect(golden).toContain("readEventToWire(request.read)");
    expect(golden).toContain('from "../../../validator/fixture/v1/library_validator.js"');
    const content = plugin.run(buildRequest("codec=placeholder")).file[0].content;
    expect(content).toContain('wireFromJson<Book>(BookSchema, body ?? {}, "", found)');
    expect(content).toContain("runtime.recordRead(request.read ? wireToJson(ReadEventSchema, request.read) : {}, context)");
    expect(content).toContain("runtime.recordReads(request.reads.map((x) => wireToJson(ReadEventSchema, x)), context)");
    expect(content).not.toContain("validator");
  }, 60_000);

  it("ingest RPCs: runtime methods take wire JSON, REST checks only the envelope (golden)", () => {
    const golden = readFileSync(join(here, "testdata/golden/fixture/v1/library_handlers.ts.golden"), "utf8");
    expect(golden).toContain("recordRead(read: unknown, context: HandlerContext): Promise<RecordReadResponse>;");
    expect(golden).toContain("recordReads(reads: readonly unknown[], context: HandlerContext): Promise<RecordReadsResponse>;");
    expect(golden).toContain("getBook(request: GetBookRequest, context: HandlerContext): Promise<GetBookResponse>;");
    expect(golden).toContain("export const recordReadsReadsMaxItems = 50;");
    expect(golden).toContain('return ingestBatchBody(body, "reads", recordReadsReadsMaxItems, warnings);');
    expect(golden).toContain("return ingestEventBody(body);");
    expect(golden).not.toContain("RecordReadRequestSchema");
  });

  it.each([
    ["no event field", "INGEST_KIND_TRACK", "Req", 'post: "/m" body: "other"', "message Req { Other other = 1; }", /exactly one field .*kafka.* found 0/],
    ["two event fields", "INGEST_KIND_TRACK", "Req", 'post: "/m" body: "a"', "message Req { Ev a = 1; Ev b = 2; }", /exactly one field .*found 2 \(a, b\)/],
    ["batch field not repeated", "INGEST_KIND_TRACK_BATCH", "Req", 'post: "/m" body: "*"', "message Req { Ev a = 1; }", /must be repeated/],
    ["single field repeated", "INGEST_KIND_VALIDATE", "Req", 'post: "/m" body: "*"', "message Req { repeated Ev a = 1; }", /must not be repeated/],
    ["extra request field", "INGEST_KIND_TRACK", "Req", 'post: "/m" body: "a"', "message Req { Ev a = 1; string tenant = 2; }", /only the event field a, but also has tenant/],
    ["track body not the event field", "INGEST_KIND_TRACK", "Req", 'post: "/m" body: "*"', "message Req { Ev a = 1; }", /needs body: "a"/],
    ["batch body not *", "INGEST_KIND_TRACK_BATCH", "Req", 'post: "/m" body: "a"', "message Req { repeated Ev a = 1; }", /needs body: "\*"/],
  ])("rejects an ingest RPC at generation time: %s", (_name, kind, req, http, messages, error) => {
    expect(errorOf("", ingestProto(kind, req, http, messages))).toMatch(error);
  }, 60_000);

  it("rejects templates the matcher does not implement", () => {
    expect(() => parseTemplate("/v1/{name=shelves/*}", "x")).toThrow(/only \{field\}/);
    expect(() => parseTemplate("/v1/books:batch", "x")).toThrow(/custom verbs/);
    expect(parseTemplate("/v1/a/{b}/", "x")).toEqual([{ literal: "v1" }, { literal: "a" }, { param: "b" }, { literal: "" }]);
  });
});
