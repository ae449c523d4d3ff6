/**
 * A durable append-only file with group commit, shared by the file sink (one NDJSON file per
 * topic) and the spool (server/spool: one file per segment).
 *
 * Durability: `append` resolves only after the bytes are written and fdatasync'd. Group commit:
 * every append in the same event-loop turn (and every append that arrives while a flush runs)
 * joins one batch, written with one write + one fdatasync, so throughput scales with concurrency
 * instead of being bound by fsync latency. Appends are written in call order.
 *
 * Crash safety: writes are positional at the last committed size (no O_APPEND), so a failed
 * write is undone (truncate) before the next attempt; on open, `validEnd` finds where the last
 * complete record ends and anything after it (a torn write from a crash, never acknowledged)
 * is cut off.
 */
import { type FileHandle, open } from "node:fs/promises";
import { SinkUnavailableError } from "../contracts.js";

/** What an append file needs from its owner, passed as callbacks to keep its API small. */
export interface AppendFileHooks {
  /** A batch is done (`error` undefined: durable): frees queue budget, records health. */
  settle(bytes: number, error: Error | undefined): void;
  /** fsyncs the directory so a newly created file's entry is durable. */
  syncDir(): Promise<void>;
  /** Opens the file (fault injection point). */
  openFile(path: string, flags: string): Promise<FileHandle>;
  /**
   * Byte offset where the last complete record ends, given the file's size; the tail beyond it
   * is truncated on open. Called once, when the file is first opened.
   */
  validEnd(handle: FileHandle, size: number): Promise<number>;
  /** Message prefix of the SinkUnavailableError a failed write rejects with. Default "file sink". */
  readonly label?: string;
}

interface Batch {
  chunks: Array<string | Buffer>;
  bytes: number;
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
}

/** One append-only file with its own group-commit queue. */
export class AppendFile {
  readonly path: string;
  #handle: FileHandle | undefined;
  #opening: Promise<FileHandle> | undefined;
  /** Size of the file up to the last fsync'd batch; the next write goes exactly here. */
  #committed = 0;
  /** Set after a failed write: the tail beyond #committed must be cut before writing again. */
  #dirtyTail = false;
  #pending: Batch | undefined;
  #flushing = false;
  readonly #owner: AppendFileHooks;

  constructor(owner: AppendFileHooks, path: string) {
    this.#owner = owner;
    this.path = path;
  }

  /** Bytes durable in the file (after the torn tail, if any, was cut on open). */
  get committedBytes(): number {
    return this.#committed;
  }

  /** Whether nothing is queued or being written. */
  get idle(): boolean {
    return this.#pending === undefined && !this.#flushing;
  }

  /** Opens the file now (cutting a torn tail) instead of on the first append; returns the durable size. */
  async openNow(): Promise<number> {
    await this.#ensureOpen();
    return this.#committed;
  }

  /**
   * Queues `data` (`bytes`: its size for the owner's budget; for strings the UTF-8 length);
   * resolves after it is durable.
   */
  append(data: string | Buffer, bytes: number): Promise<void> {
    let b = this.#pending;
    if (b === undefined) {
      b = { chunks: [], bytes: 0, waiters: [] };
      this.#pending = b;
      // Not flushing: wait one macrotask so all appends of this tick join the batch.
      if (!this.#flushing) setImmediate(() => void this.#flush());
    }
    b.chunks.push(data);
    b.bytes += bytes;
    return new Promise<void>((resolve, reject) => b.waiters.push({ resolve, reject }));
  }

  async #ensureOpen(): Promise<FileHandle> {
    if (this.#handle !== undefined) return this.#handle;
    this.#opening ??= this.#open();
    try {
      this.#handle = await this.#opening;
      return this.#handle;
    } finally {
      this.#opening = undefined;
    }
  }

  async #open(): Promise<FileHandle> {
    // O_APPEND is avoided on purpose: positional writes let a failed batch be overwritten.
    // Create if missing (without O_APPEND for the real handle), then reopen read-write.
    await (await open(this.path, "a")).close();
    const h = await this.#owner.openFile(this.path, "r+");
    try {
      const size = (await h.stat()).size;
      const end = await this.#owner.validEnd(h, size);
      if (end !== size) await h.truncate(end);
      this.#committed = end;
      // A new (or trimmed) file: make its directory entry / size durable before acking into it.
      await h.datasync();
      await this.#owner.syncDir();
      return h;
    } catch (e) {
      await h.close().catch(() => undefined);
      throw e;
    }
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#pending !== undefined) {
        const batch = this.#pending;
        this.#pending = undefined;
        try {
          const h = await this.#ensureOpen();
          if (this.#dirtyTail) {
            await h.truncate(this.#committed);
            this.#dirtyTail = false;
          }
          const buf = toBuffer(batch.chunks);
          let off = 0;
          this.#dirtyTail = true;
          while (off < buf.length) {
            const { bytesWritten } = await h.write(buf, off, buf.length - off, this.#committed + off);
            off += bytesWritten;
          }
          await h.datasync();
          this.#committed += buf.length;
          this.#dirtyTail = false;
          this.#owner.settle(batch.bytes, undefined);
          for (const w of batch.waiters) w.resolve();
        } catch (e) {
          const label = this.#owner.label ?? "file sink";
          const err = new SinkUnavailableError(`${label}: cannot write ${this.path}: ${(e as Error).message}`, 5);
          this.#owner.settle(batch.bytes, err);
          for (const w of batch.waiters) w.reject(err);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Resolves once nothing is pending or in flight. */
  async drain(): Promise<void> {
    while (this.#pending !== undefined || this.#flushing) {
      if (this.#pending !== undefined && !this.#flushing) await this.#flush();
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    if (this.#opening !== undefined) await this.#opening.catch(() => undefined);
    const h = this.#handle;
    this.#handle = undefined;
    if (h !== undefined) await h.close();
  }
}

function toBuffer(chunks: ReadonlyArray<string | Buffer>): Buffer {
  if (chunks.length === 1) {
    const only = chunks[0]!;
    return typeof only === "string" ? Buffer.from(only, "utf8") : only;
  }
  if (chunks.every((c) => typeof c === "string")) return Buffer.from(chunks.join(""), "utf8");
  return Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c, "utf8") : c)));
}

/** fsyncs a directory (so created or removed entries are durable). */
export async function syncDirectory(dir: string): Promise<void> {
  const h = await open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
