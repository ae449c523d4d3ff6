/**
 * The shared config backend on MongoDB (the official `mongodb` driver; MongoDB ≥ 6, and
 * FerretDB for dev/tests/CI). Every server on the same database sees the same configs.
 *
 * Layout (database from the URI path, default `tracking`):
 * - `tracking_configs`: one document per (tenant_id, scenario_id) — unique index — in the
 *   seed's JSON shape (the generated wire codec, snake_case names, enum names, timestamps
 *   as epoch milliseconds), every field present; soft delete sets `is_active: false`;
 *   `version` and `updated_at` drive compare-and-set writes and the poll watermark (indexed).
 * - `tracking_config_history`: `{tenant_id, scenario_id, version, changed_at, change, config,
 *   claimed_at}` per stored version, unique on (tenant_id, scenario_id, version).
 *
 * Only single-document operations are used (no transactions, no change streams), so a
 * standalone server works. A write first inserts its history entry — the unique index on
 * (tenant_id, scenario_id, version) makes it the one claim on that version — then replaces
 * the config conditionally on the previous version (see `#claim`).
 */
import {
  type ChangeStream,
  type Collection,
  type Document,
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import type { TrackingConfig } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import {
  trackingConfigFromWire,
  trackingConfigToWire,
  validateTrackingConfig,
} from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import {
  type BackendChanges,
  CachedConfigStore,
  type ConfigBackend,
  ConfigStoreUnavailableError,
  type HistoryEntry,
  type StoreOptions,
} from "./config-store.js";

/** A version claim this old whose config was never written is taken as from a dead writer, ms. */
const STALE_CLAIM_MS = 10_000;

/** One document per (tenant_id, scenario_id): the current config. */
export const CONFIGS_COLLECTION = "tracking_configs";
/** One document per stored version (also the claim on that version; see `MongoBackend`). */
export const HISTORY_COLLECTION = "tracking_config_history";

/** Options of the MongoDB-backed store. */
export interface MongoStoreOptions extends StoreOptions {
  /** `mongodb://` or `mongodb+srv://` URI; the database is its path (default `tracking`). */
  uri: string;
  /**
   * How long an operation waits for a reachable server before failing, ms (default 3000):
   * bounds the start-up failure and the 503 of a write while the database is down.
   */
  serverSelectionTimeoutMs?: number | undefined;
}

/** The URI with its password replaced by `***`, for logs and errors. */
export function maskUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/[^:/@]*:)[^@/]*@/, "$1***@");
}

/** The database named by the URI's path, or `tracking`. */
export function databaseOf(uri: string): string {
  const m = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/.exec(uri);
  return decodeURIComponent(m?.[1] ?? "") || "tracking";
}

/** Whether a driver error means "the database cannot be reached" (rather than a refused operation). */
function isUnreachable(e: unknown): boolean {
  return (
    e instanceof MongoNetworkError ||
    e instanceof MongoServerSelectionError ||
    e instanceof MongoNotConnectedError ||
    e instanceof MongoTopologyClosedError
  );
}

/**
 * Server errors meaning "no change streams here" (FerretDB: NotImplemented; a standalone
 * MongoDB: only supported on replica sets; old servers: unknown stage/command).
 */
function changeStreamsUnsupported(e: unknown): boolean {
  return e instanceof MongoServerError && [238, 115, 40573, 40324].includes(Number(e.code));
}

/** A config's document: the seed's JSON shape with every field present. */
function toDocument(config: TrackingConfig): Document {
  return { ...trackingConfigToWire(config, true) };
}

/**
 * Connects (failing within serverSelectionTimeoutMs with the masked URI when unreachable, at
 * once on bad credentials), ensures the indexes, loads the cache and starts polling.
 */
export async function openMongoStore(options: MongoStoreOptions): Promise<CachedConfigStore> {
  const backend = await MongoBackend.connect(options.uri, options.serverSelectionTimeoutMs ?? 3000);
  return CachedConfigStore.open(backend, options);
}

/** The MongoDB persistence of a CachedConfigStore. */
export class MongoBackend implements ConfigBackend {
  readonly kind = "mongodb";
  readonly location: string;
  readonly #client: MongoClient;
  readonly #configs: Collection;
  readonly #history: Collection;
  #stream: ChangeStream | undefined;
  #closing = false;

  private constructor(client: MongoClient, uri: string) {
    this.location = maskUri(uri);
    this.#client = client;
    const db = client.db(databaseOf(uri));
    this.#configs = db.collection(CONFIGS_COLLECTION);
    this.#history = db.collection(HISTORY_COLLECTION);
  }

