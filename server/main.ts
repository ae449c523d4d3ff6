/**
 * The `tracking` command. `serve` runs the ingestion server; flags override environment
 * variables, which override defaults (server/cli.ts). With no Kafka configured it uses the
 * embedded file sink, so it runs on a fresh machine. With `--workers N` (N > 1) this process
 * becomes a node:cluster primary (server/cluster/primary.ts) and N forked copies of it serve.
 */
import cluster from "node:cluster";
import { startServer } from "./app.js";
import { trackingCommand } from "./cli.js";
import { runPrimary } from "./cluster/primary.js";
import { clusterMetricsView, reportReady } from "./cluster/worker.js";

const program = trackingCommand(async (options, run) => {
  if (run.workers > 1 && cluster.isPrimary) {
    const drainTimeoutMs = (options.shutdownTimeoutMs ?? 10_000) + 5_000;
    process.exit(await runPrimary({ workers: run.workers, drainTimeoutMs }));
  }
  const worker = cluster.isWorker;
  const server = await startServer(worker ? { ...options, metricsView: clusterMetricsView } : options);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const who = worker
      ? `tracking worker ${process.env.TRACKING_WORKER_INDEX ?? "?"} (pid ${process.pid})`
      : "tracking server";
    console.error(`${who}: ${signal}, draining…`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`${who}: shutdown failed`, err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  if (worker) {
    // The primary is gone (killed): drain rather than serve on as an orphan nobody stops.
    process.on("disconnect", () => stop("primary gone"));
    reportReady(server.httpPort, server.grpcPort);
  }
});

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
