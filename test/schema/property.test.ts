/**
 * Property tests: for every message of the recommender.v1 files, generated valid and broken
 * wire JSON (arbitraries walk the model) — the compiled validator and ajv agree for all
 * three schema variants, and proto → wire → proto round trips are lossless.
 */

import { join } from "node:path";
import { type DescMessage, equals } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { kafkaRouting } from "../../codegen/common/model.js";
import { repoRoot } from "../../codegen/common/plugin-harness.js";
import { file_recommender_v1_behavior } from "../../gen/es/recommender/v1/behavior_pb.js";
import { file_recommender_v1_tracking_config } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import * as behavior from "../../gen/validator/recommender/v1/behavior_validator.js";
import * as trackingConfig from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import type { Violation, WireMode } from "../../gen/validator/violation.js";
import { loadSchemas } from "./ajv.js";
import { messageArb, mutatedArb } from "./arbitraries.js";

const schemaOf = loadSchemas(join(repoRoot, "gen/jsonschema"));

type Mod = Record<string, unknown>;
const modules: [DescMessage[], Mod][] = [
  [file_recommender_v1_behavior.messages, behavior as Mod],
  [file_recommender_v1_tracking_config.messages, trackingConfig as Mod],
];

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function fns(mod: Mod, desc: DescMessage) {
  return {
    validate: mod[`validate${desc.name}`] as (x: unknown, m: WireMode) => Violation[],
    toWire: mod[`${lowerFirst(desc.name)}ToWire`] as (m: unknown) => unknown,
    fromWire: mod[`${lowerFirst(desc.name)}FromWire`] as (x: unknown) => any,
    normalize: mod[`normalize${desc.name}`] as (x: unknown) => unknown,
  };
}

const hasError = (v: Violation[]) => v.some((x) => x.severity === "error");

function checkAgreement(desc: DescMessage, mod: Mod, x: unknown) {
  const { validate } = fns(mod, desc);
  const req = validate(x, "request");
  const request = schemaOf(desc.typeName, "request");
  const strict = schemaOf(desc.typeName, "strict");
  expect(
    request(x),
    `request: ${JSON.stringify(x)}\nvalidator: ${JSON.stringify(req)}\najv: ${JSON.stringify(request.errors)}`,
  ).toBe(!hasError(req));
  expect(
    strict(x),
    `strict: ${JSON.stringify(x)}\nvalidator: ${JSON.stringify(req)}\najv: ${JSON.stringify(strict.errors)}`,
  ).toBe(req.length === 0);
  if (kafkaRouting(desc)) {
    const k = validate(x, "kafka");
    const kafka = schemaOf(desc.typeName, "kafka");
    expect(
      kafka(x),
      `kafka: ${JSON.stringify(x)}\nvalidator: ${JSON.stringify(k)}\najv: ${JSON.stringify(kafka.errors)}`,
    ).toBe(!hasError(k));
  }
  return req;
}

function checkRoundTrip(desc: DescMessage, mod: Mod, x: unknown) {
  const { toWire, fromWire, normalize } = fns(mod, desc);
  const msg = fromWire(x);
  const wire = toWire(msg);
  const back = fromWire(JSON.parse(JSON.stringify(wire)));
  expect(equals(desc as any, back, msg), `round trip of ${JSON.stringify(x)}`).toBe(true);
  expect(normalize(x)).toEqual(wire);
  expect(JSON.stringify(toWire(back))).toBe(JSON.stringify(wire));
}

let samples = 0;
let validSamples = 0;

describe("compiled validator ⟺ ajv, round trips", () => {
  for (const [messages, mod] of modules) {
    for (const desc of messages) {
      const heavy =
        desc.name === "BehaviorEvent" || desc.name === "TrackBatchRequest" || desc.name === "TrackingConfig";
      it(`${desc.typeName}: valid and broken inputs`, () => {
        fc.assert(
          fc.property(fc.oneof(messageArb(desc), mutatedArb(desc)), (x) => {
            samples++;
            const req = checkAgreement(desc, mod, x);
            if (!hasError(req)) {
              validSamples++;
              checkRoundTrip(desc, mod, x);
            }
          }),
          { numRuns: heavy ? 2000 : 100 },
        );
      });
    }
  }
  it("generated at least 1,000 valid and 1,000 invalid messages", () => {
    expect(validSamples).toBeGreaterThanOrEqual(1000);
    expect(samples - validSamples).toBeGreaterThanOrEqual(1000);
  });
});
