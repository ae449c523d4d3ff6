/**
 * The one Kafka producing core shared by the server's Kafka sink (server/kafka/kafka-sink.ts) and
 * the direct-Kafka SDK (sdk/kafka/kafka-tracker.ts), so both place, batch and acknowledge records
 * the same way: `user-behaviors-{tenant_id}` topics created on first use, key = user_id,
 * Java-compatible murmur2 partitioning, idempotent producer with acks=all, gzip by default.
 *
 * Delivery model (why it looks like this):
 * - `publish()` resolves only after the broker acknowledged every record (acks=all, i.e. all
 *   in-sync replicas have it). Nothing is reported stored before that.
 * - Concurrent `publish()` calls are coalesced into one produce request per "linger" window
 *   (Kafka's `linger.ms`/`batch.size` idea): one request carrying many records is far cheaper for
 *   the broker and for gzip than many small ones.
 * - At most ONE produce request is in flight at a time (Kafka's `max.in.flight=1`). A failed
 *   request can therefore never be overtaken by a later one, which keeps the records of one key
 *   (one user) in order even across retries; throughput comes from large batches instead of
 *   parallel requests.
 * - Each publish has a bounded wait. Records whose caller already gave up are dropped from the
 *   queue if they were not handed to the client yet, so a caller that was told "failed" does not
 *   find them stored later (fewer duplicates on its retry).
 *
 * Duplicates: within one produce request the idempotent producer's internal retries reuse the same
 * producer id and sequence numbers, so the broker de-duplicates them. Across a reported failure the
 * guarantee is at-least-once: if the broker wrote a batch but the acknowledgement was lost (or came
 * after the caller's bounded wait), the caller's retry writes it again under a new sequence, and
 * consumers must de-duplicate by `event_id`.
 */
import {
  Admin,
  Producer,
  findErrorBy,
  stringSerializers,
  type ClusterMetadata,
  type SASLOptions,
} from "@platformatic/kafka";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { javaCompatiblePartitioner } from "./murmur2.js";

/** One record to produce: topic, key (user_id), JSON value and string headers. */
export interface PublishRecord {
  topic: string;
  key: string;
  value: string;
  headers?: Record<string, string>;
}

/** Compression codecs; all are built into @platformatic/kafka (gzip/zstd via node:zlib, lz4/snappy via WASM). */
export type KafkaCompression = "gzip" | "lz4" | "zstd" | "snappy" | "none";

/** SASL credentials (the seed's production setup is SASL_SSL + PLAIN with KAFKA_USER/KAFKA_PASSWORD). */
export interface KafkaSaslOptions {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  username: string;
  password: string;
}

/** Options of {@link createKafkaPublisher}; every field but `brokers` has a default. */
export interface KafkaPublisherOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Client id sent to the broker (logs, quotas). Default "behavior-tracking". */
  clientId?: string;
  /** Compression of produce batches. Default "gzip" (as in the seed's producer examples). */
  compression?: KafkaCompression;
  /** Partitions of topics this publisher creates. Default 12 (the seed: 12–24 by traffic). */
  partitions?: number;
  /** Replication factor of created topics. Default 1 (the local single broker); use 3 in production. */
  replicationFactor?: number;
  /** `retention.ms` of created topics. Default 7 days (the seed). */
  retentionMs?: number;
  /** Create missing topics before producing to them. Default true; when false the topics must exist. */
  createTopics?: boolean;
  /**
   * Extra topic configs for created topics, e.g. `{ "min.insync.replicas": "2" }` in production so
   * that acks=all really means two copies.
   */
  topicConfigs?: Record<string, string>;
  /** How long records wait for more records to share a produce request. Default 5 ms. */
  lingerMs?: number;
  /** Most records in one produce request. Default 2000. */
  maxBatchRecords?: number;
  /** Approximate most bytes (key+value) in one produce request. Default 1 MiB (the broker's default max). */
  maxBatchBytes?: number;
  /** Bound on one produce/metadata request, ms. Default 5000. */
  requestTimeoutMs?: number;
  /** TCP/TLS connect timeout, ms. Default 3000. */
  connectTimeoutMs?: number;
  /**
   * Client-level retries of a produce request (same producer id and sequence numbers, so the broker
   * de-duplicates them). Default 3. Kept finite on purpose: with the client's default (infinite for
   * idempotent producers) a request would keep retrying after its caller gave up, and records
   * reported as failed could appear later.
   */
  retries?: number;
  /** Delay between those client-level retries, ms. Default 250. */
  retryDelayMs?: number;
  /** SASL authentication; pair with `tls` for SASL_SSL. */
  sasl?: KafkaSaslOptions;
  /** TLS: `true` for system CAs, or node:tls options (ca, cert, key, servername, …). */
  tls?: boolean | TlsConnectionOptions;
}

