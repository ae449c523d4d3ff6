/**
 * The one Kafka producing core shared by the server's Kafka sink (server/kafka/kafka-sink.ts) and
 * the direct-Kafka SDK (sdk/kafka/kafka-tracker.ts), so both place, batch and acknowledge records
 * the same way: `user-behaviors-{tenant_id}` topics created on first use, key = user_id,
 * Java-compatible murmur2 partitioning, idempotent producer with acks=all, gzip by default.
 *
 * Delivery model (why it looks like this):
 * - `publish()` resolves only after the broker acknowledged every record (acks=all, i.e. all
 *   in-sync replicas have it). Nothing is reported stored before that.
 * - Natural batching: when no produce request is in flight, queued records are sent at once (after
 *   the current event-loop turn, so publishes of one turn share a request; `lingerMs` can add a
 *   wait, default 0). Records that arrive while a request is in flight all go in the next one as
 *   soon as it returns (up to maxBatchRecords/maxBatchBytes). At low load a publish therefore costs
 *   about one broker round trip; under load batches grow by themselves to what one round trip
 *   accumulates, which is what makes one-request-at-a-time fast.
 * - At most ONE produce request is in flight at a time (Kafka's `max.in.flight=1`), on purpose:
 *   @platformatic/kafka (2.12) forces `maxInflights: 1` per connection for idempotent producers,
 *   assigns sequence numbers when send() is called, and on a final failure resets the producer id
 *   and sequences (`#performSend`), recovering from OUT_OF_ORDER_SEQUENCE/UNKNOWN_PRODUCER_ID by
 *   re-initialising the producer id and resending. It has none of the Java client's in-flight
 *   batch re-sequencing, so with two of our requests outstanding a retried first request could be
 *   written after the second (per-key order broken) or trigger that recovery path. One request at
 *   a time keeps every retry ahead of later records; throughput comes from large batches.
 * - Per-call overhead only: one object and one promise per publish() call (not per record),
 *   records passed to the client as they are (no copy), header strings' UTF-8 bytes cached, one
 *   shared timer for all bounded waits (`timeoutMs`), topic readiness checked synchronously once
 *   known, and small batches gzipped synchronously (see installSmallGzipSync).
 * - Each publish may have a bounded wait (`timeoutMs` or an AbortSignal). Records whose caller
 *   already gave up are withdrawn from the queue if they were not handed to the client yet, so a
 *   caller that was told "failed" does not find them stored later (fewer duplicates on its retry).
 *
 * Duplicates: within one produce request the idempotent producer's internal retries reuse the same
 * producer id and sequence numbers, so the broker de-duplicates them. Across a reported failure the
 * guarantee is at-least-once: if the broker wrote a batch but the acknowledgement was lost (or came
 * after the caller's bounded wait), the caller's retry writes it again under a new sequence, and
 * consumers must de-duplicate by `event_id`. (The KafkaTracker avoids the second case by never
 * abandoning a request in flight: see sdk/kafka/kafka-tracker.ts.)
 */

import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import {
  Admin,
  type ClusterMetadata,
  compressionsAlgorithms,
  findErrorBy,
  Producer,
  type SASLOptions,
  stringSerializers,
} from "@platformatic/kafka";
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
  /**
   * Extra wait for more records before sending when NO produce request is in flight. Default 0:
   * an idle publisher sends at once (after the current event-loop turn, so publishes of the same
   * turn share a request), and records that arrive while a request is in flight go together in the
   * next one as soon as it returns ("natural batching"); under load batches grow by themselves.
   */
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
  /**
   * When a produce request fails, also reject (with KafkaUnavailableError, without sending them)
   * every call queued behind it. Default false. A single-owner publisher that retries in order
   * (the KafkaTracker) sets it, so records queued after a failed batch can never be stored before
   * that batch's retry: per-key order holds across failures while several calls are pipelined.
   */
  rejectQueuedOnFailure?: boolean;
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
   * {@link KafkaUnavailableError} on transient broker trouble or when the signal aborts / `timeoutMs`
   * elapses first (records not yet sent are then withdrawn; records already in flight may still be
   * stored); other errors (invalid topic, record too large, auth) reject as is. Records of one call,
   * and calls in call order, are sent in order.
   */
  publish(records: readonly PublishRecord[], options?: AbortSignal | PublishOptions): Promise<void>;
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

