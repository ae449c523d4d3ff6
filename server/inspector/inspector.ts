/**
 * The live inspector's memory (Snowplow Micro-like): the last events of each tenant as the
 * ingestion pipeline judged them (good / warned / rejected, with their violations), pushed to
 * the watching pages over Server-Sent Events.
 *
 * Memory is bounded: `eventsPerTenant` events for each of at most `maxTenants` tenants (the
 * tenant with the oldest latest event is dropped first), each event's JSON cut at
 * `maxEventBytes`; a watcher that does not read its stream is disconnected once
 * `maxClientBufferBytes` are queued for it (the browser reconnects and gets a fresh snapshot).
 *
 * Recording costs nothing while nobody watches: the pipeline reads `active` once per request
 * and builds nothing when it is false. It turns on with the first SSE watcher and off `lingerMs`
 * after the last one left (a page reload keeps its history), unless `recordAlways` is set.
 */
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { Violation } from "../contracts.js";
import type { CheckResult, IngestTap } from "../ingest/pipeline.js";

/** How the pipeline judged an event. */
export type InspectedStatus = "good" | "warned" | "rejected";

/** One event as the inspector shows it (the SSE `event` payload and the items of /inspector/api/events). */
export interface InspectedEvent {
  /** Increasing number of the event in this server process. */
  seq: number;
  /** When the server judged it, ms since the epoch. */
  receivedAt: number;
  /** tenant_id as sent ("" when missing or not a string). */
  tenant: string;
  /** scenario_id as sent ("" when missing). */
  scenario: string;
  /** action_type as sent ("" when missing). */
  action: string;
  /** The event_id (filled by the server when the client sent none and the event was accepted). */
  eventId: string;
  status: InspectedStatus;
  /** Transport it came over: rest, connect, grpc, grpc-web. */
  transport: string;
  /** Whether it was an item of a batch. */
  batch: boolean;
  /** Errors (rejected) and warnings, as the API answered them. */
  violations: Violation[];
  /** Version of the tenant's tracking config that judged it (0: its template), null when none. */
  configVersion: number | null;
  /** Why an accepted event was not stored (the sink failed: 503), null when it was or it was rejected. */
  sinkError: string | null;
  /** The event's JSON as received (with the filled event_id/timestamp), cut at maxEventBytes. */
  json: string;
  /** Whether `json` was cut. */
  truncated: boolean;
}

/** Sizes and behaviour of the inspector. */
export interface InspectorOptions {
  /** Events kept per tenant (ring buffer). Default 200. */
  eventsPerTenant?: number | undefined;
  /** Tenants kept; the one whose latest event is oldest is dropped first. Default 50. */
  maxTenants?: number | undefined;
  /** Longest event JSON kept, bytes (UTF-16 code units); longer ones are cut. Default 8 KiB. */
  maxEventBytes?: number | undefined;
  /** How long recording stays on after the last watcher left, ms. Default 5 minutes. */
  lingerMs?: number | undefined;
  /** Record even while nobody watches (costs a JSON copy per event). Default false. */
  recordAlways?: boolean | undefined;
  /** Most bytes queued for one SSE watcher before it is disconnected. Default 8 MiB. */
  maxClientBufferBytes?: number | undefined;
  /** How long events are gathered before they are written to the watchers, ms. Default 50. */
  flushMs?: number | undefined;
  /** Interval of the comment line keeping quiet streams alive through proxies and idle timeouts, ms. Default 15 s. */
  heartbeatMs?: number | undefined;
}

type SseResponse = ServerResponse | Http2ServerResponse;

/** Facts the page shows about the inspector (part of the SSE `snapshot`). */
export interface InspectorInfo {
  eventsPerTenant: number;
  maxTenants: number;
  maxEventBytes: number;
  recordAlways: boolean;
  lingerMs: number;
}

const MAX_FIELD = 200;

function text(v: unknown): string {
  return typeof v === "string" ? v.slice(0, MAX_FIELD) : "";
}

/** The inspector: an IngestTap for the pipeline plus the SSE fan-out. */
export class Inspector implements IngestTap {
  /** Read by the pipeline on every request: keep it a plain field. */
  active: boolean;
  readonly info: InspectorInfo;
  private readonly rings = new Map<string, InspectedEvent[]>();
  private readonly clients = new Set<SseResponse>();
  private readonly maxClientBuffer: number;
  private readonly flushMs: number;
  private seq = 0;
  private pending: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly heartbeatMs: number;
  private closed = false;

  constructor(options: InspectorOptions = {}) {
    this.info = {
      eventsPerTenant: options.eventsPerTenant ?? 200,
      maxTenants: options.maxTenants ?? 50,
      maxEventBytes: options.maxEventBytes ?? 8 * 1024,
      recordAlways: options.recordAlways ?? false,
      lingerMs: options.lingerMs ?? 5 * 60_000,
    };
    this.maxClientBuffer = options.maxClientBufferBytes ?? 8 * 1024 * 1024;
    this.flushMs = options.flushMs ?? 50;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.active = this.info.recordAlways;
  }

