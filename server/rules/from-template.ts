/**
 * Builds a TrackingConfig from a scenario template (CreateTrackingConfigFromTemplate): the
 * template's fields and actions become the config's, so the config judges events exactly as
 * the template did until the tenant edits it.
 */
import { create } from "@bufbuild/protobuf";
import type { ActionType } from "../../gen/es/recommender/v1/behavior_pb.js";
import { type TrackingConfig, TrackingConfigSchema } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { actionTypeFromWire, actionTypeWireToProto } from "../../gen/validator/recommender/v1/behavior_validator.js";
import { scenarioTemplateFromWire } from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import type { TemplateJson } from "./compile.js";

/** Wire action name ("play_end") → ActionType; undefined when unknown. */
export function actionFromWireName(name: string): ActionType | undefined {
  // The generated lookup also takes proto names; templates and configs speak wire names only.
  return actionTypeWireToProto[name] === undefined ? undefined : actionTypeFromWire(name);
}

/** Identity and display fields of a config created from a template. */
export interface FromTemplateInit {
  tenant_id: string;
  scenario_id: string;
  /** Defaults to the template's name. */
  name?: string | undefined;
  /** Defaults to the template's description. */
  description?: string | undefined;
}

/**
 * A new (not yet stored) TrackingConfig copying the template's scenario type, fields and
 * recommended actions; `template_id` records the origin. Pass it to `ConfigStore.create`.
 */
export function configFromTemplate(template: TemplateJson, init: FromTemplateInit): TrackingConfig {
  // The generated codec reads the template's wire form (null bounds become unset).
  const t = scenarioTemplateFromWire(template);
  return create(TrackingConfigSchema, {
    tenantId: init.tenant_id,
    scenarioId: init.scenario_id,
    scenarioType: t.scenarioType,
    name: init.name || t.name,
    description: init.description || t.description,
    requiredFields: t.requiredFields,
    optionalFields: t.optionalFields,
    recommendedActions: t.recommendedActions,
    templateId: t.templateId,
  });
}
