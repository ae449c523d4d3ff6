/**
 * `tracking validate [files…|-]`: judges events (one JSON event, a JSON array, or NDJSON) the way
 * the server does — the generated validator, then the tenant's tracking config — either by a
 * running server's validate RPC (`--server`) or locally against a config store.
 *
 * Exit codes: 0 no event has errors (warnings allowed), 1 at least one event has errors or a line
 * is not JSON, 2 bad usage or an input/server/store that cannot be reached.
 */
import { Command, Option } from "commander";
import { behaviorServiceRoutes } from "../../gen/handlers/recommender/v1/behavior_handlers.js";
import type { Violation } from "../contracts.js";
import { concurrencyOption } from "./args.js";
import {
  answerError,
  type InputEvent,
  openLocalJudge,
  paint,
  type ServerFlags,
  type StoreFlags,
  serverOptions,
  serverRequest,
  streamEvents,
  violationLine,
} from "./common.js";
import { storeOptions } from "./store-options.js";

interface ValidateFlags extends ServerFlags, StoreFlags {
  json: boolean;
  quiet: boolean;
  concurrency: number;
}

/** The judgement of one input event. */
export interface EventVerdict {
  file: string;
  line: number;
  status: "valid" | "warned" | "invalid";
  errors: Violation[];
  warnings: Violation[];
  /** Version of the tracking config that judged it (0: a template), when one did. */
  config_version?: number;
}

const VALIDATE_PATH = behaviorServiceRoutes.find((r) => r.rpc === "ValidateEvent")!.pathTemplate;

function full(v: Partial<Violation>): Violation {
  return { field: v.field ?? "", rule: v.rule ?? "", message: v.message ?? "", severity: v.severity ?? "error" };
}

function verdict(at: InputEvent, errors: Violation[], warnings: Violation[], configVersion?: number): EventVerdict {
  return {
    file: at.file,
    line: at.line,
    status: errors.length > 0 ? "invalid" : warnings.length > 0 ? "warned" : "valid",
    errors,
    warnings,
    ...(configVersion !== undefined ? { config_version: configVersion } : {}),
  };
}

/** The `validate` command. */
export function validateCommand(): Command {
  const cmd = new Command("validate")
    .description("judge events (JSON, a JSON array, or NDJSON) by the generated validator and the tenant's config")
    .argument("[files...]", "event files; - or none reads stdin")
    .addOption(new Option("--json", "one JSON verdict per event on stdout (NDJSON)").default(false))
    .addOption(new Option("-q, --quiet", "print problems only, no summary").default(false))
    .addOption(
      concurrencyOption("with --server: requests in flight at once (verdicts still print in input order)", 16),
    );
  for (const o of serverOptions(false, "TRACKING_API_KEY")) cmd.addOption(o);
  for (const o of storeOptions()) cmd.addOption(o);
  cmd.addHelpText(
    "after",
    `
With --server the running server judges (POST ${VALIDATE_PATH}); otherwise the local config store
(--config-store / --data-dir) does, with the same code the server runs.
Output: one line per problem, "file:line severity field rule message".
Exit codes: 0 every event valid (warnings allowed), 1 an event has errors or a line is not JSON,
2 usage error, unreadable file, unreachable server or config store.`,
  );
  cmd.action(async (files: string[], o: ValidateFlags) => {
    const inputs = files.length === 0 ? ["-"] : files;
    const local = o.server === undefined ? await openLocalJudge(o) : undefined;
    const judge = async (at: InputEvent): Promise<EventVerdict> => {
      if (at.error !== undefined) {
        return verdict(at, [full({ field: "", rule: "json", message: at.error, severity: "error" })], []);
      }
      if (local !== undefined) {
        const r = local.check(at.event);
        return verdict(at, r.errors, r.warnings, r.configVersion);
      }
      const a = await serverRequest(o, "POST", VALIDATE_PATH, { body: at.event });
      const b = (a.body ?? {}) as { errors?: Partial<Violation>[]; validation_warnings?: Partial<Violation>[] };
      if (a.status === 200 || (a.status === 400 && Array.isArray(b.errors))) {
        return verdict(at, (b.errors ?? []).map(full), (b.validation_warnings ?? []).map(full));
      }
      throw answerError(`validate ${at.file}:${at.line}`, a);
    };
    const counts = { valid: 0, warned: 0, invalid: 0 };
    const report = (v: EventVerdict) => {
      counts[v.status]++;
      if (o.json) process.stdout.write(`${JSON.stringify(v)}\n`);
      else for (const x of [...v.errors, ...v.warnings]) process.stdout.write(`${violationLine(v, x)}\n`);
    };
    // A server is asked `--concurrency` events at a time (one request each: 2,000 events took
    // 3.5 s one by one); verdicts are printed in input order. The local judge is synchronous.
    const window = local === undefined ? o.concurrency : 1;
    const pending: Promise<EventVerdict>[] = [];
    try {
      for (const file of inputs) {
        for await (const at of streamEvents(file)) {
          const v = judge(at);
          // Awaited in order below; this only keeps a failure behind an earlier one from being unhandled.
          v.catch(() => {});
          pending.push(v);
          if (pending.length >= window) report(await pending.shift()!);
        }
      }
      while (pending.length > 0) report(await pending.shift()!);
    } finally {
      await local?.close();
    }
    const total = counts.valid + counts.warned + counts.invalid;
    if (!o.json && !o.quiet) {
      const mark = counts.invalid > 0 ? paint("red", "✗", process.stderr) : paint("green", "✓", process.stderr);
      process.stderr.write(
        `${mark} ${total} events: ${counts.valid} valid, ${counts.warned} with warnings, ${counts.invalid} invalid\n`,
      );
    }
    if (counts.invalid > 0) process.exitCode = 1;
  });
  return cmd;
}
