/**
 * Real-broker helpers for the Kafka tests (no mocks): make sure the shared dev broker on
 * 127.0.0.1:9092 runs (scripts/kafka/up.sh is idempotent), start/stop a private second broker for
 * fault tests so stopping it never disturbs other engineers' tests, and read topics back with a
 * @platformatic/kafka Consumer.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { promisify } from "node:util";
import { Consumer, type SASLOptions, stringDeserializers } from "@platformatic/kafka";

const run = promisify(execFile);
/** Repository root (this file lives in test/kafka/). */
export const ROOT = resolve(import.meta.dirname, "../..");
/** The shared dev broker. */
export const MAIN_BOOTSTRAP = "127.0.0.1:9092";

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const s = new Socket();
    const finish = (ok: boolean) => {
      s.destroy();
      done(ok);
    };
    s.setTimeout(timeoutMs, () => finish(false));
    s.once("connect", () => finish(true));
    s.once("error", () => finish(false));
    s.connect(port, "127.0.0.1");
  });
}

/** Starts the shared broker with scripts/kafka/up.sh unless port 9092 already answers. */
export async function ensureMainBroker(): Promise<string> {
  if (!(await portOpen(9092))) {
    await run("bash", [join(ROOT, "scripts/kafka/up.sh")], { cwd: ROOT, timeout: 90_000 });
  }
  return MAIN_BOOTSTRAP;
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => done(port));
    });
  });
}

/** A private broker on its own ports and data dir, for tests that stop and restart Kafka. */
export interface FaultBroker {
  bootstrap: string;
  port: number;
  /** Its KAFKA_DATA (config, pid file, topic data). */
  data: string;
  start(): Promise<void>;
  /** Clean stop (SIGTERM, controlled shutdown). */
  stop(): Promise<void>;
  /** PID of the running broker JVM (from up.sh's pid file). */
  pid(): Promise<number>;
  /**
   * Sends `signal` to the broker JVM (chaos tests: SIGKILL = crash, SIGSTOP/SIGCONT = pause).
   * After SIGKILL, `start()` restarts it on the same data.
   */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** Stops it and deletes its data dir. */
  destroy(): Promise<void>;
}

