/**
 * The seed's JSON examples (test/fixtures/seed) against the generated JSON Schemas (ajv) and
 * the compiled validator, plus targeted mutations with their exact violations.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../codegen/common/plugin-harness.js";
import {
  behaviorEventFromWire,
  behaviorEventToWire,
  normalizeBehaviorEvent,
  type Violation,
  validateBehaviorEvent,
  validateTrackBatchRequest,
  type WireMode,
} from "../../gen/validator/recommender/v1/behavior_validator.js";
import { loadSchemas } from "./ajv.js";

const seedDir = join(repoRoot, "test/fixtures/seed");
const schemaOf = loadSchemas(join(repoRoot, "gen/jsonschema"));
const load = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(seedDir, name), "utf8"));
const eventFiles = readdirSync(seedDir).filter((f) => f.endsWith(".json") && f !== "batch_request.json");
const clone = <T>(x: T): T => structuredClone(x);

const errors = (v: Violation[]) => v.filter((x) => x.severity === "error");

/** Asserts the validator and the three schemas agree on x, for typeName's validator `fn`. */
function agree(typeName: string, fn: (x: unknown, m: WireMode) => Violation[], x: unknown) {
  const req = fn(x, "request");
  const kafka = fn(x, "kafka");
  expect(schemaOf(typeName, "request")(x), `request schema vs ${JSON.stringify(req)}`).toBe(errors(req).length === 0);
  expect(schemaOf(typeName, "strict")(x), `strict schema vs ${JSON.stringify(req)}`).toBe(req.length === 0);
  if (typeName === "recommender.v1.BehaviorEvent") {
    expect(schemaOf(typeName, "kafka")(x), `kafka schema vs ${JSON.stringify(kafka)}`).toBe(errors(kafka).length === 0);
  }
  return req;
}

const ev = "recommender.v1.BehaviorEvent";

describe("seed examples", () => {
  it("has every example", () => {
    expect(eventFiles.length).toBe(11);
  });
  for (const file of eventFiles) {
    it(`${file} passes every schema and the validator in both modes`, () => {
      const x = load(file);
      expect(validateBehaviorEvent(x, "request")).toEqual([]);
      expect(validateBehaviorEvent(x, "kafka")).toEqual([]);
      for (const variant of ["request", "strict", "kafka"] as const) {
        const fn = schemaOf(ev, variant);
        expect(fn(x), JSON.stringify(fn.errors)).toBe(true);
      }
    });
    it(`${file} without server-filled fields is a valid request, not a valid Kafka message`, () => {
      const x = load(file);
      delete x.event_id;
      delete x.timestamp;
      expect(agree(ev, validateBehaviorEvent, x)).toEqual([]);
      expect(validateBehaviorEvent(x, "kafka").map((v) => [v.field, v.rule, v.severity])).toEqual([
        ["event_id", "required", "error"],
        ["timestamp", "required", "error"],
      ]);
      expect(schemaOf(ev, "kafka")(x)).toBe(false);
    });
    it(`${file} round-trips through protobuf and normalizes to its canonical form`, () => {
      const x = load(file);
      const wire = behaviorEventToWire(behaviorEventFromWire(x));
      expect(normalizeBehaviorEvent(x)).toEqual(wire);
      expect(JSON.stringify(wire)).toBe(JSON.stringify(normalizeBehaviorEvent(x)));
    });
  }
  it("batch_request.json passes", () => {
    const x = load("batch_request.json");
    expect(agree("recommender.v1.TrackBatchRequest", validateTrackBatchRequest, x)).toEqual([]);
  });
});

type Case = [
  name: string,
  mutate: (e: Record<string, any>) => void,
  expected: [field: string, rule: string, severity: string][],
  mode?: WireMode,
];

const base = () => load("scenario_video.json") as Record<string, any>;

