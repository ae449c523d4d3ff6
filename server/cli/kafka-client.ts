/**
 * The client settings `tail` and `topics` use to reach the broker: the shared connection flags
 * (server/kafka/connection-flags.ts), the SASL user from KAFKA_USER/KAFKA_PASSWORD, and a bounded
 * connect/request timeout so an unreachable broker fails in seconds with one line.
 */

import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { SASLOptions } from "@platformatic/kafka";
import { InvalidArgumentError, Option } from "commander";
import { type KafkaConnectionFlags, resolveKafkaConnection } from "../kafka/connection-flags.js";

/** Flags of the commands that read the broker. */
export interface KafkaClientFlags extends KafkaConnectionFlags {
  timeoutMs: number;
}

/** --timeout-ms of those commands. */
export function kafkaTimeoutOption(): Option {
  return new Option("--timeout-ms <ms>", "longest wait for the broker to connect and answer")
    .argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
      return n;
    })
    .default(5000);
}

/** @platformatic/kafka base options for `clientId`. */
export function kafkaClientOptions(
  o: KafkaClientFlags,
  clientId: string,
): {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  requestTimeout: number;
  timeout: number;
  retries: number;
  sasl?: SASLOptions;
  tls?: TlsConnectionOptions;
} {
  const c = resolveKafkaConnection(o, { username: process.env.KAFKA_USER, password: process.env.KAFKA_PASSWORD });
  return {
    clientId,
    bootstrapBrokers: c.brokers,
    connectTimeout: o.timeoutMs,
    requestTimeout: o.timeoutMs,
    timeout: o.timeoutMs,
    retries: 1,
    ...(c.sasl ? { sasl: c.sasl as SASLOptions } : {}),
    ...(c.tls ? { tls: c.tls === true ? {} : c.tls } : {}),
  };
}

/** The first line of a client error, with the cause the client wraps (ECONNREFUSED, …). */
export function kafkaFailure(e: unknown): string {
  const err = e as Error & { errors?: Error[]; cause?: Error };
  const inner = err.errors?.[0] ?? err.cause;
  const detail = inner && inner !== err ? `: ${(inner as Error).message}` : "";
  return `${err.message}${detail}`.split("\n")[0]!;
}
