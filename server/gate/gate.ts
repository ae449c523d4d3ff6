/**
 * The quality gate for direct Kafka writers: a consumer group over the tenant topics
 * (`user-behaviors-{tenant}`, discovered periodically from the broker's topic list) that judges
 * every message (./judge.ts), counts the verdicts (./metrics.ts) and copies failing messages,
 * with their violations, to `user-behaviors-{tenant}.invalid`.
 *
 * Delivery: the source topics are only read, never written. Offsets are committed manually,
 * every `commitIntervalMs` and on stop, and only after every `.invalid` copy of the messages
 * before them was acknowledged by the broker (acks=all): a crash re-judges at most the messages
 * since the last commit (at-least-once, duplicates in counts and in `.invalid`), never skips one.
 * A copy that cannot be produced stops the gate without committing past it.
 */
import { Admin, Consumer, type Message } from "@platformatic/kafka";
import {
  createKafkaPublisher,
  type KafkaPublisher,
  type KafkaSaslOptions,
  type PublishRecord,
} from "../../sdk/common/kafka-publisher.js";
import type { EventJudge } from "../ingest/pipeline.js";
import { type GateVerdict, invalidTopicOf, judgeMessage, tenantOfTopic } from "./judge.js";
import type { GateMetrics } from "./metrics.js";

/** Options of {@link startGate}. */
export interface GateOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** SASL credentials (the seed's production: SASL_SSL + PLAIN); pair with `tls`. */
  sasl?: KafkaSaslOptions | undefined;
  /** TLS with the system CAs. */
  tls?: boolean | undefined;
  /** Consumer group id; instances with the same group share the partitions. */
  group: string;
  /** The tenant's tracking configs (a RuleBook attached to the config store). */
  rules: EventJudge;
  metrics: GateMetrics;
  /** Only these tenants' topics (default: every `user-behaviors-{tenant}` topic). */
  tenants?: readonly string[] | undefined;
  /** Where a group without committed offsets starts. Default "earliest" (judge what the topics retain). */
  from?: "earliest" | "latest";
  /**
   * Group session timeout, ms. Default 30,000. A gate that died without leaving the group keeps its
   * partitions this long: a restarted gate waits for it before it gets them.
   */
  sessionTimeoutMs?: number | undefined;
  /** How often new tenant topics are looked for, ms. Default 5000. */
  discoverIntervalMs?: number;
  /** How often judged offsets are committed, ms. Default 1000. */
  commitIntervalMs?: number;
  /** Stop after judging this many messages (one-shot audits, tests). */
  maxMessages?: number | undefined;
  /** Stop once no message arrived for this long, ms (one-shot audits, tests). */
  idleExitMs?: number | undefined;
  /** Partitions of created `.invalid` topics. Default 12. */
  invalidPartitions?: number;
  /** Replication factor of created `.invalid` topics. Default 1. */
  invalidReplication?: number;
  /** Called with each verdict (after counting). */
  onVerdict?: (v: GateVerdict, m: Message<Buffer, Buffer, Buffer, Buffer>) => void;
  /** Progress and warnings. Default stderr. */
  log?: (line: string) => void;
}

/** Why the gate stopped and what it judged. */
export interface GateSummary {
  reason: "signal" | "max-messages" | "idle" | "error";
  judged: number;
  committed: number;
  error?: string;
}

/** A running gate. */
export interface RunningGate {
  /** Resolves when the gate stopped (offsets committed, connections closed). */
  readonly done: Promise<GateSummary>;
  /** Asks the gate to stop: judged messages are committed, then everything closes. */
  stop(): Promise<GateSummary>;
}

/** Consecutive failed commits after which the gate stops (offsets stay at the last successful commit). */
const MAX_COMMIT_FAILURES = 10;

/** Most `.invalid` copies waiting for acknowledgement before the gate waits for them. */
const MAX_PENDING_COPIES = 2000;

interface Judged {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
}

/** The innermost message of a client error (its `errors`/`cause` chain), e.g. "connect ECONNREFUSED 127.0.0.1:1". */
function rootCause(e: unknown): string {
  let cur: unknown = e;
  for (let depth = 0; depth < 10; depth++) {
    const x = cur as { errors?: unknown[]; cause?: unknown } | null;
    const next = x?.errors?.[0] ?? x?.cause;
    if (next === undefined || next === null) break;
    cur = next;
  }
  return cur instanceof Error ? cur.message : String(cur);
}

