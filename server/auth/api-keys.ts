/**
 * API-key authorization: per-tenant keys for ingestion, admin keys for the config API, and
 * the ingestion quotas configured next to them (server/auth/quotas.ts enforces them).
 *
 * Keys are held only as keyed SHA-256 digests (SHA-256 of a random per-process secret followed by
 * the key), so a log or serialization of this object does not reveal them. Why the lookup leaks
 * nothing useful: a presented key is digested first, and only the digest is looked up in a Map
 * and compared. The Map lookup's timing depends on the digest, never directly on the key;
 * because the secret is unknown to the caller, they cannot pick inputs with chosen digest
 * prefixes, and whatever timing reveals about a digest cannot be brute-forced offline (unlike a
 * bare SHA-256 of a low-entropy key). The final equality check is timingSafeEqual on the full
 * digests. (Not HMAC: length extension needs a digest, and digests never leave the process,
 * while createHmac cost ~40× createHash per call under Node 24's OpenSSL 3: 132 µs vs 3.6 µs
 * on a loaded 2-core VM, bench/quota-bench.ts.)
 *
 * Rotation: a tenant may list several keys, all valid at once; add the new key, move clients,
 * remove the old one and reload (SIGHUP) or restart.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { behaviorEventFieldRules } from "../../gen/validator/recommender/v1/behavior_validator.js";
import { type KeyQuota, parseQuotaLimit, QuotaConfigError, type QuotaLimit, TokenBucket } from "./quotas.js";

/** Outcome of an authorization check; maps to 200 / 401 / 403 (gRPC OK / UNAUTHENTICATED / PERMISSION_DENIED). */
export type AuthResult = "ok" | "unauthenticated" | "forbidden";

/**
 * A tenant key with a quota of its own, as listed in the keys file next to plain string keys:
 * `{"key": "k2", "quota": {"events_per_second": 50, "burst": 100}}`.
 */
export interface ApiKeySpec {
  /** The secret. */
  key: string;
  /** This key's own limit, on top of its tenant's. */
  quota?: { events_per_second: number; burst?: number };
}

/**
 * Shape of the keys file (README "API keys and quotas"):
 * ```json
 * {"tenants": {"mymx": ["key1", {"key": "key2", "quota": {"events_per_second": 50}}]},
 *  "admin": ["adminkey"],
 *  "quotas": {"mymx": {"events_per_second": 1000, "burst": 2000}}}
 * ```
 */
export interface ApiKeysFile {
  /** Tenant id → its keys (all valid at once, for rotation). */
  tenants?: Record<string, Array<string | ApiKeySpec>>;
  /** Keys of the tracking-config API (never valid for ingestion). */
  admin?: string[];
  /** Tenant id → ingestion limit in events (tenants not listed get the default quota). */
  quotas?: Record<string, { events_per_second: number; burst?: number }>;
}

/** Thrown when a key source is malformed; the server should refuse to start. */
export class ApiKeyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiKeyConfigError";
  }
}

/** What a presented key resolves to; its `bucket` is the key's own quota, if any. */
export interface ResolvedKey extends KeyQuota {
  /** Tenants this key may write. */
  readonly tenants: ReadonlySet<string>;
  /** Whether this is an admin key. */
  readonly admin: boolean;
}

interface KeyEntry extends ResolvedKey {
  readonly digest: Buffer;
  readonly tenants: Set<string>;
  admin: boolean;
  bucket: TokenBucket | undefined;
  quotaId: string | undefined;
}

/** Tenant ids as behavior.proto's BehaviorEvent.tenant_id option allows them. */
const TENANT_RE = new RegExp(behaviorEventFieldRules.tenant_id.pattern, "u");

/** Per-process digest secret: digests are useless outside this process (see the module comment). */
const DIGEST_SECRET = randomBytes(32);

