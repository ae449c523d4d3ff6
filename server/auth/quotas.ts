/**
 * Per-tenant and per-API-key ingestion quotas: token buckets counted in events.
 *
 * A bucket holds up to `burst` tokens and refills at `events_per_second`; a request of n
 * events takes n tokens. Requests are all-or-nothing: every bucket the request touches (each
 * tenant of its events, and the key's own bucket) must have enough tokens, or none is
 * charged and the request is refused with 429 / RESOURCE_EXHAUSTED and the seconds until it
 * would fit. A request of more events than the burst is admitted when the bucket is full and
 * leaves it in debt (negative tokens), so big batches are never refused forever while the
 * long-run rate still holds.
 *
 * Buckets live in each process. With `--workers N` the workers share what they charge
 * (`takeUsage` / `chargeShared`, exchanged every 50 ms through the cluster primary), so the
 * quota holds for the whole server; separate server instances do not share buckets.
 */
/** A rate limit in events. */
export interface QuotaLimit {
  /** Sustained rate, events per second (> 0; fractions allowed, e.g. 0.5). */
  readonly eventsPerSecond: number;
  /** Largest number of events admitted at once (≥ 1); also the bucket's capacity. */
  readonly burst: number;
}

/** Thrown when a quota section of the keys file (or the default-quota flag) is malformed. */
export class QuotaConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuotaConfigError";
  }
}

/**
 * Parses a limit object as written in the keys file: `{"events_per_second": 100, "burst": 200}`
 * (`burst` defaults to one second of events, at least 1). `where` names the field in errors,
 * e.g. `quotas.mymx`.
 */
export function parseQuotaLimit(value: unknown, where: string): QuotaLimit {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new QuotaConfigError(`${where} must be an object like {"events_per_second": 100, "burst": 200}`);
  }
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (k !== "events_per_second" && k !== "burst") {
      throw new QuotaConfigError(`${where}.${k} is not a quota field (use events_per_second and burst)`);
    }
  }
  const rate = v.events_per_second;
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0) {
    throw new QuotaConfigError(`${where}.events_per_second must be a number > 0, got ${JSON.stringify(rate)}`);
  }
  const burst = v.burst ?? Math.max(1, Math.ceil(rate));
  if (typeof burst !== "number" || !Number.isInteger(burst) || burst < 1) {
    throw new QuotaConfigError(`${where}.burst must be an integer ≥ 1, got ${JSON.stringify(v.burst)}`);
  }
  return { eventsPerSecond: rate, burst };
}

/**
 * Parses the `--default-quota` / TRACKING_DEFAULT_QUOTA value: `RATE` or `RATE:BURST`
 * (events per second, burst in events); "" or "unlimited" → undefined (no default quota).
 */
export function parseQuotaSpec(spec: string): QuotaLimit | undefined {
  const s = spec.trim();
  if (s === "" || s.toLowerCase() === "unlimited") return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(?::([0-9]+))?$/.exec(s);
  if (!m) throw new QuotaConfigError(`default quota must look like RATE or RATE:BURST (events/s), got ${spec}`);
  const rate = Number(m[1]);
  return parseQuotaLimit(
    m[2] === undefined ? { events_per_second: rate } : { events_per_second: rate, burst: Number(m[2]) },
    "default quota",
  );
}

/**
 * One token bucket. Time is passed in (ms) so tests drive it with a fake clock and one
 * request reads the clock once for all its buckets.
 */
export class TokenBucket {
  readonly limit: QuotaLimit;
  #tokens: number;
  #at: number;
  readonly #perMs: number;

  /** A full bucket at time `nowMs`. */
  constructor(limit: QuotaLimit, nowMs: number) {
    this.limit = limit;
    this.#tokens = limit.burst;
    this.#at = nowMs;
    this.#perMs = limit.eventsPerSecond / 1000;
  }

  /** Tokens available at `nowMs` (after refilling; negative while in debt). */
  available(nowMs: number): number {
    this.#refill(nowMs);
    return this.#tokens;
  }

