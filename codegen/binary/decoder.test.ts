// Property tests of the generated binary codecs (gen/binary): the decoders give exactly the
// wire JSON of protobuf-es fromBinary + the validator's toWire, the encoders exactly toBinary's bytes.
import { create, fromBinary, type JsonObject, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DecodeError,
  decodeBehaviorEventWire,
  decodeTrackBatchRequestWire,
  decodeTrackBatchResponseWire,
  decodeTrackEventRequestWire,
  decodeValidateEventResponseWire,
  encodeTrackBatchResponseBinary,
  encodeTrackEventResponseBinary,
  encodeValidateEventResponseBinary,
} from "../../gen/binary/recommender/v1/behavior_binary.js";
import {
  BehaviorEventSchema,
  EventResultSchema,
  TrackBatchRequestSchema,
  TrackBatchResponseSchema,
  TrackEventRequestSchema,
  TrackEventResponseSchema,
  ValidateEventResponseSchema,
  ViolationSchema,
} from "../../gen/es/recommender/v1/behavior_pb.js";
import {
  behaviorEventToWire,
  trackBatchRequestToWire,
  trackBatchResponseToWire,
  trackEventRequestToWire,
  validateEventResponseToWire,
} from "../../gen/validator/recommender/v1/behavior_validator.js";

const RUNS = Number(process.env.FC_RUNS ?? 300);

const str = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 50 }),
);
const i32 = fc.integer({ min: -2147483648, max: 2147483647 });
const dbl = fc.oneof(fc.double(), fc.constantFrom(0, -0, 0.97, 1.5, Number.NaN));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const enumVal = fc.oneof(fc.integer({ min: 0, max: 35 }), i32);

const json: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    dbl,
    str,
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(str, fc.constantFrom("0", "10", "2", "__proto__", "a")), tie("v"), { maxKeys: 4 }),
  ),
})).v;
const jsonObject = fc.dictionary(fc.oneof(str, fc.constantFrom("0", "10", "2", "a")), json, {
  maxKeys: 5,
}) as fc.Arbitrary<JsonObject>;

const scenario = fc.oneof(
  fc.record({
    case: fc.constant("videoData" as const),
    value: fc.record({
      duration: opt(i32),
      watchDuration: opt(i32),
      completionRate: opt(dbl),
      videoQuality: opt(str),
      isFullscreen: opt(fc.boolean()),
      isMuted: opt(fc.boolean()),
      playbackSpeed: opt(dbl),
      seekPositions: fc.array(i32, { maxLength: 5 }),
      bufferTime: opt(i32),
    }),
  }),
  fc.record({
    case: fc.constant("ecommerceData" as const),
    value: fc.record({
      price: opt(dbl),
      currency: opt(str),
      quantity: opt(i32),
      productTags: fc.array(str, { maxLength: 4 }),
      couponId: opt(str),
    }),
  }),
  fc.record({
    case: fc.constant("newsData" as const),
    value: fc.record({
      readDuration: opt(i32),
      keywords: fc.array(str, { maxLength: 3 }),
      isBreakingNews: opt(fc.boolean()),
      publishTime: opt(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)),
    }),
  }),
  fc.record({
    case: fc.constant("socialData" as const),
    value: fc.record({
      followerCount: opt(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)),
      postCount: opt(fc.bigInt({ min: 0n, max: 2n ** 53n })),
      isVerified: opt(fc.boolean()),
      commonInterests: fc.array(str, { maxLength: 3 }),
    }),
  }),
  fc.record({
    case: fc.constant("personalizedData" as const),
    value: fc.record({
      personalizationScore: opt(dbl),
      matchReasons: fc.array(str, { maxLength: 3 }),
      featureImportance: fc.dictionary(fc.oneof(str, fc.constantFrom("1", "0", "b")), dbl, { maxKeys: 4 }),
    }),
  }),
  fc.record({ case: fc.constant("customData" as const), value: jsonObject }),
  fc.record({
    case: fc.constant("contentData" as const),
    value: fc.record({ contentType: opt(str), hashtags: fc.array(str, { maxLength: 3 }), engagementRate: opt(dbl) }),
  }),
  fc.constant({ case: undefined }),
);

const eventInit = fc.record(
  {
    eventId: str,
    tenantId: str,
    scenarioId: str,
    userId: str,
    itemId: str,
    actionType: enumVal,
    timestamp: fc.oneof(
      fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n),
      fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
      fc.constant(1730304000100n),
    ),
    context: opt(fc.record({ deviceType: enumVal, os: str, location: str, ip: str })),
    experimentId: str,
    experimentGroup: str,
    position: opt(i32),
    scenarioData: opt(fc.record({ data: scenario })),
    extraData: opt(jsonObject),
  },
  { requiredKeys: [] },
);