/** Thrown when the broker could not take records in time (connection refused, timeouts, no leader). */
export class KafkaUnavailableError extends Error {
  override readonly name = "KafkaUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Counters for metrics and tests. */
export interface KafkaPublisherStats {
  /** Records acknowledged by the broker. */
  acked: number;
  /** Records whose produce request failed. */
  failed: number;
  /** Produce requests sent (acknowledged or failed). */
  requests: number;
  /** Records waiting for a produce request right now. */
  queued: number;
}

/** A started publisher; see {@link createKafkaPublisher}. */
export interface KafkaPublisher {
  /**
   * Produces the records and resolves once the broker acknowledged all of them. Rejects with
   * {@link KafkaUnavailableError} on transient broker trouble or when `signal` aborts first (records
   * not yet sent are then withdrawn); other errors (invalid topic, record too large, auth) reject as is.
   */
  publish(records: readonly PublishRecord[], signal?: AbortSignal): Promise<void>;
  /** Creates the topic (if creation is enabled) and waits until every partition has a leader. Cached. */
  ensureTopic(topic: string): Promise<void>;
  /** Fetches cluster metadata (used as a liveness probe); rejects when no broker answers. */
  probe(timeoutMs?: number): Promise<void>;
  /** Partition count of a known topic, from the client's metadata cache. */
  partitionsOf(topic: string): number | undefined;
  /** Counters. */
  stats(): KafkaPublisherStats;
  /** Sends what is queued, waits for it, then closes the connections. */
  close(): Promise<void>;
}

/** Legal Kafka topic name: [a-zA-Z0-9._-], at most 249 characters. */
const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;

interface Pending {
  record: PublishRecord;
  bytes: number;
  /** Shared by all records of one publish call. */
  call: PendingCall;
}

interface PendingCall {
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
}

/** Whether a client error is transient (broker down, timeout, leader moving) rather than a bad request. */
export function isTransientKafkaError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof KafkaUnavailableError) return true;
  return Boolean(
    findErrorBy(error, "code", "PLT_KFK_NETWORK") ||
      findErrorBy(error, "code", "PLT_KFK_TIMEOUT") ||
      findErrorBy(error, "canRetry", true) ||
      /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up/i.test(String(error.message)),
  );
}

function brokerList(brokers: string[]): string[] {
  if (!brokers.length) throw new TypeError("kafka: at least one broker is required");
  return brokers;
}

/**
 * Creates a publisher. Connections are opened lazily on first use; nothing throws here for an
 * unreachable broker.
 */
