/**
 * `tracking gate`: the quality gate for direct Kafka writers (./gate.ts) as a command. It opens
 * the config store like `serve` does (following other servers' writes by polling; it writes
 * nothing), serves Prometheus metrics on --metrics-port, and stops cleanly on SIGTERM/SIGINT
 * (judged offsets committed, connections closed). On exit it prints a JSON summary to stdout.
 *
 * Exit codes: 0 stopped (signal, --max-messages, --idle-exit-ms); 1 failed (broker, store,
 * a copy that could not be produced); 2 bad options.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Command, Option } from "commander";
import { nonNegativeInt, positiveInt } from "../cli/args.js";
import { RuleBook } from "../rules/index.js";
import { registerConfigStoreMetrics } from "../store/metrics.js";
import { openConfigStore } from "../store/open.js";
import { startGate } from "./gate.js";
import { GateMetrics } from "./metrics.js";

/** The parsed options of `gate`. */
interface GateFlags {
  brokers: string;
  kafkaSecurityProtocol: "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
  kafkaSaslMechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  group: string;
  tenant?: string[];
  from: "earliest" | "latest";
  dataDir: string;
  configStore?: string;
  configPollMs: number;
  configStoreTimeoutMs: number;
  metricsHost: string;
  metricsPort: number;
  discoverMs: number;
  sessionTimeoutMs: number;
  commitMs: number;
  maxMessages?: number;
  idleExitMs?: number;
  invalidPartitions: number;
  invalidReplication: number;
}

/** The `gate` subcommand. */
export function gateCommand(): Command {
  return new Command("gate")
    .description(
      "judge every message on user-behaviors-* (direct Kafka writers) like the server would; count pass/warn/fail and mis-partitioned keys as Prometheus metrics; copy failing messages to user-behaviors-{tenant}.invalid",
    )
    .addOption(
      new Option("--brokers <list>", "Kafka bootstrap servers, comma-separated")
        .env("KAFKA_BROKERS")
        .default("127.0.0.1:9092"),
    )
    .addOption(
      new Option("--kafka-security-protocol <p>", "as `serve`; SASL credentials from KAFKA_USER/KAFKA_PASSWORD")
        .choices(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
        .env("KAFKA_SECURITY_PROTOCOL")
        .default("PLAINTEXT"),
    )
    .addOption(
      new Option("--kafka-sasl-mechanism <m>", "SASL mechanism")
        .choices(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
        .env("KAFKA_SASL_MECHANISM")
        .default("PLAIN"),
    )
    .addOption(
      new Option("--group <id>", "consumer group (instances with the same group share the partitions)")
        .env("TRACKING_GATE_GROUP")
        .default("tracking-gate"),
    )
    .addOption(
      new Option("--tenant <id...>", "only these tenants' topics (default: every user-behaviors-{tenant} topic)"),
    )
    .addOption(
      new Option("--from <where>", "where a group without committed offsets starts")
        .choices(["earliest", "latest"])
        .default("earliest"),
    )
    .addOption(
      new Option("--data-dir <dir>", "data directory of the default SQLite config store")
        .env("TRACKING_DATA_DIR")
        .default(".data"),
    )
    .addOption(
      new Option(
        "--config-store <spec>",
        "sqlite:<file> or mongodb://… (as `serve`); default sqlite:<data-dir>/configs.db",
      ).env("TRACKING_CONFIG_STORE"),
    )
    .addOption(
      new Option("--config-poll-ms <ms>", "how often config changes are read")
        .env("TRACKING_CONFIG_POLL_MS")
        .argParser(positiveInt)
        .default(500),
    )
    .addOption(
      new Option("--config-store-timeout-ms <ms>", "MongoDB: longest wait for a reachable server")
        .env("TRACKING_CONFIG_STORE_TIMEOUT_MS")
        .argParser(positiveInt)
        .default(3000),
    )
    .addOption(new Option("--metrics-host <host>", "interface of the metrics endpoint").default("0.0.0.0"))
    .addOption(
      new Option("--metrics-port <port>", "Prometheus endpoint port (/metrics); 0 picks a free one")
        .env("TRACKING_GATE_METRICS_PORT")
        .argParser(nonNegativeInt)
        .default(9464),
    )
    .addOption(
      new Option("--discover-ms <ms>", "how often new tenant topics are looked for")
        .argParser(positiveInt)
        .default(5000),
    )
    .addOption(
      new Option(
        "--session-timeout-ms <ms>",
        "group session timeout: how long the partitions of a gate that died stay with it",
      )
        .argParser(positiveInt)
        .default(30_000),
    )
    .addOption(
      new Option("--commit-ms <ms>", "how often judged offsets are committed").argParser(positiveInt).default(1000),
    )
    .addOption(
      new Option("--max-messages <n>", "stop after judging n messages (one-shot audits)").argParser(positiveInt),
    )
    .addOption(new Option("--idle-exit-ms <ms>", "stop when no message arrived for this long").argParser(positiveInt))
    .addOption(
      new Option("--invalid-partitions <n>", "partitions of created .invalid topics")
        .argParser(positiveInt)
        .default(12),
    )
    .addOption(
      new Option("--invalid-replication <n>", "replication factor of created .invalid topics")
        .argParser(positiveInt)
        .default(1),
    )
    .action(async (o: GateFlags) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const store = await openConfigStore({
        spec: o.configStore,
        dataDir: o.dataDir,
        pollIntervalMs: o.configPollMs,
        serverSelectionTimeoutMs: o.configStoreTimeoutMs,
        log,
      });
      const rules = new RuleBook();
      rules.attach(store);
      const metrics = new GateMetrics();
      registerConfigStoreMetrics(metrics.registry, store);
      const http = createServer((req, res) => {
        if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") {
          metrics.registry.metrics().then(
            (text) => {
              res.writeHead(200, { "content-type": metrics.registry.contentType });
              res.end(text);
            },
            (e: unknown) => {
              res.writeHead(500).end(String(e));
            },
          );
          return;
        }
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      });
      await new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(o.metricsPort, o.metricsHost, () => resolve());
      });
      const port = (http.address() as AddressInfo).port;
      log(
        `tracking gate: metrics on http://${o.metricsHost}:${port}/metrics, config store ${store.kind} ${store.location}`,
      );
      const gate = startGate({
        brokers: o.brokers
          .split(",")
          .map((b) => b.trim())
          .filter(Boolean),
        group: o.group,
        ...(o.kafkaSecurityProtocol.startsWith("SASL_")
          ? {
              sasl: {
                mechanism: o.kafkaSaslMechanism,
                username: process.env.KAFKA_USER ?? "",
                password: process.env.KAFKA_PASSWORD ?? "",
              },
            }
          : {}),
        tls: o.kafkaSecurityProtocol.endsWith("SSL"),
        rules,
        metrics,
        tenants: o.tenant?.flatMap((t) => t.split(",")).filter(Boolean),
        from: o.from,
        discoverIntervalMs: o.discoverMs,
        sessionTimeoutMs: o.sessionTimeoutMs,
        commitIntervalMs: o.commitMs,
        maxMessages: o.maxMessages,
        idleExitMs: o.idleExitMs,
        invalidPartitions: o.invalidPartitions,
        invalidReplication: o.invalidReplication,
        log,
      });
      const onSignal = (signal: string) => {
        log(`tracking gate: ${signal}, committing and closing…`);
        void gate.stop();
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      const summary = await gate.done;
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await store.close();
      const tenants = Object.fromEntries(metrics.tenants);
      process.stdout.write(`${JSON.stringify({ ...summary, tenants })}\n`);
      if (summary.reason === "error") process.exitCode = 1;
    });
}
