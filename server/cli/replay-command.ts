/**
 * `tracking replay <ndjson> --to http://…|kafka://…`: sends recorded events again, at a bounded
 * rate and concurrency, with a progress bar on a TTY (cli-progress) and a summary of accepted /
 * warned / rejected events. A line that is not JSON or an event the judge rejects is reported
 * and counted, not fatal. A target that fails (unreachable, refused key) stops the replay and
 * names the line to resume from (`--from-line`): every line before it was sent.
 *
 * http(s):// goes through the HTTP SDK (TrackingClient: retries 429/503 with backoff).
 * kafka:// validates locally (the server's pipeline, the local config store's tenant configs)
 * and produces through the server's Kafka sink (the shared publisher: murmur2 partitioning,
 * acks=all, the same headers), so the records are those the server would have written.
 * Events of one user keep their file order at any concurrency. Delivery is at-least-once: after
 * a stop, events in flight may have arrived and are sent again on resume (their event_id is kept
 * when the file has one, so consumers de-duplicate).
 */
import { MultiBar, Presets } from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  type TrackEventInput,
  TrackingClient,
  TrackingError,
  TrackingValidationError,
} from "../../sdk/http/tracking-client.js";
import type { Violation } from "../contracts.js";
import { EventRejectedError, IngestPipeline } from "../ingest/pipeline.js";
import {
  addKafkaConnectionFlags,
  type KafkaConnectionFlags,
  resolveKafkaConnection,
} from "../kafka/connection-flags.js";
import { createKafkaSink } from "../kafka/kafka-sink.js";
import { concurrencyOption, positiveInt } from "./args.js";
import {
  CliError,
  countLines,
  type InputEvent,
  openLocalJudge,
  paint,
  type StoreFlags,
  streamEvents,
  violationLine,
} from "./common.js";
import { storeOptions } from "./store-options.js";

interface ReplayFlags extends StoreFlags, KafkaConnectionFlags {
  to: string;
  rate?: number;
  concurrency: number;
  fromLine: number;
  tenant?: string;
  apiKey?: string;
  timeoutMs: number;
  json: boolean;
  progress?: boolean;
}

/** What happened to one event at the target. */
type Outcome = { kind: "accepted"; warnings: Violation[] } | { kind: "rejected"; errors: Violation[] };

/** Sends one event; throws a CliError when the target itself failed (the replay stops). */
type Send = (event: unknown) => Promise<Outcome>;

function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError("must be a positive number");
  return n;
}

async function httpTarget(url: URL, o: ReplayFlags): Promise<{ send: Send; close(): Promise<void> }> {
  const clients = new Map<string, TrackingClient>();
  const clientOf = (tenant: string) => {
    let c = clients.get(tenant);
    if (c === undefined) {
      c = new TrackingClient({
        baseUrl: url.origin + url.pathname.replace(/\/+$/, ""),
        tenantId: tenant,
        timeoutMs: o.timeoutMs,
        ...(o.apiKey ? { apiKey: o.apiKey } : {}),
      });
      clients.set(tenant, c);
    }
    return c;
  };
  const send: Send = async (event) => {
    const e = event as TrackEventInput;
    const tenant = typeof e?.tenant_id === "string" && e.tenant_id !== "" ? e.tenant_id : o.tenant;
    if (tenant === undefined) {
      return {
        kind: "rejected",
        errors: [
          {
            field: "tenant_id",
            rule: "required",
            message: "no tenant_id (give --tenant for such events)",
            severity: "error",
          },
        ],
      };
    }
    try {
      const r = await clientOf(tenant).track(e);
      return { kind: "accepted", warnings: (r.validation_warnings ?? []) as Violation[] };
    } catch (err) {
      if (err instanceof TrackingValidationError) {
        const errors = err.violations.map((v) => ({
          field: v.field ?? "",
          rule: v.rule ?? "",
          message: v.message ?? "",
          severity: v.severity ?? "error",
        }));
        return { kind: "rejected", errors };
      }
      if (err instanceof TrackingError) {
        // fetch's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND) in its cause.
        const cause = (err.cause as { cause?: { code?: string } } | undefined)?.cause?.code;
        throw new CliError(`cannot reach ${url.origin}: ${cause ?? err.message}`);
      }
      throw err;
    }
  };
  return { send, close: async () => {} };
}

