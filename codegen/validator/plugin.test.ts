import { describe, expect, it } from "vitest";
import { compareGolden, fixtureRequest, repoRequest, runPlugin } from "../common/plugin-harness.js";
import { plugin } from "./plugin.js";

const testdata = "codegen/validator/testdata";
// The JSON Schema and validator plugins share one fixture: both must follow the same wire model.
const sharedFixtures = "codegen/common/testdata/protos";

describe("protoc-gen-tracking-validator golden", () => {
  const files = runPlugin(plugin, fixtureRequest(sharedFixtures));
  const src = files.get("fixture/v1/fixture_validator.ts")!;

  it("matches the golden files for the fixture protos", () => {
    expect([...files.keys()].sort()).toEqual([
      "fixture/v1/fixture_validator.ts",
      "fixture/v1/fixture_wire.ts",
      "violation.ts",
    ]);
    const diffs = compareGolden(`${testdata}/golden`, files);
    for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
    expect(diffs).toEqual([]);
  });

  it("compiles the kafka option into string concatenation", () => {
    expect(src).toContain(`return "events." + e.tenant + "." + e.kind;`);
    expect(src).toContain(`key(e: { who: string }): string {`);
    expect(src).toContain(`export function encodeEventKafkaJson(e: EventWire): string {`);
  });

  it("exports the per-message API and keeps imported messages private", () => {
    for (const m of ["Point", "Event", "Data", "AlphaData"]) {
      // `_mode` where the message has no mode-dependent rule (noUnusedParameters).
      expect(src).toContain(
        `export function validate${m}(input: unknown, ${m === "Point" || m === "AlphaData" ? "_mode" : "mode"}: WireMode, out: Violation[] = [], path = ""): Violation[] {`,
      );
      expect(src).toContain(`export function normalize${m}(input: unknown): ${m}Wire {`);
    }
    expect(src).toContain(`export function eventToWire(msg: Event, defaults = false): EventWire {`);
    expect(src).toContain(`export function eventFromWire(json: unknown): Event {`);
    expect(src).toContain(`function validate_google_protobuf_FieldMask(`);
    expect(src).not.toContain(`export function validate_google_protobuf_FieldMask(`);
    expect(src).toContain(`import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";`);
    expect(src).toContain(`export const scenarioTypes: readonly string[] = Object.freeze(["alpha","free"]);`);
    expect(src).toContain(`{"alpha":["seen","tapped_twice"],"free":[]}`);
    expect(src).toContain(`export function actFromWire(name: string): Act | undefined {`);
  });

  it("interprets nothing at run time: no descriptors, schemas or reflection in validate functions", () => {
    const validators = src
      .split(/\n(?=export function |function )/)
      .filter((s) => /^(export )?function validate/.test(s));
    expect(validators.length).toBeGreaterThan(4);
    for (const v of validators) {
      expect(v).not.toMatch(/reflect|getOption|\.fields\b|Schema\b|=>/);
    }
  });

  it("generates wire interfaces with json-schema-to-typescript", () => {
    const wire = files.get("fixture/v1/fixture_wire.ts")!;
    expect(wire).toContain("export interface EventWire {");
    expect(wire).toContain(`export type ActWire = "seen" | "tapped_twice" | "bought";`);
    expect(wire).toMatch(/tenant: string;/);
    expect(wire).toMatch(/id\?: string;/);
  });

  it("generates one module per recommender.v1 file", () => {
    const repo = runPlugin(plugin, repoRequest());
    expect([...repo.keys()].sort()).toEqual([
      "recommender/v1/behavior_validator.ts",
      "recommender/v1/behavior_wire.ts",
      "recommender/v1/tracking_config_validator.ts",
      "recommender/v1/tracking_config_wire.ts",
      "violation.ts",
    ]);
  });
});
