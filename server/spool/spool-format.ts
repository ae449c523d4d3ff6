/**
 * On-disk format of the durable spool (server/spool/spool-sink.ts).
 *
 * Segment files `<dir>/segment-<seq, 10 digits>.log` hold records back to back:
 *
 *   u32 LE payload length | u32 LE CRC-32 of the payload | payload
 *   payload = u32 LE meta length | meta: JSON [topic, key, headers] | value: the Kafka message, UTF-8
 *
 * The value is stored byte-exact (not re-serialized), so what reaches Kafka is what the pipeline
 * encoded. A record whose length runs past the end of the file or whose CRC does not match is a
 * torn or corrupt tail: everything from it on is cut when the segment is opened.
 *
 * The cursor file `<dir>/cursor` says how far the spool was forwarded (28 bytes, rewritten in
 * place and fdatasync'd):
 *
 *   "SPC1" | u32 LE segment seq | f64 LE done offset | f64 LE attempted offset | u32 LE CRC-32 of the 24 bytes before
 *
 * `done`: every record before it in that segment was acknowledged by the broker; `attempted`: the
 * forward in progress ends there, so after a crash the records in [done, attempted) may already be
 * in Kafka and are forwarded again (at-least-once, counted as possible duplicates).
 */
import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import type { SinkRecord } from "../contracts.js";

/** Bytes before a record's payload: length and CRC. */
export const RECORD_HEADER_BYTES = 8;
/** Largest payload accepted when reading; anything larger is treated as corruption. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const CURSOR_MAGIC = 0x31435053; // "SPC1" little-endian
/** Size of the cursor file. */
export const CURSOR_BYTES = 28;

/** Encodes one record with its length and CRC header. */
export function encodeRecord(r: SinkRecord): Buffer {
  const meta = Buffer.from(JSON.stringify([r.topic, r.key, r.headers]), "utf8");
  const valueBytes = Buffer.byteLength(r.value, "utf8");
  const payloadBytes = 4 + meta.length + valueBytes;
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes);
  buf.writeUInt32LE(payloadBytes, 0);
  buf.writeUInt32LE(meta.length, 8);
  meta.copy(buf, 12);
  buf.write(r.value, 12 + meta.length, "utf8");
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** Decodes a payload (CRC already checked); throws on a malformed one. */
export function decodePayload(payload: Buffer): SinkRecord {
  const metaLen = payload.readUInt32LE(0);
  if (4 + metaLen > payload.length) throw new Error("spool record meta runs past the payload");
  const meta = JSON.parse(payload.toString("utf8", 4, 4 + metaLen)) as unknown;
  if (!Array.isArray(meta) || typeof meta[0] !== "string" || typeof meta[1] !== "string") {
    throw new Error("spool record meta is not [topic, key, headers]");
  }
  const headers = meta[2] !== null && typeof meta[2] === "object" ? (meta[2] as Record<string, string>) : {};
  return { topic: meta[0], key: meta[1], headers, value: payload.toString("utf8", 4 + metaLen) };
}

/** Records parsed from a buffer that starts at a record boundary. */
export interface ParsedChunk {
  records: SinkRecord[];
  /** Bytes of `buf` taken by whole, valid records. */
  consumed: number;
  /**
   * Why parsing stopped before the end of `buf`: "partial" (the next record continues past the
   * buffer: read more) or "corrupt" (bad length or CRC). Undefined when `buf` ended exactly.
   */
  stop?: "partial" | "corrupt";
  /** When stop is "partial": bytes the next record needs in total (header + payload). */
  need?: number;
}

/** Parses whole records from `buf`, at most `maxRecords`. */
export function parseRecords(buf: Buffer, maxRecords = Number.POSITIVE_INFINITY): ParsedChunk {
  const records: SinkRecord[] = [];
  let off = 0;
  while (off < buf.length && records.length < maxRecords) {
    if (buf.length - off < RECORD_HEADER_BYTES)
      return { records, consumed: off, stop: "partial", need: RECORD_HEADER_BYTES };
    const len = buf.readUInt32LE(off);
    if (len < 4 || len > MAX_RECORD_BYTES) return { records, consumed: off, stop: "corrupt" };
    const end = off + RECORD_HEADER_BYTES + len;
    if (end > buf.length) return { records, consumed: off, stop: "partial", need: RECORD_HEADER_BYTES + len };
    const payload = buf.subarray(off + RECORD_HEADER_BYTES, end);
    if (crc32(payload) !== buf.readUInt32LE(off + 4)) return { records, consumed: off, stop: "corrupt" };
    try {
      records.push(decodePayload(payload));
    } catch {
      return { records, consumed: off, stop: "corrupt" };
    }
    off = end;
  }
  return { records, consumed: off };
}

/** Result of scanning a whole file region. */
export interface ScanResult {
  /** Offset where the last valid record ends. */
  end: number;
  /** Valid records in [from, end). */
  count: number;
}

/**
 * Scans records of an open file from `from` to `size`, validating each CRC, without keeping
 * them; stops at the first torn or corrupt record.
 */
export async function scanRecords(h: FileHandle, from: number, size: number): Promise<ScanResult> {
  let off = from;
  let count = 0;
  let buf = Buffer.alloc(1024 * 1024);
  while (off < size) {
    const want = Math.min(buf.length, size - off);
    const { bytesRead } = await h.read(buf, 0, want, off);
    if (bytesRead === 0) break;
    const parsed = parseRecords(buf.subarray(0, bytesRead));
    count += parsed.records.length;
    off += parsed.consumed;
    if (parsed.stop === "corrupt") break;
    if (parsed.stop === "partial") {
      const need = parsed.need ?? RECORD_HEADER_BYTES;
      // The record continues past the file: a torn tail.
      if (off + need > size) break;
      // A record larger than the buffer: grow it and read again from the record's start.
      if (need > buf.length) buf = Buffer.alloc(need);
    }
  }
  return { end: off, count };
}

/** Where forwarding stands (see the module comment). */
export interface SpoolCursor {
  seq: number;
  done: number;
  attempted: number;
}

/** Encodes the cursor file's 28 bytes. */
export function encodeCursor(c: SpoolCursor): Buffer {
  const buf = Buffer.alloc(CURSOR_BYTES);
  buf.writeUInt32LE(CURSOR_MAGIC, 0);
  buf.writeUInt32LE(c.seq, 4);
  buf.writeDoubleLE(c.done, 8);
  buf.writeDoubleLE(c.attempted, 16);
  buf.writeUInt32LE(crc32(buf.subarray(0, 24)), 24);
  return buf;
}

/** Decodes a cursor file; undefined when it is missing, short or fails its CRC. */
export function decodeCursor(buf: Buffer): SpoolCursor | undefined {
  if (buf.length < CURSOR_BYTES) return undefined;
  if (buf.readUInt32LE(0) !== CURSOR_MAGIC || crc32(buf.subarray(0, 24)) !== buf.readUInt32LE(24)) return undefined;
  const c = { seq: buf.readUInt32LE(4), done: buf.readDoubleLE(8), attempted: buf.readDoubleLE(16) };
  if (!Number.isSafeInteger(c.done) || !Number.isSafeInteger(c.attempted) || c.done < 0 || c.attempted < c.done) {
    return undefined;
  }
  return c;
}

/** File name of segment `seq`. */
export function segmentName(seq: number): string {
  return `segment-${String(seq).padStart(10, "0")}.log`;
}

/** The seq of a segment file name, or undefined for other files. */
export function segmentSeq(name: string): number | undefined {
  const m = /^segment-(\d{10})\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
