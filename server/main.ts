/**
 * The `tracking` command. `serve` runs the ingestion server; flags override environment
 * variables, which override defaults (server/cli.ts). With no Kafka configured it uses the
 * embedded file sink, so it runs on a fresh machine. Logs are JSON lines on stdout
 * (server/log/logger.ts); only command-line usage errors are plain text on stderr. With
 * `--workers N` (N > 1) this process becomes a node:cluster primary (server/cluster/primary.ts)
 * and N forked copies of it serve.
 */
import cluster from "node:cluster";
import { join } from "node:path";
import { startServer } from "./app.js";
import { exitCodeOf } from "./cli/common.js";
import { trackingCommand } from "./cli.js";
import { runPrimary } from "./cluster/primary.js";
import { clusterMetricsView, reportReady, shareQuotaUsage } from "./cluster/worker.js";
import { createLogger } from "./log/logger.js";

const program = trackingCommand(async (options, run) => {
  const worker = cluster.isWorker;
  const logger = createLogger({ level: options.logLevel ?? "info" }).child(
    worker ? { worker: Number(process.env.TRACKING_WORKER_INDEX ?? 0) } : {},
  );
  if (run.workers > 1 && cluster.isPrimary) {
    const drainTimeoutMs = (options.shutdownTimeoutMs ?? 10_000) + 5_000;
    process.exit(await runPrimary({ workers: run.workers, drainTimeoutMs, log: (line) => logger.info(line) }));
  }
  // One spool per process (its lock refuses a second owner): each worker gets `<dir>/worker-<n>`.
  // Worker indexes are stable across replacements, so a restarted worker drains its own spool.
  const spool =
    worker && options.spool !== undefined
      ? {
          spool: { ...options.spool, dir: join(options.spool.dir, `worker-${process.env.TRACKING_WORKER_INDEX ?? 0}`) },
        }
      : {};
  const server = await startServer({
    ...options,
    ...spool,
    logger,
    ...(worker ? { metricsView: clusterMetricsView, shareQuotaUsage } : {}),
  }).catch((err: unknown) => {
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
  // Key rotation without a restart: re-read the keys file; a bad file keeps the old keys.
  process.on("SIGHUP", () => {
    try {
      server.reloadKeys();
    } catch (err) {
      logger.error({ err }, "tracking server: keys not reloaded, the previous keys stay in force");
    }
  });
  if (worker) {
    // The primary is gone (killed): drain rather than serve on as an orphan nobody stops.
    process.on("disconnect", () => stop("primary gone"));
    reportReady(server.httpPort, server.grpcPort);
  }
});

program.parseAsync(process.argv).catch((err: unknown) => {
  const { code, line } = exitCodeOf(err);
  if (line !== undefined) console.error(line);
  process.exit(code);
});
