/**
 * The ingestion pipeline every transport shares: validate (generated, compiled) → judge
 * against the tenant's tracking config (compiled when the config changed) → fill
 * event_id/timestamp → encode the seed's Kafka JSON → publish → answer only after the
 * sink made the records durable. REST hands it the parsed body; gRPC and Connect hand it
 * the message converted to the same wire JSON, so the result contract is one.
 */
import {
  type BehaviorEventWire,
  behaviorEventKafka,
  encodeBehaviorEventKafkaJson,
  normalizeBehaviorEvent,
  validateBehaviorEvent,
} from "../../gen/validator/recommender/v1/behavior_validator.js";
import { newEventId } from "../../sdk/common/event-id.js";
import { type Sink, type SinkRecord, SinkUnavailableError, type Violation } from "../contracts.js";

/** Judges an event against tracking configs; scenario problems come back as warnings. */
export interface EventJudge {
  judge(event: BehaviorEventWire): { violations: Violation[]; configVersion?: number | undefined };
}

/** Counters the pipeline feeds (health and /metrics read them). */
export interface IngestCounters {
  /** Events received, valid or not. */
  received(n: number): void;
  /** Events rejected by validation. */
  rejected(n: number): void;
  /** Events accepted with at least one warning. */
  warned(n: number): void;
  /** Events the sink acknowledged. */
  published(n: number): void;
  /** Events the sink failed to take. */
  failed(n: number): void;
}

/** Thrown when an event has errors; carries every violation (errors and warnings). */
export class EventRejectedError extends Error {
  readonly errors: Violation[];
  readonly warnings: Violation[];
  constructor(errors: Violation[], warnings: Violation[]) {
    super(errors.map((v) => `${v.field || "(event)"}: ${v.message}`).join("; "));
    this.name = "EventRejectedError";
    this.errors = errors;
    this.warnings = warnings;
  }
}

/** Result of checking one event without publishing it. */
export interface CheckResult {
  errors: Violation[];
  warnings: Violation[];
  /** Canonical wire form with event_id/timestamp filled; only when there are no errors. */
  event?: BehaviorEventWire;
  /** Version of the tracking config that judged the event (0: its template), if any. */
  configVersion?: number | undefined;
}

/** Outcome of one event in a batch. */
export interface BatchItem {
  index: number;
  eventId: string;
  success: boolean;
  errors: Violation[];
  warnings: Violation[];
  /** Accepted into the local spool (not yet in the broker); only on successful items. */
  spooled?: boolean;
}

/**
 * Watches tracked events as they are judged and stored (the live inspector, server/inspector/).
 * `active` is read once per call: while it is false the pipeline builds nothing for the tap, so
 * an idle tap costs one property read per request.
 */
export interface IngestTap {
  /** Whether anybody watches right now. */
  readonly active: boolean;
  /**
   * One tracked event: `input` as received (event_id/timestamp filled when accepted), its
   * judgement, the transport it came over (HandlerContext.protocolName), whether it was part of
   * a batch, and the sink's failure when an accepted event could not be stored.
   */
  observe(input: unknown, result: CheckResult, transport: string, batch: boolean, sinkError: unknown): void;
}

/** Options of the pipeline. */
export interface PipelineOptions {
  sink: Sink;
  judge: EventJudge;
  counters: IngestCounters;
  /** Watcher of tracked events (the live inspector); none by default. */
  tap?: IngestTap | undefined;
  /** Clock for filled timestamps (tests pin it). */
  now?: () => number;
  /**
   * Most events waiting for the sink's acknowledgement at once. Past it new events are
   * refused with 503 + Retry-After instead of queueing: memory and latency stay bounded when
   * the broker is slower than the offered load, and clients back off. Default 20,000.
   */
  maxInFlightEvents?: number | undefined;
}

const SCHEMA_VERSION = behaviorEventKafka.schemaVersion;

/** The shared ingestion pipeline. */
export class IngestPipeline {
  private readonly sink: Sink;
  private readonly judge: EventJudge;
  private readonly counters: IngestCounters;
  private readonly now: () => number;
  private readonly maxInFlight: number;
  private readonly tap: IngestTap | undefined;
  private inFlight = 0;

  constructor(options: PipelineOptions) {
    this.sink = options.sink;
    this.judge = options.judge;
    this.counters = options.counters;
    this.now = options.now ?? Date.now;
    this.maxInFlight = options.maxInFlightEvents ?? 20_000;
    this.tap = options.tap;
  }

  /** Events currently waiting for the sink. */
  get eventsInFlight(): number {
    return this.inFlight;
  }

  /** Publishes with the in-flight bound; counts the outcome. True when the sink spooled the records. */
  private async publish(records: SinkRecord[]): Promise<boolean> {
    const n = records.length;
    if (this.inFlight + n > this.maxInFlight) {
      this.counters.failed(n);
      throw new SinkUnavailableError(`server overloaded: ${this.inFlight} events are waiting for the sink`, 1);
    }
    this.inFlight += n;
    let receipt: Awaited<ReturnType<Sink["publish"]>>;
    try {
      receipt = await this.sink.publish(records);
    } catch (err) {
      this.counters.failed(n);
      throw err;
    } finally {
      this.inFlight -= n;
    }
    // Spooled events are counted by the spool (tracking_spool_events_total), not as published.
    if (receipt?.spooled) return true;
    this.counters.published(n);
    return false;
  }