function digestOf(key: string): Buffer {
  return createHash("sha256").update(DIGEST_SECRET).update(key, "utf8").digest();
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
  readonly #quotas = new Map<string, QuotaLimit>();
  /** Keys with a quota of their own, by `KeyQuota.quotaId` (their place in the keys file). */
  readonly #byQuotaId = new Map<string, KeyEntry>();
  #keyQuotas = false;

  /** Builds a registry; prefer `fromFile`, `fromEnv` or `fromSources`. */
  constructor(config: ApiKeysFile = {}) {
    this.#addAll(config);
  }

  #add(key: unknown, tenant: string | undefined, where: string, quota?: QuotaLimit): void {
    if (typeof key !== "string" || key.length === 0) {
      throw new ApiKeyConfigError(`${where}: API keys must be non-empty strings`);
    }
    if (tenant !== undefined && !TENANT_RE.test(tenant)) {
      throw new ApiKeyConfigError(`invalid tenant id ${JSON.stringify(tenant)} in API key config`);
    }
    const digest = digestOf(key);
    const hex = digest.toString("hex");
    let entry = this.#byDigestHex.get(hex);
    if (entry === undefined) {
      entry = { digest, tenants: new Set(), admin: false, bucket: undefined, quotaId: undefined };
      this.#byDigestHex.set(hex, entry);
    }
    if (tenant === undefined) entry.admin = true;
    else entry.tenants.add(tenant);
    if (quota !== undefined) {
      if (entry.bucket !== undefined) throw new ApiKeyConfigError(`${where}: this key already has a quota`);
      // Starts full; the clock value only matters for the next refill, which caps at the burst.
      entry.bucket = new TokenBucket(quota, 0);
      entry.quotaId = where;
      this.#byQuotaId.set(where, entry);
      this.#keyQuotas = true;
    }
  }

  #addTenantKey(item: unknown, tenant: string, where: string): void {
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      const spec = item as Record<string, unknown>;
      for (const k of Object.keys(spec)) {
        if (k !== "key" && k !== "quota") {
          throw new ApiKeyConfigError(`${where}.${k} is not a key field (use "key" and "quota")`);
        }
      }
      const quota = spec.quota === undefined ? undefined : quotaLimit(spec.quota, `${where}.quota`);
      this.#add(spec.key, tenant, `${where}.key`, quota);
      return;
    }
    this.#add(item, tenant, where);
  }

  #addAll(config: ApiKeysFile): void {
    if (config.tenants !== undefined) {
      if (typeof config.tenants !== "object" || config.tenants === null || Array.isArray(config.tenants)) {
        throw new ApiKeyConfigError('"tenants" must be an object of tenant id → key list');
      }
      for (const [tenant, keys] of Object.entries(config.tenants)) {
        if (!Array.isArray(keys))
          throw new ApiKeyConfigError(`tenants.${tenant}: keys of tenant ${tenant} must be an array`);
        for (const [i, k] of keys.entries()) this.#addTenantKey(k, tenant, `tenants.${tenant}[${i}]`);
      }
    }
    if (config.admin !== undefined) {
      if (!Array.isArray(config.admin)) throw new ApiKeyConfigError('"admin" must be an array of keys');
      for (const [i, k] of config.admin.entries()) this.#add(k, undefined, `admin[${i}]`);
    }
    if (config.quotas !== undefined) {
      if (typeof config.quotas !== "object" || config.quotas === null || Array.isArray(config.quotas)) {
        throw new ApiKeyConfigError('"quotas" must be an object of tenant id → {"events_per_second", "burst"}');
      }
      for (const [tenant, limit] of Object.entries(config.quotas)) {
        if (!TENANT_RE.test(tenant)) {
          throw new ApiKeyConfigError(`quotas: invalid tenant id ${JSON.stringify(tenant)}`);
        }
        this.#quotas.set(tenant, quotaLimit(limit, `quotas.${tenant}`));
      }
    }
    for (const k of Object.keys(config)) {
      if (k !== "tenants" && k !== "admin" && k !== "quotas") {
        throw new ApiKeyConfigError(`"${k}" is not a keys-file field (use "tenants", "admin" and "quotas")`);
      }
    }
  }

  /** Tenant id → its ingestion limit, from the keys file's "quotas". */
  tenantQuotas(): ReadonlyMap<string, QuotaLimit> {
    return this.#quotas;
  }

  /** Whether some key has a quota of its own. */
  hasKeyQuotas(): boolean {
    return this.#keyQuotas;
  }

  /** The bucket of the key whose quota `quotaId` names (see `KeyQuota.quotaId`), if any. */
  keyBucket(quotaId: string): TokenBucket | undefined {
    return this.#byQuotaId.get(quotaId)?.bucket;
  }

  /**
   * Keeps the fill level of key buckets from `previous` (a reload) for keys whose limit did
   * not change, so reloading the file neither refills nor drains a key's quota.
   */
  carryBucketsFrom(previous: ApiKeyAuth): void {
    for (const [hex, entry] of this.#byDigestHex) {
      const old = previous.#byDigestHex.get(hex)?.bucket;
      const cur = entry.bucket;
      if (
        old !== undefined &&
        cur !== undefined &&
        old.limit.eventsPerSecond === cur.limit.eventsPerSecond &&
        old.limit.burst === cur.limit.burst
      ) {
        entry.bucket = old;
      }
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
    try {
      return new ApiKeyAuth(parsed as ApiKeysFile);
    } catch (e) {
      if (e instanceof ApiKeyConfigError) throw new ApiKeyConfigError(`API keys file ${path}: ${e.message}`);
      throw e;
    }
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

  /**
   * The key a header value (raw, or "Bearer <key>") names, or undefined when it is missing or
   * unknown. One digest per call: callers checking several tenants resolve once.
   */
  resolve(headerValue: string | undefined): ResolvedKey | undefined {
    return this.#lookup(headerValue);
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

/** parseQuotaLimit with its error as an ApiKeyConfigError (one error class for a bad keys file). */
function quotaLimit(value: unknown, where: string): QuotaLimit {
  try {
    return parseQuotaLimit(value, where);
  } catch (e) {
    if (e instanceof QuotaConfigError) throw new ApiKeyConfigError(e.message);
    throw e;
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
