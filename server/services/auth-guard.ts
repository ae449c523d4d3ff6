/**
 * Applies the API keys to an RPC: ingestion needs a key of the event's tenant, the config
 * API an admin key. Errors carry the names the transports map to 401/403.
 */
import type { HandlerContext } from "@connectrpc/connect";
import { type ApiKeyAuth, apiKeyFromHeaders } from "../auth/api-keys.js";

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

/** Guards RPCs with the configured keys; open when none are configured. */
export class AuthGuard {
  private readonly auth: ApiKeyAuth;
  private readonly open: boolean;

  constructor(auth: ApiKeyAuth) {
    this.auth = auth;
    this.open = auth.isOpen();
  }

  /**
   * Checks that the caller may write events of every tenant in `tenants`. Tenants that are
   * not strings are left to validation, which rejects them with a 400 naming the field.
   */
  ingest(context: HandlerContext, tenants: Iterable<unknown>): void {
    if (this.open) return;
    const key = keyOf(context);
    if (key === undefined) throw new UnauthenticatedError();
    let checked = false;
    for (const tenant of tenants) {
      if (typeof tenant !== "string" || tenant === "") continue;
      checked = true;
      const result = this.auth.authorizeIngest(key, tenant);
      if (result === "unauthenticated") throw new UnauthenticatedError();
      if (result === "forbidden") throw new ForbiddenError(`this API key may not write events of tenant ${tenant}`);
    }
    // Still reject unknown keys when no event named a tenant.
    if (!checked && this.auth.authorizeIngest(key, "\u0000") === "unauthenticated") throw new UnauthenticatedError();
  }

  /** Checks for an admin key (the tracking-config API). */
  admin(context: HandlerContext): void {
    if (this.open) return;
    const result = this.auth.authorizeAdmin(keyOf(context));
    if (result === "unauthenticated") throw new UnauthenticatedError();
    if (result === "forbidden") throw new ForbiddenError("the tracking-config API needs an admin API key");
  }
}
