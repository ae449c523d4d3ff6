/**
 * protoc-gen-tracking-clickhouse: ClickHouse DDL for every message with the kafka option,
 * derived from the wire model (columns.ts), so the tables load what the server publishes.
 * Outputs, relative to the out dir, for a message BehaviorEvent (table `behavior_events`):
 *
 * - `behavior_events.sql`: the table — ReplacingMergeTree (redelivered copies of an event
 *   collapse, `FINAL` reads them once), partitioned by month of the event time, TTL;
 * - `behavior_events_kafka.sql`: the ingestion path — the Kafka engine table over every topic of
 *   the topic template (JSONEachRow, broken messages skipped) and the materialized view into the
 *   table; it drops and recreates both (offsets live in the consumer group), so it is re-applied
 *   after every migration;
 * - `behavior_events.columns.json`: the column manifest (manifest.ts), the history migrations
 *   are derived from;
 * - `migrations/behavior_events_<NNNN>.sql`: `ALTER TABLE … ADD COLUMN` for each version > 1;
 * - `queries/behavior_events_<name>.sql`: ready monitoring queries.
 *
 * Options:
 * - `previous_dir`: directory (relative to the working directory) holding the committed
 *   manifests; `make generate` passes gen/clickhouse. Without it, or without a manifest there,
 *   the table is at version 1.
 * - `order_by`: the sorting (and deduplication) key as `:`-separated top-level columns; default:
 *   the topic template's fields, the event time, the event id. It must contain the event id.
 * - `ttl_days`: days rows are kept after their event time (default 365; 0: no TTL).
 * - `kafka_broker_list` (default `localhost:9092`; several as `a:9092|b:9092`), `kafka_group_name` (default
 *   `clickhouse_<table>`), `kafka_skip_broken_messages` (default 1000: messages per block that
 *   do not fit the columns and are skipped rather than stopping ingestion).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { DescMessage } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import { leadingComment } from "../common/comments.js";
import { kafkaRouting } from "../common/model.js";
import { withDefaultTarget } from "../common/plugin-target.js";
import { pluginVersion } from "../common/plugin-version.js";
import { type Column, INGESTED_COLUMN, ident, literal, type TableModel, tableModel, tableName } from "./columns.js";
import { formatManifest, type Manifest, migrationColumns, nextManifest, parseManifest } from "./manifest.js";

const pluginName = "protoc-gen-tracking-clickhouse";

/** Plugin options (see the file comment). */
export interface Options {
  /** `previous_dir`: where the committed `<table>.columns.json` manifests are (relative to the working directory). */
  previousDir: string | undefined;
  /** `order_by`: the sorting and deduplication key, top-level columns; undefined: topic fields, time, id. */
  orderBy: string[] | undefined;
  /** `ttl_days`: days a row is kept after its event time; 0: no TTL. */
  ttlDays: number;
  /** `kafka_broker_list`: the queue table's brokers, comma-separated as ClickHouse takes them. */
  kafkaBrokerList: string;
  /** `kafka_group_name`: the consumer group (it keeps the offsets); undefined: `clickhouse_<table>`. */
  kafkaGroupName: string | undefined;
  /** `kafka_skip_broken_messages`: messages per block that do not fit and are skipped. */
  kafkaSkipBrokenMessages: number;
}

function count(key: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`option ${key}=${value}: a non-negative integer`);
  return n;
}

function parseOptions(raw: { key: string; value: string }[]): Options {
  const out: Options = {
    previousDir: undefined,
    orderBy: undefined,
    ttlDays: 365,
    kafkaBrokerList: "localhost:9092",
    kafkaGroupName: undefined,
    kafkaSkipBrokenMessages: 1000,
  };
  for (const { key, value } of raw) {
    if (key === "previous_dir") out.previousDir = value;
    else if (key === "order_by") out.orderBy = value.split(":").filter((s) => s !== "");
    else if (key === "ttl_days") out.ttlDays = count(key, value);
    // A plugin parameter cannot hold commas (they separate options): brokers are given `|`-separated.
    else if (key === "kafka_broker_list") out.kafkaBrokerList = value.split("|").join(",");
    else if (key === "kafka_group_name") out.kafkaGroupName = value;
    else if (key === "kafka_skip_broken_messages") out.kafkaSkipBrokenMessages = count(key, value);
    else throw new Error(`unknown option ${key}=${value}`);
  }
  return out;
}

