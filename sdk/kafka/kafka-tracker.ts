/**
 * KafkaTracker: the seed's direct-Kafka client for internal services ("Kafka直接接入方式").
 *
 * Events are validated on the client (there is no server in between to do it), filled
 * (event_id, timestamp, tenant_id), normalized to the Kafka message JSON, buffered, and produced
 * to `user-behaviors-{tenant_id}` keyed by user_id with the same idempotent producer, partitioner
 * and topic settings as the server's Kafka sink (sdk/common/kafka-publisher.ts).
 *
 * Failure handling, in order: each buffered batch is retried with exponential backoff; when the
 * retries are exhausted the batch is appended to a local NDJSON fallback queue (fsync'd before the
 * flush reports success to nobody is lost) and replayed later: on the next flush, on a timer, and on
 * start(). While the fallback queue is non-empty, new batches are queued behind it rather than sent
 * past it, so the events of one user stay in order.
 */
import { randomFillSync } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  createKafkaPublisher,
  isTransientKafkaError,
  type KafkaPublisher,
  type KafkaPublisherOptions,
  type PublishRecord,
} from "../common/kafka-publisher.js";
import { generatedBehaviorCodec, type BehaviorCodec, type CodecViolation } from "../common/behavior-codec.js";

/** Options of {@link KafkaTracker}. Producer settings are those of {@link KafkaPublisherOptions}. */
export interface KafkaTrackerOptions extends Omit<KafkaPublisherOptions, "brokers"> {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Tenant filled into events without tenant_id (topic `user-behaviors-{tenant_id}`). */
  tenantId: string;
  /** Buffered events that trigger a flush. Default 100 (the seed's BufferedKafkaTracker). */
  bufferSize?: number;
  /** Flush the buffer at least this often, ms. Default 1000. */
  flushIntervalMs?: number;
  /** Retries of a failed batch before it goes to the fallback queue. Default 3. */
  maxRetries?: number;
  /** First backoff between retries, ms; doubles each retry (with ±20 % jitter). Default 200. */
  backoffMs?: number;
  /** Bound on one send attempt, ms. Default 5000. */
  sendTimeoutMs?: number;
  /** Directory of the fallback queue (`kafka-tracker-{tenantId}.ndjson`). Default "./.kafka-fallback". */
  fallbackDir?: string;
  /** Least time between two replay attempts of the fallback queue, ms. Default 2000. */
  replayIntervalMs?: number;
  /** Buffered + in-flight events above which track() waits for flushes (backpressure). Default 100 000. */
  maxPendingEvents?: number;
  /** The validator/codec; defaults to the generated one (gen/validator/recommender/v1/behavior_validator.ts). */
  codec?: BehaviorCodec;
  /** Reports failures that did not throw to a caller (batch moved to fallback, replay failed, …). */
  onError?: (error: unknown, context: "send" | "replay" | "fallback" | "permanent") => void;
}

/** Thrown by track()/trackBatch() for invalid events, before anything is buffered. */
export class KafkaTrackerValidationError extends Error {
  override readonly name = "KafkaTrackerValidationError";
  /** Every error-severity violation (field paths prefixed "events[i]." for trackBatch). */
  readonly violations: CodecViolation[];
  /** Warnings found alongside. */
  readonly warnings: CodecViolation[];
  constructor(violations: CodecViolation[], warnings: CodecViolation[]) {
    super(`invalid behavior event: ${violations.map((v) => `${v.field || "(event)"} [${v.rule}] ${v.message}`).join("; ")}`);
    this.violations = violations;
    this.warnings = warnings;
  }
}

