/**
 * The Kafka implementation of the server's Sink contract (server/contracts.ts).
 *
 * Producing, batching, topic creation and partitioning live in sdk/common/kafka-publisher.ts,
 * shared with the direct-Kafka SDK so both place records identically. This file adds what the
 * ingestion pipeline needs on top: a bounded wait per publish mapped to SinkUnavailableError
 * (HTTP 503 / gRPC UNAVAILABLE with Retry-After), and an `available()` flag for health that turns
 * false on connection/produce failures and back to true by itself once a periodic metadata probe
 * reaches the broker again.
 */

import {
  createKafkaPublisher,
  isTransientKafkaError,
  type KafkaPublisher,
  type KafkaPublisherOptions,
  type KafkaPublisherStats,
  kafkaErrorReason,
} from "../../sdk/common/kafka-publisher.js";
import { createThreadedKafkaPublisher } from "../../sdk/common/kafka-publisher-thread.js";
import { type Sink, type SinkRecord, SinkUnavailableError } from "../contracts.js";

export type { KafkaCompression, KafkaSaslOptions } from "../../sdk/common/kafka-publisher.js";

/**
 * Options of {@link createKafkaSink}. Producer settings (brokers, compression, partitions,
 * replicationFactor, retentionMs, lingerMs, sasl, tls, …) are documented on
 * {@link KafkaPublisherOptions}; defaults: gzip, 12 partitions, replication factor 1, 7 days retention.
 */
export interface KafkaSinkOptions extends KafkaPublisherOptions {
  /** Longest a publish waits for the broker's acknowledgement before SinkUnavailableError, ms. Default 5000. */
  publishTimeoutMs?: number;
  /** While unavailable, how often to probe the broker's metadata, ms. Default 1000. */
  probeIntervalMs?: number;
  /** Retry-After (seconds) put on SinkUnavailableError. Default 1. */
  retryAfterSeconds?: number;
  /**
   * While the broker is known to be down, reject publishes at once instead of waiting the full
   * bounded wait. Default true: during an outage every request would otherwise hold memory and a
   * client connection for `publishTimeoutMs` only to fail anyway.
   */
  failFastWhenUnavailable?: boolean;
  /**
   * Run the producer (record encoding, gzip, socket I/O) on its own worker thread
   * (sdk/common/kafka-publisher-thread.ts) so it does not share the event loop with HTTP parsing
   * and validation. Default false: measured on 2 cores (BENCHMARKS.md) the thread made batch
   * ingestion ~11 % faster but single-event REST ~12 % slower, with a higher P99 and ~40 MB more
   * RSS, because the broker, the load and both threads compete for the same cores.
   */
  producerThread?: boolean;
  /** Called on availability changes, and while unavailable when the cause changes (for logs/metrics). */
  onAvailabilityChange?: (available: boolean, cause?: unknown) => void;
}

/** The Kafka sink: the Sink contract plus topic pre-creation and counters. */
export interface KafkaSink extends Sink {
  readonly kind: "kafka";
  /** Creates the topic if missing (partitions/replication/retention from the options) and caches it. */
  ensureTopic(topic: string): Promise<void>;
  /** Resolves once a metadata request succeeded (the sink is then available), or rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /** Producer counters. */
  stats(): KafkaPublisherStats;
}

/**
 * Creates the Kafka sink. Returns at once; the connection is made lazily and an initial probe
 * sets `available()` (false until the broker answered once).
 *
 * Guarantees: `publish` resolves only after acks=all from the broker for every record (idempotent
 * producer); per key, records keep their publish order. A rejected publish may still have stored
 * some or all of its records (acknowledgement lost or late), so a retry can duplicate them:
 * at-least-once, consumers de-duplicate by event_id.
 */
