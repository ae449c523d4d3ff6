/**
 * The server's structured logs: one JSON object per line on stdout (pino), with a string
 * `level`, an ISO `time`, `pid`, `hostname` and `name: "tracking"`. Errors go under `err`
 * (pino's serializer: type, message, stack, and the cause chain).
 */
import { type DestinationStream, type Logger, pino } from "pino";

export type { DestinationStream, Logger };

/** Accepted values of `--log-level` / TRACKING_LOG_LEVEL, most severe first. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** A log level, or "silent" (nothing). */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Least severe level written. Default "info". */
  level?: LogLevel;
  /**
   * Where the JSON lines go. Default stdout, written synchronously (pino.destination(1)): a
   * record is out before the next statement, so nothing is lost on process.exit or a crash;
   * access records are sampled so the write stays off the hot path (README "build and logs").
   */
  destination?: DestinationStream;
}

/** Creates the server's logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: "tracking",
      level: options.level ?? "info",
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"warn" rather than pino's numeric 40: what log search and people read.
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
