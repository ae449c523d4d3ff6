/**
 * The one place that finds the ingest RPCs (ingest kind TRACK, TRACK_BATCH, VALIDATE) and
 * their event field. The handlers plugin (runtime interface, REST glue and the gRPC ingest
 * table server/transport/grpc-fast.ts serves) and the binary plugin (the codecs that table
 * calls) both read them from here, so they cannot disagree on which RPCs carry events.
 */
import type { DescField, DescFile, DescMessage, DescMethod } from "@bufbuild/protobuf";
import { fieldRules, IngestKind, ingestKind, kafkaRouting } from "./model.js";

/** An ingest RPC and its event field, resolved at generation time. */
export interface IngestMethod {
  method: DescMethod;
  kind: IngestKind.TRACK | IngestKind.TRACK_BATCH | IngestKind.VALIDATE;
  /** The request field whose message type carries the kafka option. */
  field: DescField;
  /** That message type. */
  event: DescMessage;
  /** TRACK_BATCH: the field is repeated. */
  repeated: boolean;
  /** TRACK_BATCH: the field's max_items option, if set. */
  maxItems: number | undefined;
}

/**
 * The event field of an ingest RPC: exactly one request field whose message type carries
 * the (recommender.options.v1.kafka) option — singular for TRACK/VALIDATE, repeated for
 * TRACK_BATCH — and no other request field (the runtime receives only the event wire JSON,
 * so anything else would be dropped silently). Undefined for other RPCs.
 */
export function ingestMethodOf(m: DescMethod): IngestMethod | undefined {
  const kind = ingestKind(m);
  if (kind !== IngestKind.TRACK && kind !== IngestKind.TRACK_BATCH && kind !== IngestKind.VALIDATE) return undefined;
  const where = `${m.parent.typeName}.${m.name} (ingest ${IngestKind[kind]})`;
  if (m.methodKind !== "unary") throw new Error(`${where}: ingest RPCs must be unary`);
  const candidates = m.input.fields.filter(
    (f) =>
      (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) &&
      kafkaRouting(f.message) !== undefined,
  );
  const field = candidates[0];
  if (candidates.length !== 1 || field === undefined) {
    throw new Error(
      `${where}: ${m.input.typeName} must have exactly one field whose message type has the (recommender.options.v1.kafka) option, found ${candidates.length}` +
        (candidates.length ? ` (${candidates.map((f) => f.name).join(", ")})` : ""),
    );
  }
  const repeated = field.fieldKind === "list";
  if (kind === IngestKind.TRACK_BATCH && !repeated)
    throw new Error(`${where}: event field ${field.name} must be repeated`);
  if (kind !== IngestKind.TRACK_BATCH && repeated)
    throw new Error(`${where}: event field ${field.name} must not be repeated`);
  const others = m.input.fields.filter((f) => f !== field);
  if (others.length)
    throw new Error(
      `${where}: ${m.input.typeName} may carry only the event field ${field.name}, but also has ${others.map((f) => f.name).join(", ")}`,
    );
  const event =
    field.fieldKind === "list" && field.listKind === "message"
      ? field.message
      : field.fieldKind === "message"
        ? field.message
        : undefined;
  if (!event) throw new Error(`${where}: unreachable`);
  return { method: m, kind, field, event, repeated, maxItems: repeated ? fieldRules(field)?.maxItems : undefined };
}

/** The ingest RPCs of a file's services, in declaration order. */
export function ingestMethods(file: DescFile): IngestMethod[] {
  return file.services.flatMap((s) => s.methods.flatMap((m) => ingestMethodOf(m) ?? []));
}
