/**
 * The tracking-config store: one interface (`ConfigStore`), one implementation of its rules
 * (`CachedConfigStore`) over a persistence backend — SQLite (server/store/sqlite-backend.ts,
 * the embedded default) or MongoDB (server/store/mongo-backend.ts, shared by many servers).
 *
 * Every config is cached in memory: `activeConfig` (the event hot path), `get` and `list`
 * never touch the database. Writes are conditional on the version the cache holds (compare
 * and set in the backend), so concurrent writers — in this process or in other servers on
 * the same database — never lose an update: a lost race re-reads the row and, without an
 * expected version (last writer wins), retries on it; with one (If-Match), fails with
 * VersionConflictError. A poller reads rows changed by other processes (an `updated_at`
 * watermark) into the cache and tells the subscribers (RuleBook), so every instance judges
 * events by the same version within about one poll interval.
 */
import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
import { type TrackingConfig, TrackingConfigSchema } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { trackingConfigToWire } from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import type { Violation } from "../contracts.js";

/** Thrown by `create` when an active config already exists for (tenant, scenario). HTTP 409. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConflictError";
  }
}

/**
 * Thrown by a conditional write (If-Match / a `version` in the update) when the stored
 * version differs from the expected one. HTTP 409 / gRPC ABORTED; `currentVersion` is the
 * stored one (0: the config does not exist).
 */
export class VersionConflictError extends Error {
  readonly currentVersion: number;
  constructor(message: string, currentVersion: number) {
    super(message);
    this.name = "VersionConflictError";
    this.currentVersion = currentVersion;
  }
}

