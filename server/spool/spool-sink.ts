/**
 * The durable spool (opt-in, `--spool-dir`): a Sink wrapped around the Kafka sink that, while the
 * broker is unreachable, stores events in a local segment log (fsync'd with group commit, by the
 * file sink's AppendFile) and answers them as spooled (REST 202 `"spooled": true`, gRPC OK with
 * spooled) instead of 503. A drainer forwards them when the broker is back, in append order, then
 * deletes the segments. Format: server/spool/spool-format.ts.
 *
 * Order per key (user_id): once anything is spooled, every new event goes to the spool too (after
 * the direct publishes that were already in flight have settled, so an event whose direct publish
 * fails is spooled ahead of later ones), and the drainer forwards one batch at a time in append
 * order; direct publishing resumes only when the spool is empty. So an event never overtakes a
 * spooled event of the same key — except a direct publish that was already in flight when the
 * spool started and that the broker still acknowledged (it was sent before the spooled ones).
 *
 * Crash safety (kill -9 at any point): an event is answered only after its record is fdatasync'd;
 * a torn tail is cut on start (with a log line); the cursor file records the forward in progress
 * before it is sent, so after a crash it is sent again (at-least-once) and counted as possible
 * duplicates, as are events spooled after a direct publish timed out (the broker may still have
 * stored them). A full spool (max bytes) rejects with SinkUnavailableError (503) as without a spool.
 * Errors that are not "unavailable" (e.g. authorization) are never spooled: they reach the caller.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type FileHandle, open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type Sink, type SinkReceipt, type SinkRecord, SinkUnavailableError } from "../contracts.js";
import { AppendFile, type AppendFileHooks, syncDirectory } from "../sink/append-file.js";
import {
  CURSOR_BYTES,
  decodeCursor,
  encodeCursor,
  encodeRecord,
  parseRecords,
  type SpoolCursor,
  scanRecords,
  segmentName,
  segmentSeq,
} from "./spool-format.js";

/** Options of {@link SpoolSink}. */
export interface SpoolOptions {
  /** Directory of the segments and the cursor (created if missing). */
  dir: string;
  /** Most bytes of segments on disk; past it new events are refused with 503. Default 1 GiB. */
  maxBytes?: number | undefined;
  /** A segment is closed and a new one started past this size. Default min(64 MiB, maxBytes / 4). */
  segmentBytes?: number;
  /** Most records per forward (one publish to the broker). Default 1000. */
  forwardBatchRecords?: number;
  /** Wait between forward attempts while the broker is down or failing, ms. Default 250. */
  retryIntervalMs?: number;
  /** Log lines (recovery, truncation, forwarding). Default console.error. */
  log?: (line: string) => void;
}

interface Segment {
  seq: number;
  path: string;
  /** The appender (every segment has one while it may still grow or be read). */
  file: AppendFile;
  /** Bytes on disk that are durable. */
  readonly committed: () => number;
  /** Bytes durable or queued: where the segment will end once its appends are written. */
  appended: number;
}

/** A spool in front of a sink (the Kafka sink). */
export class SpoolSink implements Sink {
  readonly kind: string;
  readonly dir: string;
  readonly maxBytes: number;
  readonly #inner: Sink;
  readonly #segmentBytes: number;
  readonly #batchRecords: number;
  readonly #retryMs: number;
  readonly #log: (line: string) => void;
  /** Oldest first; the last one takes appends. */
  readonly #segments: Segment[] = [];
  #nextSeq = 1;
  /** Forward position in the oldest segment. */
  #readOffset = 0;
  /** Cursor file handle (opened in `open`). */
  #cursor: FileHandle | undefined;
  /** Bytes queued for appends but not yet durable. */
  #queuedBytes = 0;
  /** True from the first spooled event until the drainer emptied the spool. */
  #spooling = false;
  /** Direct publishes in flight (settled once they succeeded, failed, or were spooled). */
  readonly #direct = new Set<Promise<unknown>>();
  /** Resolves when the direct publishes in flight at the moment spooling started have settled. */
  #barrier: Promise<unknown> | undefined;
  /** Spool publishes accepted but not yet durable (waiting for the barrier or the fsync). */
  #appending = 0;
  #drainer: Promise<void> | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #spooledTotal = 0;
  #forwardedTotal = 0;
  #possibleDuplicates = 0;

  private constructor(inner: Sink, options: SpoolOptions) {
    this.#inner = inner;
    this.kind = inner.kind;
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
    this.#segmentBytes = options.segmentBytes ?? Math.max(64 * 1024, Math.min(64 * 1024 * 1024, this.maxBytes / 4));
    this.#batchRecords = options.forwardBatchRecords ?? 1000;
    this.#retryMs = options.retryIntervalMs ?? 250;
    this.#log = options.log ?? ((line) => console.error(line));
  }

