/**
 * Public SDK of the behavior-tracking toolchain — what other repositories import.
 *
 * Two ways to send behavior events (the seed's "HTTP/gRPC接入方式" and "Kafka直接接入方式"):
 *
 * - {@link TrackingClient} — for apps (C端): REST calls to the ingestion server, which validates
 *   against the tenant's tracking config and answers only after Kafka acknowledged the event.
 *   Timeouts, retries on 429/503 honouring Retry-After, typed per-scenario methods derived from
 *   behavior.proto, and an impression batcher.
 * - {@link KafkaTracker} — for internal services: validates on the client with the generated
 *   validator and produces straight to `user-behaviors-{tenant_id}` (key user_id), buffered, with
 *   retries and a durable local fallback queue.
 *
 * Both place and encode events exactly as the server does: the message value is the generated
 * wire JSON ({@link encodeBehaviorEventKafkaJson}), the partition is Java-compatible murmur2
 * ({@link partitionForKey}), so Java/Flink consumers and producers in other languages agree.
 *
 * @example HTTP
 * ```ts
 * import { TrackingClient } from "@recommender/behavior-sdk/http";
 * const client = new TrackingClient({ baseUrl: "http://recommender-api:8080", tenantId: "mymx" });
 * await client.trackVideoPlay("user_12345", "video_67890", "vlog_feed", 180, 175, 0.97, { video_quality: "1080p" });
 * await client.trackScenario("ecommerce", "add_cart", { user_id: "u1", item_id: "sku1", scenario_id: "shop" }, { price: 299.9, currency: "CNY" });
 * const imps = client.impressions({ maxItems: 10, flushIntervalMs: 1000 });
 * imps.add({ user_id: "u1", item_id: "video_1", scenario_id: "vlog_feed", position: 1 });
 * await imps.close();
 * ```
 *
 * @example Kafka
 * ```ts
 * import { KafkaTracker } from "@recommender/behavior-sdk/kafka";
 * const tracker = new KafkaTracker({ brokers: ["localhost:9092"], tenantId: "mymx" });
 * await tracker.start();
 * await tracker.track({ scenario_id: "vlog_feed", user_id: "u1", item_id: "v1", action_type: "click", context: { device_type: "mobile" } });
 * await tracker.close();
 * ```
 *
 * @packageDocumentation
 */

// --- HTTP client (apps) ------------------------------------------------------------------------

export type {
  ActionType,
  ImpressionBatcher,
  ImpressionBatcherOptions,
  ImpressionInput,
  ScenarioDataField,
  ScenarioDataOf,
  ScenarioEventBase,
  ScenarioType,
  ServerViolation,
  TrackBatchResult,
  TrackEventInput,
  TrackingClientOptions,
  TrackResult,
} from "./http/tracking-client.js";
export {
  MAX_BATCH_EVENTS,
  newEventId,
  parseRetryAfter,
  TrackingClient,
  TrackingError,
  TrackingHttpError,
  TrackingNetworkError,
  TrackingTimeoutError,
  TrackingValidationError,
} from "./http/tracking-client.js";

// --- Direct Kafka (internal services) ------------------------------------------------------------

export type {
  KafkaCompression,
  KafkaPublisher,
  KafkaPublisherOptions,
  KafkaPublisherStats,
  KafkaSaslOptions,
  PublishRecord,
} from "./common/kafka-publisher.js";
/** The shared producing core (also used by the server's Kafka sink). */
export { createKafkaPublisher, isTransientKafkaError, KafkaUnavailableError } from "./common/kafka-publisher.js";
export type { KafkaTrackerOptions, KafkaTrackerStats } from "./kafka/kafka-tracker.js";
export { KafkaTracker, KafkaTrackerValidationError } from "./kafka/kafka-tracker.js";

// --- Partitioning ------------------------------------------------------------------------------

/** Java-compatible murmur2 partitioning: `partitionForKey(user_id, partitions)` is where Kafka's Java client puts a key. */
export { javaCompatiblePartitioner, murmur2, partitionForKey, toPositive } from "./common/murmur2.js";

// --- Codec and generated validator -------------------------------------------------------------

export type {
  BehaviorContextWire,
  BehaviorEventWire,
  ContentScenarioDataWire,
  EcommerceScenarioDataWire,
  EducationScenarioDataWire,
  GetHealthResponseWire,
  MusicScenarioDataWire,
  NewsScenarioDataWire,
  PersonalizedScenarioDataWire,
  ScenarioSpecificDataWire,
  Severity,
  SocialScenarioDataWire,
  TrackBatchResponseWire,
  TrackEventResponseWire,
  ValidateEventResponseWire,
  VideoScenarioDataWire,
  Violation,
  ViolationRule,
  WireMode,
} from "../gen/validator/recommender/v1/behavior_validator.js";
/**
 * Generated from behavior.proto (gen/validator): the compiled validator (`validateBehaviorEvent(input,
 * "request" | "kafka")` returns every violation), normalization to canonical wire JSON, the Kafka
 * routing (`behaviorEventKafka.topic/key/schemaVersion`) and value encoding, and the enum/scenario
 * tables. Regenerate (make generate) rather than editing.
 */
export {
  actionTypeWireNames,
  behaviorEventKafka,
  dataFieldByScenarioType,
  deviceTypeWireNames,
  encodeBehaviorEventKafkaJson,
  hasErrors,
  normalizeBehaviorEvent,
  recommendedActionsByScenarioType,
  scenarioTypeByDataField,
  scenarioTypes,
  validateBehaviorEvent,
} from "../gen/validator/recommender/v1/behavior_validator.js";
export type { ActionTypeWire, DeviceTypeWire } from "../gen/validator/recommender/v1/behavior_wire.js";
export type { BehaviorCodec, BehaviorEventWireLike, CodecViolation } from "./common/behavior-codec.js";
export { generatedBehaviorCodec } from "./common/behavior-codec.js";
