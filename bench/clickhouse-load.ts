/**
 * Load benchmark of the generated ClickHouse ingestion (not a test; BENCHMARKS.md "ClickHouse"):
 *   node --import tsx bench/clickhouse-load.ts [--events N] [--block N]
 * Puts N canonical Kafka messages (the seed's event, scenarios varied, as the server publishes
 * them) on a fresh `user-behaviors-bench_ch_…` topic of the broker on 127.0.0.1:$KAFKA_PORT, then
 * measures what the ClickHouse Kafka engine does, on this machine: a consumer reads the topic from
 * the beginning and every `--block` messages are inserted as JSONEachRow into the generated queue
 * table (engine swapped for Null, test/downstream/chdb.ts) whose generated view fills
 * behavior_events in chDB. Prints events/s end to end (consume + parse + view + MergeTree write)
 * and for the inserts alone, and checks every event arrived once (FINAL).
 */
import { Consumer, stringDeserializers } from "@platformatic/kafka";
import { behaviorEventFromWire, behaviorEventToWire } from "../gen/validator/recommender/v1/behavior_validator.js";
import { createKafkaPublisher } from "../sdk/common/kafka-publisher.js";
import { ChdbSession, genFile, kafkaInsertSettings, nullEngineDdl, statements } from "../test/downstream/chdb.js";
import { seedEventData } from "../test/helpers/seed.js";

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const EVENTS = opt("events", 200_000);
const BLOCK = opt("block", 65_536); // kafka_max_block_size's default
const bootstrap = process.env.BENCH_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? "9092"}`;
const tenant = `bench_ch_${Date.now().toString(36)}`;
const topic = `user-behaviors-${tenant}`;

/** Message i: the seed's video event, other scenarios every few, in the server's canonical JSON. */
function message(i: number): string {
  const e = seedEventData() as Record<string, unknown>;
  e.tenant_id = tenant;
  e.event_id = `evt_${i.toString(16).padStart(16, "0")}`;
  e.timestamp = Date.now() - 1000 + (i % 1000);
  e.user_id = `user_${i % 5000}`;
  e.item_id = `item_${i % 20000}`;
  if (i % 3 === 1) {
    e.action_type = "purchase";
    e.scenario_data = { ecommerce_data: { price: 99.5, currency: "CNY", quantity: 1 + (i % 3), sku_id: "sku_1" } };
  } else if (i % 3 === 2) {
    e.action_type = "read";
    e.scenario_data = { news_data: { read_duration: i % 300, read_progress: 0.5, keywords: ["a", "b"] } };
  }
  return JSON.stringify(behaviorEventToWire(behaviorEventFromWire(e)));
}

async function produce(): Promise<void> {
  const pub = createKafkaPublisher({ brokers: [bootstrap], clientId: "bench-clickhouse" });
  try {
    for (let i = 0; i < EVENTS; i += 5000) {
      const n = Math.min(5000, EVENTS - i);
      await pub.publish(
        Array.from({ length: n }, (_, k) => ({ topic, key: `user_${(i + k) % 5000}`, value: message(i + k) })),
      );
    }
  } finally {
    await pub.close();
  }
}

async function main(): Promise<void> {
  const p0 = performance.now();
  await produce();
  console.log(`produced ${EVENTS} messages to ${topic} in ${((performance.now() - p0) / 1000).toFixed(1)} s`);

  const ch = await ChdbSession.start();
  try {
    const kafka = genFile("behavior_events_kafka.sql");
    for (const stmt of statements(genFile("behavior_events.sql"))) await ch.query(stmt);
    for (const stmt of statements(nullEngineDdl(kafka))) await ch.query(stmt);
    const settings = kafkaInsertSettings(kafka);

    const consumer = new Consumer({
      groupId: `bench-clickhouse-${tenant}`,
      clientId: "bench-clickhouse",
      bootstrapBrokers: [bootstrap],
      deserializers: stringDeserializers,
      maxWaitTime: 200,
    });
    let read = 0;
    let insertSeconds = 0;
    let pending: string[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const r = await ch.query(
        `INSERT INTO behavior_events_queue SETTINGS ${settings} FORMAT JSONEachRow\n${pending.join("\n")}`,
      );
      insertSeconds += r.elapsedSeconds;
      pending = [];
    };
    const t0 = performance.now();
    try {
      const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
      const timer = setTimeout(() => void stream.close(), 300_000);
      try {
        for await (const m of stream) {
          pending.push(String(m.value));
          read++;
          if (pending.length >= BLOCK) await flush();
          if (read >= EVENTS) break;
        }
      } finally {
        clearTimeout(timer);
        await stream.close().catch(() => {});
      }
      await flush();
    } finally {
      await consumer.close(true).catch(() => {});
    }
    const seconds = (performance.now() - t0) / 1000;
    const rows = await ch.rows<{ n: string }>(
      `SELECT count() AS n FROM behavior_events FINAL WHERE tenant_id = {t:String}`,
      { t: tenant },
    );
    const loaded = Number(rows[0]?.n);
    console.log(
      `[clickhouse] ${loaded}/${EVENTS} events loaded from the topic in ${seconds.toFixed(2)} s: ` +
        `${Math.round(loaded / seconds).toLocaleString("en")} events/s end to end (consume + insert), ` +
        `${Math.round(loaded / insertSeconds).toLocaleString("en")} events/s inserts alone (${insertSeconds.toFixed(2)} s in chDB), block ${BLOCK}`,
    );
    if (loaded !== EVENTS) process.exitCode = 1;
  } finally {
    await ch.close();
  }
}

await main();