// `as never`: the init shapes are checked by create at run time.
const event = eventInit.map((init) => create(BehaviorEventSchema, init as never));

/** Random unknown fields of every wire type (field numbers the schema does not use). */
const unknownFields = fc.array(
  fc.record({
    no: fc.integer({ min: 100, max: 536870911 }),
    kind: fc.constantFrom(0, 1, 2, 3, 5),
    v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    bytes: fc.uint8Array({ maxLength: 10 }),
  }),
  { maxLength: 3 },
);
function withUnknown(
  bytes: Uint8Array,
  fields: { no: number; kind: number; v: bigint; bytes: Uint8Array }[],
): Uint8Array {
  const w = new BinaryWriter();
  for (const f of fields) {
    switch (f.kind) {
      case 0:
        w.tag(f.no, WireType.Varint).uint64(f.v);
        break;
      case 1:
        w.tag(f.no, WireType.Bit64).fixed64(f.v);
        break;
      case 2:
        w.tag(f.no, WireType.LengthDelimited).bytes(f.bytes);
        break;
      case 3:
        w.tag(f.no, WireType.StartGroup).tag(1, WireType.Varint).uint32(7).tag(f.no, WireType.EndGroup);
        break;
      case 5:
        w.tag(f.no, WireType.Bit32).fixed32(Number(f.v & 0xffffffffn));
        break;
    }
  }
  const extra = w.finish();
  const out = new Uint8Array(extra.length + bytes.length + extra.length);
  out.set(extra, 0);
  out.set(bytes, extra.length);
  out.set(extra, extra.length + bytes.length);
  return out;
}

const same = (a: unknown, b: unknown) => {
  expect(a).toStrictEqual(b);
  // Key order too (toStrictEqual ignores it).
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
};

