/**
 * Flink SQL from the wire model (codegen/common/model.ts): the row type of a published Kafka
 * message, the Kafka source table over its topics and an example windowed job. Everything is
 * derived from the descriptors and our options, as the JSON Schemas are, so a new scenario or
 * field reaches the Flink DDL on `make generate` alone.
 *
 * Wire JSON → Flink type: string and enum (wire name) → STRING, bool → BOOLEAN, int32 → INT,
 * uint32 and int64 → BIGINT, double/float → DOUBLE, message → ROW<...> of its fields in field
 * number order, repeated → ARRAY<...>, map → MAP<STRING, ...>, google.protobuf.Struct →
 * MAP<STRING, STRING> (Flink's JSON format renders a nested value as its JSON text).
 */
import type { DescField, DescFile, DescMessage } from "@bufbuild/protobuf";
import { firstSentence, leadingComment } from "../common/comments.js";
import { type FieldModel, messageModel, scenarios, type WireKind } from "../common/model.js";
import { recommendedActionRule } from "../common/wire-schema.js";

/** A SQL identifier in backticks (every one is quoted: `timestamp`, `position` are reserved words). */
export function ident(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}

/** A SQL string literal. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** snake_case of a message name ("BehaviorEvent" → "behavior_event"). */
export function snakeName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/** A Java regular expression matching every topic of a topic template ("user-behaviors-{tenant_id}" → "user-behaviors-.*"). */
export function topicPattern(template: string): string {
  return template
    .split(/\{[^}]*\}/)
    .map((part) => part.replace(/[\\.[\]{}()*+?^$|]/g, "\\$&"))
    .join(".*");
}

/** Field names a topic template routes by ("user-behaviors-{tenant_id}" → ["tenant_id"]). */
export function topicFields(template: string): string[] {
  return [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? "");
}

const indentUnit = "  ";

function sortedFields(desc: DescMessage): FieldModel[] {
  return [...messageModel(desc).fields].sort((a, b) => a.desc.number - b.desc.number);
}

/**
 * The Flink type of one wire value. Messages become multi-line ROW<...> types indented for
 * `depth`; `path` guards against recursive messages, which a Flink row type cannot express.
 */
function valueType(kind: WireKind, depth: number, path: readonly string[]): string {
  switch (kind.kind) {
    case "string":
    case "enum":
      return "STRING";
    case "bool":
      return "BOOLEAN";
    case "integer":
      return kind.int64 || kind.max > 2147483647 ? "BIGINT" : "INT";
    case "number":
      return "DOUBLE";
    case "struct":
      return "MAP<STRING, STRING>";
    case "message":
      return rowType(kind.message, depth, path);
  }
}

/** ROW<...> of a message's wire fields, one field per line with its comment as description. */
export function rowType(desc: DescMessage, depth: number, path: readonly string[] = []): string {
  if (path.includes(desc.typeName)) {
    throw new Error(`${[...path, desc.typeName].join(" → ")}: a recursive message has no Flink row type`);
  }
  const inner = indentUnit.repeat(depth + 1);
  const fields = sortedFields(desc).map((f) => {
    const comment = columnComment(f);
    return `${inner}${ident(f.name)} ${fieldType(f, depth + 1, [...path, desc.typeName])}${comment ? ` ${literal(comment)}` : ""}`;
  });
  return `ROW<\n${fields.join(",\n")}\n${indentUnit.repeat(depth)}>`;
}

/** The Flink type of a field, its cardinality included. */
export function fieldType(field: FieldModel, depth: number, path: readonly string[] = []): string {
  const value = valueType(field.value, depth, path);
  switch (field.cardinality) {
    case "single":
      return value;
    case "list":
      return `ARRAY<${value}>`;
    case "map":
      return `MAP<STRING, ${value}>`;
  }
}

/** A column comment: the field's comment on one line, plus its unit. */
function columnComment(field: FieldModel): string {
  const text = leadingComment(field.desc).replace(/\s*\n\s*/g, " ");
  const unit = field.rules?.unit ? ` Unit: ${field.rules.unit}.` : "";
  return `${text}${unit}`.trim();
}

/** The event-time field of a Kafka message: its single int64 field in epoch milliseconds. */
export function eventTimeField(desc: DescMessage): FieldModel | undefined {
  const candidates = sortedFields(desc).filter(
    (f) => f.cardinality === "single" && f.value.kind === "integer" && f.value.int64 && f.rules?.unit === "epoch_ms",
  );
  return candidates.find((f) => f.serverFilled) ?? candidates[0];
}

/** The scenario members of a Kafka message: `<field>.<member>` and the scenario type each one means. */
export interface ScenarioColumn {
  /** The field holding the scenario oneof, e.g. scenario_data. */
  field: FieldModel;
  /** Oneof member (e.g. video_data) → scenario type (e.g. video), in member order. */
  members: { member: DescField; type: string }[];
}