  /**
   * Opens (or creates) the spool in `options.dir` in front of `inner`: cuts torn tails, reports
   * possible duplicates of a forward cut short by a crash, and starts forwarding what is left.
   */
  static async open(inner: Sink, options: SpoolOptions): Promise<SpoolSink> {
    const s = new SpoolSink(inner, options);
    await s.#recover();
    return s;
  }

  #hooks(path: string): AppendFileHooks {
    return {
      label: "spool",
      openFile: (p, flags) => open(p, flags),
      syncDir: () => syncDirectory(this.dir),
      settle: (bytes) => {
        this.#queuedBytes -= bytes;
      },
      validEnd: async (h, size) => {
        const { end } = await scanRecords(h, 0, size);
        if (end !== size) {
          this.#log(
            `spool: ${path}: torn or corrupt tail after a crash; truncated to the last good record (offset ${end}, ${size - end} bytes dropped, none of them acknowledged)`,
          );
        }
        return end;
      },
    };
  }

  /**
   * Takes `<dir>/lock` (this process's pid). Two live processes appending to one spool would
   * interleave and both forward it, so a lock held by another live process is refused; one left
   * by a process that died (kill -9) is taken over.
   */
  #lock(): void {
    const path = join(this.dir, "lock");
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, String(process.pid), { flag: "wx" });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new Error(
          `spool directory ${this.dir} is in use by process ${holder}; give each server (and each worker process) its own --spool-dir`,
        );
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
    throw new Error(`cannot take the lock of spool directory ${this.dir}`);
  }

  async #recover(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.#lock();
    const cursorPath = join(this.dir, "cursor");
    let cursor: SpoolCursor | undefined;
    let cursorBad = false;
    try {
      const raw = readFileSync(cursorPath);
      cursor = decodeCursor(raw);
      cursorBad = cursor === undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const seqs = readdirSync(this.dir)
      .map(segmentSeq)
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b);
    for (const seq of seqs) {
      if (cursor !== undefined && seq < cursor.seq) {
        // Fully forwarded before the crash; its deletion had not reached the disk.
        rmSync(join(this.dir, segmentName(seq)), { force: true });
        continue;
      }
      const seg = this.#newSegment(seq);
      seg.appended = await seg.file.openNow(); // cuts a torn tail (logged by validEnd)
      this.#segments.push(seg);
    }
    this.#nextSeq = Math.max(cursor?.seq ?? 0, seqs.at(-1) ?? 0) + 1;
    this.#cursor = await open(cursorPath, "a+").then(async (h) => {
      await h.close();
      return open(cursorPath, "r+");
    });

    let pending = 0;
    let bytes = 0;
    const first = this.#segments[0];
    if (first !== undefined && cursor !== undefined && first.seq === cursor.seq) {
      this.#readOffset = Math.min(cursor.done, first.committed());
      if (cursor.attempted > cursor.done) {
        const h = await open(first.path, "r");
        try {
          const { count } = await scanRecords(h, cursor.done, Math.min(cursor.attempted, first.committed()));
          this.#possibleDuplicates += count;
          if (count > 0) {
            this.#log(
              `spool: ${count} events of ${segmentName(first.seq)} were being forwarded when the server stopped; they are forwarded again and may be duplicated in Kafka (at-least-once; de-duplicate by event_id)`,
            );
          }
        } finally {
          await h.close();
        }
      }
    }
    for (const seg of this.#segments) {
      const h = await open(seg.path, "r");
      try {
        const from = seg === first ? this.#readOffset : 0;
        pending += (await scanRecords(h, from, seg.committed())).count;
        bytes += seg.committed();
      } finally {
        await h.close();
      }
    }
    if (cursorBad && pending > 0) {
      this.#possibleDuplicates += pending;
      this.#log(
        `spool: cursor file unreadable; all ${pending} spooled events are forwarded again and may be duplicated in Kafka`,
      );
    }
    if (pending > 0) {
      this.#log(
        `spool: ${pending} events (${bytes} bytes) left from an earlier run in ${this.dir}; forwarding them when the broker is reachable`,
      );
      this.#startSpooling();
    } else {
      // Nothing to forward: drop empty or fully forwarded segments.
      this.#readOffset = 0;
      await this.#deleteSegments(this.#segments.splice(0));
    }
  }

  #newSegment(seq: number): Segment {
    const path = join(this.dir, segmentName(seq));
    const file = new AppendFile(this.#hooks(path), path);
    return { seq, path, file, committed: () => file.committedBytes, appended: 0 };
  }

  /** Bytes of segments on disk plus queued appends. */
  get bytes(): number {
    let sum = this.#queuedBytes;
    for (const s of this.#segments) sum += s.committed();
    return sum;
  }

  /** Events answered as spooled since start. */
  get spooledTotal(): number {
    return this.#spooledTotal;
  }

  /** Spooled events the broker acknowledged since start. */
  get forwardedTotal(): number {
    return this.#forwardedTotal;
  }

  /** Events forwarded again after a crash or a failed forward (possible duplicates in Kafka). */
  get possibleDuplicatesTotal(): number {
    return this.#possibleDuplicates;
  }

  /** Whether events are currently being spooled (the spool is not empty). */
  get spooling(): boolean {
    return this.#spooling;
  }

  /** Whether the spool can take more events (open and below its byte limit). */
  accepting(): boolean {
    return !this.#closed && this.bytes < this.maxBytes;
  }

  /** The broker's availability (health's kafka_available). */
  available(): boolean {
    return this.#inner.available();
  }

  /**
   * Publishes to the broker, or — while it is unreachable or the spool is not empty — appends to
   * the spool and resolves with `{ spooled: true }` once the records are fsync'd.
   */
  publish(records: readonly SinkRecord[]): Promise<SinkReceipt | undefined> {
    if (this.#closed) return Promise.reject(new SinkUnavailableError("spool is closed"));
    if (records.length === 0) return Promise.resolve(undefined);
    if (!this.#spooling) return this.#publishDirect(records);
    return this.#publishSpooled(records);
  }

  async #publishDirect(records: readonly SinkRecord[]): Promise<SinkReceipt | undefined> {
    let settle!: () => void;
    const tracker = new Promise<void>((r) => {
      settle = r;
    });
    this.#direct.add(tracker);
    // A sink that was up may have sent the records before giving up (timeout): then the broker
    // can still store them, and the spooled copies are duplicates.
    const mayHaveSent = this.#inner.available();
    try {
      await this.#inner.publish(records);
      return undefined;
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      // Enqueued synchronously, before spool publishes that wait for this one (order per key).
      const receipt = await this.#append(records);
      if (mayHaveSent) this.#possibleDuplicates += records.length;
      return receipt;
    } finally {
      this.#direct.delete(tracker);
      settle();
    }
  }

  async #publishSpooled(records: readonly SinkRecord[]): Promise<SinkReceipt> {
    const barrier = this.#barrier;
    if (barrier === undefined) return this.#append(records);
    // Counted while waiting so the drainer does not declare the spool empty underneath us.
    this.#appending++;
    try {
      await barrier;
    } finally {
      this.#appending--;
    }
    if (this.#closed) throw new SinkUnavailableError("spool is closed");
    return this.#append(records);
  }

  /** Appends to the active segment; synchronous up to the fsync wait. */
  #append(records: readonly SinkRecord[]): Promise<SinkReceipt> {
    const bufs = records.map(encodeRecord);
    let size = 0;
    for (const b of bufs) size += b.length;
    if (this.bytes + size > this.maxBytes) {
      return Promise.reject(
        new SinkUnavailableError(`kafka broker unavailable and the spool is full (${this.maxBytes} bytes)`, 5),
      );
    }
    let active = this.#segments.at(-1);
    if (active === undefined || active.appended >= this.#segmentBytes) {
      active = this.#newSegment(this.#nextSeq++);
      this.#segments.push(active);
    }
    this.#queuedBytes += size;
    active.appended += size;
    this.#appending++;
    // After the segment and the count exist: the drainer starts synchronously and must see them.
    this.#startSpooling();
    const data = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs, size);
    return active.file.append(data, size).then(
      () => {
        this.#appending--;
        this.#spooledTotal += records.length;
        this.#kick();
        return { spooled: true } as const;
      },
      (e: unknown) => {
        this.#appending--;
        throw e;
      },
    );
  }

  #startSpooling(): void {
    if (this.#spooling) return;
    this.#spooling = true;
    this.#barrier = this.#direct.size > 0 ? Promise.all([...this.#direct]) : undefined;
    const barrier = this.#barrier;
    void barrier?.then(() => {
      if (this.#barrier === barrier) this.#barrier = undefined;
    });
    this.#startDrainer();
  }

  #startDrainer(): void {
    this.#drainer ??= this.#drain().finally(() => {
      this.#drainer = undefined;
      // Spooling started again while the last drainer was deleting the emptied segments.
      if (this.#spooling && !this.#closed) this.#startDrainer();
    });
  }

  #kick(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      t.unref();
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Forwards the spool in append order until it is empty (or the sink closes). */
  async #drain(): Promise<void> {
    let reader: { seq: number; h: FileHandle } | undefined;
    let failures = 0;
    try {
      while (!this.#closed) {
        const seg = this.#segments[0];
        if (seg === undefined) {
          if (this.#appending === 0) {
            this.#spooling = false; // nothing on disk and nothing coming: empty
            break;
          }
          await this.#sleep(this.#retryMs);
          continue;
        }
        const isActive = seg === this.#segments.at(-1);
        if (this.#readOffset >= seg.committed()) {
          // Everything durable in this segment is forwarded.
          if (!isActive && seg.file.idle) {
            await seg.file.close();
            await reader?.h.close();
            reader = undefined;
            this.#segments.shift();
            await unlink(seg.path).catch(() => undefined);
            this.#readOffset = 0;
            continue;
          }
          if (isActive && this.#appending === 0 && seg.file.idle) {
            // Caught up with no append in flight: the spool is empty; back to direct publishing.
            // The segments are taken off the list before any await, so an append that starts
            // spooling again meanwhile goes to a new segment, never to one being deleted.
            this.#spooling = false;
            const done = this.#segments.splice(0);
            this.#readOffset = 0;
            await reader?.h.close();
            reader = undefined;
            await this.#deleteSegments(done);
            this.#log(`spool: drained; ${this.#forwardedTotal} events forwarded so far, publishing directly again`);
            break;
          }
          await this.#sleep(this.#retryMs);
          continue;
        }
        if (!this.#inner.available()) {
          await this.#sleep(this.#retryMs);
          continue;
        }
        if (reader === undefined || reader.seq !== seg.seq) {
          await reader?.h.close();
          reader = { seq: seg.seq, h: await open(seg.path, "r") };
        }
        const batch = await this.#readBatch(reader.h, seg);
        if (batch === undefined) continue; // corrupt remainder skipped
        const { records, end } = batch;
        await this.#writeCursor({ seq: seg.seq, done: this.#readOffset, attempted: end });
        try {
          await this.#inner.publish(records);
        } catch (err) {
          // Part of the batch may be stored; it is sent again below (at-least-once).
          this.#possibleDuplicates += records.length;
          if (failures++ === 0) {
            this.#log(`spool: forwarding ${records.length} events failed (${(err as Error).message}); retrying`);
          }
          await this.#sleep(Math.min(this.#retryMs * 2 ** Math.min(failures, 4), 5000));
          continue;
        }
        failures = 0;
        this.#readOffset = end;
        this.#forwardedTotal += records.length;
        await this.#writeCursor({ seq: seg.seq, done: end, attempted: end });
      }
    } catch (err) {
      this.#log(`spool: forwarder stopped: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      await reader?.h.close().catch(() => undefined);
    }
  }

  /** Reads up to forwardBatchRecords records from the forward position of `seg`. */
  async #readBatch(h: FileHandle, seg: Segment): Promise<{ records: SinkRecord[]; end: number } | undefined> {
    const limit = seg.committed();
    let want = Math.min(limit - this.#readOffset, 1024 * 1024);
    for (;;) {
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await h.read(buf, 0, want, this.#readOffset);
      const parsed = parseRecords(buf.subarray(0, bytesRead), this.#batchRecords);
      if (parsed.records.length > 0) return { records: parsed.records, end: this.#readOffset + parsed.consumed };
      if (parsed.stop === "partial" && parsed.need !== undefined && this.#readOffset + parsed.need <= limit) {
        want = parsed.need; // one record larger than the read size
        continue;
      }
      // Durable bytes that do not parse: the disk corrupted them after they were written.
      this.#log(
        `spool: ${segmentName(seg.seq)} is corrupt at offset ${this.#readOffset}; the ${limit - this.#readOffset} bytes after it are skipped`,
      );
      this.#readOffset = limit;
      return undefined;
    }
  }

  async #writeCursor(c: SpoolCursor): Promise<void> {
    const h = this.#cursor;
    if (h === undefined) return;
    await h.write(encodeCursor(c), 0, CURSOR_BYTES, 0);
    await h.datasync();
  }

  /** Deletes segments that were fully forwarded (already off the list). */
  async #deleteSegments(segs: readonly Segment[]): Promise<void> {
    for (const s of segs) {
      await s.file.close();
      await unlink(s.path).catch(() => undefined);
    }
    if (segs.length > 0) await syncDirectory(this.dir);
  }

  /** Waits until the spool is empty (tests, shutdown tooling); rejects after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#spooling) {
      if (Date.now() > deadline) throw new Error(`spool not drained after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Stops forwarding (a forward in flight finishes or times out), makes pending appends durable,
   * closes the segments and the inner sink. What is still spooled stays on disk for the next start.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#kick();
    await this.#drainer;
    for (const s of this.#segments) await s.file.close();
    await this.#cursor?.close();
    this.#cursor = undefined;
    rmSync(join(this.dir, "lock"), { force: true });
    await this.#inner.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isUnavailable(err: unknown): boolean {
  return err instanceof SinkUnavailableError || (err instanceof Error && err.name === "SinkUnavailableError");
}