export function createKafkaSink(options: KafkaSinkOptions): KafkaSink {
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const failFast = options.failFastWhenUnavailable ?? true;
  const create = (options.producerThread ?? false) ? createThreadedKafkaPublisher : createKafkaPublisher;
  const publisher: KafkaPublisher = create({
    ...options,
    // A single produce request must not outlive the publish that waits for it.
    requestTimeoutMs: Math.min(options.requestTimeoutMs ?? publishTimeoutMs, publishTimeoutMs),
  });

  /** "unknown" until the first probe/produce; `available()` is true only when "up". */
  let state: "unknown" | "up" | "down" = "unknown";
  /** Why the sink is down (wrong credentials, untrusted CA, unreachable…), for health and logs. */
  let downReason: string | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let probing = false;
  let closed = false;

  function setState(next: "up" | "down", cause?: unknown): void {
    const reason = next === "down" && cause !== undefined ? kafkaErrorReason(cause).message : undefined;
    if (state === next && reason === downReason) return;
    downReason = reason;
    if (state === next) {
      // Still down, for another reason (e.g. a timeout first, then the refused login): report it.
      options.onAvailabilityChange?.(false, cause);
      return;
    }
    state = next;
    options.onAvailabilityChange?.(next === "up", cause);
    if (next === "down") startProbing();
    else stopProbing();
  }

  function startProbing(): void {
    if (probeTimer || closed) return;
    probeTimer = setInterval(() => void probeOnce(), probeIntervalMs);
    probeTimer.unref();
  }

  function stopProbing(): void {
    clearInterval(probeTimer);
    probeTimer = undefined;
  }

  async function probeOnce(): Promise<void> {
    if (probing || closed) return;
    probing = true;
    try {
      // The full bounded wait, not the probe interval: a refused login or an untrusted certificate
      // surfaces only after the client's own retries, and a shorter timeout would hide it.
      await publisher.probe(publishTimeoutMs);
      setState("up");
    } catch (error) {
      setState("down", error);
    } finally {
      probing = false;
    }
  }

  void probeOnce();

  function unavailable(message: string, cause?: unknown): SinkUnavailableError {
    const e = new SinkUnavailableError(message, retryAfterSeconds);
    if (cause !== undefined) (e as Error & { cause?: unknown }).cause = cause;
    return e;
  }

  async function publish(records: readonly SinkRecord[]): Promise<void> {
    if (closed) throw unavailable("kafka sink is closed");
    if (records.length === 0) return;
    if (failFast && state === "down") throw unavailable("kafka broker unavailable");
    try {
      // The bounded wait is handled inside the publisher by one shared timer (no AbortController and
      // setTimeout per publish on the hot path); records not yet sent when it elapses are withdrawn.
      await publisher.publish(records, { timeoutMs: publishTimeoutMs });
      if (state !== "up") setState("up");
    } catch (error) {
      const reason = kafkaErrorReason(error);
      if (reason.kind === "authorization") {
        // The server's own principal lacks an ACL for this topic: an operator fixes it on the broker.
        // 503 names the cause; the sink stays up for the topics it may write.
        throw unavailable(`kafka: ${reason.message}`, error);
      }
      if (isTransientKafkaError(error)) {
        setState("down", error);
        throw unavailable(`kafka broker unavailable: ${(error as Error).message}`, error);
      }
      throw error;
    }
  }

  return {
    kind: "kafka",
    publish,
    available: () => state === "up",
    unavailableReason: () => (state === "up" ? undefined : (downReason ?? "no answer from the broker yet")),
    ensureTopic: (topic) => publisher.ensureTopic(topic),
    async ready(timeoutMs = publishTimeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await probeOnce();
        if (state === "up") return;
        if (Date.now() >= deadline) throw unavailable("kafka broker unavailable");
        await new Promise((r) => setTimeout(r, Math.min(200, probeIntervalMs)));
      }
    },
    stats: () => publisher.stats(),
    async close() {
      if (closed) return;
      closed = true;
      stopProbing();
      await publisher.close();
    },
  };
}