/** Thrown by `update` / `softDelete` when no config exists for (tenant, scenario). HTTP 404. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** Thrown by writes while the database cannot be reached. HTTP 503 + Retry-After / gRPC UNAVAILABLE. */
export class ConfigStoreUnavailableError extends Error {
  /** Seconds a client should wait before retrying (Retry-After). */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.name = "ConfigStoreUnavailableError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Thrown when a config (or an update) is invalid: unknown/immutable update paths or
 * violations from the configured validator. HTTP 400; `violations` name the fields.
 */
export class ConfigValidationError extends Error {
  readonly violations: Violation[];
  constructor(message: string, violations: Violation[]) {
    super(message);
    this.name = "ConfigValidationError";
    this.violations = violations;
  }
}

/** Filters of `list`. */
export interface ListFilter {
  tenant_id?: string | undefined;
  scenario_type?: string | undefined;
  include_inactive?: boolean | undefined;
}

/** One stored version of a config (`history`). */
export interface HistoryEntry {
  version: number;
  /** Milliseconds since the epoch. */
  changed_at: number;
  /** "create", "recreate", "update", "delete" or "import". */
  change: string;
  config: TrackingConfig;
}

/** Receives every config after it was durably written, here or (seen by polling) by another process. */
export type ConfigListener = (config: TrackingConfig) => void;

/** What `importConfig` did. */
export type ImportOutcome = "created" | "updated" | "unchanged";

/** The tracking-config store every backend offers. */
export interface ConfigStore {
  /** "sqlite" or "mongodb". */
  readonly kind: string;
  /** Where the configs live, for logs (a file path, or a URI with the password masked). */
  readonly location: string;
  /**
   * Creates a config: active, version 1, created_at = updated_at = now. Re-creating a
   * soft-deleted config reactivates it with version + 1 (created_at kept). Throws
   * ConflictError when an active one exists, ConfigValidationError when invalid.
   */
  create(config: TrackingConfig): Promise<TrackingConfig>;
  /** The config for (tenant, scenario), active or not, from the cache; a copy the caller may modify. */
  get(tenant: string, scenario: string): TrackingConfig | undefined;
  /** Configs matching the filter (active only unless include_inactive), ordered by tenant then scenario. */
  list(filter?: ListFilter): TrackingConfig[];
  /**
   * Partial update: only the top-level fields named in `paths` (snake_case or camelCase,
   * e.g. "optional_fields") take their values from `patch`; version increments and
   * updated_at is set. Server-managed paths (version, created_at, updated_at, is_active) are
   * ignored; tenant_id/scenario_id must not change; unknown paths are refused. Works on
   * inactive configs too (they stay inactive). Throws NotFoundError when absent, and
   * VersionConflictError when `expectedVersion` is given and is not the stored version.
   */
  update(
    tenant: string,
    scenario: string,
    patch: TrackingConfig,
    paths: readonly string[],
    expectedVersion?: number,
  ): Promise<TrackingConfig>;
  /** Deactivates the config (is_active=false, version + 1); it stays readable. NotFoundError when absent. */
  softDelete(tenant: string, scenario: string, expectedVersion?: number): Promise<TrackingConfig>;
  /**
   * Writes an exported config (export/import between stores): created when absent, its
   * content and active flag applied when different (one new version), nothing when equal.
   */
  importConfig(config: TrackingConfig): Promise<ImportOutcome>;
  /**
   * The active config for (tenant, scenario) from memory — the event hot path; never touches
   * the database. Returns the cached object itself (no copy): callers must not modify it.
   */
  activeConfig(tenant: string, scenario: string): Readonly<TrackingConfig> | undefined;
  /** Every stored version of a config, oldest first (for auditing changes). */
  history(tenant: string, scenario: string): Promise<HistoryEntry[]>;
  /** Calls `listener` after every write seen by this store; returns an unsubscribe function. */
  subscribe(listener: ConfigListener): () => void;
  /** Reads what other processes changed since the last poll now (the poller calls it); resolves to the number applied. */
  refresh(): Promise<number>;
  /** Whether the database answered the last operation (false: configs are served from the cache). */
  available(): boolean;
  /** Documents/rows found malformed and skipped so far. */
  malformedCount(): number;
  /** Stops polling and closes the database; further writes throw. */
  close(): Promise<void>;
}

/** Rows changed since a watermark, as a backend read them. */
export interface BackendChanges {
  configs: TrackingConfig[];
  /** Rows that could not be read as a TrackingConfig: an identifier and why. */
  malformed: Array<{ id: string; reason: string }>;
}

/**
 * The persistence a CachedConfigStore needs. Writes are compare-and-set; each also appends
 * the history entry. Connectivity failures reject with ConfigStoreUnavailableError.
 */
export interface ConfigBackend {
  readonly kind: string;
  readonly location: string;
  /** The stored config of (tenant, scenario), read from the database. */
  fetch(tenant: string, scenario: string): Promise<TrackingConfig | undefined>;
  /** Inserts a new config; false when one exists for (tenant, scenario). */
  insert(config: TrackingConfig, change: string): Promise<boolean>;
  /** Replaces the config if its stored version is `expectedVersion`; false otherwise. */
  replace(config: TrackingConfig, expectedVersion: number, change: string): Promise<boolean>;
  /**
   * Configs with updated_at ≥ `since` (every config when undefined). May return nothing when
   * the backend knows no other process wrote since the previous call.
   */
  changes(since: number | undefined): Promise<BackendChanges>;
  history(tenant: string, scenario: string): Promise<HistoryEntry[]>;
  /**
   * Optional push notification of other processes' writes (e.g. MongoDB change streams):
   * calls `onChange` to read them at once instead of at the next poll; polling stays the
   * source of truth, so a backend that cannot watch simply logs why and never calls it.
   */
  watch?(onChange: () => void, log: (line: string) => void): void;
  close(): Promise<void>;
}

/** Options of a CachedConfigStore (every backend). */
export interface StoreOptions {
  /**
   * Checks a config before it is written (create, and the merged result of update). Return
   * errors to refuse the write with ConfigValidationError; e.g. `validateConfigDefinition`.
   */
  validate?: ((config: TrackingConfig) => Violation[]) | undefined;
  /** Clock for created_at/updated_at; injectable for tests. Default Date.now. */
  now?: (() => number) | undefined;
  /** How often rows changed by other processes are read, ms. Default 500; 0 disables polling. */
  pollIntervalMs?: number | undefined;
  /**
   * How far before the newest updated_at seen a poll reads again, ms (default 5000): covers
   * writes that commit after a later-stamped one and clocks of other servers slightly behind.
   */
  pollLookbackMs?: number | undefined;
  /** Every this many polls, every row is compared (a full resync). Default 60. */
  fullResyncEvery?: number | undefined;
  /** Warnings (malformed rows, database down/up). Default console.error. */
  log?: ((line: string) => void) | undefined;
}

/** Fields the server manages; named in an update they are ignored (a GET body can be PUT back). */
const SERVER_MANAGED = new Set(["version", "created_at", "updated_at", "is_active"]);
/** Identity fields: may appear in an update only with the same value. */
const IDENTITY = new Set(["tenant_id", "scenario_id"]);

/** snake_case, camelCase and JSON names of TrackingConfig fields → names. */
const FIELD_BY_PATH: ReadonlyMap<string, { name: string; localName: string }> = (() => {
  const m = new Map<string, { name: string; localName: string }>();
  for (const f of TrackingConfigSchema.fields) {
    const entry = { name: f.name, localName: f.localName };
    m.set(f.name, entry);
    m.set(f.localName, entry);
    m.set(f.jsonName, entry);
  }
  return m;
})();

/** Every field an import may set (all but the server-managed ones). */
const CONTENT_PATHS: readonly string[] = TrackingConfigSchema.fields
  .map((f) => f.name)
  .filter((n) => !SERVER_MANAGED.has(n));

/** The config's content without server-managed fields, canonical (field-number order) for comparing. */
function contentOf(config: TrackingConfig): string {
  const w = trackingConfigToWire(config) as unknown as Record<string, unknown>;
  for (const k of SERVER_MANAGED) delete w[k];
  return JSON.stringify(w);
}

/** Whether a path of an update names a field of TrackingConfig `name` (snake_case). */
export function pathNames(path: string, name: string): boolean {
  return FIELD_BY_PATH.get(path)?.name === name;
}

function keyOf(tenant: string, scenario: string): string {
  return `${tenant}/${scenario}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A lost compare-and-set without an expected version is retried this often before giving up with 409. */
const MAX_WRITE_ATTEMPTS = 64;

/** The store's rules over any backend, with the in-memory cache and the poller. */
export class CachedConfigStore implements ConfigStore {
  readonly kind: string;
  readonly location: string;
  readonly #backend: ConfigBackend;
  readonly #validate: ((config: TrackingConfig) => Violation[]) | undefined;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #lookbackMs: number;
  readonly #fullResyncEvery: number;
  /** All configs (active and inactive), keyed `${tenant}/${scenario}`; mirrors the database. */
  readonly #cache = new Map<string, TrackingConfig>();
  readonly #listeners = new Set<ConfigListener>();
  /** Newest updated_at seen; undefined before the first load. */
  #watermark: number | undefined;
  #polls = 0;
  #polling: Promise<number> | undefined;
  /** A change was signalled while a poll ran (it may have read before that commit): poll again. */
  #pollAgain = false;
  #timer: NodeJS.Timeout | undefined;
  #up = true;
  #malformed = 0;
  /** Malformed rows already logged, so a poll does not repeat the warning every interval. */
  readonly #reported = new Set<string>();
  #closed = false;

  private constructor(backend: ConfigBackend, options: StoreOptions) {
    this.kind = backend.kind;
    this.location = backend.location;
    this.#backend = backend;
    this.#validate = options.validate;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? ((line: string) => console.error(line));
    this.#lookbackMs = options.pollLookbackMs ?? 5000;
    this.#fullResyncEvery = options.fullResyncEvery ?? 60;
  }

  /** Loads every config of `backend` into the cache and starts polling it. */
  static async open(backend: ConfigBackend, options: StoreOptions = {}): Promise<CachedConfigStore> {
    const store = new CachedConfigStore(backend, options);
    try {
      await store.refresh();
    } catch (e) {
      await backend.close();
      throw e;
    }
    const interval = options.pollIntervalMs ?? 500;
    if (interval > 0) {
      backend.watch?.(() => store.#wake(), store.#log);
      store.#timer = setInterval(() => {
        store.refresh().catch(() => {
          // refresh() already recorded the outage; the next tick retries.
        });
      }, interval);
      store.#timer.unref();
    }
    return store;
  }

  available(): boolean {
    return this.#up;
  }

  malformedCount(): number {
    return this.#malformed;
  }

  /** Runs a backend call, tracking whether the database answers. */
  async #io<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error("config store is closed");
    try {
      const r = await op();
      this.#setUp(true);
      return r;
    } catch (e) {
      if (e instanceof ConfigStoreUnavailableError) this.#setUp(false, e.message);
      throw e;
    }
  }

  #setUp(up: boolean, why = ""): void {
    if (up === this.#up) return;
    this.#up = up;
    this.#log(
      up
        ? `config store ${this.location}: reachable again`
        : `config store ${this.location}: unreachable (${why}); serving configs from the cache, writes get 503`,
    );
  }

  refresh(): Promise<number> {
    // One poll at a time: a slow database must not pile up concurrent polls.
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined;
      if (this.#pollAgain && !this.#closed) {
        this.#pollAgain = false;
        this.#wake();
      }
    });
    return this.#polling;
  }

  /** Polls now (a change was signalled), or right after the poll in progress. */
  #wake(): void {
    if (this.#polling !== undefined) {
      this.#pollAgain = true;
      return;
    }
    this.refresh().catch(() => {
      // Recorded by refresh(); the timer retries.
    });
  }

  async #poll(): Promise<number> {
    const full = this.#watermark === undefined || ++this.#polls % this.#fullResyncEvery === 0;
    const since = full ? undefined : (this.#watermark ?? 0) - this.#lookbackMs;
    const found = await this.#io(() => this.#backend.changes(since));
    for (const m of found.malformed) {
      const id = `${m.id}: ${m.reason}`;
      if (this.#reported.has(id)) continue;
      this.#reported.add(id);
      this.#malformed++;
      this.#log(`config store ${this.location}: skipped malformed config ${id}`);
    }
    let applied = 0;
    let watermark = this.#watermark ?? 0;
    for (const c of found.configs) {
      const at = Number(c.updatedAt);
      if (at > watermark) watermark = at;
      if (this.#apply(c)) applied++;
    }
    this.#watermark = watermark;
    return applied;
  }

  /** Puts a config read or written into the cache if it is newer, and tells the listeners. */
  #apply(config: TrackingConfig): boolean {
    const key = keyOf(config.tenantId, config.scenarioId);
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.version >= config.version) return false;
    this.#cache.set(key, config);
    for (const l of this.#listeners) {
      try {
        l(config);
      } catch (e) {
        // One listener's failure (e.g. a hand-edited config that does not compile) must not
        // stop the others or the poller.
        this.#log(`config ${key} v${config.version}: listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return true;
  }