/** The field of `desc` whose message holds a scenario oneof, with the scenario type of each member. */
export function scenarioColumn(desc: DescMessage, file: DescFile): ScenarioColumn | undefined {
  const typeByDataField = new Map(scenarios(file).map((s) => [s.dataField, s.type]));
  for (const field of sortedFields(desc)) {
    if (field.cardinality !== "single" || field.value.kind !== "message") continue;
    for (const oneof of field.value.message.oneofs) {
      if (oneof.kind !== "oneof") continue;
      const members = oneof.fields.flatMap((member) => {
        const type = typeByDataField.get(member.name);
        return type === undefined ? [] : [{ member, type }];
      });
      if (members.length > 0) return { field, members };
    }
  }
  return undefined;
}

/** Names of the columns the generator adds besides the message's fields. */
export const computedColumns = {
  eventTime: "event_time",
  scenarioType: "scenario_type",
  kafkaTopic: "kafka_topic",
  kafkaPartition: "kafka_partition",
  kafkaOffset: "kafka_offset",
} as const;

/** How the generated DDL is set up; the defaults match the seed's development environment. */
export interface FlinkOptions {
  /** properties.bootstrap.servers of the source and sink tables. */
  bootstrapServers: string;
  /** Bound on out-of-order event time: the watermark trails the largest event time by this much. */
  watermarkDelay: string;
  /** Window of the example job. */
  window: string;
  /** A partition without messages for this long stops holding back the watermark (table.exec.source.idle-timeout). */
  idleTimeout: string;
}

/** The defaults the plugin generates with. */
export const defaultFlinkOptions: FlinkOptions = {
  bootstrapServers: "localhost:9092",
  watermarkDelay: "INTERVAL '5' SECOND",
  window: "INTERVAL '1' MINUTE",
  idleTimeout: "1 min",
};

/** What one Kafka message generates. */
export interface FlinkTables {
  /** Source table name, e.g. behavior_events. */
  source: string;
  /** File name → SQL text. */
  files: Map<string, string>;
}

/** `WITH (...` (without the closing parenthesis) of connector options, each optionally preceded by a comment line. */
function withClause(entries: [key: string, value: string, comment?: string][]): string {
  const lines = entries.map(([k, v, c], i) => {
    const line = `  ${literal(k)} = ${literal(v)}${i < entries.length - 1 ? "," : ""}`;
    return c ? `  -- ${c}\n${line}` : line;
  });
  return `WITH (\n${lines.join("\n")}`;
}

function header(pluginName: string, version: string, file: DescFile, what: string[]): string[] {
  return [
    `-- @generated by ${pluginName} ${version} from ${file.proto.name}. DO NOT EDIT.`,
    ...what.map((l) => (l === "" ? "--" : `-- ${l}`)),
    "",
  ];
}

/**
 * The Flink SQL of a Kafka message (one with the kafka option): `<table>.sql`, the source table
 * over every topic of its topic template, and, when the message has an event time, a scenario
 * oneof and an action enum, `<message in snake_case>_counts_per_minute.sql`, the example job with
 * its sink.
 */
