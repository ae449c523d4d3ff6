/**
 * API-key authorization: per-tenant keys for ingestion, admin keys for the config API.
 *
 * Keys are held only as SHA-256 digests so a heap dump or log of this object does not leak
 * them. Lookup is by digest (leaking timing about a digest reveals nothing useful about the
 * key, as finding a preimage is infeasible), then confirmed with timingSafeEqual.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { behaviorEventFieldRules } from "../../gen/validator/recommender/v1/behavior_validator.js";

/** Outcome of an authorization check; maps to 200 / 401 / 403 (gRPC OK / UNAUTHENTICATED / PERMISSION_DENIED). */
export type AuthResult = "ok" | "unauthenticated" | "forbidden";

/** Shape of the keys file: `{"tenants": {"mymx": ["key1"]}, "admin": ["adminkey"]}`. */
export interface ApiKeysFile {
  tenants?: Record<string, string[]>;
  admin?: string[];
}

/** Thrown when a key source is malformed; the server should refuse to start. */
export class ApiKeyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiKeyConfigError";
  }
}

interface KeyEntry {
  digest: Buffer;
  tenants: Set<string>;
  admin: boolean;
}

/** Tenant ids as behavior.proto's BehaviorEvent.tenant_id option allows them. */
const TENANT_RE = new RegExp(behaviorEventFieldRules.tenant_id.pattern, "u");

