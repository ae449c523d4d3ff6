/**
 * The slice of the generated validator/codec (gen/validator/recommender/v1/behavior_validator.ts)
 * the Kafka SDK uses, behind a small interface so a service can pin another generated version.
 */
import {
  type BehaviorEventWire,
  behaviorEventKafka,
  encodeBehaviorEventKafkaJson,
  normalizeBehaviorEvent,
  type Violation,
  validateBehaviorEvent,
} from "../../gen/validator/recommender/v1/behavior_validator.js";

/** One violated rule. */
export type CodecViolation = Violation;

/** Canonical wire JSON of a BehaviorEvent. */
export type BehaviorEventWireLike = BehaviorEventWire;

/** What the Kafka SDK needs from the generated module. */
export interface BehaviorCodec {
  /** Every violation, errors and warnings. */
  validate(input: unknown, mode: "request" | "kafka"): CodecViolation[];
  /** Request JSON without errors → canonical wire JSON. */
  normalize(input: unknown): BehaviorEventWireLike;
  /** "user-behaviors-" + tenant_id. */
  topic(e: BehaviorEventWireLike): string;
  /** user_id. */
  key(e: BehaviorEventWireLike): string;
  /** The Kafka message value. */
  encode(e: BehaviorEventWireLike): string;
  /** Sent as the "schema-version" header. */
  schemaVersion: string;
}

/** The codec generated from behavior.proto. */
export const generatedBehaviorCodec: BehaviorCodec = {
  validate: (input, mode) => validateBehaviorEvent(input, mode),
  normalize: (input) => normalizeBehaviorEvent(input),
  topic: (e) => behaviorEventKafka.topic(e),
  key: (e) => behaviorEventKafka.key(e),
  encode: (e) => encodeBehaviorEventKafkaJson(e),
  schemaVersion: behaviorEventKafka.schemaVersion,
};
