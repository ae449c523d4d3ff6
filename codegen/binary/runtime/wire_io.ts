/**
 * The protobuf binary reader/writer every generated `<file>_binary.ts` calls. The binary
 * plugin emits this file verbatim as gen/binary/wire_io.ts (once, not per module), so it
 * imports only packages and ./decode_error.js, and is type-checked here as well as there.
 *
 * Module state: one decode runs at a time, synchronously (B, P, D), and the writer reuses
 * one scratch buffer (W, WP) whose results are copied out. Generated code reads B and P
 * (live bindings) and changes the state only through the functions below.
 *
 * B[i]!: a read past the end yields undefined at run time, which every comparison treats
 * as a bad varint and the bounds checks reject; the ! only tells tsc.
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { DecodeError } from "./decode_error.js";

// ---- reader

const EMPTY = new Uint8Array(0);
const MAX_DEPTH = 100;
/** The buffer being decoded (generated decoders read it; only this module assigns it). */
export let B: Uint8Array = EMPTY;
/** The read position in B. */
export let P = 0;
let D = 0;
let LO = 0;
let HI = 0;
const F64 = new Float64Array(1);
const F64B = new Uint8Array(F64.buffer);
const F32 = new Float32Array(F64.buffer, 0, 1);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TD = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function fail(msg: string): never {
  throw new DecodeError(msg, P);
}

/** Varint → its low 32 bits, unsigned. */
export function rv32(): number {
  const b = B[P++]!;
  return b < 0x80 ? b : rv32slow(b);
}

function rv32slow(b: number): number {
  let r = b & 0x7f;
  b = B[P++]!;
  r |= (b & 0x7f) << 7;
  if (b < 0x80) return r;
  b = B[P++]!;
  r |= (b & 0x7f) << 14;
  if (b < 0x80) return r;
  b = B[P++]!;
  r |= (b & 0x7f) << 21;
  if (b < 0x80) return r >>> 0;
  b = B[P++]!;
  r |= (b & 0x0f) << 28;
  if (b < 0x80) return r >>> 0;
  for (let i = 0; i < 5; i++) if (B[P++]! < 0x80) return r >>> 0;
  fail("invalid varint");
}

/** Varint → LO, HI (unsigned 32-bit halves). */
export function rv64(): void {
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let s = 0; s < 28; s += 7) {
    b = B[P++]!;
    lo |= (b & 0x7f) << s;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = 0;
      return;
    }
  }
  b = B[P++]!;
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) {
    LO = lo >>> 0;
    HI = hi >>> 0;
    return;
  }
  for (let s = 3; s <= 31; s += 7) {
    b = B[P++]!;
    hi |= (b & 0x7f) << s;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = hi >>> 0;
      return;
    }
  }
  fail("invalid varint");
}

/** int64 → the nearest number (what Number(bigint) gives: one rounding). */
export function rint64(): number {
  rv64();
  return (HI | 0) * 4294967296 + LO;
}
export function ruint64(): number {
  rv64();
  return HI * 4294967296 + LO;
}
export function rsint64(): number {
  rv64();
  const s = -(LO & 1);
  const lo = ((LO >>> 1) | (HI << 31)) ^ s;
  const hi = (HI >>> 1) ^ s;
  return (hi | 0) * 4294967296 + (lo >>> 0);
}
export function rzz32(): number {
  const n = rv32();
  return (n >>> 1) ^ -(n & 1);
}
export function rbool(): boolean {
  const b = B[P]!;
  if (b < 0x80) {
    P++;
    return b !== 0;
  }
  rv64();
  return LO !== 0 || HI !== 0;
}
export function rfx32(): number {
  const p = P;
  P = p + 4;
  return (B[p]! | (B[p + 1]! << 8) | (B[p + 2]! << 16) | (B[p + 3]! << 24)) >>> 0;
}
export function rfx64(signed: boolean): number {
  const lo = rfx32();
  const hi = rfx32();
  return (signed ? hi | 0 : hi) * 4294967296 + lo;
}
export function rf64(): number {
  const p = P;
  P = p + 8;
  if (P > B.length) fail("truncated double");
  if (LE) {
    F64B[0] = B[p]!;
    F64B[1] = B[p + 1]!;
    F64B[2] = B[p + 2]!;
    F64B[3] = B[p + 3]!;
    F64B[4] = B[p + 4]!;
    F64B[5] = B[p + 5]!;
    F64B[6] = B[p + 6]!;
    F64B[7] = B[p + 7]!;
  } else {
    for (let i = 0; i < 8; i++) F64B[7 - i] = B[p + i]!;
  }
  return F64[0]!;
}
export function rf32(): number {
  const p = P;
  P = p + 4;
  if (P > B.length) fail("truncated float");
  if (LE) {
    F64B[0] = B[p]!;
    F64B[1] = B[p + 1]!;
    F64B[2] = B[p + 2]!;
    F64B[3] = B[p + 3]!;
  } else {
    for (let i = 0; i < 4; i++) F64B[3 - i] = B[p + i]!;
  }
  return F32[0]!;
}

