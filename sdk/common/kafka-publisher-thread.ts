/**
 * The Kafka publisher (kafka-publisher.ts) run on its own worker thread, behind the same
 * {@link KafkaPublisher} interface.
 *
 * Why: producing is CPU work — record-batch encoding, CRC32C, gzip, socket writes, response
 * parsing — that otherwise shares one event loop with whatever feeds it (HTTP parsing and
 * validation in the server, validation and JSON encoding in the KafkaTracker). Profiles of the
 * benchmark put it at about a third of the server's busy main thread. On its own thread it runs in
 * parallel with that work; the main thread only copies strings into one message per event-loop turn.
 *
 * How: publish() calls of one turn are gathered and posted as ONE message of flat arrays (topics,
 * keys, values, header-set indexes: strings are cheap to clone, objects per record are not). The
 * worker replays them as the same publish() calls, in the same order, on a normal publisher, so
 * natural batching, ordering, bounded waits (`timeoutMs` is counted from the main-thread call)
 * and `rejectQueuedOnFailure` behave exactly as they do in-thread. Settlements come back batched
 * per worker turn. Errors are rebuilt on this side: KafkaUnavailableError stays one (so callers'
 * transient/permanent decisions are unchanged), other errors keep their name and message.
 *
 * The worker is referenced only while calls are pending, so an idle publisher never keeps a
 * process alive, and a pending publish always does. If the worker dies, pending calls reject with
 * KafkaUnavailableError and the next call starts a new one.
 */
import { Worker } from "node:worker_threads";
import {
  type KafkaPublisher,
  type KafkaPublisherOptions,
  type KafkaPublisherStats,
  KafkaUnavailableError,
  type PublishOptions,
  type PublishRecord,
  publishAbortedError,
  publishOptionsOf,
} from "./kafka-publisher.js";

/** A serialisable error: KafkaUnavailableError is marked so it can be rebuilt as one. */
export interface WireError {
  unavailable: boolean;
  name: string;
  message: string;
}

/** Main → worker messages. */
export type ToWorker =
  | {
      t: "publish";
      /** Per call: id, record count, remaining bounded wait in ms (-1 = none). */
      ids: number[];
      /** Ids of the calls that have an AbortSignal (the worker may get an "abort" for them). */
      abortable: number[];
      counts: number[];
      timeouts: number[];
      /** Per record. */
      topics: string[];
      /**
       * Keys and values, UTF-8, back to back in one transferred buffer (no copy to the worker, no
       * string decoding there, no UTF-8 encoding by the Kafka client); `ends[2i]` / `ends[2i+1]`
       * are the end offsets of record i's key / value.
       */
      bytes: ArrayBuffer;
      ends: Int32Array;
      /** Per record: index into `headerSets`, -1 = no headers. */
      headerIdx: number[];
      headerSets: Record<string, string>[];
    }
  | { t: "abort"; id: number }
  | { t: "ensureTopic"; id: number; topic: string }
  | { t: "probe"; id: number; timeoutMs: number | undefined }
  | { t: "close"; id: number };

/** Worker → main messages. */
export type FromWorker =
  | {
      t: "settled";
      ok: number[];
      failed: { id: number; error: WireError }[];
      stats: KafkaPublisherStats;
      partitions: [string, number][];
    }
  | { t: "done"; id: number; error?: WireError; partitions?: [string, number][] };

/** What the worker needs to build its publisher. */
export interface WorkerInit {
  kind: "kafka-publisher";
  options: KafkaPublisherOptions;
}

