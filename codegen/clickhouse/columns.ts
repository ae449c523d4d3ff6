/**
 * ClickHouse columns of a Kafka message, derived from the shared wire model (codegen/common/
 * model.ts, the same one the `.kafka.schema.json` is built from), so the tables load exactly
 * what the server publishes:
 *
 * - the **queue** (Kafka engine) table mirrors the JSON message: one column per top-level key,
 *   nested objects as named `Tuple`s, lists as `Array`, maps and google.protobuf.Struct as `Map`
 *   — so JSONEachRow type-checks every value and a message that does not fit is skipped;
 * - the **target** table is flat: nested message fields become `<parent>_<field>` columns and
 *   the scenario oneof becomes a `scenario_type` column plus `<type>_<field>` columns per scenario
 *   (flat columns, not one Tuple per scenario, so a new scenario or field is an `ADD COLUMN` and
 *   each field is its own column on disk).
 *
 * Types: string → String, bool → Bool, int32/uint32/int64/uint64 → Int32/UInt32/Int64/UInt64,
 * double/float → Float64, enums → LowCardinality(String) holding the wire name, integers with
 * unit "epoch_ms" → DateTime64(3, 'UTC'), Struct → Map(String, String) (each value as its JSON
 * text). A single field is Nullable when it has explicit presence (`optional`) or sits inside a
 * oneof member (a scenario's columns are NULL on other scenarios' rows).
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { leadingComment } from "../common/comments.js";
import { type FieldModel, kafkaRouting, messageModel, scenarioInfo, type WireKind } from "../common/model.js";
import { isRequired, recommendedActionRule, variantRules } from "../common/wire-schema.js";

/** One column of the queue (Kafka engine) table: a top-level key of the JSON message. */
export interface QueueColumn {
  name: string;
  type: string;
}

/** One column of the target table. */
export interface Column {
  name: string;
  /** ClickHouse type. */
  type: string;
  /** The materialized view's expression over the queue table (alias `m`); undefined: the column's DEFAULT. */
  expr?: string;
  /** DEFAULT expression, for columns the view does not fill. */
  default?: string;
  /** What the column holds (the proto comment), one line. */
  comment: string;
  /** JSON path of the value in the Kafka message, e.g. "scenario_data.video_data.duration". */
  path: string;
  /** Whether the message carries a value: `isNotNull(…)`/`notEmpty(…)` over the queue expression. */
  present?: string;
}

/** A scenario member of the scenario oneof, as the `scenario_type` column names it. */
export interface ScenarioMember {
  type: string;
  member: string;
}

/** Everything the SQL emitters need about one Kafka message. */
export interface TableModel {
  message: DescMessage;
  queueColumns: QueueColumn[];
  /** Target columns in proto order (the manifest decides the final order, see manifest.ts). */
  columns: Column[];
  /** The server-filled string field: the event id that redelivered copies share. */
  idColumn: string;
  /** The server-filled epoch_ms field: partitioning, TTL and the freshness queries. */
  timeColumn: string;
  /** Top-level fields the topic template names, e.g. ["tenant_id"]. */
  topicColumns: string[];
  /** The Kafka key field, e.g. "user_id". */
  keyColumn: string;
  /** The enum field the scenarios recommend values of (e.g. "action_type"), if any. */
  actionColumn?: string;
  /** The scenario column and members, when the message has a scenario oneof. */
  scenario?: { column: string; members: ScenarioMember[] };
  /** The topic template, e.g. "user-behaviors-{tenant_id}". */
  topicTemplate: string;
  /** A regular expression matching every topic of the template (librdkafka subscribes to `^…`). */
  topicPattern: string;
}

/** Name of the column holding which scenario member an event carries. */
export const SCENARIO_COLUMN = "scenario_type";
/** Name of the column ClickHouse fills with the time it stored the row. */
export const INGESTED_COLUMN = "ingested_at";
const DATETIME = "DateTime64(3, 'UTC')";