  #refill(nowMs: number): void {
    const elapsed = nowMs - this.#at;
    // A clock that steps back refills nothing rather than draining the bucket.
    if (elapsed > 0) {
      this.#tokens = Math.min(this.limit.burst, this.#tokens + elapsed * this.#perMs);
      this.#at = nowMs;
    }
  }

  /**
   * Seconds until `n` events fit (0: they fit now). More events than the burst fit once the
   * bucket is full.
   */
  waitSeconds(n: number, nowMs: number): number {
    this.#refill(nowMs);
    const need = Math.min(n, this.limit.burst);
    if (this.#tokens >= need) return 0;
    return (need - this.#tokens) / this.limit.eventsPerSecond;
  }

  /** Charges `n` events (call after `waitSeconds` returned 0 at the same `nowMs`). */
  charge(n: number): void {
    this.#tokens -= n;
  }

  /** Takes `n` events if they fit now; returns the seconds to wait otherwise (0 = taken). */
  take(n: number, nowMs: number): number {
    const wait = this.waitSeconds(n, nowMs);
    if (wait === 0) this.charge(n);
    return wait;
  }
}

/**
 * A request over quota: HTTP 429 with Retry-After, gRPC RESOURCE_EXHAUSTED with a
 * `retry-after` trailer (server/transport/errors.ts maps it by name).
 */
export class QuotaExceededError extends Error {
  /** Whole seconds until the request would fit (≥ 1), for Retry-After. */
  readonly retryAfterSeconds: number;
  /** The tenant whose quota was hit, or undefined when it was the API key's own quota. */
  readonly tenant: string | undefined;
  /** The limit that was hit. */
  readonly limit: QuotaLimit;
  /** "tenant" or "api_key". */
  readonly scope: "tenant" | "api_key";

  constructor(scope: "tenant" | "api_key", tenant: string | undefined, limit: QuotaLimit, waitSeconds: number) {
    const retry = Math.max(1, Math.ceil(waitSeconds));
    const who =
      scope === "tenant" ? `tenant ${tenant}` : `this API key${tenant === undefined ? "" : ` (tenant ${tenant})`}`;
    super(
      `${who} is over its ingestion quota of ${limit.eventsPerSecond} events/s (burst ${limit.burst}); retry in ${retry} s`,
    );
    this.name = "QuotaExceededError";
    this.retryAfterSeconds = retry;
    this.tenant = tenant;
    this.limit = limit;
    this.scope = scope;
  }

  /** The fields REST adds to its error object as `error.quota`. */
  details(): Record<string, unknown> {
    return {
      scope: this.scope,
      ...(this.tenant !== undefined ? { tenant: this.tenant } : {}),
      events_per_second: this.limit.eventsPerSecond,
      burst: this.limit.burst,
      retry_after_seconds: this.retryAfterSeconds,
    };
  }
}

/** Counts refused events (exported as tracking_quota_rejected_events_total{tenant}). */
export type QuotaRejectedCounter = (tenant: string, events: number) => void;

/** What the quota check needs to know about the presented API key. */
export interface KeyQuota {
  /** The key's own bucket, if the keys file gave the key a limit. */
  readonly bucket: TokenBucket | undefined;
  /**
   * Names the key's quota the same way in every process that read the same keys file (its
   * place in the file, e.g. `tenants.acme[1]`; never the key), so processes can share its usage.
   */
  readonly quotaId?: string | undefined;
}

/**
 * Events charged to quotas in one process since it last shared them: by tenant and by key
 * quota (`KeyQuota.quotaId`). Processes serving one set of quotas (`--workers N`) send theirs
 * to each other and charge what the others admitted to their own buckets (`Quotas.chargeShared`),
 * so a tenant gets its quota once, not once per process.
 */
export interface QuotaUsage {
  /** [tenant, events] pairs (pairs, not an object: a tenant id may be any name, "__proto__" too). */
  tenants: [string, number][];
  /** [quotaId, events] pairs. */
  keys: [string, number][];
}

/** One process's side of quota sharing (the server's AuthGuard). */
export interface QuotaUsageLink {
  /** The charges made here since the last call, or undefined when none. */
  takeQuotaUsage(): QuotaUsage | undefined;
  /** Charges what another process admitted to this process's buckets. */
  chargeSharedUsage(usage: QuotaUsage): void;
}

/** Options of `Quotas`. */
export interface QuotasOptions {
  /** Limits per tenant id (from the keys file's "quotas"). */
  tenants?: ReadonlyMap<string, QuotaLimit> | undefined;
  /** Limit of every tenant not in `tenants`; undefined = unlimited. */
  defaultLimit?: QuotaLimit | undefined;
  /** Whether some API key has a limit of its own (then every request is checked). */
  keyLimits?: boolean | undefined;
  /** Record what is charged so `takeUsage()` can hand it to the other processes (`--workers`). Default false. */
  recordUsage?: boolean | undefined;
  /** Clock, ms (tests pin it). Default Date.now. */
  now?: () => number;
  /** Counts refused events per tenant. */
  onRejected?: QuotaRejectedCounter | undefined;
}

/** Bucket count at which full (idle) buckets are swept before adding one. */
const SWEEP_AT = 10_000;

/** Events of one batch request grouped by tenant. */
interface TenantCount {
  tenant: string;
  n: number;
}

/**
 * The quota check of the ingest path. When nothing is limited `enabled` is false and callers
 * skip it entirely, so unlimited servers pay nothing per event.
 */
export class Quotas {
  /** False when no tenant, default or key limit is configured. */
  readonly enabled: boolean;
  readonly #limits: ReadonlyMap<string, QuotaLimit>;
  readonly #defaultLimit: QuotaLimit | undefined;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #now: () => number;
  readonly #onRejected: QuotaRejectedCounter | undefined;
  /** Charges not yet taken by `takeUsage()`, by tenant and by key quota; undefined unless `recordUsage`. */
  #usage: { tenants: Map<string, number>; keys: Map<string, number> } | undefined;

  constructor(options: QuotasOptions = {}) {
    this.#limits = options.tenants ?? new Map();
    this.#defaultLimit = options.defaultLimit;
    this.#now = options.now ?? Date.now;
    this.#onRejected = options.onRejected;
    this.#usage = options.recordUsage ? { tenants: new Map(), keys: new Map() } : undefined;
    this.enabled = this.#limits.size > 0 || this.#defaultLimit !== undefined || options.keyLimits === true;
  }

  /** The clock the buckets use (ms). */
  now(): number {
    return this.#now();
  }

  /**
   * A copy with new limits (a keys-file reload) that keeps the fill level of every bucket
   * whose limit did not change, so a reload neither refills nor drains tenants.
   */
  reconfigure(options: Omit<QuotasOptions, "now" | "onRejected" | "recordUsage">): Quotas {
    const next = new Quotas({
      ...options,
      now: this.#now,
      onRejected: this.#onRejected,
      recordUsage: this.#usage !== undefined,
    });
    for (const [tenant, bucket] of this.#buckets) {
      const limit = next.limitOf(tenant);
      if (limit !== undefined && sameLimit(limit, bucket.limit)) next.#buckets.set(tenant, bucket);
    }
    // What was admitted before the reload and not yet shared is still owed to the other processes.
    next.#usage = this.#usage;
    return next;
  }

  /** The charges recorded since the last call (then forgotten), or undefined when there were none. */
  takeUsage(): QuotaUsage | undefined {
    const u = this.#usage;
    if (u === undefined || (u.tenants.size === 0 && u.keys.size === 0)) return undefined;
    this.#usage = { tenants: new Map(), keys: new Map() };
    return { tenants: [...u.tenants], keys: [...u.keys] };
  }

  /**
   * Charges events another process admitted (its `takeUsage()`) to this process's buckets, so
   * every process's buckets see the whole server's traffic. A bucket may go into debt: the
   * other process admitted those events already, and the debt holds this one back until it is
   * paid. `keyBucket` finds a key's bucket by its `quotaId`.
   */
  chargeShared(usage: QuotaUsage, keyBucket: (quotaId: string) => TokenBucket | undefined): void {
    const now = this.#now();
    const debit = (b: TokenBucket | undefined, n: number) => {
      if (b === undefined || !(n > 0)) return;
      b.available(now); // refill up to now first, or the next refill would count time already spent full
      b.charge(n);
    };
    for (const [tenant, n] of usage.tenants) debit(this.#bucket(tenant, now), n);
    for (const [id, n] of usage.keys) debit(keyBucket(id), n);
  }

  #record(tenant: string | undefined, key: KeyQuota | undefined, n: number): void {
    const u = this.#usage;
    if (u === undefined) return;
    if (tenant !== undefined && this.limitOf(tenant) !== undefined)
      u.tenants.set(tenant, (u.tenants.get(tenant) ?? 0) + n);
    const id = key?.bucket === undefined ? undefined : key.quotaId;
    if (id !== undefined) u.keys.set(id, (u.keys.get(id) ?? 0) + n);
  }

  /** The limit that applies to `tenant` (its own, else the default), or undefined. */
  limitOf(tenant: string): QuotaLimit | undefined {
    return this.#limits.get(tenant) ?? this.#defaultLimit;
  }

  /** Buckets held (tenants seen with a limit and not swept since). */
  get bucketCount(): number {
    return this.#buckets.size;
  }

  #bucket(tenant: string, nowMs: number): TokenBucket | undefined {
    let b = this.#buckets.get(tenant);
    if (b === undefined) {
      const limit = this.limitOf(tenant);
      if (limit === undefined) return undefined;
      if (this.#buckets.size >= SWEEP_AT) this.#sweep(nowMs);
      b = new TokenBucket(limit, nowMs);
      this.#buckets.set(tenant, b);
    }
    return b;
  }

  /**
   * Drops buckets that have refilled completely: a full bucket behaves exactly like a new one,
   * so nothing changes for those tenants, and a default quota in open mode (any tenant id
   * accepted) cannot grow the map without bound.
   */
  #sweep(nowMs: number): void {
    for (const [tenant, b] of this.#buckets) if (b.available(nowMs) >= b.limit.burst) this.#buckets.delete(tenant);
  }

  /**
   * Admits one event of `tenant` (a single-event RPC) or throws QuotaExceededError.
   * Non-string tenants are left to validation and not counted against any tenant.
   */
  admitOne(tenant: unknown, key: KeyQuota | undefined): void {
    const t = typeof tenant === "string" ? tenant : undefined;
    const tb = this.#checkOne(t, key);
    tb?.charge(1);
    key?.bucket?.charge(1);
    this.#record(t, key, 1);
  }

  /**
   * Throws QuotaExceededError (counting one refused event) when one more event of `tenant`
   * would not fit its bucket or the key's; charges nothing. The REST transport calls it before
   * reading a one-event request whose API key writes only `tenant`, so a tenant over its quota
   * costs the server no body read, JSON parse or transcoding; `admitOne` charges the event later.
   */
  refuseOneIfOver(tenant: string, key: KeyQuota | undefined): void {
    this.#checkOne(tenant, key);
  }

  /** Refuses one event that does not fit now; returns the tenant's bucket to charge. */
  #checkOne(t: string | undefined, key: KeyQuota | undefined): TokenBucket | undefined {
    const now = this.#now();
    const tb = t === undefined ? undefined : this.#bucket(t, now);
    const kb = key?.bucket;
    // Both buckets are checked so Retry-After is the longer wait (when the request fits both).
    const tw = tb === undefined ? 0 : tb.waitSeconds(1, now);
    const kw = kb === undefined ? 0 : kb.waitSeconds(1, now);
    if (kw > tw) this.#refuse("api_key", t, kb!.limit, kw, t, 1);
    if (tw > 0) this.#refuse("tenant", t, tb!.limit, tw, t, 1);
    return tb;
  }

  /**
   * Admits a batch, all or nothing: the events of each tenant against that tenant's bucket
   * and all of them against the key's bucket. Throws QuotaExceededError naming the limit
   * with the longest wait (its Retry-After is when the whole batch fits every bucket).
   */
  admitMany(tenants: readonly unknown[], key: KeyQuota | undefined): void {
    if (tenants.length === 0) return;
    const now = this.#now();
    const counts = groupTenants(tenants);
    let worst = 0;
    let worstTenant: string | undefined;
    let worstLimit: QuotaLimit | undefined;
    for (const c of counts) {
      const b = this.#bucket(c.tenant, now);
      if (b === undefined) continue;
      const wait = b.waitSeconds(c.n, now);
      if (wait > worst) {
        worst = wait;
        worstTenant = c.tenant;
        worstLimit = b.limit;
      }
    }
    const kb = key?.bucket;
    if (kb !== undefined) {
      const wait = kb.waitSeconds(tenants.length, now);
      if (wait > worst) this.#refuseBatch("api_key", counts[0]?.tenant, kb.limit, wait, counts);
    }
    if (worstLimit !== undefined) this.#refuseBatch("tenant", worstTenant, worstLimit, worst, counts);
    for (const c of counts) {
      this.#buckets.get(c.tenant)?.charge(c.n);
      this.#record(c.tenant, undefined, c.n);
    }
    kb?.charge(tenants.length);
    this.#record(undefined, key, tenants.length);
  }

  #refuse(
    scope: "tenant" | "api_key",
    tenant: string | undefined,
    limit: QuotaLimit,
    wait: number,
    counted: string | undefined,
    n: number,
  ): never {
    if (counted !== undefined) this.#onRejected?.(counted, n);
    throw refusal(scope, tenant, limit, wait);
  }

  #refuseBatch(
    scope: "tenant" | "api_key",
    tenant: string | undefined,
    limit: QuotaLimit,
    wait: number,
    counts: readonly TenantCount[],
  ): never {
    for (const c of counts) this.#onRejected?.(c.tenant, c.n);
    throw refusal(scope, tenant, limit, wait);
  }
}

/**
 * A QuotaExceededError without a stack trace: a refusal is an answer, not a fault, and
 * capturing the stack was 6.5 % of the server's CPU profile while it answered nothing but 429s.
 */
function refusal(
  scope: "tenant" | "api_key",
  tenant: string | undefined,
  limit: QuotaLimit,
  wait: number,
): QuotaExceededError {
  const depth = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new QuotaExceededError(scope, tenant, limit, wait);
  } finally {
    Error.stackTraceLimit = depth;
  }
}

function sameLimit(a: QuotaLimit, b: QuotaLimit): boolean {
  return a.eventsPerSecond === b.eventsPerSecond && a.burst === b.burst;
}

/** Events per tenant, in first-seen order (one Map per batch request, none per event). */
function groupTenants(tenants: readonly unknown[]): TenantCount[] {
  const byTenant = new Map<string, TenantCount>();
  for (const t of tenants) {
    if (typeof t !== "string") continue;
    const c = byTenant.get(t);
    if (c === undefined) byTenant.set(t, { tenant: t, n: 1 });
    else c.n++;
  }
  return [...byTenant.values()];
}
