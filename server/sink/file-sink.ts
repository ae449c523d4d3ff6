/**
 * The embedded default Sink: one NDJSON file per topic under `<dataDir>/topics/<topic>.ndjson`.
 *
 * Line format (one record per line, UTF-8, `\n`-terminated):
 *   {"ts":1700000000000,"key":"u1","headers":{"schema_version":"1"},"value":{...message JSON...}}
 * `value` is the Kafka message embedded as a JSON object (not a string) so `jq .value` works;
 * `ts` is the epoch-ms time the sink accepted the record.
 *
 * Durability: `publish` resolves only after the lines are written and fdatasync'd, with group
 * commit per file (server/sink/append-file.ts, shared with the spool).
 *
 * Crash safety: a failed write is undone before the next attempt, and on open a torn last line
 * (from a crash during an unacknowledged write) is cut off, so the file stays valid NDJSON.
 */
import { mkdirSync } from "node:fs";
import { type FileHandle, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Sink, type SinkRecord, SinkUnavailableError } from "../contracts.js";
import { AppendFile, type AppendFileHooks, syncDirectory } from "./append-file.js";

/** One line of a topic file, as read back by `readTopicFile`. */
export interface FileSinkLine {
  ts: number;
  key: string;
  headers: Record<string, string>;
  value: unknown;
}

/** Options for `FileSink`. */
export interface FileSinkOptions {
  /** Root data directory; files go to `<dataDir>/topics/`. */
  dataDir: string;
  /**
   * Bytes that may wait for a flush (across topics) before `publish` rejects with
   * SinkUnavailableError: bounded memory and latency when the disk is slow. Default 64 MiB.
   */
  maxPendingBytes?: number;
  /**
   * When false (default), each value is checked with JSON.parse so a malformed value can
   * never corrupt a topic file; true skips that for callers that produce JSON themselves.
   */
  trustValues?: boolean;
  /** Clock for `ts`; injectable for tests. */
  now?: () => number;
  /** Opens a topic file; replaceable for fault-injection tests. Default `fs/promises.open`. */
  openFile?: (path: string, flags: string) => Promise<FileHandle>;
}

/** Topic names become file names, so they are restricted to Kafka's legal topic characters. */
const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Finds the end of the last complete line (AppendFile cuts what follows). Anything after it was
 * never acknowledged (acks happen only after fdatasync of whole batches), so it is safe to drop.
 */
