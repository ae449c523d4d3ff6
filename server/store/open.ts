/**
 * Opens the config store a `--config-store` value names: `sqlite:<file>` (the embedded
 * default) or a `mongodb://` / `mongodb+srv://` URI (shared by every server on it).
 */
import { join } from "node:path";
import type { CachedConfigStore, StoreOptions } from "./config-store.js";
import { openMongoStore } from "./mongo-backend.js";
import { openSqliteStore } from "./sqlite-backend.js";

/** Options of `openConfigStore`. */
export interface OpenConfigStoreOptions extends StoreOptions {
  /** `sqlite:<file>` or a MongoDB URI; default `sqlite:<dataDir>/configs.db`. */
  spec?: string | undefined;
  /** Where the default SQLite file lives. */
  dataDir: string;
  /** MongoDB: how long to wait for a reachable server, ms (start-up failure and 503 bound). Default 3000. */
  serverSelectionTimeoutMs?: number | undefined;
}

/** The default store spec for a data directory. */
export function defaultStoreSpec(dataDir: string): string {
  return `sqlite:${join(dataDir, "configs.db")}`;
}

/** Opens the store; rejects with an error naming the store (password masked) when it cannot. */
export async function openConfigStore(options: OpenConfigStoreOptions): Promise<CachedConfigStore> {
  const spec = options.spec ?? defaultStoreSpec(options.dataDir);
  if (spec.startsWith("mongodb://") || spec.startsWith("mongodb+srv://")) {
    return openMongoStore({ ...options, uri: spec });
  }
  if (spec.startsWith("sqlite:")) {
    const file = spec.slice("sqlite:".length);
    if (file === "") throw new Error("--config-store sqlite: needs a file, e.g. sqlite:.data/configs.db");
    return openSqliteStore({ ...options, file });
  }
  throw new Error(
    `--config-store ${JSON.stringify(spec.replace(/:[^:@/]*@/, ":***@"))} is not supported: use sqlite:<file> or mongodb://host:port/db`,
  );
}
