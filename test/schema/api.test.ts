/** The validator module's server-facing API: Kafka routing, hot path, lookup tables. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../codegen/common/plugin-harness.js";
import { ActionType, BehaviorEventSchema, DeviceType } from "../../gen/es/recommender/v1/behavior_pb.js";
import {
  actionTypeFromWire,
  actionTypeProtoToWire,
  actionTypeToWire,
  actionTypeWireNames,
  actionTypeWireToProto,
  behaviorEventFromWire,
  behaviorEventKafka,
  behaviorEventToWire,
  dataFieldByScenarioType,
  deviceTypeFromWire,
  deviceTypeWireToProto,
  encodeBehaviorEventKafkaJson,
  hasErrors,
  normalizeBehaviorEvent,
  recommendedActionsByScenarioType,
  scenarioTypeByDataField,
  scenarioTypes,
  validateBehaviorEvent,
} from "../../gen/validator/recommender/v1/behavior_validator.js";
import { loadSchemas } from "./ajv.js";

const schemaOf = loadSchemas(join(repoRoot, "gen/jsonschema"));
const http = () => JSON.parse(readFileSync(join(repoRoot, "test/fixtures/seed/http_event_data.json"), "utf8"));

describe("validator module API", () => {
  it("routes Kafka messages from the kafka option", () => {
    expect(behaviorEventKafka.topicTemplate).toBe("user-behaviors-{tenant_id}");
    expect(behaviorEventKafka.keyField).toBe("user_id");
    expect(behaviorEventKafka.schemaVersion).toBe("1");
    expect(behaviorEventKafka.topic({ tenant_id: "mymx" })).toBe("user-behaviors-mymx");
    expect(behaviorEventKafka.key({ user_id: "user_1" })).toBe("user_1");
  });

  it("hot path: request with proto names and nulls → canonical Kafka message", () => {
    const body = http();
    delete body.event_id;
    delete body.timestamp;
    body.action_type = "ACTION_TYPE_PLAY_END";
    body.context.device_type = "DEVICE_TYPE_MOBILE";
    body.experiment_group = null;
    body.unknown_key = 1;
    const out = validateBehaviorEvent(body, "request");
    expect(hasErrors(out)).toBe(false);
    expect(out.map((v) => v.rule)).toEqual(["unknown_field"]);
    body.event_id = "evt_0123456789abcdef";
    body.timestamp = 1730304000000;
    const wire = normalizeBehaviorEvent(body);
    expect(Object.keys(wire)).toEqual([
      "event_id",
      "tenant_id",
      "scenario_id",
      "user_id",
      "item_id",
      "action_type",
      "timestamp",
      "context",
      "experiment_id",
      "position",
      "scenario_data",
    ]);
    expect(wire.action_type).toBe("play_end");
    expect(wire.context?.device_type).toBe("mobile");
    expect(validateBehaviorEvent(wire, "kafka")).toEqual([]);
    expect(schemaOf("recommender.v1.BehaviorEvent", "kafka")(wire)).toBe(true);
    const json = encodeBehaviorEventKafkaJson(wire);
    expect(json).toBe(JSON.stringify(wire));
    expect(JSON.parse(json)).toEqual(behaviorEventToWire(behaviorEventFromWire(body)));
  });

  it("toWire emits a set optional field even when zero, and int64 as a number", () => {
    const msg = create(BehaviorEventSchema, {
      tenantId: "t",
      position: 0,
      timestamp: 5n,
      actionType: ActionType.CLICK,
      context: { deviceType: DeviceType.PC },
    });
    expect(behaviorEventToWire(msg)).toEqual({
      tenant_id: "t",
      action_type: "click",
      timestamp: 5,
      context: { device_type: "pc" },
      position: 0,
    });
  });

  it("exports enum and scenario tables", () => {
    expect(actionTypeWireToProto.play_end).toBe("ACTION_TYPE_PLAY_END");
    expect(actionTypeProtoToWire.ACTION_TYPE_ADD_CART).toBe("add_cart");
    expect(actionTypeWireNames).toHaveLength(31);
    expect(actionTypeFromWire("play_end")).toBe(ActionType.PLAY_END);
    expect(actionTypeFromWire("ACTION_TYPE_PLAY_END")).toBe(ActionType.PLAY_END);
    expect(actionTypeFromWire("constructor")).toBeUndefined();
    expect(actionTypeToWire(ActionType.READ_END)).toBe("read_end");
    expect(deviceTypeWireToProto.tablet).toBe("DEVICE_TYPE_TABLET");
    expect(deviceTypeFromWire("pc")).toBe(DeviceType.PC);
    expect(scenarioTypes).toEqual([
      "video",
      "ecommerce",
      "news",
      "music",
      "education",
      "content",
      "social",
      "personalized",
      "custom",
    ]);
    expect(scenarioTypeByDataField.video_data).toBe("video");
    expect(dataFieldByScenarioType.custom).toBe("custom_data");
    expect(recommendedActionsByScenarioType.video).toEqual([
      "impression",
      "click",
      "play",
      "play_end",
      "pause",
      "like",
      "share",
      "comment",
    ]);
    expect(recommendedActionsByScenarioType.custom).toEqual([]);
  });
});
