// A consumer of the npm packages, run with plain `node app.mjs` from a fresh project that did
// `npm install dist/npm/*.tgz` (test/artifacts/npm-consumer.test.ts). Prints one JSON report.
// env: SEED_DIR (the seed's examples), BASE_URL (a running server), KAFKA_BROKERS, TENANT, FALLBACK_DIR.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ActionType,
  BehaviorEventSchema,
  DeviceType,
} from "@recommender/behavior-schema/es/recommender/v1/behavior_pb.js";
import kafkaSchema from "@recommender/behavior-schema/jsonschema/recommender.v1.BehaviorEvent.kafka.schema.json" with {
  type: "json",
};
import {
  behaviorEventFromWire,
  behaviorEventToWire,
  validateBehaviorEvent,
} from "@recommender/behavior-schema/validator/recommender/v1/behavior_validator.js";
import { TrackingClient } from "@recommender/behavior-sdk/http";
import { KafkaTracker } from "@recommender/behavior-sdk/kafka";

const report = {};
const errorsOf = (e, mode) =>
  validateBehaviorEvent(e, mode)
    .filter((v) => v.severity === "error")
    .map((v) => `${v.field}:${v.rule}`);

// 1. The seed's examples validate; broken copies are rejected with field paths.
const seedDir = process.env.SEED_DIR;
report.seed = {};
for (const f of readdirSync(seedDir)
  .filter((f) => f.startsWith("scenario_") || f === "kafka_message.json" || f === "http_event_data.json")
  .sort()) {
  const e = JSON.parse(readFileSync(join(seedDir, f), "utf8"));
  report.seed[f] = { request: errorsOf(e, "request"), kafka: errorsOf(e, "kafka") };
}
const video = JSON.parse(readFileSync(join(seedDir, "scenario_video.json"), "utf8"));
report.invalid = errorsOf(
  { ...video, action_type: "teleport", context: { ...video.context, device_type: "tv" } },
  "request",
);
report.kafkaSchemaId = kafkaSchema.$id;

// 2. protobuf-es: wire JSON → message → binary → message → wire JSON.
const msg = behaviorEventFromWire(video);
const back = fromBinary(BehaviorEventSchema, toBinary(BehaviorEventSchema, msg));
report.roundTrip = {
  equal: JSON.stringify(behaviorEventToWire(back)) === JSON.stringify(behaviorEventToWire(msg)),
  action: back.actionType === ActionType.PLAY_END,
  device: back.context?.deviceType === DeviceType.MOBILE,
  watch: back.scenarioData?.data.case === "videoData" ? back.scenarioData.data.value.watchDuration : null,
};

// 3. TrackingClient → the running server.
const client = new TrackingClient({ baseUrl: process.env.BASE_URL, tenantId: process.env.TENANT });
report.http = await client.trackVideoPlay("user_12345", "video_67890", "vlog_feed", 180, 175, 0.97, {
  video_quality: "1080p",
});

// 4. KafkaTracker → the broker.
const tracker = new KafkaTracker({
  brokers: [process.env.KAFKA_BROKERS],
  tenantId: process.env.TENANT,
  fallbackDir: process.env.FALLBACK_DIR,
});
await tracker.start();
report.kafkaEventId = await tracker.track({
  scenario_id: "vlog_feed",
  user_id: "user_123",
  item_id: "video_456",
  action_type: "click",
  context: { device_type: "mobile" },
  position: 3,
});
await tracker.close();
report.kafkaStats = tracker.stats();

console.log(JSON.stringify(report));