/** Creates (and starts) a second broker with scripts/kafka/up.sh on free ports and a temp KAFKA_DATA. */
export async function startFaultBroker(): Promise<FaultBroker> {
  const port = await freePort();
  let controller = await freePort();
  while (controller === port) controller = await freePort();
  const data = await mkdtemp(join(tmpdir(), "kafka-fault-"));
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controller),
    KAFKA_DATA: data,
    // No SASL_SSL listener: it would need a third free port, and fault tests run on PLAINTEXT.
    KAFKA_SASL_SSL: "0",
    KAFKA_HEAP_OPTS: "-Xms128m -Xmx384m",
    // A restart after SIGKILL recovers the log first; on a busy 2-core box that can pass 60 s.
    KAFKA_START_TIMEOUT: "150",
  };
  const broker: FaultBroker = {
    bootstrap: `127.0.0.1:${port}`,
    port,
    data,
    async pid() {
      const pid = Number((await readFile(join(data, "kafka.pid"), "utf8")).trim());
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no broker pid in ${data}/kafka.pid`);
      return pid;
    },
    async signal(signal) {
      const pid = await broker.pid();
      process.kill(pid, signal);
      if (signal === "SIGKILL") {
        // Wait until it is gone so a restart does not find the old process alive.
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          try {
            process.kill(pid, 0);
          } catch {
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`broker ${pid} still alive 10 s after SIGKILL`);
      }
    },
    async start() {
      await run("bash", [join(ROOT, "scripts/kafka/up.sh")], { cwd: ROOT, env, timeout: 180_000 });
    },
    async stop() {
      await run("bash", [join(ROOT, "scripts/kafka/down.sh")], { cwd: ROOT, env, timeout: 60_000 });
    },
    async destroy() {
      // A paused broker would ignore the SIGTERM of down.sh.
      await broker.signal("SIGCONT").catch(() => {});
      await run("bash", [join(ROOT, "scripts/kafka/down.sh"), "--wipe"], { cwd: ROOT, env, timeout: 60_000 }).catch(
        () => {},
      );
      await rm(data, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

/** A broker to read from: a PLAINTEXT bootstrap, or a secured listener with its client settings. */
export type BrokerTarget = string | { bootstrap: string; sasl?: SASLOptions; tls?: TlsConnectionOptions };

function clientOptions(target: BrokerTarget) {
  if (typeof target === "string") return { bootstrapBrokers: [target] };
  return {
    bootstrapBrokers: [target.bootstrap],
    ...(target.sasl ? { sasl: target.sasl } : {}),
    ...(target.tls ? { tls: target.tls } : {}),
  };
}

/** SCRAM credentials of a principal on the secured listener. */
export interface ScramUser {
  username: string;
  password: string;
}

/** The shared broker's SASL_SSL listener (scripts/kafka/secure.sh), as its client file describes it. */
export interface SecureListener {
  bootstrap: string;
  /** PEM CA file that signed the broker certificate, and its contents. */
  caFile: string;
  ca: Buffer;
  /** User:tracking-server: may write every user-behaviors-* topic. */
  server: ScramUser;
  /** User:admin: super user (grants, reading any topic). */
  admin: ScramUser;
  /** A reader/admin target on this listener as `admin`. */
  adminTarget: Exclude<BrokerTarget, string>;
}

/**
 * Reads the client settings up.sh wrote for the SASL_SSL listener of the broker in KAFKA_DATA
 * (default .tools/kafka-data). Fails with the fix when the running broker predates the listener.
 */
export function secureListener(): SecureListener {
  const file = join(process.env.KAFKA_DATA ?? join(ROOT, ".tools/kafka-data"), "client-sasl-ssl.env");
  if (!existsSync(file)) {
    throw new Error(
      `${file} is missing: the broker has no SASL_SSL listener; restart it (scripts/kafka/down.sh && scripts/kafka/up.sh)`,
    );
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  const need = (k: string): string => {
    const v = env[k];
    if (v === undefined) throw new Error(`${file} has no ${k}`);
    return v;
  };
  const ca = readFileSync(need("KAFKA_SSL_CA_FILE"));
  const admin = { username: need("KAFKA_ADMIN_USER"), password: need("KAFKA_ADMIN_PASSWORD") };
  const bootstrap = need("KAFKA_BROKERS");
  return {
    bootstrap,
    caFile: need("KAFKA_SSL_CA_FILE"),
    ca,
    server: { username: need("KAFKA_USER"), password: need("KAFKA_PASSWORD") },
    admin,
    adminTarget: { bootstrap, sasl: { mechanism: "SCRAM-SHA-512", ...admin }, tls: { ca } },
  };
}

/** A record read back from Kafka. */
export interface ReadRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * Reads `topic` from the beginning with a @platformatic/kafka Consumer until `count` records
 * arrived or `timeoutMs` passed; returns what arrived (in per-partition offset order).
 */
export async function readTopic(
  bootstrap: BrokerTarget,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<ReadRecord[]> {
  const consumer = new Consumer({
    groupId: `test-reader-${topic}-${Math.random().toString(16).slice(2)}`,
    clientId: "test-reader",
    ...clientOptions(bootstrap),
    deserializers: stringDeserializers,
    maxWaitTime: 200,
  });
  const out: ReadRecord[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
    const timer = setTimeout(() => void stream.close(), timeoutMs);
    try {
      for await (const m of stream) {
        const headers: Record<string, string> = {};
        for (const [k, v] of m.headers) headers[String(k)] = String(v);
        out.push({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          key: String(m.key),
          value: String(m.value),
          headers,
        });
        if (out.length >= count) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close().catch(() => {});
    }
  } finally {
    await consumer.close(true).catch(() => {});
  }
  return out;
}

/** A tenant id unique to this test run, so reruns never reuse a topic. */
export function uniqueTenant(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Sum over partitions of the log-end offsets of `topic`: how many records the broker stored (duplicates included). */
export async function topicEndOffset(bootstrap: BrokerTarget, topic: string): Promise<number> {
  const { Admin } = await import("@platformatic/kafka");
  const admin = new Admin({ clientId: "test-offsets", ...clientOptions(bootstrap) });
  try {
    const md = await admin.metadata({ topics: [topic], forceUpdate: true });
    const t = md.topics.get(topic);
    if (!t) return 0;
    const partitions = Array.from({ length: t.partitionsCount }, (_, i) => ({ partitionIndex: i, timestamp: -1n }));
    const listed = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
    let sum = 0n;
    for (const lt of listed) for (const p of lt.partitions) sum += p.offset;
    return Number(sum);
  } finally {
    await admin.close().catch(() => {});
  }
}
