/**
 * The `tracking` command line: `serve` options (flags override environment variables, which
 * override defaults) resolved into the server's ServerOptions. main.ts runs it; tests parse
 * it without starting anything.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import type { ServerOptions } from "./app.js";
import { parseQuotaSpec, QuotaConfigError, type QuotaLimit } from "./auth/quotas.js";
import { bool, fraction, nonNegativeInt, port, positiveInt } from "./cli/args.js";
import { everydayCommand } from "./cli/common.js";
import { addRemoteConfigCommands } from "./cli/configs-command.js";
import { replayCommand } from "./cli/replay-command.js";
import { storeOptions } from "./cli/store-options.js";
import { tailCommand } from "./cli/tail-command.js";
import { topicsCommand } from "./cli/topics-command.js";
import { validateCommand } from "./cli/validate-command.js";
import { gateCommand } from "./gate/gate-command.js";
import {
  addKafkaConnectionFlags,
  type KafkaConnectionFlags,
  resolveKafkaConnection,
} from "./kafka/connection-flags.js";
import { kafkaCommand } from "./kafka/kafka-command.js";
import type { KafkaCompression } from "./kafka/kafka-sink.js";
import { LOG_LEVELS, type LogLevel } from "./log/logger.js";
import { exportConfigs, importConfigs, parseConfigLines } from "./store/ndjson.js";
import { openConfigStore } from "./store/open.js";

/** `--workers`: a positive integer, or "auto" for the cores this process may use. */
function workerCount(value: string): number {
  if (value.trim().toLowerCase() === "auto") return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer or "auto"');
  return n;
}

/** How `serve` runs, beside what the server itself needs (ServerOptions). */
export interface ServeProcess {
  /** Server processes (node:cluster workers); 1 = today's single process, no primary. */
  workers: number;
}

