/**
 * KafkaTracker: the seed's direct-Kafka client for internal services ("Kafka直接接入方式").
 *
 * Events are validated on the client (there is no server in between to do it), filled
 * (event_id, timestamp, tenant_id), normalized to the Kafka message JSON, buffered, and produced
 * to `user-behaviors-{tenant_id}` keyed by user_id with the same idempotent producer, partitioner
 * and topic settings as the server's Kafka sink (sdk/common/kafka-publisher.ts).
 *
 * Sending: natural batching with pipelining. When nothing is in flight, buffered events are sent
 * at once; while batches are in flight, events accumulate and a further batch (at most
 * `maxBatchRecords`, default 2000) is handed to the producer behind them once `bufferSize` are
 * waiting, up to `maxInFlightBatches` (default 4) outstanding. The producer sends them in order,
 * one produce request at a time, merging queued batches into full requests, so a large backlog
 * streams at the broker's pace instead of going out as one huge publish. bufferSize and
 * flushIntervalMs are upper bounds on buffering, no longer the normal trigger.
 *
 * No duplicates from a slow but healthy broker: a batch is never abandoned while in flight. There
 * is no per-publish timeout; each produce request attempt is bounded by `sendTimeoutMs` (the
 * client's request timeout) and retried by the client under the same producer id and sequence
 * numbers, which the broker de-duplicates. Time spent queued behind earlier batches never counts.
 * At-least-once remains only where the client itself gives up on a request the broker may have
 * written (acknowledgement lost on every client retry, or a request spanning several brokers where
 * some acknowledged): our retry or the fallback replay then re-sends it under a new sequence, and
 * consumers de-duplicate by event_id.
 *
 * Failure handling, in order: each buffered batch is retried with exponential backoff; when the
 * retries are exhausted the batch is appended to a local NDJSON fallback queue (fsync'd before the
 * flush reports success to nobody is lost) and replayed later: on the next flush, on a timer, and on
 * start(). While the fallback queue is non-empty, new batches are queued behind it rather than sent
 * past it, so the events of one user stay in order. When a pipelined batch fails, the producer
 * rejects the batches queued behind it without sending them (`rejectQueuedOnFailure`), and they
 * are retried (or spilled) after it, in order.
 */

import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type BehaviorCodec, type CodecViolation, generatedBehaviorCodec } from "../common/behavior-codec.js";
import { newEventId } from "../common/event-id.js";
import {
  createKafkaPublisher,
  isTransientKafkaError,
  type KafkaPublisher,
  type KafkaPublisherOptions,
  type PublishRecord,
} from "../common/kafka-publisher.js";
import { createThreadedKafkaPublisher } from "../common/kafka-publisher-thread.js";

