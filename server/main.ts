/**
 * The `tracking` command. `serve` runs the ingestion server; flags override environment
 * variables, which override defaults (server/cli.ts). With no Kafka configured it uses the
 * embedded file sink, so it runs on a fresh machine.
 */
import { startServer } from "./app.js";
import { trackingCommand } from "./cli.js";

const program = trackingCommand(async (options) => {
  const server = await startServer(options);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`tracking server: ${signal}, draining…`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("tracking server: shutdown failed", err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // Key rotation without a restart: re-read the keys file; a bad file keeps the old keys.
  process.on("SIGHUP", () => {
    try {
      server.reloadKeys();
    } catch (err) {
      console.error(
        `tracking server: keys not reloaded, the previous keys stay in force: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  });
});

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
