import { describe, expect, it } from "vitest";
import { compareGolden, fixtureRequest, repoRequest, runPlugin } from "../common/plugin-harness.js";
import { runtimeFiles } from "./binary-codegen.js";
import { plugin } from "./plugin.js";

const testdata = "codegen/binary/testdata";

describe("protoc-gen-tracking-binary golden", () => {
  const files = runPlugin(plugin, fixtureRequest(`${testdata}/protos`));
  const src = files.get("fixture/v1/fixture_binary.ts")!;

  it("matches the golden files for the fixture protos", () => {
    expect([...files.keys()].sort()).toEqual(["decode_error.ts", "fixture/v1/fixture_binary.ts", "wire_io.ts"]);
    // The runtime files are codegen/binary/runtime/*.ts verbatim (checked below); the modules are golden.
    const diffs = compareGolden(
      `${testdata}/golden`,
      new Map([...files].filter(([name]) => !runtimeFiles.some((r) => r.name === name))),
    );
    for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
    expect(diffs).toEqual([]);
  });

  it("emits the shared reader/writer and DecodeError once, verbatim, and the modules import them", () => {
    for (const { name, source } of runtimeFiles) {
      const out = files.get(name) ?? "";
      expect(out.slice(out.indexOf("\n") + 1)).toBe(`${source.trimEnd()}\n`);
    }
    expect(src).toMatch(/^import \{[^}]*\brv32\b[^}]*\} from "\.\.\/\.\.\/wire_io\.js";$/m);
    expect(src).not.toMatch(/^function rv32\(/m);
  });

  it("exports decoders for request and response messages, encoders for responses only", () => {
    for (const m of ["PutRequest", "Shapes", "Inner", "PutResponse"]) {
      expect(src).toContain(
        `export function decode${m}Wire(buf: Uint8Array, offset = 0, end = buf.length): ${m}Wire {`,
      );
    }
    expect(src).toContain(`export function encodePutResponseBinary(msg: PutResponse, reserve = 0): Uint8Array {`);
    expect(src).toContain(`export function encodeInnerBinary(msg: Inner, reserve = 0): Uint8Array {`);
    expect(src).not.toContain(`encodeShapesBinary`);
  });

  it("is codec only: no gRPC table, nothing from the handlers output or connect", () => {
    for (const [name, out] of files) {
      expect(out, name).not.toContain("GrpcIngest");
      expect(out, name).not.toContain("handlers");
      expect(out, name).not.toContain("@connectrpc");
    }
  });

  it("is straight-line: no descriptors, schemas, reflection or closures in decoders", () => {
    const fns = src.split(/\n(?=export function |function )/).filter((s) => /^(export )?function d_/.test(s));
    expect(fns.length).toBeGreaterThan(3);
    for (const f of fns)
      expect(f.replace(/\/\*\*[\s\S]*?\*\//g, "")).not.toMatch(/reflect|Schema\b|fromBinary|\.fields\b|=>/);
    // Only types are imported from protobuf-es.
    expect(src).not.toMatch(/^import \{[^}]*\} from "@bufbuild\/protobuf/m);
    expect(src).toMatch(/case 10:\n\s+f1 = rstr\(end\);/);
  });

  it("generates one module for recommender.v1 (only behavior.proto has ingest RPCs)", () => {
    const repo = runPlugin(plugin, repoRequest());
    expect([...repo.keys()].sort()).toEqual(["decode_error.ts", "recommender/v1/behavior_binary.ts", "wire_io.ts"]);
  });
});
