/**
 * The primary of `tracking serve --workers N`: forks N worker processes that each run the
 * whole server (server/app.ts) on the same HTTP and gRPC ports, replaces a worker that dies
 * (with backoff, so a crash loop does not spin), sums the workers' metrics for whichever
 * worker a scrape landed on, passes each worker's quota charges on to the others (so a
 * tenant's quota holds for the whole server, not per worker), on SIGHUP has every worker
 * reload its keys, and on SIGTERM/SIGINT drains every worker and exits 0.
 *
 * Connections are spread by node:cluster's round-robin scheduling (the primary accepts and
 * hands each connection to the next worker), not by SO_REUSEPORT listeners (`reusePort` +
 * `exclusive`: each worker binds its own socket, the kernel picks one per connection). On the
 * 2-core box, 5 alternating pairs (2 workers, Kafka sink, h2load closed loop, BENCHMARKS.md
 * "Workers") gave reusePort 5-25 % more in 4 of 5 pairs for REST and for gRPC, but the machine
 * was shared (load average 15-19) and one configuration's own runs varied 2.5×, so the
 * difference is inside the noise; in steady state neither does work per request (clients keep
 * their connections; the primary's hand-off is once per connection). Round-robin wins on
 * behaviour, which the rolling-restart and crash tests need: a worker that stops or dies takes
 * no connections with it (with SO_REUSEPORT the connections waiting in its accept queue are
 * reset, i.e. failed requests), and even a handful of connections is spread evenly.
 */
import cluster, { type Worker } from "node:cluster";
import { Gauge, Registry } from "prom-client";
import { aggregateMetrics, type MetricsJson, retireCounters } from "../stats/stats.js";
import { type ClusterMessage, isMessage } from "./messages.js";

/** Options of the primary. */
export interface PrimaryOptions {
  /** Worker processes to keep running (≥ 2; one process needs no primary). */
  workers: number;
  /** A worker's graceful stop takes at most this long before it is killed, ms. Default 15 s. */
  drainTimeoutMs?: number;
  /** Longest wait for one worker's metrics during a scrape, ms. Default 2 s. */
  scrapeTimeoutMs?: number;
  /** Log lines. Default console.error. */
  log?: (line: string) => void;
}

/** First restart delay after a crash, doubled per consecutive crash of the same slot. */
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** A worker that stayed up this long resets its slot's crash count. */
const STABLE_AFTER_MS = 30_000;
/**
 * How often the primary reads every worker's metrics between scrapes, so a worker that dies
 * takes at most this much of its counting with it (retired counters, clusterMetrics).
 */
const REFRESH_MS = 5_000;

/**
 * How long to wait before replacing a worker that crashed after `crashes` earlier consecutive
 * crashes of its slot: at once the first time, then 250 ms doubling up to 30 s.
 */