/**
 * A length-delimited UTF-8 string. Measured on Node 24 (bench/decode-bench.ts):
 * ASCII up to 4 bytes is fastest concatenated, up to 24 bytes through one fromCharCode.apply,
 * longer or non-ASCII text through a fatal TextDecoder (which also rejects invalid UTF-8).
 */
export function rstr(end: number): string {
  const len = rv32();
  const s = P;
  const e = s + len;
  if (e > end) fail("truncated string");
  P = e;
  if (len < 5) {
    let out = "";
    for (let i = s; i < e; i++) {
      const c = B[i]!;
      if (c >= 0x80) return utf8(s, e);
      out += String.fromCharCode(c);
    }
    return out;
  }
  if (len <= 24) {
    const codes: number[] = new Array(len);
    for (let i = 0; i < len; i++) {
      const c = B[s + i]!;
      if (c >= 0x80) return utf8(s, e);
      codes[i] = c;
    }
    return String.fromCharCode.apply(null, codes);
  }
  return utf8(s, e);
}
function utf8(s: number, e: number): string {
  try {
    return TD.decode(B.subarray(s, e));
  } catch {
    P = s;
    fail("invalid UTF-8 in a string field");
  }
}

/** Skips a field of an unknown number (or an unexpected wire type). */
export function skip(tag: number, end: number): void {
  if (tag >>> 3 === 0) fail("invalid field number 0");
  switch (tag & 7) {
    case 0:
      rv64();
      break;
    case 1:
      P += 8;
      break;
    case 2: {
      const n = rv32(); // (not `P += rv32()`: that reads P before the call)
      P += n;
      break;
    }
    case 3:
      skipGroup(tag >>> 3, end);
      break;
    case 5:
      P += 4;
      break;
    default:
      fail("invalid wire type " + (tag & 7));
  }
  if (P > end) fail("truncated field");
}
function skipGroup(no: number, end: number): void {
  if (++D > MAX_DEPTH) fail("group nesting too deep");
  while (P < end) {
    const t = rv32();
    if ((t & 7) === 4) {
      if (t >>> 3 !== no) fail("unbalanced end group");
      D--;
      return;
    }
    skip(t, end);
  }
  fail("unterminated group");
}

/** a ++ b (for a singular message field seen twice: protobuf merges as if concatenated). */
export function cat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
/** Runs a decoder over another buffer. */
export function sub<T>(dec: (end: number) => T, bytes: Uint8Array): T {
  const b = B;
  const p = P;
  B = bytes;
  P = 0;
  try {
    return dec(bytes.length);
  } finally {
    B = b;
    P = p;
  }
}

/** Starts decoding bytes offset.. of buf (a generated decodeXWire entry point). */
export function beginRead(buf: Uint8Array, offset: number): void {
  B = buf;
  P = offset;
  D = 0;
}
/** Ends a decode: drops the reference to the caller's buffer. */
export function endRead(): void {
  B = EMPTY;
}
/** Moves the read position (past a length-delimited field). */
export function seek(to: number): void {
  P = to;
}
/** Enters a nested message; too deep is invalid data. */
export function enter(): void {
  if (++D > MAX_DEPTH) fail("message nesting too deep");
}
/** Leaves a nested message. */
export function leave(): void {
  D--;
}

// ---- google.protobuf.Struct / Value / ListValue → plain JSON (what protobuf-es makes of them)

/** Struct entries decoded into `o` (merging, like protobuf). */
export function dStruct(end: number, o: JsonObject): JsonObject {
  if (++D > MAX_DEPTH) fail("message nesting too deep");
  while (P < end) {
    const t = rv32();
    if (t !== 10) {
      skip(t, end);
      continue;
    }
    const len = rv32();
    const e = P + len;
    if (e > end || e < P) fail("truncated map entry");
    let k = "";
    let v: JsonValue = null;
    let vk = 0;
    while (P < e) {
      const t2 = rv32();
      if (t2 === 10) k = rstr(e);
      else if (t2 === 18) {
        const l2 = rv32();
        const e2 = P + l2;
        if (e2 > e || e2 < P) fail("truncated message");
        v = dValue(e2, vk, v);
        vk = VK;
      } else skip(t2, e);
    }
    if (P !== e) fail("truncated map entry");
    if (k === "__proto__")
      Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
    else o[k] = v;
  }
  if (P !== end) fail("truncated message");
  D--;
  return o;
}