/** Counters for metrics and tests. */
export interface KafkaTrackerStats {
  /** Events accepted by track()/trackBatch(). */
  tracked: number;
  /** Events acknowledged by the broker (including replayed ones). */
  delivered: number;
  /** Send attempts that failed (each retry counts). */
  failedAttempts: number;
  /** Events written to the fallback queue. */
  spilled: number;
  /** Events delivered from the fallback queue. */
  replayed: number;
  /** Events in the buffer right now. */
  buffered: number;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** "evt_" + 16 random hex digits, like the seed's SDKs. */
export function newTrackerEventId(): string {
  const b = randomFillSync(Buffer.allocUnsafe(8));
  let s = "evt_";
  for (const x of b) s += HEX[x];
  return s;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The seed's KafkaTracker with buffering, retries and a durable local fallback queue. */
export class KafkaTracker {
  private readonly options: KafkaTrackerOptions;
  private readonly publisher: KafkaPublisher;
  private codec: BehaviorCodec | undefined;
  private buffer: PublishRecord[] = [];
  /** Flushes run one after another (a promise chain) so batches cannot overtake each other. */
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** A flush queued on the chain but not started yet; it will take whatever is buffered when it starts. */
  private queuedFlush: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private lastReplayAttempt = 0;
  /** Whether the fallback file may have content (checked cheaply before touching the disk). */
  private fallbackDirty = true;
  private readonly fallbackFile: string;
  private readonly deadLetterFile: string;
  private readonly counters = { tracked: 0, delivered: 0, failedAttempts: 0, spilled: 0, replayed: 0 };

  constructor(options: KafkaTrackerOptions) {
    if (!options.tenantId) throw new TypeError("KafkaTracker: tenantId is required");
    this.options = options;
    this.codec = options.codec;
    this.publisher = createKafkaPublisher({ ...options, clientId: options.clientId ?? `kafka-tracker-${options.tenantId}` });
    const dir = options.fallbackDir ?? ".kafka-fallback";
    this.fallbackFile = join(dir, `kafka-tracker-${options.tenantId}.ndjson`);
    this.deadLetterFile = join(dir, `kafka-tracker-${options.tenantId}.rejected.ndjson`);
  }

  /**
   * Loads the validator, creates the tenant topic if the broker is reachable (not required: the
   * tracker works offline into its fallback queue), replays a fallback queue left by an earlier
   * run, and starts the flush timer.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.codec ??= generatedBehaviorCodec;
    await mkdir(this.options.fallbackDir ?? ".kafka-fallback", { recursive: true });
    this.started = true;
    try {
      await this.publisher.ensureTopic(`user-behaviors-${this.options.tenantId}`);
    } catch (error) {
      this.options.onError?.(error, "send");
    }
    this.timer = setInterval(() => void this.onTimer(), this.options.flushIntervalMs ?? 1000);
    this.timer.unref();
    await this.enqueue(async () => {
      await this.replayFallback(true);
    });
  }

  /**
   * Validates one event ("request" mode of the generated validator), fills event_id, timestamp and
   * tenant_id, and buffers it. Throws {@link KafkaTrackerValidationError} for an invalid event (it
   * is not buffered). Resolves with the event_id once buffered (not yet delivered: see flush()).
   */
  async track(event: Record<string, unknown>): Promise<string> {
    const record = this.prepare(event, "");
    await this.push([record.record]);
    return record.eventId;
  }

  /** Validates every event first (all-or-nothing), then buffers them in order; returns their event_ids. */
  async trackBatch(events: readonly Record<string, unknown>[]): Promise<string[]> {
    const prepared: { record: PublishRecord; eventId: string }[] = [];
    const errors: CodecViolation[] = [];
    const warnings: CodecViolation[] = [];
    events.forEach((e, i) => {
      try {
        prepared.push(this.prepare(e, `events[${i}]`));
      } catch (error) {
        if (!(error instanceof KafkaTrackerValidationError)) throw error;
        errors.push(...error.violations);
        warnings.push(...error.warnings);
      }
    });
    if (errors.length) throw new KafkaTrackerValidationError(errors, warnings);
    await this.push(prepared.map((p) => p.record));
    return prepared.map((p) => p.eventId);
  }

  /** Sends everything buffered (and due fallback records); resolves when that is acknowledged or spilled. */
  async flush(): Promise<void> {
    await this.scheduleFlush();
  }

  /** Flushes, stops the timer and closes the producer. Events that could not be sent stay in the fallback queue. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    await this.chain;
    await this.publisher.close();
  }

  /** Counters. */
  stats(): KafkaTrackerStats {
    return { ...this.counters, buffered: this.buffer.length };
  }

  /** Path of the fallback queue file. */
  get fallbackPath(): string {
    return this.fallbackFile;
  }

  private prepare(input: Record<string, unknown>, path: string): { record: PublishRecord; eventId: string } {
    if (!this.started || !this.codec) throw new Error("KafkaTracker: call start() first");
    if (this.closed) throw new Error("KafkaTracker: closed");
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      throw new KafkaTrackerValidationError([{ field: path, rule: "type", message: "event must be an object", severity: "error" }], []);
    }
    // Fill on a copy: the caller's object is not ours to change.
    const event: Record<string, unknown> = { ...input };
    if (event.event_id == null || event.event_id === "") event.event_id = newTrackerEventId();
    if (event.timestamp == null) event.timestamp = Date.now();
    if (event.tenant_id == null || event.tenant_id === "") event.tenant_id = this.options.tenantId;
    const violations = this.codec.validate(event, "request");
    const errs = violations.filter((v) => v.severity === "error");
    if (errs.length) {
      const prefix = (v: CodecViolation) => ({ ...v, field: path ? (v.field ? `${path}.${v.field}` : path) : v.field });
      throw new KafkaTrackerValidationError(errs.map(prefix), violations.filter((v) => v.severity === "warning").map(prefix));
    }
    const wire = this.codec.normalize(event);
    return {
      eventId: String(wire.event_id),
      record: {
        topic: this.codec.topic(wire),
        key: this.codec.key(wire),
        value: this.codec.encode(wire),
        headers: { "schema-version": this.codec.schemaVersion },
      },
    };
  }

  private async push(records: PublishRecord[]): Promise<void> {
    if (this.closed) throw new Error("KafkaTracker: closed");
    this.counters.tracked += records.length;
    for (const r of records) this.buffer.push(r);
    const size = this.options.bufferSize ?? 100;
    if (this.buffer.length >= size) {
      const done = this.scheduleFlush();
      // Backpressure: when far behind (broker slow or down), make the caller wait for the flushes.
      if (this.buffer.length + this.inFlight > (this.options.maxPendingEvents ?? 100_000)) await done;
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step, step);
    // The chain itself never rejects, so a failed step does not stop later flushes.
    this.chain = next.catch(() => {});
    return next;
  }

  /**
   * Queues at most one not-yet-started flush: timers and size triggers that fire while the broker
   * is slow or down join it instead of piling up flushes on the chain.
   */
  private scheduleFlush(): Promise<void> {
    this.queuedFlush ??= this.enqueue(async () => {
      this.queuedFlush = undefined;
      await this.flushOnce();
    });
    return this.queuedFlush;
  }

  private async onTimer(): Promise<void> {
    if (this.closed) return;
    if (this.buffer.length || this.fallbackDirty) await this.scheduleFlush().catch(() => {});
  }

  /** Takes the whole buffer as one batch: replays the fallback first (order), then sends or spills. */
  private async flushOnce(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    this.inFlight += batch.length;
    try {
      const fallbackEmpty = await this.replayFallback(false);
      if (!batch.length) return;
      if (!fallbackEmpty) {
        // Older events of the same users are still waiting on disk: queue behind them.
        await this.spill(batch);
        return;
      }
      await this.sendWithRetry(batch);
    } finally {
      this.inFlight -= batch.length;
    }
  }

  private async sendWithRetry(batch: PublishRecord[]): Promise<void> {
    const maxRetries = this.options.maxRetries ?? 3;
    const backoff = this.options.backoffMs ?? 200;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.send(batch);
        this.counters.delivered += batch.length;
        return;
      } catch (error) {
        this.counters.failedAttempts++;
        if (!isTransientKafkaError(error)) {
          // Retrying or replaying cannot fix it (e.g. record too large): dead-letter, don't block the queue.
          this.options.onError?.(error, "permanent");
          await this.appendLines(this.deadLetterFile, batch);
          return;
        }
        if (attempt >= maxRetries) {
          this.options.onError?.(error, "fallback");
          await this.spill(batch);
          return;
        }
        const delay = backoff * 2 ** attempt;
        await sleep(delay * (0.8 + Math.random() * 0.4));
      }
    }
  }

  private async send(records: PublishRecord[]): Promise<void> {
    const signal = AbortSignal.timeout(this.options.sendTimeoutMs ?? 5000);
    await this.publisher.publish(records, signal);
  }

  private async spill(batch: PublishRecord[]): Promise<void> {
    await this.appendLines(this.fallbackFile, batch);
    this.counters.spilled += batch.length;
    this.fallbackDirty = true;
  }

  /** Appends NDJSON lines and fsyncs before returning, so a crash right after loses nothing. */
  private async appendLines(file: string, records: PublishRecord[]): Promise<void> {
    const fh = await open(file, "a");
    try {
      await fh.writeFile(records.map((r) => JSON.stringify(r) + "\n").join(""));
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Sends the fallback queue's records in order (chunks of up to 1000). Returns true when the
   * queue is (now) empty. `force` ignores the replay interval. Records are removed from the file
   * only after the broker acknowledged them; a crash between the two re-sends them (at-least-once).
   */
  private async replayFallback(force: boolean): Promise<boolean> {
    if (!this.fallbackDirty) return true;
    const interval = this.options.replayIntervalMs ?? 2000;
    if (!force && Date.now() - this.lastReplayAttempt < interval) return false;
    try {
      return await this.replayFallbackNow();
    } finally {
      // Measured from the end of an attempt: a failing attempt (broker down) takes up to sendTimeoutMs.
      this.lastReplayAttempt = Date.now();
    }
  }

  private async replayFallbackNow(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.fallbackFile, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        this.fallbackDirty = false;
        return true;
      }
      throw error;
    }
    const records: PublishRecord[] = [];
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as PublishRecord);
      } catch (error) {
        // A torn last line from a crash mid-append: it was never acknowledged to anyone; skip it.
        this.options.onError?.(error, "replay");
      }
    }
    let sent = 0;
    try {
      while (sent < records.length) {
        const chunk = records.slice(sent, sent + 1000);
        await this.send(chunk);
        sent += chunk.length;
        this.counters.delivered += chunk.length;
        this.counters.replayed += chunk.length;
      }
    } catch (error) {
      this.options.onError?.(error, "replay");
    }
    if (sent === records.length) {
      await rm(this.fallbackFile, { force: true });
      this.fallbackDirty = false;
      return true;
    }
    if (sent > 0) {
      // Keep only what is still undelivered: write a new file, fsync, then atomically replace.
      const tmp = `${this.fallbackFile}.tmp`;
      await rm(tmp, { force: true });
      await this.appendLines(tmp, records.slice(sent));
      await rename(tmp, this.fallbackFile);
    }
    return false;
  }
}