/** One publish() call waiting in the queue or in flight (one object and one promise per call, none per record). */
interface PendingCall {
  records: readonly PublishRecord[];
  /** Index of the first record not yet taken into a produce request. */
  next: number;
  /** Records not yet acknowledged. */
  unacked: number;
  settled: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
  /** performance.now() after which the caller gives up; 0 = no bound. */
  deadline: number;
}

/** What one produce request took from one call. */
interface BatchPart {
  call: PendingCall;
  taken: number;
}

/** Options of one publish() call. */
export interface PublishOptions {
  /** Rejects with KafkaUnavailableError when it aborts first; records not yet sent are withdrawn. */
  signal?: AbortSignal;
  /**
   * Bounded wait, ms: the same as an abort signal firing after `timeoutMs`, without allocating one
   * (one shared timer serves all calls). Counted from the publish() call.
   */
  timeoutMs?: number;
}

const noop = (): void => {};

/** The error of a publish whose bounded wait elapsed or whose signal aborted. */
export function publishAbortedError(cause?: unknown): KafkaUnavailableError {
  return new KafkaUnavailableError(
    "kafka: publish aborted (bounded wait elapsed)",
    cause === undefined ? undefined : { cause },
  );
}

/** The signal and bounded wait of publish()'s second argument (an AbortSignal or PublishOptions). */
export function publishOptionsOf(opts: AbortSignal | PublishOptions | undefined): {
  signal?: AbortSignal;
  timeoutMs?: number;
} {
  if (opts instanceof AbortSignal) return { signal: opts };
  return {
    ...(opts?.signal ? { signal: opts.signal } : {}),
    ...(opts?.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
}

/** Below this many bytes a produce batch is gzipped synchronously (see {@link installSmallGzipSync}). */
export const SYNC_GZIP_MAX_BYTES = 64 * 1024;

let smallGzipSyncInstalled = false;
let syncGzipMaxBytes = SYNC_GZIP_MAX_BYTES;

/**
 * Makes @platformatic/kafka gzip small record batches synchronously.
 *
 * The client's Produce path (createRecordsBatchAsync) compresses every per-partition batch with
 * async `zlib.gzip`: a zlib stream object plus a threadpool round trip per batch. For the small
 * batches of a lightly loaded producer (1–20 records, a few KB) that costs ~250 µs of CPU and two
 * thread wakeups per batch against ~30 µs for `zlib.gzipSync` of the same bytes, and on a busy
 * 2-core host the threadpool hop is what made the produce P99 ~25 ms (measured with
 * bench/kafka/publish-bench.ts: gzip P99 23–32 ms vs 5–6 ms uncompressed at 1K–5K/s).
 * `gzipSync` with the same (default) parameters produces byte-identical output, so only the
 * scheduling changes; batches of SYNC_GZIP_MAX_BYTES or more keep the async path so a large batch
 * (~4 ms to gzip 2000 records) never blocks the event loop. The codec table is a public, mutable
 * export of the client and this swap is process-wide (every producer in the process benefits,
 * decompression is untouched); it is installed once and skipped if the table has another shape.
 * `maxBytes`: sets the threshold (initially SYNC_GZIP_MAX_BYTES); without it the threshold is kept.
 */
export function installSmallGzipSync(maxBytes?: number): void {
  // A thread that only produces (kafka-publisher-worker.ts) passes Infinity: no event loop to keep free.
  if (maxBytes !== undefined) syncGzipMaxBytes = maxBytes;
  if (smallGzipSyncInstalled) return;
  smallGzipSyncInstalled = true;
  const gzip = compressionsAlgorithms.gzip as {
    compress?: (data: Buffer) => Promise<Buffer>;
    compressSync?: (data: Buffer) => Buffer;
  };
  const asyncCompress = gzip?.compress;
  const syncCompress = gzip?.compressSync;
  if (typeof asyncCompress !== "function" || typeof syncCompress !== "function") return;
  const compress = (data: Buffer): Promise<Buffer> =>
    // The client awaits the result and passes a Buffer (DynamicBuffer.buffer); a length check is all it takes.
    data.length < syncGzipMaxBytes ? Promise.resolve(syncCompress(data)) : asyncCompress(data);
  Object.defineProperty(gzip, "compress", { value: compress, writable: true, configurable: true, enumerable: true });
}

/** A string's UTF-8 bytes; a Buffer as it is. */
function utf8OrBuffer(v: string | Buffer | undefined): Buffer | undefined {
  return typeof v === "string" ? Buffer.from(v, "utf8") : v;
}

/** A small string → UTF-8 Buffer cache for header keys/values, which repeat on every record. */
function cachedUtf8(limit: number): (s: string | undefined) => Buffer | undefined {
  const cache = new Map<string, Buffer>();
  return (s) => {
    if (s === undefined || s === null) return undefined;
    if (typeof s !== "string") return s as unknown as Buffer;
    let b = cache.get(s);
    if (!b) {
      b = Buffer.from(s, "utf8");
      if (cache.size >= limit) cache.clear();
      cache.set(s, b);
    }
    return b;
  };
}

/** What went wrong talking to Kafka, in the terms an operator fixes it by. */
export type KafkaErrorKind = "authentication" | "authorization" | "tls" | "network" | "other";

/** The cause of a Kafka client error: its kind and a one-line message naming it. */
export interface KafkaErrorReason {
  kind: KafkaErrorKind;
  message: string;
}

/** node:tls certificate verification codes (the peer's certificate is not trusted or does not match). */
const TLS_CERT_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Every error in a client error's tree (`cause` chains and AggregateError `errors`), depth first. */
function* errorTree(error: unknown, depth = 0): Generator<Error & { code?: unknown; apiId?: unknown }> {
  if (!(error instanceof Error) || depth > 8) return;
  yield error;
  yield* errorTree((error as { cause?: unknown }).cause, depth + 1);
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested)) for (const e of nested) yield* errorTree(e, depth + 1);
}