  /**
   * Validates and judges one event. `input` is the parsed request JSON and is modified in
   * place (event_id and timestamp are filled) when `fill` is set, so no copy is made.
   */
  check(input: unknown, fill: boolean): CheckResult {
    const all = validateBehaviorEvent(input, "request");
    const errors: Violation[] = [];
    const warnings: Violation[] = [];
    for (const v of all) (v.severity === "error" ? errors : warnings).push(v);
    if (errors.length > 0) return { errors, warnings };
    const raw = input as Record<string, unknown>;
    if (fill) {
      if (raw.event_id == null || raw.event_id === "") raw.event_id = newEventId();
      if (raw.timestamp == null) raw.timestamp = this.now();
    }
    const event = normalizeBehaviorEvent(raw);
    // The validator judged the proto's rules, the judge only what the tenant's config adds: no overlap.
    const judged = this.judge.judge(event);
    for (const v of judged.violations) warnings.push(v);
    return { errors, warnings, event, configVersion: judged.configVersion };
  }

  /** Validation only (the validate RPC): nothing is filled, counted or published. */
  validate(input: unknown): CheckResult {
    return this.check(input, false);
  }

  /**
   * Tracks one event; resolves after the sink acknowledged it (`spooled`: stored in the local
   * spool, not yet in the broker). `transport` names where it came from for the tap
   * (HandlerContext.protocolName).
   */
  async track(input: unknown, transport = ""): Promise<{ eventId: string; warnings: Violation[]; spooled: boolean }> {
    this.counters.received(1);
    const result = this.check(input, true);
    const tap = this.tap?.active === true ? this.tap : undefined;
    if (!result.event) {
      this.counters.rejected(1);
      tap?.observe(input, result, transport, false, undefined);
      throw new EventRejectedError(result.errors, result.warnings);
    }
    if (result.warnings.length > 0) this.counters.warned(1);
    const record = toRecord(result.event, result.configVersion);
    let spooled: boolean;
    if (tap === undefined) spooled = await this.publish([record]);
    else {
      try {
        spooled = await this.publish([record]);
      } catch (err) {
        tap.observe(input, result, transport, false, err);
        throw err;
      }
      tap.observe(input, result, transport, false, undefined);
    }
    return { eventId: result.event.event_id as string, warnings: result.warnings, spooled };
  }

  /**
   * Tracks a batch: invalid events are reported and skipped, the valid ones go to the sink
   * in one publish. When the sink fails, the error propagates and nothing of the batch was
   * acknowledged, so the client retries the whole batch.
   */
  async trackBatch(inputs: readonly unknown[], transport = ""): Promise<BatchItem[]> {
    this.counters.received(inputs.length);
    // Judgements kept for the tap only while somebody watches.
    const watched: CheckResult[] | undefined = this.tap?.active === true ? [] : undefined;
    const items: BatchItem[] = [];
    const records: SinkRecord[] = [];
    let rejected = 0;
    let warned = 0;
    for (let index = 0; index < inputs.length; index++) {
      const result = this.check(inputs[index], true);
      watched?.push(result);
      if (!result.event) {
        rejected++;
        const raw = inputs[index] as { event_id?: unknown } | null;
        const eventId = raw !== null && typeof raw === "object" && typeof raw.event_id === "string" ? raw.event_id : "";
        items.push({ index, eventId, success: false, errors: result.errors, warnings: result.warnings });
        continue;
      }
      if (result.warnings.length > 0) warned++;
      records.push(toRecord(result.event, result.configVersion));
      items.push({
        index,
        eventId: result.event.event_id as string,
        success: true,
        errors: [],
        warnings: result.warnings,
      });
    }
    if (rejected > 0) this.counters.rejected(rejected);
    if (warned > 0) this.counters.warned(warned);
    const markSpooled = (spooled: boolean) => {
      if (spooled) for (const item of items) if (item.success) item.spooled = true;
    };
    if (watched === undefined) {
      if (records.length > 0) markSpooled(await this.publish(records));
      return items;
    }
    let sinkError: unknown;
    try {
      if (records.length > 0) markSpooled(await this.publish(records));
    } catch (err) {
      sinkError = err;
      throw err;
    } finally {
      for (let i = 0; i < watched.length; i++) {
        const result = watched[i]!;
        this.tap?.observe(inputs[i], result, transport, true, result.event ? sinkError : undefined);
      }
    }
    return items;
  }
}

function toRecord(event: BehaviorEventWire, configVersion: number | undefined): SinkRecord {
  return {
    topic: behaviorEventKafka.topic(event),
    key: behaviorEventKafka.key(event),
    value: encodeBehaviorEventKafkaJson(event),
    headers:
      configVersion === undefined
        ? { "schema-version": SCHEMA_VERSION }
        : { "schema-version": SCHEMA_VERSION, "tracking-config-version": String(configVersion) },
  };
}