/** File names of one table's outputs. */
export const fileNames = {
  table: (t: string) => `${t}.sql`,
  kafka: (t: string) => `${t}_kafka.sql`,
  manifest: (t: string) => `${t}.columns.json`,
  migration: (t: string, v: number) => `migrations/${t}_${String(v).padStart(4, "0")}.sql`,
  query: (t: string, q: string) => `queries/${t}_${q}.sql`,
};

const INDENT = "    ";

function header(desc: DescMessage, what: string): string {
  return [
    `-- Generated by ${pluginName} ${pluginVersion} from ${desc.file.name}.proto (${desc.typeName}). DO NOT EDIT: make generate.`,
    ...what.split("\n").map((l) => (l === "" ? "--" : `-- ${l}`)),
  ].join("\n");
}

function columnDef(c: { name: string; type: string; default?: string | undefined; comment?: string }): string {
  const parts = [ident(c.name), c.type];
  if (c.default !== undefined) parts.push(`DEFAULT ${c.default}`);
  if (c.comment) parts.push(`COMMENT ${literal(c.comment)}`);
  return parts.join(" ");
}

/** Top-level comma-separated parts of a type's arguments (parentheses and quotes respected). */
function splitArgs(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = "";
  let start = 0;
  for (let i = 0; i < args.length; i++) {
    const ch = args[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = "";
    } else if (ch === "`" || ch === "'") quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      out.push(args.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(args.slice(start).trim());
  return out;
}

/** A long named Tuple type one element per line (the queue table's nested JSON objects). */
function formatType(type: string, indent: string): string {
  if (type.length + indent.length <= 100 || !type.startsWith("Tuple(")) return type;
  const inner = indent + INDENT;
  const elems = splitArgs(type.slice("Tuple(".length, -1)).map((e) => {
    const m = /^(`(?:[^`\\]|\\.)*`) (.*)$/.exec(e);
    return m ? `${inner}${m[1]} ${formatType(m[2] ?? "", inner)}` : `${inner}${e}`;
  });
  return `Tuple(\n${elems.join(",\n")}\n${indent})`;
}

interface Table {
  model: TableModel;
  name: string;
  queue: string;
  view: string;
  manifest: Manifest;
  orderBy: string[];
  /** Current columns by name. */
  byName: Map<string, Column>;
}

function orderKey(model: TableModel, columns: Map<string, Column>, options: Options): string[] {
  const key = options.orderBy ?? [...model.topicColumns, model.timeColumn, model.idColumn];
  for (const k of key) {
    const c = columns.get(k);
    if (!c) throw new Error(`order_by: ${k} is not a column of ${tableName(model.message)}`);
    if (c.type.includes("Nullable") || /^(Array|Map|Tuple)\(/.test(c.type))
      throw new Error(`order_by: ${k} is ${c.type}, not a sortable non-null column`);
  }
  if (!key.includes(model.idColumn))
    throw new Error(`order_by must contain the event id ${model.idColumn}, the key redelivered copies collapse on`);
  return key;
}

function readPrevious(options: Options, table: string): Manifest | undefined {
  if (options.previousDir === undefined) return undefined;
  const path = resolve(process.cwd(), options.previousDir, fileNames.manifest(table));
  return existsSync(path) ? parseManifest(readFileSync(path, "utf8"), path) : undefined;
}

function tableSql(t: Table, options: Options): string {
  const m = t.model;
  const time = ident(m.timeColumn);
  const cols = t.manifest.columns.map((mc) => {
    const c = t.byName.get(mc.name);
    const comment = mc.retired ? "Retired: the field left the proto; nothing fills it any more." : (c?.comment ?? "");
    return columnDef({ name: mc.name, type: mc.type, default: c?.default, comment });
  });
  const lines = [
    header(
      m.message,
      `${leadingComment(m.message)}\n\nOne row per event; copies the Kafka consumer redelivers collapse by the sorting key on merges\n(read with FINAL to see each event once). Columns: ${fileNames.manifest(t.name)} (version ${t.manifest.version}).`,
    ),
    `CREATE TABLE IF NOT EXISTS ${ident(t.name)}`,
    "(",
    cols.map((c) => INDENT + c).join(",\n"),
    ")",
    `ENGINE = ReplacingMergeTree(${ident(INGESTED_COLUMN)})`,
    `PARTITION BY toYYYYMM(${time})`,
    `ORDER BY (${t.orderBy.map(ident).join(", ")})`,
  ];
  if (options.ttlDays > 0) {
    lines.push(`TTL toDateTime(${time}) + INTERVAL ${options.ttlDays} DAY`);
    lines.push("SETTINGS ttl_only_drop_parts = 1;");
  } else {
    lines[lines.length - 1] += ";";
  }
  return lines.join("\n");
}

function kafkaSql(t: Table, options: Options): string {
  const m = t.model;
  const settings: [string, string][] = [
    ["kafka_broker_list", literal(options.kafkaBrokerList)],
    ["kafka_topic_list", literal(m.topicPattern)],
    ["kafka_group_name", literal(options.kafkaGroupName ?? `clickhouse_${t.name}`)],
    ["kafka_format", literal("JSONEachRow")],
    ["kafka_skip_broken_messages", String(options.kafkaSkipBrokenMessages)],
    // Keys a newer producer adds (a new field or scenario) are ignored until the migration.
    ["input_format_skip_unknown_fields", "1"],
    ["input_format_json_ignore_unknown_keys_in_named_tuple", "1"],
  ];
  const filled = t.manifest.columns.filter((mc) => !mc.retired && t.byName.get(mc.name)?.expr !== undefined);
  return [
    header(
      m.message,
      [
        `Kafka ingestion into ${t.name}: the queue table reads every topic of "${m.topicTemplate}" (the regular`,
        `expression below) as JSONEachRow; a message that does not fit the columns (e.g. a string where a number`,
        "belongs) is skipped and counted (system.events KafkaMessagesFailed) instead of stopping ingestion,",
        `up to kafka_skip_broken_messages per block. The view flattens each message into ${t.name}.`,
        "Re-apply this file after each migration: it recreates both; the consumer group keeps the offsets.",
      ].join("\n"),
    ),
    `DROP VIEW IF EXISTS ${ident(t.view)};`,
    `DROP TABLE IF EXISTS ${ident(t.queue)};`,
    "",
    `CREATE TABLE ${ident(t.queue)}`,
    "(",
    m.queueColumns.map((c) => INDENT + columnDef({ ...c, type: formatType(c.type, INDENT) })).join(",\n"),
    ")",
    "ENGINE = Kafka",
    "SETTINGS",
    `${settings.map(([k, v]) => `${INDENT}${k} = ${v}`).join(",\n")};`,
    "",
    `CREATE MATERIALIZED VIEW ${ident(t.view)} TO ${ident(t.name)}`,
    "AS SELECT",
    filled.map((mc) => `${INDENT}${t.byName.get(mc.name)?.expr} AS ${ident(mc.name)}`).join(",\n"),
    `FROM ${ident(t.queue)} AS m;`,
  ].join("\n");
}

function migrationSql(t: Table, version: number): string {
  const adds = migrationColumns(t.manifest, version).map(({ column, after }) => {
    const c = t.byName.get(column.name);
    const def = columnDef({ name: column.name, type: column.type, default: c?.default, comment: c?.comment ?? "" });
    return `${INDENT}ADD COLUMN IF NOT EXISTS ${def} ${after === undefined ? "FIRST" : `AFTER ${ident(after)}`}`;
  });
  return [
    header(
      t.model.message,
      `Migration ${version} of ${t.name}: the columns of fields added to the proto (manifest version ${version}).\nApply the migrations above the table's version in order, then ${fileNames.kafka(t.name)}.`,
    ),
    `ALTER TABLE ${ident(t.name)}`,
    `${adds.join(",\n")};`,
  ].join("\n");
}

const WINDOW = "now64(3) - toIntervalHour({window_hours:UInt32})";

function querySql(t: Table): Map<string, string> {
  const m = t.model;
  const table = ident(t.name);
  const time = ident(m.timeColumn);
  const key = ident(m.keyColumn);
  const run = `Run: clickhouse-client --param_window_hours=24 --queries-file <this file>`;
  const out = new Map<string, string>();
  const dims = [
    ...t.orderBy.filter((c) => c !== m.timeColumn && c !== m.idColumn),
    ...(m.scenario ? [m.scenario.column] : []),
    ...(m.actionColumn ? [m.actionColumn] : []),
  ].map(ident);
  out.set(
    "by_action_and_scenario",
    [
      header(
        m.message,
        `监控指标: events per ${dims.join(", ").replace(/`/g, "")} over the last window_hours hours, each event once\n(FINAL collapses redelivered copies). ${run}`,
      ),
      "SELECT",
      [...dims, "count() AS events", `uniqExact(${key}) AS users`].map((d) => INDENT + d).join(",\n"),
      `FROM ${table} FINAL`,
      `WHERE ${time} >= ${WINDOW}`,
      `GROUP BY ${dims.join(", ")}`,
      `ORDER BY ${dims.join(", ")};`,
    ].join("\n"),
  );
  const tenants = m.topicColumns.map(ident);
  out.set(
    "tenant_volume",
    [
      header(
        m.message,
        `监控指标: volume per ${m.topicColumns.join(", ")} (one topic each) over the last window_hours hours. ${run}`,
      ),
      "SELECT",
      [
        ...tenants,
        "count() AS events",
        `uniqExact(${key}) AS users`,
        `countIf(${time} >= now64(3) - INTERVAL 1 HOUR) AS events_last_hour`,
        `min(${time}) AS first_event_time`,
        `max(${time}) AS last_event_time`,
      ]
        .map((d) => INDENT + d)
        .join(",\n"),
      `FROM ${table} FINAL`,
      `WHERE ${time} >= ${WINDOW}`,
      `GROUP BY ${tenants.join(", ")}`,
      `ORDER BY events DESC, ${tenants.join(", ")};`,
    ].join("\n"),
  );
  const ingested = ident(INGESTED_COLUMN);
  const lag = `dateDiff('millisecond', ${time}, ${ingested})`;
  out.set(
    "data_freshness",
    [
      header(
        m.message,
        `监控指标: data freshness per ${m.topicColumns.join(", ")} — the newest event, when ClickHouse last stored a row, and\nthe lag from event time to storage over rows stored in the last window_hours hours. ${run}`,
      ),
      "SELECT",
      [
        ...tenants,
        `max(${time}) AS last_event_time`,
        `max(${ingested}) AS last_ingested_at`,
        `dateDiff('millisecond', max(${ingested}), now64(3)) AS ms_since_last_ingest`,
        `quantileExact(0.5)(${lag}) AS p50_lag_ms`,
        `quantileExact(0.99)(${lag}) AS p99_lag_ms`,
        "count() AS rows",
      ]
        .map((d) => INDENT + d)
        .join(",\n"),
      `FROM ${table}`,
      `WHERE ${ingested} >= ${WINDOW}`,
      `GROUP BY ${tenants.join(", ")}`,
      `ORDER BY ${tenants.join(", ")};`,
    ].join("\n"),
  );
  out.set(
    "kafka_ingest",
    [
      header(
        m.message,
        `监控指标: Kafka ingestion counters of this ClickHouse server since its start — messages read, messages\nthat did not fit the columns and were skipped (KafkaMessagesFailed), consumer errors.`,
      ),
      "SELECT event, value",
      "FROM system.events",
      `WHERE event IN (${["KafkaMessagesRead", "KafkaMessagesFailed", "KafkaRowsRead", "KafkaRowsRejected", "KafkaConsumerErrors", "KafkaCommitFailures"].map(literal).join(", ")})`,
      "ORDER BY event",
      "SETTINGS system_events_show_zero_values = 1;",
    ].join("\n"),
  );
  return out;
}

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

function generateTs(schema: Schema<Options>): void {
  const options = schema.options;
  for (const file of schema.files.filter((f) => f.extensions.length === 0)) {
    for (const message of allMessages(file.messages).filter((m) => kafkaRouting(m))) {
      const model = tableModel(message);
      const name = tableName(message);
      const byName = new Map(model.columns.map((c) => [c.name, c]));
      const t: Table = {
        model,
        name,
        queue: `${name}_queue`,
        view: `${name}_mv`,
        manifest: nextManifest(name, model.columns, readPrevious(options, name)),
        orderBy: orderKey(model, byName, options),
        byName,
      };
      schema.generateFile(fileNames.table(name)).print(tableSql(t, options));
      schema.generateFile(fileNames.kafka(name)).print(kafkaSql(t, options));
      schema.generateFile(fileNames.manifest(name)).print(formatManifest(t.manifest));
      for (let v = 2; v <= t.manifest.version; v++) {
        schema.generateFile(fileNames.migration(name, v)).print(migrationSql(t, v));
      }
      for (const [q, sql] of querySql(t)) schema.generateFile(fileNames.query(name, q)).print(sql);
    }
  }
}

export const plugin = withDefaultTarget(
  createEcmaScriptPlugin({
    name: pluginName,
    version: pluginVersion,
    parseOptions,
    generateTs,
  }),
);
