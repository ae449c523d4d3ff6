/**
 * Worker-thread side of kafka-publisher-thread.ts: a normal publisher (kafka-publisher.ts) fed by
 * the main thread's messages. Each posted publish() call is replayed as the same call, in order;
 * settlements go back batched, one message per worker turn.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  createKafkaPublisher,
  installSmallGzipSync,
  KafkaUnavailableError,
  type PublishRecord,
} from "./kafka-publisher.js";
import { at, type FromWorker, type ToWorker, type WireError, type WorkerInit } from "./kafka-publisher-thread.js";

const port = parentPort;
const init = workerData as WorkerInit | undefined;
if (!port || init?.kind !== "kafka-publisher")
  throw new Error("kafka-publisher-worker.ts is started by createThreadedKafkaPublisher");

// This thread does nothing but produce: gzip every batch inline instead of hopping to the
// threadpool for large ones (the hop only pays off when an event loop has other work).
if ((init.options.compression ?? "gzip") === "gzip") installSmallGzipSync(Number.POSITIVE_INFINITY);
const publisher = createKafkaPublisher(init.options);

function toWire(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  return { unavailable: e instanceof KafkaUnavailableError, name: e.name, message: e.message };
}

let ok: number[] = [];
let failed: { id: number; error: WireError }[] = [];
let reportScheduled = false;
/** Topics whose partition count the main thread has not been told yet. */
const unreported = new Set<string>();
const reported = new Set<string>();
const aborts = new Map<number, AbortController>();

function partitionsToReport(): [string, number][] {
  const out: [string, number][] = [];
  for (const t of unreported) {
    const n = publisher.partitionsOf(t);
    if (n !== undefined) {
      out.push([t, n]);
      reported.add(t);
      unreported.delete(t);
    }
  }
  return out;
}

function report(): void {
  reportScheduled = false;
  const msg: FromWorker = { t: "settled", ok, failed, stats: publisher.stats(), partitions: partitionsToReport() };
  ok = [];
  failed = [];
  port!.postMessage(msg);
}

function scheduleReport(): void {
  if (!reportScheduled) {
    reportScheduled = true;
    setImmediate(report);
  }
}

function onPublish(m: Extract<ToWorker, { t: "publish" }>): void {
  let r = 0;
  const bytes = Buffer.from(m.bytes);
  const ends = m.ends;
  // One Map per header set: the client iterates a Map as is, where a plain object costs an
  // Object.entries() and a new Map for every record.
  const headerMaps = m.headerSets.map((h) => new Map(Object.entries(h)));
  for (let c = 0; c < m.ids.length; c++) {
    const id = at(m.ids, c);
    const n = at(m.counts, c);
    const records: PublishRecord[] = [];
    for (let i = 0; i < n; i++, r++) {
      const h = at(m.headerIdx, r);
      const topic = at(m.topics, r);
      if (!reported.has(topic)) unreported.add(topic);
      // Buffers where the record type says string: the publisher's serializers pass Buffers through.
      const key = bytes.subarray(r === 0 ? 0 : at(ends, 2 * r - 1), at(ends, 2 * r)) as unknown as string;
      const value = bytes.subarray(at(ends, 2 * r), at(ends, 2 * r + 1)) as unknown as string;
      records.push(
        h < 0
          ? { topic, key, value }
          : { topic, key, value, headers: at(headerMaps, h) as unknown as Record<string, string> },
      );
    }
    const timeoutMs = at(m.timeouts, c);
    let signal: AbortSignal | undefined;
    if (m.abortable.length > 0 && m.abortable.includes(id)) {
      const controller = new AbortController();
      aborts.set(id, controller);
      signal = controller.signal;
    }
    const options =
      timeoutMs >= 0 || signal
        ? { ...(timeoutMs >= 0 ? { timeoutMs } : {}), ...(signal ? { signal } : {}) }
        : undefined;
    publisher.publish(records, options).then(
      () => {
        if (signal) aborts.delete(id);
        ok.push(id);
        scheduleReport();
      },
      (error: unknown) => {
        if (signal) aborts.delete(id);
        failed.push({ id, error: toWire(error) });
        scheduleReport();
      },
    );
  }
}

port.on("message", (m: ToWorker) => {
  switch (m.t) {
    case "publish":
      onPublish(m);
      break;
    case "abort":
      // The caller's signal fired: withdraw what is not sent yet (as the in-thread publisher does).
      aborts.get(m.id)?.abort(new Error("aborted by the caller"));
      break;
    case "ensureTopic":
      publisher.ensureTopic(m.topic).then(
        () => {
          const count = publisher.partitionsOf(m.topic);
          port.postMessage({
            t: "done",
            id: m.id,
            partitions: count === undefined ? [] : [[m.topic, count]],
          } satisfies FromWorker);
        },
        (error: unknown) => port.postMessage({ t: "done", id: m.id, error: toWire(error) } satisfies FromWorker),
      );
      break;
    case "probe":
      publisher.probe(m.timeoutMs).then(
        () => port.postMessage({ t: "done", id: m.id } satisfies FromWorker),
        (error: unknown) => port.postMessage({ t: "done", id: m.id, error: toWire(error) } satisfies FromWorker),
      );
      break;
    case "close":
      publisher.close().then(
        () => {
          report();
          port.postMessage({ t: "done", id: m.id } satisfies FromWorker);
        },
        (error: unknown) => port.postMessage({ t: "done", id: m.id, error: toWire(error) } satisfies FromWorker),
      );
      break;
  }
});