export function restartDelayMs(crashes: number): number {
  return crashes <= 0 ? 0 : Math.min(BACKOFF_FIRST_MS * 2 ** (crashes - 1), BACKOFF_MAX_MS);
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  startedAt: number;
  ready: boolean;
  /** Consecutive crashes (exits not asked for) of this slot. */
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * Runs the primary until it is told to stop (SIGTERM/SIGINT) or no worker can start;
 * resolves with the process exit code: 0 after a clean drain, 1 when the first start of the
 * workers failed (e.g. the port is taken) or a worker had to be killed while draining.
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const log = options.log ?? ((line: string) => console.error(line));
  const drainTimeoutMs = options.drainTimeoutMs ?? 15_000;
  const scrapeTimeoutMs = options.scrapeTimeoutMs ?? 2_000;
  // Set before the first fork; SCHED_RR is node's Linux default, stated here because the
  // choice is measured (see the header) and Windows defaults to the other one.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    worker: undefined,
    startedAt: 0,
    ready: false,
    crashes: 0,
    restartTimer: undefined,
  }));
  let stopping = false;
  let everyoneStarted = false;
  let exitCode = 0;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const fork = (slot: Slot) => {
    slot.restartTimer = undefined;
    slot.ready = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ TRACKING_WORKER_INDEX: String(slot.index) });
    slot.worker = worker;
    worker.on("message", (m: unknown) => onMessage(slot, worker, m));
    worker.on("exit", (code, signal) => onExit(slot, worker, code, signal));
  };

  const onMessage = (slot: Slot, worker: Worker, m: unknown) => {
    if (isMessage(m, "tracking:ready")) {
      slot.ready = true;
      // The first worker has opened (created, migrated) the config store: the others may start.
      if (slot.index === 0 && !everyoneStarted) for (const s of slots.slice(1)) if (!s.worker && !stopping) fork(s);
      if (everyoneStarted) log(`tracking cluster: worker ${slot.index} (pid ${worker.process.pid}) serving`);
      else if (slots.every((s) => s.ready)) {
        everyoneStarted = true;
        log(
          `tracking cluster: ${slots.length} workers serving HTTP :${m.httpPort} and gRPC :${m.grpcPort} (primary pid ${process.pid})`,
        );
      }
    } else if (isMessage(m, "tracking:quota-usage")) {
      // Every other worker charges what this one admitted (server/cluster/worker.ts shareQuotaUsage).
      for (const s of slots) if (s.worker !== undefined && s.worker !== worker) reply(s.worker, m);
    } else if (isMessage(m, "tracking:cluster-metrics?")) {
      clusterMetrics().then(
        (r) => reply(worker, { type: "tracking:cluster-metrics", id: m.id, text: r.text, snapshot: r.snapshot }),
        (err: unknown) =>
          reply(worker, {
            type: "tracking:cluster-metrics",
            id: m.id,
            error: err instanceof Error ? err.message : String(err),
          }),
      );
    }
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    const last = lastSeen.get(worker);
    lastSeen.delete(worker);
    if (last !== undefined) retired = retired.then((r) => retireCounters(r, last));
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (slots.every((s) => s.worker === undefined)) finish(exitCode);
      return;
    }
    if (!everyoneStarted && !slot.ready) {
      // A worker that cannot even start (port taken, bad configuration) would fail the same way
      // again: stop instead of looping, with the worker's own error already on stderr.
      log(`tracking cluster: worker ${slot.index} exited (${how}) before serving; stopping`);
      exitCode = 1;
      void stop("startup failure");
      return;
    }
    if (Date.now() - slot.startedAt >= STABLE_AFTER_MS) slot.crashes = 0;
    const delay = restartDelayMs(slot.crashes);
    slot.crashes++;
    log(
      `tracking cluster: worker ${slot.index} (pid ${worker.process.pid}) exited (${how}); restarting in ${delay} ms`,
    );
    slot.restartTimer = setTimeout(() => fork(slot), delay);
  };

  const reply = (worker: Worker, m: ClusterMessage) => {
    if (worker.isConnected()) worker.send(m);
  };

  // One gauge the primary adds to every aggregated scrape: how many workers answered it.
  const own = new Registry();
  const workersGauge = new Gauge({
    name: "tracking_workers",
    help: "Worker processes whose metrics this scrape sums (--workers).",
    registers: [own],
  });
  // Each worker's metrics as last seen, and the counters of workers that exited (retireCounters):
  // a replaced worker's counts stay in the sums. What a worker counted after its last scrape is
  // lost with it; the refresh below bounds that to REFRESH_MS.
  const lastSeen = new Map<Worker, MetricsJson>();
  let retired: Promise<MetricsJson> = Promise.resolve([]);
  let nextScrape = 0;
  const scrapeWorkers = async (): Promise<Worker[]> => {
    const id = nextScrape++;
    const live = slots.flatMap((s) => (s.ready && s.worker?.isConnected() ? [s.worker] : []));
    const answers = await Promise.all(live.map((w) => localMetrics(w, id, scrapeTimeoutMs)));
    const answered: Worker[] = [];
    answers.forEach((a, i) => {
      const w = live[i]!;
      // A worker that exited while answering is already retired: do not bring it back.
      if (a === undefined || !w.isConnected()) return;
      lastSeen.set(w, a);
      answered.push(w);
    });
    return answered;
  };
  const clusterMetrics = async () => {
    const answered = await scrapeWorkers();
    // Wait until no exit is being folded in, then count each worker once: live, or retired.
    let settled: Promise<MetricsJson>;
    let gone: MetricsJson;
    do {
      settled = retired;
      gone = await settled;
    } while (settled !== retired);
    const live = answered.flatMap((w) => {
      const m = lastSeen.get(w);
      return m === undefined ? [] : [m];
    });
    workersGauge.set(live.length);
    return aggregateMetrics([...live, gone, (await own.getMetricsAsJSON()) as MetricsJson]);
  };
  const refresh = setInterval(() => void scrapeWorkers(), REFRESH_MS);
  refresh.unref();
  void done.then(() => clearInterval(refresh));

  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`tracking cluster: ${why}, draining ${slots.filter((s) => s.worker).length} workers…`);
    for (const s of slots) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      // Each worker runs its own graceful stop on SIGTERM (server/main.ts).
      s.worker?.process.kill("SIGTERM");
    }
    if (slots.every((s) => s.worker === undefined)) finish(exitCode);
    const killer = setTimeout(() => {
      for (const s of slots)
        if (s.worker) {
          log(`tracking cluster: worker ${s.index} still draining after ${drainTimeoutMs} ms; killing it`);
          s.worker.process.kill("SIGKILL");
          exitCode = 1;
        }
    }, drainTimeoutMs);
    killer.unref();
  };

  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // Key rotation (server/main.ts reloads the keys file on SIGHUP): each worker re-reads it.
  process.on("SIGHUP", () => {
    for (const s of slots) s.worker?.process.kill("SIGHUP");
  });
  // One worker first: opening the store creates and migrates a fresh configs.db, and two
  // processes doing that at once race (both read schema version 0). The rest follow its ready.
  fork(slots[0]!);
  return done;
}

/** Asks one worker for its registry's metrics; undefined when it does not answer in time. */
function localMetrics(worker: Worker, id: number, timeoutMs: number): Promise<MetricsJson | undefined> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (isMessage(m, "tracking:local-metrics") && m.id === id) settle(m.metrics);
    };
    const settle = (v: MetricsJson | undefined) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("exit", onGone);
      resolve(v);
    };
    const onGone = () => settle(undefined);
    const timer = setTimeout(onGone, timeoutMs);
    worker.on("message", onMessage);
    worker.once("exit", onGone);
    worker.send({ type: "tracking:local-metrics?", id } satisfies ClusterMessage);
  });
}