interface Pending {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * `list[i]` of the message's parallel arrays (per call, per record), whose lengths the message
 * format ties together; a malformed message throws instead of reading undefined.
 */
export function at<T>(list: ArrayLike<T>, i: number): T {
  const v = list[i];
  if (v === undefined)
    throw new RangeError(`kafka publisher thread: malformed message (no entry ${i} of ${list.length})`);
  return v;
}

/** Rebuilds an error posted by the worker. */
export function fromWireError(e: WireError): Error {
  if (e.unavailable) return new KafkaUnavailableError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/**
 * Writes keys[i] and values[i] as UTF-8, back to back, into one dedicated ArrayBuffer (so it can
 * be transferred) and returns it with the end offset of every key and value.
 */
export function packUtf8(keys: readonly string[], values: readonly string[]): { bytes: ArrayBuffer; ends: Int32Array } {
  if (keys.length !== values.length) throw new RangeError("packUtf8: keys and values differ in length");
  let chars = 0;
  for (let i = 0; i < keys.length; i++) chars += at(keys, i).length + at(values, i).length;
  // ASCII-heavy JSON: a little over one byte per UTF-16 unit; grown when a string might not fit.
  let buf = Buffer.allocUnsafeSlow(chars + (chars >> 2) + 64);
  const ends = new Int32Array(keys.length * 2);
  let off = 0;
  const put = (s: string): void => {
    if (buf.length - off < s.length * 3) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, off + s.length * 3));
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    }
    off += buf.write(s, off, "utf8");
  };
  for (let i = 0; i < keys.length; i++) {
    put(at(keys, i));
    ends[2 * i] = off;
    put(at(values, i));
    ends[2 * i + 1] = off;
  }
  return { bytes: buf.buffer as ArrayBuffer, ends };
}

/** Every KafkaPublisherOptions key: callers pass wider objects (sink and tracker options with callbacks). */
const PUBLISHER_OPTION_KEYS = [
  "brokers",
  "clientId",
  "compression",
  "partitions",
  "replicationFactor",
  "retentionMs",
  "createTopics",
  "topicConfigs",
  "lingerMs",
  "maxBatchRecords",
  "maxBatchBytes",
  "requestTimeoutMs",
  "connectTimeoutMs",
  "retries",
  "retryDelayMs",
  "rejectQueuedOnFailure",
  "sasl",
  "tls",
] as const satisfies readonly (keyof KafkaPublisherOptions)[];
// Compile-time completeness: a new publisher option that is not listed above fails type-checking here.
const allPublisherOptionsListed: [
  Exclude<keyof KafkaPublisherOptions, (typeof PUBLISHER_OPTION_KEYS)[number]>,
] extends [never]
  ? true
  : false = true;
void allPublisherOptionsListed;

/**
 * The publisher's own options out of a wider object, as data that can cross to the worker
 * (TLS options must be plain data there: CA/cert/key strings or Buffers, no callbacks).
 */
function publisherOptionsOnly(options: KafkaPublisherOptions): KafkaPublisherOptions {
  const out: Record<string, unknown> = {};
  for (const k of PUBLISHER_OPTION_KEYS) if (options[k] !== undefined) out[k] = options[k];
  return out as unknown as KafkaPublisherOptions;
}

/** Flags taking a value that a worker must keep: module loaders, resolution conditions, CPU profiling. */
const LOADER_FLAGS = new Set([
  "--import",
  "--require",
  "-r",
  "--loader",
  "--experimental-loader",
  "--conditions",
  "-C",
  "--cpu-prof-dir",
  "--cpu-prof-interval",
]);
/** Value-less flags a worker keeps: `--cpu-prof` so a profiled process profiles its producer thread too. */
const KEPT_SWITCHES = new Set(["--cpu-prof", "--enable-source-maps"]);

/**
 * The worker entry next to this file (.ts under tsx/vitest, .js once compiled) and its execArgv:
 * only the parent's loader and CPU-profiling flags (a worker rejects per-process flags such as
 * --max-semi-space-size or --input-type), plus tsx when a .ts entry needs it.
 */
export function workerEntry(
  parentExecArgv: readonly string[] = process.execArgv,
  moduleUrl: string = import.meta.url,
): { url: URL; execArgv: string[] } {
  const ts = moduleUrl.endsWith(".ts");
  const url = new URL(ts ? "./kafka-publisher-worker.ts" : "./kafka-publisher-worker.js", moduleUrl);
  const execArgv: string[] = [];
  const args = parentExecArgv[Symbol.iterator]();
  for (let next = args.next(); !next.done; next = args.next()) {
    const a = next.value;
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (KEPT_SWITCHES.has(a)) {
      execArgv.push(a);
      continue;
    }
    if (!LOADER_FLAGS.has(name)) continue;
    if (eq > 0) execArgv.push(a);
    else {
      const value = args.next();
      if (!value.done) execArgv.push(a, value.value);
    }
  }
  if (ts && !execArgv.some((a) => /(^|[=/\\])tsx([/\\]|$)/.test(a) || a === "tsx")) execArgv.push("--import", "tsx");
  return { url, execArgv };
}