// "unlimited" rather than undefined: commander stores `true` when a parser returns undefined.
function quotaSpec(value: string): QuotaLimit | "unlimited" {
  try {
    return parseQuotaSpec(value) ?? "unlimited";
  } catch (e) {
    if (e instanceof QuotaConfigError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/** The parsed `serve` options, as commander hands them to the action. */
interface ServeFlags extends KafkaConnectionFlags {
  host: string;
  httpPort: number;
  grpcPort: number;
  dataDir: string;
  sink: "file" | "kafka";
  kafkaCompression: KafkaCompression;
  kafkaPartitions: number;
  kafkaReplication: number;
  kafkaRetentionMs: number;
  kafkaTimeoutMs: number;
  kafkaProducerThread: boolean;
  apiKeysFile?: string;
  defaultQuota?: QuotaLimit | "unlimited";
  tlsCert?: string;
  tlsKey?: string;
  maxBodyBytes: number;
  maxInFlight: number;
  configStore?: string;
  configPollMs: number;
  configStoreTimeoutMs: number;
  logLevel: LogLevel;
  accessLogSample: number;
  spoolDir?: string;
  spoolMaxBytes: number;
  workers: number;
  reusePort: boolean;
  inspectorEvents: number;
  inspectorTenants: number;
  inspectorRecordAlways: boolean;
}

/** The parsed options of `configs export|import`. */
interface ConfigsFlags {
  dataDir: string;
  configStore?: string;
  configStoreTimeoutMs: number;
  output?: string;
}

/**
 * Builds the `tracking` command; `serve` calls `onServe` with the resolved server options and
 * how many processes serve them. Environment variables are read from process.env
 * (commander's `Option.env`).
 */
export function trackingCommand(onServe: (options: ServerOptions, run: ServeProcess) => Promise<void>): Command {
  const env = process.env;
  const program = new Command("tracking").description("Schema-first behavior-event tracking server");
  const serve = program
    .command("serve")
    .description("serve the REST, Connect, gRPC-Web and gRPC APIs and publish events to the sink")
    .addOption(new Option("--host <host>", "interface to listen on").env("TRACKING_HOST").default("0.0.0.0"))
    .addOption(
      new Option("--http-port <port>", "REST/Connect/gRPC-Web/h2c port")
        .env("TRACKING_HTTP_PORT")
        .argParser(port)
        .default(8080),
    )
    .addOption(new Option("--grpc-port <port>", "gRPC port").env("TRACKING_GRPC_PORT").argParser(port).default(50051))
    .addOption(storeOptions()[0]!)
    .addOption(storeOptions()[1]!)
    .addOption(storeOptions()[2]!)
    .addOption(
      new Option("--config-poll-ms <ms>", "how often changes made by other servers are read")
        .env("TRACKING_CONFIG_POLL_MS")
        .argParser(positiveInt)
        .default(500),
    )
    .addOption(
      new Option("--sink <kind>", "where events go").choices(["file", "kafka"]).env("TRACKING_SINK").default("file"),
    )
    .addOption(
      new Option("--kafka-compression <codec>", "Kafka compression")
        .choices(["gzip", "lz4", "zstd", "snappy", "none"])
        .env("KAFKA_COMPRESSION")
        .default("gzip"),
    )
    .addOption(
      new Option("--kafka-partitions <n>", "partitions of created topics (seed: 12-24)")
        .env("KAFKA_PARTITIONS")
        .argParser(positiveInt)
        .default(12),
    )
    .addOption(
      new Option("--kafka-replication <n>", "replication factor of created topics (3 in production)")
        .env("KAFKA_REPLICATION_FACTOR")
        .argParser(positiveInt)
        .default(1),
    )
    .addOption(
      new Option("--kafka-retention-ms <ms>", "retention of created topics")
        .env("KAFKA_RETENTION_MS")
        .argParser(positiveInt)
        .default(7 * 24 * 3600 * 1000),
    )
    .addOption(
      new Option("--kafka-timeout-ms <ms>", "longest wait for the broker's ack before 503")
        .env("KAFKA_PUBLISH_TIMEOUT_MS")
        .argParser(positiveInt)
        .default(5000),
    )
    .addOption(
      new Option(
        "--kafka-producer-thread [on]",
        "produce on a dedicated worker thread (helps batch-heavy traffic; see BENCHMARKS.md)",
      )
        .env("KAFKA_PRODUCER_THREAD")
        .argParser(bool)
        .preset("true")
        .default(false),
    )
    .addOption(
      new Option(
        "--api-keys-file <path>",
        'JSON {"tenants": {"t": ["key"]}, "admin": ["key"], "quotas": {"t": {"events_per_second": 1000, "burst": 2000}}}; reloaded on SIGHUP',
      ).env("TRACKING_API_KEYS_FILE"),
    )
    .addOption(
      new Option(
        "--default-quota <rate[:burst]>",
        "ingestion quota (events/s[:burst]) of tenants the keys file gives none; default unlimited",
      )
        .env("TRACKING_DEFAULT_QUOTA")
        .argParser(quotaSpec),
    )
    .addOption(
      new Option("--tls-cert <pem>", "TLS certificate chain: HTTPS (h2 + http/1.1) and gRPC over TLS").env(
        "TRACKING_TLS_CERT",
      ),
    )
    .addOption(new Option("--tls-key <pem>", "TLS private key (with --tls-cert)").env("TRACKING_TLS_KEY"))
    .addOption(
      new Option("--max-body-bytes <n>", "largest request body")
        .env("TRACKING_MAX_BODY_BYTES")
        .argParser(positiveInt)
        .default(1024 * 1024),
    )
    .addOption(
      new Option("--max-in-flight <n>", "events waiting for the sink before new ones get 503")
        .env("TRACKING_MAX_IN_FLIGHT")
        .argParser(positiveInt)
        .default(20_000),
    )
    .addOption(
      new Option("--log-level <level>", "least severe JSON log record written (stdout)")
        .choices(LOG_LEVELS)
        .env("TRACKING_LOG_LEVEL")
        .default("info"),
    )
    .addOption(
      new Option(
        "--access-log-sample <fraction>",
        "fraction (0-1) of 2xx/4xx requests given an access log record; 5xx are always logged",
      )
        .env("TRACKING_ACCESS_LOG_SAMPLE")
        .argParser(fraction)
        .default(0),
    )
    .addOption(
      new Option(
        "--spool-dir <dir>",
        "durable spool: while Kafka is unreachable, fsync events here and answer 202 spooled; forwarded in order when it returns (default: off, 503)",
      ).env("TRACKING_SPOOL_DIR"),
    )
    .addOption(
      new Option("--spool-max-bytes <n>", "most bytes the spool holds before new events get 503")
        .env("TRACKING_SPOOL_MAX_BYTES")
        .argParser(positiveInt)
        .default(1024 * 1024 * 1024),
    )
    .addOption(
      new Option("--workers <n>", 'server processes sharing the ports (node:cluster); "auto" = one per core')
        .env("TRACKING_WORKERS")
        .argParser(workerCount)
        .default(1),
    )
    .addOption(
      new Option(
        "--reuse-port [on]",
        "listen with SO_REUSEPORT: several instances (or, with --workers, each worker) bind the same ports and the kernel spreads connections",
      )
        .env("TRACKING_REUSE_PORT")
        .argParser(bool)
        .preset("true")
        .default(false),
    )
    .addOption(
      new Option("--inspector-events <n>", "events kept per tenant by the live inspector at /inspector; 0 turns it off")
        .env("TRACKING_INSPECTOR_EVENTS")
        .argParser(nonNegativeInt)
        .default(200),
    )
    .addOption(
      new Option("--inspector-tenants <n>", "tenants kept by the inspector (the stalest is dropped first)")
        .env("TRACKING_INSPECTOR_TENANTS")
        .argParser(positiveInt)
        .default(50),
    )
    .addOption(
      new Option(
        "--inspector-record-always [on]",
        "record events for the inspector even while no page watches (default: only while one does, and 5 min after)",
      )
        .env("TRACKING_INSPECTOR_RECORD_ALWAYS")
        .argParser(bool)
        .preset("true")
        .default(false),
    );
  addKafkaConnectionFlags(
    serve,
    "Kafka bootstrap servers, comma-separated (imply --sink kafka unless a sink is chosen)",
  );
  serve.action(async (o: ServeFlags, cmd: Command) => {
    if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
      cmd.error(
        `error: --tls-cert and --tls-key (TRACKING_TLS_CERT / TRACKING_TLS_KEY) go together; only ${o.tlsCert === undefined ? "--tls-key" : "--tls-cert"} was given`,
      );
    }
    // An explicit sink choice (flag or TRACKING_SINK) wins; brokers alone imply Kafka.
    const sinkChosen = cmd.getOptionValueSource("sink") !== "default";
    const useKafka = sinkChosen ? o.sink === "kafka" : o.brokers !== undefined;
    // The file sink appends at positions only its own process knows (one writer per
    // topic file): several processes would overwrite each other's lines.
    if (o.workers > 1 && !useKafka)
      throw new Error(
        `--workers ${o.workers} needs the Kafka sink (--sink kafka / KAFKA_BROKERS): the embedded file sink has one writer per data directory; run it with --workers 1`,
      );
    const options: ServerOptions = {
      host: o.host,
      httpPort: o.httpPort,
      grpcPort: o.grpcPort,
      dataDir: o.dataDir,
      ...(o.configStore !== undefined ? { configStore: o.configStore } : {}),
      configPollMs: o.configPollMs,
      configStoreTimeoutMs: o.configStoreTimeoutMs,
      sink: useKafka ? "kafka" : "file",
      kafka: {
        ...resolveKafkaConnection(o, { username: env.KAFKA_USER, password: env.KAFKA_PASSWORD }),
        compression: o.kafkaCompression,
        partitions: o.kafkaPartitions,
        replicationFactor: o.kafkaReplication,
        retentionMs: o.kafkaRetentionMs,
        publishTimeoutMs: o.kafkaTimeoutMs,
        producerThread: o.kafkaProducerThread,
      },
      ...(o.apiKeysFile !== undefined ? { apiKeysFile: o.apiKeysFile } : {}),
      ...(o.defaultQuota !== undefined && o.defaultQuota !== "unlimited" ? { defaultQuota: o.defaultQuota } : {}),
      ...(o.tlsCert !== undefined && o.tlsKey !== undefined ? { tls: { certFile: o.tlsCert, keyFile: o.tlsKey } } : {}),
      maxBodyBytes: o.maxBodyBytes,
      maxInFlightEvents: o.maxInFlight,
      logLevel: o.logLevel,
      accessLogSample: o.accessLogSample,
      ...(o.spoolDir !== undefined ? { spool: { dir: o.spoolDir, maxBytes: o.spoolMaxBytes } } : {}),
      reusePort: o.reusePort,
      inspector:
        o.inspectorEvents === 0
          ? false
          : {
              eventsPerTenant: o.inspectorEvents,
              maxTenants: o.inspectorTenants,
              recordAlways: o.inspectorRecordAlways,
            },
    };
    await onServe(options, { workers: o.workers });
  });

  const configs = program
    .command("configs")
    .description("manage tracking configs: as files against a server, or moved between stores as NDJSON");
  const open = (o: ConfigsFlags) =>
    openConfigStore({
      spec: o.configStore,
      dataDir: o.dataDir,
      pollIntervalMs: 0,
      serverSelectionTimeoutMs: o.configStoreTimeoutMs,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  const withStoreOptions = (cmd: Command) => {
    for (const opt of storeOptions()) cmd.addOption(opt);
    return cmd;
  };
  withStoreOptions(
    configs
      .command("export")
      .description("write every config (inactive ones too) as NDJSON, one per line in the seed's JSON shape")
      .option("-o, --output <file>", "file to write (default stdout)"),
  ).action(async (o: ConfigsFlags) => {
    const store = await open(o);
    try {
      const text = exportConfigs(store);
      if (o.output !== undefined) writeFileSync(o.output, text);
      else process.stdout.write(text);
      process.stderr.write(`exported ${text.split("\n").length - 1} configs from ${store.kind} ${store.location}\n`);
    } finally {
      await store.close();
    }
  });
  withStoreOptions(
    configs
      .command("import")
      .description("create/update configs from NDJSON (idempotent: equal content makes no new version)")
      .argument("[file]", "NDJSON file; - or none reads stdin", "-"),
  ).action(async (file: string, o: ConfigsFlags) => {
    const parsed = parseConfigLines(readFileSync(file === "-" ? 0 : file, "utf8"));
    const store = await open(o);
    try {
      const c = await importConfigs(store, parsed);
      process.stderr.write(
        `imported into ${store.kind} ${store.location}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged\n`,
      );
    } finally {
      await store.close();
    }
  });
  addRemoteConfigCommands(configs);
  program.addCommand(kafkaCommand());
  program.addCommand(everydayCommand(validateCommand()));
  program.addCommand(everydayCommand(replayCommand()));
  program.addCommand(everydayCommand(tailCommand()));
  program.addCommand(everydayCommand(topicsCommand()));
  for (const name of ["list", "get", "diff", "apply"])
    everydayCommand(configs.commands.find((c) => c.name() === name)!);
  program.addCommand(gateCommand());
  return program;
}