const cases: Case[] = [
  ...["tenant_id", "scenario_id", "user_id", "item_id", "action_type", "context"].map(
    (f): Case => [`missing ${f}`, (e) => delete e[f], [[f, "required", "error"]]],
  ),
  ...["tenant_id", "scenario_id", "user_id", "item_id", "action_type", "context"].map(
    (f): Case => [`null ${f}`, (e) => (e[f] = null), [[f, "required", "error"]]],
  ),
  ["empty tenant_id", (e) => (e.tenant_id = ""), [["tenant_id", "required", "error"]]],
  ["missing context.device_type", (e) => delete e.context.device_type, [["context.device_type", "required", "error"]]],
  ["tenant_id not a string", (e) => (e.tenant_id = 123), [["tenant_id", "type", "error"]]],
  ["position as a string", (e) => (e.position = "3"), [["position", "type", "error"]]],
  ["timestamp as a string", (e) => (e.timestamp = "1730304000000"), [["timestamp", "type", "error"]]],
  ["timestamp beyond 2^53-1", (e) => (e.timestamp = 2 ** 53), [["timestamp", "type", "error"]]],
  ["context not an object", (e) => (e.context = "mobile"), [["context", "type", "error"]]],
  [
    "scenario duration as a string",
    (e) => (e.scenario_data.video_data.duration = "180"),
    [["scenario_data.video_data.duration", "type", "error"]],
  ],
  [
    "seek position not an integer",
    (e) => (e.scenario_data.video_data.seek_positions[1] = 1.5),
    [["scenario_data.video_data.seek_positions[1]", "type", "error"]],
  ],
  ["extra_data an array", (e) => (e.extra_data = [1]), [["extra_data", "type", "error"]]],
  ["negative position", (e) => (e.position = -1), [["position", "range", "error"]]],
  ["position beyond int32", (e) => (e.position = 2 ** 31), [["position", "type", "error"]]],
  ["negative timestamp", (e) => (e.timestamp = -1), [["timestamp", "range", "error"]]],
  [
    "completion_rate 1.5",
    (e) => (e.scenario_data.video_data.completion_rate = 1.5),
    [["scenario_data.video_data.completion_rate", "range", "warning"]],
  ],
  [
    "negative seek position",
    (e) => (e.scenario_data.video_data.seek_positions[2] = -5),
    [["scenario_data.video_data.seek_positions[2]", "range", "warning"]],
  ],
  [
    "video_quality 8K",
    (e) => (e.scenario_data.video_data.video_quality = "8K"),
    [["scenario_data.video_data.video_quality", "allowed_values", "warning"]],
  ],
  [
    "too many seek positions",
    (e) => (e.scenario_data.video_data.seek_positions = Array(1001).fill(1)),
    [["scenario_data.video_data.seek_positions", "max_items", "warning"]],
  ],
  ["tenant_id with a space", (e) => (e.tenant_id = "my mx"), [["tenant_id", "pattern", "error"]]],
  ["tenant_id too long", (e) => (e.tenant_id = "a".repeat(65)), [["tenant_id", "max_len", "error"]]],
  ["unknown action", (e) => (e.action_type = "jump"), [["action_type", "enum", "error"]]],
  ["unknown device", (e) => (e.context.device_type = "watch"), [["context.device_type", "enum", "error"]]],
  [
    "zero enum value",
    (e) => (e.context.device_type = "DEVICE_TYPE_UNSPECIFIED"),
    [["context.device_type", "enum", "error"]],
  ],
  [
    "proto enum names in a request",
    (e) => {
      e.action_type = "ACTION_TYPE_PLAY_END";
      e.context.device_type = "DEVICE_TYPE_MOBILE";
    },
    [],
  ],
  [
    "proto enum names in a Kafka message",
    (e) => {
      e.action_type = "ACTION_TYPE_PLAY_END";
      e.context.device_type = "DEVICE_TYPE_MOBILE";
    },
    [
      ["action_type", "enum", "error"],
      ["context.device_type", "enum", "error"],
    ],
    "kafka",
  ],
  [
    "two scenario members",
    (e) => (e.scenario_data.ecommerce_data = { price: 1 }),
    [
      ["scenario_data", "oneof", "error"],
      ["action_type", "recommended_action", "warning"],
    ],
  ],
  ["two members, one null", (e) => (e.scenario_data.ecommerce_data = null), []],
  ["action not recommended", (e) => (e.action_type = "purchase"), [["action_type", "recommended_action", "warning"]]],
  [
    "unknown keys",
    (e) => {
      e.foo = 1;
      e.context.bar = 2;
      e.scenario_data.video_data.baz = 3;
    },
    [
      ["context.bar", "unknown_field", "warning"],
      ["scenario_data.video_data.baz", "unknown_field", "warning"],
      ["foo", "unknown_field", "warning"],
    ],
  ],
  [
    "nulls for unset optional fields",
    (e) => {
      e.position = null;
      e.experiment_id = null;
      e.scenario_data.video_data.duration = null;
    },
    [],
  ],
  [
    "not an object",
    (e) => {
      for (const k of Object.keys(e)) delete e[k];
    },
    [
      ["tenant_id", "required", "error"],
      ["scenario_id", "required", "error"],
      ["user_id", "required", "error"],
      ["item_id", "required", "error"],
      ["action_type", "required", "error"],
      ["context", "required", "error"],
    ],
  ],
];