/** publish() calls gathered during one event-loop turn, in the shape the worker message needs. */
interface Batch {
  ids: number[];
  abortable: number[];
  counts: number[];
  timeouts: number[];
  /** performance.now() of each call with a bounded wait (0 without). */
  starts: number[];
  topics: string[];
  keys: string[];
  values: string[];
  headerIdx: number[];
  headerSets: Record<string, string>[];
  headerSetIndex: Map<Record<string, string>, number>;
}

function emptyBatch(): Batch {
  return {
    ids: [],
    abortable: [],
    counts: [],
    timeouts: [],
    starts: [],
    topics: [],
    keys: [],
    values: [],
    headerIdx: [],
    headerSets: [],
    headerSetIndex: new Map(),
  };
}

/**
 * Creates a publisher whose producer runs on a worker thread. Same options, guarantees and
 * interface as {@link createKafkaPublisher}; `partitionsOf` answers from what the worker reported
 * (known after ensureTopic or the first publish to a topic).
 */
export function createThreadedKafkaPublisher(options: KafkaPublisherOptions): KafkaPublisher {
  if (!options.brokers?.length) throw new TypeError("kafka: at least one broker is required");
  const init: WorkerInit = { kind: "kafka-publisher", options: publisherOptionsOnly(options) };
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const partitions = new Map<string, number>();
  let stats: KafkaPublisherStats = { acked: 0, failed: 0, requests: 0, queued: 0 };
  let closed = false;
  let closing: Promise<void> | undefined;

  /** The calls gathered this turn. */
  let batch = emptyBatch();
  let flushScheduled = false;

  function start(): Worker {
    if (worker) return worker;
    const entry = workerEntry();
    const w = new Worker(entry.url, { workerData: init, execArgv: entry.execArgv });
    w.on("message", onMessage);
    w.on("error", (e: unknown) => onGone(w, e instanceof Error ? e : new Error(String(e))));
    w.on("exit", (code) => onGone(w, new Error(`kafka publisher thread exited with code ${code}`)));
    w.unref();
    worker = w;
    return w;
  }

  function onGone(w: Worker, cause: Error): void {
    if (worker !== w) return;
    worker = undefined;
    // Calls gathered for the next message are rejected below: they must not reach a new worker.
    batch = emptyBatch();
    const error = new KafkaUnavailableError(`kafka: publisher thread stopped: ${cause.message}`, { cause });
    const all = [...pending.values()];
    pending.clear();
    for (const p of all) p.reject(error);
  }

  function track(p: Pending): number {
    const id = nextId++;
    if (pending.size === 0) start().ref();
    pending.set(id, p);
    return id;
  }

  function settle(id: number, error?: unknown): void {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (pending.size === 0) worker?.unref();
    if (error === undefined) p.resolve();
    else p.reject(error);
  }

  function onMessage(m: FromWorker): void {
    if (m.t === "settled") {
      stats = m.stats;
      for (const [t, n] of m.partitions) partitions.set(t, n);
      for (const id of m.ok) settle(id);
      for (const f of m.failed) settle(f.id, fromWireError(f.error));
    } else {
      for (const [t, n] of m.partitions ?? []) partitions.set(t, n);
      settle(m.id, m.error ? fromWireError(m.error) : undefined);
    }
  }

  function flush(): void {
    flushScheduled = false;
    if (batch.ids.length === 0) return;
    const b = batch;
    batch = emptyBatch();
    const now = performance.now();
    b.timeouts.forEach((t, i) => {
      // The bounded wait counts from the caller's publish(), not from when the worker sees it.
      if (t >= 0) b.timeouts[i] = Math.max(1, t - (now - at(b.starts, i)));
    });
    const { bytes, ends } = packUtf8(b.keys, b.values);
    const msg: ToWorker = {
      t: "publish",
      ids: b.ids,
      abortable: b.abortable,
      counts: b.counts,
      timeouts: b.timeouts,
      topics: b.topics,
      bytes,
      ends,
      headerIdx: b.headerIdx,
      headerSets: b.headerSets,
    };
    start().postMessage(msg, [bytes, ends.buffer as ArrayBuffer]);
  }

  function publish(records: readonly PublishRecord[], opts?: AbortSignal | PublishOptions): Promise<void> {
    if (closed) return Promise.reject(new Error("kafka: publisher is closed"));
    if (records.length === 0) return Promise.resolve();
    const { signal, timeoutMs } = publishOptionsOf(opts);
    if (signal?.aborted) return Promise.reject(publishAbortedError(signal.reason));
    let id = 0;
    const promise = new Promise<void>((resolve, reject) => {
      id = track({ resolve, reject });
    });
    const b = batch;
    b.ids.push(id);
    b.counts.push(records.length);
    b.timeouts.push(timeoutMs ?? -1);
    b.starts.push(timeoutMs === undefined ? 0 : performance.now());
    for (const r of records) {
      b.topics.push(r.topic);
      b.keys.push(r.key);
      b.values.push(r.value);
      const h = r.headers;
      if (h === undefined) b.headerIdx.push(-1);
      else {
        // Callers share one headers object across records (schema version): sent once per message.
        let k = b.headerSetIndex.get(h);
        if (k === undefined) {
          k = b.headerSets.push(h) - 1;
          b.headerSetIndex.set(h, k);
        }
        b.headerIdx.push(k);
      }
    }
    if (signal) {
      b.abortable.push(id);
      const onAbort = () => {
        // Post the gathered calls first, so the worker knows this one when the abort arrives.
        flush();
        worker?.postMessage({ t: "abort", id } satisfies ToWorker);
        settle(id, publishAbortedError(signal.reason));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      void promise.then(
        () => signal.removeEventListener("abort", onAbort),
        () => signal.removeEventListener("abort", onAbort),
      );
    }
    if (!flushScheduled) {
      flushScheduled = true;
      // After this turn: the publishes of one turn (e.g. one socket read's requests) share a message.
      setImmediate(flush);
    }
    return promise;
  }

  function request(make: (id: number) => ToWorker): Promise<void> {
    if (closed) return Promise.reject(new Error("kafka: publisher is closed"));
    let id = 0;
    const promise = new Promise<void>((resolve, reject) => {
      id = track({ resolve, reject });
    });
    flush(); // keep order with publishes gathered this turn
    start().postMessage(make(id));
    return promise;
  }

  return {
    publish,
    ensureTopic: (topic) => request((id) => ({ t: "ensureTopic", id, topic })),
    probe: (timeoutMs) => request((id) => ({ t: "probe", id, timeoutMs })),
    partitionsOf: (topic) => partitions.get(topic),
    stats: () => ({ ...stats }),
    close() {
      if (closing) return closing;
      closing = (async () => {
        const w = worker;
        if (w) {
          flush();
          const id = nextId++;
          const done = new Promise<void>((resolve, reject) => {
            if (pending.size === 0) w.ref();
            pending.set(id, { resolve, reject });
          });
          w.postMessage({ t: "close", id } satisfies ToWorker);
          closed = true;
          await done.catch(() => undefined);
          // Cleared first so the worker's exit event does not count as a crash.
          worker = undefined;
          await w.terminate();
        }
        closed = true;
        // The worker's publisher settles only what it had queued; a call still waiting on topic
        // creation there would otherwise never settle now that the worker is gone.
        batch = emptyBatch();
        const left = [...pending.values()];
        pending.clear();
        const error = new Error("kafka: publisher is closed; the call had not settled");
        for (const p of left) p.reject(error);
      })();
      return closing;
    },
  };
}
