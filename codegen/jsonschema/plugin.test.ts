import { describe, expect, it } from "vitest";
import { compareGolden, fixtureRequest, repoRequest, runPlugin } from "../common/plugin-harness.js";
import { plugin } from "./plugin.js";

const testdata = "codegen/jsonschema/testdata";
// The JSON Schema and validator plugins share one fixture: both must follow the same wire model.
const sharedFixtures = "codegen/common/testdata/protos";

describe("protoc-gen-tracking-jsonschema golden", () => {
  const files = runPlugin(plugin, fixtureRequest(sharedFixtures));

  it("matches the golden files for the fixture protos", () => {
    const diffs = compareGolden(`${testdata}/golden`, files);
    for (const d of diffs) expect(d.actual, `${d.name} differs from its golden copy (make golden)`).toEqual(d.expected);
    expect(diffs).toEqual([]);
  });

  it("writes request and strict schemas per message, kafka only for kafka messages", () => {
    expect([...files.keys()].sort()).toEqual(
      ["AlphaData", "Data", "Event", "Point"].flatMap((m) => [
        ...(m === "Event" ? [`fixture.v1.${m}.kafka.schema.json`] : []),
        `fixture.v1.${m}.schema.json`,
        `fixture.v1.${m}.strict.schema.json`,
      ]),
    );
  });

  it("derives variants from the options", () => {
    const req = JSON.parse(files.get("fixture.v1.Event.schema.json")!);
    const kafka = JSON.parse(files.get("fixture.v1.Event.kafka.schema.json")!);
    const strict = JSON.parse(files.get("fixture.v1.Event.strict.schema.json")!);
    expect(req.$id).toBe("fixture.v1.Event.schema.json");
    expect(req.title).toBe("fixture.v1.Event");
    expect(req.description).toBe("The event.");
    expect(req.required).toEqual(["tenant", "kind", "who", "act", "where"]);
    expect(kafka.required).toEqual(["id", "tenant", "kind", "who", "act", "at", "where"]);
    expect(kafka["x-kafka-topic-template"]).toBe("events.{tenant}.{kind}");
    expect(kafka["x-kafka-key-field"]).toBe("who");
    expect(req.$defs["fixture.v1.Act"].enum).toEqual([
      "seen",
      "tapped_twice",
      "bought",
      "ACT_SEEN",
      "ACT_TAPPED_TWICE",
      "ACT_BOUGHT",
    ]);
    expect(kafka.$defs["fixture.v1.Act"].enum).toEqual(["seen", "tapped_twice", "bought"]);
    expect(req.properties.at).toEqual({
      type: ["integer", "null"],
      minimum: 0,
      maximum: 9007199254740991,
      description: "When.\n\nFilled by the server when absent.",
    });
    expect(req.additionalProperties).toBeUndefined();
    expect(strict.additionalProperties).toBe(false);
    // scenario rules only in strict
    expect(req.$defs["fixture.v1.AlphaData"].properties.length).toEqual({
      type: ["integer", "null"],
      minimum: -2147483648,
      maximum: 2147483647,
      description: "Length.\n\nChecked with a warning only (the value is still accepted): 0 ≤ value ≤ 60.",
    });
    expect(strict.$defs["fixture.v1.AlphaData"].properties.length).toEqual({
      type: ["integer", "null"],
      minimum: 0,
      maximum: 60,
      description: "Length.",
    });
    expect(strict.allOf).toHaveLength(1);
    expect(strict.allOf[0].then.properties.act.enum).toEqual(["seen", "tapped_twice", "ACT_SEEN", "ACT_TAPPED_TWICE"]);
    expect(req.allOf).toBeUndefined();
  });

  it("generates every message of the repo's recommender.v1 files, not the options file", () => {
    const repo = runPlugin(plugin, repoRequest());
    expect(repo.has("recommender.v1.BehaviorEvent.kafka.schema.json")).toBe(true);
    expect(repo.has("recommender.v1.TrackingConfig.strict.schema.json")).toBe(true);
    expect([...repo.keys()].some((k) => k.startsWith("recommender.options"))).toBe(false);
    expect([...repo.keys()].filter((k) => k.endsWith(".kafka.schema.json"))).toEqual([
      "recommender.v1.BehaviorEvent.kafka.schema.json",
    ]);
  });
});