/** Starts the gate; returns at once (connections are made in the background). */
export function startGate(options: GateOptions): RunningGate {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tenants = options.tenants && options.tenants.length > 0 ? new Set(options.tenants) : undefined;
  const clientId = `tracking-gate-${options.group}`;
  const security = {
    ...(options.sasl ? { sasl: options.sasl } : {}),
    ...(options.tls ? { tls: {} } : {}),
  };
  const admin = new Admin({ clientId, bootstrapBrokers: options.brokers, ...security });
  const consumer = new Consumer({
    ...security,
    clientId,
    groupId: options.group,
    bootstrapBrokers: options.brokers,
    autocommit: false,
    maxWaitTime: 500,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
  });
  const publisher: KafkaPublisher = createKafkaPublisher({
    brokers: options.brokers,
    clientId,
    partitions: options.invalidPartitions ?? 12,
    replicationFactor: options.invalidReplication ?? 1,
    ...(options.sasl ? { sasl: options.sasl } : {}),
    ...(options.tls ? { tls: true } : {}),
  });

  let stopping = false;
  let reason: GateSummary["reason"] = "signal";
  let failure: Error | undefined;
  let judgedCount = 0;
  let committedCount = 0;
  let lastActivity = Date.now();
  /** The group is joined and the stream is fetching (idle time counts only then). */
  let consuming = false;
  /** topic → partitions, of the topics consumed now. */
  let partitionsOf = new Map<string, number>();
  /** Newest judged message per "topic/partition" since the last commit. */
  let judged = new Map<string, Judged>();
  let judgedSinceCommit = 0;
  let commitFailures = 0;
  /** `.invalid` copies not yet known to be acknowledged. */
  let pending: Promise<void>[] = [];
  /** Flushes run one at a time, in order. */
  let chain: Promise<void> = Promise.resolve();
  let stream: Awaited<ReturnType<typeof consumer.consume>> | undefined;
  let restartStream = false;

  /** Waits for the copies judged so far, then commits the offsets after the judged messages. */
  function flush(): Promise<void> {
    chain = chain.then(async () => {
      if (judged.size === 0 && pending.length === 0) return;
      const offsets = [...judged.values()];
      const copies = pending;
      const n = judgedSinceCommit;
      judged = new Map();
      pending = [];
      judgedSinceCommit = 0;
      await Promise.all(copies);
      if (offsets.length === 0) return;
      try {
        await consumer.commit({
          offsets: offsets.map((o) => ({
            topic: o.topic,
            partition: o.partition,
            offset: o.offset + 1n,
            leaderEpoch: o.leaderEpoch,
          })),
        });
      } catch (e) {
        // A rebalance or a coordinator move refuses commits for a while: keep the offsets (unless
        // newer ones were judged meanwhile) and try again at the next flush; give up after a streak.
        for (const o of offsets) {
          const k = `${o.topic}/${o.partition}`;
          if (!judged.has(k)) judged.set(k, o);
        }
        judgedSinceCommit += n;
        if (++commitFailures >= MAX_COMMIT_FAILURES) throw e;
        log(`tracking gate: commit failed (${(e as Error).message}), retrying at the next flush`);
        return;
      }
      commitFailures = 0;
      committedCount += n;
      options.metrics.committed();
    });
    return chain;
  }

  function fail(e: unknown): void {
    if (failure) return;
    failure = e instanceof Error ? e : new Error(String(e));
    reason = "error";
    log(`tracking gate: ${failure.message}; stopping without committing past it`);
    void requestStop();
  }

  function copyInvalid(v: GateVerdict, m: Message<Buffer, Buffer, Buffer, Buffer>): void {
    const violations = v.violations.map((x) => ({
      field: x.field,
      rule: x.rule,
      severity: x.severity,
      message: x.message,
    }));
    const key = m.key == null ? null : m.key.toString("utf8");
    const headers: Record<string, string> = {};
    for (const [k, val] of m.headers) headers[k.toString("utf8")] = val.toString("utf8");
    headers["gate-result"] = v.result;
    headers["gate-violations"] = JSON.stringify(violations);
    headers["gate-source"] = `${m.topic}/${m.partition}/${m.offset}`;
    const raw = m.value == null ? null : m.value.toString("utf8");
    const record: PublishRecord = {
      topic: invalidTopicOf(v.tenant),
      key: key ?? "",
      value: JSON.stringify({
        source: { topic: m.topic, partition: m.partition, offset: Number(m.offset), key },
        violations,
        value: v.parsed !== undefined ? v.parsed : raw,
      }),
      headers,
    };
    const p = publisher.publish([record]).then(
      () => options.metrics.copied(v.tenant, 1),
      (e: unknown) => {
        fail(e);
        throw e;
      },
    );
    pending.push(p);
  }

  async function discover(): Promise<Map<string, number>> {
    const all = await admin.listTopics().catch((e: unknown) => {
      throw new Error(`cannot list the topics of ${options.brokers.join(",")}: ${rootCause(e)}`);
    });
    const names = all.filter((t) => {
      const tenant = tenantOfTopic(t);
      return tenant !== undefined && (tenants === undefined || tenants.has(tenant));
    });
    const found = new Map<string, number>();
    if (names.length === 0) return found;
    const md = await admin.metadata({ topics: names, forceUpdate: true });
    for (const [name, t] of md.topics) found.set(name, t.partitionsCount);
    return found;
  }

  const sameTopics = (a: Map<string, number>, b: Map<string, number>) =>
    a.size === b.size && [...a].every(([k, n]) => b.get(k) === n);

  async function requestStop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    wake?.();
    await flush().catch(fail);
    await stream?.close().catch(() => {});
  }

  async function consumeLoop(): Promise<void> {
    const maxMessages = options.maxMessages;
    while (!stopping) {
      const topics = await discover();
      if (topics.size === 0) {
        options.metrics.topics(0);
        await sleepUnlessStopping(options.discoverIntervalMs ?? 5000);
        continue;
      }
      partitionsOf = topics;
      options.metrics.topics(topics.size);
      log(`tracking gate: group ${options.group} consuming ${topics.size} topic(s)`);
      restartStream = false;
      consuming = false;
      stream = await consumer.consume({
        topics: [...topics.keys()],
        mode: "committed",
        fallbackMode: options.from ?? "earliest",
        autocommit: false,
        maxWaitTime: 500,
      });
      // Closing the stream (stop, new topics) aborts its fetch: not a failure then.
      // Idle time counts from the moment the group was joined (a join can wait for a crashed member's session to expire).
      consuming = true;
      lastActivity = Date.now();
      stream.on("error", (e: unknown) => {
        if (!stopping && !restartStream) fail(e);
      });
      for await (const m of stream) {
        if (stopping || restartStream) break;
        lastActivity = Date.now();
        const v = judgeMessage(m, partitionsOf.get(m.topic), options.rules);
        options.metrics.judged(v);
        options.onVerdict?.(v, m);
        if (v.result === "fail") copyInvalid(v, m);
        judged.set(`${m.topic}/${m.partition}`, {
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          leaderEpoch: m.leaderEpoch,
        });
        judgedSinceCommit++;
        judgedCount++;
        if (maxMessages !== undefined && judgedCount >= maxMessages) {
          reason = "max-messages";
          await requestStop();
          break;
        }
        if (pending.length >= MAX_PENDING_COPIES) await flush();
      }
      if (!stopping) {
        // New topics appeared (or the stream ended): commit, then subscribe again.
        await flush();
        await stream.close().catch(() => {});
      }
    }
  }

  let wake: (() => void) | undefined;
  function sleepUnlessStopping(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  const timers: NodeJS.Timeout[] = [];
  timers.push(setInterval(() => void flush().catch(fail), options.commitIntervalMs ?? 1000));
  timers.push(
    setInterval(() => {
      if (stopping || stream === undefined) return;
      discover().then((t) => {
        if (!stopping && !sameTopics(t, partitionsOf) && t.size > 0) {
          restartStream = true;
          // The loop notices at its next message; an idle stream is closed so it notices at all.
          flush()
            .then(() => stream?.close())
            .catch(fail);
        }
      }, fail);
    }, options.discoverIntervalMs ?? 5000),
  );
  if (options.idleExitMs !== undefined) {
    const idle = options.idleExitMs;
    timers.push(
      setInterval(
        () => {
          if (!stopping && consuming && Date.now() - lastActivity >= idle) {
            reason = "idle";
            void requestStop();
          }
        },
        Math.min(idle, 250),
      ),
    );
  }

  const done = (async (): Promise<GateSummary> => {
    try {
      await consumeLoop();
    } catch (e) {
      if (!stopping && !restartStream) fail(e);
    } finally {
      for (const t of timers) clearInterval(t);
    }
    // Whatever was judged but not yet committed (e.g. the loop ended on a stream error).
    if (!failure) await flush().catch(fail);
    await stream?.close().catch(() => {});
    await consumer.close(true).catch(() => {});
    await admin.close().catch(() => {});
    await publisher.close().catch(() => {});
    return {
      reason,
      judged: judgedCount,
      committed: committedCount,
      ...(failure ? { error: failure.message } : {}),
    };
  })();

  return {
    done,
    async stop() {
      await requestStop();
      return done;
    },
  };
}