  /** Connects and creates the indexes (idempotent). Errors name the masked URI. */
  static async connect(uri: string, serverSelectionTimeoutMs: number): Promise<MongoBackend> {
    const masked = maskUri(uri);
    let client: MongoClient;
    try {
      client = new MongoClient(uri, {
        serverSelectionTimeoutMS: serverSelectionTimeoutMs,
        connectTimeoutMS: serverSelectionTimeoutMs,
        appName: "tracking-server",
        // A config write is acknowledged only once a majority has it in the journal (on a
        // standalone server: this one, fsync'd), so an acknowledged change survives a crash.
        // A URI's own w/journal options win.
        writeConcern: { w: "majority", journal: true },
      });
    } catch (e) {
      throw new Error(`config store ${masked}: invalid MongoDB URI: ${(e as Error).message}`);
    }
    try {
      await client.connect();
      const backend = new MongoBackend(client, uri);
      await backend.#configs.createIndex({ tenant_id: 1, scenario_id: 1 }, { unique: true, name: "tenant_scenario" });
      await backend.#configs.createIndex({ updated_at: 1 }, { name: "updated_at" });
      await backend.#history.createIndex(
        { tenant_id: 1, scenario_id: 1, version: 1 },
        { unique: true, name: "tenant_scenario_version" },
      );
      return backend;
    } catch (e) {
      await client.close().catch(() => undefined);
      const why =
        e instanceof MongoServerError && (e.code === 18 || e.codeName === "AuthenticationFailed")
          ? `authentication failed: ${e.message}`
          : isUnreachable(e)
            ? `unreachable within ${serverSelectionTimeoutMs} ms: ${(e as Error).message}`
            : (e as Error).message;
      throw new Error(`config store ${masked}: ${why}`);
    }
  }

  /** Runs a driver call; connectivity failures become ConfigStoreUnavailableError (503). */
  async #op<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isUnreachable(e)) {
        throw new ConfigStoreUnavailableError(`config store ${this.location} unreachable: ${(e as Error).message}`);
      }
      throw e;
    }
  }

  /** A stored document as a config, or why it cannot be one. */
  #read(doc: Document): TrackingConfig | string {
    const { _id, ...wire } = doc;
    const errors = validateTrackingConfig(wire, "kafka").filter((v) => v.severity === "error");
    if (typeof wire.version !== "number" || typeof wire.updated_at !== "number") {
      errors.push({
        field: "version",
        rule: "required",
        message: "version and updated_at must be numbers",
        severity: "error",
      });
    }
    if (errors.length > 0) return errors.map((v) => v.message).join("; ");
    return trackingConfigFromWire(wire);
  }

  async fetch(tenant: string, scenario: string): Promise<TrackingConfig | undefined> {
    const doc = await this.#op(() => this.#configs.findOne({ tenant_id: tenant, scenario_id: scenario }));
    if (doc === null) return undefined;
    const c = this.#read(doc);
    if (typeof c === "string") throw new Error(`config ${tenant}/${scenario} in ${this.location} is malformed: ${c}`);
    return c;
  }

  /**
   * Claims `cfg.version` by inserting its history entry: the unique (tenant, scenario,
   * version) index lets exactly one writer make each version, on any server — no reliance on
   * a filtered update being atomic (FerretDB's is not; MongoDB's is, and this works on both).
   * A lost claim whose writer died before updating the config (older than STALE_CLAIM_MS,
   * the config still at the previous version) is rolled forward from the claim's content.
   */
  async #claim(cfg: TrackingConfig, change: string, previous: number): Promise<boolean> {
    const key = { tenant_id: cfg.tenantId, scenario_id: cfg.scenarioId };
    try {
      await this.#op(() =>
        this.#history.insertOne({
          ...key,
          version: cfg.version,
          changed_at: Number(cfg.updatedAt),
          change,
          config: toDocument(cfg),
          claimed_at: Date.now(),
        }),
      );
      return true;
    } catch (e) {
      if (!(e instanceof MongoServerError && e.code === 11000)) throw e;
    }
    const claim = await this.#op(() => this.#history.findOne({ ...key, version: cfg.version }));
    if (claim === null || Date.now() - Number(claim.claimed_at) < STALE_CLAIM_MS) return false;
    const doc = await this.#op(() => this.#configs.findOne(key));
    if ((doc === null ? 0 : doc.version) !== previous) return false;
    const content = claim.config as Document;
    if (doc === null) await this.#op(() => this.#configs.insertOne({ ...content })).catch(() => undefined);
    else await this.#op(() => this.#configs.replaceOne({ ...key, version: previous }, content));
    return false;
  }

  /** Withdraws a claim whose config write did not happen (best effort: the store may be down). */
  async #unclaim(cfg: TrackingConfig): Promise<void> {
    await this.#history
      .deleteOne({ tenant_id: cfg.tenantId, scenario_id: cfg.scenarioId, version: cfg.version })
      .catch(() => undefined);
  }

  /**
   * After a config write failed with an error (connection lost, server killed), its outcome is
   * unknown: the server may have applied it before the answer was lost. Reads the config back:
   * written → true (the claim stays, it is that version's history); not written → the claim is
   * withdrawn; unreadable → the claim stays and is rolled forward later if the config never moved
   * (so a 503 on a write means "outcome unknown", never a config without its history entry).
   */
  async #settleUnknown(cfg: TrackingConfig): Promise<boolean> {
    try {
      const doc = await this.#configs.findOne(
        { tenant_id: cfg.tenantId, scenario_id: cfg.scenarioId },
        { projection: { version: 1 } },
      );
      if (doc !== null && Number(doc.version) === cfg.version) return true;
      await this.#history.deleteOne({ tenant_id: cfg.tenantId, scenario_id: cfg.scenarioId, version: cfg.version });
    } catch {
      // Unreachable: leave the claim (see above).
    }
    return false;
  }

  async insert(cfg: TrackingConfig, change: string): Promise<boolean> {
    if (!(await this.#claim(cfg, change, 0))) return false;
    try {
      await this.#op(() => this.#configs.insertOne(toDocument(cfg)));
      return true;
    } catch (e) {
      if (e instanceof MongoServerError && e.code === 11000) {
        await this.#unclaim(cfg);
        return false; // a config without history exists
      }
      if (await this.#settleUnknown(cfg)) return true;
      throw e;
    }
  }

  async replace(cfg: TrackingConfig, expectedVersion: number, change: string): Promise<boolean> {
    if (!(await this.#claim(cfg, change, expectedVersion))) return false;
    try {
      const r = await this.#op(() =>
        this.#configs.replaceOne(
          { tenant_id: cfg.tenantId, scenario_id: cfg.scenarioId, version: expectedVersion },
          toDocument(cfg),
        ),
      );
      if (r.matchedCount === 1) return true;
    } catch (e) {
      if (await this.#settleUnknown(cfg)) return true;
      throw e;
    }
    await this.#unclaim(cfg);
    return false;
  }

  async changes(since: number | undefined): Promise<BackendChanges> {
    const filter = since === undefined ? {} : { updated_at: { $gte: since } };
    const docs = await this.#op(() => this.#configs.find(filter).toArray());
    const out: BackendChanges = { configs: [], malformed: [] };
    for (const doc of docs) {
      const c = this.#read(doc);
      if (typeof c === "string") out.malformed.push({ id: `${CONFIGS_COLLECTION} _id=${String(doc._id)}`, reason: c });
      else out.configs.push(c);
    }
    return out;
  }

  async history(tenant: string, scenario: string): Promise<HistoryEntry[]> {
    const docs = await this.#op(() =>
      this.#history.find({ tenant_id: tenant, scenario_id: scenario }).sort({ version: 1 }).toArray(),
    );
    const out: HistoryEntry[] = [];
    for (const d of docs) {
      const c = this.#read((d.config ?? {}) as Document);
      if (typeof c === "string") continue;
      out.push({ version: Number(d.version), changed_at: Number(d.changed_at), change: String(d.change), config: c });
    }
    return out;
  }

  /**
   * Opens a change stream on `tracking_configs` where the server has them (a replica set):
   * each change wakes the store's poll at once. Unsupported (FerretDB, a standalone server)
   * → logged once, polling only. Lost (e.g. the server went away) → reopened after 5 s.
   */
  watch(onChange: () => void, log: (line: string) => void): void {
    const open = () => {
      if (this.#closing) return;
      const stream = this.#configs.watch([]);
      this.#stream = stream;
      stream.on("change", () => onChange());
      let failed = false;
      // `on`, not `once`: an emitter without an error listener would throw on a second error.
      stream.on("error", (e: unknown) => {
        if (failed) return;
        failed = true;
        this.#stream = undefined;
        void stream.close().catch(() => undefined);
        if (changeStreamsUnsupported(e)) {
          log(
            `config store ${this.location}: no change streams (${(e as Error).message}); other servers' changes are polled`,
          );
          return;
        }
        setTimeout(open, 5000).unref();
      });
    };
    open();
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#stream?.close().catch(() => undefined);
    await this.#client.close();
  }
}
