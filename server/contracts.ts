/**
 * Contracts between the server's parts. Transports (REST, Connect, gRPC) call the
 * ingestion pipeline; the pipeline calls a Sink, a ConfigStore and Stats. Each part has
 * one implementation per backend (file or Kafka sink, SQLite store) behind these types.
 */
import type { HealthStatsWire, ViolationWire } from "../gen/validator/recommender/v1/behavior_wire.js";

/**
 * One violated rule, the same over REST, Connect and gRPC: behavior.proto's Violation in wire
 * form, every field present. The generated validators' violations are of this shape.
 */
export type Violation = Required<ViolationWire>;

/** A record ready for the sink: the Kafka topic, key, value and headers. */
export interface SinkRecord {
  /** `user-behaviors-{tenant_id}`. */
  topic: string;
  /** Message key (user_id). */
  key: string;
  /** The Kafka message JSON, UTF-8 encoded by the sink. */
  value: string;
  /** Record headers, e.g. schema and tracking-config versions. */
  headers: Record<string, string>;
}

/**
 * How a sink stored records when not in their final destination: `spooled` — durable in the
 * server's local spool (server/spool), to be forwarded to the broker later. A sink that stored
 * them in the destination resolves with nothing.
 */
export interface SinkReceipt {
  readonly spooled: true;
}

/** Where accepted events go. `publish` resolves only once every record is durable (fsync'd or broker-acknowledged). */
export interface Sink {
  /** Short name for logs and metrics, e.g. "file" or "kafka". */
  readonly kind: string;
  /**
   * Stores the records; rejects with SinkUnavailableError when the backend cannot take them in
   * time. Resolves with a receipt when they were spooled rather than stored in the destination.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: the sinks that store in the destination are `async (): Promise<void>`; only a spool resolves with a receipt
  publish(records: readonly SinkRecord[]): Promise<SinkReceipt | void>;
  /** Whether the backend is reachable right now (health's kafka_available). */
  available(): boolean;
  /** Why `available()` is false (e.g. "SASL authentication failed: …"), for health, /readyz and logs. */
  unavailableReason?(): string | undefined;
  /** Flushes what is pending and releases resources. */
  close(): Promise<void>;
}

/** Thrown by a sink that could not store records within its bounded wait; maps to HTTP 503 / gRPC UNAVAILABLE. */
export class SinkUnavailableError extends Error {
  /** Seconds a client should wait before retrying (Retry-After). */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.name = "SinkUnavailableError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Counters behind /api/v1/behaviors/health and /metrics: behavior.proto's HealthStats, every field present. */
export type StatsSnapshot = Required<HealthStatsWire>;