describe("mutations", () => {
  for (const [name, mutate, expected, mode = "request"] of cases) {
    it(name, () => {
      const e = clone(base());
      mutate(e);
      const got = validateBehaviorEvent(e, mode);
      expect(got.map((v) => [v.field, v.rule, v.severity])).toEqual(expected);
      for (const v of got)
        expect(v.message).toContain(v.rule === "oneof" ? "oneof" : v.field.split(/[.[]/).pop()!.replace("]", ""));
      agree(ev, validateBehaviorEvent, e);
    });
  }
  it("completion_rate message names the full path and bound", () => {
    const e = clone(base());
    e.scenario_data.video_data.completion_rate = 1.5;
    expect(validateBehaviorEvent(e, "request")[0]?.message).toBe(
      "scenario_data.video_data.completion_rate must be between 0 and 1, got 1.5",
    );
  });
  it("feature_importance entries are paths under the map", () => {
    const e = load("scenario_personalized.json") as Record<string, any>;
    e.scenario_data.personalized_data.feature_importance.novelty = 1.5;
    expect(validateBehaviorEvent(e, "request").map((v) => [v.field, v.rule, v.severity])).toEqual([
      ["scenario_data.personalized_data.feature_importance.novelty", "range", "warning"],
    ]);
    agree(ev, validateBehaviorEvent, e);
  });
  it("batch events carry their index", () => {
    const b = load("batch_request.json") as Record<string, any>;
    delete b.events[1].user_id;
    b.events[0].context.device_type = 5;
    expect(validateTrackBatchRequest(b, "request").map((v) => [v.field, v.rule, v.severity])).toEqual([
      ["events[0].context.device_type", "type", "error"],
      ["events[1].user_id", "required", "error"],
    ]);
    agree("recommender.v1.TrackBatchRequest", validateTrackBatchRequest, b);
  });
  it("a path prefix is applied", () => {
    const e = clone(base());
    delete e.user_id;
    expect(validateBehaviorEvent(e, "request", [], "events[7]").map((v) => v.field)).toEqual(["events[7].user_id"]);
  });
  it("a non-object is a type error", () => {
    expect(validateBehaviorEvent("x", "request")).toMatchObject([{ field: "", rule: "type", severity: "error" }]);
    expect(validateBehaviorEvent([], "kafka", [], "events[0]")).toMatchObject([{ field: "events[0]", rule: "type" }]);
    expect(schemaOf(ev, "request")("x")).toBe(false);
  });
});
