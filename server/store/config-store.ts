/**
 * Tracking-config store on SQLite (`node:sqlite`, no native addon to build).
 *
 * `<dataDir>/configs.db`, WAL journal with synchronous=FULL: a write returns only after its
 * commit is fsync'd, so it survives `kill -9` and power loss. Every write also updates an
 * in-memory cache, which serves `activeConfig` on the event hot path without touching SQLite.
 * This process is assumed to be the only writer of the database (one server per data dir).
 *
 * Rows hold the protobuf binary of the TrackingConfig (compact, lossless, schema-evolvable);
 * tenant/scenario/type/active/version are also columns for filtering. Each version is kept in
 * `tracking_config_history` so a config change can be traced (the seed's Q2 advice).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { clone, create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { type TrackingConfig, TrackingConfigSchema } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import type { Violation } from "../contracts.js";

/** Thrown by `create` when an active config already exists for (tenant, scenario). HTTP 409. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConflictError";
  }
}

/** Thrown by `update` / `softDelete` when no config exists for (tenant, scenario). HTTP 404. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
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

/** Options for `ConfigStore.open`. */
export interface ConfigStoreOptions {
  /** Directory of `configs.db` (created if missing). */
  dataDir: string;
  /**
   * Checks a config before it is written (create, and the merged result of update). Return
   * errors to refuse the write with ConfigValidationError; e.g. `validateConfigDefinition`.
   */
  validate?: (config: TrackingConfig) => Violation[];
  /** Clock for created_at/updated_at; injectable for tests. */
  now?: () => number;
}

/** Filters of `list`. */
export interface ListFilter {
  tenant_id?: string | undefined;
  scenario_type?: string | undefined;
  include_inactive?: boolean | undefined;
}

/** Receives every config after it was durably written (create, update, softDelete). */
export type ConfigListener = (config: TrackingConfig) => void;

/** Ordered schema migrations; index + 1 is the `user_version` after applying it. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tracking_configs (
     tenant_id     TEXT    NOT NULL,
     scenario_id   TEXT    NOT NULL,
     scenario_type TEXT    NOT NULL,
     is_active     INTEGER NOT NULL,
     version       INTEGER NOT NULL,
     created_at    INTEGER NOT NULL,
     updated_at    INTEGER NOT NULL,
     config        BLOB    NOT NULL,
     PRIMARY KEY (tenant_id, scenario_id)
   ) WITHOUT ROWID;
   CREATE INDEX tracking_configs_type ON tracking_configs (scenario_type);
   CREATE TABLE tracking_config_history (
     tenant_id   TEXT    NOT NULL,
     scenario_id TEXT    NOT NULL,
     version     INTEGER NOT NULL,
     changed_at  INTEGER NOT NULL,
     change      TEXT    NOT NULL,
     config      BLOB    NOT NULL,
     PRIMARY KEY (tenant_id, scenario_id, version)
   ) WITHOUT ROWID;`,
];

/** Fields the server manages; named in an update they are ignored (a GET body can be PUT back). */
const SERVER_MANAGED = new Set(["version", "created_at", "updated_at", "is_active"]);
/** Identity fields: may appear in an update only with the same value. */
const IDENTITY = new Set(["tenant_id", "scenario_id"]);

/** snake_case, camelCase and JSON names of TrackingConfig fields → localName. */
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

function keyOf(tenant: string, scenario: string): string {
  return `${tenant}/${scenario}`;
}

/** The SQLite-backed tracking-config store with a write-through in-memory cache. */
export class ConfigStore {
  readonly #db: DatabaseSync;
  readonly #validate: ((config: TrackingConfig) => Violation[]) | undefined;
  readonly #now: () => number;
  /** All configs (active and inactive), keyed `${tenant}/${scenario}`; mirrors the table. */
  readonly #cache = new Map<string, TrackingConfig>();
  readonly #listeners = new Set<ConfigListener>();
  readonly #upsert: StatementSync;
  readonly #history: StatementSync;
  #closed = false;