export function flinkTables(
  desc: DescMessage,
  pluginName: string,
  version: string,
  options: FlinkOptions = defaultFlinkOptions,
): FlinkTables {
  const model = messageModel(desc);
  const kafka = model.kafka;
  if (!kafka) throw new Error(`${desc.typeName} has no kafka option`);
  const file = desc.file;
  const source = `${snakeName(desc.name)}s`;
  const fields = sortedFields(desc);
  for (const name of Object.values(computedColumns)) {
    if (fields.some((f) => f.name === name))
      throw new Error(`${desc.typeName}.${name}: the Flink table adds a column of that name`);
  }
  const eventTime = eventTimeField(desc);
  const scenario = scenarioColumn(desc, file);
  const action = recommendedActionRule(model)?.actionField;
  const routing = topicFields(kafka.topicTemplate);
  for (const r of routing) {
    if (!fields.some((f) => f.name === r)) throw new Error(`${desc.typeName}: topic template field ${r} is no field`);
  }

  const columns = fields.map((f) => {
    const comment = columnComment(f);
    return `  ${ident(f.name)} ${fieldType(f, 1)}${comment ? ` COMMENT ${literal(comment)}` : ""}`;
  });
  columns.push(
    `  ${ident(computedColumns.kafkaTopic)} STRING METADATA FROM 'topic' VIRTUAL COMMENT 'Kafka topic the message was read from.'`,
    `  ${ident(computedColumns.kafkaPartition)} INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition.'`,
    `  ${ident(computedColumns.kafkaOffset)} BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Offset in the partition.'`,
  );
  if (scenario) {
    const whens = scenario.members.map(
      (m) => `    WHEN ${ident(scenario.field.name)}.${ident(m.member.name)} IS NOT NULL THEN ${literal(m.type)}`,
    );
    columns.push(
      `  ${ident(computedColumns.scenarioType)} AS CASE\n${whens.join("\n")}\n  END COMMENT ${literal(
        `Scenario type: which member of ${scenario.field.name} is set; NULL when none is.`,
      )}`,
    );
  }
  if (eventTime) {
    const et = ident(computedColumns.eventTime);
    columns.push(
      `  ${et} AS TO_TIMESTAMP_LTZ(${ident(eventTime.name)}, 3) COMMENT ${literal(`${eventTime.name} as event time.`)}`,
      `  WATERMARK FOR ${et} AS ${et} - ${options.watermarkDelay}`,
    );
  }

  const sourceSql = [
    ...header(pluginName, version, file, [
      `Flink SQL source table of ${desc.typeName}: the JSON messages on every Kafka topic`,
      `${kafka.topicTemplate} (schema version ${kafka.schemaVersion}), one column per field.`,
      "",
      "A bad message never stops the job ('json.ignore-parse-errors'): a value that does not fit its",
      "column (e.g. a string where a number belongs) reads as NULL, and a message that is not JSON or",
      `whose ${eventTime ? eventTime.name : "event time"} does not read is skipped. An absent field is NULL.`,
      "Set the connection and start position for your deployment with",
      `ALTER TABLE ${source} SET ('properties.bootstrap.servers' = '...', ...).`,
    ]),
    `CREATE TABLE ${ident(source)} (`,
    columns.join(",\n"),
    `) COMMENT ${literal(firstSentence(leadingComment(desc)) || desc.typeName)}`,
    withClause([
      ["connector", "kafka"],
      ["topic-pattern", topicPattern(kafka.topicTemplate)],
      [
        "scan.topic-partition-discovery.interval",
        "1 min",
        "New topics (new tenants) are picked up while the job runs.",
      ],
      ["properties.bootstrap.servers", options.bootstrapServers],
      ["properties.group.id", `flink-${source}`],
      ["scan.startup.mode", "group-offsets", "A new consumer group starts at the oldest message."],
      ["properties.auto.offset.reset", "earliest"],
      ["format", "json"],
      [
        "json.ignore-parse-errors",
        "true",
        "A value that does not fit its column reads as NULL; a message that is not JSON is skipped.",
      ],
      ["json.fail-on-missing-field", "false"],
    ]),
    ");",
    "",
  ].join("\n");

  const files = new Map([[`${source}.sql`, sourceSql]]);
  if (eventTime && scenario && action) {
    const sink = `${snakeName(desc.name)}_counts_per_minute`;
    const keys = [...routing, computedColumns.scenarioType, action.name];
    const keyColumns = keys.map((k) => {
      const f = fields.find((x) => x.name === k);
      const comment = f ? columnComment(f) : `Scenario type (the member of ${scenario.field.name} that is set).`;
      return `  ${ident(k)} ${f ? fieldType(f, 1) : "STRING"} COMMENT ${literal(comment)}`;
    });
    const jobSql = [
      ...header(pluginName, version, file, [
        `Example Flink job over ${source} (run ${source}.sql first): events per minute of event time`,
        `(${computedColumns.eventTime}) by ${keys.join(", ")}, as JSON on the Kafka topic ${sink.replace(/_/g, "-")}.`,
        "A window is written once the watermark passes its end; a bounded source ('scan.bounded.mode')",
        "closes every window when it ends.",
      ]),
      "-- Idle partitions (quiet tenants) must not hold the watermark back.",
      `SET 'table.exec.source.idle-timeout' = ${literal(options.idleTimeout)};`,
      "",
      `CREATE TABLE ${ident(sink)} (`,
      [
        `  ${ident("window_start")} TIMESTAMP_LTZ(3) COMMENT 'Start of the minute (inclusive).'`,
        `  ${ident("window_end")} TIMESTAMP_LTZ(3) COMMENT 'End of the minute (exclusive).'`,
        ...keyColumns,
        `  ${ident("event_count")} BIGINT COMMENT 'Events in the window.'`,
      ].join(",\n"),
      `) ${withClause([
        ["connector", "kafka"],
        ["topic", sink.replace(/_/g, "-")],
        ["properties.bootstrap.servers", options.bootstrapServers],
        ["format", "json"],
        ["json.timestamp-format.standard", "ISO-8601"],
      ])}`,
      ");",
      "",
      `INSERT INTO ${ident(sink)}`,
      `SELECT window_start, window_end, ${keys.map(ident).join(", ")}, COUNT(*) AS ${ident("event_count")}`,
      `FROM TABLE(TUMBLE(TABLE ${ident(source)}, DESCRIPTOR(${ident(computedColumns.eventTime)}), ${options.window}))`,
      `GROUP BY window_start, window_end, ${keys.map(ident).join(", ")};`,
      "",
    ].join("\n");
    files.set(`${sink}.sql`, jobSql);
  }
  return { source, files };
}
