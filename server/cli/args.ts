/**
 * Value parsers for commander options, shared by every `tracking` command so a flag means the
 * same thing (and fails with the same message) everywhere.
 */
import { InvalidArgumentError, Option } from "commander";

/** A TCP port, 0-65535 (0: any free port). */
export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number (0-65535)");
  return n;
}

/** A number from 0 to 1 (a sampling fraction). */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1)) throw new InvalidArgumentError("must be a number from 0 to 1");
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

/**
 * An explicit on/off value. Commander treats any value of a boolean option's environment
 * variable as "on", so KAFKA_PRODUCER_THREAD=0 would enable it; such options take this instead.
 */
export function bool(value: string): boolean {
  const b = BOOLEANS.get(value.trim().toLowerCase());
  if (b === undefined) throw new InvalidArgumentError("must be one of 1/0, true/false, yes/no, on/off");
  return b;
}

/** An integer ≥ 0. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
}

/** An integer ≥ 1. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

/** `-c, --concurrency <n>`: requests a command keeps in flight at once. */
export function concurrencyOption(description: string, defaultValue: number): Option {
  return new Option("-c, --concurrency <n>", description).argParser(positiveInt).default(defaultValue);
}