  private constructor(options: ConfigStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.#db = new DatabaseSync(join(options.dataDir, "configs.db"));
    this.#validate = options.validate;
    this.#now = options.now ?? Date.now;
    // WAL: readers never block the writer; FULL: fsync the WAL on every commit (durable).
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    this.#migrate();
    this.#upsert = this.#db.prepare(
      `INSERT INTO tracking_configs (tenant_id, scenario_id, scenario_type, is_active, version, created_at, updated_at, config)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, scenario_id) DO UPDATE SET
         scenario_type = excluded.scenario_type, is_active = excluded.is_active, version = excluded.version,
         created_at = excluded.created_at, updated_at = excluded.updated_at, config = excluded.config`,
    );
    this.#history = this.#db.prepare(
      `INSERT OR REPLACE INTO tracking_config_history (tenant_id, scenario_id, version, changed_at, change, config)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (const row of this.#db.prepare("SELECT config FROM tracking_configs").iterate()) {
      const cfg = fromBinary(TrackingConfigSchema, row.config as Uint8Array);
      this.#cache.set(keyOf(cfg.tenantId, cfg.scenarioId), cfg);
    }
  }

  /** Opens (creating and migrating as needed) `<dataDir>/configs.db` and loads the cache. */
  static open(options: ConfigStoreOptions): ConfigStore {
    return new ConfigStore(options);
  }

  /** Schema version (`PRAGMA user_version`) after migrations. */
  schemaVersion(): number {
    return Number(this.#db.prepare("PRAGMA user_version").get()!.user_version);
  }

  #migrate(): void {
    this.#db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    );
    const current = Number(this.#db.prepare("PRAGMA user_version").get()!.user_version);
    if (current > MIGRATIONS.length) {
      throw new Error(`configs.db schema version ${current} is newer than this server (${MIGRATIONS.length})`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      // One transaction per migration: a crash mid-migration leaves the previous version intact.
      this.#tx(() => {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(v + 1, this.#now());
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const r = fn();
      this.#db.exec("COMMIT");
      return r;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  #check(config: TrackingConfig): void {
    if (this.#validate === undefined) return;
    const errors = this.#validate(config).filter((v) => v.severity === "error");
    if (errors.length > 0) {
      throw new ConfigValidationError(errors.map((v) => v.message).join("; "), errors);
    }
  }

  /** Writes the row and its history entry in one durable transaction, then updates the cache. */
  #write(cfg: TrackingConfig, change: string): TrackingConfig {
    if (this.#closed) throw new Error("ConfigStore is closed");
    const bin = toBinary(TrackingConfigSchema, cfg);
    this.#tx(() => {
      this.#upsert.run(
        cfg.tenantId,
        cfg.scenarioId,
        cfg.scenarioType,
        cfg.isActive ? 1 : 0,
        cfg.version,
        cfg.createdAt,
        cfg.updatedAt,
        bin,
      );
      this.#history.run(cfg.tenantId, cfg.scenarioId, cfg.version, cfg.updatedAt, change, bin);
    });
    this.#cache.set(keyOf(cfg.tenantId, cfg.scenarioId), cfg);
    for (const l of this.#listeners) l(cfg);
    return clone(TrackingConfigSchema, cfg);
  }

  /**
   * Creates a config: active, version 1, created_at = updated_at = now. Re-creating a
   * soft-deleted config reactivates it with version + 1 (created_at kept). Throws
   * ConflictError when an active one exists, ConfigValidationError when invalid.
   */
  create(config: TrackingConfig): TrackingConfig {
    const existing = this.#cache.get(keyOf(config.tenantId, config.scenarioId));
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
    return this.#write(cfg, existing === undefined ? "create" : "recreate");
  }

  /** The config for (tenant, scenario), active or not; a copy the caller may modify. */
  get(tenant: string, scenario: string): TrackingConfig | undefined {
    const c = this.#cache.get(keyOf(tenant, scenario));
    return c === undefined ? undefined : clone(TrackingConfigSchema, c);
  }

  /** Configs matching the filter (active only unless include_inactive), ordered by tenant then scenario. */
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

  /**
   * Partial update: only the top-level fields named in `paths` (snake_case or camelCase,
   * e.g. "optional_fields") take their values from `patch`; version increments and
   * updated_at is set. Server-managed paths (version, created_at, updated_at, is_active) are
   * ignored; tenant_id/scenario_id must not change; unknown paths are refused. Works on
   * inactive configs too (they stay inactive). Throws NotFoundError when absent.
   */
  update(tenant: string, scenario: string, patch: TrackingConfig, paths: readonly string[]): TrackingConfig {
    const existing = this.#cache.get(keyOf(tenant, scenario));
    if (existing === undefined) throw new NotFoundError(`tracking config ${tenant}/${scenario} not found`);
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
    return this.#write(owned, "update");
  }

  /** Deactivates the config (is_active=false, version + 1); it stays readable. NotFoundError when absent. */
  softDelete(tenant: string, scenario: string): TrackingConfig {
    const existing = this.#cache.get(keyOf(tenant, scenario));
    if (existing === undefined) throw new NotFoundError(`tracking config ${tenant}/${scenario} not found`);
    if (!existing.isActive) return clone(TrackingConfigSchema, existing);
    const cfg = clone(TrackingConfigSchema, existing);
    cfg.isActive = false;
    cfg.version = existing.version + 1;
    cfg.updatedAt = BigInt(this.#now());
    return this.#write(cfg, "delete");
  }

  /**
   * The active config for (tenant, scenario) from memory — the event hot path; never touches
   * SQLite. Returns the cached object itself (no copy): callers must not modify it.
   */
  activeConfig(tenant: string, scenario: string): Readonly<TrackingConfig> | undefined {
    const c = this.#cache.get(keyOf(tenant, scenario));
    return c?.isActive ? c : undefined;
  }

  /** Every stored version of a config, oldest first (for auditing changes). */
  history(
    tenant: string,
    scenario: string,
  ): Array<{ version: number; changed_at: number; change: string; config: TrackingConfig }> {
    const rows = this.#db
      .prepare(
        "SELECT version, changed_at, change, config FROM tracking_config_history WHERE tenant_id = ? AND scenario_id = ? ORDER BY version",
      )
      .all(tenant, scenario);
    return rows.map((r) => ({
      version: Number(r.version),
      changed_at: Number(r.changed_at),
      change: String(r.change),
      config: fromBinary(TrackingConfigSchema, r.config as Uint8Array),
    }));
  }

  /**
   * Calls `listener` after every durable write (e.g. to recompile a RuleBook entry).
   * Returns an unsubscribe function.
   */
  subscribe(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes the database; further writes throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Convenience for callers and tests: a TrackingConfig message from partial init values. */
export function newTrackingConfig(init: MessageInitShape<typeof TrackingConfigSchema>): TrackingConfig {
  return create(TrackingConfigSchema, init);
}
