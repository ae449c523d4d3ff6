import { describe, expect, it } from "vitest";
import {
  parseQuotaLimit,
  parseQuotaSpec,
  QuotaConfigError,
  QuotaExceededError,
  Quotas,
  TokenBucket,
} from "./quotas.js";

/** A clock the test moves by hand (ms). */
function fakeClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

function refusal(fn: () => void): QuotaExceededError {
  try {
    fn();
  } catch (e) {
    if (e instanceof QuotaExceededError) return e;
    throw e;
  }
  throw new Error("expected a QuotaExceededError");
}

describe("TokenBucket", () => {
  it("starts full, takes up to the burst, then refills at the rate", () => {
    const b = new TokenBucket({ eventsPerSecond: 2, burst: 5 }, 0);
    for (let i = 0; i < 5; i++) expect(b.take(1, 0)).toBe(0);
    // Empty: one token needs half a second at 2/s.
    expect(b.take(1, 0)).toBe(0.5);
    expect(b.take(1, 499)).toBeCloseTo(0.001, 6);
    expect(b.take(1, 500)).toBe(0);
    // Refill caps at the burst.
    expect(b.available(1_000_000)).toBe(5);
  });

  it("a refused take charges nothing", () => {
    const b = new TokenBucket({ eventsPerSecond: 1, burst: 3 }, 0);
    expect(b.take(2, 0)).toBe(0);
    expect(b.take(2, 0)).toBe(1);
    expect(b.available(0)).toBe(1);
    expect(b.take(1, 0)).toBe(0);
  });

  it("more events than the burst fit when the bucket is full and leave it in debt", () => {
    const b = new TokenBucket({ eventsPerSecond: 10, burst: 5 }, 0);
    expect(b.take(25, 0)).toBe(0);
    expect(b.available(0)).toBe(-20);
    // The debt is paid back at the rate: 20 + 1 tokens take 2.1 s.
    expect(b.waitSeconds(1, 0)).toBeCloseTo(2.1, 9);
    // A second big batch waits until the bucket is full again.
    expect(b.waitSeconds(25, 0)).toBeCloseTo(2.5, 9);
    expect(b.take(25, 2500)).toBe(0);
  });

  it("a clock stepping back refills nothing and drains nothing", () => {
    const b = new TokenBucket({ eventsPerSecond: 1, burst: 2 }, 10_000);
    expect(b.take(2, 10_000)).toBe(0);
    expect(b.available(5_000)).toBe(0);
    expect(b.available(11_000)).toBe(1);
  });
});

describe("quota configuration", () => {
  it("parses limits; burst defaults to one second of events", () => {
    expect(parseQuotaLimit({ events_per_second: 100, burst: 200 }, "q")).toEqual({ eventsPerSecond: 100, burst: 200 });
    expect(parseQuotaLimit({ events_per_second: 100 }, "q")).toEqual({ eventsPerSecond: 100, burst: 100 });
    expect(parseQuotaLimit({ events_per_second: 0.5 }, "q")).toEqual({ eventsPerSecond: 0.5, burst: 1 });
  });

  it.each([
    [null, /quotas\.t must be an object/],
    [[], /quotas\.t must be an object/],
    [{}, /quotas\.t\.events_per_second must be a number > 0/],
    [{ events_per_second: 0 }, /quotas\.t\.events_per_second must be a number > 0, got 0/],
    [{ events_per_second: "10" }, /quotas\.t\.events_per_second must be a number > 0, got "10"/],
    [{ events_per_second: 10, burst: 0 }, /quotas\.t\.burst must be an integer ≥ 1, got 0/],
    [{ events_per_second: 10, burst: 1.5 }, /quotas\.t\.burst must be an integer ≥ 1, got 1.5/],
    [{ events_per_second: 10, rate: 5 }, /quotas\.t\.rate is not a quota field/],
  ])("refuses %j naming the field", (value, message) => {
    expect(() => parseQuotaLimit(value, "quotas.t")).toThrow(QuotaConfigError);
    expect(() => parseQuotaLimit(value, "quotas.t")).toThrow(message);
  });

  it("parses the --default-quota spec", () => {
    expect(parseQuotaSpec("1000")).toEqual({ eventsPerSecond: 1000, burst: 1000 });
    expect(parseQuotaSpec("1000:2000")).toEqual({ eventsPerSecond: 1000, burst: 2000 });
    expect(parseQuotaSpec("0.5:3")).toEqual({ eventsPerSecond: 0.5, burst: 3 });
    expect(parseQuotaSpec("")).toBeUndefined();
    expect(parseQuotaSpec("unlimited")).toBeUndefined();
    expect(() => parseQuotaSpec("fast")).toThrow(/RATE or RATE:BURST/);
    expect(() => parseQuotaSpec("10:0")).toThrow(/burst must be an integer ≥ 1/);
    expect(() => parseQuotaSpec("0")).toThrow(/events_per_second must be a number > 0/);
  });
});