/** `name` as a ClickHouse identifier. */
export function ident(name: string): string {
  return `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}

/** `s` as a ClickHouse string literal. */
export function literal(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

function isEpochMs(f: FieldModel): boolean {
  return f.value.kind === "integer" && f.rules?.unit === "epoch_ms";
}

/** Whether a single field's value may be absent (NULL) rather than the type's default. */
function nullable(f: FieldModel, underMember: boolean): boolean {
  if (f.cardinality !== "single") return false;
  if (f.value.kind === "message" || f.value.kind === "struct") return false;
  if (isRequired(f, variantRules.kafka)) return false;
  return underMember || !f.implicitPresence;
}

function scalarType(kind: WireKind): string {
  switch (kind.kind) {
    case "string":
      return "String";
    case "bool":
      return "Bool";
    case "integer":
      return `${kind.min < 0 ? "" : "U"}Int${kind.int64 ? 64 : 32}`;
    case "number":
      return "Float64";
    case "enum":
      return "String";
    case "struct":
      return "Map(String, String)";
    case "message":
      throw new Error("a message is not a scalar");
  }
}

function wrapNullable(type: string, kind: WireKind): string {
  return kind.kind === "enum" ? `LowCardinality(Nullable(${type}))` : `Nullable(${type})`;
}

/** The queue-table type of a field's value (the JSON shape, type-checked by JSONEachRow). */
function queueType(f: FieldModel, underMember: boolean): string {
  const elem = valueQueueType(f.value, underMember);
  if (f.cardinality === "list") return `Array(${elem})`;
  if (f.cardinality === "map") return `Map(String, ${elem})`;
  if (nullable(f, underMember)) return wrapNullable(elem, f.value);
  return f.value.kind === "enum" ? `LowCardinality(${elem})` : elem;
}

function valueQueueType(kind: WireKind, underMember: boolean): string {
  if (kind.kind !== "message") return scalarType(kind);
  const model = messageModel(kind.message);
  const members = new Set(model.oneofs.flatMap((o) => o.fields.map((x) => x.name)));
  const elems = sortedFields(model.fields).map(
    (x) => `${ident(x.name)} ${queueType(x, underMember || members.has(x.name))}`,
  );
  return `Tuple(${elems.join(", ")})`;
}

function sortedFields(fields: FieldModel[]): FieldModel[] {
  return [...fields].sort((a, b) => a.desc.number - b.desc.number);
}

/** The oneof of a message whose members are scenario messages, if it has one. */
function scenarioOneof(desc: DescMessage): DescField[] | undefined {
  for (const oneof of desc.oneofs) {
    if (oneof.kind !== "oneof") continue;
    if (oneof.fields.some((f) => f.fieldKind === "message" && scenarioInfo(f.message))) return oneof.fields;
  }
  return undefined;
}

/** The name a oneof member gets in `scenario_type` and as its columns' prefix. */
function memberType(member: DescField): string {
  if (member.fieldKind === "message") {
    const info = scenarioInfo(member.message);
    if (info) return info.type;
  }
  return member.name.endsWith("_data") ? member.name.slice(0, -"_data".length) : member.name;
}

class Flattener {
  readonly columns: Column[] = [];
  scenario: { column: string; members: ScenarioMember[] } | undefined;

  /** Target columns of `f`, read from the queue expression `expr`. */
  field(f: FieldModel, prefix: string, expr: string, path: string, underMember: boolean): void {
    // `video_` + `video_quality` stays video_quality: the prefix is already there.
    const name = f.name.startsWith(prefix) ? f.name : `${prefix}${f.name}`;
    const comment = oneLine(leadingComment(f.desc));
    if (f.cardinality === "single" && f.value.kind === "message") {
      this.message(f.value.message, `${name}_`, expr, path, underMember, comment);
      return;
    }
    if (f.cardinality === "single" && isEpochMs(f)) {
      const n = nullable(f, underMember);
      const type = n ? `Nullable(${DATETIME})` : DATETIME;
      const present = n ? `isNotNull(${expr})` : undefined;
      this.columns.push({
        name,
        type,
        expr: `fromUnixTimestamp64Milli(${expr}, 'UTC')`,
        comment,
        path,
        ...(present ? { present } : {}),
      });
      return;
    }
    const present =
      f.cardinality !== "single" || f.value.kind === "struct"
        ? `notEmpty(${expr})`
        : nullable(f, underMember)
          ? `isNotNull(${expr})`
          : undefined;
    this.columns.push({ name, type: queueType(f, underMember), expr, comment, path, ...(present ? { present } : {}) });
  }

  message(desc: DescMessage, prefix: string, expr: string, path: string, underMember: boolean, comment: string): void {
    const model = messageModel(desc);
    const scenarioMembers = underMember ? undefined : scenarioOneof(desc);
    const memberNames = new Set(model.oneofs.flatMap((o) => o.fields.map((x) => x.name)));
    for (const f of sortedFields(model.fields)) {
      const sub = `${expr}.${ident(f.name)}`;
      const subPath = `${path}.${f.name}`;
      if (scenarioMembers?.includes(f.desc)) continue;
      this.field(f, prefix, sub, subPath, underMember || memberNames.has(f.name));
    }
    if (!scenarioMembers) return;
    // The scenario oneof: which member is carried, then each member's columns, `<type>_<field>`.
    const at = this.columns.length;
    const members: ScenarioMember[] = [];
    const conditions: string[] = [];
    for (const member of scenarioMembers) {
      const f = model.fields.find((x) => x.desc === member);
      if (!f) continue;
      const type = memberType(member);
      const first = this.columns.length;
      const sub = `${expr}.${ident(f.name)}`;
      if (f.value.kind === "message") this.message(f.value.message, `${type}_`, sub, `${path}.${f.name}`, true, "");
      else this.field(f, "", sub, `${path}.${f.name}`, true);
      const own = this.columns.slice(first);
      if (own.length === 0) continue;
      members.push({ type, member: f.name });
      const has = own.map((c) => {
        if (c.present === undefined) throw new Error(`${member.toString()}: ${c.name} cannot tell an absent member`);
        return c.present;
      });
      conditions.push(`${has.join(" OR ")}, ${literal(type)}`);
    }
    this.scenario = { column: SCENARIO_COLUMN, members };
    this.columns.splice(at, 0, {
      name: SCENARIO_COLUMN,
      type: "LowCardinality(String)",
      expr: `multiIf(\n${conditions.map((c) => `        ${c},\n`).join("")}        '')`,
      comment: oneLine(
        `Which ${path} member the event carries: ${members.map((m) => m.type).join(", ")}; empty when none carries a value. ${comment}`,
      ),
      path: `${path}.*`,
    });
  }
}

/** Table, queue and view names of a Kafka message, e.g. BehaviorEvent → behavior_events. */
export function tableName(desc: DescMessage): string {
  return `${desc.name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()}s`;
}

function regexEscape(s: string): string {
  return s.replace(/[.*+?^$()[\]{}|\\]/g, "\\$&");
}

/** Builds the column model of a message with the kafka option. */
export function tableModel(desc: DescMessage): TableModel {
  const routing = kafkaRouting(desc);
  if (!routing) throw new Error(`${desc.typeName} has no kafka option`);
  const model = messageModel(desc);
  const top = sortedFields(model.fields);
  const byName = new Map(top.map((f) => [f.name, f]));
  const where = desc.typeName;

  const topicColumns = [...routing.topicTemplate.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? "");
  const topicPattern = `^${routing.topicTemplate
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{(.+)\}$/.exec(part);
      if (!m) return regexEscape(part);
      const f = byName.get(m[1] ?? "");
      if (f?.value.kind !== "string") throw new Error(`${where}: topic field {${m[1]}} is not a string field`);
      // The field's own pattern (e.g. ^[A-Za-z0-9_-]+$) without anchors, else any non-empty run.
      const pattern = f.checks.find((c) => c.rule === "pattern");
      return pattern?.rule === "pattern" ? pattern.pattern.replace(/^\^/, "").replace(/\$$/, "") : ".+";
    })
    .join("")}$`;

  const serverFilled = top.filter((f) => f.serverFilled && f.cardinality === "single");
  const id = serverFilled.find((f) => f.value.kind === "string");
  const time = serverFilled.find((f) => isEpochMs(f));
  if (!id) throw new Error(`${where}: no server-filled string field (the event id redelivered copies share)`);
  if (!time) throw new Error(`${where}: no server-filled integer field with unit "epoch_ms" (the event time)`);
  if (!byName.has(routing.keyField)) throw new Error(`${where}: key field ${routing.keyField} is not a field`);

  const flat = new Flattener();
  const queueColumns: QueueColumn[] = [];
  for (const f of top) {
    const member = f.oneof !== undefined;
    queueColumns.push({ name: f.name, type: queueType(f, member) });
    flat.field(f, "", `m.${ident(f.name)}`, f.name, member);
  }
  // Where a flattened column's value sits in the message, in its comment (DESCRIBE shows it).
  for (const c of flat.columns) {
    if (c.path !== c.name && !c.path.endsWith(".*")) c.comment = `${c.comment} (${c.path})`.trim();
  }
  const columns = [
    ...flat.columns,
    {
      name: INGESTED_COLUMN,
      type: DATETIME,
      default: "now64(3)",
      comment: "When ClickHouse stored the row (data freshness); not part of the message.",
      path: "",
    },
  ];
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new Error(`${where}: two columns would be named ${c.name}`);
    seen.add(c.name);
  }

  const rec = recommendedActionRule(model)?.actionField;
  return {
    message: desc,
    queueColumns,
    columns,
    idColumn: id.name,
    timeColumn: time.name,
    topicColumns,
    keyColumn: routing.keyField,
    ...(rec ? { actionColumn: rec.name } : {}),
    ...(flat.scenario ? { scenario: flat.scenario } : {}),
    topicTemplate: routing.topicTemplate,
    topicPattern,
  };
}
