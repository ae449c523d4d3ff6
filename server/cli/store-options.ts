/** The config-store flags shared by `serve`, `configs export|import`, `validate` and `replay`. */
import { Option } from "commander";
import { positiveInt } from "./args.js";

/** --data-dir, --config-store and --config-store-timeout-ms, with their environment variables. */
export function storeOptions(): Option[] {
  return [
    new Option("--data-dir <dir>", "data directory (config store, file sink)")
      .env("TRACKING_DATA_DIR")
      .default(".data"),
    new Option(
      "--config-store <spec>",
      "sqlite:<file> or mongodb://[user:pass@]host:port/db (shared by every server); default sqlite:<data-dir>/configs.db",
    ).env("TRACKING_CONFIG_STORE"),
    new Option("--config-store-timeout-ms <ms>", "MongoDB: longest wait for a reachable server (start-up, 503)")
      .env("TRACKING_CONFIG_STORE_TIMEOUT_MS")
      .argParser(positiveInt)
      .default(3000),
  ];
}
