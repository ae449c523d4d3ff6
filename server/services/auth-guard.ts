/**
 * Applies the API keys to an RPC: ingestion needs a key of the event's tenant, the config
 * API an admin key; then the ingestion quotas (server/auth/quotas.ts). Errors carry the
 * names the transports map to 401/403/429.
 */
import type { DescService } from "@bufbuild/protobuf";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { MethodAccess } from "../../gen/handlers/runtime.js";
import { type ApiKeyAuth, apiKeyFromHeaders, type ResolvedKey } from "../auth/api-keys.js";
import { Quotas, type QuotaUsage, type QuotaUsageLink } from "../auth/quotas.js";

/** No key, or a key we do not know: HTTP 401 / UNAUTHENTICATED. */
export class UnauthenticatedError extends Error {
  constructor(message = "missing or unknown API key (send X-API-Key)") {
    super(message);
    this.name = "UnauthenticatedError";
  }
}

/** A known key that may not do this: HTTP 403 / PERMISSION_DENIED. */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ForbiddenError";
  }
}

function keyOf(context: HandlerContext): string | undefined {
  const h = context.requestHeader;
  return apiKeyFromHeaders({
    "x-api-key": h.get("x-api-key") ?? undefined,
    authorization: h.get("authorization") ?? undefined,
  });
}

/**
 * The key a transport already resolved for this call (see `AuthGuard.preflightIngest`),
 * so the runtime's own check does not digest the key a second time.
 */
const resolvedKey = createContextKey<ResolvedKey | undefined>(undefined, { description: "resolved API key" });

/** Guards RPCs with the configured keys (open when none are) and applies the ingestion quotas. */
export class AuthGuard implements QuotaUsageLink {
  #auth: ApiKeyAuth;
  #quotas: Quotas;

  /** `quotas` default: none (nothing limited). */
  constructor(auth: ApiKeyAuth, quotas: Quotas = new Quotas()) {
    this.#auth = auth;
    this.#quotas = quotas;
  }

  /** The keys and quotas in force. */
  get auth(): ApiKeyAuth {
    return this.#auth;
  }
  get quotas(): Quotas {
    return this.#quotas;
  }

  /** This process's quota charges since the last call (`Quotas.takeUsage`), to share with the other workers. */
  takeQuotaUsage(): QuotaUsage | undefined {
    return this.#quotas.takeUsage();
  }

  /** Charges what another worker admitted to this process's tenant and key buckets (`Quotas.chargeShared`). */
  chargeSharedUsage(usage: QuotaUsage): void {
    this.#quotas.chargeShared(usage, (quotaId) => this.#auth.keyBucket(quotaId));
  }

  /** Swaps in reloaded keys and quotas; requests already past the guard are unaffected. */
  replace(auth: ApiKeyAuth, quotas: Quotas): void {
    this.#auth = auth;
    this.#quotas = quotas;
  }

  #resolve(context: HandlerContext): ResolvedKey {
    const key = context.values.get(resolvedKey) ?? this.#auth.resolve(keyOf(context));
    if (key === undefined) throw new UnauthenticatedError();
    return key;
  }

  /**
   * The ingest checks a transport can make before reading the body: 401 for a missing or
   * unknown key (as the config API's admin check does, so a caller without credentials learns
   * nothing from body errors), and for a one-event call (`oneEvent`) whose key writes a single
   * tenant, QuotaExceededError (429) when one more event would not fit that tenant's quota or
   * the key's. A refused noisy tenant then costs no body read, JSON parse or transcoding
   * (BENCHMARKS.md, noisy neighbour); a batch is charged by its event count, known only from
   * its body. No-op in open mode, where the tenant is only known from the body.
   */
  preflightIngest(context: HandlerContext, oneEvent: boolean): void {
    if (this.#auth.isOpen()) return;
    const key = this.#resolve(context);
    context.values.set(resolvedKey, key);
    const q = this.#quotas;
    if (!oneEvent || !q.enabled || key.tenants.size !== 1) return;
    for (const tenant of key.tenants) q.refuseOneIfOver(tenant, key);
  }

  /**
   * Checks that the caller may write events of `tenant` (one-event RPCs); returns the key
   * (undefined in open mode) for the quota check. A tenant that is not a string is left to
   * validation, which rejects it with a 400 naming the field.
   */
  ingestOne(context: HandlerContext, tenant: unknown): ResolvedKey | undefined {
    if (this.#auth.isOpen()) return undefined;
    const key = this.#resolve(context);
    if (typeof tenant === "string" && tenant !== "" && !key.tenants.has(tenant)) forbidden(tenant);
    // A key that may write no tenant at all (an admin key) is not an ingest key.
    if (key.tenants.size === 0) forbiddenAdmin();
    return key;
  }

  /** Checks that the caller may write events of every tenant in `tenants` (batches). */
  ingest(context: HandlerContext, tenants: Iterable<unknown>): ResolvedKey | undefined {
    if (this.#auth.isOpen()) return undefined;
    const key = this.#resolve(context);
    for (const tenant of tenants) {
      if (typeof tenant === "string" && tenant !== "" && !key.tenants.has(tenant)) forbidden(tenant);
    }
    if (key.tenants.size === 0) forbiddenAdmin();
    return key;
  }

  /** Charges one event of `tenant` to its quota and the key's (QuotaExceededError when over). */
  admitOne(tenant: unknown, key: ResolvedKey | undefined): void {
    const q = this.#quotas;
    if (q.enabled) q.admitOne(tenant, key);
  }

  /** Charges a batch, all or nothing, by events (QuotaExceededError when over). */
  admitMany(tenants: readonly unknown[], key: ResolvedKey | undefined): void {
    const q = this.#quotas;
    if (q.enabled) q.admitMany(tenants, key);
  }

  /**
   * Checks for an admin key (the tracking-config API). Tenant keys are never admin keys. The
   * resolved key is kept in the call's context, so the REST pre-body check and the runtime's
   * own check (`withAccess`) digest it once.
   */
  admin(context: HandlerContext): void {
    if (this.#auth.isOpen()) return;
    const key = this.#resolve(context);
    context.values.set(resolvedKey, key);
    if (!key.admin) throw new ForbiddenError("the tracking-config API needs an admin API key");
  }
}

function forbidden(tenant: string): never {
  throw new ForbiddenError(`this API key may not write events of tenant ${tenant}`);
}

function forbiddenAdmin(): never {
  throw new ForbiddenError("this API key may not write events (admin keys are for the tracking-config API)");
}

/**
 * `runtime` with each RPC's access (the generated `<service>Access` table, from the proto's
 * access option) enforced before it runs, on every transport: an `admin` RPC needs an admin
 * key (401 without a known key, 403 with a tenant key); a `tenant` RPC is left to the runtime,
 * which checks every event's tenant against the key (`ingestOne` / `ingest`); a `public` one
 * needs nothing. An RPC missing from the table is treated as admin.
 */
export function withAccess<T extends object>(
  service: DescService,
  access: Readonly<Record<string, MethodAccess>>,
  guard: AuthGuard,
  runtime: T,
): T {
  const out: Record<string, unknown> = { ...(runtime as Record<string, unknown>) };
  for (const method of service.methods) {
    const level = access[method.name] ?? "admin";
    const call = out[method.localName];
    if (level !== "admin" || typeof call !== "function") continue;
    out[method.localName] = (request: unknown, context: HandlerContext) => {
      guard.admin(context);
      return (call as (request: unknown, context: HandlerContext) => unknown).call(runtime, request, context);
    };
  }
  return out as T;
}