/** Options of {@link KafkaTracker}. Producer settings are those of {@link KafkaPublisherOptions}. */
export interface KafkaTrackerOptions extends Omit<KafkaPublisherOptions, "brokers"> {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Tenant filled into events without tenant_id (topic `user-behaviors-{tenant_id}`). */
  tenantId: string;
  /**
   * Upper bound on buffering. Events are sent as soon as no batch is in flight ("natural
   * batching": what arrives meanwhile goes in the next batch); while batches are in flight, a
   * further batch is handed to the producer (pipelined behind them) once this many events are
   * buffered. Default 100 (the seed's BufferedKafkaTracker).
   */
  bufferSize?: number;
  /** Upper bound on how long events wait, ms; also the fallback replay timer. Default 1000. */
  flushIntervalMs?: number;
  /** Most events per publish call (and per produce request). Default `maxBatchRecords` (2000). */
  maxBatchRecords?: number;
  /** Publish calls of at most `maxBatchRecords` events pipelined at once (in order, one produce request in flight). Default 4. */
  maxInFlightBatches?: number;
  /** Retries of a failed batch before it goes to the fallback queue. Default 3. */
  maxRetries?: number;
  /** First backoff between retries, ms; doubles each retry (with ±20 % jitter). Default 200. */
  backoffMs?: number;
  /**
   * Bound on one produce request attempt, ms (the producer's request timeout unless
   * `requestTimeoutMs` is given). Default 5000. Time spent queued behind earlier batches does not
   * count, and an attempt is never abandoned while in flight: it ends with the broker's answer or
   * the client's own timeout/retries (same producer id and sequence numbers, de-duplicated by the
   * broker), so a large healthy backlog is not mistaken for a failure and a batch is not resent
   * while its first copy may still be written.
   */
  sendTimeoutMs?: number;
  /** Directory of the fallback queue (`kafka-tracker-{tenantId}.ndjson`). Default "./.kafka-fallback". */
  fallbackDir?: string;
  /** Least time between two replay attempts of the fallback queue, ms. Default 2000. */
  replayIntervalMs?: number;
  /** Buffered + in-flight events above which track() waits for flushes (backpressure). Default 100 000. */
  maxPendingEvents?: number;
  /** The validator/codec; defaults to the generated one (gen/validator/recommender/v1/behavior_validator.ts). */
  codec?: BehaviorCodec;
  /**
   * Run the Kafka producer (record encoding, gzip, socket I/O) on a worker thread
   * (sdk/common/kafka-publisher-thread.ts), in parallel with track()'s validation and JSON
   * encoding on the caller's thread. Default true.
   */
  producerThread?: boolean;
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
    super(
      `invalid behavior event: ${violations.map((v) => `${v.field || "(event)"} [${v.rule}] ${v.message}`).join("; ")}`,
    );
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The seed's KafkaTracker with buffering, retries and a durable local fallback queue. */
export class KafkaTracker {
  private readonly options: KafkaTrackerOptions;
  private readonly publisher: KafkaPublisher;
  private codec: BehaviorCodec | undefined;
  /** Buffered events not handed to the producer yet; `bufHead` is the first live one (no O(n) shift). */
  private buffer: PublishRecord[] = [];
  private bufHead = 0;
  private readonly batchRecords: number;
  private readonly maxInFlightBatches: number;
  /** Batches handed to the producer, oldest first; acknowledged strictly in this order. */
  private window: { records: PublishRecord[]; done: Promise<unknown> }[] = [];
  private windowRecords = 0;
  /** True while the worker streams the buffer (new batches may be pipelined from push()). */
  private streaming = false;
  /** The one worker that sends, retries, spills and replays, in order; undefined when idle. */
  private worker: Promise<void> | undefined;
  private kickPending = false;
  private forceReplay = false;
  /** Events pushed so far / events finished (delivered, spilled or dead-lettered) so far, in order. */
  private pushedCount = 0;
  private doneCount = 0;
  private waiters: { target: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
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
    const create = (options.producerThread ?? true) ? createThreadedKafkaPublisher : createKafkaPublisher;
    this.publisher = create({
      ...options,
      clientId: options.clientId ?? `kafka-tracker-${options.tenantId}`,
      requestTimeoutMs: options.requestTimeoutMs ?? options.sendTimeoutMs ?? 5000,
      // Batches are pipelined; a failure must stop the ones queued behind it (retried in order).
      rejectQueuedOnFailure: true,
    });
    this.batchRecords = Math.max(1, options.maxBatchRecords ?? 2000);
    this.maxInFlightBatches = Math.max(1, options.maxInFlightBatches ?? 4);
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
    this.timer = setInterval(() => this.onTimer(), this.options.flushIntervalMs ?? 1000);
    this.timer.unref();
    this.forceReplay = true;
    await this.ensureWorker();
  }

  /**
   * Validates one event ("request" mode of the generated validator), fills event_id, timestamp and
   * tenant_id, and buffers it. Throws {@link KafkaTrackerValidationError} for an invalid event (it
   * is not buffered). Resolves with the event_id once buffered (not yet delivered: see flush()).
   */
  async track(event: Record<string, unknown>): Promise<string> {
    const record = this.prepare(event, "");
    const wait = this.push([record.record]);
    if (wait) await wait;
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
    const wait = this.push(prepared.map((p) => p.record));
    if (wait) await wait;
    return prepared.map((p) => p.eventId);
  }

  /** Sends everything buffered (and due fallback records); resolves when that is acknowledged or spilled. */
  async flush(): Promise<void> {
    const target = this.pushedCount;
    const run = this.ensureWorker();
    if (this.doneCount >= target)
      await run; // nothing buffered: still give a due fallback replay its turn
    else await this.waitDone(target);
  }

  /** Flushes, stops the timer and closes the producer. Events that could not be sent stay in the fallback queue. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    while (this.worker) await this.worker;
    await this.publisher.close();
  }

  /** Counters. */
  stats(): KafkaTrackerStats {
    return { ...this.counters, buffered: this.buffer.length - this.bufHead };
  }

  /** Path of the fallback queue file. */
  get fallbackPath(): string {
    return this.fallbackFile;
  }