describe("Quotas", () => {
  const limits = new Map([
    ["small", { eventsPerSecond: 1, burst: 5 }],
    ["other", { eventsPerSecond: 1, burst: 5 }],
  ]);

  it("is disabled (callers skip it) when nothing is limited", () => {
    expect(new Quotas().enabled).toBe(false);
    expect(new Quotas({ tenants: new Map() }).enabled).toBe(false);
    expect(new Quotas({ tenants: limits }).enabled).toBe(true);
    expect(new Quotas({ defaultLimit: { eventsPerSecond: 1, burst: 1 } }).enabled).toBe(true);
    expect(new Quotas({ keyLimits: true }).enabled).toBe(true);
  });

  it("burst 5: the 6th event in the same instant is refused with Retry-After, one tenant does not affect another", () => {
    const clock = fakeClock();
    const rejected: Array<[string, number]> = [];
    const q = new Quotas({ tenants: limits, now: clock.now, onRejected: (t, n) => rejected.push([t, n]) });
    for (let i = 0; i < 5; i++) q.admitOne("small", undefined);
    const e = refusal(() => q.admitOne("small", undefined));
    expect(e.retryAfterSeconds).toBe(1);
    expect(e.tenant).toBe("small");
    expect(e.message).toBe("tenant small is over its ingestion quota of 1 events/s (burst 5); retry in 1 s");
    expect(e.details()).toEqual({
      scope: "tenant",
      tenant: "small",
      events_per_second: 1,
      burst: 5,
      retry_after_seconds: 1,
    });
    // Another tenant and an unlimited tenant are untouched.
    for (let i = 0; i < 5; i++) q.admitOne("other", undefined);
    for (let i = 0; i < 100; i++) q.admitOne("free", undefined);
    clock.advance(1000);
    q.admitOne("small", undefined);
    expect(() => q.admitOne("small", undefined)).toThrow(QuotaExceededError);
    expect(rejected).toEqual([
      ["small", 1],
      ["small", 1],
    ]);
  });

  it("batches count events and are all or nothing", () => {
    const clock = fakeClock();
    const q = new Quotas({ tenants: limits, now: clock.now });
    q.admitMany(["small", "small", "small"], undefined);
    // 2 tokens left: a batch of 3 is refused whole, Retry-After = 1 s for the missing token.
    const e = refusal(() => q.admitMany(["small", "small", "small"], undefined));
    expect(e.retryAfterSeconds).toBe(1);
    q.admitMany(["small", "small"], undefined);
    expect(() => q.admitOne("small", undefined)).toThrow(QuotaExceededError);
  });

  it("a mixed-tenant batch over one tenant's quota charges no tenant", () => {
    const clock = fakeClock();
    const q = new Quotas({ tenants: limits, now: clock.now });
    q.admitMany(["small", "small", "small", "small"], undefined);
    expect(() => q.admitMany(["other", "other", "small", "small"], undefined)).toThrow(/tenant small/);
    // "other" was not charged: its full burst is still there.
    q.admitMany(["other", "other", "other", "other", "other"], undefined);
  });

  it("Retry-After rounds up the time until the whole request fits", () => {
    const clock = fakeClock();
    const q = new Quotas({ tenants: new Map([["slow", { eventsPerSecond: 0.25, burst: 4 }]]), now: clock.now });
    q.admitMany(["slow", "slow", "slow", "slow"], undefined);
    // 3 tokens at 0.25/s: 12 s.
    expect(refusal(() => q.admitMany(["slow", "slow", "slow"], undefined)).retryAfterSeconds).toBe(12);
    clock.advance(11_999);
    expect(refusal(() => q.admitMany(["slow", "slow", "slow"], undefined)).retryAfterSeconds).toBe(1);
    clock.advance(1);
    q.admitMany(["slow", "slow", "slow"], undefined);
  });

  it("the default limit applies to tenants without their own", () => {
    const clock = fakeClock();
    const q = new Quotas({ tenants: limits, defaultLimit: { eventsPerSecond: 1, burst: 2 }, now: clock.now });
    q.admitOne("anyone", undefined);
    q.admitOne("anyone", undefined);
    expect(() => q.admitOne("anyone", undefined)).toThrow(/tenant anyone .*\(burst 2\)/);
    // Each tenant has a bucket of its own.
    q.admitOne("someone", undefined);
  });

  it("a key's own bucket limits it on top of its tenant's", () => {
    const clock = fakeClock();
    const key = { bucket: new TokenBucket({ eventsPerSecond: 1, burst: 2 }, clock.now()) };
    const q = new Quotas({ keyLimits: true, now: clock.now });
    q.admitOne("free", key);
    q.admitOne("free", key);
    const e = refusal(() => q.admitOne("free", key));
    expect(e.scope).toBe("api_key");
    expect(e.message).toMatch(/^this API key \(tenant free\) is over its ingestion quota of 1 events\/s \(burst 2\)/);
    // Another key (or none) of the same tenant is not limited by it.
    q.admitOne("free", undefined);
    clock.advance(2000);
    // A batch is counted against the key by its events.
    expect(() => q.admitMany(["free", "free", "free"], key)).not.toThrow();
    expect(() => q.admitMany(["free"], key)).toThrow(QuotaExceededError);
  });

  it("events whose tenant is not a string are not charged to a tenant (validation refuses them)", () => {
    const clock = fakeClock();
    const q = new Quotas({ defaultLimit: { eventsPerSecond: 1, burst: 1 }, now: clock.now });
    q.admitOne(42, undefined);
    q.admitMany([null, undefined, {}], undefined);
    q.admitOne("t", undefined);
  });

  it("reconfigure keeps the fill level of unchanged limits and resets changed ones", () => {
    const clock = fakeClock();
    const q = new Quotas({ tenants: limits, now: clock.now });
    for (let i = 0; i < 5; i++) {
      q.admitOne("small", undefined);
      q.admitOne("other", undefined);
    }
    const next = q.reconfigure({
      tenants: new Map([
        ["small", { eventsPerSecond: 1, burst: 5 }],
        ["other", { eventsPerSecond: 1, burst: 6 }],
      ]),
    });
    expect(() => next.admitOne("small", undefined)).toThrow(QuotaExceededError);
    next.admitOne("other", undefined);
    expect(next.reconfigure({}).enabled).toBe(false);
  });

  it("buckets of idle tenants are swept once there are many, without changing anyone's quota", () => {
    const clock = fakeClock();
    const q = new Quotas({ defaultLimit: { eventsPerSecond: 1, burst: 1 }, now: clock.now });
    for (let i = 0; i < 10_000; i++) q.admitOne(`t${i}`, undefined);
    expect(q.bucketCount).toBe(10_000);
    // t0 is still empty: it keeps its bucket and stays refused; the rest refill and are swept.
    clock.advance(1000);
    q.admitOne("t0", undefined);
    q.admitOne("fresh", undefined);
    expect(q.bucketCount).toBe(2);
    expect(() => q.admitOne("t0", undefined)).toThrow(QuotaExceededError);
  });

  it("Retry-After is the longer wait when both the tenant's and the key's buckets are short", () => {
    const clock = fakeClock();
    const key = { bucket: new TokenBucket({ eventsPerSecond: 0.5, burst: 2 }, clock.now()) };
    const q = new Quotas({ tenants: new Map([["t", { eventsPerSecond: 1, burst: 2 }]]), now: clock.now });
    q.admitMany(["t", "t"], key);
    // Tenant: 1 s for one token; key: 2 s.
    const one = refusal(() => q.admitOne("t", key));
    expect([one.scope, one.retryAfterSeconds]).toEqual(["api_key", 2]);
    const many = refusal(() => q.admitMany(["t", "t"], key));
    expect([many.scope, many.retryAfterSeconds]).toEqual(["api_key", 4]);
    clock.advance(1000);
    // The tenant has a token again; the key is still 1 s short.
    expect(refusal(() => q.admitOne("t", key)).retryAfterSeconds).toBe(1);
    clock.advance(1000);
    q.admitOne("t", key);
  });

  it("two processes sharing their usage admit a tenant's quota once between them, debt included", () => {
    const clock = fakeClock();
    const tenants = new Map([["t", { eventsPerSecond: 10, burst: 10 }]]);
    const a = new Quotas({ tenants, now: clock.now, recordUsage: true });
    const b = new Quotas({ tenants, now: clock.now, recordUsage: true });
    const keyA = {
      bucket: new TokenBucket({ eventsPerSecond: 100, burst: 100 }, clock.now()),
      quotaId: "tenants.t[0].key",
    };
    const keyB = {
      bucket: new TokenBucket({ eventsPerSecond: 100, burst: 100 }, clock.now()),
      quotaId: "tenants.t[0].key",
    };
    const admitted = (q: Quotas, key: typeof keyA, n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) {
        try {
          q.admitOne("t", key);
          ok++;
        } catch (e) {
          if (!(e instanceof QuotaExceededError)) throw e;
        }
      }
      return ok;
    };
    const exchange = () => {
      const fromA = a.takeUsage();
      const fromB = b.takeUsage();
      if (fromA) b.chargeShared(fromA, (id) => (id === keyB.quotaId ? keyB.bucket : undefined));
      if (fromB) a.chargeShared(fromB, (id) => (id === keyA.quotaId ? keyA.bucket : undefined));
    };
    // 6 + 6 admitted before they talk: over-admission is bounded by what one exchange interval lets through.
    expect(admitted(a, keyA, 6)).toBe(6);
    expect(admitted(b, keyB, 6)).toBe(6);
    exchange();
    // Each now owes the other's 6: both buckets are 2 in debt and refuse.
    expect(keyA.bucket.available(clock.now())).toBe(100 - 12);
    expect(keyB.bucket.available(clock.now())).toBe(100 - 12);
    expect(admitted(a, keyA, 5) + admitted(b, keyB, 5)).toBe(0);
    expect(a.takeUsage()).toBeUndefined(); // refusals charge nothing
    // One second later the pair has 10 new tokens between them, not 20, and pays the debt first: 8.
    clock.advance(1000);
    let total = 0;
    for (let round = 0; round < 10; round++) {
      total += admitted(a, keyA, 1) + admitted(b, keyB, 1);
      exchange();
    }
    expect(total).toBe(8);
    // A batch is shared by its events, per tenant and for the key.
    clock.advance(1000);
    a.admitMany(["t", "t", "t"], keyA);
    expect(a.takeUsage()).toEqual({ tenants: [["t", 3]], keys: [["tenants.t[0].key", 3]] });
    // A tenant without a limit, and a key without a quota id, are not recorded.
    a.admitOne("free", { bucket: undefined });
    expect(a.takeUsage()).toBeUndefined();
  });

  it("records nothing unless asked, and a reload keeps what was not yet shared", () => {
    const clock = fakeClock();
    const tenants = new Map([["t", { eventsPerSecond: 10, burst: 10 }]]);
    const plain = new Quotas({ tenants, now: clock.now });
    plain.admitOne("t", undefined);
    expect(plain.takeUsage()).toBeUndefined();
    const q = new Quotas({ tenants, now: clock.now, recordUsage: true });
    q.admitOne("t", undefined);
    const next = q.reconfigure({ tenants });
    next.admitOne("t", undefined);
    expect(next.takeUsage()).toEqual({ tenants: [["t", 2]], keys: [] });
  });
});
