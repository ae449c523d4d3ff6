/**
 * Test events for the inspector's "send test event" form, one per generated scenario template
 * (gen/templates): the generated OpenAPI example of the track body (gen/openapi, from the proto)
 * with the template's scenario data filled with a value each required field accepts and the
 * template's first recommended action.
 */
import { type FieldSpec, scenarioTemplates } from "../../gen/templates/scenario_templates.js";

/** One choice of the form. */
export interface TestEventTemplate {
  /** Template id (video, ecommerce, ...). */
  id: string;
  /** The template's display name. */
  name: string;
  /** Its recommended actions (the form's action choices). */
  actions: readonly string[];
  /** A request body the track route accepts for this template. */
  event: Record<string, unknown>;
}

/** A value inside the field's bounds and allowed values. */
function sampleValue(f: FieldSpec): unknown {
  if (f.allowed_values.length > 0) return f.allowed_values[0];
  const min = f.min_value ?? 0;
  switch (f.field_type) {
    case "integer":
      return f.max_value !== null ? Math.round((min + f.max_value) / 2) : min + 10;
    case "number":
      return f.max_value !== null ? (min + f.max_value) / 2 : min + 1.5;
    case "boolean":
      return true;
    case "array":
      return ["test"];
    case "object":
      return {};
    default:
      return `test_${f.field_name}`;
  }
}

/**
 * The form's test events. `base` is the OpenAPI example of the track body; tenant, user and
 * item are set to recognisable test values.
 */
export function testEventTemplates(base: Readonly<Record<string, unknown>>): TestEventTemplate[] {
  return scenarioTemplates.map((t) => {
    const data: Record<string, unknown> = {};
    for (const f of t.required_fields) data[f.field_name] = sampleValue(f);
    const event: Record<string, unknown> = {
      ...base,
      tenant_id: "demo",
      scenario_id: `${t.template_id}_test`,
      user_id: "user_1",
      item_id: "item_1",
      scenario_data: { [t.data_field]: data },
    };
    const action = t.recommended_actions[0];
    if (action !== undefined) event.action_type = action;
    return { id: t.template_id, name: t.name, actions: t.recommended_actions, event };
  });
}
