/**
 * The `tracking` command line: `serve` options (flags override environment variables, which
 * override defaults) resolved into the server's ServerOptions. main.ts runs it; tests parse
 * it without starting anything.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { ServerOptions } from "./app.js";
import { parseQuotaSpec, QuotaConfigError, type QuotaLimit } from "./auth/quotas.js";
import type { KafkaCompression } from "./kafka/kafka-sink.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number (0-65535)");
  return n;
}

/** On/off values accepted from flags and environment variables. */
const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ["1", true],
  ["true", true],
  ["yes", true],
  ["on", true],
  ["0", false],
  ["false", false],
  ["no", false],
  ["off", false],
  ["", false],
]);

// Commander treats any value of a boolean option's environment variable as "on", so
// KAFKA_PRODUCER_THREAD=0 would enable it; the option takes an explicit value instead.
function bool(value: string): boolean {
  const b = BOOLEANS.get(value.trim().toLowerCase());
  if (b === undefined) throw new InvalidArgumentError("must be one of 1/0, true/false, yes/no, on/off");
  return b;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
  return n;
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
interface ServeFlags {
  host: string;
  httpPort: number;
  grpcPort: number;
  dataDir: string;
  sink: "file" | "kafka";
  brokers?: string;
  kafkaCompression: KafkaCompression;
  kafkaPartitions: number;
  kafkaReplication: number;
  kafkaRetentionMs: number;
  kafkaTimeoutMs: number;
  kafkaSecurityProtocol: string;
  kafkaSaslMechanism: string;
  kafkaProducerThread: boolean;
  apiKeysFile?: string;
  defaultQuota?: QuotaLimit | "unlimited";
  tlsCert?: string;
  tlsKey?: string;
  maxBodyBytes: number;
  maxInFlight: number;
}

/**
 * Builds the `tracking` command; `serve` calls `onServe` with the resolved server options.
 * Environment variables are read from process.env (commander's `Option.env`).
 */
export function trackingCommand(onServe: (options: ServerOptions) => Promise<void>): Command {
  const env = process.env;
  const program = new Command("tracking").description("Schema-first behavior-event tracking server");
  program
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
    .addOption(
      new Option("--data-dir <dir>", "data directory (config store, file sink)")
        .env("TRACKING_DATA_DIR")
        .default(".data"),
    )
    .addOption(
      new Option("--sink <kind>", "where events go").choices(["file", "kafka"]).env("TRACKING_SINK").default("file"),
    )
    .addOption(
      new Option(
        "--brokers <list>",
        "Kafka bootstrap servers, comma-separated (imply --sink kafka unless a sink is chosen)",
      ).env("KAFKA_BROKERS"),
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
      new Option("--kafka-security-protocol <p>", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        .env("KAFKA_SECURITY_PROTOCOL")
        .default("PLAINTEXT"),
    )
    .addOption(
      new Option("--kafka-sasl-mechanism <m>", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
        .env("KAFKA_SASL_MECHANISM")
        .default("PLAIN"),
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
    .action(async (o: ServeFlags, cmd: Command) => {
      if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
        cmd.error(
          `error: --tls-cert and --tls-key (TRACKING_TLS_CERT / TRACKING_TLS_KEY) go together; only ${o.tlsCert === undefined ? "--tls-key" : "--tls-cert"} was given`,
        );
      }
      // An explicit sink choice (flag or TRACKING_SINK) wins; brokers alone imply Kafka.
      const sinkChosen = cmd.getOptionValueSource("sink") !== "default";
      const useKafka = sinkChosen ? o.sink === "kafka" : o.brokers !== undefined;
      const protocol = o.kafkaSecurityProtocol.toUpperCase();
      const sasl = protocol.startsWith("SASL_")
        ? {
            mechanism: o.kafkaSaslMechanism.toUpperCase() as "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512",
            username: env.KAFKA_USER ?? "",
            password: env.KAFKA_PASSWORD ?? "",
          }
        : undefined;
      const options: ServerOptions = {
        host: o.host,
        httpPort: o.httpPort,
        grpcPort: o.grpcPort,
        dataDir: o.dataDir,
        sink: useKafka ? "kafka" : "file",
        kafka: {
          brokers: (o.brokers ?? "127.0.0.1:9092")
            .split(",")
            .map((b) => b.trim())
            .filter(Boolean),
          compression: o.kafkaCompression,
          partitions: o.kafkaPartitions,
          replicationFactor: o.kafkaReplication,
          retentionMs: o.kafkaRetentionMs,
          publishTimeoutMs: o.kafkaTimeoutMs,
          producerThread: o.kafkaProducerThread,
          ...(sasl ? { sasl } : {}),
          ...(protocol === "SSL" || protocol === "SASL_SSL" ? { tls: true } : {}),
        },
        ...(o.apiKeysFile !== undefined ? { apiKeysFile: o.apiKeysFile } : {}),
        ...(o.defaultQuota !== undefined && o.defaultQuota !== "unlimited" ? { defaultQuota: o.defaultQuota } : {}),
        ...(o.tlsCert !== undefined && o.tlsKey !== undefined
          ? { tls: { certFile: o.tlsCert, keyFile: o.tlsKey } }
          : {}),
        maxBodyBytes: o.maxBodyBytes,
        maxInFlightEvents: o.maxInFlight,
      };
      await onServe(options);
    });
  return program;
}