/** Kind of the last dValue: 0 unset, 1 null, 2 number, 3 string, 4 bool, 5 struct, 6 list. */
let VK = 0;
export function dValue(end: number, k: number, v: JsonValue): JsonValue {
  if (++D > MAX_DEPTH) fail("message nesting too deep");
  while (P < end) {
    const t = rv32();
    switch (t) {
      case 8:
        rv64();
        k = 1;
        v = null;
        break;
      case 17:
        v = rf64();
        k = 2;
        break;
      case 26:
        v = rstr(end);
        k = 3;
        break;
      case 32:
        v = rbool();
        k = 4;
        break;
      case 42: {
        const len = rv32();
        const e = P + len;
        if (e > end || e < P) fail("truncated message");
        v = dStruct(e, k === 5 ? (v as JsonObject) : {});
        k = 5;
        break;
      }
      case 50: {
        const len = rv32();
        const e = P + len;
        if (e > end || e < P) fail("truncated message");
        v = dList(e, k === 6 ? (v as JsonValue[]) : []);
        k = 6;
        break;
      }
      default:
        skip(t, end);
    }
  }
  if (P !== end) fail("truncated message");
  D--;
  VK = k;
  return k === 0 ? null : v;
}

export function dList(end: number, a: JsonValue[]): JsonValue[] {
  if (++D > MAX_DEPTH) fail("message nesting too deep");
  while (P < end) {
    const t = rv32();
    if (t !== 10) {
      skip(t, end);
      continue;
    }
    const len = rv32();
    const e = P + len;
    if (e > end || e < P) fail("truncated message");
    a.push(dValue(e, 0, null));
  }
  if (P !== end) fail("truncated message");
  D--;
  return a;
}

// ---- writer

let W = new Uint8Array(4096);
let WP = 0;
const TE = new TextEncoder();

/** Starts encoding after `reserve` zero bytes (a generated encodeXBinary entry point). */
export function beginWrite(reserve: number): void {
  WP = 0;
  grow(reserve);
  W.fill(0, 0, reserve);
  WP = reserve;
}
/** The bytes written since beginWrite, copied out of the scratch buffer. */
export function endWrite(): Uint8Array {
  return W.slice(0, WP);
}

export function grow(n: number): void {
  if (WP + n > W.length) {
    const next = new Uint8Array(Math.max(W.length * 2, WP + n));
    next.set(W.subarray(0, WP));
    W = next;
  }
}
export function wbyte(b: number): void {
  grow(1);
  W[WP++] = b;
}
export function wraw(bytes: readonly number[]): void {
  grow(bytes.length);
  for (const b of bytes) W[WP++] = b;
}
export function wv32(v: number): void {
  grow(5);
  while (v > 127) {
    W[WP++] = (v & 127) | 128;
    v >>>= 7;
  }
  W[WP++] = v;
}
export function wint32(v: number): void {
  if (v >= 0) wv32(v);
  else wv64(BigInt.asUintN(64, BigInt(v)));
}
export function wv64(v: bigint): void {
  grow(10);
  while (v > 127n) {
    W[WP++] = Number(v & 127n) | 128;
    v >>= 7n;
  }
  W[WP++] = Number(v);
}
export function wfx32(v: number): void {
  grow(4);
  W[WP++] = v & 255;
  W[WP++] = (v >>> 8) & 255;
  W[WP++] = (v >>> 16) & 255;
  W[WP++] = (v >>> 24) & 255;
}
export function wfx64(v: bigint): void {
  wfx32(Number(v & 0xffffffffn));
  wfx32(Number(v >> 32n));
}
export function wf64(v: number): void {
  grow(8);
  F64[0] = v;
  for (let i = 0; i < 8; i++) W[WP++] = F64B[LE ? i : 7 - i]!;
}
export function wf32(v: number): void {
  grow(4);
  F32[0] = v;
  for (let i = 0; i < 4; i++) W[WP++] = F64B[LE ? i : 3 - i]!;
}
export function wstr(s: string): void {
  const n = s.length;
  grow(n * 3 + 5);
  if (n < 128) {
    // ASCII fast path: one length byte, one byte per char.
    const at = WP;
    let p = at + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      W[p++] = c;
    }
    if (i === n) {
      W[at] = n;
      WP = p;
      return;
    }
  }
  // General path: encode after a 5-byte gap, then close it up.
  const start = WP + 5;
  const written = TE.encodeInto(s, W.subarray(start)).written;
  wv32(written);
  W.copyWithin(WP, start, start + written);
  WP += written;
}
/** Reserves one byte for a length; endLen() fills it (moving the body when it needs more). */
export function beginLen(): number {
  grow(1);
  return WP++;
}
export function endLen(at: number): void {
  const len = WP - at - 1;
  if (len < 128) {
    W[at] = len;
    return;
  }
  let size = 1;
  for (let x = len; x > 127; x >>>= 7) size++;
  grow(size - 1);
  W.copyWithin(at + size, at + 1, WP);
  WP += size - 1;
  let p = at;
  let v = len;
  while (v > 127) {
    W[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  W[p] = v;
}
