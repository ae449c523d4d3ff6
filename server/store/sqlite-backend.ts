/**
 * The embedded config backend on SQLite (`node:sqlite`, no native addon to build).
 *
 * One database file (default `<dataDir>/configs.db`), WAL journal with synchronous=FULL: a
 * write returns only after its commit is fsync'd, so it survives `kill -9` and power loss.
 * Several processes may share the file (workers, or servers on one host): writes are
 * compare-and-set in a `BEGIN IMMEDIATE` transaction, and `PRAGMA data_version` tells a poll
 * cheaply whether another connection committed since the previous one.
 *
 * Rows hold the protobuf binary of the TrackingConfig (compact, lossless, schema-evolvable);
 * tenant/scenario/type/active/version/updated_at are also columns for filtering. Each version
 * is kept in `tracking_config_history` so a config change can be traced (the seed's Q2 advice).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type TrackingConfig, TrackingConfigSchema } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import {
  type BackendChanges,
  CachedConfigStore,
  type ConfigBackend,
  type HistoryEntry,
  type StoreOptions,
} from "./config-store.js";

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
  // 2: polls read rows by their updated_at watermark.
  "CREATE INDEX tracking_configs_updated ON tracking_configs (updated_at);",
];

/** Options of the SQLite-backed store. */
export interface SqliteStoreOptions extends StoreOptions {
  /** The database file (its directory is created if missing), e.g. `<dataDir>/configs.db`. */
  file: string;
}

/** Opens (creating and migrating as needed) the SQLite file and loads the cache. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<CachedConfigStore> {
  return CachedConfigStore.open(new SqliteBackend(options.file, options.now ?? Date.now), options);
}

/** The SQLite persistence of a CachedConfigStore. */
export class SqliteBackend implements ConfigBackend {
  readonly kind = "sqlite";
  readonly location: string;
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;
  readonly #history: StatementSync;
  readonly #dataVersion: StatementSync;
  /** data_version at the previous `changes`; another connection's commit changes it. */
  #lastDataVersion = -1;

  /** Opens `file`, creating and migrating the schema. */
  constructor(file: string, now: () => number = Date.now) {
    mkdirSync(dirname(file), { recursive: true });
    this.location = file;
    this.#now = now;
    this.#db = new DatabaseSync(file);
    // busy_timeout first: another process's short write transaction (or its switch of a fresh
    // file to WAL) is waited for, not an error. WAL: readers never block the writer; FULL: fsync
    // the WAL on every commit (durable).
    this.#db.exec("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    this.#migrate();
    this.#select = this.#db.prepare(
      "SELECT version, config FROM tracking_configs WHERE tenant_id = ? AND scenario_id = ?",
    );
    this.#insert = this.#db.prepare(
      `INSERT INTO tracking_configs (tenant_id, scenario_id, scenario_type, is_active, version, created_at, updated_at, config)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#update = this.#db.prepare(
      `UPDATE tracking_configs SET scenario_type = ?, is_active = ?, version = ?, created_at = ?, updated_at = ?, config = ?
       WHERE tenant_id = ? AND scenario_id = ? AND version = ?`,
    );
    this.#history = this.#db.prepare(
      `INSERT OR REPLACE INTO tracking_config_history (tenant_id, scenario_id, version, changed_at, change, config)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#dataVersion = this.#db.prepare("PRAGMA data_version");
  }

  /** Schema version (`PRAGMA user_version`) after migrations. */
  schemaVersion(): number {
    return Number(this.#db.prepare("PRAGMA user_version").get()!.user_version);
  }

  #migrate(): void {
    this.#tx(() => {
      // In the transaction: two processes opening a fresh file migrate it once.
      this.#db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
      );
      const current = this.schemaVersion();
      if (current > MIGRATIONS.length) {
        throw new Error(`${this.location} schema version ${current} is newer than this server (${MIGRATIONS.length})`);
      }
      for (let v = current; v < MIGRATIONS.length; v++) {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(v + 1, this.#now());
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
      }
    });
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

  async fetch(tenant: string, scenario: string): Promise<TrackingConfig | undefined> {
    const row = this.#select.get(tenant, scenario);
    return row === undefined ? undefined : fromBinary(TrackingConfigSchema, row.config as Uint8Array);
  }

  #appendHistory(cfg: TrackingConfig, bin: Uint8Array, change: string): void {
    this.#history.run(cfg.tenantId, cfg.scenarioId, cfg.version, cfg.updatedAt, change, bin);
  }

  async insert(cfg: TrackingConfig, change: string): Promise<boolean> {
    const bin = toBinary(TrackingConfigSchema, cfg);
    return this.#tx(() => {
      if (this.#select.get(cfg.tenantId, cfg.scenarioId) !== undefined) return false;
      this.#insert.run(
        cfg.tenantId,
        cfg.scenarioId,
        cfg.scenarioType,
        cfg.isActive ? 1 : 0,
        cfg.version,
        cfg.createdAt,
        cfg.updatedAt,
        bin,
      );
      this.#appendHistory(cfg, bin, change);
      return true;
    });
  }

  async replace(cfg: TrackingConfig, expectedVersion: number, change: string): Promise<boolean> {
    const bin = toBinary(TrackingConfigSchema, cfg);
    return this.#tx(() => {
      const r = this.#update.run(
        cfg.scenarioType,
        cfg.isActive ? 1 : 0,
        cfg.version,
        cfg.createdAt,
        cfg.updatedAt,
        bin,
        cfg.tenantId,
        cfg.scenarioId,
        expectedVersion,
      );
      if (Number(r.changes) !== 1) return false;
      this.#appendHistory(cfg, bin, change);
      return true;
    });
  }

  async changes(since: number | undefined): Promise<BackendChanges> {
    const dv = Number(this.#dataVersion.get()!.data_version);
    const out: BackendChanges = { configs: [], malformed: [] };
    if (since !== undefined && dv === this.#lastDataVersion) return out;
    this.#lastDataVersion = dv;
    const rows =
      since === undefined
        ? this.#db.prepare("SELECT tenant_id, scenario_id, config FROM tracking_configs").all()
        : this.#db
            .prepare("SELECT tenant_id, scenario_id, config FROM tracking_configs WHERE updated_at >= ?")
            .all(since);
    for (const row of rows) {
      try {
        out.configs.push(fromBinary(TrackingConfigSchema, row.config as Uint8Array));
      } catch (e) {
        out.malformed.push({
          id: `${String(row.tenant_id)}/${String(row.scenario_id)}`,
          reason: e instanceof Error ? e.message : String(e),
        });
      }
    }
    return out;
  }

  async history(tenant: string, scenario: string): Promise<HistoryEntry[]> {
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

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
