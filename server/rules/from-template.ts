/**
 * Builds a TrackingConfig from a scenario template (CreateTrackingConfigFromTemplate): the
 * template's fields and actions become the config's, so the config judges events exactly as
 * the template did until the tenant edits it.
 */
import { create } from "@bufbuild/protobuf";
import type { ActionType } from "../../gen/es/recommender/v1/behavior_pb.js";
import { actionTypeFromWire, actionTypeWireToProto } from "../../gen/validator/recommender/v1/behavior_validator.js";
import {
  FieldSpecSchema,
  FieldType,
  TrackingConfigSchema,
  type FieldSpec,
  type TrackingConfig,
} from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { fieldKindOf, type FieldKind, type FieldSpecWire, type TemplateLike } from "./compile.js";

const ENUM_BY_KIND: Record<FieldKind, FieldType> = {
  integer: FieldType.INTEGER,
  number: FieldType.NUMBER,
  string: FieldType.STRING,
  boolean: FieldType.BOOLEAN,
  array: FieldType.ARRAY,
  object: FieldType.OBJECT,
};

/** Wire action name ("play_end") → ActionType; undefined when unknown. */
export function actionFromWireName(name: string): ActionType | undefined {
  // The generated lookup also takes proto names; templates and configs speak wire names only.
  return actionTypeWireToProto[name] === undefined ? undefined : actionTypeFromWire(name);
}

/** A wire FieldSpec (template or REST JSON) → protobuf-es FieldSpec. Null bounds become unset. */
export function fieldSpecFromWire(spec: FieldSpecWire): FieldSpec {
  const kind = fieldKindOf(spec.field_type);
  return create(FieldSpecSchema, {
    fieldName: spec.field_name,
    fieldType: kind === undefined ? FieldType.UNSPECIFIED : ENUM_BY_KIND[kind],
    required: spec.required === true,
    description: spec.description ?? "",
    minValue: typeof spec.min_value === "number" ? spec.min_value : undefined,
    maxValue: typeof spec.max_value === "number" ? spec.max_value : undefined,
    allowedValues: [...(spec.allowed_values ?? [])],
    unit: spec.unit ?? "",
  });
}

/** Identity and display fields of a config created from a template. */
export interface FromTemplateInit {
  tenant_id: string;
  scenario_id: string;
  /** Defaults to the template's name. */
  name?: string;
  /** Defaults to the template's description. */
  description?: string;
}

/**
 * A new (not yet stored) TrackingConfig copying the template's scenario type, fields and
 * recommended actions; `template_id` records the origin. Pass it to `ConfigStore.create`.
 */
export function configFromTemplate(template: TemplateLike, init: FromTemplateInit): TrackingConfig {
  const actions: ActionType[] = [];
  for (const a of template.recommended_actions ?? []) {
    const e = actionFromWireName(a);
    if (e !== undefined) actions.push(e);
  }
  return create(TrackingConfigSchema, {
    tenantId: init.tenant_id,
    scenarioId: init.scenario_id,
    scenarioType: template.scenario_type,
    name: init.name || template.name || "",
    description: init.description || template.description || "",
    requiredFields: (template.required_fields ?? []).map(fieldSpecFromWire),
    optionalFields: (template.optional_fields ?? []).map(fieldSpecFromWire),
    recommendedActions: actions,
    templateId: template.template_id,
  });
}