async function kafkaTarget(to: string, o: ReplayFlags): Promise<{ send: Send; close(): Promise<void> }> {
  // kafka://host:port[,host:port]; kafka:// alone takes --brokers / KAFKA_BROKERS.
  const hosts = to.slice("kafka://".length).replace(/\/.*$/, "");
  const connection = resolveKafkaConnection(
    { ...o, ...(hosts !== "" ? { brokers: hosts } : {}) },
    { username: process.env.KAFKA_USER, password: process.env.KAFKA_PASSWORD },
  );
  const judge = await openLocalJudge(o);
  const sink = createKafkaSink({ ...connection, clientId: "tracking-replay", publishTimeoutMs: o.timeoutMs });
  try {
    await sink.ready(o.timeoutMs);
  } catch (e) {
    await sink.close().catch(() => {});
    await judge.close();
    throw new CliError(`cannot reach Kafka at ${connection.brokers.join(",")}: ${(e as Error).message.split("\n")[0]}`);
  }
  const pipeline = new IngestPipeline({
    sink,
    judge: judge.rules,
    counters: { received() {}, rejected() {}, warned() {}, published() {}, failed() {} },
    maxInFlightEvents: Number.MAX_SAFE_INTEGER,
  });
  const send: Send = async (event) => {
    try {
      const r = await pipeline.track(event, "replay");
      return { kind: "accepted", warnings: r.warnings };
    } catch (err) {
      if (err instanceof EventRejectedError) return { kind: "rejected", errors: err.errors };
      throw new CliError(`Kafka ${connection.brokers.join(",")}: ${(err as Error).message.split("\n")[0]}`);
    }
  };
  return {
    send,
    close: async () => {
      await sink.close();
      await judge.close();
    },
  };
}

