// Type-checked with `tsc --noEmit` in a fresh consumer project under moduleResolution nodenext and
// bundler (test/artifacts/npm-consumer.test.ts): the packages' exports carry their types.
import { create, type JsonObject } from "@bufbuild/protobuf";
import {
  ActionType,
  type BehaviorEvent,
  BehaviorEventSchema,
} from "@recommender/behavior-schema/es/recommender/v1/behavior_pb.js";
import { scenarioTemplates } from "@recommender/behavior-schema/templates/scenario_templates.js";
import {
  behaviorEventKafka,
  normalizeBehaviorEvent,
  validateBehaviorEvent,
} from "@recommender/behavior-schema/validator/recommender/v1/behavior_validator.js";
import type { BehaviorEventWire } from "@recommender/behavior-schema/validator/recommender/v1/behavior_wire.js";
import type { Violation } from "@recommender/behavior-schema/validator/violation.js";
import { partitionForKey } from "@recommender/behavior-sdk";
import { type ScenarioDataOf, TrackingClient, type TrackResult } from "@recommender/behavior-sdk/http";
import { KafkaTracker } from "@recommender/behavior-sdk/kafka";

const event: BehaviorEvent = create(BehaviorEventSchema, {
  tenantId: "mymx",
  userId: "u1",
  actionType: ActionType.CLICK,
});
const wire: BehaviorEventWire = {
  tenant_id: "mymx",
  scenario_id: "vlog_feed",
  user_id: "u1",
  item_id: "v1",
  action_type: "play_end",
  context: { device_type: "mobile" },
  scenario_data: { video_data: { duration: 180, watch_duration: 175 } },
};
const violations: Violation[] = validateBehaviorEvent(wire, "request");
const topic: string = behaviorEventKafka.topic(normalizeBehaviorEvent(wire));
const video: ScenarioDataOf<"video"> = { duration: 10, video_quality: "1080p" };
const extra: JsonObject = { k: 1 };
const client = new TrackingClient({ baseUrl: "http://localhost:8080", tenantId: "mymx" });
const sent: Promise<TrackResult> = client.trackScenario(
  "video",
  "play_end",
  { user_id: "u1", item_id: "v1", scenario_id: "s" },
  video,
);
const tracker = new KafkaTracker({ brokers: ["localhost:9092"], tenantId: "mymx" });
const partition: number = partitionForKey("user_123", 12);
// @ts-expect-error action types are the proto's wire names
const bad: BehaviorEventWire = { ...wire, action_type: "teleport" };

export { bad, event, extra, partition, scenarioTemplates, sent, topic, tracker, violations };
