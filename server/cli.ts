/**
 * The `tracking` command line: `serve` options (flags override environment variables, which
 * override defaults) resolved into the server's ServerOptions. main.ts runs it; tests parse
 * it without starting anything.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { ServerOptions } from "./app.js";
import {
  addKafkaConnectionFlags,
  type KafkaConnectionFlags,
  resolveKafkaConnection,
} from "./kafka/connection-flags.js";
import { kafkaCommand } from "./kafka/kafka-command.js";
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
    .addOption(
      new Option("--data-dir <dir>", "data directory (config store, file sink)")
        .env("TRACKING_DATA_DIR")
        .default(".data"),
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
      new Option("--api-keys-file <path>", 'JSON {"tenants": {"t": ["key"]}, "admin": ["key"]}').env(
        "TRACKING_API_KEYS_FILE",
      ),
    )
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
    );
  addKafkaConnectionFlags(
    serve,
    "Kafka bootstrap servers, comma-separated (imply --sink kafka unless a sink is chosen)",
  );
  serve.action(async (o: ServeFlags, cmd: Command) => {
    // An explicit sink choice (flag or TRACKING_SINK) wins; brokers alone imply Kafka.
    const sinkChosen = cmd.getOptionValueSource("sink") !== "default";
    const useKafka = sinkChosen ? o.sink === "kafka" : o.brokers !== undefined;
    const options: ServerOptions = {
      host: o.host,
      httpPort: o.httpPort,
      grpcPort: o.grpcPort,
      dataDir: o.dataDir,
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
      maxBodyBytes: o.maxBodyBytes,
      maxInFlightEvents: o.maxInFlight,
    };
    await onServe(options);
  });
  program.addCommand(kafkaCommand());
  return program;
}
