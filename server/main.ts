/**
 * The `tracking` command. `serve` runs the ingestion server; flags override environment
 * variables, which override defaults (server/cli.ts). With no Kafka configured it uses the
 * embedded file sink, so it runs on a fresh machine. Logs are JSON lines on stdout
 * (server/log/logger.ts); only command-line usage errors are plain text on stderr.
 */
import { startServer } from "./app.js";
import { trackingCommand } from "./cli.js";
import { createLogger } from "./log/logger.js";

const program = trackingCommand(async (options) => {
  const logger = createLogger({ level: options.logLevel ?? "info" });
  const server = await startServer({ ...options, logger }).catch((err: unknown) => {
    logger.fatal({ err }, "tracking server: start failed");
    process.exit(1);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "tracking server: draining");
    server.stop().then(
      () => {
        logger.info("tracking server: stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.fatal({ err }, "tracking server: shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
});

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