  /** Re-reads one config from the database into the cache (after a lost compare-and-set). */
  async #reload(tenant: string, scenario: string): Promise<TrackingConfig | undefined> {
    const fresh = await this.#io(() => this.#backend.fetch(tenant, scenario));
    if (fresh !== undefined) this.#apply(fresh);
    return this.#cache.get(keyOf(tenant, scenario));
  }

  #check(config: TrackingConfig): void {
    if (this.#validate === undefined) return;
    const errors = this.#validate(config).filter((v) => v.severity === "error");
    if (errors.length > 0) {
      throw new ConfigValidationError(errors.map((v) => v.message).join("; "), errors);
    }
  }

  /**
   * The write loop: builds the new config from the cached one, writes it conditionally on
   * the cached version, and on a lost race reloads and retries (or, with an expected
   * version, reports the conflict). `build` returns undefined for "nothing to write".
   */
  async #commit(
    tenant: string,
    scenario: string,
    expectedVersion: number | undefined,
    build: (current: TrackingConfig | undefined) => { config: TrackingConfig; change: string } | undefined,
  ): Promise<TrackingConfig> {
    if (this.#closed) throw new Error("config store is closed");
    const key = keyOf(tenant, scenario);
    let current = this.#cache.get(key);
    if (expectedVersion !== undefined && (current?.version ?? 0) !== expectedVersion) {
      // The cache may be behind another server's write: ask the database before refusing.
      current = await this.#reload(tenant, scenario);
      if ((current?.version ?? 0) !== expectedVersion) throw this.#stale(tenant, scenario, expectedVersion, current);
    }
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const next = build(current === undefined ? undefined : clone(TrackingConfigSchema, current));
      if (next === undefined) return clone(TrackingConfigSchema, current!);
      const { config, change } = next;
      const written = await this.#io(() =>
        current === undefined
          ? this.#backend.insert(config, change)
          : this.#backend.replace(config, current.version, change),
      );
      if (written) {
        this.#apply(config);
        return clone(TrackingConfigSchema, config);
      }
      current = await this.#reload(tenant, scenario);
      if (expectedVersion !== undefined) throw this.#stale(tenant, scenario, expectedVersion, current);
      // The winner may still be between its two writes: back off a little, with jitter.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
    }
    throw new VersionConflictError(
      `tracking config ${key} kept changing during the update; retry`,
      current?.version ?? 0,
    );
  }

  #stale(
    tenant: string,
    scenario: string,
    expected: number,
    current: TrackingConfig | undefined,
  ): VersionConflictError {
    const v = current?.version ?? 0;
    return new VersionConflictError(
      `tracking config ${tenant}/${scenario} is at version ${v}, not the expected ${expected}; read it again and retry`,
      v,
    );
  }

  async create(config: TrackingConfig): Promise<TrackingConfig> {
    return this.#commit(config.tenantId, config.scenarioId, undefined, (existing) => {
      if (existing?.isActive) {
        throw new ConflictError(
          `tracking config ${config.tenantId}/${config.scenarioId} already exists (v${existing.version}); update it instead`,
        );
      }
      const cfg = clone(TrackingConfigSchema, config);
      const now = BigInt(this.#now());
      cfg.isActive = true;
      cfg.version = existing === undefined ? 1 : existing.version + 1;
      cfg.createdAt = existing === undefined ? now : existing.createdAt;
      cfg.updatedAt = now;
      this.#check(cfg);
      return { config: cfg, change: existing === undefined ? "create" : "recreate" };
    });
  }

  get(tenant: string, scenario: string): TrackingConfig | undefined {
    const c = this.#cache.get(keyOf(tenant, scenario));
    return c === undefined ? undefined : clone(TrackingConfigSchema, c);
  }

  list(filter: ListFilter = {}): TrackingConfig[] {
    const out: TrackingConfig[] = [];
    for (const c of this.#cache.values()) {
      if (filter.tenant_id && c.tenantId !== filter.tenant_id) continue;
      if (filter.scenario_type && c.scenarioType !== filter.scenario_type) continue;
      if (!filter.include_inactive && !c.isActive) continue;
      out.push(clone(TrackingConfigSchema, c));
    }
    out.sort((a, b) => (a.tenantId === b.tenantId ? cmp(a.scenarioId, b.scenarioId) : cmp(a.tenantId, b.tenantId)));
    return out;
  }

  async update(
    tenant: string,
    scenario: string,
    patch: TrackingConfig,
    paths: readonly string[],
    expectedVersion?: number,
  ): Promise<TrackingConfig> {
    return this.#commit(tenant, scenario, expectedVersion, (existing) => {
      if (existing === undefined) throw new NotFoundError(`tracking config ${tenant}/${scenario} not found`);
      return { config: this.#merge(existing, patch, paths), change: "update" };
    });
  }

  #merge(existing: TrackingConfig, patch: TrackingConfig, paths: readonly string[]): TrackingConfig {
    const cfg = clone(TrackingConfigSchema, existing);
    const problems: Violation[] = [];
    const target = cfg as unknown as Record<string, unknown>;
    const source = patch as unknown as Record<string, unknown>;
    for (const p of paths) {
      const f = FIELD_BY_PATH.get(p);
      if (f === undefined) {
        problems.push({
          field: p,
          rule: "unknown_field",
          message: `${p} is not a field of TrackingConfig`,
          severity: "error",
        });
        continue;
      }
      if (SERVER_MANAGED.has(f.name)) continue;
      if (IDENTITY.has(f.name)) {
        if (source[f.localName] !== "" && source[f.localName] !== target[f.localName]) {
          problems.push({
            field: f.name,
            rule: "immutable",
            message: `${f.name} cannot be changed by an update`,
            severity: "error",
          });
        }
        continue;
      }
      const v = source[f.localName];
      // Repeated fields are copied so later changes to `patch` do not leak into the store.
      target[f.localName] = Array.isArray(v) ? v.map((x: unknown) => x) : v;
    }
    if (problems.length > 0) throw new ConfigValidationError(problems.map((v) => v.message).join("; "), problems);
    cfg.version = existing.version + 1;
    cfg.updatedAt = BigInt(this.#now());
    // Re-clone so nested FieldSpec messages taken from `patch` are owned by the store.
    const owned = clone(TrackingConfigSchema, cfg);
    this.#check(owned);
    return owned;
  }

  async softDelete(tenant: string, scenario: string, expectedVersion?: number): Promise<TrackingConfig> {
    return this.#commit(tenant, scenario, expectedVersion, (existing) => {
      if (existing === undefined) throw new NotFoundError(`tracking config ${tenant}/${scenario} not found`);
      if (!existing.isActive) return undefined;
      existing.isActive = false;
      existing.version += 1;
      existing.updatedAt = BigInt(this.#now());
      return { config: existing, change: "delete" };
    });
  }

  async importConfig(config: TrackingConfig): Promise<ImportOutcome> {
    let outcome: ImportOutcome = "unchanged";
    await this.#commit(config.tenantId, config.scenarioId, undefined, (existing) => {
      const active = config.isActive;
      if (existing === undefined) {
        const cfg = clone(TrackingConfigSchema, config);
        const now = BigInt(this.#now());
        cfg.isActive = active;
        cfg.version = 1;
        cfg.createdAt = config.createdAt === 0n ? now : config.createdAt;
        cfg.updatedAt = now;
        this.#check(cfg);
        outcome = "created";
        return { config: cfg, change: "import" };
      }
      if (contentOf(existing) === contentOf(config) && existing.isActive === active) {
        outcome = "unchanged";
        return undefined;
      }
      const cfg = this.#merge(existing, config, CONTENT_PATHS);
      cfg.isActive = active;
      outcome = "updated";
      return { config: cfg, change: "import" };
    });
    return outcome;
  }

  activeConfig(tenant: string, scenario: string): Readonly<TrackingConfig> | undefined {
    const c = this.#cache.get(keyOf(tenant, scenario));
    return c?.isActive ? c : undefined;
  }

  history(tenant: string, scenario: string): Promise<HistoryEntry[]> {
    return this.#io(() => this.#backend.history(tenant, scenario));
  }

  subscribe(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#polling?.catch(() => undefined);
    await this.#backend.close();
  }
}

/** Convenience for callers and tests: a TrackingConfig message from partial init values. */
export function newTrackingConfig(init: MessageInitShape<typeof TrackingConfigSchema>): TrackingConfig {
  return create(TrackingConfigSchema, init);
}
