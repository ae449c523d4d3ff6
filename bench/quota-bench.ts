/**
 * Micro benchmark of the ingest guard (not a test):
 *   node --expose-gc --max-semi-space-size=64 --import tsx bench/quota-bench.ts
 * ns per request and bytes allocated per request of the auth + quota check the behavior service
 * runs before the pipeline (AuthGuard.ingestOne + admitOne, ingest + admitMany for a batch of
 * 100), with no key and no quota configured (the default), keys without quotas, and keys with a
 * tenant quota high enough never to refuse. The rest of a request costs ~100 µs (BENCHMARKS.md).
 */
import type { HandlerContext } from "@connectrpc/connect";
import { ApiKeyAuth } from "../server/auth/api-keys.js";
import { Quotas } from "../server/auth/quotas.js";
import { AuthGuard } from "../server/services/auth-guard.js";

const headers = new Headers({ "x-api-key": "bench-key" });
const context = { requestHeader: headers } as unknown as HandlerContext;
const tenants = Array.from({ length: 100 }, () => "bench_t");
const huge = { events_per_second: 1e12, burst: 1e12 };

const guards: Array<[string, AuthGuard]> = [
  ["open, no quota (default)", new AuthGuard(new ApiKeyAuth())],
  ["keys, no quota", new AuthGuard(new ApiKeyAuth({ tenants: { bench_t: ["bench-key"] } }))],
  [
    "keys + tenant quota",
    (() => {
      const auth = new ApiKeyAuth({ tenants: { bench_t: ["bench-key"] }, quotas: { bench_t: huge } });
      return new AuthGuard(auth, new Quotas({ tenants: auth.tenantQuotas() }));
    })(),
  ],
  [
    "keys + tenant quota + key quota",
    (() => {
      const auth = new ApiKeyAuth({
        tenants: { bench_t: [{ key: "bench-key", quota: huge }] },
        quotas: { bench_t: huge },
      });
      return new AuthGuard(auth, new Quotas({ tenants: auth.tenantQuotas(), keyLimits: true }));
    })(),
  ],
];

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Best ns/op over 5 rounds, and heap bytes per op over 20,000 ops after a full GC (needs
 * --expose-gc; a semi-space big enough that no scavenge runs in between, else it undercounts).
 */
function bench(fn: () => void): { ns: number; bytes: number | undefined } {
  for (let i = 0; i < 50_000; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const n = 20_000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  let bytes: number | undefined;
  if (gc) {
    const n = 20_000;
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) fn();
    bytes = Math.max(0, (process.memoryUsage().heapUsed - before) / n);
  }
  return { ns: best, bytes };
}

console.log("| configuration | single event: ns | B/op | batch of 100: ns | B/op |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [name, guard] of guards) {
  const one = bench(() => guard.admitOne("bench_t", guard.ingestOne(context, "bench_t")));
  const many = bench(() => guard.admitMany(tenants, guard.ingest(context, tenants)));
  const b = (x: number | undefined) => (x === undefined ? "— (no --expose-gc)" : x.toFixed(1));
  console.log(`| ${name} | ${one.ns.toFixed(0)} | ${b(one.bytes)} | ${many.ns.toFixed(0)} | ${b(many.bytes)} |`);
}