  private prepare(input: Record<string, unknown>, path: string): { record: PublishRecord; eventId: string } {
    if (!this.started || !this.codec) throw new Error("KafkaTracker: call start() first");
    if (this.closed) throw new Error("KafkaTracker: closed");
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      throw new KafkaTrackerValidationError(
        [{ field: path, rule: "type", message: "event must be an object", severity: "error" }],
        [],
      );
    }
    // Fill on a copy: the caller's object is not ours to change.
    const event: Record<string, unknown> = { ...input };
    if (event.event_id == null || event.event_id === "") event.event_id = newEventId();
    if (event.timestamp == null) event.timestamp = Date.now();
    if (event.tenant_id == null || event.tenant_id === "") event.tenant_id = this.options.tenantId;
    const violations = this.codec.validate(event, "request");
    const errs = violations.length ? violations.filter((v) => v.severity === "error") : violations;
    if (errs.length) {
      const prefix = (v: CodecViolation) => ({ ...v, field: path ? (v.field ? `${path}.${v.field}` : path) : v.field });
      throw new KafkaTrackerValidationError(
        errs.map(prefix),
        violations.filter((v) => v.severity === "warning").map(prefix),
      );
    }
    const wire = this.codec.normalize(event);
    return {
      eventId: String(wire.event_id),
      record: {
        topic: this.codec.topic(wire),
        key: this.codec.key(wire),
        value: this.codec.encode(wire),
        headers: this.headersFor(this.codec.schemaVersion),
      },
    };
  }

  /** One shared (frozen) headers object per schema version instead of one per event. */
  private headersFor(schemaVersion: string): Record<string, string> {
    if (this.headersCache?.[0] !== schemaVersion)
      this.headersCache = [schemaVersion, Object.freeze({ "schema-version": schemaVersion })];
    return this.headersCache[1];
  }
  private headersCache: [string, Record<string, string>] | undefined;

  /** Buffers the records; returns a promise only when the caller must wait (backpressure). */
  private push(records: PublishRecord[]): Promise<void> | undefined {
    if (this.closed) throw new Error("KafkaTracker: closed");
    this.counters.tracked += records.length;
    for (const r of records) this.buffer.push(r);
    this.pushedCount += records.length;
    if (this.streaming) this.fill();
    else this.kick();
    // Backpressure: when far behind (broker slow or down), make the caller wait for the flushes.
    const maxPending = this.options.maxPendingEvents ?? 100_000;
    if (this.pushedCount - this.doneCount > maxPending) return this.waitDone(this.pushedCount - maxPending);
    return undefined;
  }