export function createKafkaPublisher(options: KafkaPublisherOptions): KafkaPublisher {
  const clientId = options.clientId ?? "behavior-tracking";
  const partitions = options.partitions ?? 12;
  const replicationFactor = options.replicationFactor ?? 1;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3600 * 1000;
  const createTopics = options.createTopics ?? true;
  const lingerMs = options.lingerMs ?? 5;
  const maxBatchRecords = options.maxBatchRecords ?? 2000;
  const maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  const compression = options.compression ?? "gzip";

  const connection = {
    clientId,
    bootstrapBrokers: brokerList(options.brokers),
    connectTimeout: connectTimeoutMs,
    requestTimeout: requestTimeoutMs,
    timeout: requestTimeoutMs,
    retries: Math.max(2, options.retries ?? 3),
    retryDelay: options.retryDelayMs ?? 250,
    // Metadata is refreshed on errors anyway; a longer age saves round trips on the hot path.
    metadataMaxAge: 30_000,
    ...(options.sasl ? { sasl: options.sasl as SASLOptions } : {}),
    ...(options.tls ? { tls: options.tls === true ? {} : options.tls } : {}),
  };

  const producer = new Producer({
    ...connection,
    serializers: stringSerializers,
    // idempotent implies acks=all (-1) and one in-flight request per connection in this client;
    // acks is stated explicitly because the client's default without idempotence is acks=1.
    idempotent: true,
    acks: -1,
    compression,
    partitioner: javaCompatiblePartitioner,
    // Topics are created explicitly with our partition count; the broker's auto-create would make 1.
    autocreateTopics: false,
  });
  let admin: Admin | undefined;

  const knownTopics = new Map<string, Promise<void>>();
  const queue: Pending[] = [];
  let queuedBytes = 0;
  let lingerTimer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  let closed = false;
  const counters = { acked: 0, failed: 0, requests: 0 };

  function getAdmin(): Admin {
    admin ??= new Admin({ ...connection, clientId: `${clientId}-admin` });
    return admin;
  }

  async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new KafkaUnavailableError(`kafka: ${what} timed out after ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  function leadersReady(md: ClusterMetadata, topic: string): boolean {
    const t = md.topics.get(topic);
    return !!t && t.partitionsCount > 0 && t.partitions.every((p) => p && p.leader >= 0);
  }

  async function createAndWait(topic: string): Promise<void> {
    if (!TOPIC_RE.test(topic)) throw new RangeError(`kafka: illegal topic name ${JSON.stringify(topic)}`);
    if (createTopics) {
      try {
        await getAdmin().createTopics({
          topics: [topic],
          partitions,
          replicas: replicationFactor,
          configs: [
            { name: "retention.ms", value: String(retentionMs) },
            ...Object.entries(options.topicConfigs ?? {}).map(([name, value]) => ({ name, value })),
          ],
        });
      } catch (error) {
        // Another producer (or an earlier run) created it first: fine, the metadata check below decides.
        if (!findErrorBy(error as Error, "apiId", "TOPIC_ALREADY_EXISTS")) {
          if (isTransientKafkaError(error)) throw new KafkaUnavailableError(`kafka: creating ${topic} failed`, { cause: error });
          throw error;
        }
      }
    }
    // The controller has the topic before every broker's metadata does; wait until all partitions
    // have a leader so the first produce does not bounce off UNKNOWN_TOPIC_OR_PARTITION.
    const deadline = Date.now() + requestTimeoutMs;
    for (;;) {
      try {
        const md = await producer.metadata({ topics: [topic], forceUpdate: true });
        if (leadersReady(md, topic)) return;
      } catch (error) {
        if (!createTopics && findErrorBy(error as Error, "apiId", "UNKNOWN_TOPIC_OR_PARTITION")) {
          throw new Error(`kafka: topic ${topic} does not exist and topic creation is disabled`, { cause: error });
        }
        if (Date.now() > deadline) throw new KafkaUnavailableError(`kafka: no metadata for ${topic}`, { cause: error });
      }
      if (Date.now() > deadline) throw new KafkaUnavailableError(`kafka: partitions of ${topic} have no leader yet`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function ensureTopic(topic: string): Promise<void> {
    let p = knownTopics.get(topic);
    if (!p) {
      p = createAndWait(topic);
      knownTopics.set(topic, p);
      // Forget failures so the next publish tries again (the broker may be back by then).
      p.catch(() => knownTopics.delete(topic));
    }
    return p;
  }

  function settle(call: PendingCall, error?: unknown): void {
    if (call.settled) return;
    if (error !== undefined) {
      call.settled = true;
      call.reject(error);
    } else if (--call.remaining === 0) {
      call.settled = true;
      call.resolve();
    }
  }

  function scheduleSend(): void {
    if (sending || queue.length === 0) return;
    if (queue.length >= maxBatchRecords || queuedBytes >= maxBatchBytes || closed) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
      sending = sendLoop();
      return;
    }
    lingerTimer ??= setTimeout(() => {
      lingerTimer = undefined;
      if (!sending) sending = sendLoop();
    }, lingerMs);
  }

  /** Drains the queue one produce request at a time (max one in flight: keeps per-key order). */
  async function sendLoop(): Promise<void> {
    try {
      while (queue.length) {
        const batch: Pending[] = [];
        let bytes = 0;
        while (queue.length && batch.length < maxBatchRecords && (batch.length === 0 || bytes < maxBatchBytes)) {
          const p = queue.shift()!;
          queuedBytes -= p.bytes;
          // The caller already gave up on these (bounded wait / abort): withdraw them.
          if (p.call.settled) continue;
          batch.push(p);
          bytes += p.bytes;
        }
        if (!batch.length) continue;
        counters.requests++;
        try {
          await producer.send({
            messages: batch.map((p) => ({
              topic: p.record.topic,
              key: p.record.key,
              value: p.record.value,
              headers: p.record.headers ?? {},
            })),
          });
          counters.acked += batch.length;
          for (const p of batch) settle(p.call);
        } catch (error) {
          counters.failed += batch.length;
          const e = isTransientKafkaError(error)
            ? new KafkaUnavailableError(`kafka: produce failed: ${(error as Error).message}`, { cause: error })
            : error;
          for (const p of batch) settle(p.call, e);
        }
      }
    } finally {
      sending = undefined;
      // Records queued while the last request was in flight wait at most one more linger.
      if (queue.length) scheduleSend();
    }
  }

  async function publish(records: readonly PublishRecord[], signal?: AbortSignal): Promise<void> {
    if (closed) throw new Error("kafka: publisher is closed");
    if (records.length === 0) return;
    signal?.throwIfAborted();
    const topics = new Set(records.map((r) => r.topic));
    const abortError = () => new KafkaUnavailableError("kafka: publish aborted (bounded wait elapsed)", { cause: signal?.reason });
    // Topic creation happens before queuing so a batch never contains a topic without leaders.
    const missing = [...topics].map(ensureTopic);
    if (signal) {
      await Promise.race([
        Promise.all(missing),
        new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(abortError()), { once: true })),
      ]);
    } else {
      await Promise.all(missing);
    }
    return new Promise<void>((resolve, reject) => {
      const call: PendingCall = { remaining: records.length, settled: false, resolve, reject, signal };
      if (signal) {
        const onAbort = () => settle(call, abortError());
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
      }
      for (const record of records) {
        const bytes = record.key.length + record.value.length + 64;
        queue.push({ record, bytes, call });
        queuedBytes += bytes;
      }
      scheduleSend();
    });
  }

  async function probe(timeoutMs = requestTimeoutMs): Promise<void> {
    const topics = [...knownTopics.keys()].slice(0, 1);
    await withTimeout(producer.metadata({ topics, forceUpdate: true }), timeoutMs, "metadata probe");
  }

  return {
    publish,
    ensureTopic,
    probe,
    partitionsOf: (topic) => producer.currentMetadata?.topics.get(topic)?.partitionsCount,
    stats: () => ({ ...counters, queued: queue.length }),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(lingerTimer);
      scheduleSend();
      while (sending) await sending;
      await Promise.allSettled([producer.close(true), admin?.close()]);
    },
  };
}