  /** Number of connected SSE watchers. */
  get watchers(): number {
    return this.clients.size;
  }

  /** IngestTap: records one judged event and queues it for the watchers. */
  observe(input: unknown, result: CheckResult, transport: string, batch: boolean, sinkError: unknown): void {
    const raw = input !== null && typeof input === "object" ? (input as Record<string, unknown>) : {};
    let json: string;
    try {
      json = JSON.stringify(input) ?? String(input);
    } catch {
      json = String(input);
    }
    const max = this.info.maxEventBytes;
    const truncated = json.length > max;
    const rejected = result.event === undefined;
    const event: InspectedEvent = {
      seq: ++this.seq,
      receivedAt: Date.now(),
      tenant: text(raw.tenant_id),
      scenario: text(raw.scenario_id),
      action: text(raw.action_type),
      eventId: text(raw.event_id),
      status: rejected ? "rejected" : result.warnings.length > 0 ? "warned" : "good",
      transport,
      batch,
      violations: rejected ? [...result.errors, ...result.warnings] : result.warnings,
      configVersion: result.configVersion ?? null,
      sinkError: sinkError === undefined ? null : sinkError instanceof Error ? sinkError.message : String(sinkError),
      json: truncated ? json.slice(0, max) : json,
      truncated,
    };
    this.keep(event);
    if (this.clients.size > 0) {
      this.pending.push(`event: event\ndata: ${JSON.stringify(event)}\n\n`);
      this.flushTimer ??= setTimeout(() => this.flush(), this.flushMs);
    }
  }

  private keep(event: InspectedEvent): void {
    let ring = this.rings.get(event.tenant);
    if (ring === undefined) {
      ring = [];
      if (this.rings.size >= this.info.maxTenants) {
        // Map order is the order of last use (re-inserted below on every event): the first is the stalest.
        const stalest = this.rings.keys().next().value;
        if (stalest !== undefined) this.rings.delete(stalest);
      }
    } else this.rings.delete(event.tenant);
    this.rings.set(event.tenant, ring);
    ring.push(event);
    if (ring.length > this.info.eventsPerTenant) ring.shift();
  }

  /** Every kept event, oldest first. */
  list(): InspectedEvent[] {
    const all: InspectedEvent[] = [];
    for (const ring of this.rings.values()) all.push(...ring);
    return all.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets every kept event and tells the watchers. */
  reset(): void {
    this.rings.clear();
    this.pending = [];
    this.broadcast("event: reset\ndata: {}\n\n");
  }

  /**
   * Turns `res` into an SSE stream: a `snapshot` of the kept events and the inspector's facts,
   * then an `event` per judged event and `reset` when somebody resets.
   */
  subscribe(stream: SseResponse): void {
    const res = stream as ServerResponse;
    if (this.closed) {
      res.writeHead(503, { "content-type": "text/plain" });
      res.end("server shutting down");
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // Proxies (nginx) would otherwise hold the stream back.
      "x-accel-buffering": "no",
    });
    this.clients.add(res);
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.active = true;
    if (this.heartbeat === undefined) {
      this.heartbeat = setInterval(() => this.broadcast(": keep-alive\n\n"), this.heartbeatMs);
      this.heartbeat.unref();
    }
    const drop = () => this.unsubscribe(res);
    res.once("close", drop);
    res.once("error", drop);
    const snapshot = { info: this.info, events: this.list() };
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  }

  private unsubscribe(res: SseResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0 && this.heartbeat !== undefined) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
    if (this.clients.size > 0 || this.info.recordAlways || this.closed) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.clients.size === 0) this.active = false;
    }, this.info.lingerMs);
    this.lingerTimer.unref();
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const chunk = this.pending.join("");
    this.pending = [];
    this.broadcast(chunk);
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients) {
      // A watcher that does not read (a stalled tab) is cut off rather than buffered without bound.
      if (res.writableLength > this.maxClientBuffer) {
        this.unsubscribe(res);
        res.destroy();
        continue;
      }
      (res as ServerResponse).write(chunk);
    }
  }

  /**
   * Ends every SSE stream but keeps the inspector open: the pages reconnect (the stream's
   * `retry: 2000`) and are let in again only if their key is still an admin key. Called when the
   * keys are reloaded, so a revoked key does not keep watching through a stream it opened before.
   */
  disconnectWatchers(): void {
    for (const res of [...this.clients]) {
      this.unsubscribe(res);
      res.end();
    }
  }

  /** Ends every SSE stream (server shutdown: open streams would hold the graceful close). */
  close(): void {
    this.closed = true;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.flushTimer = this.lingerTimer = this.heartbeat = undefined;
    this.active = false;
    for (const res of [...this.clients]) {
      this.clients.delete(res);
      res.end();
    }
  }
}