  /** Starts the worker after the current turn (tracks of the same turn share a batch). */
  private kick(): void {
    if (this.worker || this.kickPending) return;
    // While older events wait on disk and their replay is not due, new events are spilled behind
    // them in groups (bufferSize or the timer), not one fsync per event.
    if (this.fallbackDirty && this.buffered() < (this.options.bufferSize ?? 100)) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      void this.ensureWorker();
    });
  }

  private ensureWorker(): Promise<void> {
    this.worker ??= this.runWorker()
      .catch((error: unknown) => this.onWorkerError(error))
      .finally(() => {
        this.worker = undefined;
        if (this.buffered() > 0 && !this.closed) this.kick();
      });
    return this.worker;
  }

  /**
   * The worker failed outside a send (e.g. the fallback file could not be written): the events it
   * had taken are neither acknowledged nor on disk. Report it, count them as finished so later
   * flush() calls do not wait for them forever, and reject the flush() calls waiting right now.
   */
  private onWorkerError(error: unknown): void {
    this.options.onError?.(error, "fallback");
    this.streaming = false;
    this.window = [];
    this.windowRecords = 0;
    this.doneCount = Math.max(this.doneCount, this.pushedCount - this.buffered());
    const waiters = this.waiters;
    this.waiters = [];
    // Every waiter now covers the lost events (they were the oldest pending ones).
    for (const w of waiters) w.reject(error);
  }

  private buffered(): number {
    return this.buffer.length - this.bufHead;
  }

  /** Takes up to `n` buffered events, oldest first. */
  private take(n: number): PublishRecord[] {
    const avail = this.buffered();
    let out: PublishRecord[];
    if (this.bufHead === 0 && n >= avail) {
      out = this.buffer;
      this.buffer = [];
    } else {
      const end = this.bufHead + Math.min(n, avail);
      out = this.buffer.slice(this.bufHead, end);
      this.bufHead = end;
      if (this.bufHead === this.buffer.length) {
        this.buffer = [];
        this.bufHead = 0;
      } else if (this.bufHead > 4096 && this.bufHead * 2 > this.buffer.length) {
        this.buffer = this.buffer.slice(this.bufHead);
        this.bufHead = 0;
      }
    }
    return out;
  }

  private finish(n: number): void {
    this.doneCount += n;
    if (!this.waiters.length) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.doneCount >= w.target) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private waitDone(target: number): Promise<void> {
    if (this.doneCount >= target) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ target, resolve, reject }));
  }

  /**
   * Hands buffered events to the producer as batches of at most `batchRecords`: at once when
   * nothing is in flight, else (pipelined, behind the in-flight ones) when `bufferSize` events are
   * waiting; at most `maxInFlightBatches` batches outstanding.
   */
  private fill(): void {
    const size = this.options.bufferSize ?? 100;
    while (
      this.buffered() > 0 &&
      this.window.length < this.maxInFlightBatches &&
      (this.window.length === 0 || this.buffered() >= size)
    ) {
      const records = this.take(this.batchRecords);
      // No per-publish timeout: see sendTimeoutMs. Settles with the client's final answer.
      const done = this.publisher.publish(records).then(
        () => undefined,
        (error: unknown) => error ?? new Error("kafka: produce failed"),
      );
      this.window.push({ records, done });
      this.windowRecords += records.length;
    }
  }

  /** The worker: fallback replay first (order), then stream the buffer; ends when both are empty. */
  private async runWorker(): Promise<void> {
    for (;;) {
      if (this.fallbackDirty) {
        const force = this.forceReplay;
        this.forceReplay = false;
        const fallbackEmpty = await this.replayFallback(force);
        if (!fallbackEmpty) {
          // Older events of the same users are still waiting on disk: queue behind them.
          const n = this.buffered();
          if (n) {
            await this.spill(this.take(n));
            this.finish(n);
          }
          return;
        }
      }
      if (!this.buffered()) return;
      await this.stream();
    }
  }

  /** Sends the buffer in pipelined batches until it is empty or a batch failed (then retried/spilled in order). */
  private async stream(): Promise<void> {
    this.streaming = true;
    try {
      for (;;) {
        this.fill();
        const head = this.window[0];
        if (!head) return;
        const error = await head.done;
        if (error === undefined) {
          this.window.shift();
          this.windowRecords -= head.records.length;
          this.counters.delivered += head.records.length;
          this.finish(head.records.length);
          continue;
        }
        // A batch failed; the producer rejected every batch queued behind it without sending it
        // (rejectQueuedOnFailure). Collect them all, in order, and retry from here.
        this.streaming = false;
        const failed: { records: PublishRecord[]; error: unknown }[] = [];
        for (const b of this.window) {
          const e = await b.done;
          if (e === undefined) {
            // Only possible when one request went to several brokers and some acknowledged.
            this.counters.delivered += b.records.length;
          } else failed.push({ records: b.records, error: e });
        }
        const total = this.windowRecords;
        this.window = [];
        this.windowRecords = 0;
        for (const f of failed) {
          this.counters.failedAttempts++;
          if (this.fallbackDirty) await this.spill(f.records);
          else await this.sendWithRetry(f.records, f.error);
        }
        this.finish(total);
        return;
      }
    } finally {
      this.streaming = false;
    }
  }

  /** Retries a failed batch with backoff (attempt 0 already failed with `firstError`), then spills or dead-letters it. */
  private async sendWithRetry(batch: PublishRecord[], firstError: unknown): Promise<void> {
    const maxRetries = this.options.maxRetries ?? 3;
    const backoff = this.options.backoffMs ?? 200;
    let error = firstError;
    for (let attempt = 0; ; attempt++) {
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
      try {
        await this.send(batch);
        this.counters.delivered += batch.length;
        return;
      } catch (e) {
        this.counters.failedAttempts++;
        error = e;
      }
    }
  }

  private onTimer(): void {
    if (this.closed) return;
    if (this.buffered() || this.fallbackDirty) void this.ensureWorker();
  }

  /** Sends records sequentially in batches of at most `batchRecords`; rejects on the first failure. */
  private async send(records: PublishRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += this.batchRecords) {
      await this.publisher.publish(
        i === 0 && records.length <= this.batchRecords ? records : records.slice(i, i + this.batchRecords),
      );
    }
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