async function trimTornTail(h: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const chunk = 64 * 1024;
  let end = size;
  const buf = Buffer.alloc(chunk);
  while (end > 0) {
    const start = Math.max(0, end - chunk);
    const { bytesRead } = await h.read(buf, 0, end - start, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

/**
 * NDJSON file sink with group commit. Safe for any number of concurrent `publish` calls;
 * records of one publish call to one topic are written contiguously and in order, and
 * publishes to one topic are written in call order (so per-key order is preserved).
 */
export class FileSink implements Sink {
  /** Always "file". */
  readonly kind = "file";
  /** Directory holding the topic files. */
  readonly topicsDir: string;
  readonly #files = new Map<string, AppendFile>();
  readonly #maxPendingBytes: number;
  readonly #trustValues: boolean;
  readonly #now: () => number;
  readonly #openFile: ((path: string, flags: string) => Promise<FileHandle>) | undefined;
  #pendingBytes = 0;
  #available = true;
  #closed = false;

  /** Creates `<dataDir>/topics` if needed; files are opened lazily per topic. */
  constructor(options: FileSinkOptions) {
    this.topicsDir = join(options.dataDir, "topics");
    mkdirSync(this.topicsDir, { recursive: true });
    this.#maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.#trustValues = options.trustValues ?? false;
    this.#now = options.now ?? Date.now;
    this.#openFile = options.openFile;
  }

  /** Path of a topic's file. */
  topicPath(topic: string): string {
    return join(this.topicsDir, `${topic}.ndjson`);
  }

  /**
   * Appends the records; resolves once they are fdatasync'd. Rejects with
   * SinkUnavailableError when the disk write fails or too much is already pending, and with
   * TypeError for records that can never be stored (bad topic name, non-JSON value).
   */
  publish(records: readonly SinkRecord[]): Promise<void> {
    if (this.#closed) return Promise.reject(new SinkUnavailableError("file sink is closed"));
    if (records.length === 0) return Promise.resolve();
    const ts = this.#now();
    if (records.length === 1) {
      // Fast path for the common single-event publish: no per-topic grouping map.
      const r = records[0]!;
      let line: string;
      try {
        line = this.#line(r, ts);
      } catch (e) {
        return Promise.reject(e);
      }
      const bytes = Buffer.byteLength(line, "utf8");
      if (this.#pendingBytes + bytes > this.#maxPendingBytes) {
        return Promise.reject(new SinkUnavailableError("file sink: write queue full (disk too slow)", 1));
      }
      this.#pendingBytes += bytes;
      return this.#file(r.topic).append(line, bytes);
    }
    // Build all lines first so a bad record rejects the whole call before anything is queued.
    const byTopic = new Map<string, { text: string; bytes: number }>();
    let total = 0;
    try {
      for (const r of records) {
        const line = this.#line(r, ts);
        const bytes = Buffer.byteLength(line, "utf8");
        total += bytes;
        const acc = byTopic.get(r.topic);
        if (acc === undefined) byTopic.set(r.topic, { text: line, bytes });
        else {
          acc.text += line;
          acc.bytes += bytes;
        }
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#pendingBytes + total > this.#maxPendingBytes) {
      return Promise.reject(new SinkUnavailableError("file sink: write queue full (disk too slow)", 1));
    }
    this.#pendingBytes += total;
    const waits: Promise<void>[] = [];
    for (const [topic, { text, bytes }] of byTopic) waits.push(this.#file(topic).append(text, bytes));
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  /** One NDJSON line for a record; throws TypeError for a bad topic or a non-JSON value. */
  #line(r: SinkRecord, ts: number): string {
    if (!TOPIC_RE.test(r.topic) || r.topic === "." || r.topic === "..") {
      throw new TypeError(`file sink: invalid topic name ${JSON.stringify(r.topic)}`);
    }
    return `{"ts":${ts},"key":${JSON.stringify(r.key)},"headers":${JSON.stringify(r.headers)},"value":${this.#valueJson(r.value)}}\n`;
  }

  #valueJson(value: string): string {
    if (this.#trustValues && !value.includes("\n") && !value.includes("\r")) return value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new TypeError("file sink: record value is not valid JSON");
    }
    // Pretty-printed input would span lines; re-serialize only then (rare).
    return value.includes("\n") || value.includes("\r") ? JSON.stringify(parsed) : value;
  }

  #file(topic: string): AppendFile {
    let f = this.#files.get(topic);
    if (f === undefined) {
      f = new AppendFile(this.#hooks, this.topicPath(topic));
      this.#files.set(topic, f);
    }
    return f;
  }

  readonly #hooks: AppendFileHooks = {
    openFile: (path, flags) => (this.#openFile ?? open)(path, flags),
    validEnd: trimTornTail,
    settle: (bytes, error) => {
      this.#pendingBytes -= bytes;
      // Health follows the latest write: a failed disk marks the sink down, a later success up.
      this.#available = error === undefined;
    },
    syncDir: () => syncDirectory(this.topicsDir),
  };

  /** False after the last disk write failed (until a later write succeeds). */
  available(): boolean {
    return this.#available && !this.#closed;
  }

  /** Bytes queued but not yet durable. */
  pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Waits until every accepted record is durable (or has failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.#files.values()].map((f) => f.drain()));
  }

  /** Flushes pending batches and closes the files; later publishes reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await Promise.all([...this.#files.values()].map((f) => f.close()));
    this.#files.clear();
  }
}

/** Reads a topic file back (tests, debugging, the dev console). Missing file → []. */
export async function readTopicFile(dataDir: string, topic: string): Promise<FileSinkLine[]> {
  let text: string;
  try {
    text = await readFile(join(dataDir, "topics", `${topic}.ndjson`), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: FileSinkLine[] = [];
  for (const line of text.split("\n")) if (line !== "") out.push(JSON.parse(line) as FileSinkLine);
  return out;
}
