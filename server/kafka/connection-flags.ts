/**
 * The Kafka connection flags every command that talks to the broker shares (`serve`, `kafka
 * grant`): bootstrap servers, security protocol, SASL mechanism and CA file, with their
 * environment variables, resolved into the client options of sdk/common/kafka-publisher.ts.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { KafkaSaslOptions } from "../../sdk/common/kafka-publisher.js";

/** The flags as commander hands them to an action. */
export interface KafkaConnectionFlags {
  brokers?: string;
  kafkaSecurityProtocol: string;
  kafkaSaslMechanism: string;
  kafkaCaFile?: string;
}

/** Resolved client settings. */
export interface KafkaConnection {
  brokers: string[];
  sasl?: KafkaSaslOptions;
  tls?: boolean | TlsConnectionOptions;
}

/** A case-insensitive choice (Kafka's own configs spell these in upper case, env files often not). */
function oneOf(values: readonly string[]): (value: string) => string {
  return (value) => {
    const v = value.trim().toUpperCase();
    if (!values.includes(v)) throw new InvalidArgumentError(`must be one of ${values.join(", ")}`);
    return v;
  };
}

/** Adds --brokers, --kafka-security-protocol, --kafka-sasl-mechanism and --kafka-ca-file to `cmd`. */
export function addKafkaConnectionFlags(cmd: Command, brokersHelp: string): Command {
  return cmd
    .addOption(new Option("--brokers <list>", brokersHelp).env("KAFKA_BROKERS"))
    .addOption(
      new Option("--kafka-security-protocol <p>", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        .env("KAFKA_SECURITY_PROTOCOL")
        .argParser(oneOf(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]))
        .default("PLAINTEXT"),
    )
    .addOption(
      new Option("--kafka-sasl-mechanism <m>", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
        .env("KAFKA_SASL_MECHANISM")
        .argParser(oneOf(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]))
        .default("PLAIN"),
    )
    .addOption(
      new Option(
        "--kafka-ca-file <path>",
        "PEM CA bundle that signed the broker's certificate (SSL/SASL_SSL); default: the system CAs",
      ).env("KAFKA_SSL_CA_FILE"),
    );
}

/**
 * Resolves the flags; `credentials` are the SASL user and password (from the environment, never
 * from flags, so they do not show in `ps`). The CA file is read here so a wrong path fails at
 * start with its name rather than as a TLS error later.
 */
export function resolveKafkaConnection(
  o: KafkaConnectionFlags,
  credentials: { username: string | undefined; password: string | undefined },
): KafkaConnection {
  const protocol = o.kafkaSecurityProtocol;
  const brokers = (o.brokers ?? "127.0.0.1:9092")
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);
  let tls: boolean | TlsConnectionOptions | undefined;
  if (protocol === "SSL" || protocol === "SASL_SSL") {
    if (o.kafkaCaFile === undefined) tls = true;
    else {
      try {
        tls = { ca: readFileSync(o.kafkaCaFile) };
      } catch (error) {
        throw new InvalidArgumentError(`--kafka-ca-file ${o.kafkaCaFile}: ${(error as Error).message}`);
      }
    }
  }
  const sasl: KafkaSaslOptions | undefined = protocol.startsWith("SASL_")
    ? {
        mechanism: o.kafkaSaslMechanism as KafkaSaslOptions["mechanism"],
        username: credentials.username ?? "",
        password: credentials.password ?? "",
      }
    : undefined;
  return { brokers, ...(sasl ? { sasl } : {}), ...(tls !== undefined ? { tls } : {}) };
}