/** The `replay` command. */
export function replayCommand(): Command {
  const cmd = new Command("replay")
    .description("send recorded events (NDJSON) again to a server or to Kafka, with rate limiting and a summary")
    .argument("<ndjson>", "events, one JSON per line (a JSON array works too); - reads stdin")
    .requiredOption("--to <url>", "http(s)://host:port of a tracking server, or kafka://host:port[,host:port]")
    .addOption(
      new Option("--rate <n>", "most events per second (default: as fast as the target takes them)").argParser(
        positive,
      ),
    )
    .addOption(concurrencyOption("events in flight at once", 8))
    .addOption(
      new Option("--from-line <n>", "start at this line (resume after a stop)").argParser(positiveInt).default(1),
    )
    .option("--tenant <id>", "tenant of events that carry no tenant_id (http)")
    .addOption(
      new Option("--api-key <key>", "tenant or admin API key sent as X-API-Key (http)").env("TRACKING_API_KEY"),
    )
    .addOption(
      new Option("--timeout-ms <ms>", "longest wait for one answer (http) or one broker acknowledgement (kafka)")
        .argParser(positiveInt)
        .default(5000),
    )
    .addOption(new Option("--json", "print the summary as JSON on stdout").default(false))
    .addOption(new Option("--no-progress", "no progress bar (it only shows on a TTY anyway)"));
  for (const opt of storeOptions()) cmd.addOption(opt);
  addKafkaConnectionFlags(cmd, "brokers when --to is just kafka:// (SASL/TLS flags apply to kafka:// targets)");
  cmd.addHelpText(
    "after",
    `
Lines that are not JSON and events the target rejects are reported ("file:line severity field rule
message") and counted; they do not stop the replay. kafka:// targets judge events locally with the
tenant configs of --config-store/--data-dir, then produce them like the server (same partitions, headers).
Exit codes: 0 every event accepted (warnings allowed), 1 finished but some lines were bad or rejected,
2 usage error, unreadable file, or the target failed (the message names the --from-line to resume at).`,
  );
  cmd.action(async (file: string, o: ReplayFlags) => {
    const kafka = o.to.startsWith("kafka://");
    let url: URL | undefined;
    if (!kafka) {
      try {
        url = new URL(o.to);
      } catch {
        throw new CliError(`--to ${o.to} is not a URL (http://host:port or kafka://host:port)`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw new CliError(`--to ${o.to}: use http://, https:// or kafka://`);
    }
    const source = streamEvents(file, o.fromLine);
    const first = await source.next(); // a missing file fails here, before connecting anywhere
    const showBar = o.progress !== false && process.stderr.isTTY === true && file !== "-";
    const total = showBar ? Math.max(0, (await countLines(file)) - o.fromLine + 1) : 0;
    const target = url === undefined ? await kafkaTarget(o.to, o) : await httpTarget(url, o);
    const counts = { accepted: 0, warned: 0, rejected: 0, bad_lines: 0 };
    const multi = showBar
      ? new MultiBar(
          {
            format: "{bar} {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted}",
            hideCursor: true,
            clearOnComplete: true,
            stream: process.stderr,
          },
          Presets.shades_classic,
        )
      : undefined;
    // The total counts lines (blank ones too): the bar's end is approximate, never short.
    const bar = multi?.create(total, 0, { rate: "0" });
    const report = (line: string) => {
      if (multi) multi.log(`${line}\n`);
      else process.stdout.write(`${line}\n`);
    };
    const started = performance.now();
    let taken = 0;
    let lastLine = o.fromLine - 1;
    let pending: IteratorResult<InputEvent> | undefined = first;
    // Workers share one stream; an async generator queues concurrent next() calls.
    const take = async (): Promise<InputEvent | undefined> => {
      const r = pending ?? (await source.next());
      pending = undefined;
      return r.done ? undefined : r.value;
    };
    let done = 0;
    let failure: CliError | undefined;
    // The smallest line not sent yet when a stop happens: everything before it was handled.
    const inFlight = new Set<number>();
    // Events of one user go out in file order even with --concurrency > 1 (the pipeline keys
    // and partitions by user_id; consumers rely on per-user order): each waits for the user's previous one.
    const lastOfUser = new Map<string, Promise<unknown>>();
    const worker = async () => {
      while (failure === undefined) {
        const at = await take();
        if (at === undefined || failure !== undefined) break;
        const index = taken++;
        lastLine = at.line;
        const due = o.rate !== undefined ? started + (index / o.rate) * 1000 : 0;
        if (at.error !== undefined) {
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          counts.bad_lines++;
          report(violationLine(at, { field: "", rule: "json", message: at.error, severity: "error" }));
        } else {
          inFlight.add(at.line);
          const user = (at.event as { user_id?: unknown } | null)?.user_id;
          const key = typeof user === "string" ? user : undefined;
          const previous = key !== undefined ? lastOfUser.get(key) : undefined;
          // Registered before any await, so a later line of the same user always waits for this one.
          const mine = (async () => {
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            await previous?.catch(() => {});
            if (failure !== undefined) throw failure;
            return target.send(at.event);
          })();
          if (key !== undefined) lastOfUser.set(key, mine);
          try {
            const r = await mine;
            if (r.kind === "accepted") {
              counts.accepted++;
              if (r.warnings.length > 0) counts.warned++;
            } else {
              counts.rejected++;
              for (const v of r.errors) report(violationLine(at, v));
            }
          } catch (e) {
            if (failure === undefined) failure = e instanceof CliError ? e : new CliError((e as Error).message);
            continue;
          } finally {
            if (key !== undefined && lastOfUser.get(key) === mine) lastOfUser.delete(key);
          }
          inFlight.delete(at.line);
        }
        done++;
        const secs = (performance.now() - started) / 1000;
        bar?.update(done, { rate: secs > 0 ? (done / secs).toFixed(0) : "0" });
      }
    };
    try {
      await Promise.all(Array.from({ length: o.concurrency }, worker));
    } finally {
      multi?.stop();
      await target.close().catch(() => {});
    }
    const seconds = (performance.now() - started) / 1000;
    if (failure !== undefined) {
      const resume = inFlight.size > 0 ? Math.min(...inFlight) : lastLine + 1;
      const where = `; resume with --from-line ${resume}`;
      throw new CliError(`${failure.message.split("\n")[0]}${where}`, failure.code);
    }
    const summary = {
      ...counts,
      events: taken - counts.bad_lines,
      seconds: Number(seconds.toFixed(3)),
      events_per_second: Number((done / Math.max(seconds, 1e-3)).toFixed(1)),
    };
    if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const bad = counts.rejected + counts.bad_lines > 0;
      process.stderr.write(
        `${bad ? paint("yellow", "!", process.stderr) : paint("green", "✓", process.stderr)} replayed ${summary.events} events to ${o.to} in ${summary.seconds} s (${summary.events_per_second}/s): ${counts.accepted} accepted (${counts.warned} with warnings), ${counts.rejected} rejected, ${counts.bad_lines} bad lines\n`,
      );
    }
    if (counts.rejected + counts.bad_lines > 0) process.exitCode = 1;
  });
  return cmd;
}