/**
 * Names the cause of a Kafka client error so an operator can act on it: wrong SASL credentials,
 * missing ACLs, an untrusted broker certificate, a plaintext client on a TLS listener, or the
 * broker being unreachable. The client wraps these several levels deep ("Cannot connect to any
 * broker." → "Connection … failed." → "SASL authentication failed."); this finds the root.
 */
export function kafkaErrorReason(error: unknown): KafkaErrorReason {
  const all = [...errorTree(error)];
  const codeOf = (e: (typeof all)[number]) => (typeof e.code === "string" ? e.code : "");
  const find = (test: (e: (typeof all)[number]) => boolean) => all.find(test);
  if (find((e) => e.apiId === "SASL_AUTHENTICATION_FAILED")) {
    return {
      kind: "authentication",
      message:
        "SASL authentication failed: the broker refused the username or password (check the user, password and mechanism)",
    };
  }
  const denied = find((e) => typeof e.apiId === "string" && e.apiId.endsWith("_AUTHORIZATION_FAILED"));
  if (denied) {
    return {
      kind: "authorization",
      message: `not authorized (${String(denied.apiId)}): this principal's ACLs do not allow it (a tenant may write only user-behaviors-<its id>)`,
    };
  }
  const cert = find((e) => TLS_CERT_CODES.has(codeOf(e)));
  if (cert) {
    return {
      kind: "tls",
      message: `TLS: the broker's certificate is not trusted (${cert.message}); pass its CA with --kafka-ca-file / KAFKA_SSL_CA_FILE`,
    };
  }
  const handshake = find(
    (e) =>
      codeOf(e).startsWith("ERR_SSL_") ||
      codeOf(e).startsWith("ERR_TLS_") ||
      /wrong version number|packet length too long/i.test(e.message),
  );
  if (handshake) {
    return {
      kind: "tls",
      message: `TLS handshake failed (${handshake.message}): is this port a TLS listener and the protocol SSL/SASL_SSL?`,
    };
  }
  const plaintext = find((e) => /requires TLS/i.test(e.message));
  if (plaintext) {
    return {
      kind: "tls",
      message: `${plaintext.message} Use --kafka-security-protocol SASL_SSL (or SSL) for this listener`,
    };
  }
  const sasl = find((e) => codeOf(e) === "PLT_KFK_AUTHENTICATION" || e.apiId === "UNSUPPORTED_SASL_MECHANISM");
  if (sasl) {
    // A plaintext SASL client on a TLS listener: the broker reads the handshake as a bad TLS
    // record and closes the connection before answering.
    if (find((e) => /connection closed/i.test(e.message))) {
      return {
        kind: "tls",
        message: `the broker closed the connection during the SASL handshake (${sasl.message}): the listener probably expects TLS; use --kafka-security-protocol SASL_SSL`,
      };
    }
    return { kind: "authentication", message: `SASL handshake failed: ${sasl.message} (check the SASL mechanism)` };
  }
  const network = find((e) =>
    /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|timed out/i.test(`${codeOf(e)} ${e.message}`),
  );
  if (network) return { kind: "network", message: `broker unreachable: ${network.message}` };
  return { kind: "other", message: error instanceof Error ? error.message : String(error) };
}

