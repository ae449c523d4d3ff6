/**
 * Micro benchmark of the generated binary codecs (not a test):
 *   tsx bench/decode-bench.ts
 * ns/op of decoding the seed TrackEventRequest with the generated decoder vs protobuf-es
 * fromBinary + the validator's toWire, of encoding a TrackEventResponse vs toBinary, and of
 * the UTF-8 string strategies the decoder chooses between.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  decodeTrackEventRequestWire,
  encodeTrackEventResponseBinary,
} from "../gen/binary/recommender/v1/behavior_binary.js";
import { TrackEventRequestSchema, TrackEventResponseSchema } from "../gen/es/recommender/v1/behavior_pb.js";
import { trackEventRequestToWire } from "../gen/validator/recommender/v1/behavior_validator.js";
import { seedEventMessage } from "../test/helpers/seed.js";

// The seed's gRPC example event (test/helpers/seed.ts), with the timestamp a client would set.
const seed = create(TrackEventRequestSchema, { event: { ...seedEventMessage(), timestamp: 1730304000100n } });
const bytes = toBinary(TrackEventRequestSchema, seed);
const response = create(TrackEventResponseSchema, {
  success: true,
  eventId: "evt_00000000000000a1",
  message: "Event tracked successfully",
});

let sink: unknown;
function bench(name: string, fn: () => unknown, ms = 700): number {
  for (let i = 0; i < 20000; i++) sink = fn(); // warm up
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const until = start + BigInt(ms / 5) * 1_000_000n;
    let now = start;
    while (now < until) {
      for (let i = 0; i < 1000; i++) sink = fn();
      n += 1000;
      now = process.hrtime.bigint();
    }
    best = Math.min(best, Number(now - start) / n);
  }
  console.log(`${name.padEnd(58)} ${best.toFixed(0).padStart(6)} ns/op`);
  return best;
}

console.log(`seed TrackEventRequest: ${bytes.length} bytes (best of 5 rounds)`);
const gen = bench("decode: generated decodeTrackEventRequestWire", () => decodeTrackEventRequestWire(bytes));
const ref = bench("decode: fromBinary + trackEventRequestToWire", () =>
  trackEventRequestToWire(fromBinary(TrackEventRequestSchema, bytes)),
);
console.log(`  → ${(ref / gen).toFixed(1)}x`);
const genE = bench("encode: generated encodeTrackEventResponseBinary", () =>
  encodeTrackEventResponseBinary(response, 5),
);
const refE = bench("encode: toBinary(TrackEventResponseSchema)", () => toBinary(TrackEventResponseSchema, response));
console.log(`  → ${(refE / genE).toFixed(1)}x`);

// String strategies for short ASCII strings (what rstr picks for len <= 32).
const strBuf = Buffer.from("video_67890_user_12345");
const td = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
bench(`string(${strBuf.length}B): manual ASCII loop`, () => {
  let out = "";
  for (let i = 0; i < strBuf.length; i++) {
    const c = strBuf[i] ?? 0; // i < length: never the default
    if (c >= 0x80) return td.decode(strBuf);
    out += String.fromCharCode(c);
  }
  return out;
});
bench(`string(${strBuf.length}B): TextDecoder fatal`, () => td.decode(strBuf));
const codes: number[] = [];
bench(`string(${strBuf.length}B): ASCII check + fromCharCode.apply (chosen ≤ 24 B)`, () => {
  codes.length = strBuf.length;
  for (let i = 0; i < strBuf.length; i++) {
    const c = strBuf[i] ?? 0; // i < length: never the default
    if (c >= 0x80) return td.decode(strBuf);
    codes[i] = c;
  }
  return String.fromCharCode.apply(null, codes);
});
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Buffer, s: number, e: number): string }).utf8Slice;
bench(`string(${strBuf.length}B): buffer.utf8Slice (no validation)`, () => utf8Slice.call(strBuf, 0, strBuf.length));
const long = Buffer.from("x".repeat(200));
bench(`string(${long.length}B): manual ASCII loop`, () => {
  let out = "";
  for (let i = 0; i < long.length; i++) out += String.fromCharCode(long[i] ?? 0);
  return out;
});
bench(`string(${long.length}B): TextDecoder fatal`, () => td.decode(long));
void sink;
