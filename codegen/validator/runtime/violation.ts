// Shared types of the compiled validators; see codegen/validator/API.md.

/** error: the event is rejected; warning: it is accepted and the caller should fix its data. */
export type Severity = "error" | "warning";

/** request: a REST/gRPC request body (lenient); kafka: a published Kafka message (canonical). */
export type WireMode = "request" | "kafka";

/** Rule ids of violations. */
export type ViolationRule =
  | "required"
  | "type"
  | "enum"
  | "range"
  | "allowed_values"
  | "pattern"
  | "max_len"
  | "max_items"
  | "oneof"
  | "unknown_field"
  | "recommended_action";

/** One broken rule. `field` is a dotted path such as "context.device_type" or "events[3].user_id". */
export interface Violation {
  field: string;
  rule: ViolationRule;
  message: string;
  severity: Severity;
}

/** Whether any violation is an error. */
export function hasErrors(violations: readonly Violation[]): boolean {
  for (const v of violations) if (v.severity === "error") return true;
  return false;
}

/** Prefixes the paths of out[start..] with `prefix` (used when a nested message reported violations). */
export function prefixViolations(out: Violation[], start: number, prefix: string): void {
  for (let i = start; i < out.length; i++) {
    const v = out[i]!;
    const f = v.field;
    const full = f === "" ? prefix : f.charCodeAt(0) === 91 /* [ */ ? prefix + f : prefix + "." + f;
    v.field = full;
    // Messages start with the relative path; name the full one so a message reads alone.
    if (f !== "" && v.message.startsWith(f)) v.message = full + v.message.slice(f.length);
  }
}