/** Whether a client error is transient (broker down, timeout, leader moving) rather than a bad request. */
export function isTransientKafkaError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof KafkaUnavailableError) {
    // A wrapped authorization failure stays permanent: retrying cannot grant an ACL.
    return kafkaErrorReason(error).kind !== "authorization";
  }
  // Missing ACLs are not transient (no retry loop, no spooling as if the broker were down);
  // bad credentials or an untrusted certificate are treated as an outage that an operator fixes.
  const reason = kafkaErrorReason(error);
  if (reason.kind === "authorization") return false;
  if (reason.kind === "authentication" || reason.kind === "tls") return true;
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
  const lingerMs = options.lingerMs ?? 0;
  const maxBatchRecords = options.maxBatchRecords ?? 2000;
  const maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  const compression = options.compression ?? "gzip";
  if (compression === "gzip") installSmallGzipSync();

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
    // Header keys/values repeat on every record ("schema-version", …): their UTF-8 bytes are cached
    // instead of Buffer.from() per record.
    // Keys and values may already be UTF-8 Buffers (the worker-thread publisher hands them over so).
    serializers: {
      ...stringSerializers,
      key: utf8OrBuffer,
      value: utf8OrBuffer,
      headerKey: cachedUtf8(256),
      headerValue: cachedUtf8(1024),
    },
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
  /** Topics whose ensureTopic() resolved: publish() skips the await for them (hot path). */
  const readyTopics = new Set<string>();
  /** FIFO of calls with records not yet taken into a request; `qHead` avoids O(n) shift(). */
  let queue: (PendingCall | undefined)[] = [];
  let qHead = 0;
  let queuedRecords = 0;
  /** FIFO of calls with a deadline, oldest first, for the one shared timeout timer. */
  let timed: (PendingCall | undefined)[] = [];
  let tHead = 0;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let lastDeadline = 0;
  let kickPending = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  let sending = false;
  let idle: (() => void)[] = [];
  let closed = false;
  const counters = { acked: 0, failed: 0, requests: 0 };
  const rejectQueuedOnFailure = options.rejectQueuedOnFailure ?? false;
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
        // Another producer (or an earlier run) created it first, or this principal may write but not
        // create (a tenant whose topic `tracking kafka grant` provisioned): the metadata check decides.
        const exists = findErrorBy(error as Error, "apiId", "TOPIC_ALREADY_EXISTS");
        if (!exists && kafkaErrorReason(error).kind !== "authorization") {
          if (isTransientKafkaError(error))
            throw new KafkaUnavailableError(`kafka: creating ${topic} failed`, { cause: error });
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
        const reason = kafkaErrorReason(error);
        // Not retried until the deadline: waiting cannot grant an ACL.
        if (reason.kind === "authorization") throw new Error(`kafka: ${topic}: ${reason.message}`, { cause: error });
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
      p.then(
        () => readyTopics.add(topic),
        // Forget failures so the next publish tries again (the broker may be back by then).
        () => knownTopics.delete(topic),
      );
    }
    return p;
  }

  const timeoutError = (): KafkaUnavailableError => publishAbortedError();

  function fail(call: PendingCall, error: unknown): void {
    if (call.settled) return;
    call.settled = true;
    call.reject(error);
  }

  /** Expires calls whose deadline passed and re-arms the shared timer for the oldest live one. */
  function onTimeoutTimer(): void {
    timeoutTimer = undefined;
    const now = performance.now();
    while (tHead < timed.length) {
      const c = timed[tHead];
      if (c !== undefined && !c.settled) {
        if (c.deadline > now) break;
        fail(c, timeoutError());
      }
      timed[tHead++] = undefined;
    }
    compactTimed();
    const next = timed[tHead];
    if (next !== undefined) armTimeout(next.deadline - now);
  }

  function armTimeout(ms: number): void {
    timeoutTimer = setTimeout(onTimeoutTimer, Math.max(1, Math.ceil(ms)));
    timeoutTimer.unref();
  }

  function compactTimed(): void {
    if (tHead === timed.length) {
      timed = [];
      tHead = 0;
    } else if (tHead > 1024 && tHead * 2 > timed.length) {
      timed = timed.slice(tHead);
      tHead = 0;
    }
  }

  /** Drops settled calls from the head of the deadline FIFO (keeps it as small as what is pending). */
  function trimTimed(): void {
    while (tHead < timed.length && (timed[tHead]?.settled ?? true)) timed[tHead++] = undefined;
    compactTimed();
  }

  function addDeadline(call: PendingCall, timeoutMs: number): void {
    call.deadline = performance.now() + timeoutMs;
    if (call.deadline >= lastDeadline) {
      // The usual case (one bounded wait for all calls): deadlines arrive in order, one timer serves all.
      lastDeadline = call.deadline;
      timed.push(call);
      if (!timeoutTimer) armTimeout(timeoutMs);
    } else {
      // A shorter bound than an earlier call's: its own timer.
      const t = setTimeout(() => fail(call, timeoutError()), timeoutMs);
      t.unref();
    }
  }

  /** Starts a produce request unless one is in flight (natural batching) or already scheduled. */
  function kick(): void {
    if (sending || kickPending || queuedRecords === 0) return;
    kickPending = true;
    if (lingerMs > 0 && !closed) {
      lingerTimer = setTimeout(startSend, lingerMs);
    } else {
      // After the current turn: publishes made in the same turn share the request.
      setImmediate(startSend);
    }
  }

  function startSend(): void {
    kickPending = false;
    lingerTimer = undefined;
    if (sending) return;
    void sendOne();
  }

  /** Takes up to maxBatchRecords/maxBatchBytes records from the queue, in call order. */
  function takeBatch(messages: PublishRecord[], parts: BatchPart[]): void {
    let bytes = 0;
    while (
      qHead < queue.length &&
      messages.length < maxBatchRecords &&
      (messages.length === 0 || bytes < maxBatchBytes)
    ) {
      const call = queue[qHead];
      if (call === undefined) {
        qHead++;
        continue;
      }
      const n = call.records.length;
      if (call.settled) {
        // The caller already gave up (bounded wait / abort / earlier failure): withdraw what is unsent.
        queuedRecords -= n - call.next;
        queue[qHead++] = undefined;
        continue;
      }
      let taken = 0;
      while (messages.length < maxBatchRecords && (messages.length === 0 || bytes < maxBatchBytes)) {
        const r = call.records[call.next];
        if (r === undefined) break; // all of this call's records are taken
        call.next++;
        bytes += r.key.length + r.value.length + 64;
        messages.push(r);
        taken++;
      }
      queuedRecords -= taken;
      parts.push({ call, taken });
      if (call.next === n) queue[qHead++] = undefined;
    }
    if (qHead === queue.length) {
      queue = [];
      qHead = 0;
    } else if (qHead > 1024 && qHead * 2 > queue.length) {
      queue = queue.slice(qHead);
      qHead = 0;
    }
  }

  /**
   * Sends ONE produce request with what is queued, then, if more arrived meanwhile, schedules the
   * next. At most one request is in flight (see the file comment and the note below).
   */
  async function sendOne(): Promise<void> {
    const messages: PublishRecord[] = [];
    const parts: BatchPart[] = [];
    takeBatch(messages, parts);
    if (!messages.length) {
      settleIdle();
      return;
    }
    sending = true;
    counters.requests++;
    let error: unknown;
    try {
      // PublishRecord has the client's message shape ({topic, key, value, headers}): passed as is, no copy.
      await producer.send({ messages: messages as unknown as Parameters<typeof producer.send>[0]["messages"] });
    } catch (e) {
      error = e === undefined ? new Error("kafka: produce failed") : e;
    }
    if (error === undefined) {
      counters.acked += messages.length;
      for (const { call, taken } of parts) {
        call.unacked -= taken;
        if (call.unacked === 0 && !call.settled) {
          call.settled = true;
          call.resolve();
        }
      }
    } else {
      counters.failed += messages.length;
      const e = isTransientKafkaError(error)
        ? new KafkaUnavailableError(`kafka: produce failed: ${(error as Error).message}`, { cause: error })
        : error;
      for (const { call } of parts) fail(call, e);
      if (rejectQueuedOnFailure) {
        const behind = new KafkaUnavailableError("kafka: not sent, an earlier produce request failed", {
          cause: error,
        });
        for (let i = qHead; i < queue.length; i++) {
          const call = queue[i];
          if (call !== undefined) fail(call, behind);
        }
      }
    }
    trimTimed();
    sending = false;
    if (queuedRecords > 0) {
      // Everything that arrived while this request was in flight goes in the next one, at once.
      if (closed) void sendOne();
      else {
        kickPending = true;
        setImmediate(startSend);
      }
    } else settleIdle();
  }

  function settleIdle(): void {
    if (sending || queuedRecords > 0 || !idle.length) return;
    const waiters = idle;
    idle = [];
    for (const w of waiters) w();
  }

  function enqueue(call: PendingCall): void {
    queue.push(call);
    queuedRecords += call.records.length;
    kick();
  }

  function publish(records: readonly PublishRecord[], opts?: AbortSignal | PublishOptions): Promise<void> {
    if (closed) return Promise.reject(new Error("kafka: publisher is closed"));
    if (records.length === 0) return Promise.resolve();
    const { signal, timeoutMs } = publishOptionsOf(opts);
    if (signal?.aborted) return Promise.reject(publishAbortedError(signal.reason));
    let allReady = true;
    let last = "";
    for (const r of records) {
      if (r.topic !== last) {
        last = r.topic;
        if (!readyTopics.has(last)) {
          allReady = false;
          break;
        }
      }
    }
    const call: PendingCall = {
      records,
      next: 0,
      unacked: records.length,
      settled: false,
      resolve: noop,
      reject: noop,
      deadline: 0,
    };
    const promise = new Promise<void>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
    if (timeoutMs !== undefined) addDeadline(call, timeoutMs);
    if (signal) {
      const onAbort = () => fail(call, publishAbortedError(signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      void promise.then(
        () => signal.removeEventListener("abort", onAbort),
        () => signal.removeEventListener("abort", onAbort),
      );
    }
    if (allReady) {
      enqueue(call);
    } else {
      // Topic creation happens before queuing so a request never contains a topic without leaders.
      Promise.all([...new Set(records.map((r) => r.topic))].map(ensureTopic)).then(
        () => {
          if (call.settled) return;
          if (closed) fail(call, new Error("kafka: publisher is closed"));
          else enqueue(call);
        },
        (error: unknown) => fail(call, error),
      );
    }
    return promise;
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
    stats: () => ({ ...counters, queued: queuedRecords }),
    async close() {
      if (closed) return;
      closed = true;
      if (sending || queuedRecords > 0) {
        await new Promise<void>((r) => {
          idle.push(r);
          if (!sending && !kickPending) void sendOne();
        });
      }
      clearTimeout(lingerTimer);
      clearTimeout(timeoutTimer);
      await Promise.allSettled([producer.close(true), admin?.close()]);
    },
  };
}