function digestOf(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/**
 * Extracts the presented key from the `X-API-Key` header or `Authorization: Bearer <key>`.
 * Accepts Node's IncomingHttpHeaders or any lowercase-keyed record (gRPC metadata flattened).
 */
export function apiKeyFromHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const x = first(headers["x-api-key"]);
  if (x !== undefined && x.trim() !== "") return x.trim();
  const auth = first(headers.authorization);
  if (auth !== undefined) return stripBearer(auth);
  return undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Accepts a raw key or "Bearer <key>" so callers can pass either header's value. */
function stripBearer(value: string): string | undefined {
  const v = value.trim();
  const m = /^Bearer\s+(\S+)$/i.exec(v);
  if (m) return m[1];
  if (/^\S+$/.test(v) && !/^Bearer$/i.test(v)) return v;
  return undefined;
}

/** Text the server logs (loudly, at warn level) when no keys are configured. */
export function openModeWarning(): string {
  return [
    "************************************************************************",
    "WARNING: no API keys configured (TRACKING_API_KEYS / TRACKING_ADMIN_KEYS /",
    "keys file). Authentication is DISABLED: anyone who can reach this server",
    "can ingest events for any tenant and change tracking configs.",
    "Configure keys before exposing the server beyond localhost.",
    "************************************************************************",
  ].join("\n");
}

/**
 * In-memory API-key registry. Once any key is configured, every request needs a key:
 * ingestion needs a key of that tenant, the config API needs an admin key (so configuring
 * only tenant keys locks the admin API rather than leaving it open).
 */
export class ApiKeyAuth {
  readonly #byDigestHex = new Map<string, KeyEntry>();

  /** Builds a registry; prefer `fromFile`, `fromEnv` or `fromSources`. */
  constructor(config: ApiKeysFile = {}) {
    this.#addAll(config);
  }

  #add(key: string, tenant: string | undefined): void {
    if (typeof key !== "string" || key.length === 0) throw new ApiKeyConfigError("API keys must be non-empty strings");
    if (tenant !== undefined && !TENANT_RE.test(tenant)) {
      throw new ApiKeyConfigError(`invalid tenant id ${JSON.stringify(tenant)} in API key config`);
    }
    const digest = digestOf(key);
    const hex = digest.toString("hex");
    let entry = this.#byDigestHex.get(hex);
    if (entry === undefined) {
      entry = { digest, tenants: new Set(), admin: false };
      this.#byDigestHex.set(hex, entry);
    }
    if (tenant === undefined) entry.admin = true;
    else entry.tenants.add(tenant);
  }

  #addAll(config: ApiKeysFile): void {
    if (config.tenants !== undefined) {
      if (typeof config.tenants !== "object" || config.tenants === null || Array.isArray(config.tenants)) {
        throw new ApiKeyConfigError('"tenants" must be an object of tenant id → key list');
      }
      for (const [tenant, keys] of Object.entries(config.tenants)) {
        if (!Array.isArray(keys)) throw new ApiKeyConfigError(`keys of tenant ${tenant} must be an array`);
        for (const k of keys) this.#add(k, tenant);
      }
    }
    if (config.admin !== undefined) {
      if (!Array.isArray(config.admin)) throw new ApiKeyConfigError('"admin" must be an array of keys');
      for (const k of config.admin) this.#add(k, undefined);
    }
  }

  /** Reads the JSON keys file. */
  static fromFile(path: string): ApiKeyAuth {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new ApiKeyConfigError(`cannot read API keys file ${path}: ${(e as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ApiKeyConfigError(`API keys file ${path} must hold a JSON object`);
    }
    return new ApiKeyAuth(parsed as ApiKeysFile);
  }

  /**
   * Reads `TRACKING_API_KEYS="mymx:key1,tenant_abc:key2"` and `TRACKING_ADMIN_KEYS="k1,k2"`.
   * The tenant is split at the first colon, so keys may contain colons.
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ApiKeyAuth {
    return new ApiKeyAuth(parseEnv(env));
  }

  /** Merges a keys file (when given) with the environment variables. */
  static fromSources(options: {
    file?: string | undefined;
    env?: Readonly<Record<string, string | undefined>>;
  }): ApiKeyAuth {
    const auth = options.file !== undefined ? ApiKeyAuth.fromFile(options.file) : new ApiKeyAuth();
    auth.#addAll(parseEnv(options.env ?? process.env));
    return auth;
  }

  /** True when no key at all is configured: every request is allowed (log `openModeWarning()`). */
  isOpen(): boolean {
    return this.#byDigestHex.size === 0;
  }

  /** Whether at least one admin key is configured (when closed and false, the admin API is locked). */
  hasAdminKeys(): boolean {
    for (const e of this.#byDigestHex.values()) if (e.admin) return true;
    return false;
  }

  /** Number of distinct keys configured (for the startup log; never log the keys). */
  keyCount(): number {
    return this.#byDigestHex.size;
  }

  #lookup(headerValue: string | undefined): KeyEntry | undefined {
    if (headerValue === undefined) return undefined;
    const key = stripBearer(headerValue);
    if (key === undefined) return undefined;
    const digest = digestOf(key);
    const entry = this.#byDigestHex.get(digest.toString("hex"));
    if (entry === undefined) return undefined;
    return timingSafeEqual(entry.digest, digest) ? entry : undefined;
  }

  /**
   * May the presented key (raw, or "Bearer <key>") ingest events of `tenantId`?
   * Unknown or missing key → "unauthenticated"; a valid key of another tenant → "forbidden".
   */
  authorizeIngest(headerValue: string | undefined, tenantId: string): AuthResult {
    if (this.isOpen()) return "ok";
    const entry = this.#lookup(headerValue);
    if (entry === undefined) return "unauthenticated";
    return entry.tenants.has(tenantId) ? "ok" : "forbidden";
  }

  /** May the presented key use the config API? A valid tenant-only key → "forbidden". */
  authorizeAdmin(headerValue: string | undefined): AuthResult {
    if (this.isOpen()) return "ok";
    const entry = this.#lookup(headerValue);
    if (entry === undefined) return "unauthenticated";
    return entry.admin ? "ok" : "forbidden";
  }

  /** Startup warnings to log: open mode, or an admin API locked for lack of admin keys. */
  startupWarnings(): string[] {
    if (this.isOpen()) return [openModeWarning()];
    if (!this.hasAdminKeys()) {
      return [
        "WARNING: tenant API keys are configured but no admin key (TRACKING_ADMIN_KEYS); the tracking-config API will refuse every request.",
      ];
    }
    return [];
  }
}

function parseEnv(env: Readonly<Record<string, string | undefined>>): ApiKeysFile {
  const tenants: Record<string, string[]> = {};
  const admin: string[] = [];
  for (const item of splitList(env.TRACKING_API_KEYS)) {
    const colon = item.indexOf(":");
    if (colon <= 0 || colon === item.length - 1) {
      throw new ApiKeyConfigError('TRACKING_API_KEYS entries must look like "tenant:key"');
    }
    const tenant = item.slice(0, colon);
    const key = item.slice(colon + 1);
    const keys = tenants[tenant];
    if (keys === undefined) tenants[tenant] = [key];
    else keys.push(key);
  }
  for (const item of splitList(env.TRACKING_ADMIN_KEYS)) admin.push(item);
  return { tenants, admin };
}

function splitList(v: string | undefined): string[] {
  if (v === undefined) return [];
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