describe("generated binary decoders = fromBinary + toWire", () => {
  it("BehaviorEvent: random messages, with unknown fields around them", () => {
    fc.assert(
      fc.property(event, unknownFields, (msg, unk) => {
        const bytes = withUnknown(toBinary(BehaviorEventSchema, msg), unk);
        same(decodeBehaviorEventWire(bytes), behaviorEventToWire(fromBinary(BehaviorEventSchema, bytes)));
      }),
      { numRuns: RUNS },
    );
  });

  it("concatenated messages merge like protobuf (singular messages merged, oneof last wins, lists appended)", () => {
    fc.assert(
      fc.property(event, event, (a, b) => {
        const ab = new Uint8Array([...toBinary(BehaviorEventSchema, a), ...toBinary(BehaviorEventSchema, b)]);
        same(decodeBehaviorEventWire(ab), behaviorEventToWire(fromBinary(BehaviorEventSchema, ab)));
      }),
      { numRuns: RUNS },
    );
  });

  it("TrackEventRequest and TrackBatchRequest at an offset inside a larger buffer", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 4 }), fc.uint8Array({ maxLength: 7 }), (events, pad) => {
        const one = toBinary(TrackEventRequestSchema, create(TrackEventRequestSchema, { event: events[0] }));
        const batch = toBinary(TrackBatchRequestSchema, create(TrackBatchRequestSchema, { events }));
        for (const [bytes, dec, ref] of [
          [
            one,
            decodeTrackEventRequestWire,
            (b: Uint8Array) => trackEventRequestToWire(fromBinary(TrackEventRequestSchema, b)),
          ],
          [
            batch,
            decodeTrackBatchRequestWire,
            (b: Uint8Array) => trackBatchRequestToWire(fromBinary(TrackBatchRequestSchema, b)),
          ],
        ] as const) {
          const framed = new Uint8Array([...pad, ...bytes, ...pad]);
          same(dec(framed, pad.length, pad.length + bytes.length), ref(bytes));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("unpacked repeated scalars decode like packed ones", () => {
    const w = new BinaryWriter();
    // VideoScenarioData.seek_positions = 8, unpacked, then packed, inside scenario_data(12).video_data(1).
    const video = new BinaryWriter();
    video.tag(8, WireType.Varint).int32(5).tag(8, WireType.Varint).int32(-1);
    video.tag(8, WireType.LengthDelimited).fork().int32(7).int32(8).join();
    const sd = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(video.finish()).finish();
    w.tag(12, WireType.LengthDelimited).bytes(sd);
    const bytes = w.finish();
    const wire = decodeBehaviorEventWire(bytes);
    same(wire, behaviorEventToWire(fromBinary(BehaviorEventSchema, bytes)));
    expect(wire).toEqual({ scenario_data: { video_data: { seek_positions: [5, -1, 7, 8] } } });
  });

  it("int64 beyond 2^53 decodes to the nearest number (the validator's range check rejects it)", () => {
    for (const t of [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -1n, 9007199254740993n]) {
      const bytes = toBinary(BehaviorEventSchema, create(BehaviorEventSchema, { timestamp: t }));
      expect(decodeBehaviorEventWire(bytes).timestamp).toBe(Number(t));
    }
  });

  it("invalid data throws DecodeError", () => {
    const good = toBinary(
      BehaviorEventSchema,
      create(BehaviorEventSchema, { tenantId: "t", userId: "u", context: { os: "iOS" } }),
    );
    const cases: Uint8Array[] = [
      good.subarray(0, good.length - 1), // truncated
      new Uint8Array([0x0a, 0x05, 0x61]), // string longer than the message
      new Uint8Array([0x0a, 0x02, 0xc3, 0x28]), // invalid UTF-8
      new Uint8Array([0x0e, 0x00]), // wire type 6
      new Uint8Array([0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // varint > 10 bytes
      new Uint8Array([0x00, 0x00]), // field number 0
      new Uint8Array([0xa3, 0x06, 0x08, 0x01]), // unterminated group
      new Uint8Array([0xa3, 0x06, 0xac, 0x06]), // wrong end group
      new Uint8Array([0x42, 0x03, 0x08]), // nested message longer than its parent
    ];
    for (const c of cases) {
      expect(() => decodeBehaviorEventWire(c), `bytes ${[...c]}`).toThrow(DecodeError);
    }
    // Deep Struct nesting.
    let v: JsonValue = 1;
    for (let i = 0; i < 80; i++) v = { a: v };
    const deep = toBinary(BehaviorEventSchema, create(BehaviorEventSchema, { extraData: v as JsonObject }));
    expect(() => decodeBehaviorEventWire(deep)).toThrow(DecodeError);
    // And it recovers for the next call.
    expect(decodeBehaviorEventWire(good)).toEqual({ tenant_id: "t", user_id: "u", context: { os: "iOS" } });
  });
});

describe("generated binary encoders = toBinary", () => {
  const violation = fc
    .record({ field: str, rule: str, message: str, severity: enumVal })
    .map((v) => create(ViolationSchema, v));
  const violations = fc.array(violation, { maxLength: 3 });
  it("TrackEventResponse, TrackBatchResponse, ValidateEventResponse: same bytes, and decode back", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        str,
        str,
        violations,
        violations,
        fc.array(
          fc.record({ index: i32, eventId: str, success: fc.boolean(), errors: violations, warnings: violations }),
          { maxLength: 3 },
        ),
        fc.nat(200),
        (success, eventId, message, w, e, results, reserve) => {
          const t = create(TrackEventResponseSchema, { success, eventId, message, validationWarnings: w, errors: e });
          const tb = encodeTrackEventResponseBinary(t);
          expect(tb).toEqual(toBinary(TrackEventResponseSchema, t));
          const b = create(TrackBatchResponseSchema, {
            success,
            total: results.length,
            succeeded: -1,
            failed: 3,
            results: results.map((r) => create(EventResultSchema, r)),
            message,
          });
          const bb = encodeTrackBatchResponseBinary(b, reserve);
          expect(bb.subarray(reserve)).toEqual(toBinary(TrackBatchResponseSchema, b));
          expect(bb.subarray(0, reserve).every((x) => x === 0)).toBe(true);
          same(decodeTrackBatchResponseWire(bb, reserve), trackBatchResponseToWire(b));
          const v = create(ValidateEventResponseSchema, { success, errors: e, validationWarnings: w, message });
          const vb = encodeValidateEventResponseBinary(v);
          expect(vb).toEqual(toBinary(ValidateEventResponseSchema, v));
          same(decodeValidateEventResponseWire(vb), validateEventResponseToWire(v));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("long messages (lengths over 127 and 16383) and non-ASCII text", () => {
    const long = "长".repeat(3000) + "x".repeat(200);
    const r = create(TrackEventResponseSchema, {
      success: true,
      eventId: "evt_1",
      message: long,
      errors: [create(ViolationSchema, { field: "f", message: long, severity: 1 })],
    });
    expect(encodeTrackEventResponseBinary(r)).toEqual(toBinary(TrackEventResponseSchema, r));
  });
});
