// Golden tests of protoc-gen-tracking-handlers: the fixture proto compiled with the pinned buf
// (codegen/common/plugin-harness.ts), fed to plugin.run as a CodeGeneratorRequest, the output
// compared with testdata/golden/ (UPDATE_GOLDEN=1, `make golden`, rewrites it).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { compareGolden, fixtureRequest, runPlugin } from "../common/plugin-harness.js";
import { parseTemplate, plugin } from "./plugin.js";

const here = import.meta.dirname;
const root = join(here, "../..");
const target = "fixture/v1/library.proto";

/** `extra`: one more proto (path under the fixture module → content) to generate instead of the fixture. */
function buildRequest(parameter = "", extra?: { path: string; content: string }) {
  const ws = mkdtempSync(join(tmpdir(), "handlers-golden-"));
  cpSync(join(root, "proto"), join(ws, "proto"), { recursive: true });
  cpSync(join(root, ".tools/proto-deps"), join(ws, "deps"), { recursive: true });
  cpSync(join(here, "testdata/protos"), join(ws, "fixture"), { recursive: true });
  if (extra) {
    mkdirSync(dirname(join(ws, "fixture", extra.path)), { recursive: true });
    writeFileSync(join(ws, "fixture", extra.path), extra.content);
  }
  writeFileSync(join(ws, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n  - path: deps\n  - path: fixture\n");
  const image = join(ws, "image.binpb");
  execFileSync(join(root, "node_modules/.bin/buf"), ["build", "--as-file-descriptor-set", "-o", image], { cwd: ws });
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(image));
  return create(CodeGeneratorRequestSchema, {
    fileToGenerate: [extra?.path ?? target],
    protoFile: set.file,
    parameter,
  });
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
  const files = runPlugin(plugin, fixtureRequest("codegen/handlers/testdata/protos"));
  const handlers = files.get("fixture/v1/library_handlers.ts") ?? "";

  it("matches the golden output", () => {
    expect([...files.keys()].sort()).toEqual(["fixture/v1/library_handlers.ts", "runtime.ts"]);
    // runtime.ts is codegen/handlers/runtime.ts verbatim (checked below), so only the handlers are golden.
    const diffs = compareGolden(
      "codegen/handlers/testdata/golden",
      new Map([["fixture/v1/library_handlers.ts", handlers]]),
    );
    for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
    expect(diffs).toEqual([]);
  }, 60_000);

  it("emits the runtime once, verbatim, and imports it from the out dir (gen/ never imports codegen/)", () => {
    const runtime = files.get("runtime.ts") ?? "";
    expect(runtime.slice(runtime.indexOf("\n") + 1)).toBe(
      `${readFileSync(join(here, "runtime.ts"), "utf8").trimEnd()}\n`,
    );
    expect(handlers).toContain('from "../../runtime.js"');
    expect(handlers).not.toContain("codegen/");
  });

  it("uses the generated validator/codec for bodies, ingest events, query enums and responses", () => {
    expect(handlers).toContain('validateBook(body ?? {}, "request", [], "")');
    expect(handlers).toContain("bookFromWire(body ?? {})");
    expect(handlers).toContain("readEventToWire(request.read)");
    expect(handlers).toContain('from "../../../validator/fixture/v1/library_validator.js"');
    expect(handlers).toContain('queryEnum(query, "genre", genreFromWire, genreWireNames)');
    // Responses: the validator's toWire with zero values written (REST shows "success": false).
    expect(handlers).toContain("return response.book === undefined ? {} : bookToWire(response.book, true);");
    expect(handlers).toContain("return listBooksResponseToWire(response, true);");
  });

  it("ingest RPCs: runtime methods take wire JSON, REST checks only the envelope", () => {
    expect(handlers).toContain("recordRead(read: unknown, context: HandlerContext): Promise<RecordReadResponse>;");
    expect(handlers).toContain(
      "recordReads(reads: readonly unknown[], context: HandlerContext): Promise<RecordReadsResponse>;",
    );
    expect(handlers).toContain("getBook(request: GetBookRequest, context: HandlerContext): Promise<GetBookResponse>;");
    expect(handlers).toContain("export const recordReadsReadsMaxItems = 50;");
    expect(handlers).toContain('return ingestBatchBody(body, "reads", recordReadsReadsMaxItems, warnings);');
    expect(handlers).toContain("return ingestEventBody(body);");
    expect(handlers).not.toContain("RecordReadRequestSchema");
  });

  it("exports the ingest RPCs (and only those) as a gRPC path table over the binary plugin's codecs", () => {
    expect(handlers).toContain(
      "export const libraryServiceGrpcIngest: ReadonlyMap<string, GrpcIngestRpc<LibraryServiceRuntime>>",
    );
    expect(handlers).toContain('["/fixture.v1.LibraryService/RecordRead", {');
    expect(handlers).toContain(
      "runtime.recordReads(decodeRecordReadsRequestWire(buf, start, end).reads ?? [], context).then((res) => encodeRecordReadsResponseBinary(res, reserve))",
    );
    expect(handlers).not.toContain('"/fixture.v1.LibraryService/GetBook"');
    expect(handlers).toMatch(
      /^import \{[^}]*\bdecodeRecordReadRequestWire\b[^}]*\} from "\.\.\/\.\.\/\.\.\/binary\/fixture\/v1\/library_binary\.js";$/m,
    );
    expect(handlers).toMatch(/^import type \{[^}]*\bGrpcIngestRpc\b[^}]*\} from "\.\.\/\.\.\/runtime\.js";$/m);
  });

  it("imports the binary codecs from binary_out", () => {
    const out = runPlugin(plugin, fixtureRequest("codegen/handlers/testdata/protos", "binary_out=../codecs"));
    expect(out.get("fixture/v1/library_handlers.ts")).toContain('from "../../../codecs/fixture/v1/library_binary.js"');
  });

  it("rejects an ingest RPC whose response is declared in another file (the binary module has no codec for it)", () => {
    const proto = ingestProto("INGEST_KIND_TRACK", "Req", 'post: "/m" body: "a"', "message Req { Ev a = 1; }");
    const content = proto.content
      .replace(
        'import "google/api/annotations.proto";',
        'import "google/api/annotations.proto";\nimport "google/protobuf/empty.proto";',
      )
      .replace("returns (Res)", "returns (google.protobuf.Empty)");
    expect(errorOf("", { ...proto, content })).toMatch(
      /S\.M: request and response must be declared in bad\/v1\/bad\.proto/,
    );
  }, 60_000);

  it.each([
    [
      "no event field",
      "INGEST_KIND_TRACK",
      "Req",
      'post: "/m" body: "other"',
      "message Req { Other other = 1; }",
      /exactly one field .*kafka.* found 0/,
    ],
    [
      "two event fields",
      "INGEST_KIND_TRACK",
      "Req",
      'post: "/m" body: "a"',
      "message Req { Ev a = 1; Ev b = 2; }",
      /exactly one field .*found 2 \(a, b\)/,
    ],
    [
      "batch field not repeated",
      "INGEST_KIND_TRACK_BATCH",
      "Req",
      'post: "/m" body: "*"',
      "message Req { Ev a = 1; }",
      /must be repeated/,
    ],
    [
      "single field repeated",
      "INGEST_KIND_VALIDATE",
      "Req",
      'post: "/m" body: "*"',
      "message Req { repeated Ev a = 1; }",
      /must not be repeated/,
    ],
    [
      "extra request field",
      "INGEST_KIND_TRACK",
      "Req",
      'post: "/m" body: "a"',
      "message Req { Ev a = 1; string tenant = 2; }",
      /only the event field a, but also has tenant/,
    ],
    [
      "track body not the event field",
      "INGEST_KIND_TRACK",
      "Req",
      'post: "/m" body: "*"',
      "message Req { Ev a = 1; }",
      /needs body: "a"/,
    ],
    [
      "batch body not *",
      "INGEST_KIND_TRACK_BATCH",
      "Req",
      'post: "/m" body: "a"',
      "message Req { repeated Ev a = 1; }",
      /needs body: "\*"/,
    ],
  ])(
    "rejects an ingest RPC at generation time: %s",
    (_name, kind, req, http, messages, error) => {
      expect(errorOf("", ingestProto(kind, req, http, messages))).toMatch(error);
    },
    60_000,
  );

  it("rejects templates the matcher does not implement", () => {
    expect(() => parseTemplate("/v1/{name=shelves/*}", "x")).toThrow(/only \{field\}/);
    expect(() => parseTemplate("/v1/{book.name}", "x")).toThrow(/only \{field\}/);
    expect(() => parseTemplate("/v1/*", "x")).toThrow(/unsupported segment/);
    expect(() => parseTemplate("/v1/books:batch", "x")).toThrow(/custom verbs/);
    expect(parseTemplate("/v1/a/{b}/", "x")).toEqual([
      { literal: "v1" },
      { literal: "a" },
      { param: "b" },
      { literal: "" },
    ]);
  });
});
